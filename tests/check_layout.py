#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The house rules that the compiler does not check (docs/ARCHITECTURE.md).

    tests/check_layout.py [ROOT]
    tests/check_layout.py --self-test

1. Includes run one way. Every #include "..." of bpf/, include/, common/,
   client/ and daemon/ is resolved as the compiler resolves it (the
   including file's folder, then -Idaemon for the daemon, include/,
   common/, and the build directory for generated headers), and the part
   it lands in must be one its part may include (PARTS below).
2. Only the parts that speak HTTP include an HTTP library.
3. The BPF skeleton is the sampler's.
4. No source file outside tests/ is over 800 lines.

Prints "ok - ..." or "not ok - ..." per rule and a last line
"N passed, N failed"; exits 1 if any failed. --self-test builds a small
tree that breaks each rule once and checks that each break is found.
"""

import os
import re
import sys
import tempfile

MAX_LINES = 800

# Who may include whom. A part is a top-level folder, or for the daemon a
# folder of daemon/; daemon/*.c but main.c is "core" (the daemon's state and
# its configuration), main.c is "main". Every part may include itself and
# the shared headers of include/; common/ is code both programs link.
# The daemon's arrows point down: server -> core -> profiles -> symbols ->
# procs -> util, and core -> sampler -> unwind -> procs. store and export are
# the folders to come, placed already so their first file lands right.
SHARED = {"include", "common"}
PARTS = {
    "bpf": {"include"},
    "include": set(),
    "common": {"include"},
    "client": SHARED,
    "util": SHARED,
    "procs": SHARED | {"util"},
    "unwind": SHARED | {"procs", "util"},
    "sampler": SHARED | {"unwind", "procs", "util"},
    "symbols": SHARED | {"procs", "util"},
    "profiles": SHARED | {"symbols", "procs", "util"},
    "store": SHARED | {"profiles", "symbols", "procs", "util"},
    "core": SHARED | {"sampler", "unwind", "store", "profiles", "symbols", "procs", "util"},
    "export": SHARED | {"core", "store", "profiles", "util"},
    "server": SHARED | {"core", "export", "util"},
    "main": SHARED | {"server", "export", "core", "util"},
}
DAEMON_PARTS = {"util", "procs", "unwind", "sampler", "symbols", "profiles", "store", "export",
                "server"}

# System headers that only some parts may include.
RESTRICTED = {
    "microhttpd.h": {"server", "export"},
    "curl/curl.h": {"client", "export"},
}
# Headers the build generates (bpftool), and who may include them.
GENERATED = {
    re.compile(r"^vmlinux\.h$"): {"bpf"},
    re.compile(r"\.skel\.h$"): {"sampler"},
}

SOURCE_DIRS = ("bpf", "include", "common", "client", "daemon")
LINE_LIMITED = ("bpf", "include", "common", "client", "daemon", "bench", "packaging")
SOURCE_EXTENSIONS = (".c", ".h", ".py", ".sh", ".cc")

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def part_of(path):
    """The part a file (relative to the root) belongs to, or None."""
    parts = path.split(os.sep)
    if parts[0] != "daemon":
        return parts[0] if parts[0] in PARTS else None
    if len(parts) == 2:
        return "main" if parts[1] == "main.c" else "core"
    return parts[1] if parts[1] in DAEMON_PARTS else None


def resolve(root, path, name):
    """Where #include "name" in path lands: a path relative to root, or None."""
    here = os.path.dirname(path)
    search = [here]
    if path.startswith("daemon" + os.sep):
        search.append("daemon")
    search += ["include", "common"]
    for folder in search:
        candidate = os.path.normpath(os.path.join(folder, name))
        if os.path.isfile(os.path.join(root, candidate)):
            return candidate
    return None


def source_files(root, folders):
    for folder in folders:
        for dirpath, _, names in os.walk(os.path.join(root, folder)):
            for name in sorted(names):
                if name.endswith(SOURCE_EXTENSIONS):
                    yield os.path.relpath(os.path.join(dirpath, name), root)


def check_includes(root):
    """Problems with includes, one line each."""
    problems = []
    for path in source_files(root, SOURCE_DIRS):
        if not path.endswith((".c", ".h")):
            continue
        part = part_of(path)
        if part is None:
            problems.append(f"{path}: in no known part (add its folder to PARTS)")
            continue
        with open(os.path.join(root, path), errors="replace") as f:
            lines = f.readlines()
        for number, line in enumerate(lines, 1):
            match = INCLUDE.match(line)
            if not match:
                continue
            kind, name = match.groups()
            where = f"{path}:{number}: #include {kind}{name}"
            if kind == "<":
                allowed = RESTRICTED.get(name)
                if allowed is not None and part not in allowed:
                    problems.append(f"{where}: only {', '.join(sorted(allowed))} may")
                continue
            generated = [who for pattern, who in GENERATED.items() if pattern.search(name)]
            if generated:
                if part not in generated[0]:
                    problems.append(f"{where}: generated, for {', '.join(sorted(generated[0]))}")
                continue
            target = resolve(root, path, name)
            if target is None:
                problems.append(f"{where}: not found where the compiler looks")
                continue
            target_part = part_of(target)
            if target_part != part and target_part not in PARTS[part]:
                problems.append(f"{where}: {part} may not include {target_part} ({target})")
    return problems


def check_lengths(root):
    problems = []
    for path in source_files(root, LINE_LIMITED):
        with open(os.path.join(root, path), errors="replace") as f:
            n = sum(1 for _ in f)
        if n > MAX_LINES:
            problems.append(f"{path}: {n} lines (at most {MAX_LINES} outside tests/)")
    return problems


def self_test():
    """Each rule, broken once in a tree of our own, is reported; a clean tree is not."""
    files = {
        "daemon/util/clock.h": "",
        "daemon/procs/proc_maps.c": '#include "proc_maps.h"\n#include "util/clock.h"\n',
        "daemon/procs/proc_maps.h": "",
        "daemon/profiles/session.h": '#include "procs/proc_maps.h"\n',
        "daemon/cprofd.h": "",
        "daemon/server/api.h": "",
        "daemon/server/api.c": '#include "cprofd.h"\n#include <microhttpd.h>\n',
        "client/cprofctl.c": '#include "cprof_protocol.h"\n#include <curl/curl.h>\n',
        "include/cprof_protocol.h": "",
    }
    breaks = {
        "daemon/procs/process_table.c": ('#include "profiles/session.h"\n',
                                         "procs may not include profiles"),
        "daemon/symbols/symbolizer.c": ("#include <microhttpd.h>\n", "only export, server may"),
        "daemon/profiles/profile.c": ('#include "profile.skel.h"\n', "generated, for sampler"),
        "client/status.c": ('#include "cprofd.h"\n', "not found where the compiler looks"),
        "daemon/util/log.c": ('#include "server/api.h"\n', "util may not include server"),
        "daemon/util/array.c": ('#include "../procs/proc_maps.h"\n',
                                "util may not include procs"),
        "daemon/store/big.c": ("x\n" * (MAX_LINES + 1), f"{MAX_LINES + 1} lines"),
    }
    passed = failed = 0

    def report(ok, name):
        nonlocal passed, failed
        print(f"{'ok' if ok else 'not ok'} - {name}")
        passed, failed = passed + ok, failed + (not ok)

    with tempfile.TemporaryDirectory(prefix="check-layout-") as root:
        for path, text in files.items():
            os.makedirs(os.path.join(root, os.path.dirname(path)), exist_ok=True)
            with open(os.path.join(root, path), "w") as f:
                f.write(text)
        report(not check_includes(root) and not check_lengths(root), "a clean tree passes")
        for path, (text, expected) in breaks.items():
            os.makedirs(os.path.join(root, os.path.dirname(path)), exist_ok=True)
            with open(os.path.join(root, path), "w") as f:
                f.write(text)
            problems = check_includes(root) + check_lengths(root)
            report(any(path in p and expected in p for p in problems),
                   f"found: {path}: {expected}")
            os.remove(os.path.join(root, path))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    root = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    root = os.path.abspath(root)
    passed = failed = 0
    for name, problems in (("includes run one way (tests/check_layout.py PARTS)",
                            check_includes(root)),
                           (f"no source file over {MAX_LINES} lines outside tests/",
                            check_lengths(root))):
        if problems:
            print(f"not ok - {name}")
            for problem in problems:
                print(f"#   {problem}")
            failed += 1
        else:
            print(f"ok - {name}")
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
