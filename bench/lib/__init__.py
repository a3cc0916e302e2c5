# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The parts of bench/run.py, the benchmark driver (its docstring says what is measured).

common       the section names, logging, the load average
bpf_progs    BPF programs and their run-time stats (bpftool, /proc/PID/fdinfo)
profilers    the processes: cprofd, workloads, and each peer profiler
bpf_cost, unwind_tables, aggregate, symbolize, slowdown, daemon_cost, continuous
             one module per section (daemon_cost: headroom and daemon); each
             section_*(ctx) returns the Markdown lines of its table
report       bench/RESULTS.md, section by section
"""
