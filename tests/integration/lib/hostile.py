#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A hostile client of cprofd's socket, and a well-behaved one to time.

    hostile.py flood SOCKET --seconds S [--slow N] [--silent N] [--slowloris N]
                            [--junk-per-second R] [--max-open N]
    hostile.py probe SOCKET --seconds S [--interval-ms MS] [--path PATH]

flood keeps N connections of each kind open for S seconds, opening a new one
whenever the server ends one (until its last 1.5 s, when it only waits for
answers): "slow" sent the start of a request header and
stop, "silent" send nothing, "slowloris" send a byte of a header every 300
ms. Besides, R times a second it sends junk (random bytes, bare CRLFs, half
a request line) and half-closes, and times how long the server takes to
answer or close. Bounded: it stops after S seconds, never holds more than
--max-open sockets, and only talks to the Unix socket it is given. Prints
one line of JSON: {"opened", "ended_by_server", "refused", "junk",
"junk_slow" (not answered or closed within 1 s), "junk_max_ms",
"junk_unanswered" (still open at the end)}.

probe asks for PATH (/v1/status) every MS ms for S seconds, each on a new
connection, and prints {"requests", "ok", "failed", "max_ms", "median_ms",
"errors": [first few]}: failed counts anything but a whole 200 within 5 s.

Standard library only.
"""

import argparse
import json
import os
import random
import selectors
import socket
import statistics
import sys
import time

JUNK = [b"\r\n\r\n", b"\r\n", b"GET", b"GET /v1/sessions HTTP/1.1\r\nHo",
        b"\x00\x01\x02garbage\r\n\r\n", b"POST / HTTP/1.1\r\nContent-Length: 99\r\n"]
SLOW_START = b"GET /v1/sessions HTTP/1.1\r\nHo"
LORIS = b"GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 4096


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect(path)
    except BlockingIOError:
        pass  # a Unix socket's connect completes at once or fails
    except OSError:
        s.close()
        return None
    return s


def flood(args):
    sel = selectors.DefaultSelector()
    counts = {"opened": 0, "ended_by_server": 0, "refused": 0, "junk": 0, "junk_slow": 0,
              "junk_max_ms": 0.0, "junk_unanswered": 0}
    held = {"slow": {}, "silent": {}, "slowloris": {}}  # kind -> {sock: state}
    wanted = {"slow": args.slow, "silent": args.silent, "slowloris": args.slowloris}
    junk = {}  # sock -> start time
    start = time.monotonic()
    end = start + args.seconds
    # No new connection in the last 1.5 s: a junk one opened then still has its second.
    stop_opening = end - 1.5
    next_junk = start

    def n_open():
        return sum(len(v) for v in held.values()) + len(junk)

    def drop(sock):
        try:
            sel.unregister(sock)
        except (KeyError, ValueError):
            pass
        sock.close()

    while time.monotonic() < end:
        now = time.monotonic()
        opening = now < stop_opening
        for kind, socks in held.items():
            while opening and len(socks) < wanted[kind] and n_open() < args.max_open:
                s = connect(args.socket)
                if s is None:
                    counts["refused"] += 1
                    break
                counts["opened"] += 1
                try:
                    if kind == "slow":
                        s.send(SLOW_START)
                except OSError:
                    pass
                socks[s] = {"sent": 0, "next": now}
                sel.register(s, selectors.EVENT_READ, kind)
        for s, state in list(held["slowloris"].items()):
            if now >= state["next"]:
                try:
                    s.send(LORIS[state["sent"]:state["sent"] + 1])
                    state["sent"] = min(state["sent"] + 1, len(LORIS) - 1)
                except OSError:
                    pass
                state["next"] = now + 0.3
        while (opening and args.junk_per_second and now >= next_junk and
               n_open() < args.max_open):
            next_junk += 1.0 / args.junk_per_second
            s = connect(args.socket)
            if s is None:
                counts["refused"] += 1
                continue
            counts["opened"] += 1
            counts["junk"] += 1
            payload = random.choice(JUNK + [os.urandom(random.randint(1, 64))])
            try:
                s.send(payload)
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            junk[s] = time.monotonic()
            sel.register(s, selectors.EVENT_READ, "junk")
        for key, _ in sel.select(timeout=0.02):
            s, kind = key.fileobj, key.data
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if kind == "junk":
                if data and not data.endswith(b"\n") and len(data) == 4096:
                    continue  # more of an answer to read
                ms = (time.monotonic() - junk.pop(s)) * 1000
                counts["junk_max_ms"] = max(counts["junk_max_ms"], round(ms, 1))
                if ms > 1000:
                    counts["junk_slow"] += 1
                drop(s)
            else:
                # Ended or answered (a 503 at the door): either way it is gone.
                if data.startswith(b"HTTP/1.1 503"):
                    counts["refused"] += 1
                else:
                    counts["ended_by_server"] += 1
                del held[kind][s]
                drop(s)
        now = time.monotonic()
        for s, t in list(junk.items()):
            if now - t > 5:
                counts["junk_slow"] += 1
                del junk[s]
                drop(s)
    counts["junk_unanswered"] = len(junk)
    for socks in held.values():
        for s in socks:
            drop(s)
    for s in junk:
        drop(s)
    print(json.dumps(counts))


def probe(args):
    request = (f"GET {args.path} HTTP/1.1\r\nHost: cprofd\r\nConnection: close\r\n\r\n"
               .encode())
    end = time.monotonic() + args.seconds
    times, errors = [], []
    requests = 0
    while time.monotonic() < end:
        requests += 1
        t = time.monotonic()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        reply = b""
        try:
            s.connect(args.socket)
            s.sendall(request)
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                reply += chunk
        except OSError as err:
            reply = reply or repr(err).encode()
        finally:
            s.close()
        ms = (time.monotonic() - t) * 1000
        if reply.startswith(b"HTTP/1.1 200") and b"\r\n\r\n" in reply:
            times.append(ms)
        elif len(errors) < 5:
            errors.append(reply[:80].decode(errors="replace"))
        time.sleep(args.interval_ms / 1000)
    print(json.dumps({"requests": requests, "ok": len(times), "failed": requests - len(times),
                      "max_ms": round(max(times), 1) if times else None,
                      "median_ms": round(statistics.median(times), 1) if times else None,
                      "errors": errors}))


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("flood")
    f.add_argument("socket")
    f.add_argument("--seconds", type=float, required=True)
    f.add_argument("--slow", type=int, default=0)
    f.add_argument("--silent", type=int, default=0)
    f.add_argument("--slowloris", type=int, default=0)
    f.add_argument("--junk-per-second", type=float, default=0)
    f.add_argument("--max-open", type=int, default=900)
    p = sub.add_parser("probe")
    p.add_argument("socket")
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--interval-ms", type=float, default=100)
    p.add_argument("--path", default="/v1/status")
    args = parser.parse_args(argv[1:])
    if args.seconds > 120:
        parser.error("--seconds: at most 120")
    (flood if args.command == "flood" else probe)(args)


if __name__ == "__main__":
    main(sys.argv)
