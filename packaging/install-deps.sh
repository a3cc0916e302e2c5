#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Installs what cprofd needs to build, run and test, from Debian's archive.
# Quiet and quick when everything is already there.
set -eu

PACKAGES="make gcc clang llvm libclang-rt-14-dev pkg-config bpftool libbpf-dev libelf-dev libdw-dev zlib1g-dev
libsystemd-dev libmicrohttpd-dev libcurl4-openssl-dev golang-go protobuf-compiler
linux-perf python3 binutils elfutils libc6-dbg curl procps libiberty-dev g++ nodejs
debhelper dpkg-dev fakeroot lintian man-db systemd util-linux"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
