#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# install-deps.sh [--runtime]: install, on Debian 12, what nfqlb needs.
#   (no option)  everything to build nfqlb and to run every test
#                (make, make check, make demo, make bench, make fuzz);
#   --runtime    only what the installed nfqlb needs to run: the shared
#                libraries it links and iptables.
# Run as root (or with sudo available).
set -eu
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo

# The libraries build/nfqlb links (readelf -d: NEEDED), and the firewall
# tools its rules are for.
RUNTIME="libnetfilter-queue1 libmnl0 libnl-3-200 libnl-route-3-200 libbpf1
	libmicrohttpd12 iptables"
BUILD="build-essential pkg-config
	libnetfilter-queue-dev libmnl-dev libnl-3-dev libnl-route-3-dev
	libmicrohttpd-dev
	check clang libclang-rt-14-dev valgrind libbpf-dev bpftool
	iptables iproute2 procps psmisc util-linux ethtool iperf3
	gnuplot-nox python3 python3-prometheus-client curl
	git mandoc groff-base man-db systemd strace libcap2-bin"

case ${1-} in
"") pkgs=$BUILD ;;
--runtime) pkgs=$RUNTIME ;;
*)
	echo "usage: $0 [--runtime]" >&2
	exit 2
	;;
esac

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086 # the lists are words
$SUDO apt-get install -y -q --no-install-recommends $pkgs
