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
out["abstract"] = q("@sdfd-find-%d" % p4)
# The C parser's answer for the same addresses, through the binding's loader.
import ctypes, errno, sdfd._lib
c_find = sdfd._lib.load().c.sdfd_find_socket
def c(a, t=0):
    r = c_find(a.encode(), t)
    return r if r >= 0 else {-errno.ENOENT: None, -errno.ESRCH: None, -errno.EINVAL: "ValueError"}.get(r, r)
addrs = {"v4": ("127.0.0.1:%d" % p4, 0), "v6": ("[::1]:%d" % p6, 0), "port": (str(p4), 0), "unix": (path, 0),
         "wrong_host": ("127.0.0.2:%d" % p4, 0), "wrong_path": (path + ".x", 0),
         "dgram": ("127.0.0.1:%d" % p4, socket.SOCK_DGRAM), "bad": ("localhost:80", 0),
         "abstract": ("@sdfd-find-%d" % p4, 0)}
out["c"] = {k: c(a, t) for k, (a, t) in addrs.items()}
for a in ("[::1]:80", "[::1]", "@", "/", "80000", "1.2.3.4:0", "[::1]:80%nosuchif0"):
    out.setdefault("agree", []).append([a, q(a), c(a)])
print("RESULT " + json.dumps(out), file=sys.stderr, flush=True)
"""


def test_find_socket_under_activation(tmp_path):
    p4, p6, path = free_port(), free_port("::1"), str(tmp_path / "find.sock")
    env = [f"--setenv={v}" for v in ("SDFD_LIBRARY", "PKG_CONFIG_PATH", "PATH", "PYTHONPATH") if v in os.environ]
    proc = subprocess.Popen([ACTIVATE, "-l", f"127.0.0.1:{p4}", "-l", f"[::1]:{p6}", "-l", path, "-l", f"@sdfd-find-{p4}", *env,
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
    out = json.loads(line[0][7:])
    c, agree = out.pop("c"), out.pop("agree")
    assert out == {"v4": 3, "v6": 4, "port": 3, "unix": 5, "wrong_host": None, "wrong_path": None,
                   "dgram": None, "bad": "ValueError", "abstract": 6}
    assert c == out  # the C parser (sdfd_find_socket) and the binding agree
    for address, binding, c_answer in agree:
        assert binding == c_answer, address
    assert dict((a, b) for a, b, _ in agree)["[::1]"] == "ValueError"


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
