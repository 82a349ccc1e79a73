#!/usr/bin/env python3
"""Hand-off tests: a C daemon (daemon.c) and a Python one (daemon.py)
upgrade themselves without a supervisor while clients hammer them, both by
offer/receive and by re-exec (sdfd_handoff_spawn); every failure path of
docs/handoff.md keeps the old instance serving with the same descriptors.

Needs the installed sdfd (pkg-config, SDFD_LIBRARY as tests/run-all.sh
exports them), root (a successor runs as nobody through setpriv) and
Linux. Ends with "N passed, N failed".

    HANDOFF_ROUNDS=50 python3 tests/handoff/run.py
"""
import ctypes
import os
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from sdfdtest import alive, check, free_ports, recv_line, summary  # noqa: E402

ROUNDS = int(os.environ.get("HANDOFF_ROUNDS", "50"))
NOBODY = 65534


class Load:
    """Client threads sending one request per connection to both ports,
    with a short pause between requests (bounded load); every error counts
    as a failed request."""

    def __init__(self, ports, threads=4, pause=0.002):
        self.ports, self.pause = ports, pause
        self.ok = self.failed = 0
        self.errors = []
        self.gens = set()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(threads)]
        for t in self.threads:
            t.start()

    def one(self, port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(b"hello\n")
            data = recv_line(c, 256)
        parts = data.split()
        if len(parts) != 3:
            raise OSError("bad reply %r" % data)
        return int(parts[0])

    def run(self, i):
        k = 0
        while not self.stopping.is_set():
            port = self.ports[(i + k) % len(self.ports)]
            k += 1
            try:
                gen = self.one(port)
                with self.lock:
                    self.ok += 1
                    self.gens.add(gen)
            except OSError as e:
                with self.lock:
                    self.failed += 1
                    self.errors.append(repr(e))
            time.sleep(self.pause)

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join()


def ask(port):
    """One request: (gen, pid, name)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall(b"x\n")
        g, p, n = c.makefile("rb").readline().split()
    return int(g), int(p), n.decode()


def try_ask(port):
    """ask(), or None when nobody answers."""
    try:
        return ask(port)
    except OSError:
        return None


def fd_sample(pid):
    d = "/proc/%d/fd" % pid
    out = {}
    for name in os.listdir(d):
        if int(name) >= 3:
            try:
                out[int(name)] = os.readlink(os.path.join(d, name))
            except OSError:
                pass
    return out


def fd_targets(pid):
    """{fd: link target} of the fds >= 3 that `pid` holds across three
    samples 20 ms apart: a connection being served (a new socket each
    time) is not counted, a leaked descriptor is."""
    samples = []
    for _ in range(3):
        samples.append(fd_sample(pid))
        time.sleep(0.02)
    return {fd: t for fd, t in samples[0].items() if all(s.get(fd) == t for s in samples[1:])}


def reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def wait_for(cond, timeout=10.0, step=0.005):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


class Daemon:
    """One daemon lineage in its own control directory."""

    def __init__(self, tmp, kind, cmd):
        self.kind, self.cmd = kind, cmd
        self.ctl = tempfile.mkdtemp(prefix=kind + "-", dir=tmp)
        os.chmod(self.ctl, 0o755)
        self.web, self.aux = free_ports(2)
        self.log = os.path.join(self.ctl, "log")
        self.procs = []  # every process started, for the clean-up

    def output(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def popen(self, extra, user=None):
        prefix = ["setpriv", "--reuid=%d" % user, "--regid=%d" % user, "--clear-groups"] if user is not None else []
        p = subprocess.Popen(prefix + self.cmd + [self.ctl] + extra, stdin=subprocess.DEVNULL,
                             stdout=open(self.log, "a"), stderr=subprocess.STDOUT)
        self.procs.append(p.pid)
        return p

    def current(self):
        try:
            with open(os.path.join(self.ctl, "pid")) as f:
                pid, gen = f.read().split()
            return int(pid), int(gen)
        except (OSError, ValueError):
            return None, None

    def start(self):
        self.popen(["--port-web", str(self.web), "--port-aux", str(self.aux)])
        if not wait_for(lambda: self.current()[0] is not None):
            raise RuntimeError("%s did not start:\n%s" % (self.kind, self.output()))
        return self.current()

    def conf(self, timeout_ms, uid=-1):
        with open(os.path.join(self.ctl, "offer.conf"), "w") as f:
            f.write("%d %d\n" % (timeout_ms, uid))

    def upgrade(self, how):
        """One hand-off; (ok, detail)."""
        old, gen = self.current()
        if how == "offer":
            self.conf(5000)
            os.kill(old, signal.SIGUSR1)
            self.popen(["--receive", os.path.join(self.ctl, "handoff.sock")])
        else:
            os.kill(old, signal.SIGUSR2)
        if not wait_for(lambda: self.current()[1] == gen + 1):
            return False, "no successor of gen %d:\n%s" % (gen, self.output()[-2000:])
        new, _ = self.current()
        self.procs.append(new)
        if not wait_for(lambda: (reap(old), not alive(old))[1]):
            return False, "old instance %d did not exit" % old
        return True, new

    def stop(self):
        for pid in self.procs:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in self.procs:
            reap(pid)


def hammer(d, how, rounds):
    """`rounds` consecutive hand-offs under load, checking each successor."""
    first, _ = d.current()
    fds0 = fd_targets(first)
    load = Load([d.web, d.aux])
    time.sleep(0.2)
    bad = []
    leak = []
    for i in range(rounds):
        ok, new = d.upgrade(how)
        if not ok:
            bad.append(new)
            break
        got = fd_targets(new)
        if got != fds0:
            leak.append((i, got))
    time.sleep(0.2)
    load.stop()
    name = "%s: %d %s hand-offs under load" % (d.kind, rounds, how)
    check(name + ": all done", not bad, "; ".join(bad))
    check(name + ": 0 failed requests (%d served)" % load.ok, load.failed == 0 and load.ok > rounds * 5,
          "%d failed: %s" % (load.failed, load.errors[:5]))
    check(name + ": requests answered by many generations", len(load.gens) > rounds // 2, repr(sorted(load.gens)))
    check(name + ": every successor has exactly the first instance's fds (same sockets, no leak)", not leak,
          "first %r, differing: %r" % (fds0, leak[:2]))
    out = d.output()
    check(name + ": successors find web/aux/state by name", out.count("activated: 3: web aux state") >= rounds,
          out[-1500:])
    pid, gen = d.current()
    g, p, n = ask(d.web)
    check(name + ": last generation serves", (g, p, n) == (gen, pid, "web"), repr((g, p, n, gen, pid)))
    g, p, n = ask(d.aux)
    check(name + ": 'aux' is the aux socket", (p, n) == (pid, "aux"), repr((g, p, n)))


def failure_keeps_old(d, name, trigger, expect_line, timeout=15):
    """Run `trigger`; the old instance must print `expect_line`, keep
    serving and keep exactly its descriptors."""
    old, gen = d.current()
    before = fd_targets(old)
    lines = d.output().count("\n")
    trigger(old)
    got = wait_for(lambda: expect_line in "\n".join(d.output().splitlines()[lines:]), timeout)
    check(name + ": old instance reports it", got, d.output()[-1500:])
    g, p, _ = ask(d.web)
    check(name + ": old instance still serves", (p, g) == (old, gen) and alive(old), repr((g, p, old, gen)))
    time.sleep(0.05)
    check(name + ": old instance's fds unchanged", fd_targets(old) == before, "%r -> %r" % (before, fd_targets(old)))
    check(name + ": socket path removed", not os.path.exists(os.path.join(d.ctl, "handoff.sock")) or
          name.startswith("path in use"))


def fake_successor(path, mode):
    """A successor that connects and dies before acknowledging: 'header'
    (reads the header, exits), 'fds' (takes the descriptors, exits)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    end = time.monotonic() + 5
    while True:
        try:
            s.connect(path)
            break
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.01)
    h = b""
    while len(h) < 16:
        h += s.recv(16 - len(h))
    if mode == "fds":
        n, names_len = struct.unpack("<II", h[8:16])
        left = names_len
        while left:
            left -= len(s.recv(left))
        msg, fds, _, _ = socket.recv_fds(s, 1, n)
        for fd in fds:
            os.close(fd)
    s.close()
    return h


def failures(d):
    ctl = d.ctl
    sock = os.path.join(ctl, "handoff.sock")

    # path in use: a file is there; it is left alone
    def in_use(old):
        with open(sock, "w") as f:
            f.write("mine")
        d.conf(5000)
        os.kill(old, signal.SIGUSR1)
    failure_keeps_old(d, "path in use", in_use, "offer: -98")
    check("path in use: the file there is untouched", open(sock).read() == "mine")
    os.unlink(sock)

    # offer timeout: nobody comes
    def nobody_comes(old):
        d.conf(300)
        os.kill(old, signal.SIGUSR1)
    t0 = time.monotonic()
    failure_keeps_old(d, "offer timeout", nobody_comes, "offer: -110")
    check("offer timeout: within bounds", time.monotonic() - t0 < 3)

    # successor dies before the acknowledgement (twice: after the header, after taking the fds)
    for mode in ("header", "fds"):
        def crash(old, mode=mode):
            d.conf(5000)
            os.kill(old, signal.SIGUSR1)
            fake_successor(sock, mode)
        failure_keeps_old(d, "successor dies before ack (%s)" % mode, crash, "offer: -103")

    # foreign uid: the socket is 0600 without an allowed uid (connect refused by the file system) ...
    def foreign_mode(old):
        d.conf(1000)
        os.kill(old, signal.SIGUSR1)
        p = d.popen(["--receive", sock, "--timeout-ms", "3000"], user=NOBODY)
        p.wait(10)
    failure_keeps_old(d, "foreign uid (socket mode)", foreign_mode, "offer: -110")
    check("foreign uid (socket mode): successor told EACCES", "receive failed: -13" in d.output(), d.output()[-800:])

    # ... and refused by the peer-credential check when the socket is open to
    # another allowed uid (1, daemon) but nobody connects
    lines = d.output().count("receive failed: -13")

    def foreign_cred(old):
        d.conf(1500, 1)
        os.kill(old, signal.SIGUSR1)
        p = d.popen(["--receive", sock, "--timeout-ms", "3000"], user=NOBODY)
        p.wait(10)
    failure_keeps_old(d, "foreign uid (SO_PEERCRED)", foreign_cred, "offer: -110")
    check("foreign uid (SO_PEERCRED): successor refused with EACCES", d.output().count("receive failed: -13") > lines,
          d.output()[-800:])

    # receive timeout: no offer at all
    t0 = time.monotonic()
    p = d.popen(["--receive", os.path.join(ctl, "absent.sock"), "--timeout-ms", "300"])
    rc = p.wait(10)
    dt = time.monotonic() - t0
    check("receive timeout: ENOENT after the deadline", rc == 3 and "receive failed: -2 " in d.output() and 0.3 <= dt < 3,
          "rc %s dt %.2f" % (rc, dt))

    # timeout 0 is one try, not an expired deadline: an offer already
    # waiting is taken
    old, gen = d.current()
    d.conf(5000)
    os.kill(old, signal.SIGUSR1)
    wait_for(lambda: os.path.exists(sock))
    d.popen(["--receive", sock, "--timeout-ms", "0"])
    ok = wait_for(lambda: d.current()[1] == gen + 1)
    check("receive timeout 0: one try takes an offer that is waiting", ok, d.output()[-600:])
    if ok:
        d.procs.append(d.current()[0])
        check("receive timeout 0: the old instance exits after the hand-off",
              wait_for(lambda: (reap(old), not alive(old))[1]), d.output()[-600:])

    # an allowed foreign uid is served: the successor runs as nobody
    os.chmod(ctl, 0o777)
    old, gen = d.current()
    d.conf(5000, NOBODY)
    os.kill(old, signal.SIGUSR1)
    d.popen(["--receive", sock], user=NOBODY)
    ok = wait_for(lambda: d.current()[1] == gen + 1)
    new = d.current()[0]
    owner = os.stat("/proc/%d" % new).st_uid if ok and alive(new) else None
    check("allowed uid: successor running as nobody took over", ok and owner == NOBODY, d.output()[-800:])
    if ok:
        d.procs.append(new)
        check("allowed uid: old instance exited", wait_for(lambda: (reap(old), not alive(old))[1]))
        g, p2, _ = ask(d.web)
        check("allowed uid: the successor serves", p2 == new and g == gen + 1, repr((g, p2, new)))


def symlink_race(tmp, lib):
    """Issue 28 #1: a local user who can write the offer path's directory
    races symlinks against the offer (the final name, and the private
    directory it binds in); no file outside the socket may change mode,
    for a root offerer (with and without an allowed uid) and for an
    unprivileged one. Then: the unlink on return leaves alone what
    replaced our socket."""
    race = os.path.join(tmp, "race.py")  # readable by the unprivileged roles
    shutil.copy(os.path.join(HERE, "race.py"), race)
    os.chmod(race, 0o755)
    rounds = int(os.environ.get("HANDOFF_RACE_ROUNDS", "1500"))
    for who, offerer, allowed, victim_mode in (("root offerer, allowed uid", None, NOBODY, 0o600),
                                              ("root offerer, no allowed uid", None, -1, 0o644),
                                              ("offerer uid 1", 1, -1, 0o644)):
        d = tempfile.mkdtemp(prefix="race-", dir=tmp)
        os.chmod(d, 0o777)  # writable by the attacker, no sticky bit
        victim = os.path.join(tmp, "victim-%d" % os.getpid())
        with open(victim, "w") as f:
            f.write("secret")
        os.chmod(victim, victim_mode)
        if offerer is not None:
            os.chown(victim, offerer, offerer)
        path = os.path.join(d, "handoff.sock")
        attacker = subprocess.Popen(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups",
                                     sys.executable, race, "attack", path, victim], stdout=subprocess.PIPE, text=True)
        try:
            prefix = [] if offerer is None else ["setpriv", "--reuid=%d" % offerer, "--regid=%d" % offerer,
                                                  "--clear-groups"]
            out = subprocess.run(prefix + [sys.executable, race, "offer", lib, path, str(rounds), str(allowed)],
                                 capture_output=True, text=True, timeout=300)
        finally:
            attacker.terminate()
            swaps = attacker.communicate()[0].split()
        st = os.lstat(victim)
        counts = dict(tuple(map(int, line.split())) for line in out.stdout.splitlines())
        check("symlink race (%s): %d offers raced, the victim file's mode stays %o" % (who, rounds, victim_mode),
              stat.S_IMODE(st.st_mode) == victim_mode and out.returncode == 0 and sum(counts.values()) == rounds,
              "mode now %o; offer results %r %s" % (stat.S_IMODE(st.st_mode), counts, out.stderr[-500:]))
        swapped = len(swaps) == 2 and int(swaps[0]) + int(swaps[1]) > 0
        check("symlink race (%s): offers ran (timeout 0 reached: -110) and the attacker swapped (%s)" % (
            who, "/".join(swaps)), counts.get(-110, 0) > 0 and swapped, repr(counts))
        os.unlink(victim)
        shutil.rmtree(d, ignore_errors=True)

    # the unlink on return: our socket replaced by another file while the
    # offer waits; the file stays
    d = tempfile.mkdtemp(prefix="replaced-", dir=tmp)
    path = os.path.join(d, "handoff.sock")
    out = os.path.join(d, "offer.out")
    p = subprocess.Popen([sys.executable, race, "offer-once", lib, path, "1500000"], stdout=open(out, "w"))
    appeared = wait_for(lambda: os.path.exists(path) and stat.S_ISSOCK(os.lstat(path).st_mode))
    if appeared:
        os.unlink(path)
        with open(path, "w") as f:
            f.write("mine")
    p.wait(10)
    check("offer's unlink on return: a file that replaced our socket is left alone",
          appeared and os.path.exists(path) and open(path).read() == "mine", open(out).read())
    shutil.rmtree(d, ignore_errors=True)


def wire_header(n, names):
    block = b"".join(nm + b"\0" for nm in names)
    return b"SDFDHO\x01\x00" + struct.pack("<II", n, len(block)) + block


class FakeOfferer:
    """A stand-in old instance for the commit-rule cases: it holds the TCP
    listeners web and aux and a state memfd (generation `gen`) and offers
    them on `path` in the wire format, stopping where the case says."""

    def __init__(self, d, gen=0):
        self.path = os.path.join(d.ctl, "handoff.sock")
        self.web = socket.create_server(("127.0.0.1", d.web), backlog=64)
        self.aux = socket.create_server(("127.0.0.1", d.aux), backlog=64)
        self.state = os.memfd_create("state")
        os.pwrite(self.state, struct.pack("=Q", gen), 0)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(1)
        self.listener.settimeout(10)

    def accept(self):
        conn, _ = self.listener.accept()
        return conn

    def send_all(self, conn, upto):
        """'nothing', 'header' (header and names) or 'all' (and the descriptors)."""
        if upto in ("header", "all"):
            conn.sendall(wire_header(3, [b"web", b"aux", b"state"]))
        if upto == "all":
            socket.send_fds(conn, [b"F"], [self.web.fileno(), self.aux.fileno(), self.state])

    def die(self, *conns):
        """Everything this 'process' held goes away."""
        for c in conns:
            c.close()
        self.listener.close()
        os.unlink(self.path)
        self.web.close()
        self.aux.close()
        os.close(self.state)


def commit_rule(tmp, exe):
    """Issue 28 #2, docs/handoff.md "The commit rule": for every way the
    old or the new instance can die or give up mid hand-off, someone keeps
    serving, and two serve only in the documented window."""
    procs = []

    def lineage(kind):
        d = Daemon(tmp, kind, [exe])
        daemons.append(d)
        return d
    daemons = []
    try:
        # 1. the offerer dies before sending anything / after the header:
        # the successor gets no descriptors, says so, and starts fresh
        for upto in ("nothing", "header"):
            d = lineage("commit-before-%s" % upto)
            fake = FakeOfferer(d)
            p = d.popen(["--receive", fake.path, "--port-web", str(d.web), "--port-aux", str(d.aux)])
            conn = fake.accept()
            fake.send_all(conn, upto)
            fake.die(conn)
            ok = wait_for(lambda: d.current()[0] == p.pid)
            g, pid, _ = ask(d.web) if ok else (None, None, None)
            check("commit rule: offerer dies before sending (%s): the successor reports it and starts fresh, serving"
                  % upto, ok and (g, pid) == (0, p.pid) and "receive failed: -103" in d.output(), d.output()[-800:])

        # 2. the offerer dies after sending every descriptor, before reading
        # the acknowledgement: the successor is the only holder and keeps them
        d = lineage("commit-after-send")
        fake = FakeOfferer(d, gen=41)
        p = d.popen(["--receive", fake.path])
        conn = fake.accept()
        os.kill(p.pid, signal.SIGSTOP)  # the offerer is gone before the successor reads a byte
        fake.send_all(conn, "all")
        fake.die(conn)
        os.kill(p.pid, signal.SIGCONT)
        ok = wait_for(lambda: d.current() == (p.pid, 42))
        g, pid, n = ask(d.web) if ok else (None, None, None)
        check("commit rule: offerer dies after sending, before the ack: the successor keeps everything and serves",
              ok and (g, pid, n) == (42, p.pid, "web"), d.output()[-800:])

        # 3. the successor gives up before having everything (its timeout):
        # it closes what it has; the offerer sees the connection end
        # (ECONNABORTED: it keeps serving, as "successor dies before ack")
        d = lineage("commit-successor-timeout")
        fake = FakeOfferer(d)
        t0 = time.monotonic()
        p = d.popen(["--receive", fake.path, "--timeout-ms", "300"])
        conn = fake.accept()
        fake.send_all(conn, "header")
        conn.settimeout(10)
        eof = conn.recv(16) == b""
        rc = p.wait(10)
        check("commit rule: successor times out before having everything: -ETIMEDOUT, the offerer sees the end",
              eof and rc == 3 and "receive failed: -110" in d.output() and time.monotonic() - t0 < 5,
              "eof %r rc %r %s" % (eof, rc, d.output()[-400:]))
        fake.die(conn)

        # 4. the offerer gives up (its timeout) while the successor is about
        # to acknowledge (its ack delayed 2.5 s by strace): the old instance
        # reports -ETIMEDOUT and keeps serving, the successor commits too:
        # both serve, the documented window, until one is stopped
        d = lineage("commit-offer-timeout")
        old, gen = d.start()
        d.conf(1000)
        os.kill(old, signal.SIGUSR1)
        p = subprocess.Popen(["strace", "-o", "/dev/null", "-e", "trace=sendto",
                              "-e", "inject=sendto:delay_enter=2500000", exe, d.ctl,
                              "--receive", os.path.join(d.ctl, "handoff.sock")],
                             stdout=open(d.log, "a"), stderr=subprocess.STDOUT)
        procs.append(p)
        reported = wait_for(lambda: "offer: -110" in d.output())
        ok = wait_for(lambda: d.current()[1] == gen + 1)
        new = d.current()[0]
        d.procs.append(new)
        pids = set()
        wait_for(lambda: (pids.add((try_ask(d.web) or (0, 0, 0))[1]), {old, new} <= pids)[1], 10, 0.001)
        check("commit rule: offerer times out before the ack: it reports -ETIMEDOUT, the successor commits, "
              "both serve (the documented window)", reported and ok and {old, new} <= pids,
              "pids %r old %r new %r %s" % (pids, old, new, d.output()[-600:]))
        os.kill(old, signal.SIGTERM)
        check("commit rule: the old instance exits on SIGTERM",
              wait_for(lambda: (reap(old), not alive(old))[1]), d.output()[-600:])
        alone = [try_ask(d.web) for _ in range(20)]
        check("commit rule: with the old instance stopped, the successor serves alone",
              all(a is not None and a[1] == new for a in alone), repr(alone[:3]))

        # 5. the successor dies right after acknowledging: the hand-off is
        # complete (the old instance returned 0 and exits); the successor
        # was the only server, as after any crash
        d = lineage("commit-after-ack")
        old, gen = d.start()
        d.conf(5000)
        os.kill(old, signal.SIGUSR1)
        sock = os.path.join(d.ctl, "handoff.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        wait_for(lambda: os.path.exists(sock))
        s.connect(sock)
        h = b""
        while len(h) < 16:
            h += s.recv(16 - len(h))
        n, names_len = struct.unpack("<II", h[8:16])
        left = names_len
        while left:
            left -= len(s.recv(left))
        _, fds, _, _ = socket.recv_fds(s, 1, n)
        s.sendall(b"SDFDACK\x01")
        for fd in fds:
            os.close(fd)
        s.close()
        check("commit rule: successor dies after the ack: the old instance had returned 0 and exits",
              wait_for(lambda: "offer: 0 ok" in d.output()) and wait_for(lambda: (reap(old), not alive(old))[1]),
              d.output()[-400:])
    finally:
        for p in procs:
            p.kill()
            p.wait()
        for d in daemons:
            d.stop()


def fd_limit(tmp, lib):
    """Issue 28 #6: receiving n descriptors under a low RLIMIT_NOFILE: the
    soft limit is raised as far as needed (within the hard limit), a hard
    limit too low is -EMFILE before anything is received."""
    import resource
    race = os.path.join(tmp, "race.py")
    shutil.copy(os.path.join(HERE, "race.py"), race)
    for n, soft, hard, want in ((40, 40, 40, (-24, 40)), (1024, 1024, 4096, (1024, 3 + 2 * 1024 + 1 + 64)),
                                (40, 64, 64, (-24, 64))):
        path = os.path.join(tmp, "limit.sock")
        offerer = subprocess.Popen([sys.executable, race, "offer-n", lib, path, str(n)], stdout=subprocess.PIPE,
                                   text=True)
        wait_for(lambda: os.path.exists(path))
        got = subprocess.run([sys.executable, race, "receive", lib, path], capture_output=True, text=True, timeout=30,
                             preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard)))
        offered = offerer.communicate(timeout=30)[0].strip()
        res = tuple(int(x) for x in got.stdout.split()) if got.returncode == 0 else None
        check("fd limit: %d descriptors under soft %d / hard %d: receive gives %r (offer %s)"
              % (n, soft, hard, want, "0" if want[0] > 0 else "-103"),
              res == want and offered == ("0" if want[0] > 0 else "-103"),
              "got %r, offer %r %s" % (res, offered, got.stderr[-300:]))


def main():
    if os.geteuid() != 0 or not sys.platform.startswith("linux"):
        check("runs as root on Linux", False, "needs root (setpriv to nobody) and Linux")
        return summary()
    # successors re-parented by an exiting old instance come to us
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    tmp = tempfile.mkdtemp(prefix="sdfd-handoff-")
    os.chmod(tmp, 0o755)
    daemons = []
    try:
        # The library in a directory nobody can read (a successor runs as nobody).
        libdir = subprocess.check_output(["pkg-config", "--variable=libdir", "sdfd"], text=True).strip()
        lib = os.path.join(tmp, "lib")
        os.mkdir(lib)
        for f in os.listdir(libdir):
            if f.startswith("libsdfd.so"):
                shutil.copy(os.path.join(libdir, f), lib, follow_symlinks=True)
        exe = os.path.join(tmp, "daemon")
        flags = subprocess.check_output(["pkg-config", "--cflags", "--libs", "sdfd"], text=True).split()
        subprocess.check_call(["cc", "-O1", "-pthread", "-Wall", "-Wextra", "-Werror", "-o", exe,
                               os.path.join(HERE, "daemon.c")] + flags + ["-L" + lib, "-Wl,-rpath," + lib])
        os.chmod(exe, 0o755)
        # The Python daemon: this tree's python/ package on the same library.
        pysrc = os.path.join(tmp, "py")
        shutil.copytree(os.path.join(ROOT, "python", "sdfd"), os.path.join(pysrc, "sdfd"))
        shutil.copy(os.path.join(HERE, "daemon.py"), pysrc)
        os.environ["SDFD_LIBRARY"] = os.path.join(lib, "libsdfd.so.0")
        os.environ["PYTHONPATH"] = pysrc
        os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
        kinds = [("C", [exe]), ("Python", [sys.executable, os.path.join(pysrc, "daemon.py")])]
        for kind, cmd in kinds:
            for how in ("offer", "spawn"):
                d = Daemon(tmp, kind, cmd)
                daemons.append(d)
                pid, gen = d.start()
                g, p, n = ask(d.web)
                check("%s (%s): first instance serves 'web'" % (kind, how), (g, p, n) == (0, pid, "web"))
                hammer(d, how, ROUNDS)
                d.stop()
        symlink_race(tmp, os.path.join(lib, "libsdfd.so.0"))
        commit_rule(tmp, exe)
        fd_limit(tmp, os.path.join(lib, "libsdfd.so.0"))
        d = Daemon(tmp, "C-failures", [exe])
        daemons.append(d)
        d.start()
        failures(d)
        d.stop()
        d = Daemon(tmp, "Python-failures", [sys.executable, os.path.join(pysrc, "daemon.py")])
        daemons.append(d)
        d.start()
        failure_keeps_old(d, "Python: offer timeout", lambda old: (d.conf(300), os.kill(old, signal.SIGUSR1)),
                          "offer: -110")
        failure_keeps_old(d, "Python: successor dies before ack", lambda old: (
            d.conf(5000), os.kill(old, signal.SIGUSR1), fake_successor(os.path.join(d.ctl, "handoff.sock"), "fds")),
            "offer: -103")
        d.stop()
    except Exception as e:  # a set-up failure is a failure, not a skip
        import traceback
        traceback.print_exc()
        check("suite ran to the end", False, repr(e))
    finally:
        for d in daemons:
            d.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
