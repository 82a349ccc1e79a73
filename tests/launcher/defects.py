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
7. the launcher aborted when the reader of its stderr went away.
(5, bytes in arguments and environment, is in launcher_difftest.py.)

    defects.py SDFD_ACTIVATE ACTIVATED
Ends with "N passed, N failed"."""
import os, re, shutil, signal, socket, subprocess, sys, tempfile, time

ACT, ACTIVATED = sys.argv[1], sys.argv[2]
SYSTEMD = "/usr/bin/systemd-socket-activate"
TMP = tempfile.mkdtemp(prefix="sdfd-act-defects.")
passed = failed = 0
procs = []


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name}\n     {detail}")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def alive(pid):
    try:
        st = open(f"/proc/{pid}/stat").read()
        return st[st.rindex(")") + 2] != "Z"
    except OSError:
        return False


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
            P, P2 = free_port(), free_port()
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


try:
    for t in (d1_inherit_env, d2_retired_killed, d3_no_orphan, d4_many_fds, d6_fdnames, d7_closed_log):
        try:
            t()
        except Exception as e:
            check(f"{t.__name__} raised", False, repr(e))
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    # Children a defective launcher left behind (they ignore SIGTERM).
    for f in ("d2.pids", "d3.pids"):
        try:
            for x in open(os.path.join(TMP, f)).read().split():
                try:
                    os.kill(int(x), signal.SIGKILL)
                except OSError:
                    pass
        except OSError:
            pass
    shutil.rmtree(TMP, ignore_errors=True)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
