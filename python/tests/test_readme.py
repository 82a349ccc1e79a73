"""The README's example (hello.py), run as written: activated, and started by hand."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Tuple

from conftest import ACTIVATE, HERE, PASS_THROUGH, clean_env, free_port

README = HERE.parent / "README.md"


def example(tmp_path: Path) -> Path:
    text = README.read_text()
    m = re.search(r"<!-- example: hello\.py.*?-->\s*```python\n(.*?)```", text, re.S)
    assert m, "README lost its hello.py example"
    path = tmp_path / "hello.py"
    path.write_text(m.group(1))
    return path


def get(port: int, deadline: float = 30) -> Tuple[int, str]:
    end = time.monotonic() + deadline
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/")
            resp = conn.getresponse()
            out = resp.status, resp.read().decode()
            conn.close()
            return out
        except ConnectionRefusedError:
            if time.monotonic() > end:
                raise
            time.sleep(0.05)


def test_readme_example_socket_activated(tmp_path: Path) -> None:
    hello = example(tmp_path)
    port = free_port()
    args = [ACTIVATE, "-l", f"127.0.0.1:{port}", "--fdname=web"]
    for var in PASS_THROUGH:
        if var in os.environ:
            args += ["-E", var]
    proc = subprocess.Popen(args + [sys.executable, str(hello)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=clean_env(PORT="1"))
    try:
        deadline = time.monotonic() + 30
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert line.startswith("Listening on"), line
        status, body = get(port, deadline - time.monotonic())
        assert status == 200
        assert body == f"hello from pid {proc.pid}\n"  # systemd-socket-activate execs the service
    finally:
        proc.terminate()
        proc.wait(10)


def test_readme_example_by_hand_with_notify(tmp_path: Path) -> None:
    hello = example(tmp_path)
    port = free_port()
    notify_path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as rx:
        rx.bind(notify_path)
        rx.settimeout(30)
        proc = subprocess.Popen([sys.executable, str(hello)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env=clean_env(PORT=str(port), NOTIFY_SOCKET=notify_path))
        try:
            assert rx.recv(200).decode() == f"READY=1\nSTATUS=serving on 127.0.0.1:{port}"
            status, body = get(port)
            assert status == 200 and body == f"hello from pid {proc.pid}\n"
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=10)
        assert b"Traceback" not in err, err.decode()
