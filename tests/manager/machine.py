"""Boot Debian's /lib/systemd/systemd (252) as PID 1 of private namespaces.

A Machine is one boot: PID, mount, UTS, IPC, network and cgroup namespaces
(unshare), a fresh cgroup2 directory on the host with two children
(payload/ becomes the namespace's cgroup root, supervisor/ holds unshare),
tmpfs on /run, /tmp and /var/tmp, a private /dev, read-only sysfs with
cgroup2, read-only /proc/sys and /, the machine's work directory bound at
/run/sdfd, and units written to /run/systemd/system before systemd starts
(all with DefaultDependencies=no, pulled in by sdfd-test.target). The
console is a pty (under script(1)) so that systemd's log can be shown when
something fails. systemctl reaches the manager over /run/systemd/private
(nsenter); the manager is stopped with SIGRTMIN+4 (clean poweroff), SIGKILL
after a timeout, and the cgroup directories are removed: nothing is left on
the host (mounts and the network namespace end with their processes).
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time

SYSTEMD = os.environ.get("SDFD_TEST_SYSTEMD", "/lib/systemd/systemd")
INSIDE = "/run/sdfd"

INIT = r"""#!/bin/sh
# PID 1 of the new namespaces until it execs systemd.
W=$1
set -e
while [ ! -e "$W/go" ]; do sleep 0.01; done
mount -n -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/sdfd /run/systemd/system
mount -n --bind "$W" /run/sdfd
[ -n "$ROOT" ] && mount -n --bind "$ROOT" /run/sdfd/root
touch /run/sdfd/.console
[ -n "$CONSOLE" ] && mount -n --bind "$CONSOLE" /run/sdfd/.console
mount -n -t tmpfs tmpfs /tmp
mount -n -t tmpfs tmpfs /var/tmp
mount -n -t tmpfs -o mode=755,nosuid tmpfs /dev
mknod -m 666 /dev/null c 1 3; mknod -m 666 /dev/zero c 1 5; mknod -m 666 /dev/full c 1 7
mknod -m 666 /dev/random c 1 8; mknod -m 666 /dev/urandom c 1 9; mknod -m 666 /dev/tty c 5 0
mkdir /dev/pts /dev/shm
mount -n -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts /dev/pts
ln -s pts/ptmx /dev/ptmx
mount -n -t tmpfs -o mode=1777 tmpfs /dev/shm
touch /dev/console
[ -n "$CONSOLE" ] && mount -n --bind /run/sdfd/.console /dev/console
mount -n -t sysfs -o ro sysfs /sys
mount -n -t cgroup2 cgroup2 /sys/fs/cgroup
mount -n --bind /proc/sys /proc/sys && mount -n -o remount,bind,ro /proc/sys
if [ -e /proc/sysrq-trigger ]; then mount -n --bind /proc/sysrq-trigger /proc/sysrq-trigger && mount -n -o remount,bind,ro /proc/sysrq-trigger || true; fi
mount -n -o remount,bind,ro /
cp /run/sdfd/units/* /run/systemd/system/
touch /run/sdfd/booting
exec setpriv --bounding-set -sys_module,-sys_time,-sys_rawio,-sys_boot,-mac_admin,-mac_override,-syslog,-wake_alarm \
  env -i container=sdfd-test PATH=/usr/sbin:/usr/bin:/sbin:/bin "$SYSTEMD" --unit=sdfd-test.target --log-target=console
"""

TARGET = """[Unit]
Description=sdfd test target
DefaultDependencies=no
Wants={wants}
"""


def cgroup2_root():
    out = subprocess.run(["findmnt", "-n", "-t", "cgroup2", "-o", "TARGET"], capture_output=True, text=True).stdout
    roots = out.split()
    if not roots:
        raise RuntimeError("no cgroup2 hierarchy mounted (findmnt -t cgroup2)")
    return roots[0]


class BootError(RuntimeError):
    pass


class Machine:
    #: Every work and cgroup directory made, for the "nothing left" check.
    created = []

    def __init__(self, name, units, wants, root=None):
        self.name = name
        self.root = root
        self.units = units
        self.wants = wants
        self.dir = tempfile.mkdtemp(prefix=f"sdfd-manager-{name}.")
        Machine.created.append(self.dir)
        os.chmod(self.dir, 0o755)
        os.makedirs(os.path.join(self.dir, "units"))
        os.makedirs(os.path.join(self.dir, "out"))
        os.chmod(os.path.join(self.dir, "out"), 0o777)
        if root:
            os.makedirs(os.path.join(self.dir, "root"))
        self.cg = None
        self.script = None
        self.unshare_pid = None
        self.pid1 = None

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def inside(self, *p):
        return os.path.join(INSIDE, *p)

    def boot(self, timeout=15):
        for name, text in self.units.items():
            with open(self.path("units", name), "w") as f:
                f.write(text)
        with open(self.path("units", "sdfd-test.target"), "w") as f:
            f.write(TARGET.format(wants=" ".join(self.wants)))
        with open(self.path("init.sh"), "w") as f:
            f.write(INIT)
        os.chmod(self.path("init.sh"), 0o755)
        root = cgroup2_root()
        self.cg = os.path.join(root, "sdfd-manager-%d-%s" % (os.getpid(), self.name))
        Machine.created.append(self.cg)
        os.makedirs(os.path.join(self.cg, "payload"))
        os.makedirs(os.path.join(self.cg, "supervisor"))
        # (The pid is written once this shell has no other child: the one
        # child of that pid seen below must be the namespaces' PID 1.)
        inner = ("CONSOLE=$(tty 2>/dev/null || true); export CONSOLE; echo $$ > {cg}/payload/cgroup.procs; "
                 "echo $$ > {d}/unshare.pid; SYSTEMD={sd} ROOT={root} exec unshare --fork --pid --mount --mount-proc --uts "
                 "--ipc --net --cgroup --propagation private {d}/init.sh {d}").format(d=self.dir, cg=self.cg, sd=SYSTEMD, root=self.root or "")
        self.script = subprocess.Popen(["script", "-q", "-e", "-f", "-c", "sh -c '%s'" % inner, self.path("console.log")],
                                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.unshare_pid = int(open(self.path("unshare.pid")).read())
                kids = open("/proc/%d/task/%d/children" % (self.unshare_pid, self.unshare_pid)).read().split()
                if kids and os.readlink("/proc/%s/ns/pid" % kids[0]) != os.readlink("/proc/self/ns/pid"):
                    self.pid1 = int(kids[0])
                    break
            except (OSError, ValueError):
                pass
            self._check_alive("starting the namespaces", deadline)
            time.sleep(0.01)
        with open(os.path.join(self.cg, "supervisor", "cgroup.procs"), "w") as f:
            f.write(str(self.unshare_pid))
        open(self.path("go"), "w").close()
        # Up when the manager answers and the target is active.
        while True:
            r = self.systemctl("is-active", "sdfd-test.target", check=False, timeout=5)
            if r.stdout.strip() == "active":
                return
            self._check_alive("booting systemd", deadline)
            time.sleep(0.05)

    def _check_alive(self, what, deadline):
        if self.script.poll() is not None:
            raise BootError(f"the manager could not boot ({what}): script exited {self.script.returncode}\n"
                            + self.console())
        if time.monotonic() > deadline:
            raise BootError(f"the manager could not boot ({what}): timed out\n" + self.console())

    def console(self):
        try:
            with open(self.path("console.log"), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return "(no console log)"

    def run(self, *cmd, check=True, timeout=20, **kw):
        """Run a command in the machine's namespaces (as a client: not a unit)."""
        full = ["nsenter", "-t", str(self.pid1), "-m", "-p", "-n", "-u", "-i", "--"] + list(cmd)
        r = subprocess.run(full, capture_output=True, text=True, timeout=timeout, **kw)
        if check and r.returncode != 0:
            raise RuntimeError("%s: rc %d\n%s%s" % (" ".join(cmd), r.returncode, r.stdout, r.stderr))
        return r

    def systemctl(self, *args, check=True, timeout=20):
        return self.run("systemctl", "--no-pager", *args, check=check, timeout=timeout)

    def show(self, unit, *props):
        out = self.systemctl("show", unit, "-p", ",".join(props)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def wait_for(self, pred, timeout=10, what="condition"):
        deadline = time.monotonic() + timeout
        while True:
            v = pred()
            if v:
                return v
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: timed out waiting for {what}")
            time.sleep(0.05)

    def read_out(self, name):
        try:
            with open(self.path("out", name)) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def shutdown(self, timeout=5):
        try:
            if self.pid1:
                try:
                    os.kill(self.pid1, signal.SIGRTMIN + 4)
                except ProcessLookupError:
                    pass
            if self.script:
                try:
                    self.script.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    if self.pid1:
                        try:
                            os.kill(self.pid1, signal.SIGKILL)  # ends the whole PID namespace
                        except ProcessLookupError:
                            pass
                    try:
                        self.script.wait(timeout=5)
                    except subprocess.TimeoutExpired:
                        os.killpg(self.script.pid, signal.SIGKILL)
                        self.script.wait()
        finally:
            # Whatever is still running in the machine's cgroups (unshare
            # included) ends here.
            kill = os.path.join(self.cg or "/nonexistent", "cgroup.kill")
            if os.path.exists(kill):
                try:
                    with open(kill, "w") as f:
                        f.write("1")
                except OSError:
                    pass
            if self.script and self.script.poll() is None:
                try:
                    self.script.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(self.script.pid, signal.SIGKILL)
                    self.script.wait()
            self._remove_cgroups()
            shutil.rmtree(self.dir, ignore_errors=True)

    def _remove_cgroups(self):
        if not self.cg or not os.path.isdir(self.cg):
            return
        deadline = time.monotonic() + 5
        while os.path.isdir(self.cg):
            for dirpath, dirnames, _ in sorted(os.walk(self.cg), key=lambda t: -t[0].count("/")):
                try:
                    os.rmdir(dirpath)
                except OSError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError("cannot remove cgroup " + self.cg)
            time.sleep(0.05)
