#!/usr/bin/env python3
"""Run a command in a copied Debian root as its /, in private mount and pid namespaces.

    tests/fresh/enter.py RUN REPO ARCHIVES COMMAND...

RUN/root is the root (a copy of the cached minimal Debian 12). The process
re-executes itself under `unshare --mount --pid --fork`, so that it is pid 1
of a new pid namespace with a mount namespace of its own, prepares the root
and makes it / with pivot_root (not chroot: a process that enters this
mount namespace with nsenter -m finds the same root), then starts COMMAND
and reaps every process of the namespace until COMMAND exits. When it
exits, the kernel kills what is left in the namespace and every mount goes
with it.

What the root gets from the host, and nothing more:
  /proc (this pid namespace's), /sys and /dev (bound), a tmpfs on /run;
  /root/.rustup: the host's rustup home as the lower layer of an overlay
      (what rustup adds inside is written to RUN/rustup-upper);
  /root/.cargo/bin and /root/.cargo/env: copies of the host's (rustup's proxies);
  /etc/resolv.conf, /etc/hosts; the apt settings that reach the archive
      (Acquire:: options of /etc/apt/apt.conf.d) and the CA certificates
      the host adds (/usr/local/share/ca-certificates) with the bundle made
      from them, /etc/pip.conf and /etc/npmrc if the host has them;
  /mnt/sdfd-src: this repository, read-only, to clone from;
  /var/cache/apt/archives: ARCHIVES, so that .debs are downloaded once;
  /sdfd-fresh: tests/fresh, read-only (the phase script).
apt's sources are Debian 12's own three (bookworm, bookworm-updates,
bookworm-security), written here as a new installation has them.
"""
import os
import shutil
import signal
import subprocess
import sys

HOME = os.path.expanduser("~")
RUSTUP = os.environ.get("RUSTUP_HOME", os.path.join(HOME, ".rustup"))
CARGO = os.environ.get("CARGO_HOME", os.path.join(HOME, ".cargo"))
PASS_ENV = ("CI", "TERM", "NODE_EXTRA_CA_CERTS", "PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE",
            "CURL_CA_BUNDLE", "PIP_DEFAULT_TIMEOUT")
SOURCES = """\
Types: deb
URIs: {mirror}
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: {security}
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def sh(*args):
    subprocess.run(args, check=True)


def copy_host_settings(r):
    shutil.copy("/etc/resolv.conf", r + "/etc/resolv.conf")
    shutil.copy("/etc/hosts", r + "/etc/hosts")
    mirror = os.environ.get("FRESH_MIRROR", "http://deb.debian.org/debian")
    with open(r + "/etc/apt/sources.list.d/debian.sources", "w") as f:
        f.write(SOURCES.format(mirror=mirror, security=mirror.replace("/debian", "/debian-security")))
    if os.path.exists(r + "/etc/apt/sources.list"):
        os.remove(r + "/etc/apt/sources.list")
    confd = "/etc/apt/apt.conf.d"
    for name in sorted(os.listdir(confd)):
        path = os.path.join(confd, name)
        try:
            text = open(path).read()
        except (OSError, UnicodeDecodeError):
            continue
        lines = [ln for ln in text.splitlines() if ln.strip().startswith("Acquire::")]
        if lines:
            with open(os.path.join(r + confd, "99host-" + name), "w") as f:
                f.write("\n".join(lines) + "\n")
    local = "/usr/local/share/ca-certificates"
    if os.path.isdir(local):
        os.makedirs(r + local, exist_ok=True)
        for name in os.listdir(local):
            shutil.copy(os.path.join(local, name), r + local)
        os.makedirs(r + "/etc/ssl/certs", exist_ok=True)
        shutil.copy("/etc/ssl/certs/ca-certificates.crt", r + "/etc/ssl/certs/ca-certificates.crt")
    for path in ("/etc/pip.conf", "/etc/npmrc"):
        if os.path.exists(path):
            shutil.copy(path, r + path)


def prepare(run, repo, archives):
    r = os.path.join(run, "root")
    sh("mount", "--make-rprivate", "/")
    sh("mount", "--bind", r, r)
    sh("mount", "-t", "proc", "proc", r + "/proc")
    for d in ("/sys", "/dev"):
        sh("mount", "--rbind", d, r + d)
        sh("mount", "--make-rslave", r + d)
    sh("mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", r + "/run")
    # rustup's toolchain: the host's, with an upper layer of this run's own
    for d in ("rustup-upper", "rustup-work"):
        os.makedirs(os.path.join(run, d))
    os.makedirs(r + "/root/.rustup", exist_ok=True)
    sh("mount", "-t", "overlay", "overlay", "-o",
       "lowerdir=%s,upperdir=%s/rustup-upper,workdir=%s/rustup-work" % (RUSTUP, run, run), r + "/root/.rustup")
    os.makedirs(r + "/root/.cargo", exist_ok=True)
    shutil.copytree(os.path.join(CARGO, "bin"), r + "/root/.cargo/bin", symlinks=True)
    if os.path.exists(os.path.join(CARGO, "env")):
        shutil.copy(os.path.join(CARGO, "env"), r + "/root/.cargo/env")
    for src, dst in ((repo, "/mnt/sdfd-src"), (os.path.join(repo, "tests/fresh"), "/sdfd-fresh")):
        os.makedirs(r + dst, exist_ok=True)
        sh("mount", "--bind", src, r + dst)
        sh("mount", "-o", "remount,bind,ro", r + dst)
    sh("mount", "--bind", archives, r + "/var/cache/apt/archives")
    copy_host_settings(r)
    os.chdir(r)
    os.makedirs(".oldroot", exist_ok=True)
    sh("pivot_root", ".", ".oldroot")
    os.chdir("/")
    # From here on only the new root's programs exist.
    sh("umount", "-l", "/.oldroot")
    os.rmdir("/.oldroot")


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    if os.environ.get("SDFD_FRESH_PID1") != "1":
        env = dict(os.environ, SDFD_FRESH_PID1="1")
        os.execvpe("unshare", ["unshare", "--mount", "--pid", "--fork", "--kill-child",
                               sys.executable] + sys.argv, env)
    run, repo, archives = (os.path.abspath(a) for a in sys.argv[1:4])
    cmd = sys.argv[4:]
    prepare(run, repo, archives)
    env = {"HOME": "/root", "USER": "root", "LOGNAME": "root", "SHELL": "/bin/bash", "LANG": "C.UTF-8",
           "PATH": "/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    env.update({k: os.environ[k] for k in PASS_ENV if k in os.environ})
    child = os.fork()
    if child == 0:
        os.chdir("/root")
        os.setsid()
        os.execvpe(cmd[0], cmd, env)
    # pid 1: forward termination to the command's process group (a shell
    # waiting for a foreground job would act on it only afterwards), reap
    # every orphan until the command exits
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, lambda sig, _f: os.killpg(child, sig))
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except InterruptedError:
            continue
        if pid == child:
            sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


if __name__ == "__main__":
    main()
