"""The Python twin of daemon.c (same arguments, signals, replies and
CTLDIR files), using sdfd.handoff; for tests/handoff/run.py."""
import os
import select
import signal
import socket
import struct
import sys
import threading

import sdfd
import sdfd.handoff

ctl = sys.argv[1]
opts = dict(zip(sys.argv[2::2], sys.argv[3::2]))
if "--receive" in opts:
    try:
        uid = int(opts["--offerer-uid"]) if "--offerer-uid" in opts else None
        sdfd.handoff.receive(opts["--receive"], int(opts.get("--timeout-ms", "10000")) / 1000, uid)
    except OSError as e:
        print("receive failed: %d %s" % (-e.errno, os.strerror(e.errno)), flush=True)
        sys.exit(3)

names = sdfd.names()
if names:
    print("activated: %d: %s" % (len(names), " ".join(names[fd] for fd in sorted(names))))
    web = sdfd.get_socket("web")
    aux = sdfd.get_socket("aux")
    state = sdfd.take_fds("state")[0]
    gen = struct.unpack("Q", os.pread(state, 8, 0))[0] + 1
else:
    web = socket.create_server(("127.0.0.1", int(opts["--port-web"])), backlog=512)
    aux = socket.create_server(("127.0.0.1", int(opts["--port-aux"])), backlog=512)
    state = os.memfd_create("state")
    gen = 0
os.pwrite(state, struct.pack("Q", gen), 0)
print("serving: gen %d web %d=%d aux %d=%d state %d" % (gen, web.fileno(), web.getsockname()[1], aux.fileno(),
                                                        aux.getsockname()[1], state), flush=True)
stop = threading.Event()


def serve():
    socks = {web.fileno(): (web, "web"), aux.fileno(): (aux, "aux")}
    for s in (web, aux):
        s.setblocking(False)
    while not stop.is_set():
        ready, _, _ = select.select(list(socks), [], [], 0.02)
        for fd in ready:
            s, name = socks[fd]
            try:
                c, _ = s.accept()
            except BlockingIOError:
                continue
            with c:
                c.settimeout(2)
                try:
                    c.recv(256)
                    c.sendall(b"%d %d %s\n" % (gen, os.getpid(), name.encode()))
                except OSError:
                    pass


signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM})
t = threading.Thread(target=serve)
t.start()
tmp = os.path.join(ctl, "pid.%d" % os.getpid())
with open(tmp, "w") as f:
    f.write("%d %d\n" % (os.getpid(), gen))
os.rename(tmp, os.path.join(ctl, "pid"))

fds = [("web", web), ("aux", aux), ("state", state)]
while True:
    sig = signal.sigwait({signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM})
    if sig == signal.SIGTERM:
        break
    try:
        if sig == signal.SIGUSR1:
            timeout, uid = 5000, -1
            try:
                with open(os.path.join(ctl, "offer.conf")) as f:
                    timeout, uid = (int(x) for x in f.read().split())
            except OSError:
                pass
            sdfd.handoff.offer(os.path.join(ctl, "handoff.sock"), fds, timeout / 1000, None if uid < 0 else uid)
            print("offer: 0 ok", flush=True)
        else:
            pid = sdfd.handoff.spawn(sys.executable, [sys.executable, os.path.abspath(__file__), ctl], fds)
            print("spawn: %d ok" % pid, flush=True)
        break
    except OSError as e:
        print("%s: %d %s" % ("offer" if sig == signal.SIGUSR1 else "spawn", -e.errno, os.strerror(e.errno)),
              flush=True)
stop.set()
t.join()
print("exiting", flush=True)
