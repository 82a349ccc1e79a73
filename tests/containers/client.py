#!/usr/bin/env python3
"""HTTP client for tests/containers/run.sh (loopback only, every call bounded).

    client.py get PORT N        N sequential GETs; one line each:
                                "<seconds> <status line> | <body>", or "ERROR <what>"
    client.py load PORT SECONDS THREADS
                                THREADS clients each sending GETs back to back
                                for SECONDS; prints one JSON object:
                                {"ok": N, "failed": N, "errors": [...], "pids": [...]}
A first connection refused (no listener yet) is retried for up to 10 s."""
import json, os, re, socket, sys, threading, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sdfdtest import recv_all  # noqa: E402


def get(port, timeout=10):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"GET / HTTP/1.0\r\nHost: container\r\n\r\n")
        data = recv_all(s)
    head, _, body = data.decode(errors="replace").partition("\r\n\r\n")
    return head.split("\r\n")[0], body.strip()


def first_get(port, deadline=10.0):
    """get(), retried while the connection is refused (no listener yet)."""
    end = time.monotonic() + deadline
    while True:
        try:
            return get(port)
        except ConnectionRefusedError:
            if time.monotonic() > end:
                raise
            time.sleep(0.05)


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "get":
        for i in range(int(sys.argv[3])):
            t = time.monotonic()
            try:
                status, body = (first_get if i == 0 else get)(port)
                print(f"{time.monotonic() - t:.3f} {status} | {body}", flush=True)
            except OSError as e:
                print(f"ERROR {e!r}", flush=True)
        return
    seconds, threads = float(sys.argv[3]), int(sys.argv[4])
    end = time.monotonic() + seconds
    lock = threading.Lock()
    res = {"ok": 0, "failed": 0, "errors": [], "pids": []}

    def worker():
        while time.monotonic() < end:
            try:
                status, body = get(port)
                m = re.search(r'socket "web", pid (\d+)$', body)
                good = status.endswith(" 200 OK") and m
            except OSError as e:
                good, status, body = False, "ERROR", repr(e)
            with lock:
                if good:
                    res["ok"] += 1
                    if int(m.group(1)) not in res["pids"]:
                        res["pids"].append(int(m.group(1)))
                else:
                    res["failed"] += 1
                    if len(res["errors"]) < 5:
                        res["errors"].append(f"{status} | {body}")

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(json.dumps(res), flush=True)


main()
