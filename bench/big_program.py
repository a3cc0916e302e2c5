#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Writes the C sources of a big program with much DWARF, for bench/loop_stall.sh.

  big_program.py DIR [--files N] [--functions M]

N files of M functions each, every function with inlined helpers and a
struct type of its own, so that the binary has many compile units, line
tables and inlined-subroutine entries, as a large C++ program has. main()
runs every function in turn for --seconds S, so that a profile touches
code of every unit.
"""
import argparse
import os

p = argparse.ArgumentParser()
p.add_argument("dir")
p.add_argument("--files", type=int, default=300)
p.add_argument("--functions", type=int, default=80)
a = p.parse_args()
os.makedirs(a.dir, exist_ok=True)

for f in range(a.files):
    lines = ["#include <stdint.h>", ""]
    for i in range(a.functions):
        lines += [
            f"struct state_{f}_{i} {{ uint64_t a, b, c; uint32_t n; double x[4]; }};",
            f"static inline uint64_t mix_{f}_{i}(struct state_{f}_{i} *s, uint64_t v)",
            "{",
            f"\ts->a ^= v * {2 * i + 3}u + (s->b >> {i % 13 + 1});",
            "\ts->b += s->a << 3;",
            "\ts->x[v & 3] += (double)s->a;",
            "\treturn s->a ^ s->b;",
            "}",
            f"static inline uint64_t step_{f}_{i}(struct state_{f}_{i} *s, uint64_t v)",
            "{",
            f"\tfor (uint32_t k = 0; k < {i % 7 + 2}; k++)",
            f"\t\tv = mix_{f}_{i}(s, v + k);",
            "\treturn v;",
            "}",
            f"uint64_t work_{f}_{i}(uint64_t v)",
            "{",
            f"\tstruct state_{f}_{i} s = {{ .a = v, .b = {i + f} }};",
            "\tfor (int r = 0; r < 40; r++)",
            f"\t\tv = step_{f}_{i}(&s, v);",
            "\treturn v + s.c + (uint64_t)s.x[1];",
            "}",
            "",
        ]
    lines.append(f"uint64_t run_file_{f}(uint64_t v)")
    lines.append("{")
    for i in range(a.functions):
        lines.append(f"\tv = work_{f}_{i}(v);")
    lines += ["\treturn v;", "}", ""]
    with open(os.path.join(a.dir, f"unit_{f}.c"), "w") as out:
        out.write("\n".join(lines))

main = ["#include <stdint.h>", "#include <stdio.h>", "#include <stdlib.h>", "#include <time.h>", ""]
main += [f"uint64_t run_file_{f}(uint64_t v);" for f in range(a.files)]
main += [
    "",
    "int main(int argc, char **argv)",
    "{",
    "\tdouble seconds = argc > 1 ? atof(argv[1]) : 30;",
    "\tstruct timespec start, now;",
    "\tuint64_t v = 1;",
    "",
    "\tclock_gettime(CLOCK_MONOTONIC, &start);",
    "\tdo {",
]
main += [f"\t\tv = run_file_{f}(v);" for f in range(a.files)]
main += [
    "\t\tclock_gettime(CLOCK_MONOTONIC, &now);",
    "\t} while (now.tv_sec - start.tv_sec + (now.tv_nsec - start.tv_nsec) / 1e9 < seconds);",
    '\tprintf("%llu\\n", (unsigned long long)v);',
    "\treturn 0;",
    "}",
    "",
]
with open(os.path.join(a.dir, "main.c"), "w") as out:
    out.write("\n".join(main))
