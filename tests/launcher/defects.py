#!/usr/bin/env python3
"""sdfd-activate regression tests for supervision defects, each found by an
adversarial campaign, each failing on the launcher before its fix:

1. --inherit-env passed the launcher's own LISTEN_PIDFDID (and WATCHDOG_*)
   on, so a child linked to sdfd saw "not activated";
2. a child replaced by SIGHUP that ignores SIGTERM was never SIGKILLed;
3. when the new main child died while an old one was retiring, the launcher
   exited at once and left the old one running, orphaned;
4. spawning needed about 2N+6 descriptors (600 sockets under ulimit -n 1100,
   where systemd-socket-activate starts them);
6. --fdname=a::b / a:b: / :a kept empty names (checked with
   systemd-socket-activate: sd_listen_fds_with_names must agree);
7. the launcher aborted when the reader of its stderr went away;
9. a notify message longer than the launcher's 64 KiB buffer was cut and its
   first part honoured; systemd 252's manager ignores a whole message over
   4096 bytes (NOTIFY_BUFFER_MAX), with cut control data, or with a NUL byte;
10. a full fd store logged one line per dropped fd, not per message;
11. --accept spun on a persistent accept() error (EMFILE: a log line per
   try, the connection neither served nor dropped; EINVAL; EPERM from a
   system-call filter).
(5, bytes in arguments and environment, is in launcher_difftest.py.)

    defects.py SDFD_ACTIVATE ACTIVATED
Ends with "N passed, N failed"."""
import os, re, signal, socket, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sdfdtest import alive, check, free_port, free_ports, run_groups, tmpdir  # noqa: E402

ACT, ACTIVATED = sys.argv[1], sys.argv[2]
SYSTEMD = "/usr/bin/systemd-socket-activate"
TMP = tmpdir("act-defects")
procs = []


def wait_file(path, timeout=5, lines=1):
    end = time.time() + timeout
    while time.time() < end:
        if os.path.exists(path) and len(open(path).read().splitlines()) >= lines:
            return open(path).read()
        time.sleep(0.02)
    return open(path).read() if os.path.exists(path) else ""


class Proc(subprocess.Popen):
    """A process whose stderr goes to a file (a pipe could be held open by
    an orphaned child): .err() reads what it wrote so far."""

    def err(self):
        return open(self.errfile, errors="replace").read()


def launch(args, tool=None, **kw):
    kw.setdefault("stdin", subprocess.DEVNULL)
    kw.setdefault("stdout", subprocess.DEVNULL)
    errfile = os.path.join(TMP, f"stderr.{len(procs)}")
    if "stderr" not in kw:
        with open(errfile, "w") as f:
            p = Proc(([ACT] if tool is None else []) + args, stderr=f, **kw)
    else:
        p = Proc(([ACT] if tool is None else []) + args, **kw)
    p.errfile = errfile
    procs.append(p)
    return p


def connect_retry(port, tries=100):
    for _ in range(tries):
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            time.sleep(0.05)
    raise OSError(f"cannot connect to port {port}")


def finish(p, timeout=10):
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return None
    return p.returncode


def d1_inherit_env():
    P = free_port()
    out = os.path.join(TMP, "d1")
    env = dict(os.environ, LISTEN_PIDFDID="12345", WATCHDOG_USEC="1000000", WATCHDOG_PID="1", KEEP_ME="yes")
    # activated.c (linked to sdfd) reports "listen=N" on stderr.
    p = launch(["--inherit-env", "--now", "-l", f"127.0.0.1:{P}", "/bin/sh", "-c", f"env > {out}; exec {ACTIVATED} 1"], env=env)
    s = connect_retry(P)
    s.sendall(b"x\n")
    reply = s.recv(4096).decode(errors="replace")
    s.close()
    rc = finish(p)
    err = p.err()
    e = wait_file(out)
    check("1: --inherit-env: the launcher's LISTEN_PIDFDID, WATCHDOG_USEC, WATCHDOG_PID are not passed on",
          "LISTEN_PIDFDID" not in e and "WATCHDOG_" not in e and "KEEP_ME=yes" in e, e)
    check(f"1: a child linked to sdfd sees its socket (listen=1) and answers ({reply.strip()!r})",
          "listen=1" in err and reply.startswith("unknown inet4 stream listening") and rc == 0, err[-500:])


TERM_IGNORER = "trap '' TERM; echo $$ >> {pids}; while :; do sleep 0.05; done"


def d2_retired_killed():
    P = free_port()
    pids = os.path.join(TMP, "d2.pids")
    p = launch(["-q", "--now", "--stop-timeout=0.4", "-l", f"127.0.0.1:{P}", "/bin/sh", "-c", TERM_IGNORER.format(pids=pids)])
    wait_file(pids)
    for i in range(3):
        p.send_signal(signal.SIGHUP)
        wait_file(pids, lines=i + 2)
    time.sleep(1.2)
    got = open(pids).read().split()
    live = [x for x in got if alive(int(x))]
    check(f"2: children replaced by SIGHUP that ignore SIGTERM are SIGKILLed after --stop-timeout ({len(live)} of {len(got)} live)",
          len(got) == 4 and live == got[-1:], f"live {live} of {got}")
    p.send_signal(signal.SIGTERM)
    rc = finish(p)
    check(f"2: SIGTERM then ends the launcher (rc={rc})", rc == 128 + signal.SIGKILL, p.err()[-300:])


def d3_no_orphan():
    P = free_port()
    pids = os.path.join(TMP, "d3.pids")
    flag = os.path.join(TMP, "d3.first")
    # The first child ignores SIGTERM; its replacement exits 3 soon after.
    script = f"if [ ! -e {flag} ]; then : > {flag}; {TERM_IGNORER.format(pids=pids)}; fi; echo $$ >> {pids}; sleep 0.3; exit 3"
    p = launch(["-q", "--now", "--stop-timeout=0.5", "-l", f"127.0.0.1:{P}", "/bin/sh", "-c", script])
    wait_file(pids)
    p.send_signal(signal.SIGHUP)
    rc = finish(p)
    got = open(pids).read().split()
    time.sleep(0.1)
    left = [x for x in got if alive(int(x))]
    check(f"3: the new main child exits while the old one retires: launcher exits with its status (rc={rc})", rc == 3,
          p.err()[-300:])
    check(f"3: ... and leaves no child behind ({len(left)} of {len(got)} still running)", len(got) == 2 and not left, left)
    for x in left:
        os.kill(int(x), signal.SIGKILL)


def d4_many_fds():
    d = os.path.join(TMP, "d4")
    os.mkdir(d)
    n = 600
    args = []
    for i in range(n):
        args += ["-l", f"{d}/s{i}"]
    results = {}
    for name, tool in (("systemd-socket-activate", SYSTEMD), ("sdfd-activate", ACT)):
        out = os.path.join(d, f"out-{name}")
        cmd = ["/bin/sh", "-c", f"ulimit -n 1100 && exec {tool} \"$@\"", "sh"] + args + \
              ["/bin/sh", "-c", f"echo $LISTEN_FDS > {out}"]
        p = launch(cmd, tool=tool)
        for _ in range(100):
            if os.path.exists(out) or p.poll() is not None:
                break
            c = socket.socket(socket.AF_UNIX)
            try:
                c.connect(f"{d}/s0")
            except OSError:
                pass
            c.close()
            time.sleep(0.05)
        wait_file(out, timeout=2)
        finish(p, 5)
        err = p.err()
        results[name] = (open(out).read().strip() if os.path.exists(out) else None, err.strip().splitlines()[-1:] if err else "")
        for f in os.listdir(d):
            if f.startswith("s"):
                os.unlink(os.path.join(d, f))
    check(f"4: {n} sockets under ulimit -n 1100: the child gets LISTEN_FDS={n} as from systemd-socket-activate {results}",
          results["systemd-socket-activate"][0] == str(n) and results["sdfd-activate"][0] == str(n), results)


def d6_fdnames():
    """Two sockets and --fdname with empty fields: what the child's
    sd_listen_fds_with_names returns, under both launchers."""
    for arg in ("a::b", "a:b:", ":a:b", "a:::b:"):
        seen = {}
        for name, tool in (("systemd-socket-activate", SYSTEMD), ("sdfd-activate", ACT)):
            P, P2 = free_ports(2)
            out = os.path.join(TMP, f"d6-{name}")
            if os.path.exists(out):
                os.unlink(out)
            p = launch([tool, "-l", f"127.0.0.1:{P}", "-l", f"127.0.0.1:{P2}", f"--fdname={arg}", "/bin/sh", "-c",
                        f"echo \"$LISTEN_FDNAMES\" > {out}; exec {ACTIVATED} 1"], tool=tool)
            reply = ""
            for _ in range(100):
                try:
                    s = socket.create_connection(("127.0.0.1", P), timeout=5)
                    s.sendall(b"x\n")
                    reply = s.recv(4096).decode(errors="replace")
                    s.close()
                    break
                except OSError:
                    time.sleep(0.05)
            finish(p, 5)
            err = p.err()
            m = re.search(r"^listen=(-?\d+)", err, re.M)
            seen[name] = (wait_file(out).strip(), m.group(1) if m else None, reply.split(" ")[0])
        check(f"6: --fdname={arg} with two sockets: same names and sd_listen_fds_with_names as systemd-socket-activate {seen['sdfd-activate']}",
              seen["systemd-socket-activate"] == seen["sdfd-activate"], seen)


def d7_closed_log():
    P = free_port()
    r, w = os.pipe()
    p = launch(["--inetd", "-a", "-l", f"127.0.0.1:{P}", "/bin/sh", "-c", "echo ok"], stderr=w)
    os.close(w)
    os.read(r, 100)  # "listening on ..."
    os.close(r)      # the log reader goes away
    replies = []
    for _ in range(20):
        try:
            s = socket.create_connection(("127.0.0.1", P), timeout=5)
            replies.append(s.recv(100))
            s.close()
        except OSError as e:
            replies.append(str(e).encode())
    ok = all(x == b"ok\n" for x in replies)
    still = p.poll() is None
    p.send_signal(signal.SIGTERM)
    rc = finish(p)
    check(f"7: with its stderr reader gone the launcher keeps serving (20 connections: {ok}) and runs on ({still})", ok and still,
          replies[-3:])
    check(f"7: ... and SIGTERM ends it normally (rc={rc}, not 134)", rc in (0, 143), rc)



# A child that sends the notify messages listed in the JSON file argv[1]
# ([text, number of fds] each; the fds are pipes, each a distinct file), one
# after another, after DIR/go exists when a message is "WAIT"; then sleeps.
SENDER = r"""
import array, json, os, socket, sys, time
msgs = json.load(open(sys.argv[1]))
for text, nfd in msgs:
    if text == "WAIT":
        while not os.path.exists(sys.argv[1] + ".go"):
            time.sleep(0.02)
        continue
    fds = []
    for _ in range(nfd):
        r, w = os.pipe()
        fds.append(r)
        os.close(w)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
    s.sendmsg([text.encode("latin-1")], anc, 0, os.environ["NOTIFY_SOCKET"])
    s.close()
    for f in fds:
        os.close(f)
while True:
    time.sleep(1)
"""


def notify_child(name, msgs, opts):
    import json
    script = os.path.join(TMP, "sender.py")
    if not os.path.exists(script):
        open(script, "w").write(SENDER)
    spec = os.path.join(TMP, name + ".json")
    json.dump(msgs, open(spec, "w"))
    P = free_port()
    return launch(["--now", "--notify", "-l", f"127.0.0.1:{P}"] + opts + [sys.executable, script, spec]), spec


def wait_err(p, pattern, timeout=5):
    end = time.time() + timeout
    while time.time() < end:
        if re.search(pattern, p.err(), re.M):
            return True
        time.sleep(0.02)
    return False


def n_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def pipes(pid):
    """The distinct pipes pid has open (the launcher's own: its signal self-pipe)."""
    out = set()
    for f in os.listdir(f"/proc/{pid}/fd"):
        try:
            t = os.readlink(f"/proc/{pid}/fd/{f}")
        except OSError:
            continue
        if t.startswith("pipe:"):
            out.add(t)
    return out


def d9_notify_size():
    pad = lambda head, size: head + "\nPAD=" + "x" * (size - len(head) - 5)
    msgs = [["STATUS=first\n" + "#" * 70000 + "\nREADY=1", 0],     # over 64 KiB: was cut, STATUS=first applied
            [pad("STATUS=over", 4097), 0],                         # one byte over systemd's limit
            [pad("STATUS=big-with-fds\nFDSTORE=1\nFDNAME=big", 5000), 3],
            ["STATUS=nul\0inside\nREADY=1", 0],                    # embedded NUL byte
            [pad("STATUS=at-limit", 4096), 0],                     # exactly 4096 bytes: taken
            ["STATUS=trailing-nul\0", 0],                          # one trailing NUL: taken
            ["WAIT", 0],
            ["FDSTORE=1\nFDNAME=many\nSTATUS=ctrunc", 20],         # the launcher has room for fewer fds
            ["STATUS=done", 0]]
    assert len(msgs[1][0]) == 4097 and len(msgs[4][0]) == 4096
    p, spec = notify_child("d9", msgs, [])
    ok = wait_err(p, r"status: trailing-nul")
    err = p.err()
    own = pipes(p.pid)
    check(f"9: none of the fds of the ignored messages is left open in the launcher (its pipes: {len(own)}, the self-pipe)",
          ok and len(own) == 1, own)
    before = n_fds(p.pid)
    # Room for 3 more fds: the 20 sent are cut short by the kernel (MSG_CTRUNC).
    subprocess.run(["prlimit", f"--pid={p.pid}", f"--nofile={before + 3}:"], check=True)
    open(spec + ".go", "w").close()
    done = wait_err(p, r"status: done")
    err = p.err()
    after = n_fds(p.pid)
    p.send_signal(signal.SIGTERM)
    finish(p)
    ign = re.findall(r"^sdfd-activate: notify message from pid \d+ ignored \((.*)\): (\d+) bytes(.*)$", err, re.M)
    check("9: a 70,000-byte message (over the old 64 KiB buffer) is ignored as a whole: its STATUS=first and READY=1 are not honoured",
          ok and "status: first" not in err and "is ready" not in err and ("exceeded maximum size", "70021", "") in ign, err[-1500:])
    check("9: 4,097 bytes (one over systemd's NOTIFY_BUFFER_MAX) ignored, 4,096 bytes taken",
          ("exceeded maximum size", "4097", "") in ign and "status: over" not in err and "status: at-limit" in err, ign)
    check("9: an oversized message's 3 fds are closed (one log line), its FDSTORE=1 not honoured",
          ("exceeded maximum size", "5000", ", 3 fd(s) closed") in ign and "keeping fd" not in err, ign)
    check("9: a NUL byte inside a message: ignored (one trailing NUL is allowed, as by systemd)",
          ("embedded NUL bytes", "25", "") in ign and "status: nul" not in err and "status: trailing-nul" in err, ign)
    ctr = [x for x in ign if x[0].startswith("truncated control data")]
    check(f"9: control data cut short (20 fds, room for 3): ignored, the fds it got closed ({before} fds before, {after} after)",
          done and len(ctr) == 1 and ctr[0][2] == ", 3 fd(s) closed" and "status: ctrunc" not in err and after == before,
          err[-1000:])
    check(f"9: one log line per ignored message ({len(ign)})", len(ign) == 5, ign)


def d10_fdstore_full():
    msgs = [["FDSTORE=1\nFDNAME=a", 10], ["FDSTORE=1\nFDNAME=b", 10], ["FDSTORE=1\nFDNAME=c", 10], ["STATUS=done", 0]]
    p, spec = notify_child("d10", msgs, ["--fdstore-max=2"])
    done = wait_err(p, r"status: done")
    err = p.err()
    p.send_signal(signal.SIGTERM)
    finish(p)
    full = re.findall(r"fd store full.*", err)
    kept = re.findall(r"keeping fd named (\w+)", err)
    check(f"10: fd store full: one log line per message ({len(full)} for 3 messages of 10 fds, --fdstore-max=2)",
          done and kept == ["a", "a"] and full == ["fd store full (2 fds): 8 fd(s) named a dropped",
                                                   "fd store full (2 fds): 10 fd(s) named b dropped",
                                                   "fd store full (2 fds): 10 fd(s) named c dropped"], err[-1500:])


def cpu_seconds(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def d11_accept_emfile():
    """--accept when accept() fails with EMFILE (prlimit on the running
    launcher): sdfd-activate pauses accepting with a growing delay, logs
    once, and serves the waiting connections when descriptors are back;
    systemd-socket-activate 252 logs once and exits 1 (the waiting
    connections are reset)."""
    for name, tool in (("sdfd-activate", ACT), ("systemd-socket-activate", SYSTEMD)):
        P = free_port()
        p = launch([tool, "-a", "--inetd", "-l", f"127.0.0.1:{P}", "/bin/echo", "hi"], tool=tool)
        s = connect_retry(P)
        first = s.recv(100)
        s.close()
        n = n_fds(p.pid)
        # The soft limit only: raising a hard limit again needs CAP_SYS_RESOURCE.
        subprocess.run(["prlimit", f"--pid={p.pid}", f"--nofile={n}:"], check=True)
        cpu0 = cpu_seconds(p.pid)
        clients = []
        for _ in range(3):
            c = socket.socket()
            c.settimeout(10)
            try:
                c.connect(("127.0.0.1", P))
            except OSError:
                pass
            clients.append(c)
        time.sleep(2)  # the time the launcher would spin (measured, not waited for a condition)
        running = p.poll() is None
        cpu = cpu_seconds(p.pid) - cpu0 if running else 0.0
        err = p.err()
        lines = [l for l in err.splitlines() if "accept" in l.lower()]
        if running:
            subprocess.run(["prlimit", f"--pid={p.pid}", "--nofile=1024:"], check=True)
        replies = []
        for c in clients:
            try:
                replies.append(c.recv(100))
            except OSError as e:
                replies.append(type(e).__name__)
            c.close()
        if name == "sdfd-activate":
            check(f"11: EMFILE on accept: sdfd-activate keeps running, {cpu:.2f}s CPU in 2s, {len(lines)} log line(s) "
                  "(it spun: 81% CPU, ~380,000 lines)", first == b"hi\n" and running and cpu < 0.2 and len(lines) == 1 and
                  "Too many open files: connections wait in the backlog" in lines[0], err[-800:])
            err = p.err()
            check(f"11: ... and serves the 3 waiting connections once descriptors are back ({replies})",
                  replies == [b"hi\n"] * 3 and re.search(r"accept on fd 3 works again, after \d+ failed tries", err), err[-600:])
            p.send_signal(signal.SIGTERM)
            rc = finish(p)
            check(f"11: SIGTERM ends it (rc={rc})", rc in (0, 143), p.err()[-300:])
        else:
            rc = finish(p, 5)
            check(f"11: systemd-socket-activate 252 instead logs once and exits 1 (rc={rc}; connections: {replies})",
                  rc == 1 and len(lines) == 1 and "Too many open files" in lines[0] and b"hi\n" not in replies, err[-500:])


def d11_accept_fatal():
    """An accept() error that will not go away (the listening socket shut
    down under the launcher: EINVAL) ends the launcher with status 1 and one
    log line, as systemd-socket-activate does; it looped on it."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    P = free_port()
    p = launch(["-a", "--inetd", "-l", f"127.0.0.1:{P}", "/bin/echo", "hi"])
    s = connect_retry(P)
    s.recv(100)
    s.close()
    pidfd = os.pidfd_open(p.pid)
    fd = libc.syscall(438, pidfd, 3, 0)  # pidfd_getfd: the launcher's listening socket
    os.close(pidfd)
    if fd < 0:
        check("11: pidfd_getfd on the launcher's socket", False, os.strerror(ctypes.get_errno()))
        return
    lsock = socket.socket(fileno=fd)
    lsock.shutdown(socket.SHUT_RDWR)
    lsock.close()
    rc = finish(p, 5)
    err = p.err()
    lines = [l for l in err.splitlines() if "accept on" in l]
    check(f"11: a listening socket that cannot accept any more (EINVAL): exit 1 with one log line (rc={rc}, {len(lines)} line(s))",
          rc == 1 and len(lines) == 1 and "Invalid argument: the socket cannot accept connections; stopping" in lines[0],
          err[-500:])


# Runs argv[1:] under a seccomp filter that fails accept4 with EPERM (x86_64),
# as a system-call policy could: an error that looks per-connection but stays.
DENY_ACCEPT = r"""
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
def ins(code, jt, jf, k):
    return struct.pack("HBBI", code, jt, jf, k)
prog = b"".join([ins(0x20, 0, 0, 4),                # ld arch
                 ins(0x15, 1, 0, 0xC000003E),       # jeq AUDIT_ARCH_X86_64
                 ins(0x06, 0, 0, 0x7FFF0000),       # ret ALLOW (another arch: leave it alone)
                 ins(0x20, 0, 0, 0),                # ld nr
                 ins(0x15, 0, 1, 288),              # jeq accept4
                 ins(0x06, 0, 0, 0x00050000 | 1),   # ret ERRNO(EPERM)
                 ins(0x06, 0, 0, 0x7FFF0000)])      # ret ALLOW
buf = ctypes.create_string_buffer(prog)
fprog = struct.pack("HxxxxxxQ", len(prog) // 8, ctypes.addressof(buf))
fbuf = ctypes.create_string_buffer(fprog)
L = ctypes.c_ulong
assert libc.prctl(38, L(1), L(0), L(0), L(0)) == 0                      # PR_SET_NO_NEW_PRIVS
assert libc.prctl(22, L(2), L(ctypes.addressof(fbuf)), L(0), L(0)) == 0  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
os.execv(sys.argv[1], sys.argv[1:])
"""


def d11_accept_eperm():
    """accept4 failing with EPERM every time (a seccomp filter): an error
    that concerns one connection, but 16 in a row pause accepting as a
    resource error does, instead of a silent spin."""
    import platform
    if platform.machine() != "x86_64":
        check("11: the seccomp filter of this test is for x86_64", False, platform.machine())
        return
    script = os.path.join(TMP, "deny_accept.py")
    open(script, "w").write(DENY_ACCEPT)
    P = free_port()
    p = launch([sys.executable, script, ACT, "-a", "--inetd", "-l", f"127.0.0.1:{P}", "/bin/echo", "hi"], tool="python")
    c = connect_retry(P)
    cpu0 = cpu_seconds(p.pid)
    time.sleep(2)  # the time the launcher would spin (a measurement, not a wait for a condition)
    running = p.poll() is None
    cpu = cpu_seconds(p.pid) - cpu0 if running else 0.0
    err = p.err()
    lines = [l for l in err.splitlines() if "accept" in l]
    check(f"11: accept4 failing with EPERM every time: {cpu:.2f}s CPU in 2s, {len(lines)} log line(s), still running",
          running and cpu < 0.2 and len(lines) == 1 and "Operation not permitted: connections wait in the backlog" in lines[0],
          err[-500:])
    c.close()
    p.send_signal(signal.SIGTERM)
    finish(p)

def served_all(port, n):
    """Open n connections at once; each reply (to EOF) and the seconds all took."""
    import threading
    replies = [None] * n

    def one(i):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=60) as c:
                d = b""
                while True:
                    x = c.recv(256)
                    if not x:
                        break
                    d += x
                replies[i] = d.decode(errors="replace")
        except OSError as e:
            replies[i] = f"error: {e}"

    t0 = time.monotonic()
    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(90)
    return replies, time.monotonic() - t0


def d12_accept_overlap():
    """12: every child's execve is held up by 1 s (strace's delay
    injection): with one child in flight at a time, n connections take n
    seconds; children in flight together take about one. Then more
    connections than the launcher's 64 slots: the ones beyond wait for an
    exec (as before), all are served, each child with its own LISTEN_PID.
    The launcher's own execve is delayed too (it is traced from the start)."""
    P = free_port()
    cmd = ["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=execve", "-e", "inject=execve:delay_enter=1000000",
           ACT, "-q", "-a", "-l", f"127.0.0.1:{P}", "/bin/sh", "-c", 'echo "$$ $LISTEN_PID $LISTEN_FDS" >&3']
    p = launch(cmd, tool="strace")
    connect_retry(P).close()  # its child still runs: the reply is not waited for
    for n, limit in ((8, 4.0), (70, 15.0)):
        replies, took = served_all(P, n)
        good = [r for r in replies if r and len(r.split()) == 3 and r.split()[0] == r.split()[1] and r.split()[2] == "1"]
        pids = {r.split()[0] for r in good}
        check(f"12: {n} connections, each child's exec delayed 1 s: served in {took:.1f} s (under {limit:.0f} s), "
              f"{len(good)} with their own LISTEN_PID, {len(pids)} distinct",
              took < limit and len(good) == n and len(pids) == n, f"{replies[:4]}\n{p.err()[-500:]}")
    p.send_signal(signal.SIGTERM)
    finish(p)


def d12_accept_exec_failure():
    """12: a per-connection child that cannot execute the command (the
    script was removed after the launcher started) is reported once per
    connection, with the errno, and the launcher serves the next ones."""
    script = os.path.join(TMP, "d12.sh")
    open(script, "w").write("#!/bin/sh\necho served\n")
    os.chmod(script, 0o755)
    P = free_port()
    p = launch(["-q", "-a", "--inetd", "-l", f"127.0.0.1:{P}", script])
    connect_retry(P).close()
    first, _ = served_all(P, 1)
    os.rename(script, script + ".away")
    gone, _ = served_all(P, 3)
    os.rename(script + ".away", script)
    back, _ = served_all(P, 1)
    wait_err(p, "(?s)(failed to execute.*){3}")
    err = p.err()
    fails = [l for l in err.splitlines() if "failed to execute" in l]
    check("12: --accept, command removed: 3 connections closed unserved, 3 lines 'failed to execute …: No such file "
          "or directory', served again once it is back, still running",
          first == ["served\n"] and gone == [""] * 3 and back == ["served\n"] and len(fails) == 3
          and all(l.endswith(f"failed to execute {script}: No such file or directory") for l in fails)
          and p.poll() is None, f"{first} {gone} {back}\n{err[-800:]}")
    p.send_signal(signal.SIGTERM)
    finish(p)


def kill_leftovers():
    """Children a defective launcher left behind (they ignore SIGTERM)."""
    for f in ("d2.pids", "d3.pids"):
        try:
            for x in open(os.path.join(TMP, f)).read().split():
                try:
                    os.kill(int(x), signal.SIGKILL)
                except OSError:
                    pass
        except OSError:
            pass


sys.exit(run_groups((d1_inherit_env, d2_retired_killed, d3_no_orphan, d4_many_fds, d6_fdnames, d7_closed_log,
                    d9_notify_size, d10_fdstore_full, d11_accept_emfile, d11_accept_fatal,
                    d11_accept_eperm, d12_accept_overlap, d12_accept_exec_failure), procs,
                    kill_leftovers))
