"""sdfd.handoff: offer (serving threads go on), receive in a successor
process, spawn, and the error paths."""
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

import sdfd.handoff

RECEIVER = r"""
import sys, sdfd, sdfd.handoff
n = sdfd.handoff.receive(sys.argv[1], timeout=10)
web = sdfd.get_socket("web")
print(n, sorted(sdfd.names().values()) + ["web"], web.getsockname()[1], sdfd.take_fds("state"))
"""


def listener():
    s = socket.create_server(("127.0.0.1", 0))
    return s


def test_offer_receive_by_name(tmp_path):
    web, state = listener(), os.memfd_create("state")
    try:
        path = str(tmp_path / "h.sock")
        result = {}

        def offer():
            try:
                sdfd.handoff.offer(path, [("web", web), ("state", state)], timeout=15)
                result["ok"] = True
            except OSError as e:
                result["err"] = e.errno

        ticks = []
        t = threading.Thread(target=offer)
        t.start()
        while not os.path.exists(path):
            ticks.append(1)  # this thread runs meanwhile (the GIL is released)
            time.sleep(0.005)
        out = subprocess.run([sys.executable, "-c", RECEIVER, path], capture_output=True, text=True, timeout=30)
        t.join(20)
        assert result == {"ok": True}, out.stderr
        n, rest = out.stdout.split(" ", 1)
        assert n == "2"
        assert "['state', 'web'] %d [4]" % web.getsockname()[1] in rest
        assert not os.path.exists(path)
        assert web.fileno() >= 0 and os.fstat(state)  # still ours
    finally:
        web.close()
        os.close(state)


def test_offer_errors(tmp_path):
    web = listener()
    try:
        busy = tmp_path / "busy"
        busy.write_text("mine")
        with pytest.raises(OSError) as e:
            sdfd.handoff.offer(str(busy), {"web": web}, timeout=1)
        assert e.value.errno == 98 and busy.read_text() == "mine"
        t0 = time.monotonic()
        with pytest.raises(OSError) as e:
            sdfd.handoff.offer(str(tmp_path / "s"), {"web": web}, timeout=0.2)
        assert e.value.errno == 110 and time.monotonic() - t0 >= 0.15
        with pytest.raises(OSError) as e:
            sdfd.handoff.offer(str(tmp_path / "s"), {"a:b": web}, timeout=1)
        assert e.value.errno == 22
        with pytest.raises(OSError) as e:
            sdfd.handoff.offer(str(tmp_path / "s"), {"web": 999999}, timeout=1)
        assert e.value.errno == 9
        with pytest.raises(ValueError):
            sdfd.handoff.offer(str(tmp_path / "s"), {}, timeout=1)
        with pytest.raises(ValueError):
            sdfd.handoff.offer(str(tmp_path / "s"), {"web": web}, timeout=-1)
    finally:
        web.close()


def test_receive_without_offer(tmp_path):
    t0 = time.monotonic()
    with pytest.raises(OSError) as e:
        sdfd.handoff.receive(str(tmp_path / "none"), timeout=0.2)
    assert e.value.errno == 2 and time.monotonic() - t0 >= 0.15


def test_spawn_systemd_way(tmp_path):
    web = listener()
    try:
        out = tmp_path / "out"
        script = ("import os,socket,sys\ns=socket.socket(fileno=3)\n"
                  "open(sys.argv[1],'w').write('%s %s %s %d' % (os.environ['LISTEN_PID']==str(os.getpid()),"
                  "os.environ['LISTEN_FDS'],os.environ['LISTEN_FDNAMES'],s.getsockname()[1]))\ns.detach()\n")
        env = {"PATH": "/usr/bin", "LISTEN_PID": "1", "LISTEN_FDNAMES": "stale"}
        pid = sdfd.handoff.spawn(sys.executable, [sys.executable, "-c", script, str(out)], {"web": web}, env=env)
        assert os.waitpid(pid, 0)[1] == 0
        assert out.read_text() == "True 1 web %d" % web.getsockname()[1]
        assert os.get_inheritable(web.fileno()) is False  # the parent's fd was not changed
        with pytest.raises(OSError) as e:
            sdfd.handoff.spawn("/nonexistent/prog", ["x"], {"web": web})
        assert e.value.errno == 2
    finally:
        web.close()
