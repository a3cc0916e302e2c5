# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Section symbolize: the symbolizer against addr2line and eu-addr2line."""
import glob
import os
import re
import resource
import shutil
import subprocess

from lib.common import log


def build_id_debug_file(path):
    """The debug file libc6-dbg and friends install for path, by build ID, or None."""
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]{2})([0-9a-f]+)", out)
    if not m:
        return None
    debug = "/usr/lib/debug/.build-id/%s/%s.debug" % (m.group(1), m.group(2))
    return debug if os.path.exists(debug) else None


def peer_names(text):
    """Innermost function per address of `addr2line -a -f -i` output (binutils or
    elfutils): a "0x..." line, then function and file:line pairs, innermost first."""
    names = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("0x"):
            names.append(lines[i + 1] if i + 1 < len(lines) else "??")
    return names


def comparable_name(name):
    """A function name as both sides can agree on it: its last component without
    parameters, return type, symbol version or leading underscores. addr2line -C prints
    "long ns::f<long>(long)" and an inlined function by its DWARF name alone ("mix_step"),
    the symbolizer "ns::f<long>"; libc's symbols carry versions ("xdr_long@GLIBC_2.2.5")
    and internal aliases ("__GI___fstat64")."""
    name = name.split("@")[0].strip()
    depth, start, end = 0, 0, len(name)
    for i, c in enumerate(name):
        if c in "<(":
            if c == "(" and depth == 0 and i > 0:
                end = i
                break
            depth += 1
        elif c in ">)":
            depth -= 1
        elif depth == 0 and (c == " " or name.startswith("::", i)):
            start = i + (2 if c == ":" else 1)
    name = name[start:end] or name
    if name.startswith("__GI_"):
        name = name[5:]
    return name.lstrip("_")


def run_peer(argv, addresses):
    """(CPU seconds, exit status, stdout) of a peer reading the addresses on stdin."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(addresses) as f:
        done = subprocess.run(argv, stdin=f, capture_output=True, text=True, errors="replace")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, done.returncode, done.stdout


def section_symbolize(ctx):
    """The symbolizer's synchronous API against addr2line and eu-addr2line."""
    n = ctx.args.symbolize_count
    binaries = [("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"),
                ("node", shutil.which("node")),
                ("libjvm.so", next(iter(sorted(glob.glob(
                    "/usr/lib/jvm/java-17-openjdk-*/lib/server/libjvm.so"))), None)),
                ("templates (DWARF, inlines)",
                 os.path.join(ctx.build, "workloads", "templates"))]
    lines = ["Symbolization: `bench/symbolize BIN --count %d` draws %d addresses from BIN's "
             "text (a random function of its symbol table plus a random offset in it, "
             "seed 1) and looks each up with `symbolizer__lookup_frames` (inlined frames "
             "included). Cold: a fresh symbolizer, one pass, loading the tables included; "
             "warm: further passes over the same addresses for 1 s. CPU time, one core. "
             "Peers, on the same addresses in one batch (stdin), so their rate is a cold "
             "one: `addr2line -a -f -i -C -e BIN` (binutils) and `eu-addr2line -a -f -i -C "
             "-e BIN` (elfutils). Ratio: cprofd cold / peer; above 1, cprofd is faster. "
             "Memory: `symbolizer__memory()` after the cold pass, and the growth of the "
             "process's anonymous RSS over it. Names: how often the innermost function "
             "agrees with addr2line's, compared by the last component of the name, without "
             "parameters, return type, version or leading underscores (so libc's aliases "
             "at one address, such as fopen/_IO_new_fopen, still count as different)." % (n, n), "",
             "| binary | functions | cold, addr/s | warm, addr/s | frames/addr | "
             "addr2line, addr/s | ratio | eu-addr2line, addr/s | ratio | "
             "symbolizer__memory | RSS growth | names agree |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    notes = []
    for name, path in binaries:
        if not path or not os.path.exists(path):
            lines.append("| %s | not installed | | | | | | | | | | |" % name)
            continue
        addresses = os.path.join(ctx.tmp, "addresses.txt")
        names_path = os.path.join(ctx.tmp, "names.txt")
        out = subprocess.run([os.path.join(ctx.build, "bench", "symbolize"), path,
                              "--count", str(n), "--addresses", addresses,
                              "--names", names_path], check=True, capture_output=True,
                             text=True).stdout
        r = dict(line.split(" ", 1) for line in out.splitlines())
        ours = [line.split(" ", 1)[1] for line in open(names_path).read().splitlines()]
        a2l_cpu, _, a2l_out = run_peer(["addr2line", "-a", "-f", "-i", "-C", "-e", path],
                                       addresses)
        eu_cpu, eu_rc, _ = run_peer(["eu-addr2line", "-a", "-f", "-i", "-C", "-e", path],
                                    addresses)
        theirs = peer_names(a2l_out)
        same = sum(1 for a, b in zip(ours, theirs) if comparable_name(a) == comparable_name(b))
        cold = float(r["cold_addresses_per_second"])
        a2l = n / a2l_cpu if a2l_cpu else float("inf")
        eu = n / eu_cpu if eu_cpu else float("inf")
        debug = build_id_debug_file(path)
        label = name + (" + debug file" if debug else "")
        lines.append("| %s | {:,} | {:,} | {:,} | %s | {:,} | %.2f | {:,} | %.2f | %.1f MiB | "
                     "%.1f MiB | %.1f%% |".format(
                         int(r["functions"]), int(cold), int(float(r["warm_addresses_per_second"])),
                         int(a2l), int(eu)) % (
                         label, r["mean_frames"], cold / a2l, cold / eu,
                         int(r["memory_bytes"]) / 2**20,
                         int(r["rss_anon_growth_kib"]) / 1024, 100.0 * same / n))
        if int(r["unnamed"]):
            notes.append("%s: %s of %d addresses unnamed by cprofd." % (name, r["unnamed"], n))
        if eu_rc:
            notes.append("%s: eu-addr2line exited %d (it does when an address has no "
                         "answer); its time is still the whole batch." % (name, eu_rc))
        log("symbolize: %s: %s; addr2line %.2f s, eu-addr2line %.2f s, names %d/%d" % (
            name, r, a2l_cpu, eu_cpu, same, n))
    if notes:
        lines += [""] + notes
    return lines
