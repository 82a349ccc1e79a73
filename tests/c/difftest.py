#!/usr/bin/env python3
"""Differential conformance: run tests/c/probe.c linked against libsystemd
and against sdfd over many scenarios and compare their output byte for byte.

    difftest.py PROBE_SYSTEMD PROBE_SDFD [--list] [-k SUBSTRING] [--every N] [--valgrind] [--qemu]

--valgrind leaves out what valgrind cannot run: the scenarios that make
system calls fail with a seccomp filter, and the LISTEN_PIDFDID mismatch,
which needs pidfd_open (valgrind 3.19 lacks it, so the variable is ignored,
as on a kernel without pidfs).
--qemu leaves out the seccomp scenarios: qemu-user (7.2) does not implement
the seccomp system call for the programs it runs (ENOSYS; tests/arch).
--every N runs every Nth scenario only (a representative sample, used by
tests/c/sanitize.sh under valgrind).

Each scenario is (environment, fd layout, operations). Any difference in
return values, names, environment side effects or FD_CLOEXEC state fails.
Prints one line per failure and ends with "N passed, N failed".
"""
import itertools
import re
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import sdfdtest  # noqa: E402

PID_VALUES = [None, "{pid}", "{pid+1}", "1", "abc", "", "0", "-1", "-0", "99999999999",
              "4294967296", "2147483648", " {pid}", "\t{pid}", "{pid} ", "+{pid}", "{pidhex}",
              "{pidoct}", "0x", "\v{pid}", "0b1", "--1", "{pid}\n",
              # around src/parse.rs's fast path (1-9 digits, no leading 0)
              "999999999", "1000000000", "0123", "0189", "{pid}0", "9", "09"]
FDS_VALUES = [None, "", "0", "1", "2", "3", "4", "5", "-1", "-0", "abc", "2x", "99999999999",
              "2147483647", "2147483645", "2147483644", "9223372036854775808", " 2", "\t2", "\n2",
              "\v2", "+2", "2 ", "010", "03", "0x2", "0X3", "0o2", "0O3", "0b10", "0B11", "0b",
              "0x", "0b2", " 0b1", "\v0b1", "-0x1", "0b-1", "1e1", "١",
              # around src/parse.rs's fast path (1-9 digits, no leading 0)
              "9", "09", "00", "000000001", "999999999", "1000000000", "123456789", "1234567890", "2\x01"]
NAMES_VALUES = [None, "", ":", "::", "a", "a:b", "a:b:c", "a::b", ":a", "a:", "a\\:b", "a\\:b:c",
                "a\\", "a:b\\", "a\\\\:b", "\\a:b", "x:y:z:w", "http:https:ctl", "é:ü", "a b:c",
                "unknown:stored:connection", "a=b:c", "\\::", "a\\:\\:b:c:d"]

NOTIFY_SOCKETS = [None, "", "/", "@", "x", "relative/sock", "//", "/nonexistent/sock", "@sdfd-nobody-listens",
                  "{recv}", "{abs}", " {recv}", "{recv} ", "/" + "a" * 106, "/" + "a" * 107, "/" + "a" * 108,
                  "@" + "a" * 106, "@" + "a" * 107, "@" + "a" * 108, "/tmp", "/dev/null", "unix:/x"]
NOTIFY_STATES = ["READY=1", "", "STATUS=a\nb", "READY=1\nSTATUS=ok\nMAINPID=1", "NULL", "@big1", "@big300", "@big9000"]
NOTIFY_PIDS = ["0", "self", "1", "999999999", "-1"]  # pid 1 exists; 999999999 never does
NOTIFY_FDS = ["0", "1", "2", "null:1", "null:0", "253", "254", "300"]
WATCHDOG_USEC = [None, "", "0", "1", "abc", "-5", "1000000", " 1000000", "0x10", "18446744073709551615",
                 "18446744073709551614", "18446744073709551616", "1000000 ", "999999999", "1000000000", "0999"]
WATCHDOG_PID = [None, "{pid}", "{pid+1}", "abc", "0", "-1", "", " {pid}"]

LAYOUTS = {
    "none": [],
    "one": ["tcp4l"],
    "three": ["tcp4l", "tcp6l", "unixl"],
    "three-hole": ["tcp4l", "closed", "unixl"],
    "cloexec": ["tcp4l+c", "udp4", "fifo+c"],
    "mixed5": ["tcp4l", "udp6", "abstl", "fifo", "null"],
}

CHECK_LAYOUTS = {
    "inet": ["tcp4l", "tcp4", "tcp4any", "tcp6l", "tcp6any", "tcp6mapped", "udp4", "udp6", "tcp4unbound"],
    "unix": ["unixl", "unixd", "unixq", "abstl", "abstd", "unixpair", "unixunbound", "unixlong", "netlink"],
    "files": ["fifo", "file", "null", "dir", "pipe", "mq", "closed", "fifo+c", "bigfile"],
}


def scenarios():
    """Yield (name, env, fd specs, ops)."""
    ops_sets = [["listen", "0", "listen", "0"], ["listen", "1", "listen", "0"],
                ["names", "0", "names", "1", "listen", "0"], ["names", "1", "names", "0"],
                ["names-null", "1", "listen", "0"]]
    # 1. LISTEN_PID values x unset flag, LISTEN_FDS=2 over two open fds
    for pid, ops in itertools.product(PID_VALUES, ops_sets[:3]):
        env = {"LISTEN_FDS": "2"}
        if pid is not None:
            env["LISTEN_PID"] = pid
        yield ("pid=%r %s" % (pid, " ".join(ops)), env, ["tcp4l", "udp4"], ops)
    # 2. LISTEN_FDS values x layouts (fds open, closed, missing), own pid
    for fds, (lname, layout) in itertools.product(FDS_VALUES, LAYOUTS.items()):
        for ops in (ops_sets[1], ops_sets[2]):
            env = {"LISTEN_PID": "{pid}"}
            if fds is not None:
                env["LISTEN_FDS"] = fds
            yield ("fds=%r layout=%s %s" % (fds, lname, " ".join(ops)), env, layout, ops)
    # 3. LISTEN_FDNAMES values x counts
    for names, count in itertools.product(NAMES_VALUES, ["1", "2", "3", "4"]):
        for ops in (ops_sets[2], ops_sets[3], ops_sets[4]):
            env = {"LISTEN_PID": "{pid}", "LISTEN_FDS": count}
            if names is not None:
                env["LISTEN_FDNAMES"] = names
            yield ("names=%r fds=%s %s" % (names, count, " ".join(ops)), env, ["tcp4l", "unixl", "fifo", "udp4"], ops)
    # 4. names with an error elsewhere: other pid, bad count, closed fd
    for names, env in itertools.product(["a:b", "a\\", ""], [
            {"LISTEN_PID": "{pid+1}", "LISTEN_FDS": "2"}, {"LISTEN_PID": "{pid}", "LISTEN_FDS": "0"},
            {"LISTEN_PID": "{pid}", "LISTEN_FDS": "3"}, {"LISTEN_FDS": "2"}, {"LISTEN_PID": "x"}]):
        env = dict(env, LISTEN_FDNAMES=names)
        for ops in (ops_sets[2], ops_sets[3]):
            yield ("names=%r env=%r %s" % (names, env, " ".join(ops)), env, ["tcp4l", "closed"], ops)
    # 5. fd classification: every sd_is_* over every kind of fd
    for lname, layout in CHECK_LAYOUTS.items():
        yield ("checks %s" % lname, {}, layout, ["checks"])
    # 6. notify: addresses x messages x pids x fds x unset
    for sock in NOTIFY_SOCKETS:
        for u in ("0", "1"):
            env = {} if sock is None else {"NOTIFY_SOCKET": sock}
            yield ("notify sock=%r u=%s" % (sock, u), env, [],
                   ["notify", u, "0", "READY=1", "0", "notify", "0", "0", "STATUS=again", "0"])
    for state, pid, fds in itertools.product(NOTIFY_STATES, NOTIFY_PIDS, NOTIFY_FDS):
        for sock in ("{recv}", "{abs}") if (pid, fds) == ("0", "0") else ("{recv}",):
            yield ("notify sock=%s state=%.20r pid=%s fds=%s" % (sock, state, pid, fds), {"NOTIFY_SOCKET": sock}, [],
                   ["notify", "0", pid, state, fds])
    for state, fds in itertools.product(["NULL", "READY=1"], ["0", "1", "null:1", "null:0"]):
        yield ("notify unset-socket state=%s fds=%s" % (state, fds), {}, [], ["notify", "1", "0", state, fds])
    for fmt, pid, sock in itertools.product(["NULL", "STATUS=%d %s", "READY=1"], ["0", "self", "1", "999999999"], [None, "{recv}"]):
        env = {} if sock is None else {"NOTIFY_SOCKET": sock}
        yield ("notifyf fmt=%r pid=%s sock=%s" % (fmt, pid, sock), env, [], ["notifyf", "1", pid, fmt])
    # 7. barrier: a receiver that closes the fd, one that keeps it (timeout), none
    # (A receiver that closes at once is only raced against a generous timeout,
    # one that keeps the fd for 500 ms only against short ones: no flakiness.
    # A timeout whose seconds do not fit a 32-bit time_t is EINVAL on i686 and
    # armhf, as systemd's timespec_store makes it; 64-bit: the fd closes first.)
    for sock, (mode, t), u in itertools.product([None, "{recv}", "/nonexistent/x"],
                                                [("close", "5000000"), ("close", "18446744073709551615"),
                                                 # 2^32 s + 0.1 s: past a 32-bit time_t (libsystemd: EINVAL there)
                                                 ("close", "4294967296100000"),
                                                 ("keep", "100000"), ("keep", "1000"), ("keep", "0")], ["0", "1"]):
        env = {} if sock is None else {"NOTIFY_SOCKET": sock}
        yield ("barrier sock=%s mode=%s t=%s u=%s" % (sock, mode, t, u), env, [], ["barrier", u, t, mode])
    # 8. watchdog and booted
    for usec, wpid in itertools.product(WATCHDOG_USEC, WATCHDOG_PID):
        env = {}
        if usec is not None:
            env["WATCHDOG_USEC"] = usec
        if wpid is not None:
            env["WATCHDOG_PID"] = wpid
        for u in ("0", "1"):
            yield ("watchdog usec=%r pid=%r u=%s" % (usec, wpid, u), env, [], ["watchdog", u])
    yield ("booted", {}, [], ["booted"])
    # 9. the environment block as sdfd scans it on Linux (src/env.rs): raw
    #    entries in front of the normal ones -- a duplicate (the first one
    #    counts, unsetenv removes all), names without '=', longer and shorter
    #    names, an empty entry
    raws = ["LISTEN_FDS=1", "LISTEN_FDS", "LISTEN_FDSX=1", "LISTEN_FD=1", "LISTEN_PID", "LISTEN_PID={pid}",
            "LISTEN_PID=1", "LISTEN_FDNAMES=x", "LISTEN_FDNAMES", "=LISTEN_FDS=1", "", "LISTEN_PIDFDID",
            "LISTEN_FDS=1|LISTEN_FDS=3", "LISTEN_FDNAMESX=a:b|LISTEN_FDNAMES=c"]
    for raw, ops in itertools.product(raws, (ops_sets[1], ops_sets[3])):
        env = {"LISTEN_PID": "{pid}", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "a:b", "PROBE_RAWENV": raw}
        yield ("rawenv %r %s" % (raw, " ".join(ops)), env, ["tcp4l", "udp4", "fifo"], ops)
    for raw in ("LISTEN_FDS=2", "LISTEN_PID", "LISTEN_FDNAMES=a:b"):
        yield ("rawenv only %r" % raw, {"PROBE_RAWENV": raw}, ["tcp4l", "udp4"], ops_sets[1])
    # a read-only environment block without the variables: unsetting them
    # writes nothing (a write would kill the probe with SIGSEGV)
    for ops in (ops_sets[1], ops_sets[3]):
        yield ("roenv %s" % " ".join(ops), {"PROBE_ROENV": "1"}, ["tcp4l"], ops)
    # 10. FD_CLOEXEC over ranges: sizes around the 256-fd poll chunk of
    #    src/fd.rs, closed fds at the edges, O_PATH fds (which poll reports as
    #    invalid), pre-set flags, and the fallbacks (no close_range, poll
    #    refused, RLIMIT_NOFILE below the chunk size).
    for name, env, layout, ops in cloexec_scenarios():
        yield (name, env, layout, ops)


def holes(n, at, kind="null"):
    """n fds of `kind`, with a closed one at each index in `at`."""
    return ["closed" if i in at else kind for i in range(n)]


def compact(layout):
    """Run-length form (KIND*N) understood by probe.c."""
    out = []
    for k in layout:
        if out and out[-1][0] == k:
            out[-1][1] += 1
        else:
            out.append([k, 1])
    return [k if c == 1 else "%s*%d" % (k, c) for k, c in out]


def cloexec_scenarios():
    ops = ["listen", "0", "listen", "1"]
    layouts = []
    for n in (2, 3, 16, 255, 256, 257, 300, 513, 520):
        layouts.append(("n=%d all-open" % n, n, holes(n, ())))
        for where, idx in (("first", 0), ("second", 1), ("middle", n // 2), ("last", n - 1)):
            layouts.append(("n=%d hole-%s" % (n, where), n, holes(n, (idx,))))
        for idx in (255, 256, 257, 300, 511, 512):
            if idx < n:
                layouts.append(("n=%d hole-at-%d" % (n, idx), n, holes(n, (idx,))))
        layouts.append(("n=%d two-holes" % n, n, holes(n, (n // 3, 2 * n // 3))))
        layouts.append(("n=%d more-than-open" % n, n + 2, holes(n, ())))   # LISTEN_FDS past the last open fd
    mixed = ["tcp4l+c", "udp4", "fifo+c", "pipe", "unixl", "null+c", "file", "opath", "opath+c", "dir"]
    layouts.append(("mixed-kinds", 10, mixed))
    layouts.append(("mixed-kinds hole-after-opath", 10, mixed[:8] + ["closed"] + mixed[9:]))
    layouts.append(("opath-only", 3, ["opath", "opath", "opath"]))
    layouts.append(("opath-then-hole", 3, ["opath", "closed", "opath"]))
    layouts.append(("n=300 cloexec-mix", 300, [("null+c" if i % 3 == 0 else "null") for i in range(300)]))
    layouts.append(("n=300 opath-chunk2 hole", 300, ["null"] * 256 + ["opath"] * 10 + ["closed"] + ["null"] * 33))
    layouts.append(("n=300 all-closed-after-first", 300, ["null"] + ["closed"] * 299))
    modes = [("", {})]
    fallback = [("no-close_range", {"PROBE_SECCOMP": "close_range:ENOSYS"}),
                ("close_range-EINVAL", {"PROBE_SECCOMP": "close_range:EINVAL"}),
                ("close_range-EPERM", {"PROBE_SECCOMP": "close_range:EPERM"}),
                ("no-poll", {"PROBE_SECCOMP": "poll:ENOSYS"}),
                ("nofile=100", {"PROBE_NOFILE": "100"})]
    for lname, count, layout in layouts:
        for mname, menv in modes + (fallback if count <= 300 and lname.split()[0] in
                                    ("n=2", "n=16", "n=256", "n=257", "n=300", "mixed-kinds", "opath-then-hole") else []):
            env = dict(menv, LISTEN_PID="{pid}", LISTEN_FDS=str(count))
            yield ("cloexec %s%s" % (lname, " " + mname if mname else ""), env, compact(layout), ops)


def extension_scenarios():
    """Inputs where sdfd follows newer systemd on purpose (README, "Where sdfd
    differs"): (name, env, layout, ops, expected), where expected(oracle
    output) is the sdfd output: the oracle's, with exactly the documented
    change applied."""
    two = ["tcp4l", "udp4"]
    same = lambda o: o
    pidfdid_unset = lambda o: o.replace("LISTEN_PIDFDID=<as-set>", "LISTEN_PIDFDID=<unset>")
    not_for_us = lambda o: re.sub(r"=2\b", "=0", o.replace("3:ce 4:ce", "3:in 4:in"))
    def error(code):
        return lambda o: re.sub(r"=2\b", "=%d" % code, o.replace("3:ce 4:ce", "3:in 4:in"))
    base = {"LISTEN_PID": "{pid}", "LISTEN_FDS": "2"}
    for u, unset in (("0", same), ("1", pidfdid_unset)):
        ops = ["listen", u, "listen", "0"]
        yield ("pidfdid=own u=%s" % u, dict(base, LISTEN_PIDFDID="{pidfdid}"), two, ops, unset)
        yield ("pidfdid=other u=%s" % u, dict(base, LISTEN_PIDFDID="{pidfdid+1}"), two, ops,
               lambda o, unset=unset: unset(not_for_us(o)) if u == "0" else unset(not_for_us(o)).replace("listen(0)=0", "listen(0)=0"))
        for bad, code in (("abc", -22), ("", -22), ("-1", -34), ("99999999999999999999", -34), ("1 ", -22)):
            yield ("pidfdid=%r u=%s" % (bad, u), dict(base, LISTEN_PIDFDID=bad), two, ops,
                   lambda o, unset=unset, code=code: unset(error(code)(o)))
    # another process's pid: LISTEN_PIDFDID is not even read
    yield ("pidfdid=garbage other-pid", dict(base, LISTEN_PID="1", LISTEN_PIDFDID="abc"), two, ["listen", "0"], same)


def run(probe, env, layout, ops, tmp):
    full = {k: v for k, v in os.environ.items() if not k.startswith(("LISTEN_", "WATCHDOG_", "NOTIFY_"))}
    full.update(env)
    full["PROBE_DIR"] = tmp
    p = subprocess.run([probe] + layout + ["--"] + ops, env=full, capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        print(__doc__)
        return 2
    ref, sut = args[0], args[1]
    only = args[args.index("-k") + 1] if "-k" in args else None
    every = int(args[args.index("--every") + 1]) if "--every" in args else 1
    calls = 0
    with tempfile.TemporaryDirectory(prefix="sdfd-diff-") as tmp:
        for index, (name, env, layout, ops) in enumerate(scenarios()):
            if only and only not in name:
                continue
            if index % every:
                continue
            # valgrind cannot run a program that installs a seccomp filter
            if ("--valgrind" in args or "--qemu" in args) and "PROBE_SECCOMP" in env:
                continue
            if "--list" in args:
                print(name)
                continue
            a = run(ref, env, layout, ops, tmp)
            b = run(sut, env, layout, ops, tmp)
            calls += a[1].count("=")
            if a[0] != 0:
                sdfdtest.check("ERROR %s: reference probe failed (%d): %s" % (name, a[0], a[2].strip()), False)
            elif a != b:
                detail = []
                for la, lb in itertools.zip_longest(a[1].splitlines(), b[1].splitlines(), fillvalue="<none>"):
                    if la != lb:
                        detail.append("libsystemd: %s\nsdfd:       %s" % (la, lb))
                if a[2] != b[2] or a[0] != b[0]:
                    detail.append("rc %d/%d stderr %r / %r" % (a[0], b[0], a[2], b[2]))
                sdfdtest.check("DIFF %s" % name, False, "\n".join(detail))
            else:
                sdfdtest.check(name, True, quiet=True)
        ext = 0
        for name, env, layout, ops, expected in extension_scenarios():
            if only and only not in name:
                continue
            if "--valgrind" in args and "{pidfdid+1}" in env.get("LISTEN_PIDFDID", ""):
                continue
            a = run(ref, env, layout, ops, tmp)
            b = run(sut, env, layout, ops, tmp)
            want = expected(a[1])
            ext += 1
            if a[0] != 0 or b[0] != 0 or b[1] != want:
                detail = []
                for lw, lb in itertools.zip_longest(want.splitlines(), b[1].splitlines(), fillvalue="<none>"):
                    if lw != lb:
                        detail.append("expected: %s\nsdfd:     %s" % (lw, lb))
                sdfdtest.check("DIFF extension %s (rc %d/%d)" % (name, a[0], b[0]), False, "\n".join(detail))
            else:
                sdfdtest.check("extension " + name, True, quiet=True)
    print("differential: %d scenarios (%d where sdfd follows newer systemd on purpose), %d compared results"
          % (sdfdtest.passed + sdfdtest.failed, ext, calls))
    return sdfdtest.summary()

if __name__ == "__main__":
    sys.exit(main())
