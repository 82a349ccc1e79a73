#!/usr/bin/env python3
"""The real systemd 252 manager (PID 1 of private namespaces, machine.py)
runs services built on libsystemd (the reference) and on sdfd, and the
outputs are compared.

Usage: manager.py BUILD ROOT, where BUILD holds bin/probe-libsystemd,
bin/probe-sdfd, bin/sdfd-activate, lib/libsdfd.so.0 and
shim/libsystemd.so.0 (tests/manager/run.sh builds them) and ROOT is the
source tree (Python and Node bindings, tests/manager/probe.*).

Each scenario boots one manager per implementation, in parallel; a probe
(probe.c, probe.py, probe.js: the same actions, the same report lines)
is the service. Compared: everything the probe was told (sd_listen_fds
count and names, sd_is_* of each fd, stored fds' contents, sd_notify,
sd_notify_barrier, sd_watchdog_enabled results) and everything the manager
shows (StatusText, ActiveState, NFileDescriptorStore, NRestarts ...), and
for the reference a few facts that must hold, so that "equal" cannot mean
"both broken". Ends with "N passed, N failed".
"""
import concurrent.futures
import glob
import os
import re
import shutil
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import sdfdtest  # noqa: E402
from machine import BootError, Machine  # noqa: E402

BUILD, ROOT = sys.argv[1], sys.argv[2]
IN = "/run/sdfd"


def check(ok, what, detail=""):
    sdfdtest.check(what, ok, "\n".join(str(detail).splitlines()[-40:]))


# How each implementation runs the probe: command prefix and environment.
LIBENV = "SDFD_LIBRARY=%s/lib/libsdfd.so.0" % IN
IMPLS = {
    "libsystemd": ("%s/bin/probe-libsystemd" % IN, ""),
    "sdfd": ("%s/bin/probe-sdfd" % IN, ""),
    "python-systemd": ("/usr/bin/python3 %s/root/tests/manager/probe.py systemd" % IN, ""),
    "python-sdfd": ("/usr/bin/python3 %s/root/tests/manager/probe.py sdfd" % IN,
                    "PYTHONPATH=%s/root/python %s PYTHONDONTWRITEBYTECODE=1" % (IN, LIBENV)),
    "node-sdfd": ("/usr/bin/node %s/root/tests/manager/probe.js" % IN,
                  "SDFD_NODE=%s/root/node/index.js %s" % (IN, LIBENV)),
}


def service(cmd_env, actions, out, extra=""):
    cmd, env = cmd_env
    return ("[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=%s %s\nEnvironment=PROBE_OUT=%s/out/%s %s\n"
            "StandardOutput=null\nStandardError=append:%s/out/%s.stderr\nLimitCORE=0\n%s"
            % (cmd, actions, IN, out, env, IN, out, extra))


def socket(listen, extra=""):
    return "[Unit]\nDefaultDependencies=no\n[Socket]\n%s\n%s" % (listen, extra)


def log(m, name, inv=None):
    lines = m.read_out(name).splitlines()
    return [line for line in lines if inv is None or line.startswith("%d " % inv)]


def wait_line(m, name, text, timeout=10):
    return m.wait_for(lambda: any(text in line for line in log(m, name)), timeout, "%r in %s's report" % (text, name))


def connect(m, port):
    m.run("bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/%d" % port)


def show(m, unit, *props):
    s = m.show(unit, *props)
    return ["%s %s=%s" % (unit, p, s.get(p, "?")) for p in props]


# ---------------------------------------------------------------------------
# Scenarios: units(impl) -> (units, wants); run(machine) -> transcript lines.

def notify_units(impl):
    c = IMPLS[impl]
    return {
        "web.socket": socket("ListenStream=127.0.0.1:8080\nListenStream=/run/web.sock\nFileDescriptorName=web",
                             "Service=svc.service\n"),
        "ctl.socket": socket("ListenDatagram=/run/ctl.sock\nFileDescriptorName=ctl", "Service=svc.service\n"),
        "svc.service": service(c, "listen watchdog notify:STATUS=starting notify:READY=1|STATUS=ready barrier "
                                  "sleep:100 pause", "svc",
                               "Type=notify\nSockets=web.socket ctl.socket\nNotifyAccess=main\n"),
        # NotifyAccess=main: the manager refuses the forked child's message;
        # NotifyAccess=all: it takes it.
        "main.service": service(c, "notify:READY=1|STATUS=main child:STATUS=from-child barrier sleep:300 pause",
                                "main", "Type=notify\nNotifyAccess=main\n"),
        "all.service": service(c, "notify:READY=1|STATUS=main child:STATUS=from-child barrier sleep:300 pause",
                               "all", "Type=notify\nNotifyAccess=all\n"),
    }, ["web.socket", "ctl.socket", "main.service", "all.service"]


def notify_run(m):
    connect(m, 8080)
    for name in ("svc", "main", "all"):
        wait_line(m, name, " pause")
    t = log(m, "svc") + log(m, "main") + log(m, "all")
    t += show(m, "svc.service", "ActiveState", "SubState", "StatusText", "NFileDescriptorStore")
    t += show(m, "main.service", "ActiveState", "StatusText") + show(m, "all.service", "ActiveState", "StatusText")
    return t


def notify_expect(t):
    # (t as comparable() makes it: names sorted, fd numbers dropped)
    return [("three fds named web, web, ctl", "1 listen n=3 names=ctl,web,web" in t),
            ("READY=1 made the service active, STATUS= its StatusText", "svc.service StatusText=ready" in t
             and "svc.service ActiveState=active" in t),
            ("NotifyAccess=main ignored the child's STATUS=", "main.service StatusText=main" in t),
            ("NotifyAccess=all took the child's STATUS=", "all.service StatusText=from-child" in t)]


def fdstore_units(impl):
    return {
        "fd.socket": socket("ListenStream=127.0.0.1:8081\nFileDescriptorName=web"),
        "fd.service": service(IMPLS[impl], "listen 1=store:x 1=store:y 2=notify:FDSTOREREMOVE=1|FDNAME=y barrier "
                                           "sleep:200 notify:READY=1 pause", "fd",
                              "Type=notify\nFileDescriptorStoreMax=4\n"),
    }, ["fd.socket"]


def fdstore_run(m):
    t = []
    # (Started directly: a connection left pending would start it again after the stop.)
    m.systemctl("start", "fd.service")
    wait_line(m, "fd", "1 pause")
    t += ["after start: " + x for x in show(m, "fd.service", "ActiveState", "NFileDescriptorStore")]
    m.systemctl("restart", "fd.service")
    wait_line(m, "fd", "2 pause")
    t += ["after restart: " + x for x in show(m, "fd.service", "ActiveState", "NFileDescriptorStore")]
    m.systemctl("stop", "fd.service")
    t += ["after stop: " + x for x in show(m, "fd.service", "ActiveState", "NFileDescriptorStore")]
    m.systemctl("start", "fd.service")
    wait_line(m, "fd", "3 pause")
    return log(m, "fd") + t


def fdstore_expect(t):
    return [("FDSTORE=1: two fds stored", "after start: fd.service NFileDescriptorStore=2" in t),
            ("they come back after restart, after the socket", "2 listen n=3 names=web,x,y" in t
             and "2 content x=x" in t and "2 content y=y" in t),
            ("FDSTOREREMOVE=1 dropped one", "after restart: fd.service NFileDescriptorStore=1" in t),
            ("stop emptied the store", "after stop: fd.service NFileDescriptorStore=0" in t
             and "3 listen n=1 names=web" in t)]


def watchdog_units(impl):
    return {"wd.service": service(IMPLS[impl], "watchdog notify:READY=1 1=ping:4:600 1=pause 2=notify:STATUS=again "
                                               "2=pause", "wd",
                                  "Type=notify\nWatchdogSec=2\nRestart=on-watchdog\nRestartSec=100ms\n")}, \
        ["wd.service"]


def watchdog_run(m):
    wait_line(m, "wd", "2 pause", timeout=15)
    return log(m, "wd") + show(m, "wd.service", "ActiveState", "NRestarts", "StatusText")


def watchdog_expect(t):
    # (Pings 600 ms apart against a 2 s watchdog: margin for a loaded machine.)
    return [("sd_watchdog_enabled: 2 s", "1 watchdog r=1 usec=2000000" in t),
            ("pings over 2.4 s kept it alive; the missed ones restarted it once",
             "1 ping 4 sent=4" in t and "wd.service NRestarts=1" in t and "wd.service StatusText=again" in t)]


def accept_units(impl):
    return {"acc.socket": socket("ListenStream=127.0.0.1:8082\nAccept=yes"),
            "acc@.service": service(IMPLS[impl], "listen serve", "acc")}, ["acc.socket"]


CLIENT = ("import socket,sys\ns=socket.create_connection(('127.0.0.1',8082))\ns.sendall(b'hello %s\\n')\n"
          "print(s.makefile().readline().strip())")


def accept_run(m):
    t = []
    for i in (1, 2):
        t.append("reply " + m.run("python3", "-c", CLIENT % i).stdout.strip())
        wait_line(m, "acc", "%d serve" % i)
    return t + log(m, "acc") + show(m, "acc.socket", "NAccepted", "NConnections")


def accept_expect(t):
    return [("each connection: an instance with one connected fd named connection",
             "1 listen n=1 names=connection" in t and "reply n=1 connected=1 got=hello 2" in t
             and "acc.socket NAccepted=2" in t)]


def launcher_units(impl):
    cmd = IMPLS[impl][0]
    acts = "listen 1=store:x notify:READY=1|STATUS=up barrier 1=exit:0 2=pause"
    return {
        "mgr.socket": socket("ListenStream=127.0.0.1:8083\nFileDescriptorName=web"),
        "mgr.service": service(IMPLS[impl], acts, "mgr",
                               "Type=notify\nFileDescriptorStoreMax=4\nRestart=always\nRestartSec=100ms\n"),
        "act.service": ("[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=%s/bin/sdfd-activate --notify --restart "
                        "--restart-delay=0.1 --now -q -l 127.0.0.1:8084 --fdname=web -E PROBE_OUT=%s/out/act %s %s\n"
                        "StandardOutput=null\nStandardError=append:%s/out/act.stderr\n" % (IN, IN, cmd, acts, IN)),
    }, ["mgr.socket", "act.service"]


def launcher_run(m):
    m.systemctl("start", "mgr.service")
    wait_line(m, "mgr", "2 pause")
    wait_line(m, "act", "2 pause")
    t = ["manager: " + x for x in log(m, "mgr")] + ["sdfd-activate: " + x for x in log(m, "act")]
    t += show(m, "mgr.service", "StatusText", "NFileDescriptorStore")
    mine = [x.split(" ", 1)[1] for x in t if x.startswith("manager: ")]
    theirs = [x.split(" ", 1)[1] for x in t if x.startswith("sdfd-activate: ")]
    t.append("same report under both: %s" % (mine == theirs))
    if mine != theirs:
        t.append("manager: %r\nsdfd-activate: %r" % (mine, theirs))
    return t


def launcher_expect(t):
    return [("under the manager: the stored fd comes back after the restart", "manager: 2 listen n=2 names=web,x" in t),
            ("sdfd-activate: the same notify, barrier and fd-store answers as the manager",
             "same report under both: True" in t)]


def seccomp_units(impl):
    # systemd's own filter: @system-service without the calls libsystemd's
    # sd_listen_fds does not make; the default action kills (SIGSYS).
    return {"sc.socket": socket("ListenStream=127.0.0.1:8085\nListenStream=/run/sc.sock\nListenDatagram=/run/scd.sock\n"
                                "FileDescriptorName=sc"),
            "sc.service": service(IMPLS[impl], "listen notify:READY=1|STATUS=filtered pause", "sc",
                                  "Type=notify\nSystemCallFilter=@system-service\n"
                                  "SystemCallFilter=~poll ppoll close_range\n")}, ["sc.socket"]


def seccomp_run(m):
    m.systemctl("start", "sc.service", check=False)
    m.wait_for(lambda: m.show("sc.service", "ActiveState")["ActiveState"] in ("active", "failed"), 10,
               "sc.service active or failed")
    return log(m, "sc") + show(m, "sc.service", "ActiveState", "Result", "StatusText")


def seccomp_expect(t):
    return [("three fds under SystemCallFilter=@system-service minus poll, ppoll, close_range",
             "1 listen n=3 names=sc,sc,sc" in t and "sc.service StatusText=filtered" in t)]


HELLO_CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\nhello; libsystemd of fcgiwrap: %s\\n' \\
  "$(grep -o '[^ ]*libsystemd.so.0' /proc/$PPID/maps | head -n 1)"
"""


def shim_units(impl):
    env = "Environment=LD_LIBRARY_PATH=%s/shim\n" % IN if impl == "shim" else ""
    return {"fcgi.socket": socket("ListenStream=/run/fcgi.sock"),
            "fcgi.service": "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/usr/sbin/fcgiwrap\n%s"
                            "StandardOutput=null\nStandardError=append:%s/out/fcgi.stderr\n" % (env, IN)}, \
        ["fcgi.socket"]


def shim_run(m):
    with open(m.path("hello.cgi"), "w") as f:
        f.write(HELLO_CGI)
    os.chmod(m.path("hello.cgi"), 0o755)
    r = m.run("env", "SCRIPT_FILENAME=%s/hello.cgi" % IN, "REQUEST_METHOD=GET", "QUERY_STRING=",
              "cgi-fcgi", "-bind", "-connect", "/run/fcgi.sock")
    body = r.stdout.replace("\r", "").strip().splitlines()
    lib = body[-1].rsplit(" ", 1)[-1] if body else ""
    t = ["reply " + x.replace(lib, "LIB") for x in body] + ["lib " + lib]
    return t + show(m, "fcgi.service", "ActiveState", "SubState")


def shim_expect_ref(t):
    return [("Debian's fcgiwrap serves a request under the manager on libsystemd",
             "reply hello; libsystemd of fcgiwrap: LIB" in t and any("/libsystemd.so.0" in x and "/run/sdfd" not in x
                                                                    for x in t if x.startswith("lib ")))]


SCENARIOS = [
    # name, units, run, reference impl, other impls, expectations on the reference
    ("notify", notify_units, notify_run, "libsystemd", ["sdfd", "node-sdfd"], notify_expect),
    ("notify-python", notify_units, notify_run, "python-systemd", ["python-sdfd"], notify_expect),
    ("fdstore", fdstore_units, fdstore_run, "libsystemd", ["sdfd", "node-sdfd"], fdstore_expect),
    ("fdstore-python", fdstore_units, fdstore_run, "python-systemd", ["python-sdfd"], fdstore_expect),
    ("watchdog", watchdog_units, watchdog_run, "libsystemd", ["sdfd", "node-sdfd"], watchdog_expect),
    ("accept", accept_units, accept_run, "libsystemd", ["sdfd"], accept_expect),
    ("launcher", launcher_units, launcher_run, "libsystemd", ["sdfd"], launcher_expect),
    ("seccomp", seccomp_units, seccomp_run, "libsystemd", ["sdfd"], seccomp_expect),
    ("shim", shim_units, shim_run, "libsystemd", ["shim"], shim_expect_ref),
]


def comparable(lines, impl, ref):
    """What two implementations must agree on. The manager passes the fds of
    several socket units in no fixed order: names are sorted and each fd's
    line keeps its name but not its number. A binding's probe reports fewer
    socket details than probe.c (no SO_TYPE/SO_ACCEPTCONN)."""
    out = []
    for line in lines:
        if impl.startswith(("node", "python")) or ref.startswith(("node", "python")):
            line = re.sub(r" type=\d+ listening=\d+", "", line)
        m = re.match(r"(\d+ listen n=\d+ names=)(.*)", line)
        if m:
            line = m.group(1) + ",".join(sorted(m.group(2).split(",")))
        line = re.sub(r"^(\d+) fd \d+ ", r"\1 fd ", line)
        out.append(line)
    return _sort_fd_runs(out)


def _sort_fd_runs(lines):
    """Each run of consecutive fd/content lines, sorted."""
    res, run = [], []
    for line in lines + [None]:
        if line is not None and re.match(r"^\d+ (fd|content) ", line):
            run.append(line)
            continue
        res += sorted(run)
        run = []
        if line is not None:
            res.append(line)
    return res


def setup(impl, m):
    os.makedirs(m.path("bin"))
    for f in ("probe-libsystemd", "probe-sdfd", "sdfd-activate"):
        shutil.copy(os.path.join(BUILD, "bin", f), m.path("bin", f))
    shutil.copytree(os.path.join(BUILD, "lib"), m.path("lib"))
    shutil.copytree(os.path.join(BUILD, "shim"), m.path("shim"))


def one(scenario, impl):
    if STOPPING:
        return ("error", "interrupted", 0)
    name, units_fn, run_fn = scenario[:3]
    units, wants = units_fn(impl)
    m = Machine("%s-%s" % (name, impl), units, wants, root=ROOT)
    t0 = time.monotonic()
    try:
        setup(impl, m)
        try:
            m.boot()
        except BootError as e:
            return ("boot-failed", str(e), 0)
        try:
            t = run_fn(m)
        except Exception as e:  # noqa: BLE001 - reported as this run's failure
            extra = "".join("\n--- %s\n%s" % (os.path.basename(p), open(p, errors="replace").read()[-1500:])
                            for p in sorted(glob.glob(m.path("out", "*"))))
            try:
                status = m.systemctl("status", "--all", "-n", "0", check=False).stdout[-3000:]
            except Exception:  # noqa: BLE001
                status = ""
            return ("error", "%s: %s%s\n%s" % (type(e).__name__, e, extra, status), 0)
        return ("ok", t, time.monotonic() - t0)
    finally:
        m.shutdown()


STOPPING = False


def emergency_cleanup(signum, frame):
    """Interrupted: start no more machines, end every one (cgroup.kill) and
    remove what was made, sweeping until nothing is left (a machine being
    booted by another thread may appear meanwhile)."""
    global STOPPING
    STOPPING = True
    deadline = time.monotonic() + 10
    while True:
        left = [d for d in list(Machine.created) if os.path.exists(d)]
        if not left or time.monotonic() > deadline:
            break
        for d in left:
            if d.startswith("/sys/"):
                try:
                    with open(os.path.join(d, "cgroup.kill"), "w") as f:
                        f.write("1")
                except OSError:
                    pass
                for sub, _, _ in sorted(os.walk(d), key=lambda t: -t[0].count("/")):
                    try:
                        os.rmdir(sub)
                    except OSError:
                        pass
            else:
                shutil.rmtree(d, ignore_errors=True)
        time.sleep(0.1)
    print("interrupted (signal %d)%s" % (signum, "; left: " + " ".join(left) if left else ""))
    print("%d passed, %d failed" % (sdfdtest.passed, sdfdtest.failed + 1))
    sys.stdout.flush()
    os._exit(1)


def main():
    signal.signal(signal.SIGTERM, emergency_cleanup)
    signal.signal(signal.SIGINT, emergency_cleanup)
    t0 = time.monotonic()
    jobs = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=int(os.environ.get("SDFD_MANAGER_JOBS", "4"))) as ex:
        for sc in SCENARIOS:
            for impl in [sc[3]] + sc[4]:
                jobs[(sc[0], impl)] = ex.submit(one, sc, impl)
        results = {k: f.result() for k, f in jobs.items()}
    for sc in SCENARIOS:
        name, ref, others, expect = sc[0], sc[3], sc[4], sc[5]
        kind, ref_t, secs = results[(name, ref)]
        if kind == "boot-failed":
            check(False, "%s: the systemd manager did not boot" % name, ref_t)
            continue
        if kind != "ok":
            check(False, "%s with %s under the manager" % (name, ref), ref_t)
            continue
        for what, ok in expect(comparable(ref_t, ref, ref)):
            check(ok, "%s, reference %s: %s" % (name, ref, what), "\n".join(ref_t))
        for impl in others:
            kind, t, secs2 = results[(name, impl)]
            if kind != "ok":
                check(False, "%s with %s under the manager (%s)" % (name, impl, kind), t)
                continue
            a, b = comparable(ref_t, impl, ref), comparable(t, impl, ref)
            if name == "shim":
                a = [x for x in a if not x.startswith("lib ")]
                b = [x for x in b if not x.startswith("lib ")]
                libs = [x for x in t if x.startswith("lib ")]
                check(libs == ["lib %s/shim/libsystemd.so.0" % IN],
                      "shim: fcgiwrap ran on sdfd's libsystemd.so.0 shim", "\n".join(t))
            same = a == b
            diff = "\n".join("%s: %s\n%s: %s" % (ref, x, impl, y) for x, y in zip(a + [""] * len(b), b + [""] * len(a))
                             if x != y)
            check(same, "%s: %s gives the same answers and manager state as %s (%d lines)" % (name, impl, ref, len(a)),
                  diff)
    # Nothing left behind on the host.
    left = [d for d in Machine.created if os.path.exists(d)]
    check(not left, "nothing left on the host (cgroup directories, work directories)", "\n".join(left))
    print("%d boots in %.1f s" % (len(jobs), time.monotonic() - t0))
    return sdfdtest.summary()


if __name__ == "__main__":
    sys.exit(main())
