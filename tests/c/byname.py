#!/usr/bin/env python3
"""sdfd_activate_socket() for real: tests/c/byname.c, built against the
installed sdfd through pkg-config, is started by systemd-socket-activate with
several --fdname's (one name on two sockets) and asks for sockets by name:
the fds of a name in order, EALREADY on a second call, ENOENT, ESRCH without
activation, EINVAL for NULL arguments, the activation's own errors (checked
against sdfd's sd_listen_fds_with_names, itself checked against libsystemd
by difftest), no write on error, environment untouched. The sockets it
returns then answer real connections.

Ends with "N passed, N failed".
"""
import errno
import os
import re
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from sdfdtest import ACTIVATE, Activated, check, free_port, recv_line, run_scenarios, wait_listening  # noqa: E402
from sdfdtest import build as build_program  # noqa: E402
from sdfdtest import expect_line as line  # noqa: E402


def build(tmp):
    return build_program(os.path.join(HERE, "byname.c"), tmp)


def ask(family, addr):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(addr)
        return recv_line(s, 256).decode()


def run_plain(exe, args, env_drop=("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"), extra=None):
    env = {k: v for k, v in os.environ.items() if k not in env_drop}
    env.update(extra or {})
    return subprocess.run([exe] + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=10).stdout


def scenario_activated(exe, tmp):
    """tcp4 + tcp6 named 'web', a unix socket named 'ctl': by name, twice, unknown names."""
    p4, p6 = free_port(), free_port(socket.AF_INET6, "::1")
    path = os.path.join(tmp, "ctl.sock")
    d = Activated(["-l", "127.0.0.1:%d" % p4, "-l", "[::1]:%d" % p6, "-l", path, "--fdname=web:web:ctl"], exe,
                  ["--null", "--serve", "web", "web", "web", "ctl", "nope", "Web", "ctl"])
    try:
        r4 = ask(socket.AF_INET, ("127.0.0.1", p4))   # starts the daemon
        r6 = ask(socket.AF_INET6, ("::1", p6))
    except OSError as e:
        r4 = r6 = "error: %s" % e
    out = d.finish()
    E = errno
    line(out, r"^null name=%d sockets=%d count=%d$" % ((-E.EINVAL,) * 3), "NULL name/sockets/count: -EINVAL each")
    line(out, r"^q=web rc=0 count=2 fds=3,4 cloexec=1,1 kinds=inet4/stream/listening,inet6/stream/listening$",
         "'web': both fds (3 tcp4, 4 tcp6) in order, FD_CLOEXEC set, not dup'ed")
    line(out, r"^q=web rc=%d untouched=1$" % -E.EALREADY, "'web' again: -EALREADY, nothing written")
    line(out, r"^q=ctl rc=0 count=1 fds=5 cloexec=1 kinds=unix/stream/listening$", "'ctl': fd 5, the unix socket")
    line(out, r"^q=ctl rc=%d untouched=1$" % -E.EALREADY, "'ctl' again: -EALREADY")
    line(out, r"^q=nope rc=%d untouched=1$" % -E.ENOENT, "unknown name: -ENOENT, nothing written")
    line(out, r"^q=Web rc=%d untouched=1$" % -E.ENOENT, "names are case-sensitive: -ENOENT")
    line(out, r"^env LISTEN_PID=set listen=3$", "environment untouched; sd_listen_fds(0) still 3 afterwards")
    line(out, r"^with_names=3$", "sd_listen_fds_with_names still 3 afterwards")
    line(out, r"^served web fd=3$", "fd 3 from the array accepted a tcp4 connection")
    line(out, r"^served web fd=4$", "fd 4 from the array accepted a tcp6 connection")
    check("tcp4 client answered through 'web'", r4 == "web fd=3\n", r4)
    check("tcp6 client answered through 'web'", r6 == "web fd=4\n", r6)


def scenario_unnamed(exe, tmp):
    """No --fdname: every fd is named 'unknown', as sd_listen_fds_with_names says."""
    p4 = free_port()
    path = os.path.join(tmp, "u.sock")
    d = Activated(["-l", "127.0.0.1:%d" % p4, "-l", path], exe, ["unknown", "unknown"])
    try:
        # only to start the daemon, which exits without accepting (a reset
        # is fine)
        with socket.create_connection(("127.0.0.1", p4), timeout=5):
            pass
    except OSError:
        pass
    out = d.finish()
    line(out, r"^q=unknown rc=0 count=2 fds=3,4 cloexec=1,1 kinds=inet4/stream/listening,unix/stream/listening$",
         "'unknown' is every fd when LISTEN_FDNAMES is absent")
    line(out, r"^q=unknown rc=%d untouched=1$" % -errno.EALREADY, "'unknown' again: -EALREADY")


def scenario_not_activated(exe, tmp):
    """No LISTEN_PID, a foreign LISTEN_PID: -ESRCH."""
    out = run_plain(exe, ["web", "web"])
    check("no LISTEN_* at all: -ESRCH twice, nothing written",
          out.count("rc=%d untouched=1" % -errno.ESRCH) == 2, out)
    line(out, r"^env LISTEN_PID=unset listen=0$", "sd_listen_fds(0) agrees: 0")
    out = run_plain(exe, ["web"], extra={"LISTEN_PID": "1", "LISTEN_FDS": "1", "LISTEN_FDNAMES": "web"})
    line(out, r"^q=web rc=%d untouched=1$" % -errno.ESRCH, "LISTEN_PID of another process: -ESRCH")


def scenario_activation_errors(exe, tmp):
    """The activation's own errors are sd_listen_fds_with_names(0)'s."""
    cases = [
        ("LISTEN_FDS=abc", "bad LISTEN_FDS"),
        ("LISTEN_FDS=0", "LISTEN_FDS=0"),
        ("LISTEN_FDS=-1", "negative LISTEN_FDS"),
        ("LISTEN_FDS=99999999999", "overflowing LISTEN_FDS"),
        ("LISTEN_FDS=2147483647", "LISTEN_FDS past the fd range"),
    ]
    for kv, what in cases:
        out = run_plain(exe, ["--self", kv, "x"])
        m = re.search(r"^q=x rc=(-?\d+) untouched=1$", out, re.M)
        ref = re.search(r"^with_names=(-?\d+)$", out, re.M)
        check("%s: the same error as sd_listen_fds_with_names (%s)" % (what, m and m.group(1)),
              bool(m and ref) and m.group(1) == ref.group(1) and int(m.group(1)) < 0, out)
    # a count mismatch between LISTEN_FDNAMES and LISTEN_FDS (fd 3 is open)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTEN_")}
    env["LISTEN_FDS"] = "1"
    out = subprocess.run(["bash", "-c", 'exec 3</dev/null; exec "$0" "$@"', exe, "--self", "LISTEN_FDNAMES=a:b", "x"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=10).stdout
    m = re.search(r"^q=x rc=(-?\d+) untouched=1$", out, re.M)
    ref = re.search(r"^with_names=(-?\d+)$", out, re.M)
    check("LISTEN_FDNAMES count mismatch: the same error as sd_listen_fds_with_names",
          bool(m and ref) and m.group(1) == ref.group(1) == str(-errno.EINVAL), out)


def scenario_example(exe, tmp):
    """examples/launchd/hello-launchd.c, the README's portable example, under systemd."""
    flags = subprocess.check_output(["pkg-config", "--cflags", "--libs", "sdfd"], text=True).split()
    libdir = subprocess.check_output(["pkg-config", "--variable=libdir", "sdfd"], text=True).strip()
    hello = os.path.join(tmp, "hello-launchd")
    src = os.path.join(HERE, "..", "..", "examples", "launchd", "hello-launchd.c")
    subprocess.check_call(["cc", "-O1", "-Wall", "-Wextra", "-Werror", "-o", hello, src] + flags + ["-Wl,-rpath," + libdir])
    p4, p6 = free_port(), free_port(socket.AF_INET6, "::1")
    p = subprocess.Popen([ACTIVATE, "-l", "127.0.0.1:%d" % p4, "-l", "[::1]:%d" % p6, "--fdname=Listeners:Listeners", hello],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(p.pid, 2)
    try:
        r = [ask(socket.AF_INET, ("127.0.0.1", p4)), ask(socket.AF_INET6, ("::1", p6)), ask(socket.AF_INET, ("127.0.0.1", p4))]
    except OSError as e:
        r = ["error: %s" % e]
    p.terminate()
    p.wait(5)
    check("example serves both sockets named Listeners",
          r == ["hello from socket 1 of 2\n", "hello from socket 2 of 2\n", "hello from socket 1 of 2\n"], repr(r))
    out = run_plain(hello, [])
    check("example without activation reports ESRCH", "No such process" in out, out)


def main():
    return run_scenarios("byname", build, (scenario_activated, scenario_unnamed, scenario_not_activated, scenario_activation_errors,
                         scenario_example))


if __name__ == "__main__":
    sys.exit(main())
