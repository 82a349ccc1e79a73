"""What the C test scripts (activation.py, byname.py) share: numbered checks
with one closing "N passed, N failed" line, free loopback ports, and building
a test program against the installed sdfd through pkg-config."""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ACTIVATE = "/usr/bin/systemd-socket-activate"
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print("%s - %s%s" % ("ok  " if ok else "FAIL", name, "" if ok or not detail else "\n       " + detail))


def expect_line(out, pattern, name):
    check(name, re.search(pattern, out, re.M) is not None, "no line matching %r in:\n%s" % (pattern, out))


def free_port(family=socket.AF_INET, host="127.0.0.1", kind=socket.SOCK_STREAM):
    with socket.socket(family, kind) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def build(tmp, name):
    """cc tests/c/NAME.c $(pkg-config --cflags --libs sdfd), rpath to its libdir."""
    flags = subprocess.check_output(["pkg-config", "--cflags", "--libs", "sdfd"], text=True).split()
    libdir = subprocess.check_output(["pkg-config", "--variable=libdir", "sdfd"], text=True).strip()
    exe = os.path.join(tmp, name)
    # tests/c/sanitize.sh builds them with sanitizers (SDFD_TEST_CFLAGS)
    extra = os.environ.get("SDFD_TEST_CFLAGS", "").split()
    subprocess.check_call(["cc", "-O1", "-pthread", "-Wall", "-Wextra", "-Werror", "-o", exe,
                           os.path.join(HERE, name + ".c")] + extra + flags + ["-Wl,-rpath," + libdir])
    return exe


def summary():
    """Print the closing count line; the exit status."""
    passed = sum(results)
    failed = len(results) - passed
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


class Activated:
    """systemd-socket-activate ARGS EXE EXTRA..., output captured (EXTRA: a
    list of arguments, or one value)."""

    def __init__(self, args, exe, requests):
        self.log = tempfile.TemporaryFile()
        # tests/c/sanitize.sh runs the daemon under valgrind (SDFD_TEST_WRAPPER)
        wrapper = os.environ.get("SDFD_TEST_WRAPPER", "").split()
        extra = requests if isinstance(requests, list) else [str(requests)]
        self.p = subprocess.Popen([ACTIVATE] + args + wrapper + [exe] + extra, stdin=subprocess.DEVNULL,
                                  stdout=self.log, stderr=self.log)
        time.sleep(0.3)  # let it bind

    def output(self):
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def finish(self, timeout=10):
        """Wait for it to exit by itself (killed after `timeout` s); its output."""
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        return self.output()

    def stop(self):
        """Terminate it if still running; its output."""
        if self.p.poll() is None:
            self.p.terminate()
        return self.finish(5)


def run_scenarios(name, build_exe, scenarios):
    """Build the program in a temporary directory, run every scenario
    (sc(exe, tmp)) — a scenario that raises is a failure, never a skip — and
    end with the count line. Returns the exit status."""
    if not os.path.exists(ACTIVATE):
        print("no %s (Debian package systemd)" % ACTIVATE)
        print("0 passed, 1 failed")
        return 1
    tmp = tempfile.mkdtemp(prefix="sdfd-%s-" % name)
    try:
        exe = build_exe(tmp)
        for sc in scenarios:
            print("# %s: %s" % (sc.__name__, (sc.__doc__ or "").strip()))
            try:
                sc(exe, tmp)
            except Exception as e:  # a broken scenario is a failure, never a skip
                check(sc.__name__, False, repr(e))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()
