"""The one helper module of the Python test suites (tests/c, tests/launcher,
tests/windows; python/tests takes free_port from it).

Every suite prints its checks in one format and ends with one count line:

    ok   1 - what was checked
    FAIL 2 - what was checked
           detail, indented
    1 passed, 1 failed

Import it with

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    import sdfdtest as t

It also runs as a program for the bash suites (tests/lib/sdfdtest.sh):

    python3 sdfdtest.py free-port [tcp|udp|tcp6|udp6]
    python3 sdfdtest.py receive-notify ADDRESS COUNT OUTFILE [TIMEOUT]
    python3 sdfdtest.py wait-listening PID COUNT [TIMEOUT]
"""
import array
import atexit
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

LIB = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(LIB))
ACTIVATE = "/usr/bin/systemd-socket-activate"

passed = 0
failed = 0


def check(name, ok, detail="", quiet=False):
    """One numbered check; `detail` is printed (indented) when it fails.
    quiet=True prints only failures (suites with hundreds of scenarios).
    Returns `ok` as a bool."""
    global passed, failed
    ok = bool(ok)
    if ok:
        passed += 1
    else:
        failed += 1
    n = passed + failed
    if ok and not quiet:
        print("ok   %d - %s" % (n, name))
    elif not ok:
        print("FAIL %d - %s" % (n, name))
        if detail:
            print("       " + str(detail).rstrip("\n").replace("\n", "\n       "))
    sys.stdout.flush()
    return ok


def expect_line(out, pattern, name):
    """A check that `out` has a line matching the regular expression."""
    return check(name, re.search(pattern, out, re.M) is not None, "no line matching %r in:\n%s" % (pattern, out))


def add(p, f):
    """Add a sub-suite's counts (its own lines already printed)."""
    global passed, failed
    passed += p
    failed += f


def summary():
    """Print the closing count line; returns the exit status."""
    print("%d passed, %d failed" % (passed, failed))
    sys.stdout.flush()
    return 1 if failed or not passed else 0


def finish():
    """summary(), then exit with its status."""
    sys.exit(summary())


def setup_failed(what):
    """A suite that cannot run is a failure, never a skip."""
    check("set-up: " + what, False)
    finish()


def free_port(family=socket.AF_INET, host=None, kind=socket.SOCK_STREAM):
    """A loopback port free at the time of the call (the kernel's choice)."""
    return free_ports(1, family, host, kind)[0]


def free_ports(n, family=socket.AF_INET, host=None, kind=socket.SOCK_STREAM):
    """`n` different loopback ports, free at the time of the call. Each is
    held bound until all are chosen: free_port() called twice can return the
    same port, as the first is released before the kernel picks the second."""
    if host is None:
        host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(family, kind)
            socks.append(s)
            s.bind((host, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def port_free(port, host="127.0.0.1"):
    """Nothing listens on `port`. Bound with SO_REUSEADDR, as the launchers
    bind: connections of an earlier run, in TIME_WAIT, do not make it busy."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def alive(pid):
    """Whether process `pid` exists and is not a zombie (its state in
    /proc/PID/stat, read after the last ")" so a command name cannot fool it)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
        return st[st.rindex(")") + 2] != "Z"
    except OSError:
        return False


def ready_sockets(pid):
    """How many of process `pid`'s sockets are ready for clients: TCP and
    Unix stream/seqpacket sockets in the listening state, UDP and Unix
    datagram sockets bound. Read from /proc (the sockets of this network
    namespace), so nothing connects: a launcher is not triggered by asking."""
    inodes = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    except OSError:
        return 0
    ready = 0
    for table in ("tcp", "tcp6", "udp", "udp6", "unix"):
        try:
            with open("/proc/net/" + table) as f:
                rows = [line.split() for line in f.readlines()[1:]]
        except OSError:
            continue
        for r in rows:
            if table == "unix":  # Num RefCount Protocol Flags Type St Inode [Path]
                if len(r) >= 7 and r[6] in inodes and (int(r[3], 16) & 0x10000 or r[4] == "0002"):
                    ready += 1
            elif len(r) >= 10 and r[9] in inodes and (table.startswith("udp") or r[3] == "0A"):
                ready += 1
    return ready


def wait_listening(pid, count, timeout=10):
    """Wait until process `pid` has `count` sockets ready for clients
    (ready_sockets); False if it exits or `timeout` s pass first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready_sockets(pid) >= count:
            return True
        if not alive(pid):
            return False
        time.sleep(0.005)
    return False


def recv_all(sock, size=4096):
    """Everything the peer sends until it closes the connection."""
    data = b""
    while True:
        chunk = sock.recv(size)
        if not chunk:
            return data
        data += chunk


def recv_line(sock, size=4096):
    """What the peer sends up to and including its first newline (or until
    it closes the connection)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(size)
        if not chunk:
            break
        data += chunk
    return data


_tmpdirs = []


def _remove_tmpdirs():
    for d in _tmpdirs:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_remove_tmpdirs)


def tmpdir(name):
    """A fresh directory $TMPDIR/sdfd-NAME.XXXXXX, removed when the suite exits."""
    d = tempfile.mkdtemp(prefix="sdfd-%s." % name)
    _tmpdirs.append(d)
    return d


def pkg_config(*args):
    return subprocess.check_output(["pkg-config"] + list(args), text=True).strip()


def build(src, out_dir, name=None, extra=()):
    """cc SRC $(pkg-config --cflags --libs sdfd), rpath to the installed
    libdir: a program built against the installed sdfd as a user builds it.
    SDFD_TEST_CFLAGS adds flags (tests/c/sanitize.sh: sanitizers)."""
    flags = pkg_config("--cflags", "--libs", "sdfd").split()
    libdir = pkg_config("--variable=libdir", "sdfd")
    exe = os.path.join(out_dir, name or os.path.splitext(os.path.basename(src))[0])
    env_extra = os.environ.get("SDFD_TEST_CFLAGS", "").split()
    subprocess.check_call(["cc", "-O1", "-pthread", "-Wall", "-Wextra", "-Werror", "-o", exe, src] + list(extra)
                          + env_extra + flags + ["-Wl,-rpath," + libdir])
    return exe


def fds_of(ancdata):
    """The descriptors of the SCM_RIGHTS parts of recvmsg's ancillary data."""
    fds = []
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            a = array.array("i")
            a.frombytes(data[: len(data) - len(data) % a.itemsize])
            fds += list(a)
    return fds


def pid_of(ancdata):
    """The sender's pid from SCM_CREDENTIALS, or -1."""
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            return int.from_bytes(data[:4], sys.byteorder)
    return -1


class NotifyReceiver:
    """A datagram socket in the role of the service manager's NOTIFY_SOCKET:
    bound to ADDRESS (a path, or "@name" for the abstract namespace), with
    SO_PASSCRED. recv() returns (message bytes, [fds], sender pid)."""

    def __init__(self, address, timeout=5):
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)
        self.sock.settimeout(timeout)

    def recv(self):
        msg, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(64 * 4) + socket.CMSG_SPACE(12))
        return msg, fds_of(anc), pid_of(anc)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Activated:
    """systemd-socket-activate ARGS [SDFD_TEST_WRAPPER] EXE EXTRA..., output
    captured (EXTRA: a list of arguments, or one value)."""

    def __init__(self, args, exe, requests):
        self.log = tempfile.TemporaryFile()
        # tests/c/sanitize.sh runs the daemon under valgrind (SDFD_TEST_WRAPPER)
        wrapper = os.environ.get("SDFD_TEST_WRAPPER", "").split()
        extra = requests if isinstance(requests, list) else [str(requests)]
        self.p = subprocess.Popen([ACTIVATE] + args + wrapper + [exe] + extra, stdin=subprocess.DEVNULL,
                                  stdout=self.log, stderr=self.log)
        # clients may connect once every -l address is listening
        wait_listening(self.p.pid, sum(1 for a in args if a in ("-l", "--listen") or a.startswith("--listen=")))

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
        check("%s exists (Debian package systemd)" % ACTIVATE, False)
        return summary()
    tmp = tmpdir(name)
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


def run_groups(groups, procs, cleanup=None):
    """Run each test group (a function); one that raises is a failed check
    and the others still run. Then kill what is left of `procs` (Popen
    objects), call cleanup() if given, and return summary()'s status."""
    try:
        for g in groups:
            try:
                g()
            except Exception as e:  # a crash in one group fails it, the rest still runs
                check("%s raised" % g.__name__, False, repr(e))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if cleanup is not None:
            cleanup()
    return summary()


def _main(argv):
    if argv[:1] == ["free-port"]:
        kind = argv[1] if len(argv) > 1 else "tcp"
        fam = socket.AF_INET6 if kind.endswith("6") else socket.AF_INET
        typ = socket.SOCK_DGRAM if kind.startswith("udp") else socket.SOCK_STREAM
        print(free_port(fam, kind=typ))
        return 0
    if argv[:1] == ["receive-notify"] and len(argv) >= 4:
        # One line per message: its text (repr) and what each fd is.
        address, count, outfile = argv[1], int(argv[2]), argv[3]
        timeout = float(argv[4]) if len(argv) > 4 else 15
        with NotifyReceiver(address, timeout) as rx, open(outfile, "w") as out:
            try:
                for _ in range(count):
                    msg, fds, _pid = rx.recv()
                    kinds = []
                    for fd in fds:
                        with socket.socket(fileno=fd) as s:
                            listening = s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
                            kinds.append("listening-tcp" if listening and s.type == socket.SOCK_STREAM else "other")
                    out.write("%r fds=%s\n" % (msg.decode(), ",".join(kinds)))
            except socket.timeout:
                out.write("timeout\n")
        return 0
    if argv[:1] == ["wait-listening"] and len(argv) >= 3:
        return 0 if wait_listening(int(argv[1]), int(argv[2]), float(argv[3]) if len(argv) > 3 else 10) else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
