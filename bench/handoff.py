#!/usr/bin/env python3
"""Hand-off cost, side by side in one run: the same C daemon
(tests/handoff/daemon.c) replaced ROUNDS times by each method, in
interleaved rounds, each hand-off under the same bounded loopback load:

  (a) offer/receive: SIGUSR1 to the old instance, successor started with --receive;
  (a') the same with the successor started first (it waits for the offer to appear);
  (b) re-exec: SIGUSR2, the old instance starts its successor with sdfd_handoff_spawn;
  (c) sdfd-activate --restart --wait-ready: SIGHUP to the supervisor, which starts
      a new child on the same sockets and stops the old one once it is READY=1;
  (d) baseline: the daemon under systemd-socket-activate, stopped and started
      again (the sockets close in between).

Per method: time from the trigger to the first reply from the new process
(p50, p90, max), and the requests that failed. Prints a Markdown section
for bench/RESULTS.md.

    PKG_CONFIG_PATH=stage/lib/pkgconfig python3 bench/handoff.py [ROUNDS]

(make bench runs it and appends its section to bench/RESULTS.md; the
supervisor is SDFD_ACTIVATE, default target/release/sdfd-activate.)
"""
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from sdfdtest import free_port  # noqa: E402

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 30


class Load:
    """4 client threads, one request per connection, 2 ms pause; replies
    are "GEN PID NAME"; records the first time each pid answered."""

    def __init__(self, ports):
        self.ports = ports
        self.ok = self.failed = 0
        self.first_seen = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(4)]
        for t in self.threads:
            t.start()

    def run(self, i):
        k = 0
        while not self.stopping.is_set():
            port = self.ports[(i + k) % 2]
            k += 1
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
                    c.sendall(b"x\n")
                    data = c.makefile("rb").readline()
                pid = int(data.split()[1])
                now = time.monotonic()
                with self.lock:
                    self.ok += 1
                    self.first_seen.setdefault(pid, now)
            except (OSError, ValueError, IndexError):
                with self.lock:
                    self.failed += 1
            time.sleep(0.002)

    def wait_new(self, known, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                new = [(t, p) for p, t in self.first_seen.items() if p not in known]
            if new:
                return min(new)
            time.sleep(0.0005)
        raise RuntimeError("no new instance answered")

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join()


class Method:
    """One way of replacing the daemon: its own ports and control directory;
    start() brings up the first instance, handoff() replaces the current
    one (returns when triggered)."""

    def __init__(self, name, tmp, exe, log, how, activate=None):
        self.name, self.exe, self.log, self.how, self.activate = name, exe, log, how, activate
        self.ctl = tempfile.mkdtemp(dir=tmp)
        self.ports = (free_port(), free_port())
        self.procs = []
        self.times, self.ok, self.failed, self.per_round = [], 0, 0, []

    def popen(self, args, env=None):
        p = subprocess.Popen(args, stdout=self.log, stderr=self.log, env=env)
        self.procs.append(p)
        return p

    def daemon_args(self):
        return [self.exe, self.ctl]

    def socket_activate(self):
        return self.popen(["systemd-socket-activate", "-l", "127.0.0.1:%d" % self.ports[0],
                           "-l", "127.0.0.1:%d" % self.ports[1], "--fdname=web:aux"] + self.daemon_args())

    def start(self):
        if self.how == "activate":
            self.sup = self.popen([self.activate, "-q", "-l", "127.0.0.1:%d" % self.ports[0],
                                   "-l", "127.0.0.1:%d" % self.ports[1], "--fdname=web:aux", "--now", "--restart",
                                   "--wait-ready"] + self.daemon_args())
        elif self.how == "restart":
            self.current_proc = self.socket_activate()
        else:
            self.popen(self.daemon_args() + ["--port-web", str(self.ports[0]), "--port-aux", str(self.ports[1])])

    def current(self):
        with open(os.path.join(self.ctl, "pid")) as f:
            return int(f.read().split()[0])

    def handoff(self):
        sock = os.path.join(self.ctl, "handoff.sock")
        if self.how == "offer":  # signal first, then start the successor
            os.kill(self.current(), signal.SIGUSR1)
            self.popen(self.daemon_args() + ["--receive", sock])
        elif self.how == "offer-late":  # the successor first: it waits for the offer to appear
            self.popen(self.daemon_args() + ["--receive", sock])
            time.sleep(0.02)
            os.kill(self.current(), signal.SIGUSR1)
        elif self.how == "spawn":
            os.kill(self.current(), signal.SIGUSR2)
        elif self.how == "activate":
            os.kill(self.sup.pid, signal.SIGHUP)
        else:  # restart: stop the old systemd-socket-activate'd daemon, start a new one
            self.current_proc.terminate()
            self.current_proc.wait(10)
            self.current_proc = self.socket_activate()

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        try:
            os.kill(self.current(), signal.SIGKILL)
        except OSError:
            pass


def one_round(m):
    """One hand-off of `m` under its own load: the time from the trigger to
    the new process's first reply (for offer-late: from the SIGUSR1)."""
    load = Load(list(m.ports))
    time.sleep(0.05)
    with load.lock:
        known = set(load.first_seen)
    t0 = time.monotonic()
    m.handoff()
    if m.how == "offer-late":
        t0 = time.monotonic()
    t1, pid = load.wait_new(known)
    time.sleep(0.1)
    load.stop()
    m.times.append(t1 - t0)
    m.ok += load.ok
    m.failed += load.failed
    m.per_round.append(load.failed)
    for p in m.procs:
        p.poll()
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def fmt(times):
    ms = sorted(t * 1000 for t in times)
    p = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]
    return "%.1f" % statistics.median(ms), "%.1f" % p(0.9), "%.1f" % ms[-1]


def main():
    import ctypes
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    tmp = tempfile.mkdtemp(prefix="sdfd-bench-handoff-")
    methods = []
    try:
        flags = subprocess.check_output(["pkg-config", "--cflags", "--libs", "sdfd"], text=True).split()
        libdir = subprocess.check_output(["pkg-config", "--variable=libdir", "sdfd"], text=True).strip()
        exe = os.path.join(tmp, "daemon")
        subprocess.check_call(["cc", "-O2", "-pthread", "-o", exe, os.path.join(ROOT, "tests/handoff/daemon.c")]
                              + flags + ["-Wl,-rpath," + libdir])
        activate = os.environ.get("SDFD_ACTIVATE") or os.path.join(ROOT, "target/release/sdfd-activate")
        log = open(os.path.join(tmp, "log"), "w")
        methods = [
            Method("(a) offer/receive: SIGUSR1, then the successor starts", tmp, exe, log, "offer"),
            Method("(a') offer/receive: the successor waits first, then SIGUSR1", tmp, exe, log, "offer-late"),
            Method("(b) re-exec (sdfd_handoff_spawn)", tmp, exe, log, "spawn"),
            Method("(c) sdfd-activate --restart --wait-ready, SIGHUP", tmp, exe, log, "activate", activate),
            Method("(d) baseline: systemd-socket-activate, stopped and started again", tmp, exe, log, "restart"),
        ]
        for m in methods:
            m.start()
        time.sleep(0.5)
        # interleaved: every round replaces each daemon once, the order rotating
        for r in range(ROUNDS):
            k = r % len(methods)
            for m in methods[k:] + methods[:k]:
                one_round(m)
    finally:
        for m in methods:
            m.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    cc = subprocess.run(["cc", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    distro = platform.freedesktop_os_release().get("PRETTY_NAME", "?") if hasattr(platform, "freedesktop_os_release") else "?"
    libc_v = " ".join(platform.libc_ver())
    print("## Hand-off without a supervisor (bench/handoff.py)\n")
    print("The C daemon tests/handoff/daemon.c (two TCP listeners and a memfd, one thread accepting) replaced %d times "
          "by each method, in interleaved rounds (each round replaces every method's daemon once, the order "
          "rotating), each hand-off under its own load: 4 loopback client threads, one request per connection, "
          "2 ms pause, from 50 ms before the trigger to 100 ms after the new process's first reply. Time is from "
          "the trigger (the signal; for (a) also starting the successor; for (a') the SIGUSR1, the successor "
          "already waiting; for (d) stopping the old process) to the first reply from the new process; failed = "
          "requests that got no reply (refused or reset). Wall time on a shared VM: noisy.\n" % ROUNDS)
    print("Measured on: %s VM, %d cores (shared), %s, %s %s, %s, %s, %s.\n" % (
        platform.machine(), os.cpu_count(), distro, platform.system(), platform.release(), libc_v, rustc, cc))
    print("| method | p50 ms | p90 ms | max ms | requests served | failed | hand-offs with a failure |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for m in methods:
        med, p90, mx = fmt(m.times)
        print("| %s | %s | %s | %s | %d | %d | %d of %d |" % (m.name, med, p90, mx, m.ok, m.failed,
                                                           sum(1 for f in m.per_round if f), len(m.per_round)))

if __name__ == "__main__":
    main()
