#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Install what nfqlb needs to build and to run its tests, on Debian 12.
# Run as root (or with sudo available).
set -eu
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
	build-essential pkg-config \
	libnetfilter-queue-dev libmnl-dev libnl-3-dev libnl-route-3-dev \
	libmicrohttpd-dev \
	check clang libclang-rt-14-dev valgrind libbpf-dev bpftool \
	iptables iproute2 procps psmisc util-linux ethtool iperf3 \
	gnuplot-nox python3 python3-prometheus-client curl \
	git mandoc groff-base man-db systemd strace libcap2-bin
