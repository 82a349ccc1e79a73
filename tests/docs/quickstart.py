#!/usr/bin/env python3
"""The README's quick starts, run verbatim as a new user would run them.

README.md marks each sequence with an HTML comment before its fenced block:

    <!-- quickstart: NAME -->   a ```sh block, run with bash -e from the top
                                of the source tree
    <!-- file: PATH -->         a block whose text the reader saves as PATH

Unit files (PATH under /etc/systemd/system/) and the sequence named
"systemd" go to the real manager instead: Debian's systemd 252 booted as
PID 1 of private namespaces (tests/manager/machine.py), with the unit files
in its /run/systemd/system/, the reader's ~/hello copied into it, and a
private tmpfs on /usr/local/bin; the sequence runs inside its namespaces.

The sequences run in README order, as root, with a fresh empty home
directory (~) and an environment that holds nothing of the build tree
(no SDFD_LIBRARY, PKG_CONFIG_PATH, LD_LIBRARY_PATH). The install sequence
installs into /usr/local as the README says; the suite removes it again
(make uninstall, ldconfig) with everything else it made. A sequence that
ends with `curl` must print the daemon's "hello" line: a request served
under socket activation. Background processes a sequence starts are killed
with its process group.
"""
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import sdfdtest as t  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "manager"))
from machine import Machine  # noqa: E402

UNITS_DIR = "/etc/systemd/system/"

README = os.path.join(t.ROOT, "README.md")
BLOCK = re.compile(r"<!-- (quickstart|file): (\S+) -->\n```[a-z]*\n(.*?)^```", re.S | re.M)


def ports_in(text):
    return sorted({int(p) for p in re.findall(r"127\.0\.0\.1:(\d{4,5})", text)})


def main():
    if os.geteuid() != 0:
        t.setup_failed("the quick starts install into /usr/local: run as root")
    text = open(README).read()
    items = BLOCK.findall(text)
    if not any(kind == "quickstart" for kind, _, _ in items):
        t.setup_failed("no <!-- quickstart: ... --> block in README.md")
    if os.path.exists("/usr/local/lib/libsdfd.so.0"):
        t.setup_failed("/usr/local/lib/libsdfd.so.0 exists before the run: cannot tell the README's install from it")
    busy = [p for p in ports_in(text) if not t.port_free(p)]
    if busy:
        t.setup_failed("ports the README uses are busy: %s" % busy)

    home = t.tmpdir("quickstart-home")
    env = {k: v for k, v in os.environ.items()
           if k not in ("SDFD_LIBRARY", "PKG_CONFIG_PATH", "LD_LIBRARY_PATH", "SDFD_STAGE", "CARGO_TARGET_DIR")}
    env["HOME"] = home
    # cargo and rustup live under the real home's ~/.cargo: keep them on PATH
    real_cargo = os.path.join(os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo")))
    env["CARGO_HOME"] = real_cargo
    env["RUSTUP_HOME"] = os.environ.get("RUSTUP_HOME", os.path.expanduser("~/.rustup"))
    units = {}
    try:
        for kind, name, body in items:
            if kind == "file" and name.startswith(UNITS_DIR):
                units[name[len(UNITS_DIR):]] = body
                continue
            if kind == "file":
                path = os.path.join(home, name[2:]) if name.startswith("~/") else name
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write(body)
                continue
            if name == "systemd":
                run_under_manager(name, body, units, env["HOME"])
            else:
                run_sequence(name, body, env)
    finally:
        subprocess.run(["make", "-s", "uninstall"], cwd=t.ROOT, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["ldconfig"])
    t.check("make uninstall removed the README's install",
            not os.path.exists("/usr/local/lib/libsdfd.so.0") and not os.path.exists("/usr/local/bin/sdfd-activate"))
    t.finish()


def check_served(name, body, ok, out):
    last = [ln for ln in body.strip().splitlines() if ln.strip()][-1]
    if last.startswith("curl"):
        lines = out.strip().splitlines()
        t.check("quick start '%s' ends with a request served under socket activation" % name,
                ok and bool(lines) and "hello" in lines[-1], out[-1500:])


def run_under_manager(name, body, units, home):
    import shutil
    start = time.monotonic()
    if not units:
        t.check("quick start '%s': unit files in README.md" % name, False)
        return
    m = Machine("readme", units, [])
    ok, out = False, ""
    try:
        shutil.copytree(os.path.join(home, "hello"), m.path("home", "hello"))
        m.boot(timeout=30)
        m.run("mount", "-n", "-t", "tmpfs", "tmpfs", "/usr/local/bin")
        r = m.run("env", "HOME=" + m.inside("home"), "bash", "-e", "-o", "pipefail", "-c", body,
                  check=False, timeout=120)
        ok, out = r.returncode == 0, r.stdout + r.stderr
    except Exception as e:  # a manager that cannot boot is a failure, with its log
        out = "%s\n%s" % (e, m.console()[-2000:])
    finally:
        m.shutdown()
    t.check("quick start '%s' runs verbatim under systemd 252 (%.0f s)" % (name, time.monotonic() - start),
            ok, out[-3000:])
    check_served(name, body, ok, out)


def run_sequence(name, body, env):
    start = time.monotonic()
    # Output to a file, not a pipe: a daemon the sequence leaves running in
    # the background keeps its copy of the descriptor open.
    log = os.path.join(env["HOME"], ".quickstart-%s.log" % name)
    with open(log, "w") as out_f:
        p = subprocess.Popen(["bash", "-e", "-o", "pipefail", "-c", body], cwd=t.ROOT, env=env,
                             stdin=subprocess.DEVNULL, stdout=out_f, stderr=subprocess.STDOUT,
                             start_new_session=True)
        try:
            p.wait(timeout=900)
        except subprocess.TimeoutExpired:
            pass
        finally:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
    out = open(log, errors="replace").read()
    if p.returncode == -signal.SIGKILL and time.monotonic() - start >= 900:
        out += "\n(timed out after 900 s)"
    secs = time.monotonic() - start
    ok = p.returncode == 0
    t.check("quick start '%s' runs verbatim (%.0f s)" % (name, secs), ok, out[-3000:])
    check_served(name, body, ok, out)


if __name__ == "__main__":
    main()
