#!/usr/bin/env python3
"""sdfd-activate's notify socket: only the processes --notify-access names
may use it (systemd's NotifyAccess=), and no other user can reach it.

A foreign uid (nobody, by setpriv, sending on a socket the test connected
for it) and a foreign root process (this test) send FDSTORE=1 (with an fd),
READY=1, FDSTOREREMOVE=1, STOPPING=1 and WATCHDOG=1: all refused, one log
line each, also while a SIGHUP replacement waits for READY=1, and a forged
SCM_CREDENTIALS pid is refused by the kernel; the children's own messages
are accepted. A root launcher's socket is reachable by every user (0666 in
a 0711 directory, as systemd's /run/systemd/notify), so that a child that
drops privileges (setpriv to nobody) notifies READY=1 and SIGHUP
replacements with --wait-ready work, while another process of that same uid
is refused; a launcher of another user keeps a private 0700 directory that
nobody cannot even connect to. The directory is removed when the launcher
exits. --notify-access=exec/all/none with a grandchild sender.

    notify_access.py SDFD_ACTIVATE
Ends with "N passed, N failed"."""
import array, os, re, signal, socket, stat, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sdfdtest import alive, check, free_port, run_groups, tmpdir  # noqa: E402

ACT = sys.argv[1]
TMP = tmpdir("act-notify")
os.chmod(TMP, 0o755)
procs = []

# The child: reports its environment to DIR/child.PID, waits DIR/delay
# seconds if that exists, sends the messages in DIR/on-start (blank-line
# separated; "FD " first line: with an fd of /etc/hostname; "GRANDCHILD "
# first line: sent by a child of the child), exits 0 if DIR/exit exists,
# and sends those in DIR/on-usr2 on SIGUSR2. SIGTERM ends it.
CHILD = r'''
GRANDCHILD = """import array, os, select, socket, sys
a = os.environ["NOTIFY_SOCKET"]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(sys.argv[1].encode(), a)
r, w = os.pipe()
s.sendmsg([b"BARRIER=1"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [w]))], 0, a)
os.close(w)
select.select([r], [], [], 10)
"""
import array, os, signal, socket, subprocess, sys, time
d = sys.argv[1]
def send(msgs):
    for m in [x for x in msgs.split("\n\n") if x.strip()]:
        if m.startswith("GRANDCHILD "):
            # (then BARRIER=1, and wait until the launcher has closed its
            # pipe: the launcher looks the sender's ancestry up in /proc when
            # it reads the message, so a sender already gone is nobody's
            # descendant; systemd, looking up its cgroup, drops it too)
            subprocess.run([sys.executable, "-c", GRANDCHILD, m[11:]])
            continue
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        anc = []
        if m.startswith("FD "):
            m = m[3:]
            f = os.open("/etc/hostname", os.O_RDONLY)
            anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [f]))]
        s.sendmsg([m.encode()], anc, 0, os.environ["NOTIFY_SOCKET"])
        s.close()
def load(name):
    try:
        return open(os.path.join(d, name)).read()
    except OSError:
        return ""
signal.signal(signal.SIGUSR2, lambda *a: send(load("on-usr2")))
env = {k: v for k, v in os.environ.items() if k.startswith(("LISTEN_", "NOTIFY_"))}
with open(os.path.join(d, "child.%d.tmp" % os.getpid()), "w") as f:
    f.write(repr(env))
os.rename(os.path.join(d, "child.%d.tmp" % os.getpid()), os.path.join(d, "child.%d" % os.getpid()))
time.sleep(float(load("delay") or 0))
send(load("on-start"))
if load("exit"):
    sys.exit(0)
while True:
    time.sleep(1)
'''

# Sends each message on the connected socket fd argv[1] (an fd of /etc/hostname
# with the FDSTORE one); run as nobody.
SENDER = r'''
import array, os, socket, sys
s = socket.socket(fileno=int(sys.argv[1]))
for m in sys.argv[2:]:
    f = os.open("/etc/hostname", os.O_RDONLY)
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [f]))] if m.startswith("FDSTORE=1") else []
    s.sendmsg([m.encode()], anc)
'''

FOREIGN = ["FDSTORE=1\nFDNAME=evil", "READY=1", "FDSTOREREMOVE=1\nFDNAME=own", "STOPPING=1", "WATCHDOG=1"]


class Launcher:
    def __init__(self, name, opts, files=None, prefix=()):
        self.dir = os.path.join(TMP, name)
        os.mkdir(self.dir)
        os.chmod(self.dir, 0o777)  # a child that drops privileges reports here too
        open(os.path.join(self.dir, "child.py"), "w").write(CHILD)
        for f, text in (files or {}).items():
            self.set(f, text)
        self.log = os.path.join(self.dir, "log")
        self.port = free_port()
        with open(self.log, "w") as logf:
            self.p = subprocess.Popen([ACT, "--now", "-l", f"127.0.0.1:{self.port}"] + opts + list(prefix) +
                                      [sys.executable, os.path.join(self.dir, "child.py"), self.dir],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=logf)
        procs.append(self.p)
        self.seen = set()

    def set(self, name, text):
        open(os.path.join(self.dir, name), "w").write(text)

    def next_child(self, timeout=5):
        """(pid, env) of the next child that reports."""
        end = time.time() + timeout
        while time.time() < end:
            for f in sorted(os.listdir(self.dir)):
                m = re.fullmatch(r"child\.(\d+)", f)
                if m and f not in self.seen:
                    self.seen.add(f)
                    return int(m.group(1)), eval(open(os.path.join(self.dir, f)).read())
            time.sleep(0.02)
        raise TimeoutError("no child reported")

    def text(self):
        return open(self.log).read()

    def wait_log(self, pattern, timeout=3):
        end = time.time() + timeout
        while time.time() < end:
            if re.search(pattern, self.text(), re.M):
                return True
            time.sleep(0.02)
        return False

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return self.p.wait()


def send_as_nobody(path, msgs):
    """Connect to path (as root), then send msgs from a process of uid nobody."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.connect(path)
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", SENDER,
                        str(s.fileno())] + msgs, pass_fds=[s.fileno()], stdin=subprocess.DEVNULL, capture_output=True, text=True)
    s.close()
    return r


# Sends FDSTORE=1 with an fd and SCM_CREDENTIALS claiming pid argv[2]
# (uid and gid its own): the kernel must refuse it for an unprivileged sender.
FORGER = r'''
import array, os, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
f = os.open("/etc/hostname", os.O_RDONLY)
anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [f])),
       (socket.SOL_SOCKET, socket.SCM_CREDENTIALS, struct.pack("3i", int(sys.argv[2]), os.getuid(), os.getgid()))]
s.sendmsg([b"FDSTORE=1\nFDNAME=forged\nREADY=1"], anc, 0, sys.argv[1])
print("sent")
'''


def forge_as_nobody(path, pid):
    return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", FORGER, path,
                           str(pid)], stdin=subprocess.DEVNULL, capture_output=True, text=True)


def send_as_root(path, msg):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    f = os.open("/etc/hostname", os.O_RDONLY)
    s.sendmsg([msg.encode()], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [f]))] if "FDSTORE" in msg else [], 0, path)
    os.close(f)
    s.close()


def main_access():
    L = Launcher("main", ["--wait-ready"])
    c1, env1 = L.next_child()
    ns = env1.get("NOTIFY_SOCKET", "")
    check(f"NOTIFY_SOCKET is a path, not an abstract name ({ns!r})", ns.startswith("/"), env1)
    d = os.path.dirname(ns)
    st = os.stat(d) if ns.startswith("/") else None
    sst = os.stat(ns) if ns.startswith("/") else None
    # A root launcher: a child that drops privileges must reach the socket
    # (as User= services reach systemd's /run/systemd/notify); the sender's
    # pid is the gate (below). A launcher of another user: see private_dir().
    check("root launcher: its directory is 0711 (not listable) and the socket 0666, both root's",
          st is not None and stat.S_IMODE(st.st_mode) == 0o711 and st.st_uid == 0 and
          stat.S_IMODE(sst.st_mode) == 0o666 and sst.st_uid == 0, (st, sst))
    abstract = [l for l in open("/proc/net/unix") if "sdfd-activate" in l and " @" in l]
    check("nothing of the launcher's in /proc/net/unix as an abstract name", not abstract, abstract)

    # A foreign uid: directly, and on a socket someone connected for it.
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c",
                        "import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(b'READY=1', sys.argv[1])", ns],
                       capture_output=True, text=True)
    check("another user's READY=1 is refused (its pid is no child's)", r.returncode == 0 and L.wait_log(r'refused \(not the main child[^\n]*"READY=1"'),
          r.stderr[-300:] + L.text()[-300:])
    r = send_as_nobody(ns, FOREIGN)
    check("nobody's sender ran", r.returncode == 0, r.stderr)
    ok = L.wait_log(r"(?s)(refused.*){6}")
    refused = re.findall(r'^sdfd-activate: notify message from pid (\d+) refused \((.*)\): (".*)$', L.text(), re.M)[1:]
    for i, m in enumerate(FOREIGN):
        first = m.split("\n")[0]
        hit = [x for x in refused if x[2].startswith(repr(first).replace("'", '"'))]
        check(f"uid nobody's {first} refused with one log line", len(hit) == 1 and ("fd(s) closed" in hit[0][2]) == (i == 0),
              refused)
    send_as_root(ns, "FDSTORE=1\nFDNAME=rootevil")
    check("a root process that is not a child: FDSTORE=1 refused, its fd closed",
          L.wait_log(r'(?s)(refused[^\n]*"FDSTORE=1" \.\.\., 1 fd\(s\) closed.*){2}'), L.text()[-800:])
    r = forge_as_nobody(ns, c1)
    check(f"a foreign user cannot claim the main child's pid {c1} (the kernel refuses the forged credentials: EPERM)",
          "PermissionError" in r.stderr and "sent" not in r.stdout, r.stdout + r.stderr[-300:])
    check("no foreign fd kept in the store", "keeping fd" not in L.text(), L.text()[-800:])
    check("the child is still the one running (foreign STOPPING/READY did nothing)", alive(c1), L.text()[-500:])

    # A SIGHUP hand-over: the new child waits for READY=1.
    L.p.send_signal(signal.SIGHUP)
    c2, env2 = L.next_child()
    n_before = len(re.findall("refused", L.text()))
    r = send_as_nobody(ns, FOREIGN)
    send_as_root(ns, "READY=1")
    ok = L.wait_log(r"(?s)(refused.*){%d}" % (n_before + 6))
    r2 = forge_as_nobody(ns, c2)
    ok = ok and "PermissionError" in r2.stderr
    time.sleep(0.3)
    check("during the hand-over: the foreign READY=1, FDSTORE=1 ... all refused (6 lines)", ok, L.text()[-1500:])
    check("during the hand-over: the old child still runs, the new one is still pending", alive(c1) and alive(c2) and
          "is ready" not in L.text(), L.text()[-600:])
    # The pending child's own messages are accepted.
    L.set("on-usr2", "FD FDSTORE=1\nFDNAME=own\n\nREADY=1")
    os.kill(c2, signal.SIGUSR2)
    ok = L.wait_log(rf"pid {c2} is ready")
    check("the pending child's own FDSTORE=1 and READY=1 are accepted", ok and f"keeping fd named own (from pid {c2})" in L.text(),
          L.text()[-800:])
    end = time.time() + 3
    while time.time() < end and alive(c1):
        time.sleep(0.05)
    check("after its READY=1 the old child is stopped", not alive(c1), L.text()[-500:])
    L.set("on-usr2", "STOPPING=1\n\nWATCHDOG=1\n\nSTATUS=fine")
    os.kill(c2, signal.SIGUSR2)
    check("the main child's own STOPPING=1, WATCHDOG=1, STATUS= are accepted",
          L.wait_log(rf"pid {c2} is stopping") and L.wait_log("status: fine") and
          not re.search(rf"pid {c2} refused", L.text()), L.text()[-500:])
    # The next child gets the stored fd, and only that one.
    L.set("on-start", "READY=1")
    L.p.send_signal(signal.SIGHUP)
    c3, env3 = L.next_child()
    check(f"the next child gets the child's stored fd only ({env3.get('LISTEN_FDS')}, {env3.get('LISTEN_FDNAMES')})",
          env3.get("LISTEN_FDS") == "2" and env3.get("LISTEN_FDNAMES") == "unknown:own", env3)
    L.wait_log(rf"pid {c3} is ready")
    rc = L.stop()
    check(f"launcher stops (rc={rc}); the notify directory is removed", rc is not None and not os.path.exists(d), os.path.exists(d))


def access_modes():
    """A grandchild (the child's own subprocess) sends READY=1."""
    for mode, want in (("main", False), ("exec", False), ("all", True)):
        L = Launcher("mode-" + mode, [f"--notify-access={mode}"])
        L.set("on-start", "GRANDCHILD READY=1\n\nREADY=1")
        c1, env = L.next_child()
        own = L.wait_log(rf"pid {c1} is ready")
        L.wait_log("refused|is ready.*\n(?s:.*)is ready", 2)
        time.sleep(0.2)
        t = L.text()
        gc_ok = len(re.findall(r"is ready", t)) == 2
        gc_refused = re.search(r"refused \(not (the main child|a child of the launcher)", t) is not None
        check(f"--notify-access={mode}: the child's READY=1 accepted, a grandchild's {'accepted' if want else 'refused'}",
              own and (gc_ok if want else (gc_refused and not gc_ok)), t[-600:])
        L.stop()
    L = Launcher("none", ["--notify", "--notify-access=none"])
    c1, env = L.next_child()
    check("--notify-access=none: no NOTIFY_SOCKET", "NOTIFY_SOCKET" not in env, env)
    L.stop()
    r = subprocess.run([ACT, "--notify-access=some", "-l", "1", "true"], capture_output=True, text=True)
    check(f"--notify-access=some: usage error (rc={r.returncode})", r.returncode == 2 and "--notify-access" in r.stderr, r.stderr)


def last_words():
    """A child's FDSTORE=1 sent just before it exits is kept, even when the
    launcher sees the message and the SIGCHLD at the same wake-up (forced
    here: the launcher is stopped meanwhile). systemd reads notify messages
    before SIGCHLD for this; judging the message after reaping the child
    refused it as not from the main child, and the fd was lost."""
    L = Launcher("last-words", ["--notify", "--restart", "--restart-delay=0.05"],
                 {"on-start": "FD FDSTORE=1\nFDNAME=last", "delay": "0.3", "exit": "1"})
    c1, _ = L.next_child()
    os.kill(L.p.pid, signal.SIGSTOP)
    time.sleep(0.2)
    end = time.time() + 5
    while alive(c1) and time.time() < end:   # it sends, then exits
        time.sleep(0.02)
    gone = not alive(c1)
    os.unlink(os.path.join(L.dir, "exit"))   # the next child stays
    os.kill(L.p.pid, signal.SIGCONT)
    c2, env = L.next_child()
    t = L.text()
    check(f"FDSTORE=1 from a child that exits right after: kept for its successor (LISTEN_FDS={env.get('LISTEN_FDS')}, "
          f"LISTEN_FDNAMES={env.get('LISTEN_FDNAMES')})",
          gone and env.get("LISTEN_FDS") == "2" and env.get("LISTEN_FDNAMES", "").endswith(":last") and "refused" not in t,
          f"first child exited: {gone}; env {env}\n{t[-800:]}")
    L.stop()



NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def dropped_privileges():
    """The command drops privileges after exec (setpriv to nobody, as a
    daemon's own User= switch would): it can still notify, and SIGHUP
    replacements with --wait-ready work; another process of the same uid
    is still refused (the pid is the gate)."""
    L = Launcher("drop", ["--wait-ready", "--ready-timeout=5"], {"on-start": "FD FDSTORE=1\nFDNAME=own\n\nREADY=1"}, prefix=NOBODY)
    c1, env1 = L.next_child()
    try:
        uid = os.stat(f"/proc/{c1}").st_uid
    except OSError:
        uid = None  # it died (EACCES on its notify socket)
    ns = env1.get("NOTIFY_SOCKET", "")
    check(f"a child running as uid {uid} (setpriv) sends FDSTORE=1 and READY=1: both accepted",
          uid == 65534 and L.wait_log(rf"pid {c1} is ready") and f"keeping fd named own (from pid {c1})" in L.text(),
          L.text()[-600:])
    for i in (2, 3):
        L.p.send_signal(signal.SIGHUP)
        c, env = L.next_child()
        ready = L.wait_log(rf"pid {c} is ready")
        end = time.time() + 5
        while time.time() < end and alive(c1):
            time.sleep(0.05)
        check(f"SIGHUP {i - 1} with --wait-ready: the replacement (uid nobody) is ready, the old child stopped",
              ready and not alive(c1) and alive(c) and "not ready after" not in L.text(), L.text()[-800:])
        c1 = c
    n_before = len(re.findall("refused", L.text()))
    r = send_as_nobody(ns, FOREIGN)
    r2 = forge_as_nobody(ns, c1)
    ok = L.wait_log(r"(?s)(refused.*){%d}" % (n_before + 5))
    time.sleep(0.2)
    t = L.text()
    check("another process of uid nobody: FDSTORE=1, READY=1, FDSTOREREMOVE=1, STOPPING=1, WATCHDOG=1 refused, "
          "a forged pid refused by the kernel", ok and len(re.findall("refused", t)) == n_before + 5 and
          "PermissionError" in r2.stderr and "keeping fd named evil" not in t and "forged" not in t, t[-1000:])
    L.set("on-start", "")
    L.p.send_signal(signal.SIGHUP)
    c, env = L.next_child()
    check(f"the stored fd is the child's own only (LISTEN_FDNAMES={env.get('LISTEN_FDNAMES')})",
          env.get("LISTEN_FDNAMES") == "unknown:own", env)
    rc = L.stop()
    check(f"launcher stops (rc={rc}); the notify directory is removed", rc is not None and not os.path.exists(os.path.dirname(ns)))


def private_dir():
    """A launcher that is not root keeps the socket in a 0700 directory:
    its children cannot change uid, and no other user can connect."""
    d = os.path.join(TMP, "user")
    os.mkdir(d)
    os.chmod(d, 0o777)
    out = os.path.join(d, "ns")
    port = free_port()
    p = subprocess.Popen(NOBODY + [ACT, "--now", "--notify", "-l", f"127.0.0.1:{port}", "/bin/sh", "-c",
                                   f'echo "$NOTIFY_SOCKET" > {out}.tmp && mv {out}.tmp {out} && exec sleep 30'],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, TMPDIR=d))  # (a TMPDIR of the test's could be closed to nobody)
    procs.append(p)
    end = time.time() + 5
    while time.time() < end and not os.path.exists(out):
        time.sleep(0.02)
    ns = open(out).read().strip() if os.path.exists(out) else ""
    st = os.stat(os.path.dirname(ns)) if ns.startswith("/") else None
    check("launcher of uid nobody: its notify directory is 0700 and nobody's",
          st is not None and stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == 65534, st)
    r = subprocess.run(["setpriv", "--reuid=65533", "--regid=65533", "--clear-groups", sys.executable, "-c",
                        "import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(b'READY=1', sys.argv[1])", ns],
                       capture_output=True, text=True)
    check("another user (uid 65533) cannot send to it (EACCES)", r.returncode != 0 and "PermissionError" in r.stderr, r.stderr[-300:])
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()

sys.exit(run_groups((main_access, access_modes, last_words, dropped_privileges, private_dir), procs))
