#!/usr/bin/env python3
"""Differential test: the same probe (tests/launcher/launcher_probe.c) started by
/usr/bin/systemd-socket-activate (252) and by sdfd-activate with the same
options must see the same thing: environment (in order), descriptors with
their numbers, FD_CLOEXEC and O_NONBLOCK flags, socket family/type/protocol,
listening state, SO_REUSEADDR/SO_REUSEPORT/IPV6_V6ONLY, addresses, socket node
mode, backlog, umask, ignored and blocked signals, exit status. Bad options
and addresses must fail with both. Only loopback addresses are used.

    difftest.py SDFD_ACTIVATE PROBE
Ends with "N passed, N failed"."""
import os, shutil, signal, socket, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sdfdtest import check, free_port, free_ports, summary, tmpdir  # noqa: E402

SDFD, PROBE = sys.argv[1], sys.argv[2]
SYSTEMD = "/usr/bin/systemd-socket-activate"
TMP = tmpdir("act-diff")
# Differences that are on purpose (README): sdfd-activate forks and
# supervises instead of exec'ing itself, so the command it starts has a
# parent-death signal (SIGTERM) as systemd's --accept children have.
KNOWN = "pdeathsig"


def trigger(kind, target):
    """Make the launcher start the command: connect, or send a datagram."""
    fam, typ, addr = {
        "tcp4": (socket.AF_INET, socket.SOCK_STREAM, lambda: ("127.0.0.1", target)),
        "tcp6": (socket.AF_INET6, socket.SOCK_STREAM, lambda: ("::1", target)),
        "udp4": (socket.AF_INET, socket.SOCK_DGRAM, lambda: ("127.0.0.1", target)),
        "unix": (socket.AF_UNIX, socket.SOCK_STREAM, lambda: target),
        "unixdgram": (socket.AF_UNIX, socket.SOCK_DGRAM, lambda: target),
        "seqpacket": (socket.AF_UNIX, socket.SOCK_SEQPACKET, lambda: target),
    }[kind]
    s = socket.socket(fam, typ)
    s.settimeout(2)
    try:
        if typ == socket.SOCK_DGRAM:
            s.sendto(b"ping", addr())
        else:
            s.connect(addr())
        return s
    except OSError:
        s.close()
        return None


def run(tool, sc, port):
    d = os.path.join(TMP, "d")
    shutil.rmtree(d, ignore_errors=True)
    report = os.path.join(TMP, "report")
    if os.path.exists(report):
        os.unlink(report)
    sub = lambda s: (s.replace("{P}", str(port)).replace("{D}", d).replace("{HEX}", hex(port))
                     .replace("{OCT}", "0o%o" % port).replace("{BIN}", "0b{0:b}".format(port)))
    opts = [sub(o) for o in sc["opts"]]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/root", "TERM": "dumb", "USER": "root",
           "FOO": "from-env", "LANG": "C"}
    env.update(sc.get("env", {}))
    env = {k: v for k, v in env.items() if v is not None}
    pre_socks = []
    for kind, a in sc.get("inherit", []):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", int(sub(a))))
        s.listen(8)
        pre_socks.append(s)
    junk = os.open("/dev/null", os.O_RDONLY) if sc.get("junk") or sc.get("junk_at") else None

    def pre():
        if sc.get("ignore_usr2"):
            signal.signal(signal.SIGUSR2, signal.SIG_IGN)

    # Inherited sockets go to 3, 4 ... and the stray descriptor to 9, by the
    # shell, which then execs the launcher with LISTEN_PID=its own pid.
    argv = [tool] + opts + ([] if sc.get("bare") else [PROBE, report, "3"] + sc.get("args", []))
    keep = [s.fileno() for s in pre_socks] + ([junk] if junk is not None else [])
    if keep:
        moves = " ".join(f"{3 + i}<&{s.fileno()}" for i, s in enumerate(pre_socks))
        if sc.get("junk"):
            moves += f" 9<&{junk}"
        for n in sc.get("junk_at", []):
            moves += f" {n}<&{junk}"
        placed = set(range(3, 3 + len(pre_socks))) | {9} | set(sc.get("junk_at", []))
        closes = " ".join(f"{fd}<&-" for fd in keep if fd not in placed)
        lp = (f"LISTEN_PID={sc.get('lpid', '$$')} LISTEN_FDS={sc.get('lfds', len(pre_socks))} "
              f"LISTEN_FDNAMES={sc.get('lnames', 'inh1:inh2')} ") if pre_socks else ""
        # (dash takes single-digit fds only: bash when there are more)
        shell = "/bin/bash" if len(pre_socks) > 6 else "/bin/sh"
        argv = [shell, "-c", f'exec {moves}; exec {closes} ; {lp}exec "$@"', "sh"] + argv
    p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=pre, pass_fds=keep)
    for s in pre_socks:
        s.close()
    if junk is not None:
        os.close(junk)
    conn = None
    deadline = time.time() + 5
    kind, tgt = sc["trigger"]
    tgt = int(sub(tgt)) if kind in ("tcp4", "tcp6", "udp4") else sub(tgt)
    if kind == "abstract":
        kind, tgt = "unix", "\0" + tgt
    while time.time() < deadline and not os.path.exists(report) and p.poll() is None:
        if conn is None or kind in ("udp4", "unixdgram"):
            c = trigger(kind, tgt)
            if c is not None:
                if conn is not None:
                    conn.close()
                conn = c
        time.sleep(0.05)
    while time.time() < deadline and p.poll() is None and not os.path.exists(report):
        time.sleep(0.02)
    time.sleep(0.1)
    if sc.get("accept"):
        p.send_signal(signal.SIGTERM)
    try:
        _, err = p.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
    if conn is not None:
        conn.close()
    text = open(report, errors="surrogateescape").read() if os.path.exists(report) else None
    if text is not None and not sc.get("accept"):
        text = "\n".join("pdeathsig=(known difference)" if l.startswith(KNOWN) else l for l in text.splitlines())
    code = None if sc.get("accept") else p.returncode
    return text, code, err.decode(errors="replace")


L4 = ("tcp4", "{P}")
SCENARIOS = [
    dict(name="tcp4", opts=["-l", "127.0.0.1:{P}"], trigger=L4),
    dict(name="tcp6", opts=["-l", "[::1]:{P}"], trigger=("tcp6", "{P}")),
    dict(name="unix-path (parents created)", opts=["-l", "{D}/sub/s.sock"], trigger=("unix", "{D}/sub/s.sock")),
    dict(name="abstract", opts=["-l", "@sdfd-act-diff-{P}"], trigger=("abstract", "sdfd-act-diff-{P}")),
    dict(name="datagram udp", opts=["-d", "-l", "127.0.0.1:{P}"], trigger=("udp4", "{P}")),
    dict(name="datagram unix", opts=["--datagram", "-l", "{D}/dg"], trigger=("unixdgram", "{D}/dg")),
    dict(name="seqpacket", opts=["--seqpacket", "-l", "{D}/sp"], trigger=("seqpacket", "{D}/sp")),
    dict(name="two sockets + fdnames", opts=["-l", "127.0.0.1:{P}", "-l", "{D}/b", "--fdname=web:admin"], trigger=L4),
    dict(name="one fdname for three fds", opts=["-l", "127.0.0.1:{P}", "-l", "{D}/b", "-l", "@sdfd-x-{P}", "--fdname=one"], trigger=L4),
    dict(name="fdname count mismatch", opts=["-l", "127.0.0.1:{P}", "-l", "{D}/b", "-l", "@sdfd-y-{P}", "--fdname=a:b"], trigger=L4),
    dict(name="fdname repeated + empty", opts=["-l", "127.0.0.1:{P}", "-l", "{D}/b", "--fdname", "a", "--fdname="], trigger=L4),
    dict(name="setenv forms", opts=["-l", "127.0.0.1:{P}", "-E", "A=1", "--setenv=FOO", "-E", "UNSET_X", "-E", "A=2",
                                    "-E", "PATH=/x:/usr/bin:/bin", "--environment=B="], trigger=L4),
    dict(name="setenv overrides LISTEN_FDNAMES", opts=["-l", "127.0.0.1:{P}", "--fdname=x", "-E", "LISTEN_FDNAMES=y"], trigger=L4),
    dict(name="stale LISTEN_* in env", opts=["-l", "127.0.0.1:{P}"], trigger=L4,
         env={"LISTEN_PID": "1", "LISTEN_FDS": "4", "LISTEN_FDNAMES": "zz", "NOTIFY_SOCKET": "/nonexistent"}),
    dict(name="no TERM/USER", opts=["-l", "127.0.0.1:{P}"], trigger=L4, env={"TERM": None, "USER": None}),
    dict(name="leaked fd 9 not passed", opts=["-l", "127.0.0.1:{P}"], trigger=L4, junk=True),
    dict(name="ignored SIGUSR2 kept", opts=["-l", "127.0.0.1:{P}"], trigger=L4, ignore_usr2=True),
    dict(name="inherited LISTEN_FDS + -l", opts=["-l", "127.0.0.1:{P}", "--fdname=i1:i2:new"], trigger=L4,
         inherit=[("tcp4", "{P2}"), ("tcp4", "{P3}")]),
    dict(name="inherited LISTEN_FDS only", opts=[], trigger=("tcp4", "{P2}"), inherit=[("tcp4", "{P2}")]),
    # Inherited descriptors follow sd_listen_fds: systemd's number syntax
    # (a leading 0 is octal, 0x hex), LISTEN_PID must be the launcher's, bad
    # values are errors; names are not used.
    dict(name="inherited LISTEN_FDS=010 (octal: 8; strays at 11, 12)", opts=["-l", "127.0.0.1:{P}"], trigger=L4, lfds="010",
         junk_at=[11, 12],
         inherit=[("tcp4", "{P2}")] * 1 + [("tcp4", "{I%d}" % i) for i in range(7)]),
    dict(name="inherited LISTEN_FDS=0x2", opts=["-l", "127.0.0.1:{P}"], trigger=L4, lfds="0x2",
         inherit=[("tcp4", "{P2}"), ("tcp4", "{P3}")]),
    dict(name="inherited LISTEN_FDS=+1 of 2, names ignored", opts=["-l", "127.0.0.1:{P}"], trigger=L4, lfds="+1", lnames="a:b:c",
         inherit=[("tcp4", "{P2}"), ("tcp4", "{P3}")]),
    dict(name="inherited, foreign LISTEN_PID=1: not ours, closed", opts=["-l", "127.0.0.1:{P}"], trigger=L4, lpid="1",
         inherit=[("tcp4", "{P2}"), ("tcp4", "{P3}")]),
    dict(name="inherited only, stray fd 9 (nothing closed without -l)", opts=[], trigger=("tcp4", "{P2}"), inherit=[("tcp4", "{P2}")],
         junk=True),
    dict(name="inherited LISTEN_FDS=junk: error", opts=["-l", "127.0.0.1:{P}"], trigger=L4, lfds="2x", fails=True,
         inherit=[("tcp4", "{P2}"), ("tcp4", "{P3}")]),
    dict(name="inherited LISTEN_FDS=0: error", opts=["-l", "127.0.0.1:{P}"], trigger=L4, lfds="0", fails=True,
         inherit=[("tcp4", "{P2}")]),
    dict(name="inherited LISTEN_FDS=3 of 2 open: error", opts=["-l", "127.0.0.1:{P}"], trigger=L4, lfds="3", fails=True,
         inherit=[("tcp4", "{P2}"), ("tcp4", "{P3}")]),
    dict(name="inherited LISTEN_PID=junk: error", opts=["-l", "127.0.0.1:{P}"], trigger=L4, lpid="12ab", fails=True,
         inherit=[("tcp4", "{P2}")]),
    dict(name="inherited LISTEN_PID=-5: error", opts=["-l", "127.0.0.1:{P}"], trigger=L4, lpid="-5", fails=True,
         inherit=[("tcp4", "{P2}")]),
    # Bytes pass through: arguments, -E from the environment, HOME.
    dict(name="non-UTF-8 argument, HOME, -E NAME, control characters in -E", trigger=L4,
         opts=["-l", "127.0.0.1:{P}", "-E", "FOO", "-E", "B=a\x01\x1bb"], args=["x\udcffy"],
         env={"HOME": "/h\udcff", "FOO": "f\udcfe\x01"}),
    dict(name="empty --fdname fields dropped (a::b, :c:)", opts=["-l", "127.0.0.1:{P}", "-l", "{D}/b", "-l", "{D}/c",
                                                                  "--fdname=a::b", "--fdname=:c:"], trigger=L4),
    dict(name="accept tcp4", opts=["-a", "-l", "127.0.0.1:{P}"], trigger=L4, accept=True),
    dict(name="accept unix + fdname", opts=["--accept", "-l", "{D}/acc", "--fdname=conn"], trigger=("unix", "{D}/acc"), accept=True),
    dict(name="accept ignored SIGUSR2 reset", opts=["-a", "-l", "127.0.0.1:{P}"], trigger=L4, accept=True, ignore_usr2=True),
    dict(name="accept seqpacket", opts=["-a", "--seqpacket", "-l", "{D}/asp"], trigger=("seqpacket", "{D}/asp"), accept=True),
    dict(name="inetd accept", opts=["--inetd", "-a", "-l", "127.0.0.1:{P}"], trigger=L4, accept=True),
    dict(name="inetd listening socket", opts=["--inetd", "-l", "127.0.0.1:{P}"], trigger=L4),
    dict(name="port in hex", opts=["-l", "127.0.0.1:{HEX}"], trigger=L4),
    dict(name="port in octal, binary, with +", opts=["-l", "127.0.0.1:{OCT}", "-l", "[::1]:{BIN}", "-l", "127.0.0.2:+{P}"], trigger=L4),
    dict(name="interface after the port", opts=["-l", "127.0.0.1:{P}%lo", "-l", "[::1]:{P}%1"], trigger=L4),
    dict(name="getopt: bundled/attached/abbreviated", opts=["-l127.0.0.1:{P}", "--fdn=x", "--list", "{D}/z"], trigger=L4),
]

# Options and addresses that must fail with both launchers (nothing is bound
# that is not loopback: 192.0.2.1 is TEST-NET, never assigned here).
ERRORS = [
    ["--bogus", "-l", "127.0.0.1:{P}"], ["-l"], ["-d", "--seqpacket", "-l", "127.0.0.1:{P}"], ["-d", "-a", "-l", "127.0.0.1:{P}"],
    ["-l", "0"], ["-l", "65536"], ["-l", "127.0.0.1"], ["-l", "127.0.0.1:0"], ["-l", "127.0.0.1:http"], ["-l", "localhost:{P}"],
    ["-l", "[::1]"], ["-l", "::1:{P}"], ["-l", "[::1:{P}"], ["-l", "1.2.3:{P}"], ["-l", "relative/path"],
    ["-l", "/" + "x" * 120], ["-l", "@" + "y" * 120], ["-E", "1X=y", "-l", "127.0.0.1:{P}"], ["-E", "A-B", "-l", "127.0.0.1:{P}"],
    [],  # no socket at all
    ["-l", "192.0.2.1:{P}"], ["-l", "/proc/version/x.sock"], ["-l", "127.0.0.1:{BUSY}"],
    ["-E", "A=x\udcffy", "-l", "127.0.0.1:{P}"],  # an inline -E value must be UTF-8
]


def main():
    for sc in SCENARIOS:
        port, p2, p3, *extra = free_ports(10)
        sc = dict(sc)

        def fix(s):
            for i, e in enumerate(extra):
                s = s.replace("{I%d}" % i, str(e))
            return s.replace("{P2}", str(p2)).replace("{P3}", str(p3))
        sc["opts"] = [fix(o) for o in sc["opts"]]
        sc["trigger"] = (sc["trigger"][0], fix(sc["trigger"][1]))
        sc["inherit"] = [(k, fix(a)) for k, a in sc.get("inherit", [])]
        a = run(SYSTEMD, sc, port)
        b = run(SDFD, sc, port)
        if sc.get("fails"):
            first = lambda e: (e.strip().splitlines() or [""])[-1]
            check(f"both fail: {sc['name']} (exit {a[1]} / {b[1]}): {first(b[2])}",
                  a[0] is None and b[0] is None and a[1] == b[1] and a[1] not in (0, None), f"systemd: {a}\nsdfd: {b}")
            continue
        if a[0] is None:
            check(sc["name"], False, f"systemd-socket-activate did not run the probe: {a[2]}")
            continue
        ok = a[0] == b[0] and a[1] == b[1]
        detail = ""
        if not ok:
            import difflib
            detail = "".join(difflib.unified_diff((a[0] or "").splitlines(True), (b[0] or "").splitlines(True),
                                                  "systemd-socket-activate", "sdfd-activate"))
            detail += f"\nexit: {a[1]} vs {b[1]}\nsdfd stderr: {b[2]}"
        check(f"same view: {sc['name']} ({len(a[0].splitlines())} lines)", ok, detail)
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    for opts in ERRORS:
        port = free_port()
        o = [x.replace("{BUSY}", str(busy.getsockname()[1])) for x in opts]
        # A trailing "-l" would take the probe's path as a unix socket
        # address (and replace the file with a socket): run it bare.
        sc = dict(opts=o, trigger=L4, bare=o[-1:] == ["-l"])
        a = run(SYSTEMD, sc, port)
        b = run(SDFD, sc, port)
        ok = a[0] is None and b[0] is None and a[1] != 0 and b[1] not in (0, None) and "sdfd-activate:" in b[2]
        check(f"both refuse {o!r} (exit {a[1]} / {b[1]}): {b[2].strip().splitlines()[0] if b[2].strip() else ''}", ok,
              f"systemd: {a}\nsdfd: {b}")
    busy.close()
    shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(summary())


main()
