#!/usr/bin/env python3
"""Launcher benchmark (make bench-launcher): sdfd-activate against
systemd-socket-activate and tcpserver (ucspi-tcp) in one run, with the same
responder (bench/ok-inetd.c, static: writes "ok" and exits) and the same
load generator (bench/connload.c).

Per-connection mode (`--inetd -a`; tcpserver's only mode): conn/s and
p50/p99 latency at concurrency 1 and 4, without and with CPU contention
(three busy loops started here); the launcher's own CPU time per connection
(/proc/PID/schedstat, nanoseconds); its peak RSS. Normal mode: latency of
the first connection, which starts the daemon (bench/ok-daemon.c).
Runs are interleaved (launchers in rotated order, round after round) and
medians reported, since the machine may be shared.

    launcher.py SDFD_ACTIVATE BINDIR ROUNDS SECONDS > section.md"""
import os, signal, socket, statistics, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "lib"))
from sdfdtest import free_port, recv_all  # noqa: E402

ACT, BIN, ROUNDS, SECS = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
RESP, DAEMON, LOAD, SPIN = (os.path.join(BIN, n) for n in ("ok-inetd", "ok-daemon", "connload", "spin"))
SSA = "/usr/bin/systemd-socket-activate"


def per_connection(name, port):
    a = f"127.0.0.1:{port}"
    return {"sdfd-activate": [ACT, "--inetd", "-a", "-l", a, RESP],
            "systemd-socket-activate": [SSA, "--inetd", "-a", "-l", a, RESP],
            "tcpserver": ["tcpserver", "-R", "-H", "-l", "0", "-c", "1000", "127.0.0.1", str(port), RESP]}[name]


LAUNCHERS = ["sdfd-activate", "systemd-socket-activate", "tcpserver"]


def listening(port):
    want = f":{port:04X} "
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(f).readlines()[1:]:
            parts = line.split()
            if want in parts[1] + " " and parts[3] == "0A":
                return True
    return False


def wait_listening(port, p):
    end = time.time() + 5
    while time.time() < end and p.poll() is None:
        if listening(port):
            return True
        time.sleep(0.01)
    raise RuntimeError(f"nothing listens on {port}")


def cpu_ns(pid):
    return int(open(f"/proc/{pid}/schedstat").read().split()[0])


def cpu_with_children_ns(pid):
    """The launcher's user+system time plus that of its reaped children
    (/proc/PID/stat utime, stime, cutime, cstime; clock ticks). With
    CLONE_VFORK a child's work before execve is charged to the child, not
    the launcher: only this total compares launchers fairly. Every launcher
    runs the same static responder, so the children's share after execve
    is the same for all three."""
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    ticks = sum(int(x) for x in f[11:15])
    return ticks * 1e9 / os.sysconf("SC_CLK_TCK")


def status(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def run_load(name, conc):
    port = free_port()
    p = subprocess.Popen(per_connection(name, port), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, p)
        time.sleep(0.05)
        rss_idle = status(p.pid, "VmRSS")
        c0, t0 = cpu_ns(p.pid), cpu_with_children_ns(p.pid)
        out = subprocess.run([LOAD, str(port), str(conc), str(SECS)], capture_output=True, text=True, check=True).stdout
        # (the children of the last connections are reaped within ms)
        time.sleep(0.1)
        c1, t1 = cpu_ns(p.pid), cpu_with_children_ns(p.pid)
        hwm = status(p.pid, "VmHWM")
    finally:
        stop(p)
    n, fails, rate, p50, p99 = out.split()
    n = int(n)
    return dict(rate=float(rate), p50=float(p50), p99=float(p99), fails=int(fails), cpu_us=(c1 - c0) / 1e3 / max(n, 1),
                total_us=(t1 - t0) / 1e3 / max(n, 1), rss_idle=rss_idle, hwm=hwm, n=n)


def first_connection(name):
    port = free_port()
    a = f"127.0.0.1:{port}"
    cmd = [ACT if name == "sdfd-activate" else SSA, "-l", a, DAEMON]
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, p)
        time.sleep(0.05)
        t0 = time.perf_counter()
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        data = recv_all(s, 16)
        dt = time.perf_counter() - t0
        s.close()
        assert data == b"ok\n", data
        p.wait(5)
    finally:
        if p.poll() is None:
            stop(p)
    return dt * 1e3


def wait_profile(name, contention):
    """Where the launcher is during load at concurrency 4: /proc/PID/stat
    state and wchan sampled every millisecond."""
    spins = [subprocess.Popen([SPIN]) for _ in range(3)] if contention else []
    port = free_port()
    p = subprocess.Popen(per_connection(name, port), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    counts = {"on a CPU or runnable": 0, "waiting for a child to exec (vfork)": 0, "waiting for connections": 0, "other": 0}
    try:
        wait_listening(port, p)
        load = subprocess.Popen([LOAD, str(port), "4", str(SECS)], stdout=subprocess.DEVNULL)
        while load.poll() is None:
            try:
                state = open(f"/proc/{p.pid}/stat").read().rsplit(")", 1)[1].split()[0]
                wchan = open(f"/proc/{p.pid}/wchan").read().strip()
            except OSError:
                break
            if state == "R":
                counts["on a CPU or runnable"] += 1
            elif "clone" in wchan or "vfork" in wchan:
                counts["waiting for a child to exec (vfork)"] += 1
            elif "poll" in wchan or "accept" in wchan or "epoll" in wchan:
                counts["waiting for connections"] += 1
            else:
                counts["other"] += 1
            time.sleep(0.001)
        load.wait()
    finally:
        stop(p)
        for s in spins:
            s.kill()
            s.wait()
    total = max(sum(counts.values()), 1)
    return {k: 100 * v / total for k, v in counts.items()}


def main():
    results = {}  # (launcher, conc, contention) -> list of dicts
    for contention in (False, True):
        spins = [subprocess.Popen([SPIN]) for _ in range(3)] if contention else []
        try:
            for r in range(ROUNDS):
                for conc in (1, 4):
                    order = LAUNCHERS[r % 3:] + LAUNCHERS[:r % 3]
                    for name in order:
                        results.setdefault((name, conc, contention), []).append(run_load(name, conc))
        finally:
            for s in spins:
                s.kill()
                s.wait()
    first = {}
    for r in range(ROUNDS * 5):
        for name in (["sdfd-activate", "systemd-socket-activate"] if r % 2 == 0 else ["systemd-socket-activate", "sdfd-activate"]):
            first.setdefault(name, []).append(first_connection(name))

    profile = {(n, c): wait_profile(n, c) for c in (False, True) for n in ("sdfd-activate", "tcpserver")}

    med = lambda k, f: statistics.median(x[f] for x in results[k])
    print("| concurrency | contention | launcher | conn/s | p50 ms | p99 ms | launcher CPU µs/conn | launcher + children CPU µs/conn | failed |")
    print("|---|---|---|---|---|---|---|---|---|")
    for contention in (False, True):
        for conc in (1, 4):
            for name in LAUNCHERS:
                k = (name, conc, contention)
                print(f"| {conc} | {'3 busy loops' if contention else 'none'} | {name} | {med(k, 'rate'):.0f} | {med(k, 'p50'):.2f} | "
                      f"{med(k, 'p99'):.2f} | {med(k, 'cpu_us'):.0f} | {med(k, 'total_us'):.0f} | {sum(x['fails'] for x in results[k])} |")
    print()
    # Paired per-round ratios: sdfd-activate's conn/s over the peer's from
    # the same round (run next to each other), median and spread.
    print("Paired per-round ratios, sdfd-activate / peer (median, min–max over the rounds):")
    print()
    print("| concurrency | contention | conn/s vs tcpserver | conn/s vs systemd-socket-activate | launcher + children CPU/conn vs tcpserver |")
    print("|---|---|---|---|---|")
    for contention in (False, True):
        for conc in (1, 4):
            def paired(peer, field):
                a, b = results[("sdfd-activate", conc, contention)], results[(peer, conc, contention)]
                r = [x[field] / y[field] for x, y in zip(a, b) if y[field] > 0]
                return f"{statistics.median(r):.2f}× ({min(r):.2f}–{max(r):.2f})" if r else "n/a"
            print(f"| {conc} | {'3 busy loops' if contention else 'none'} | {paired('tcpserver', 'rate')} | "
                  f"{paired('systemd-socket-activate', 'rate')} | {paired('tcpserver', 'total_us')} |")
    print()
    print("| launcher | RSS idle (KiB) | peak RSS under load (KiB) |")
    print("|---|---|---|")
    for name in LAUNCHERS:
        rows = [x for k, v in results.items() if k[0] == name for x in v]
        print(f"| {name} | {statistics.median(x['rss_idle'] for x in rows):.0f} | {max(x['hwm'] for x in rows)} |")
    print()
    print("| launcher (normal mode) | first-connection latency, median ms | min | max |")
    print("|---|---|---|---|")
    for name in ("sdfd-activate", "systemd-socket-activate"):
        v = first[name]
        print(f"| {name} | {statistics.median(v):.2f} | {min(v):.2f} | {max(v):.2f} |")
    print()
    print("Where the launcher is at concurrency 4 (samples of /proc/PID/stat and wchan every ms, one run each):")
    print()
    keys = list(next(iter(profile.values())).keys())
    print("| launcher | contention | " + " | ".join(keys) + " |")
    print("|---|---|" + "---|" * len(keys))
    for (n, c), v in profile.items():
        print(f"| {n} | {'3 busy loops' if c else 'none'} | " + " | ".join(f"{v[k]:.0f}%" for k in keys) + " |")
    print()
    ratios = []
    for conc in (1, 4):
        for contention in (False, True):
            s, t, y = (med((n, conc, contention), "rate") for n in LAUNCHERS)
            ratios.append(f"c={conc}{' contended' if contention else ''}: {s / y:.2f}x tcpserver, {s / t:.2f}x systemd-socket-activate")
    print("Ratios of medians (sdfd-activate conn/s): " + "; ".join(ratios) + ".")


main()
