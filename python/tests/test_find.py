"""sdfd.find_socket(): lookup by configured address, under systemd-socket-activate."""
import json
import os
import socket
import subprocess
import sys
import time

import pytest

import sdfd
from conftest import free_port

ACTIVATE = "/usr/bin/systemd-socket-activate"

CHILD = r"""
import json, socket, sys
import sdfd
p4, p6, path = json.loads(sys.argv[1])
def q(a, t=0):
    try:
        return sdfd.find_socket(a, t)
    except ValueError:
        return "ValueError"
out = {"v4": q("127.0.0.1:%d" % p4), "v6": q("[::1]:%d" % p6), "port": q(str(p4)), "unix": q(path),
       "wrong_host": q("127.0.0.2:%d" % p4), "wrong_path": q(path + ".x"),
       "dgram": q("127.0.0.1:%d" % p4, socket.SOCK_DGRAM), "bad": q("localhost:80")}
print("RESULT " + json.dumps(out), file=sys.stderr, flush=True)
"""


def test_find_socket_under_activation(tmp_path):
    p4, p6, path = free_port(), free_port("::1"), str(tmp_path / "find.sock")
    env = [f"--setenv={v}" for v in ("SDFD_LIBRARY", "PKG_CONFIG_PATH", "PATH", "PYTHONPATH") if v in os.environ]
    proc = subprocess.Popen([ACTIVATE, "-l", f"127.0.0.1:{p4}", "-l", f"[::1]:{p6}", "-l", path, *env,
                             sys.executable, "-c", CHILD, json.dumps([p4, p6, path])],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(100):  # wait until it listens, then connect to start the child
            try:
                socket.create_connection(("127.0.0.1", p4), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    line = [l for l in err.splitlines() if l.startswith("RESULT ")]
    assert line, err
    assert json.loads(line[0][7:]) == {"v4": 3, "v6": 4, "port": 3, "unix": 5, "wrong_host": None,
                                       "wrong_path": None, "dgram": None, "bad": "ValueError"}


def test_find_socket_not_activated(monkeypatch):
    for v in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        monkeypatch.delenv(v, raising=False)
    out = subprocess.run([sys.executable, "-c", "import sdfd; print(sdfd.find_socket('127.0.0.1:8080'))"],
                         capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "None", out.stderr
    with pytest.raises(ValueError):
        sdfd.find_socket("no such address")
    with pytest.raises(TypeError):
        sdfd.find_socket(8080)  # type: ignore[arg-type]
