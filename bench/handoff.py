#!/usr/bin/env python3
"""Hand-off cost, side by side in one run: the same C daemon
(tests/handoff/daemon.c) replaced ROUNDS times under the same bounded
loopback load by

  (a) offer/receive: SIGUSR1 to the old instance, successor started with --receive;
  (b) re-exec: SIGUSR2, the old instance starts its successor with sdfd_handoff_spawn;
  (c) sdfd-activate --restart --wait-ready: SIGHUP to the supervisor, which starts
      a new child on the same sockets and stops the old one once it is READY=1.

Per hand-off: time from the trigger to the first reply from the new
process (median, p10-p90, max), and the requests that failed during all
hand-offs. Prints a Markdown section for bench/RESULTS.md.

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
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 30


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def run_method(name, start, trigger, ctl):
    """start() -> process; trigger(ctl) -> (t0); returns per-hand-off times."""
    procs = [start()]
    web, aux = start.ports
    time.sleep(0.3)
    load = Load([web, aux])
    time.sleep(0.3)
    times = []
    try:
        for _ in range(ROUNDS):
            with load.lock:
                known = set(load.first_seen)
            t0 = time.monotonic()
            extra = trigger(ctl)
            if extra is not None:
                procs.append(extra)
            t1, pid = load.wait_new(known)
            times.append(t1 - t0)
            time.sleep(0.1)
            for p in list(procs):
                if isinstance(p, subprocess.Popen):
                    p.poll()
            # reap re-parented children
            try:
                while os.waitpid(-1, os.WNOHANG)[0] > 0:
                    pass
            except ChildProcessError:
                pass
    finally:
        load.stop()
    return times, load.ok, load.failed


def fmt(times):
    ms = sorted(t * 1000 for t in times)
    p = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]
    return "%.1f" % statistics.median(ms), "%.1f–%.1f" % (p(0.1), p(0.9)), "%.1f" % ms[-1]


def main():
    import ctypes
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    tmp = tempfile.mkdtemp(prefix="sdfd-bench-handoff-")
    rows = []
    cleanup = []
    try:
        flags = subprocess.check_output(["pkg-config", "--cflags", "--libs", "sdfd"], text=True).split()
        libdir = subprocess.check_output(["pkg-config", "--variable=libdir", "sdfd"], text=True).strip()
        exe = os.path.join(tmp, "daemon")
        subprocess.check_call(["cc", "-O2", "-pthread", "-o", exe, os.path.join(ROOT, "tests/handoff/daemon.c")]
                              + flags + ["-Wl,-rpath," + libdir])
        activate = os.environ.get("SDFD_ACTIVATE") or os.path.join(ROOT, "target/release/sdfd-activate")
        log = open(os.path.join(tmp, "log"), "w")

        def daemon_start(ctl):
            def start():
                p = subprocess.Popen([exe, ctl, "--port-web", str(start.ports[0]), "--port-aux", str(start.ports[1])],
                                     stdout=log, stderr=log)
                cleanup.append(p)
                return p
            start.ports = (free_port(), free_port())
            return start

        def current(ctl):
            with open(os.path.join(ctl, "pid")) as f:
                return int(f.read().split()[0])

        for name, how in (("(a) offer/receive (sdfd_handoff_offer + sdfd_handoff_receive)", "offer"),
                          ("(b) re-exec (sdfd_handoff_spawn)", "spawn")):
            ctl = tempfile.mkdtemp(dir=tmp)
            start = daemon_start(ctl)

            def trigger(ctl, how=how):
                old = current(ctl)
                if how == "offer":
                    os.kill(old, signal.SIGUSR1)
                    p = subprocess.Popen([exe, ctl, "--receive", os.path.join(ctl, "handoff.sock")],
                                         stdout=log, stderr=log)
                    cleanup.append(p)
                    return p
                os.kill(old, signal.SIGUSR2)
                return None
            times, ok, failed = run_method(name, start, trigger, ctl)
            rows.append((name, times, ok, failed))
            for p in cleanup:
                p.kill()
            try:
                os.kill(current(ctl), signal.SIGKILL)
            except OSError:
                pass

        # (c) the same daemon under sdfd-activate, replaced by SIGHUP
        ctl = tempfile.mkdtemp(dir=tmp)
        ports = (free_port(), free_port())

        def start_sup():
            p = subprocess.Popen([activate, "-q", "-l", "127.0.0.1:%d" % ports[0], "-l", "127.0.0.1:%d" % ports[1],
                                  "--fdname=web:aux", "--now", "--restart", "--wait-ready", exe, ctl],
                                 stdout=log, stderr=log)
            cleanup.append(p)
            start_sup.proc = p
            return p
        start_sup.ports = ports

        def hup(ctl):
            os.kill(start_sup.proc.pid, signal.SIGHUP)
            return None
        name = "(c) sdfd-activate --restart --wait-ready, SIGHUP"
        times, ok, failed = run_method(name, start_sup, hup, ctl)
        rows.append((name, times, ok, failed))
        start_sup.proc.terminate()
        start_sup.proc.wait(15)
    finally:
        for p in cleanup:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    cc = subprocess.run(["cc", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    distro = platform.freedesktop_os_release().get("PRETTY_NAME", "?") if hasattr(platform, "freedesktop_os_release") else "?"
    libc_v = " ".join(platform.libc_ver())
    print("## Hand-off without a supervisor (bench/handoff.py)\n")
    print("The C daemon tests/handoff/daemon.c (two TCP listeners and a memfd, one thread accepting) replaced %d times "
          "in a row by each method, under the same load: 4 loopback client threads, one request per connection, "
          "2 ms pause between requests. Time is from the trigger (the signal; for (a) also starting the successor "
          "process) to the first reply from the new process; failed = requests that got no reply "
          "(connection refused or reset) during all %d hand-offs. One run, wall time: noisy.\n" % (ROUNDS, ROUNDS))
    print("Measured on: %s VM, %d cores (shared), %s, %s %s, %s, %s, %s.\n" % (
        platform.machine(), os.cpu_count(), distro, platform.system(), platform.release(), libc_v, rustc, cc))
    print("| method | median ms | p10–p90 ms | max ms | requests served | failed |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, times, ok, failed in rows:
        med, spread, mx = fmt(times)
        print("| %s | %s | %s | %s | %d | %d |" % (name, med, spread, mx, ok, failed))
    if all(failed == 0 for _, _, _, failed in rows):
        print("\nNo method lost a request: all three keep the listening sockets open across the replacement (the "
              "kernel queues connections meanwhile). The time to the new process's first reply is mostly process "
              "start-up (fork, exec, dynamic loading) in every case; differences between the rows are within the "
              "noise of one run on a shared VM.")


if __name__ == "__main__":
    main()
