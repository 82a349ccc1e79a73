#!/usr/bin/env python3
"""Socket activation for real: tests/c/activated.c, built against the
installed sdfd through pkg-config, is started by systemd-socket-activate with
several kinds of sockets; the test checks what the daemon reports it was given
and that it answers real requests on each socket.

Ends with "N passed, N failed".
"""
import errno
import os
import re
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from sdfdtest import Activated, NotifyReceiver, check, expect_line, free_port, run_scenarios  # noqa: E402
from sdfdtest import build as build_program  # noqa: E402


def build(tmp, name="activated"):
    exe = build_program(os.path.join(HERE, name + ".c"), tmp)
    ldd = subprocess.check_output(["ldd", exe], text=True)
    check("%s links libsdfd, not libsystemd" % name, "libsdfd.so.0" in ldd and "libsystemd" not in ldd, ldd)
    return exe


def ask_stream(family, addr, line, kind=socket.SOCK_STREAM):
    with socket.socket(family, kind) as s:
        s.settimeout(5)
        s.connect(addr)
        s.sendall(line.encode() + b"\n")
        if kind == socket.SOCK_STREAM:
            s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
            if kind != socket.SOCK_STREAM or data.endswith(b"\n"):
                break
        return data.decode()


def ask_dgram(family, addr, line, bind=None):
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        if bind:
            s.bind(bind)
        s.sendto(line.encode(), addr)
        return s.recv(4096).decode()


def scenario_many(exe, tmp):
    """Four named stream sockets: TCP v4, TCP v6, unix path, abstract unix."""
    p4, p6 = free_port(), free_port(socket.AF_INET6, "::1")
    path = os.path.join(tmp, "ctl.sock")
    abstract = "sdfd-activate-test-%d" % os.getpid()
    d = Activated(["-l", "127.0.0.1:%d" % p4, "-l", "[::1]:%d" % p6, "-l", path, "-l", "@" + abstract,
                   "--fdname=web:web6:ctl:abs"], exe, 4)
    try:
        r1 = ask_stream(socket.AF_INET, ("127.0.0.1", p4), "GET v4")
        r2 = ask_stream(socket.AF_INET6, ("::1", p6), "GET v6")
        r3 = ask_stream(socket.AF_UNIX, path, "GET path")
        r4 = ask_stream(socket.AF_UNIX, "\0" + abstract, "GET abstract")
    except OSError as e:
        r1 = r2 = r3 = r4 = "error: %s" % e
    out = d.stop()
    expect_line(out, r"^listen=4 env=unset$", "4 fds, LISTEN_* unset")
    expect_line(out, r"^fd=3 name=web inet4 stream listening sockaddr-match=1$", "fd 3: tcp4 'web'")
    expect_line(out, r"^fd=4 name=web6 inet6 stream listening sockaddr-match=1$", "fd 4: tcp6 'web6'")
    expect_line(out, r"^fd=5 name=ctl unix stream listening path=%s match=1$" % re.escape(path), "fd 5: unix path 'ctl'")
    expect_line(out, r"^fd=6 name=abs unix stream listening abstract=%s match=1$" % abstract, "fd 6: abstract 'abs'")
    check("request over tcp4 served", r1.startswith("web inet4 stream listening") and r1.endswith(" GET v4\n"), r1)
    check("request over tcp6 served", r2.startswith("web6 inet6 stream") and r2.endswith(" GET v6\n"), r2)
    check("request over unix path served", r3.startswith("ctl unix stream") and r3.endswith(" GET path\n"), r3)
    check("request over abstract unix served", r4.startswith("abs unix stream") and r4.endswith(" GET abstract\n"), r4)


def scenario_datagram(exe, tmp):
    port = free_port(kind=socket.SOCK_DGRAM)
    path = os.path.join(tmp, "dgram.sock")
    d = Activated(["-d", "-l", "127.0.0.1:%d" % port, "-l", path, "--fdname=udp:log"], exe, 2)
    try:
        # systemd-socket-activate starts the daemon on the first datagram; that
        # one is read by the daemon (it stays queued on the socket).
        r1 = ask_dgram(socket.AF_INET, ("127.0.0.1", port), "ping")
        r2 = ask_dgram(socket.AF_UNIX, path, "log-line", bind=os.path.join(tmp, "client.sock"))
    except OSError as e:
        r1 = r2 = "error: %s" % e
    out = d.stop()
    expect_line(out, r"^fd=3 name=udp inet4 dgram notlistening sockaddr-match=1$", "fd 3: udp 'udp'")
    expect_line(out, r"^fd=4 name=log unix dgram notlistening path=%s match=1$" % re.escape(path), "fd 4: unix dgram")
    check("datagram over udp answered", r1 == "udp inet4 dgram notlistening sockaddr-match=1 ping\n", r1)
    check("datagram over unix answered", r2.startswith("log unix dgram") and r2.endswith(" log-line\n"), r2)


def scenario_seqpacket(exe, tmp):
    path = os.path.join(tmp, "seq.sock")
    d = Activated(["--seqpacket", "-l", path, "--fdname=seq"], exe, 1)
    try:
        r = ask_stream(socket.AF_UNIX, path, "hello", kind=socket.SOCK_SEQPACKET)
    except OSError as e:
        r = "error: %s" % e
    out = d.stop()
    expect_line(out, r"^fd=3 name=seq unix seqpacket listening path=", "fd 3: unix seqpacket")
    check("seqpacket request served", r.startswith("seq unix seqpacket") and r.endswith(" hello\n"), r)


def scenario_accept(exe, tmp):
    port = free_port()
    d = Activated(["-a", "-l", "127.0.0.1:%d" % port, "--fdname=conn"], exe, 1)
    replies = []
    try:
        for i in range(3):
            replies.append(ask_stream(socket.AF_INET, ("127.0.0.1", port), "req%d" % i))
    except OSError as e:
        replies.append("error: %s" % e)
    out = d.stop()
    check("accept mode: a child per connection", out.count("listen=1 env=unset") == 3, out)
    expect_line(out, r"^fd=3 name=conn inet4 stream notlistening sockaddr-match=1$", "accept mode: fd 3 is the connection")
    check("accept mode: 3 requests served",
          [r.split()[-1] for r in replies] == ["req0", "req1", "req2"] and all(r.startswith("conn inet4 stream notlistening") for r in replies),
          repr(replies))


def scenario_inetd(exe, tmp):
    port = free_port()
    d = Activated(["--inetd", "-a", "-l", "127.0.0.1:%d" % port], exe, 1)
    try:
        r = ask_stream(socket.AF_INET, ("127.0.0.1", port), "inetd-req")
    except OSError as e:
        r = "error: %s" % e
    out = d.stop()
    expect_line(out, r"^listen=0 env=unset$", "inetd: no LISTEN_FDS")
    expect_line(out, r"^fd=0 name=- inet4 stream notlistening", "inetd: stdin is the connection")
    check("inetd request served", r.startswith("inetd inet4 stream notlistening") and r.endswith(" inetd-req\n"), r)


def scenario_notify(exe, tmp):
    """READY=1 and FDSTORE=1 from a socket-activated daemon to a receiver."""
    port = free_port()
    path = os.path.join(tmp, "notify.sock")
    rx = NotifyReceiver(path, timeout=5)
    d = Activated(["-l", "127.0.0.1:%d" % port, "--fdname=web", "-E", "NOTIFY_SOCKET=" + path], exe, 1)
    msgs = []
    try:
        r = ask_stream(socket.AF_INET, ("127.0.0.1", port), "after-ready")
        for _ in range(2):
            msgs.append(rx.recv())
    except OSError as e:
        r = "error: %s" % e
    out = d.stop()
    rx.close()
    expect_line(out, r"^notify=1,1 notify_socket=unset$", "notify calls returned 1; sd_notifyf(1, ...) unset NOTIFY_SOCKET")
    check("request served after READY", r.endswith(" after-ready\n"), r)
    if len(msgs) != 2:
        check("two notifications received", False, repr(msgs))
        return
    (store, fds1, _), (ready, _, pid) = msgs
    check("first message is FDSTORE=1 with FDNAME", store == b"FDSTORE=1\nFDNAME=stored-web", repr(store))
    ok = len(fds1) == 1
    if ok:
        with socket.socket(fileno=fds1[0]) as stored:
            ok = stored.getsockname() == ("127.0.0.1", port) and stored.type == socket.SOCK_STREAM
    check("the stored fd is the daemon's listening socket", ok, repr(fds1))
    check("second message is READY=1 with STATUS", ready == b"READY=1\nSTATUS=serving 1 sockets", repr(ready))
    check("credentials carry the daemon's pid", pid == d.p.pid, "creds pid %d, daemon %d" % (pid, d.p.pid))


def scenario_beyond(exe, tmp):
    """Snapshot from 16 threads, lookup by address, child environment (tests/c/beyond.c)."""
    beyond = build(tmp, "beyond")
    p4, p6, pu = free_port(), free_port(socket.AF_INET6, "::1"), free_port(kind=socket.SOCK_DGRAM)
    path = os.path.join(tmp, "find.sock")
    abstract = "sdfd-find-%d" % os.getpid()
    args = ["127.0.0.1:%d=0" % p4, "[::1]:%d=1" % p6, "%s=2" % path, "@%s=3" % abstract, "%d=0" % p4, "%d=1" % p6,
            "127.0.0.2:%d=-2" % p4, "[::1]:%d=-2" % p4, "%s.other=-2" % path, "@%s-x=-2" % abstract, "%d=-2" % pu]
    d = Activated(["-l", "127.0.0.1:%d" % p4, "-l", "[::1]:%d" % p6, "-l", path, "-l", "@" + abstract,
                   "--fdname=v4:v6:path:abs", "-E", "BEYOND_FIRST=127.0.0.1:%d" % p4, "-E", "BEYOND_NAME0=v4"],
                  beyond, args)
    try:  # the first connection makes systemd-socket-activate exec it
        socket.create_connection(("127.0.0.1", p4), timeout=5).close()
        d.p.wait(20)
    except (OSError, subprocess.TimeoutExpired):
        pass
    out = d.stop()
    lines = [l for l in out.splitlines() if l.startswith(("ok   - ", "FAIL - "))]
    check("beyond.c ran its checks", len(lines) >= 8 and "beyond: 0 failures" in out, out)
    for l in lines:
        check("beyond: " + l[7:], l.startswith("ok"), out)
    # Not socket-activated: snapshot 0, lookups -ESRCH.
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTEN_")}
    p = subprocess.run([beyond, "127.0.0.1:%d=-%d" % (p4, errno.ESRCH)], env=env, capture_output=True, text=True, timeout=20)
    check("not activated: snapshot 0 and find_socket -ESRCH",
          p.returncode == 0 and "saw one snapshot (n=0)" in p.stdout and "= -3 (want -3)" in p.stdout, p.stdout + p.stderr)


def main():
    return run_scenarios("activate", build, (scenario_many, scenario_datagram, scenario_seqpacket, scenario_accept, scenario_inetd, scenario_notify, scenario_beyond))


if __name__ == "__main__":
    sys.exit(main())
