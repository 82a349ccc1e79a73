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


def _sigmask(status_line):
    return int(status_line.split()[1], 16)


def test_spawn_resets_signals(tmp_path):
    """Issue 28 #5: ignored signals (Python ignores SIGPIPE itself) and the
    signal mask are not passed to the successor: it starts with default
    dispositions and an empty mask, as under systemd or subprocess."""
    import signal
    web = listener()
    old_usr1 = signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])
    try:
        out = tmp_path / "status"
        assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN  # the parent ignores it
        pid = sdfd.handoff.spawn("/bin/sh", ["sh", "-c", 'exec grep -E "^Sig(Ign|Blk):" /proc/self/status >"$1"', "sh",
                                             str(out)], {"web": web})
        assert os.waitpid(pid, 0)[1] == 0
        lines = dict(line.split(":", 1) for line in out.read_text().splitlines())
        ign, blk = int(lines["SigIgn"], 16), int(lines["SigBlk"], 16)
        for sig in (signal.SIGPIPE, signal.SIGUSR1):
            assert not ign & (1 << (sig - 1)), "%s still ignored: SigIgn %x" % (sig.name, ign)
        assert blk == 0, "signals still blocked: SigBlk %x" % blk
    finally:
        signal.signal(signal.SIGUSR1, old_usr1)
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        web.close()


def test_nul_in_name_or_path_is_valueerror(tmp_path):
    """Issue 28 #8: a NUL byte is Python's ValueError (as open() says), not
    a name cut short at the NUL ("web\\0admin" arriving as "web")."""
    web = listener()
    try:
        for call in (lambda: sdfd.handoff.offer(str(tmp_path / "s"), {"web\0admin": web}, timeout=0),
                     lambda: sdfd.handoff.offer(str(tmp_path / "s\0x"), {"web": web}, timeout=0),
                     lambda: sdfd.handoff.receive(str(tmp_path / "s\0x"), timeout=0),
                     lambda: sdfd.handoff.spawn("/bin/true", ["true"], {"web\0admin": web}),
                     lambda: sdfd.handoff.spawn("/bin/true\0x", ["true"], {"web": web}),
                     lambda: sdfd.handoff.spawn("/bin/true", ["tr\0ue"], {"web": web})):
            with pytest.raises(ValueError, match="embedded null byte"):
                call()
        assert not (tmp_path / "s").exists()
    finally:
        web.close()


def test_timeout_inf_means_no_limit(tmp_path):
    """Issue 28 (also found): timeout=float('inf') is "no timeout" (as
    None), not OverflowError; NaN is a ValueError."""
    web = listener()
    path = str(tmp_path / "h.sock")
    try:
        p = subprocess.Popen([sys.executable, "-c", RECEIVER, path], stdout=subprocess.PIPE, text=True)
        sdfd.handoff.offer(path, {"web": web, "state": os.memfd_create("state")}, timeout=float("inf"))
        assert p.communicate(timeout=30)[0].split()[0] == "2"
        with pytest.raises(ValueError):
            sdfd.handoff.receive(path, timeout=float("nan"))
    finally:
        web.close()


def test_at_name_is_abstract(tmp_path, monkeypatch):
    """Issue 28 (also found): '@name' is a name in the abstract namespace,
    as in NOTIFY_SOCKET and the launcher's -l; no file '@name' appears in
    the working directory while the offer waits."""
    monkeypatch.chdir(tmp_path)
    web = listener()
    name = "@sdfd-test-%d" % os.getpid()

    def bound():
        with open("/proc/net/unix") as f:
            return any(line.rstrip().endswith(" " + name) for line in f)
    result = []
    try:
        t = threading.Thread(target=lambda: result.append(
            sdfd.handoff.offer(name, {"web": web, "state": os.memfd_create("state")}, timeout=10)))
        t.start()
        end = time.monotonic() + 10
        while not bound() and time.monotonic() < end:
            time.sleep(0.005)
        assert bound()
        assert os.listdir(tmp_path) == []
        p = subprocess.Popen([sys.executable, "-c", RECEIVER, name], stdout=subprocess.PIPE, text=True)
        assert p.communicate(timeout=30)[0].split()[0] == "2"
        t.join(30)
        assert result == [None] and not bound()
    finally:
        web.close()
