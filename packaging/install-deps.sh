#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Installs what cprofd needs to build, run and test, from Debian's archive.
# Quiet and quick when everything is already there.
#
# openjdk-17-jdk-headless is for test_symbols.sh's Java case (JIT names from
# the JVM's perf map), which CI may not skip: on top of the rest it is 21
# packages, about 122 MB to download and 272 MB installed (apt-get -s,
# Debian 12, no recommends).
#
# libdebuginfod-dev: cprofd fetches missing debug files from debuginfod
# servers; debuginfod (the server) is for test_debuginfod.sh, which serves a
# debug file from a local one.
#
# xz-utils and rustc are for test_unwind.sh: liblzma and a Rust program, both
# without frame pointers (rustc: 3 packages, about 200 MB installed).
#
# gdb is for test_replay.sh: gcore makes the cores the unwinder is replayed
# on, and gdb's backtrace of them is what it is checked against.
#
# --bench adds the peers the benchmarks compare against (perf, bcc,
# bpftrace, hyperfine) and the kernel headers bcc compiles with; bcc looks
# for them under /lib/modules/$(uname -r), so they are linked there when the
# running kernel has no headers of its own.
set -eu

PACKAGES="make gcc clang llvm libclang-rt-14-dev pkg-config bpftool libbpf-dev libelf-dev libdw-dev zlib1g-dev
libdebuginfod-dev debuginfod
libsystemd-dev libmicrohttpd-dev libcurl4-openssl-dev golang-go protobuf-compiler
linux-perf python3 binutils elfutils libc6-dbg curl procps libiberty-dev g++ nodejs
debhelper dpkg-dev fakeroot lintian man-db systemd util-linux openjdk-17-jdk-headless strace
xz-utils rustc gdb"
BENCH_PACKAGES="bpfcc-tools bpftrace hyperfine linux-headers-amd64 linux-perf"

bench=false
case "${1:-}" in
--bench) bench=true; PACKAGES="$PACKAGES $BENCH_PACKAGES" ;;
"") ;;
*) echo "usage: install-deps.sh [--bench]" >&2; exit 2 ;;
esac

# bcc wants /lib/modules/$(uname -r)/build and /source; point them at the
# newest installed headers when the running kernel (a VM's, say) has none.
link_kernel_headers() {
	modules=/lib/modules/$(uname -r)
	[ -e "$modules/build" ] && return 0
	build=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -1)
	common=$(ls -d /usr/src/linux-headers-*-common 2>/dev/null | sort -V | tail -1)
	if [ -z "$build" ] || [ -z "$common" ]; then
		echo "install-deps: no kernel headers under /usr/src for bcc" >&2
		return 1
	fi
	mkdir -p "$modules"
	ln -sfn "$build" "$modules/build"
	ln -sfn "$common" "$modules/source"
}

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	if $bench && [ "$(id -u)" = 0 ]; then link_kernel_headers; fi
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
if $bench; then link_kernel_headers; fi
