#!/usr/bin/env python3
"""sd_listen_fds must pass every system-call allow-list libsystemd 252 passes.

The allow-list is derived from the oracle, not written down: starting from a
generous candidate set, each system call is dropped for good when the
libsystemd-built program still completes every scenario without it. What is
left is the smallest kill-mode filter libsystemd passes; the sdfd-built
program must pass it too, with the same results and FD_CLOEXEC states.
Usage: seccomp.py PROGRAM-LIBSYSTEMD PROGRAM-SDFD. Ends with "N passed, N failed".
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import sdfdtest as t  # noqa: E402

CANDIDATES = ["getpid", "fcntl", "poll", "ppoll", "close_range", "close", "brk", "mmap", "munmap", "mremap",
              "madvise", "futex", "rt_sigprocmask", "openat", "read", "newfstatat", "fstat", "getrandom",
              "prctl", "gettid", "getuid"]
# (mode, n, closed index or -1)
SCENARIOS = [("plain", 1, -1), ("plain", 2, -1), ("plain", 16, -1), ("plain", 300, -1),
             ("plain", 3, 0), ("plain", 16, 8), ("plain", 16, 15), ("plain", 300, 270),
             ("names", 2, -1), ("names", 16, -1), ("names", 300, -1), ("names", 16, 8)]


def run(prog, scenario, allow):
    mode, n, closed = scenario
    p = subprocess.run([prog, mode, str(n), str(closed), ",".join(allow)], capture_output=True, text=True,
                       timeout=20)
    return p.returncode, p.stdout.strip()


def main():
    ref, sdfd = sys.argv[1:3]
    check = lambda ok, what, detail="": t.check(what, ok, detail)  # noqa: E731

    # The candidate set must be enough for libsystemd, else the derivation means nothing.
    base = {s: run(ref, s, CANDIDATES) for s in SCENARIOS}
    check(all(rc == 0 for rc, _ in base.values()), "libsystemd passes the candidate allow-list",
          repr([(s, r) for s, r in base.items() if r[0] != 0]))
    allow = list(CANDIDATES)
    for call in CANDIDATES:
        trial = [c for c in allow if c != call]
        if all(run(ref, s, trial) == base[s] for s in SCENARIOS):
            allow = trial
    print("     smallest allow-list libsystemd passes: write, exit_group, " + ", ".join(allow))
    # Each call left is needed: without it libsystemd is killed (SIGSYS) somewhere.
    for call in allow:
        trial = [c for c in allow if c != call]
        killed = [s for s in SCENARIOS if run(ref, s, trial)[0] == -31]
        check(bool(killed), f"libsystemd is killed without {call}")
    for s in SCENARIOS:
        rc, out = run(sdfd, s, allow)
        want = base[s]
        short = (out[:60] + "...") if len(out) > 60 else (out or f"rc {rc}")
        check((rc, out) == want, f"sdfd under libsystemd's allow-list: {s[0]} n={s[1]} closed={s[2]}: {short}",
              f"sdfd rc={rc} {out[:200]!r}; libsystemd rc={want[0]} {want[1][:200]!r}")
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
