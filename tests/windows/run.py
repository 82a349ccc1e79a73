#!/usr/bin/env python3
"""Windows suite cases: runs the test child under wine, started by the test
launcher (tests/windows/launcher.c), by systemfd, or bare with crafted
variables, and checks what sdfd reports. Each check prints ok/FAIL; the last
line is "N passed, N failed". Usage: run.py DIR (built by run.sh)."""
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sdfdtest import check, port_free, summary  # noqa: E402
from sdfdtest import free_port as _free_port, free_ports  # noqa: E402

W = sys.argv[1]
CHILDREN = ["child-dll.exe", "child-static.exe"]


def free_port(kind=socket.SOCK_STREAM):
    return _free_port(kind=kind)


def request(port, out):
    end = time.time() + 30
    while time.time() < end:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=1)
        except OSError:
            time.sleep(0.1)
            continue
        try:
            s.settimeout(30)
            s.sendall(b"ping")
            out.append(s.recv(200).decode(errors="replace"))
        except OSError as e:
            out.append(f"error {e}")
        finally:
            s.close()
        return
    out.append("could not connect")


def run(argv, env=None, serve_port=None, timeout=90):
    """wine ARGV in W; returns (rc, {key: value}, text, reply)."""
    e = {k: v for k, v in os.environ.items()
         if not k.startswith(("SYSTEMFD_", "LISTEN_", "NOTIFY_", "WATCHDOG_"))}
    e.update(env or {})
    reply = []
    t = None
    if serve_port:
        t = threading.Thread(target=request, args=(serve_port, reply))
        t.start()
    try:
        p = subprocess.run(["wine"] + argv, cwd=W, env=e, capture_output=True, timeout=timeout)
        rc, text = p.returncode, (p.stdout + p.stderr).decode(errors="replace").replace("\r", "")
    except subprocess.TimeoutExpired as x:
        rc, text = -1, "timeout after %ss\n%s" % (timeout, (x.stdout or b"").decode(errors="replace"))
    if t:
        t.join(35)
    kv = {}
    for line in text.splitlines():
        if line.startswith("launcher: "):
            line = line[len("launcher: "):]
        for tok in line.split():
            if "=" in tok:
                k, v = tok.split("=", 1)
                kv[k] = v
    return rc, kv, text, (reply[0] if reply else None)


def expect(name, kv, text, **want):
    bad = {k: (kv.get(k), v) for k, v in want.items() if kv.get(k) != str(v)}
    check(name, not bad, f"got/want: {bad}\n{text}" if bad else "")


# 0. What was built: exports, imports, link modes.
def objdump(f):
    return subprocess.run(["x86_64-w64-mingw32-objdump", "-p", os.path.join(W, f)],
                          capture_output=True, text=True).stdout


dll = objdump("sdfd.dll")
exports = sorted(l.split()[-1] for l in dll.split("[Ordinal/Name Pointer] Table", 1)[-1].split("\n\n", 1)[0].splitlines()
                 if l.strip().startswith("["))
want = sorted("sd_booted sd_is_fifo sd_is_mq sd_is_socket sd_is_socket_inet sd_is_socket_sockaddr sd_is_socket_unix "
              "sd_is_special sd_listen_fds sd_listen_fds_with_names sd_notify sd_notify_barrier sd_notifyf sd_pid_notify "
              "sd_pid_notify_barrier sd_pid_notify_with_fds sd_pid_notifyf sd_pid_notifyf_with_fds sd_watchdog_enabled "
              "sdfd_activate_socket sdfd_listen_socket".split())
check("sdfd.dll exports exactly the 19 sd_* functions, sdfd_activate_socket and sdfd_listen_socket", exports == want, exports)
imports = sorted(set(l.split(":", 1)[1].strip().lower() for l in dll.splitlines() if "DLL Name:" in l))
check("sdfd.dll imports only kernel32, msvcrt, ntdll, ws2_32 (no bcryptprimitives)",
      imports == ["kernel32.dll", "msvcrt.dll", "ntdll.dll", "ws2_32.dll"], imports)
check("child-dll.exe imports sdfd.dll", "DLL Name: sdfd.dll" in objdump("child-dll.exe"))
check("child-static.exe does not import sdfd.dll", "sdfd.dll" not in objdump("child-static.exe").lower())

# 1. Activation by the test launcher, served request, both link modes.
for child in CHILDREN:
    tcp, udp = free_port(), free_port(socket.SOCK_DGRAM)
    rc, kv, text, reply = run(["launcher.exe", "-s", f"127.0.0.1:{tcp}", "-s", f"udp:127.0.0.1:{udp}",
                               "--", child, "serve"], serve_port=tcp)
    check(f"{child}: served a TCP request through the received socket", reply == "pong n=2 got=ping",
          f"reply={reply!r}\n{text}")
    expect(f"{child}: count 2, cached (one launcher connection), env consumed only with unset", kv, text,
           listen_fds=2, listen_fds_again=2, connections=1, exit=0, env_server_kept=1, env_server_after_unset=0,
           env_secret_after_unset=0, os_env_server_after_unset=0)
    expect(f"{child}: names default to unknown", kv, text, with_names=2, names="unknown,unknown")
    expect(f"{child}: sdfd_listen_socket gives the sockets in order; past the end -ENXIO; NULL -EINVAL", kv, text,
           socket0=0, socket1=0, socket0_port=tcp, socket1_port=udp, socket_past_end="-ENXIO", untouched=1,
           listen_socket_null="-EINVAL")
    line0 = next((l for l in text.splitlines() if l.startswith("socket0=")), "")
    line1 = next((l for l in text.splitlines() if l.startswith("socket1=")), "")
    check(f"{child}: sd_is_socket* on the TCP socket (listening stream, inet, not unix, not inherited)",
          "tcp_listening=1 udp=0 inet_any=1 unix=0 inherit=0" in line0, text)
    check(f"{child}: sd_is_socket* on the UDP socket", "tcp_listening=0 udp=1 inet_any=1 unix=0 inherit=0" in line1, text)
    check(f"{child}: sd_is_socket_inet port and sd_is_socket_sockaddr match",
          text.count("port_match=1 port_mismatch=0 sockaddr_match=1 v6=0") == 2, text)

# 2. Names from LISTEN_FDNAMES; a count mismatch is -EINVAL for the names call only.
tcp, udp = free_port(), free_port(socket.SOCK_DGRAM)
spec = ["-s", f"127.0.0.1:{tcp}", "-s", f"udp:127.0.0.1:{udp}"]
rc, kv, text, _ = run(["launcher.exe"] + spec + ["--", "child-dll.exe"], env={"LISTEN_FDNAMES": "web:dns"})
expect("LISTEN_FDNAMES names the sockets", kv, text, listen_fds=2, with_names=2, names="web,dns")
rc, kv, text, _ = run(["launcher.exe"] + spec + ["--", "child-dll.exe"], env={"LISTEN_FDNAMES": "web"})
expect("LISTEN_FDNAMES with the wrong count: names call -EINVAL, count still 2", kv, text,
       listen_fds=2, with_names="-EINVAL", socket0=0)
rc, kv, text, _ = run(["launcher.exe", "--mode", "braced"] + spec + ["--", "child-dll.exe"])
expect("secret given as {UPPER-CASE} UUID is normalised and accepted", kv, text, listen_fds=2, connections=1)

# 3. Not activated: every other call of the API on Windows.
for child in CHILDREN:
    rc, kv, text, _ = run([child])
    expect(f"{child}: not activated: 0, sdfd_listen_socket -ENXIO", kv, text,
           listen_fds=0, listen_fds_again=0, with_names=0, names="", socket_past_end="-ENXIO", untouched=1)
    expect(f"{child}: sd_is_socket: INVALID_SOCKET -EBADF, file 0, closed handle -EBADF, unbound socket by family",
           kv, text, is_socket_invalid="-EBADF", is_socket_file=0, is_socket_closed="-EBADF",
           is_socket_unbound=1, unbound_inet=1, unbound_listening=0, is_socket_badtype="-EINVAL")
    expect(f"{child}: sd_is_fifo/special/mq: -ENOSYS (negative fd -EBADF)", kv, text,
           is_fifo="-ENOSYS", is_fifo_neg="-EBADF", is_special="-ENOSYS", is_mq="-ENOSYS")
    expect(f"{child}: notify without NOTIFY_SOCKET is 0; booted 0; watchdog 0", kv, text,
           notify=0, notifyf=0, barrier=0, booted=0, watchdog=0)
rc, kv, text, _ = run(["child-dll.exe"], env={"NOTIFY_SOCKET": "/run/systemd/notify", "WATCHDOG_USEC": "5000000"})
expect("NOTIFY_SOCKET set: -EAFNOSUPPORT; WATCHDOG_USEC honoured", kv, text,
       notify="-EAFNOSUPPORT", notifyf="-EAFNOSUPPORT", barrier="-EAFNOSUPPORT", watchdog=1)

# 4. Garbage in the variables.
good = "0b7e1d52-1c8f-4a7a-9d55-3c1f6d1e2a90"
dead = f"127.0.0.1:{free_port()}"
for label, env in [
    ("server not an address", {"SYSTEMFD_SOCKET_SERVER": "garbage", "SYSTEMFD_SOCKET_SECRET": good}),
    ("server port out of range", {"SYSTEMFD_SOCKET_SERVER": "127.0.0.1:99999", "SYSTEMFD_SOCKET_SECRET": good}),
    ("server IPv6 literal that is not one", {"SYSTEMFD_SOCKET_SERVER": "[::zz]:80", "SYSTEMFD_SOCKET_SECRET": good}),
    ("server port 0", {"SYSTEMFD_SOCKET_SERVER": "[::1]:0", "SYSTEMFD_SOCKET_SECRET": good}),
    ("server host name (not a literal)", {"SYSTEMFD_SOCKET_SERVER": "localhost:80", "SYSTEMFD_SOCKET_SECRET": good}),
    ("secret not a UUID", {"SYSTEMFD_SOCKET_SERVER": dead, "SYSTEMFD_SOCKET_SECRET": "not-a-uuid"}),
    ("secret missing", {"SYSTEMFD_SOCKET_SERVER": dead}),
    ("server missing", {"SYSTEMFD_SOCKET_SECRET": good}),
]:
    rc, kv, text, _ = run(["child-static.exe"], env=env)
    expect(f"{label}: -EINVAL", kv, text, listen_fds="-EINVAL", listen_fds_again="-EINVAL", with_names="-EINVAL",
           env_server_after_unset=0, env_secret_after_unset=0)
rc, kv, text, _ = run(["child-static.exe"], env={"SYSTEMFD_SOCKET_SERVER": dead, "SYSTEMFD_SOCKET_SECRET": good})
expect("no launcher at the address: -ECONNREFUSED", kv, text, listen_fds="-ECONNREFUSED")

# 5. Misbehaving launchers.
spec = ["-s", f"127.0.0.1:{free_port()}"]
for mode, want in [("gone", "-ECONNREFUSED"), ("short", "-EPROTO"), ("garbage", "-EPROTO"),
                   ("wrong-pid", "-EPROTO"), ("wrong-secret", "0"), ("hang", "-ETIMEDOUT")]:
    rc, kv, text, _ = run(["launcher.exe", "--mode", mode] + spec + ["--", "child-static.exe"])
    expect(f"launcher {mode}: {want}", kv, text, listen_fds=want, listen_fds_again=want, exit=0)
    if mode == "hang":
        ms = int(kv.get("elapsed_ms", "-1"))
        check(f"launcher hang: gives up after the 5 s bound ({ms} ms)", 4900 <= ms <= 8000, text)

# 6. The real systemfd (crates.io, built for windows-gnu) as the launcher.
if not os.path.exists(os.path.join(W, "systemfd.exe")):
    log = open(os.path.join(W, "systemfd-build.log"), errors="replace").read()[-2000:]
    check("systemfd built for x86_64-pc-windows-gnu", False, log)
else:
    for child in CHILDREN:
        tcp, udp = free_port(), free_port(socket.SOCK_DGRAM)
        rc, kv, text, reply = run(["systemfd.exe", "-s", f"tcp::127.0.0.1:{tcp}", "-s", f"udp::127.0.0.1:{udp}",
                                   "--", child, "serve"], serve_port=tcp)
        check(f"systemfd -> {child}: served a TCP request", reply == "pong n=2 got=ping", f"reply={reply!r}\n{text}")
        expect(f"systemfd -> {child}: 2 sockets in -s order, names unknown", kv, text, listen_fds=2, listen_fds_again=2,
               names="unknown,unknown", socket0_port=tcp, socket1_port=udp, socket_past_end="-ENXIO", serve="ok")
    rc, kv, text, _ = run(["systemfd.exe", "-q", "--", "child-dll.exe"])
    expect("systemfd without -s: 0 sockets (empty reply)", kv, text, listen_fds=0, socket_past_end="-ENXIO")

# 7. sdfd-activate.exe: the systemfd protocol server, with names.
A = "sdfd-activate.exe"


def wait_port_free(port, secs=15):
    end = time.time() + secs
    while time.time() < end:
        if port_free(port):
            return True
        time.sleep(0.2)
    return False


rc, kv, text, _ = run([A, "--version"])
check("sdfd-activate.exe --version", rc == 0 and "sdfd-activate " in text, text)
rc, kv, text, _ = run([A, "--help"])
check("sdfd-activate.exe --help", rc == 0 and "--fdname" in text, text)
for args, what in [(["--accept"], "--accept"), (["--inetd"], "--inetd"), (["--notify"], "--notify"),
                   (["--wait-ready"], "--notify"), (["--seqpacket"], "--seqpacket")]:
    rc, kv, text, _ = run([A, "-l", str(free_port())] + args + ["probe.exe", "exit", "0"])
    check(f"{' '.join(args)}: exit 2, '{what} is not supported on Windows'",
          rc == 2 and f"{what} is not supported on Windows" in text, f"rc={rc}\n{text}")
for addr in ["/tmp/sdfd-test.sock", "@abstract"]:
    rc, kv, text, _ = run([A, "-l", addr, "probe.exe", "exit", "0"])
    check(f"-l {addr}: exit 2, unix sockets not supported on Windows",
          rc == 2 and "unix sockets cannot be passed" in text, f"rc={rc}\n{text}")
rc, kv, text, _ = run([A, "-l", "127.0.0.1:99999", "probe.exe", "exit", "0"])
check("-l with a bad port: exit 1 with the address named", rc == 1 and "127.0.0.1:99999" in text, f"rc={rc}\n{text}")
busy = socket.socket()
busy.bind(("127.0.0.1", 0))
busy.listen()
rc, kv, text, _ = run([A, "-l", f"127.0.0.1:{busy.getsockname()[1]}", "probe.exe", "exit", "0"])
busy.close()
check("-l on a port in use: exit 1, 'failed to bind'", rc == 1 and "failed to bind" in text, f"rc={rc}\n{text}")

# (a) the C child takes its socket by name; started on the first connection.
t1, t2 = free_ports(2)
rc, kv, text, reply = run([A, "-l", f"127.0.0.1:{t1}", "-l", f"127.0.0.1:{t2}", "--fdname=web:admin",
                           "probe.exe", "byname", "admin"], serve_port=t2)
check("sdfd-activate -> C child (sdfd.dll): socket 'admin' by name serves the request on the second port",
      reply == "pong admin names=web,admin got=ping" and rc == 0, f"rc={rc} reply={reply!r}\n{text}")
expect("sdfd-activate -> C child: sd_listen_fds_with_names gives the --fdname names", kv, text,
       with_names=2, names="web,admin", byname=0, count=1)
for child in CHILDREN:
    rc, kv, text, reply = run([A, "--now", "-l", f"127.0.0.1:{t1}", "--fdname=web", child, "serve"], serve_port=t1)
    check(f"sdfd-activate --now -> {child}: served a request", reply == "pong n=1 got=ping", f"reply={reply!r}\n{text}")
    expect(f"sdfd-activate --now -> {child}: one socket named web", kv, text, listen_fds=1, names="web", socket0_port=t1)
    check(f"sdfd-activate --now -> {child}: the child's exit status 0 is the launcher's", rc == 0, f"rc={rc}")
u = free_port(socket.SOCK_DGRAM)
rc, kv, text, _ = run([A, "--now", "-d", "-l", f"127.0.0.1:{u}", "child-dll.exe"])
line0 = next((l for l in text.splitlines() if l.startswith("socket0=")), "")
check("sdfd-activate -d: a UDP socket (sd_is_socket*: datagram, inet)",
      kv.get("listen_fds") == "1" and "udp=1 inet_any=1" in line0 and kv.get("names") == "unknown", text)
rc, kv, text, reply = run([A, "--now", "-l", str(t1), "-E", "GREETING=hi", "child-dll.exe", "serve"],
                          serve_port=t1)
check("sdfd-activate -l PORT (IPv6 wildcard, IPv4 too): served over 127.0.0.1", reply == "pong n=1 got=ping",
      f"reply={reply!r}\n{text}")

# (b) a Rust child using crates.io's listenfd, unmodified.
if not os.path.exists(os.path.join(W, "listenfd-child.exe")):
    log = open(os.path.join(W, "listenfd-build.log"), errors="replace").read()[-2000:]
    check("listenfd child built for x86_64-pc-windows-gnu", False, log)
else:
    rc, kv, text, reply = run([A, "-l", f"127.0.0.1:{t1}", "--fdname=web", "listenfd-child.exe"], serve_port=t1)
    check("sdfd-activate -> listenfd (crates.io) child: served a request", reply == "pong listenfd" and rc == 0,
          f"rc={rc} reply={reply!r}\n{text}")
    expect("sdfd-activate -> listenfd child: 1 socket", kv, text, listenfd_len=1, serve="ok")
    if os.path.exists(os.path.join(W, "systemfd.exe")):
        rc, kv, text, reply = run(["systemfd.exe", "-q", "-s", f"tcp::127.0.0.1:{t1}", "--", "listenfd-child.exe"],
                                  serve_port=t1)
        check("systemfd -> the same listenfd child: served a request (same behaviour)",
              reply == "pong listenfd", f"reply={reply!r}\n{text}")

# (c) the same C child under the real systemfd (names from LISTEN_FDNAMES, which systemfd passes on).
if os.path.exists(os.path.join(W, "systemfd.exe")):
    rc, kv, text, reply = run(["systemfd.exe", "-q", "-s", f"tcp::127.0.0.1:{t1}", "--", "probe.exe", "byname", "web"],
                              env={"LISTEN_FDNAMES": "web"}, serve_port=t1)
    check("systemfd -> C child by name (LISTEN_FDNAMES in the environment): served", reply == "pong web names=web got=ping",
          f"reply={reply!r}\n{text}")

# The protocol server's checks.
rc, kv, text, _ = run([A, "--now", "-l", f"127.0.0.1:{t1}", "-l", f"127.0.0.1:{t2}", "probe.exe", "request", "good"])
expect("request with the secret and own pid: two 628-byte records", kv, text, reply_bytes=1256)
rc, kv, text, _ = run([A, "--now", "-l", f"127.0.0.1:{t1}", "probe.exe", "request", "badsecret"])
expect("wrong secret: closed without a byte", kv, text, reply_bytes=0)
check("wrong secret: logged", "refused a socket request: wrong secret" in text, text)
rc, kv, text, _ = run([A, "--now", "-l", f"127.0.0.1:{t1}", "probe.exe", "request", "badpid"])
check("pid of a process outside the launcher's job (the launcher's own): refused",
      kv.get("reply_bytes") == "0" and kv.get("pid_sent", "0") != "0" and "is not the launcher's child" in text, text)
rc, kv, text, _ = run([A, "--now", "-l", f"127.0.0.1:{t1}", "probe.exe", "request", "stall"])
check("a connection that sends nothing does not hold up the next request",
      kv.get("reply_bytes") == "628" and kv.get("stall_open") == "1" and int(kv.get("request_ms", "99999")) < 3000, text)

# A child that exits at once: its status is the launcher's.
rc, kv, text, _ = run([A, "--now", "-l", f"127.0.0.1:{t1}", "probe.exe", "exit", "7"])
check("child exits at once with 7: launcher exits 7", rc == 7, f"rc={rc}\n{text}")
rc, kv, text, _ = run([A, "--now", "-l", f"127.0.0.1:{t1}", "no-such-program.exe"])
check("command not found: exit 1, 'failed to execute'", rc == 1 and "failed to execute" in text, f"rc={rc}\n{text}")


def start(argv):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("SYSTEMFD_", "LISTEN_"))}
    return subprocess.Popen(["wine"] + argv, cwd=W, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def finish(p):
    p.kill()
    try:
        out, _ = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        out = b""
    return out.decode(errors="replace").replace("\r", "")


# Restart after a crash: the first child ends as a crashed process does; the
# pending connection waits in the launcher's socket for the restarted one.
mark = os.path.join(W, "crash.mark")
if os.path.exists(mark):
    os.remove(mark)
p = start([A, "--restart", "--restart-delay=0.2", "-l", f"127.0.0.1:{t1}", "--fdname=web",
           "probe.exe", "crash-once", "crash.mark", "web"])
out = []
request(t1, out)
second = []
request(t1, second)
time.sleep(1)
alive = p.poll() is None
text = finish(p)
check("restart after a crash: the restarted child serves the pending request",
      out == ["pong web names=web got=ping"] and "exited with status 0xc0000005, restarting" in text, f"{out}\n{text}")
check("--restart: a child that exited 0 is restarted too and serves the next request",
      second == ["pong web names=web got=ping"] and alive, f"{second} alive={alive}\n{text}")
# The third child holds a duplicate of the socket, waiting in accept: when
# the launcher is killed, the job object ends it and the port is free.
freed = wait_port_free(t1)
time.sleep(1)
ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
check("launcher killed: its child (holding the socket) ends with it (job object)",
      freed and "probe.exe crash-once" not in ps, [l for l in ps.splitlines() if "probe" in l] + [text])

# A child that never asks for its sockets: the launcher keeps serving the port
# (connections queue) and the child ends with the launcher.
p = start([A, "--now", "-l", f"127.0.0.1:{t1}", "probe.exe", "sleep"])
time.sleep(3)
try:
    socket.create_connection(("127.0.0.1", t1), timeout=5).close()
    queued = True
except OSError:
    queued = False
alive = p.poll() is None
text = finish(p)
check("child that never connects: launcher keeps running, port accepts connections", queued and alive and "sleeping" in text,
      f"queued={queued} alive={alive}\n{text}")
time.sleep(2)
ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
check("child that never connects: gone after the launcher was killed", "probe.exe sleep" not in ps,
      [l for l in ps.splitlines() if "probe" in l])

sys.exit(summary())
