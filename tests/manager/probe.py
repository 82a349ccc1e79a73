"""probe.py IMPL ACTION...: tests/manager/probe.c's actions through a Python binding.

IMPL "systemd": python-systemd's systemd.daemon (Debian's python3-systemd,
the reference); "sdfd": sdfd.daemon, its drop-in. Same report lines as
probe.c for the actions both bindings have (listen, notify, store, child,
sleep, pause, exit); python-systemd has no barrier or watchdog function.
"""
import os
import sys
import time

impl = sys.argv[1]
if impl == "systemd":
    from systemd import daemon
else:
    from sdfd import daemon

path = os.environ["PROBE_OUT"]
try:
    invocation = int(open(path + ".n").read()) + 1
except (OSError, ValueError):
    invocation = 1
with open(path + ".n", "w") as f:
    f.write("%d\n" % invocation)
out = open(path, "a", buffering=1)


def report(line):
    out.write("%d %s\n" % (invocation, line))


def r(v):
    return int(v) if isinstance(v, (bool, int)) else v


for a in sys.argv[2:]:
    head, eq, rest = a.partition("=")
    if eq and head.isdigit():
        if int(head) != invocation:
            continue
        a = rest
    act, _, arg = a.partition(":")
    if act == "listen":
        fds = daemon.listen_fds_with_names(False)
        report("listen n=%d names=%s" % (len(fds), ",".join(fds[fd] for fd in sorted(fds))))
        for fd in sorted(fds):
            report("fd %d name=%s is_socket=%d unix=%d inet=%d" % (fd, fds[fd], daemon.is_socket(fd),
                                                                  daemon.is_socket_unix(fd), daemon.is_socket_inet(fd)))
            if not daemon.is_socket(fd):
                report("content %s=%s" % (fds[fd], os.pread(fd, 64, 0).decode()))
    elif act == "notify":
        report("notify %s r=%d" % (arg, r(daemon.notify(arg.replace("|", "\n")))))
    elif act == "store":
        fd = os.memfd_create(arg)
        os.write(fd, arg.encode())
        report("store %s r=%d" % (arg, r(daemon.notify("FDSTORE=1\nFDNAME=" + arg, fds=[fd]))))
        os.close(fd)
    elif act == "child":
        rd, wr = os.pipe()
        pid = os.fork()
        if pid == 0:
            # No barrier in python-systemd: the child lives on for a while,
            # so that the manager can still find its unit by its pid.
            os.write(wr, b"%d" % r(daemon.notify(arg.replace("|", "\n"))))
            time.sleep(0.5)
            os._exit(0)
        os.close(wr)
        res = os.read(rd, 16).decode()
        os.waitpid(pid, 0)
        report("child %s r=%s barrier=unsupported" % (arg, res))
    elif act == "sleep":
        time.sleep(int(arg) / 1000)
    elif act == "pause":
        report("pause")
        while True:
            time.sleep(3600)
    elif act == "exit":
        report("exit " + arg)
        sys.exit(int(arg))
    else:
        report("unsupported " + act)
