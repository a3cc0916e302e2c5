#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Many concurrent clients against cprofd's Unix socket, for a set time.

Each client owns one target process and loops: GET /v1/status, POST a
session on its target, GET its profile, DELETE it. Prints one line per
outcome and exits non-zero if any reply was unexpected (a 5xx, a broken
connection, a malformed body).

    load.py SOCKET SECONDS PID [PID...]      one client per PID
"""

import http.client
import json
import socket
import sys
import threading
import time


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a Unix socket."""

    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def request(path, method, target):
    """One request on a fresh connection: (status, body)."""
    conn = UnixHTTPConnection(path)
    try:
        conn.request(method, target)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def client(sock, pid, deadline, counts, errors, lock):
    """Loop status/start/profile/stop on pid until the deadline."""
    steps = [
        ("GET", "/v1/status", {200}),
        ("POST", f"/v1/sessions?pid={pid}&hz=99", {201}),
        ("GET", f"/v1/sessions/{pid}/profile", {200}),
        ("DELETE", f"/v1/sessions/{pid}", {200}),
    ]
    while time.monotonic() < deadline:
        for method, target, want in steps:
            try:
                status, body = request(sock, method, target)
                if status not in want:
                    raise ValueError(f"status {status}: {body[:200]!r}")
                if target.startswith("/v1/status"):
                    json.loads(body)
                elif status == 200 and method != "GET" or target.endswith("/profile"):
                    if body[:2] != b"\x1f\x8b":
                        raise ValueError("profile is not gzip")
                key = f"{method} {target.split('?')[0].replace(str(pid), 'PID')} {status}"
                with lock:
                    counts[key] = counts.get(key, 0) + 1
            except Exception as err:  # every failure is reported, none ends the run
                with lock:
                    errors.append(f"{method} {target}: {err}")
                break


def main(argv):
    sock, seconds, pids = argv[1], float(argv[2]), argv[3:]
    deadline = time.monotonic() + seconds
    counts, errors, lock = {}, [], threading.Lock()
    threads = [threading.Thread(target=client,
                                args=(sock, pid, deadline, counts, errors, lock))
               for pid in pids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for key in sorted(counts):
        print(f"{key}: {counts[key]}")
    for err in errors[:10]:
        print(f"error: {err}")
    print(f"requests {sum(counts.values())}, errors {len(errors)}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
