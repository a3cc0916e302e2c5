#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Rebuilds the jitdump seeds in corpus/jitdump/: small dumps of the shapes
# the reader meets (loads, a move, debug and unwinding info, a close, a
# record cut short), and the start of a dump node --perf-prof writes (when
# node is installed). The committed seeds are the output of this script;
# run it by hand when the shapes need to change.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$here/corpus/jitdump
mkdir -p "$out"

python3 - "$out" <<'PY'
import struct, sys

out = sys.argv[1]
LOAD, MOVE, DEBUG_INFO, CLOSE, UNWINDING_INFO = range(5)


def header(flags=0):
    return struct.pack("<IIIIIIQQ", 0x4A695444, 1, 40, 62, 0, 4242, 1000, flags)


def record(rid, payload):
    return struct.pack("<IIQ", rid, 16 + len(payload), 2000) + payload


def load(addr, size, name, index):
    return record(LOAD, struct.pack("<IIQQQQ", 4242, 4243, addr, addr, size, index)
                  + name.encode() + b"\0" + b"\xc3" * size)


def move(old, new, size, index):
    return record(MOVE, struct.pack("<IIQQQQQ", 4242, 4243, new, old, new, size, index))


def debug_info(addr, entries):
    body = struct.pack("<QQ", addr, len(entries))
    for line_addr, line, name in entries:
        body += struct.pack("<QII", line_addr, line, 0) + name.encode() + b"\0"
    return record(DEBUG_INFO, body)


seeds = {
    "loads": header() + load(0x7f0000001000, 0x40, "JS:*hot /srv/app/x.js:12:3", 1)
    + load(0x7f0000002000, 0x20, "Builtin:CallFunction", 2),
    "move_close": header() + load(0x10000, 0x30, "LambdaForm$MH::invoke", 1)
    + move(0x10000, 0x20000, 0x30, 1) + load(0x10000, 0x10, "reused", 2)
    + record(CLOSE, b"") + load(0x30000, 0x10, "after close", 3),
    "debug_unwind": header(flags=1)
    + debug_info(0x5000, [(0x5000, 3, "app.js"), (0x5008, 4, "app.js")])
    + load(0x5000, 0x18, "JS:~f app.js:3:1", 1)
    + record(UNWINDING_INFO, struct.pack("<QQQ", 8, 8, 0) + b"\x01\x1b\x03\x3b\0\0\0\0")
    + record(77, b"\xff\xff\xff"),
    "truncated": (header() + load(0x6000, 0x20, "whole", 1)
                  + load(0x7000, 0x20, "cut short", 2))[:-9],
}
for name, data in seeds.items():
    with open(f"{out}/{name}", "wb") as f:
        f.write(data)
PY

if command -v node >/dev/null; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && node --perf-prof --interpreted-frames-native-stack \
		-e 'let s = 0; for (let i = 0; i < 1e6; i++) s += i % 7; console.log(s)' >/dev/null)
	head -c 49152 "$tmp"/jit-*.dump >"$out/node"
fi
