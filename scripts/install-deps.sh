#!/bin/sh
# Install what nfqlb needs to build and to run its tests, on Debian 12.
# Run as root (or with sudo available).
set -eu
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
	build-essential pkg-config \
	libnetfilter-queue-dev libmnl-dev \
	check \
	iptables iproute2 procps psmisc \
	python3
