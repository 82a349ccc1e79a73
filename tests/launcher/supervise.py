#!/usr/bin/env python3
"""sdfd-activate with real daemons (examples/hello-daemon.c and
tests/c/activated.c, built against the installed sdfd): every socket mode
serves requests; a load test during repeated SIGHUP replacements fails no
request; restart on exit; fd store hand-over; zombie reaping; signals.
Loopback only; every step bounded in time; every process cleaned up.

    supervise.py SDFD_ACTIVATE HELLO ACTIVATED
Ends with "N passed, N failed"."""
import os, re, signal, socket, subprocess, sys, threading, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sdfdtest import check, free_port, recv_all, run_groups, tmpdir, wait_listening  # noqa: E402

ACT, HELLO, ACTIVATED = sys.argv[1:4]
TMP = tmpdir("act-sup")
procs = []


def launch(args, **kw):
    p = subprocess.Popen([ACT] + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    procs.append(p)
    return p


def finish(p, timeout=5):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        return None, out.decode(errors="replace"), err.decode(errors="replace")
    return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def connect(fam, addr, typ=socket.SOCK_STREAM, tries=100):
    for _ in range(tries):
        s = socket.socket(fam, typ)
        s.settimeout(5)
        try:
            s.connect(addr)
            return s
        except OSError:
            s.close()
            time.sleep(0.05)
    raise OSError(f"cannot connect to {addr}")


def ask(fam, addr, line, typ=socket.SOCK_STREAM):
    s = connect(fam, addr, typ)
    with s:
        s.sendall(line)
        return s.recv(4096).decode(errors="replace")


def http_get(port, timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    with s:
        s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        data = recv_all(s)
    return data.decode(errors="replace")


def modes():
    """Each socket mode with tests/c/activated.c answering one request."""
    P = free_port()
    d = TMP
    cases = [
        ("tcp4 + fdname", ["-l", f"127.0.0.1:{P}", "--fdname=web"], (socket.AF_INET, ("127.0.0.1", P)), "web inet4 stream listening sockaddr-match=1 hello"),
        ("tcp6", ["-l", f"[::1]:{P}"], (socket.AF_INET6, ("::1", P)), "unknown inet6 stream listening sockaddr-match=1 hello"),
        ("unix path", ["-l", f"{d}/u.sock", "--fdname=u"], (socket.AF_UNIX, f"{d}/u.sock"), f"u unix stream listening path={d}/u.sock match=1 hello"),
        ("abstract", ["-l", f"@sdfd-sup-{P}", "--fdname=abs"], (socket.AF_UNIX, f"\0sdfd-sup-{P}"), f"abs unix stream listening abstract=sdfd-sup-{P} match=1 hello"),
        ("seqpacket", ["--seqpacket", "-l", f"{d}/sp.sock"], (socket.AF_UNIX, f"{d}/sp.sock", socket.SOCK_SEQPACKET), "unknown unix seqpacket listening"),
        ("accept", ["-a", "-l", f"127.0.0.1:{P}", "--fdname=conn"], (socket.AF_INET, ("127.0.0.1", P)), "conn inet4 stream notlistening sockaddr-match=1 hello"),
        ("inetd", ["--inetd", "-a", "-l", f"127.0.0.1:{P}"], (socket.AF_INET, ("127.0.0.1", P)), "inetd inet4 stream notlistening sockaddr-match=1 hello"),
    ]
    for name, opts, target, want in cases:
        p = launch(["-q"] + opts + [ACTIVATED, "1"])
        try:
            fam, addr = target[0], target[1]
            typ = target[2] if len(target) > 2 else socket.SOCK_STREAM
            reply = ask(fam, addr, b"hello\n", typ)
        except OSError as e:
            reply = f"error {e}"
        if "-a" in opts:
            p.send_signal(signal.SIGTERM)
        rc, _, err = finish(p)
        check(f"mode {name}: {reply.strip()!r}", want in reply and (rc == 0 or "-a" in opts), f"rc={rc} want {want!r}\n{err}")
    # datagram: the first datagram starts the daemon and is its request
    p = launch(["-q", "-d", "-l", f"127.0.0.1:{P}", "--fdname=dg", ACTIVATED, "1"])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.3)
    reply = ""
    for _ in range(20):
        s.sendto(b"ping", ("127.0.0.1", P))
        try:
            reply = s.recv(1024).decode()
            break
        except OSError:
            pass
    s.close()
    rc, _, err = finish(p)
    check(f"mode datagram: {reply.strip()!r}", "dg inet4 dgram notlistening sockaddr-match=1 ping" in reply and rc == 0, err)
    # two sockets with names, and hello-daemon over HTTP
    P2 = free_port()
    p = launch(["-q", "-l", f"127.0.0.1:{P}", "-l", f"127.0.0.1:{P2}", "--fdname=a:b", HELLO, "2"])
    r1, r2 = http_get_retry(P), http_get_retry(P2)
    rc, _, err = finish(p)
    check("hello-daemon, two named sockets", 'fd 3, socket "a"' in r1 and 'fd 4, socket "b"' in r2 and rc == 0, f"{r1!r} {r2!r} {err}")


def http_get_retry(port):
    for _ in range(100):
        try:
            return http_get(port)
        except OSError:
            time.sleep(0.05)
    return ""


def load_during_sighup():
    """Clients hammer hello-daemon while SIGHUP replaces it again and again."""
    P = free_port()
    p = launch(["-q", "--now", "--wait-ready", "-l", f"127.0.0.1:{P}", "--fdname=http", HELLO])
    http_get_retry(P)
    stop = time.time() + 4
    ok, bad, pids, errors = [0], [0], set(), []
    lock = threading.Lock()

    def client():
        while time.time() < stop:
            try:
                r = http_get(P)
                m = re.search(r"pid (\d+)", r)
                with lock:
                    if r.startswith("HTTP/1.0 200 OK") and m:
                        ok[0] += 1
                        pids.add(m.group(1))
                    else:
                        bad[0] += 1
                        errors.append(repr(r[:80]))
            except OSError as e:
                with lock:
                    bad[0] += 1
                    errors.append(str(e))

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    hups = 0
    while time.time() < stop - 0.3:
        time.sleep(0.25)
        p.send_signal(signal.SIGHUP)
        hups += 1
    for t in threads:
        t.join()
    p.send_signal(signal.SIGTERM)
    rc, _, err = finish(p, 15)
    print(f"     load: {ok[0]} requests ok, {bad[0]} failed, {hups} SIGHUPs, {len(pids)} daemon pids, {ok[0] / 4:.0f} req/s")
    check(f"load during {hups} SIGHUP replacements: 0 failed of {ok[0] + bad[0]}", bad[0] == 0 and ok[0] > 100, "; ".join(errors[:5]))
    check(f"replacements happened ({len(pids)} daemon pids served)", len(pids) >= hups // 2 and len(pids) >= 3, f"pids={pids}")
    check("SIGTERM after replacements: launcher exits 0 (daemon stopped cleanly)", rc == 0, f"rc={rc} {err[-500:]}")


def restart_on_exit():
    P = free_port()
    p = launch(["-q", "--restart", "--restart-delay=0.05", "-l", f"127.0.0.1:{P}", HELLO, "1"])
    replies = [http_get_retry(P) for _ in range(5)]
    pids = {m.group(1) for r in replies for m in [re.search(r"pid (\d+)", r)] if m}
    p.send_signal(signal.SIGTERM)
    rc, _, err = finish(p)
    check(f"--restart: 5 requests, each by a new daemon ({len(pids)} pids)", len(pids) == 5 and all("200 OK" in r for r in replies), err)
    check(f"--restart: SIGTERM while restarting ends the launcher (rc={rc})", rc is not None, err)


def fdstore():
    """activated.c stores its fd 3 with FDSTORE=1 FDNAME=stored-web; the
    next child gets it after the listening fd, named, once."""
    P = free_port()
    p = launch(["--restart", "--restart-delay=0.05", "--notify", "-l", f"127.0.0.1:{P}", "--fdname=web", ACTIVATED, "1"])
    replies = [ask(socket.AF_INET, ("127.0.0.1", P), b"r%d\n" % i) for i in range(3)]
    time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    rc, _, err = finish(p)
    counts = re.findall(r"^listen=(\d+)", err, re.M)
    check(f"fd store: children saw {counts} fds", counts[:3] == ["1", "2", "2"], err)
    check("fd store: stored fd handed over as fd 4 named stored-web", "fd=4 name=stored-web inet4 stream listening" in err, err)
    check("fd store: READY=1 and FDSTORE=1 sent by the daemon succeeded", err.count("notify=1,1 notify_socket=unset") >= 3, err)
    check("fd store: requests answered", all(r.startswith("web inet4 stream listening") for r in replies), replies)


def children_of(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            st = open(f"/proc/{d}/stat").read()
        except OSError:
            continue
        rest = st[st.rindex(")") + 2:].split()
        if int(rest[1]) == pid:
            out.append((int(d), rest[0], st[st.index("(") + 1:st.rindex(")")]))
    return out


def wait_child(pid, comm, timeout=10):
    """Wait until process `pid` has a child that runs `comm` (it has exec'd)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(c[2] == comm for c in children_of(pid)):
            return True
        time.sleep(0.01)
    return False


def zombies():
    """Orphans of the daemon are re-parented to the launcher (subreaper, or
    PID 1 in a container) and reaped when they exit."""
    P = free_port()
    script = f"for i in 1 2 3 4; do (sleep 0.3 &) ; done; exec {HELLO}"
    p = launch(["-q", "--now", "-l", f"127.0.0.1:{P}", "/bin/sh", "-c", script])
    http_get_retry(P)
    time.sleep(0.1)
    orphans = [c for c in children_of(p.pid) if c[2] == "sleep"]
    time.sleep(0.6)
    z = [c for c in children_of(p.pid) if c[1] == "Z"]
    p.send_signal(signal.SIGTERM)
    rc, _, err = finish(p)
    check(f"orphans re-parented to the launcher ({len(orphans)} sleep processes)", len(orphans) == 4, children_of(p.pid))
    check("orphans reaped: no zombies", not z, z)
    # As PID 1 of a new PID namespace (a container's entrypoint).
    try:
        u = subprocess.Popen(["unshare", "-pf", "--kill-child", ACT, "-q", "--now", "-l", f"127.0.0.1:{P}", "/bin/sh", "-c", script],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        procs.append(u)
        http_get_retry(P)
        time.sleep(0.6)
        inner = children_of(u.pid)
        ns_init = inner[0][0] if inner else None
        z = [c for c in children_of(ns_init) if c[1] == "Z"] if ns_init else ["no init"]
        u.send_signal(signal.SIGTERM)  # unshare passes it on? it does not: signal PID 1 directly
        if ns_init:
            os.kill(ns_init, signal.SIGTERM)
        rc, _, err = finish(u)
        check(f"as PID 1 in a PID namespace: orphans reaped, SIGTERM ends it (rc={rc})", not z and rc is not None and ns_init is not None, f"{z} {err}")
    except FileNotFoundError:
        check("as PID 1 in a PID namespace", False, "unshare not found")


def signals():
    P = free_port()
    ready = os.path.join(tmpdir("launcher-signals"), "trap-set")
    p = launch(["-q", "--now", "-l", f"127.0.0.1:{P}", ACTIVATED, "1000"])
    wait_child(p.pid, os.path.basename(ACTIVATED)[:15])
    p.send_signal(signal.SIGUSR1)
    rc, _, err = finish(p)
    check(f"SIGUSR1 passed to the child; launcher exits 128+10 (rc={rc})", rc == 138, err)
    p = launch(["-q", "--now", "-l", f"127.0.0.1:{P}", ACTIVATED, "1000"])
    wait_child(p.pid, os.path.basename(ACTIVATED)[:15])
    p.send_signal(signal.SIGTERM)
    rc, _, err = finish(p)
    check(f"SIGTERM passed to the child; launcher exits 128+15 (rc={rc})", rc == 143, err)
    p = launch(["-q", "--stop-timeout=0.5", "--now", "-l", f"127.0.0.1:{P}", "/bin/sh", "-c", "trap '' TERM; touch " + ready + "; while :; do sleep 0.1; done"])
    while not os.path.exists(ready) and p.poll() is None:  # the trap is set
        time.sleep(0.01)
    t0 = time.time()
    p.send_signal(signal.SIGTERM)
    rc, _, err = finish(p)
    check(f"child ignoring SIGTERM is killed after --stop-timeout (rc={rc}, {time.time() - t0:.1f}s)", rc == 137 and time.time() - t0 < 3, err)
    p = launch(["-q", "-l", f"127.0.0.1:{P}", ACTIVATED, "1"])
    wait_listening(p.pid, 1)
    p.send_signal(signal.SIGTERM)
    rc, _, err = finish(p)
    check(f"SIGTERM before the first connection: exits 143 (rc={rc})", rc == 143, err)
    p = launch(["-q", "--now", "-l", f"127.0.0.1:{P}", "/bin/sh", "-c", "exit 7"])
    rc, _, err = finish(p)
    check(f"exit status of the command is the launcher's (rc={rc})", rc == 7, err)
    p = launch(["-l", f"127.0.0.1:{P}", "/nonexistent/daemon"])
    rc, _, err = finish(p)
    check(f"missing command: clear error, exit 1 (rc={rc})", rc == 1 and "/nonexistent/daemon" in err, err)
    for args, want in ((["--help"], 0), (["--version"], 0), (["--now"], 2), (["--restart", "-a", "-l", "1", "x"], 2),
                       (["--ready-timeout=x", "x"], 2), (["--inetd", "-l", f"127.0.0.1:{P}", "-l", f"[::1]:{P}", "x"], 2)):
        p = launch(args)
        rc, out, err = finish(p)
        check(f"{args}: exit {rc}", rc == want and (out if want == 0 else err), err)


sys.exit(run_groups((modes, load_during_sighup, restart_on_exit, fdstore, zombies, signals), procs))
