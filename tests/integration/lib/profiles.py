#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Read CPU profiles from pprof files and perf.data, and compare them.

The integration tests profile a workload with cprofd and, at the same time,
with `perf record -e cpu-clock -F 99 -g -p PID`, then check that both agree.
Both sources become a list of Sample(count, stack, labels), the stack leaf
first, so the same helpers serve both:

    flat_shares(samples)            leaf share of each function, in percent
    chain_fraction(samples, chain)  how often a caller chain is intact

pprof files are read through `go tool pprof -raw -symbolize=none`, which
prints the profile as text (the format of Profile.String() in
github.com/google/pprof/profile/profile.go); perf.data through `perf script`.
Standard library only. Run with --help for the command line.

Environment: GO (default "go") and PERF (default "perf") name the tools.
"""

import argparse
import collections
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile

Sample = collections.namedtuple("Sample", "count stack labels")
Frame = collections.namedtuple("Frame", "function file")
Frame.__doc__ = """A frame with where its code is: function name, and the file
of its mapping ("[kernel.kallsyms]" for the kernel; None where no mapping is
known). Stacks hold Frames instead of names when asked for with_files."""
Sample.__doc__ = """One stack and how many times it was seen.

count:  number of samples (pprof: the chosen sample value; perf: 1)
stack:  tuple of function names, leaf first
labels: dict of string labels (pprof sample labels; perf: comm and tid)
"""


class ToolError(Exception):
    """A tool failed or printed something this module cannot parse."""


def _run(argv, env=None):
    """Run argv and return its stdout; raise ToolError with its stderr on failure."""
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True,
                              errors="replace", check=False)
    except OSError as err:
        raise ToolError(f"running {argv[0]}: {err}") from err
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise ToolError(f"{' '.join(argv)}: exit {done.returncode}: {last[0]}")
    return done.stdout


# pprof ---------------------------------------------------------------------

def run_pprof_raw(path):
    """Return the text of `go tool pprof -raw -symbolize=none PATH`.

    pprof keeps state under $HOME and $PPROF_TMPDIR; both point at a fresh
    temporary directory so that a test running as root or with no HOME works
    and leaves nothing behind.
    """
    with tempfile.TemporaryDirectory(prefix="profiles-pprof-") as home:
        env = dict(os.environ, HOME=home, PPROF_TMPDIR=home)
        return _run([os.environ.get("GO", "go"), "tool", "pprof", "-raw",
                     "-symbolize=none", path], env=env)


_SAMPLE_LINE = re.compile(r"^\s*(-?\d+(?:\s+-?\d+)*):((?:\s+\d+)*)\s*$")
_LOCATION_LINE = re.compile(
    r"^\s*(\d+): (0x[0-9a-fA-F]+|0)(?: M=\d+)?(?: \[F\])?(?: (.*))?$")
_LINE_INFO = re.compile(r"^(.*) (\S*):(-?\d+) s=(-?\d+)(?:\(.*\))?$")
_LABEL = re.compile(r"(\S+?):\[([^\]]*)\]")


def _function_name(text, address):
    """Name of one line of a location: its function, or the address if unknown."""
    text = (text or "").strip()
    if not text or text == "??":
        return address
    match = _LINE_INFO.match(text)
    return match.group(1) if match else text


_MAPPING_LINE = re.compile(r"^\s*(\d+): 0x[0-9a-fA-F]+/0x[0-9a-fA-F]+/0x[0-9a-fA-F]+(.*)$")
_MAPPING_FLAGS = re.compile(r"^(\[[A-Z]+\])+$")
_LOCATION_MAPPING = re.compile(r" M=(\d+)")


def _mapping_files(mapping_lines):
    """{mapping id: its file ("" for none)} of the Mappings lines of `pprof -raw`."""
    files = {}
    for line in mapping_lines:
        match = _MAPPING_LINE.match(line)
        if match:
            words = [t for t in match.group(2).split() if not _MAPPING_FLAGS.match(t)]
            files[int(match.group(1))] = words[0] if words else ""
    return files


def parse_pprof_raw(text, sample_type=None, inlined=True, with_files=False):
    """Parse `pprof -raw` output into a list of Samples.

    sample_type picks the value to count, e.g. "samples" or "cpu"; by
    default the first type whose unit is "count", else the first. A location
    with inlined lines contributes one frame per line, innermost first, as
    profile.proto orders them; with inlined=False only its last line, the
    function the code belongs to, as perf shows it. with_files makes each
    frame a Frame(function, file of its mapping or None).
    """
    lines = text.splitlines()
    try:
        start = lines.index("Samples:")
        loc_start = lines.index("Locations", start)
    except ValueError as err:
        raise ToolError("pprof -raw output has no Samples/Locations section") from err
    loc_end = lines.index("Mappings", loc_start) if "Mappings" in lines[loc_start:] \
        else len(lines)

    types = [t.replace("[dflt]", "").split("/", 1)
             for t in lines[start + 1].split()]
    index = 0
    for i, (name, unit) in enumerate(types):
        if (sample_type is None and unit == "count") or name == sample_type:
            index = i
            break
    else:
        if sample_type is not None:
            raise ToolError(f"no sample type {sample_type!r} in {lines[start + 1]!r}")

    files = _mapping_files(lines[loc_end + 1:])

    def frame(name, location_line):
        if not with_files:
            return name
        mapping = _LOCATION_MAPPING.search(location_line)
        return Frame(name, files.get(int(mapping.group(1))) if mapping else None)

    locations = {}
    current = None
    for line in lines[loc_start + 1:loc_end]:
        match = _LOCATION_LINE.match(line)
        if match:
            location_line = line
            current = [frame(_function_name(match.group(3), match.group(2)), line)]
            locations[int(match.group(1))] = current
        elif line.strip() and current is not None:
            current.append(frame(_function_name(line, "??"), location_line))

    samples = []
    for line in lines[start + 2:loc_start]:
        match = _SAMPLE_LINE.match(line)
        if match:
            values = [int(v) for v in match.group(1).split()]
            stack = []
            for loc_id in match.group(2).split():
                if int(loc_id) not in locations:
                    raise ToolError(f"sample refers to unknown location {loc_id}")
                lines_of = locations[int(loc_id)]
                stack.extend(lines_of if inlined else lines_of[-1:])
            samples.append(Sample(values[index], tuple(stack), {}))
        elif line.strip() and samples:
            samples[-1].labels.update(_LABEL.findall(line))
    return samples


def load_pprof(path, sample_type=None, inlined=True, with_files=False):
    """Samples of the pprof file at path (gzipped or not)."""
    return parse_pprof_raw(run_pprof_raw(path), sample_type, inlined, with_files)


# perf ----------------------------------------------------------------------

def run_perf_script(path):
    """Return `perf script` output for path with the fields parse_perf_script reads."""
    return _run([os.environ.get("PERF", "perf"), "script", "--force", "-i", path,
                 "-F", "comm,tid,ip,sym,dso"])


_PERF_HEADER = re.compile(r"^\s*(.*?)\s+(-?\d+)\s*$")
_PERF_FRAME = re.compile(r"^\s+([0-9a-fA-F]+) (.*) \((.*)\)$")


def _is_kernel_frame(address, dso):
    return dso.startswith("[kernel") or int(address, 16) >= 0xffff800000000000


def parse_perf_script(text, user_only=False, with_files=False, unknown_offsets=False):
    """Parse `perf script -F comm,tid,ip,sym,dso` output into Samples of count 1.

    Each sample is a header line "comm tid" followed by one line per frame,
    leaf first: "address symbol (dso)". Unresolved symbols are "[unknown]".
    With user_only, kernel frames are dropped, so the leaf is the user-space
    function that was running, as a user-stack-only profiler sees it.
    with_files makes each frame a Frame(symbol, dso or None if unknown).
    unknown_offsets names a frame perf could not name, in a known binary,
    "BINARY+0xADDRESS" (perf prints the binary's address there), as cprofd
    names it, so that unnamed frames can be compared one by one.
    """
    samples = []
    stack = None
    labels = None

    def finish():
        if stack is not None:
            samples.append(Sample(1, tuple(stack), labels))

    for line in text.splitlines():
        if not line.strip():
            continue
        frame = _PERF_FRAME.match(line)
        if frame and stack is not None:
            address, symbol, dso = frame.groups()
            if unknown_offsets and symbol == "[unknown]" and dso.startswith("/"):
                symbol = "%s+0x%x" % (os.path.basename(dso), int(address, 16))
            if not (user_only and _is_kernel_frame(address, dso)):
                stack.append(Frame(symbol, None if dso == "[unknown]" else dso)
                             if with_files else symbol)
            continue
        header = _PERF_HEADER.match(line)
        if not header:
            raise ToolError(f"unexpected perf script line: {line!r}")
        finish()
        stack = []
        labels = {"comm": header.group(1), "tid": header.group(2)}
    finish()
    return samples


def load_perf(path, user_only=False, with_files=False, unknown_offsets=False):
    """Samples of the perf.data file at path."""
    return parse_perf_script(run_perf_script(path), user_only, with_files, unknown_offsets)


# self time as the tools print it ------------------------------------------
#
# Programs from Debian are compared the way a user would: `go tool pprof -top`
# against `perf report --no-children`, each tool's own self-time ranking.

def run_pprof_top(path):
    """Return `go tool pprof -top -noinlines -sample_index=samples` of path.

    -noinlines charges inlined code to the function it was inlined into, as
    perf does; the count of samples, not their time, is what perf counts.
    """
    with tempfile.TemporaryDirectory(prefix="profiles-pprof-") as home:
        env = dict(os.environ, HOME=home, PPROF_TMPDIR=home)
        return _run([os.environ.get("GO", "go"), "tool", "pprof", "-top", "-noinlines",
                     "-nodecount=0", "-nodefraction=0", "-sample_index=samples", "-symbolize=none", path],
                    env=env)


# "      flat  flat%   sum%        cum   cum%" rows: flat, flat%, sum%, cum, cum%, name
_PPROF_TOP_ROW = re.compile(r"^\s*(\d+)\s+[\d.]+%\s+[\d.]+%\s+\d+\s+[\d.]+%\s+(.*\S)\s*$")
_PPROF_TOP_TOTAL = re.compile(r"of (\d+) total")


def parse_pprof_top(text):
    """({function: self samples}, total samples) from run_pprof_top() output."""
    total = None
    counts = collections.Counter()
    for line in text.splitlines():
        match = _PPROF_TOP_TOTAL.search(line)
        if match and total is None:
            total = int(match.group(1))
            continue
        match = _PPROF_TOP_ROW.match(line)
        if match:
            counts[match.group(2)] += int(match.group(1))
    if total is None:
        raise ToolError("pprof -top output has no total")
    return counts, total


def run_perf_report(path):
    """Return `perf report --stdio --no-children --sort dso,sym -n -g none` of path.

    dso is there only so that an unknown address can be put under its binary
    (see comparable_symbol); a symbol belongs to one binary, so the ranking
    is that of --sort sym.
    """
    return _run([os.environ.get("PERF", "perf"), "report", "--force", "-i", path,
                 "--stdio", "--no-children", "--sort", "dso,sym", "-n", "-g", "none"])


# "    39.60%   634  libc.so.6  [.] name": percent, samples, dso, [.] or [k], symbol.
# A dso may have spaces: JIT code is "[JIT] tid 6758".
_PERF_REPORT_ROW = re.compile(r"^\s*[\d.]+%\s+(\d+)\s+(.*?)\s+\[(\S)\]\s+(.*\S)\s*$")


def parse_perf_report(text):
    """({(dso, symbol): self samples}, total samples) from run_perf_report() output."""
    counts = collections.Counter()
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = _PERF_REPORT_ROW.match(line)
        if match:
            counts[(match.group(2), match.group(4))] += int(match.group(1))
    return counts, sum(counts.values())


_PPROF_UNKNOWN = re.compile(r"^(\S+)\+0x[0-9a-f]+$")
_PERF_UNKNOWN = re.compile(r"^0x[0-9a-f]+$")


# glibc's internal names of public functions, where a symbol table has both.
_GLIBC_ALIASES = {"__libc_start_main_impl": "__libc_start_main"}


def comparable_symbol(name, dso=None):
    """The name under which both tools' entries are compared.

    Unknown code: cprofd names an address no symbol covers "BINARY+0xOFFSET"
    (pprof; "[anon]+0x..." in anonymous memory), perf "0x<address>" in that
    binary. Both become "[unknown in
    BINARY]", one entry per binary: an address is not a function, and at 99
    Hz single addresses of a few samples each would only rank by noise.
    Named code: glibc's internal aliases ("__GI_", "__GI___") and symbol
    versions ("@GLIBC_2.2.5") are dropped and internal names of public
    functions (__libc_start_main_impl) made public, since two tools may pick
    different names for one address; for the same reason glibc's memcpy
    variants, which are its memmove ones under a second name
    (__memcpy_avx512_unaligned_erms is __memmove_avx512_unaligned_erms),
    are named memmove. A perf map's JIT names are taken as they are.
    """
    if dso is not None and _PERF_UNKNOWN.match(name):
        # perf's "[JIT] tid N" and "//anon" are anonymous memory, cprofd's "[anon]".
        if dso.startswith("[JIT]") or dso.startswith("//anon"):
            dso = "[anon]"
        return f"[unknown in {os.path.basename(dso)}]"
    if dso is None:
        match = _PPROF_UNKNOWN.match(name)
        if match:
            return f"[unknown in {match.group(1)}]"
    name = name.split("@", 1)[0]
    name = _GLIBC_ALIASES.get(name, name)
    if name.startswith("__GI_"):
        name = name[len("__GI_"):]
    if name.startswith("__memcpy_") and "unaligned" in name:
        name = "__memmove_" + name[len("__memcpy_"):]
    return name


def self_ranking(counts, dso_keys=False):
    """[(comparable name, samples)] biggest first, entries of one name merged."""
    merged = collections.Counter()
    for key, count in counts.items():
        merged[comparable_symbol(key[1], key[0]) if dso_keys else comparable_symbol(key)] += \
            count
    return sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))


# analysis ------------------------------------------------------------------

def total_count(samples):
    """Sum of the sample counts."""
    return sum(s.count for s in samples)


def flat_shares(samples):
    """Map function name -> percent of all samples that had it as the leaf.

    An empty stack counts under "<empty>". Returns {} when there are no samples.
    """
    total = total_count(samples)
    if total == 0:
        return {}
    flat = collections.Counter()
    for s in samples:
        flat[s.stack[0] if s.stack else "<empty>"] += s.count
    return {name: 100.0 * count / total for name, count in flat.items()}


def compare_shares(shares_by_source, funcs):
    """Per function, its share in each source and the spread between them.

    shares_by_source maps a source name ("pprof", "perf", "expect") to a
    shares dict. Returns a list of (func, {source: percent}, spread) where
    spread is max - min in percentage points (0 with a single source).
    """
    rows = []
    for func in funcs:
        values = {src: shares.get(func, 0.0) for src, shares in shares_by_source.items()}
        spread = max(values.values()) - min(values.values()) if values else 0.0
        rows.append((func, values, spread))
    return rows


def chain_fraction(samples, chain):
    """How often a caller chain is intact where its last function appears.

    chain is outermost caller first, e.g. ["main", "run_workload", "hot_a"].
    Returns (matched, total): total counts samples whose stack contains
    chain[-1]; matched those where the frames above one such occurrence are
    exactly the rest of the chain, adjacent (no frame missing or in between).
    """
    want = tuple(reversed(chain))
    matched = total = 0
    for s in samples:
        hits = [i for i, name in enumerate(s.stack) if name == want[0]]
        if not hits:
            continue
        total += s.count
        if any(s.stack[i:i + len(want)] == want for i in hits):
            matched += s.count
    return matched, total


def top_functions(samples, n):
    """The n functions most often the leaf, as [(name, percent)], biggest first."""
    shares = flat_shares(samples)
    return sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def folded(samples):
    """Map "root;...;leaf" -> count, as flame-graph tools read."""
    out = collections.Counter()
    for s in samples:
        out[";".join(reversed(s.stack))] += s.count
    return out


def depth_stats(samples):
    """(min, median, max) stack depth over samples, weighted by count."""
    depths = sorted(d for s in samples for d in [len(s.stack)] * s.count)
    if not depths:
        return (0, 0, 0)
    return (depths[0], statistics.median_low(depths), depths[-1])


# JIT code --------------------------------------------------------------------
#
# Code a JIT made lives in memory no file backs. Of the samples whose leaf
# is there, how many does each tool name? cprofd names them from the JIT's
# jitdump or perf map, perf after `perf inject --jit` from the ELF files it
# makes of the jitdump.

_UNNAMED = re.compile(r"\+0x[0-9a-f]+$")


def _is_jit_file(path):
    """Whether a mapping's file is none: anonymous memory, "[anon:...]", a memfd."""
    if not path or path.startswith("/memfd:"):
        return True
    return not path.startswith("/") and path not in ("[vdso]", "[vsyscall]",
                                                     "[kernel.kallsyms]")


def pprof_jit_leaves(text, sample_type=None):
    """(named, jit, total) sample counts of `pprof -raw` output.

    jit counts the samples whose leaf location is in a mapping of no file,
    or in none (address 0, cprofd's markers, excepted); named those of them
    whose leaf has a function name rather than cprofd's "WHERE+0xOFFSET".
    """
    lines = text.splitlines()
    try:
        start = lines.index("Samples:")
        loc_start = lines.index("Locations", start)
        map_start = lines.index("Mappings", loc_start)
    except ValueError as err:
        raise ToolError("pprof -raw output has no Samples/Locations/Mappings") from err
    jit_mappings = {mapping for mapping, path in _mapping_files(lines[map_start + 1:]).items()
                    if _is_jit_file(path)}
    leaf_of = {}  # location id -> (in JIT code, named)
    for line in lines[loc_start + 1:map_start]:
        match = _LOCATION_LINE.match(line)
        if not match:
            continue
        mapping = _LOCATION_MAPPING.search(line)
        in_jit = (int(mapping.group(1)) in jit_mappings) if mapping else \
            int(match.group(2), 16) != 0
        name = _function_name(match.group(3), match.group(2))
        leaf_of[int(match.group(1))] = (in_jit, not _UNNAMED.search(name) and
                                        not name.startswith("0x"))
    types = [t.replace("[dflt]", "").split("/", 1) for t in lines[start + 1].split()]
    index = next((i for i, (name, unit) in enumerate(types)
                  if (sample_type is None and unit == "count") or name == sample_type), 0)
    named = jit = total = 0
    for line in lines[start + 2:loc_start]:
        match = _SAMPLE_LINE.match(line)
        if not match:
            continue
        count = [int(v) for v in match.group(1).split()][index]
        ids = match.group(2).split()
        total += count
        if ids and leaf_of.get(int(ids[0]), (False, False))[0]:
            jit += count
            named += count if leaf_of[int(ids[0])][1] else 0
    return named, jit, total


def perf_jit_leaves(report_text):
    """(named, jit, total) sample counts of run_perf_report() output.

    perf puts JIT code it cannot name under "[JIT] tid N" (or "//anon"), and
    what `perf inject --jit` named under the "jitted-PID-N.so" it made.
    """
    counts, total = parse_perf_report(report_text)
    named = jit = 0
    for (dso, symbol), count in counts.items():
        if dso.startswith("jitted-"):
            jit += count
            named += 0 if _PERF_UNKNOWN.match(symbol) else count
        elif dso.startswith("[JIT]") or dso.startswith("//anon") or dso == "[unknown]":
            jit += count
    return named, jit, total


# command line --------------------------------------------------------------

def _load_sources(args):
    """[(name, samples)] for the --pprof and --perf options given."""
    sources = []
    if args.pprof:
        sources.append(("pprof", load_pprof(args.pprof, args.sample_type,
                                            not args.no_inlined)))
    if args.perf:
        sources.append(("perf", load_perf(args.perf, args.user_only)))
    return sources


def _single_source(args):
    """(name, samples) of the one source given; two or none is an error."""
    if bool(args.pprof) == bool(args.perf):
        raise ToolError("give exactly one of --pprof FILE and --perf FILE")
    return _load_sources(args)[0]


def cmd_shares(args):
    """Print each function's flat share per source; fail on a spread over tolerance."""
    funcs = [f for f in args.funcs.split(",") if f]
    sources = _load_sources(args)
    if not sources:
        raise ToolError("give --pprof FILE, --perf FILE or both")
    totals = {name: total_count(samples) for name, samples in sources}
    by_source = {name: flat_shares(samples) for name, samples in sources}
    print("samples " + " ".join(f"{name}={total}" for name, total in totals.items()))
    failed = False
    for name, total in totals.items():
        if total < args.min_samples:
            print(f"{name}: {total} samples, fewer than {args.min_samples}")
            failed = True
    if args.expect:
        expected = [float(v) for v in args.expect.split(",")]
        if len(expected) != len(funcs):
            raise ToolError("--expect needs one value per --funcs entry")
        by_source["expect"] = dict(zip(funcs, expected))
    for func, values, spread in compare_shares(by_source, funcs):
        verdict = "ok" if spread <= args.tolerance else "MISMATCH"
        failed |= verdict != "ok"
        cells = " ".join(f"{src}={value:.1f}" for src, value in values.items())
        print(f"{func} {cells} diff={spread:.1f} {verdict}")
    print(f"result: {'FAIL' if failed else 'ok'} (tolerance {args.tolerance:g} points)")
    return 1 if failed else 0


def cmd_topn(args):
    """Compare the top --top leaf functions of a pprof file and perf.data."""
    if not (args.pprof and args.perf):
        raise ToolError("give both --pprof FILE and --perf FILE")
    sources = _load_sources(args)
    tops = {name: top_functions(samples, args.top) for name, samples in sources}
    totals = {name: total_count(samples) for name, samples in sources}
    print("samples " + " ".join(f"{name}={total}" for name, total in totals.items()))
    width = max((len(f) for top in tops.values() for f, _ in top), default=10)
    for i in range(args.top):
        cells = []
        for name, _ in sources:
            func, share = tops[name][i] if i < len(tops[name]) else ("-", 0.0)
            cells.append(f"{name} {share:5.1f}% {func:<{width}}")
        print(f"{i + 1:2d}  " + "  ".join(cells))
    common = set(f for f, _ in tops["pprof"]) & set(f for f, _ in tops["perf"])
    ok = len(common) >= args.min_agree and min(totals.values()) >= args.min_samples
    print(f"agreement: {len(common)} of the top {args.top} functions in both")
    print(f"result: {'ok' if ok else 'FAIL'} (at least {args.min_agree}, "
          f"{args.min_samples} samples each)")
    return 0 if ok else 1


def cmd_topself(args):
    """Compare the top --top functions by self samples of pprof -top and perf report."""
    if not (args.pprof and args.perf):
        raise ToolError("give both --pprof FILE and --perf FILE")
    ours, ours_total = parse_pprof_top(run_pprof_top(args.pprof))
    theirs, theirs_total = parse_perf_report(run_perf_report(args.perf))
    ranks = {"cprofd": self_ranking(ours), "perf": self_ranking(theirs, dso_keys=True)}
    totals = {"cprofd": ours_total, "perf": theirs_total}
    # Entries under --min-share are not meaningful: a handful of samples,
    # ordered by chance. The comparison takes the top N of those that are.
    tops = {}
    for name, rank in ranks.items():
        floor = totals[name] * args.min_share / 100.0
        tops[name] = [(f, c) for f, c in rank if c >= floor and c > 0][:args.top]
    print(f"samples cprofd={ours_total} perf={theirs_total}")
    width = max((len(f) for top in tops.values() for f, _ in top), default=10)
    for i in range(max(len(top) for top in tops.values())):
        cells = []
        for name in ("cprofd", "perf"):
            if i < len(tops[name]):
                func, count = tops[name][i]
                share = 100.0 * count / totals[name] if totals[name] else 0.0
            else:
                func, share = "-", 0.0
            cells.append(f"{name} {share:5.1f}% {func:<{width}}")
        print(f"{i + 1:2d}  " + "  ".join(cells))
    n = min(len(tops["cprofd"]), len(tops["perf"]))
    common = set(f for f, _ in tops["cprofd"]) & set(f for f, _ in tops["perf"])
    need = min(args.min_agree, n) if args.min_share > 0 else args.min_agree
    need = max(need, args.min_meaningful)
    ok = len(common) >= need and min(totals.values()) >= args.min_samples
    print(f"agreement: {len(common)} of the top {n} functions in both "
          f"(entries of at least {args.min_share:g}% of samples)")
    for func in args.expect or []:
        for name in ("cprofd", "perf"):
            if func not in [f for f, _ in tops[name]]:
                print(f"{func}: not in {name}'s top {args.top}")
                ok = False
    print(f"result: {'ok' if ok else 'FAIL'} (at least {need}, "
          f"{args.min_samples} samples each)")
    return 0 if ok else 1


def cmd_chain(args):
    """Check that a caller chain is intact in at least --min-fraction of its samples."""
    chain = [f for f in args.chain.split(",") if f]
    name, samples = _single_source(args)
    matched, total = chain_fraction(samples, chain)
    fraction = matched / total if total else 0.0
    ok = matched > 0 and fraction >= args.min_fraction
    print(f"chain {' > '.join(chain)}: {matched} of {total} {name} samples "
          f"with {chain[-1]} ({100 * fraction:.1f}%)")
    print(f"result: {'ok' if ok else 'FAIL'} (min fraction {args.min_fraction:g})")
    return 0 if ok else 1


def cmd_summary(args):
    """Print sample count, stack depths, top leaf functions and top stacks."""
    name, samples = _single_source(args)
    low, median, high = depth_stats(samples)
    print(f"{name}: {total_count(samples)} samples, depth min={low} median={median} "
          f"max={high}")
    shares = flat_shares(samples)
    for func, share in sorted(shares.items(), key=lambda kv: -kv[1])[:args.top]:
        print(f"  flat {share:5.1f}% {func}")
    for stack, count in folded(samples).most_common(args.top):
        print(f"  stack {count:6d} {stack}")
    return 0


def cmd_folded(args):
    """Print folded stacks, "root;...;leaf count", most frequent first."""
    _, samples = _single_source(args)
    for stack, count in folded(samples).most_common():
        print(f"{stack} {count}")
    return 0


def cmd_jit(args):
    """Compare the share of samples in JIT code that each source names."""
    if not (args.pprof and args.perf):
        raise ToolError("give both --pprof FILE and --perf FILE (after perf inject --jit)")
    results = {"cprofd": pprof_jit_leaves(run_pprof_raw(args.pprof), args.sample_type),
               "perf": perf_jit_leaves(run_perf_report(args.perf))}
    failed = False
    shares = {}
    for name, (named, jit, total) in results.items():
        shares[name] = 100.0 * named / jit if jit else 0.0
        print(f"{name}: {jit} of {total} samples in JIT code, {named} named "
              f"({shares[name]:.1f}%)")
        if jit < args.min_samples:
            print(f"{name}: fewer than {args.min_samples} samples in JIT code")
            failed = True
        if shares[name] < args.min_named:
            print(f"{name}: names fewer than {args.min_named:g}% of them")
            failed = True
    if shares["cprofd"] < shares["perf"] - args.tolerance:
        print(f"cprofd names {shares['perf'] - shares['cprofd']:.1f} points fewer than perf")
        failed = True
    print(f"result: {'FAIL' if failed else 'ok'} (at least {args.min_named:g}% named, "
          f"within {args.tolerance:g} points below perf)")
    return 1 if failed else 0


def main(argv=None):
    """Command-line entry point; returns the exit status (0 ok, 1 check failed, 2 error)."""
    parser = argparse.ArgumentParser(
        description="Compare CPU profiles from pprof files and perf.data.",
        epilog="Exit status: 0 ok, 1 a check failed, 2 usage or tool error.")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name, func, help_text):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--pprof", metavar="FILE", help="pprof profile (gzipped proto)")
        p.add_argument("--perf", metavar="FILE", help="perf.data from perf record -g")
        p.add_argument("--sample-type", metavar="TYPE",
                       help="pprof value to count (default: the first with unit count)")
        p.add_argument("--user-only", action="store_true",
                       help="drop kernel frames from perf stacks")
        p.add_argument("--no-inlined", action="store_true",
                       help="one frame per pprof location, its real function, as perf "
                            "shows it (default: a frame per inlined function too)")
        p.set_defaults(func=func)
        return p

    p = add("shares", cmd_shares, "flat (leaf) shares of functions, compared across sources")
    p.add_argument("--funcs", required=True, metavar="F1,F2,...")
    p.add_argument("--expect", metavar="P1,P2,...",
                   help="expected percentages, one per function")
    p.add_argument("--tolerance", type=float, default=5.0, metavar="POINTS",
                   help="largest allowed spread in percentage points (default 5)")
    p.add_argument("--min-samples", type=int, default=1, metavar="N",
                   help="fail if a source has fewer samples (default 1)")

    p = add("topn", cmd_topn, "top leaf functions of pprof and perf, and how many agree")
    p.add_argument("--top", type=int, default=8, metavar="N")
    p.add_argument("--min-agree", type=int, default=6, metavar="K",
                   help="fail if fewer than K of the top N are in both (default 6)")
    p.add_argument("--min-samples", type=int, default=1, metavar="N",
                   help="fail if a source has fewer samples (default 1)")

    p = add("topself", cmd_topself,
            "top functions by self samples: go tool pprof -top against perf report")
    p.add_argument("--top", type=int, default=8, metavar="N")
    p.add_argument("--min-agree", type=int, default=6, metavar="K",
                   help="fail if fewer than K of the top N are in both (default 6); with "
                        "--min-share, K or the number of meaningful entries if fewer")
    p.add_argument("--min-share", type=float, default=0.0, metavar="PERCENT",
                   help="rank only entries with at least this share of samples")
    p.add_argument("--min-meaningful", type=int, default=1, metavar="K",
                   help="with --min-share, fail if fewer than K entries agree (default 1)")
    p.add_argument("--expect", action="append", metavar="FUNC",
                   help="a function that must be in both tops (repeatable)")
    p.add_argument("--min-samples", type=int, default=1, metavar="N",
                   help="fail if a source has fewer samples (default 1)")

    p = add("chain", cmd_chain, "check that a caller chain appears intact")
    p.add_argument("--chain", required=True, metavar="OUTER,...,INNER",
                   help="outermost caller first, e.g. main,run_workload,hot_a")
    p.add_argument("--min-fraction", type=float, default=0.0, metavar="F",
                   help="of the samples containing INNER, the fraction that must "
                        "have the whole chain (default: at least one sample)")

    p = add("summary", cmd_summary, "sample count, stack depth, top functions and stacks")
    p.add_argument("--top", type=int, default=10, metavar="N")

    add("folded", cmd_folded, "folded stacks, root first, most frequent first")

    p = add("jit", cmd_jit, "share of samples in JIT code that have a name: pprof against "
            "perf report of a perf.data after perf inject --jit")
    p.add_argument("--min-named", type=float, default=0.0, metavar="PERCENT",
                   help="fail if a source names fewer of its JIT samples (default 0)")
    p.add_argument("--tolerance", type=float, default=5.0, metavar="POINTS",
                   help="fail if cprofd names more than this many points fewer than "
                        "perf (default 5)")
    p.add_argument("--min-samples", type=int, default=1, metavar="N",
                   help="fail if a source has fewer samples in JIT code (default 1)")

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ToolError, ValueError) as err:
        print(f"profiles.py: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet under "| head"
    sys.exit(main())
