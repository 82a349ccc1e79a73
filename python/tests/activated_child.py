#!/usr/bin/env python3
"""The service that tests start under ``systemd-socket-activate``.

    activated_child.py IMPL MODE SPEC_JSON REPORT_PATH

IMPL is ``systemd`` (python-systemd, run by /usr/bin/python3) or ``sdfd``.
SPEC_JSON lists the sockets in the order they were passed:
``[{"name": "web", "kind": "tcp4", "port": 8080}, {"name": "ctl", "kind": "unix",
"path": "/tmp/x.sock"}, ...]`` (kinds: tcp4 tcp6 udp4 udp6 unix unix-dgram
unix-seqpacket).

MODE:
The JSON report goes to REPORT_PATH (written atomically when done).

  check    classify every descriptor with the ``daemon`` API (the part
           compared between implementations), then serve one exchange per
           socket through socket objects and print a JSON report on stdout.
  accept   (-a/--accept) descriptor 3 is a connected socket: report and echo.
  asyncio  (sdfd) serve one connection per stream socket with asyncio.start_server
           on sockets from sdfd.socket_or_bind.
  http     (sdfd) one request with http.server via sdfd.bind_server.
  wsgi     (sdfd) one request with wsgiref via sdfd.bind_server.
  asgi     (sdfd) one request with uvicorn on the socket from sdfd.socket_or_bind.
"""

from __future__ import annotations

import ctypes
import json
import os
import socket
import sys
from typing import Any, Dict, List

IMPL, MODE, SPEC, REPORT = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
if IMPL == "systemd":
    from systemd import daemon
else:
    from sdfd import daemon  # type: ignore[no-redef]

libc = ctypes.CDLL(None)
libc.getenv.restype = ctypes.c_char_p
libc.getenv.argtypes = [ctypes.c_char_p]

FAMILY = {"tcp4": socket.AF_INET, "tcp6": socket.AF_INET6, "udp4": socket.AF_INET, "udp6": socket.AF_INET6,
          "unix": socket.AF_UNIX, "unix-dgram": socket.AF_UNIX, "unix-seqpacket": socket.AF_UNIX}
TYPE = {"tcp4": socket.SOCK_STREAM, "tcp6": socket.SOCK_STREAM, "udp4": socket.SOCK_DGRAM,
        "udp6": socket.SOCK_DGRAM, "unix": socket.SOCK_STREAM, "unix-dgram": socket.SOCK_DGRAM,
        "unix-seqpacket": socket.SOCK_SEQPACKET}


def env() -> Dict[str, Any]:
    out = {}
    for k in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        v = libc.getenv(k.encode())
        out[k] = None if v is None else v.decode().replace(str(os.getpid()), "<PID>")
    return out


def attempt(func: Any, *args: Any) -> Any:
    try:
        return func(*args)
    except Exception as e:  # noqa: BLE001
        return f"{type(e).__name__}: {e}"


def classify(fd: int, spec: Dict[str, Any], listening: int) -> Dict[str, Any]:
    fam, kind = FAMILY[spec["kind"]], TYPE[spec["kind"]]
    other = socket.SOCK_DGRAM if kind != socket.SOCK_DGRAM else socket.SOCK_STREAM
    out: Dict[str, Any] = {
        "is_socket": attempt(daemon.is_socket, fd),
        "is_socket(family,type,listening)": attempt(daemon.is_socket, fd, fam, kind, listening),
        "is_socket(other type)": attempt(daemon.is_socket, fd, fam, other),
        "is_socket(not listening)": attempt(daemon.is_socket, fd, 0, 0, 1 - listening if listening >= 0 else 0),
        "is_fifo": attempt(daemon.is_fifo, fd),
        "is_mq": attempt(daemon.is_mq, fd),
        "is_socket_unix": attempt(daemon.is_socket_unix, fd, kind, listening, spec.get("path")),
        "is_socket_unix(any)": attempt(daemon.is_socket_unix, fd),
        "is_socket_unix(wrong path)": attempt(daemon.is_socket_unix, fd, 0, -1, "/nonexistent/x.sock"),
        "is_socket_inet": attempt(daemon.is_socket_inet, fd, fam if fam != socket.AF_UNIX else 0, kind, listening,
                                  spec.get("port", 0)),
        "is_socket_inet(any)": attempt(daemon.is_socket_inet, fd),
        "is_socket_inet(other family)": attempt(daemon.is_socket_inet, fd, socket.AF_INET6 if fam == socket.AF_INET
                                                else socket.AF_INET),
        "is_socket_inet(wrong port)": attempt(daemon.is_socket_inet, fd, 0, 0, -1, 1),
    }
    if "port" in spec:
        host = "127.0.0.1" if fam == socket.AF_INET else "[::1]"
        out["is_socket_sockaddr"] = attempt(daemon.is_socket_sockaddr, fd, f"{host}:{spec['port']}", kind, 0, listening)
        out["is_socket_sockaddr(no port)"] = attempt(daemon.is_socket_sockaddr, fd, host)
        out["is_socket_sockaddr(wrong port)"] = attempt(daemon.is_socket_sockaddr, fd, f"{host}:1")
    return out


def serve_one(sock: socket.socket, name: str) -> str:
    """One exchange: read a line (or datagram), answer with what we are."""
    tag = f"{IMPL}:{name}:{sock.family.name}:{sock.type.name}"
    if sock.type == socket.SOCK_DGRAM:
        data, peer = sock.recvfrom(4096)
        sock.sendto(b"%s %s\n" % (tag.encode(), data.strip()), peer)
        return data.decode().strip()
    conn, _ = sock.accept()
    with conn:
        data = conn.recv(4096)
        conn.sendall(b"%s %s\n" % (tag.encode(), data.strip()))
    return data.decode().strip()


def mode_check() -> Dict[str, Any]:
    report: Dict[str, Any] = {"env_before": env()}
    names = daemon.listen_fds_with_names(False)
    report["listen_fds_with_names(False)"] = sorted(names.items())
    listening = {socket.SOCK_DGRAM: -1}
    checks = {}
    for i, spec in enumerate(SPEC):
        fd = daemon.LISTEN_FDS_START + i
        lst = listening.get(TYPE[spec["kind"]], 1)
        checks[spec["name"]] = classify(fd, spec, lst)
    report["checks"] = checks
    report["listen_fds()"] = daemon.listen_fds()
    report["listen_fds() again"] = daemon.listen_fds()
    report["env_after"] = env()
    report["os.environ has LISTEN_FDS"] = "LISTEN_FDS" in os.environ

    served: List[str] = []
    objects: List[Dict[str, Any]] = []
    left_over: List[Any] = []
    if IMPL == "sdfd":
        import sdfd

        # The environment is gone now; the pythonic layer works from what was
        # read before (a fresh ListenFds from the names we got).
        fds = sdfd.ListenFds(names)
        socks = []
        for spec in SPEC:
            kind = TYPE[spec["kind"]]
            if spec.get("via") == "socket_or_bind":
                # an activated socket wins over the fallback address
                s = fds.socket_or_bind(spec["name"], ("127.0.0.1", 1), type=kind)
            else:
                s = fds.get_socket(spec["name"], kind)
            socks.append(s)
            objects.append({"family": s.family.name, "type": s.type.name, "fileno": s.fileno(),
                            "blocking": s.getblocking(),
                            "sockname": s.getsockname() if s.family == socket.AF_UNIX else s.getsockname()[1]})
        left_over = sorted(fds.names().items())
        for spec, s in zip(SPEC, socks):
            served.append(serve_one(s, spec["name"]))
            s.close()
    else:
        for i, spec in enumerate(SPEC):
            s = socket.socket(fileno=daemon.LISTEN_FDS_START + i)
            served.append(serve_one(s, spec["name"]))
            s.close()
    report["objects"] = objects
    report["left over"] = left_over
    report["served"] = served
    return report


def mode_accept() -> Dict[str, Any]:
    report: Dict[str, Any] = {"listen_fds_with_names": sorted(daemon.listen_fds_with_names(False).items())}
    report["is_socket(listening=0)"] = daemon.is_socket(3, 0, socket.SOCK_STREAM, 0)
    report["is_socket(listening=1)"] = daemon.is_socket(3, 0, socket.SOCK_STREAM, 1)
    if IMPL == "sdfd":
        import sdfd

        conn = sdfd.get_socket()
        assert conn is not None
        report["peer_is_loopback"] = conn.getpeername()[0] == "127.0.0.1"
        report["left over"] = sdfd.names()
    else:
        daemon.listen_fds()
        conn = socket.socket(fileno=3)
    with conn:
        data = conn.recv(4096)
        conn.sendall(b"%s accepted %s\n" % (IMPL.encode(), data.strip()))
    report["env_after"] = env()
    return report


def mode_asyncio() -> Dict[str, Any]:
    import asyncio

    import sdfd

    served: List[str] = []

    async def main() -> None:
        done = asyncio.Event()
        pending = {s["name"] for s in SPEC}

        def handler(name: str) -> Any:
            async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                line = await reader.readline()
                served.append(line.decode().strip())
                writer.write(f"asyncio:{name} {line.decode().strip()}\n".encode())
                await writer.drain()
                writer.close()
                pending.discard(name)
                if not pending:
                    done.set()
            return handle

        servers = []
        for spec in SPEC:
            sock = sdfd.socket_or_bind(spec["name"], ("127.0.0.1", 0))
            if sock.family == socket.AF_UNIX:
                servers.append(await asyncio.start_unix_server(handler(spec["name"]), sock=sock))
            else:
                servers.append(await asyncio.start_server(handler(spec["name"]), sock=sock))
        await asyncio.wait_for(done.wait(), 30)
        for server in servers:
            server.close()
            await server.wait_closed()

    asyncio.run(main())
    return {"served": sorted(served), "left over": sdfd.names()}


def mode_http() -> Dict[str, Any]:
    import http.server

    import sdfd

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = f"http:{self.path}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    # The fallback address (port 1) is never used: the activated socket must win.
    httpd = sdfd.bind_server(http.server.HTTPServer, ("127.0.0.1", 1), Handler, name=SPEC[0]["name"])
    with httpd:
        info = {"server_port": httpd.server_port, "fileno": httpd.fileno()}
        httpd.handle_request()
    return info


def mode_wsgi() -> Dict[str, Any]:
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

    import sdfd

    def app(environ: Dict[str, Any], start_response: Any) -> List[bytes]:
        body = f"wsgi:{environ['PATH_INFO']}:{environ['SERVER_PORT']}".encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = sdfd.bind_server(WSGIServer, ("127.0.0.1", 1), QuietHandler, name=SPEC[0]["name"])
    server.set_app(app)
    with server:
        info = {"server_port": server.server_port, "fileno": server.fileno()}
        server.handle_request()
    return info


def mode_asgi() -> Dict[str, Any]:
    import uvicorn

    import sdfd

    seen: Dict[str, Any] = {}

    async def app(scope: Dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = f"asgi:{scope['path']}".encode()
        seen["server"] = list(scope["server"] or [])
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
        server.should_exit = True  # one request is enough

    sock = sdfd.socket_or_bind(SPEC[0]["name"], ("127.0.0.1", 1))
    seen["fileno"] = sock.fileno()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    server.run(sockets=[sock])
    return seen


if __name__ == "__main__":
    result = {"check": mode_check, "accept": mode_accept, "asyncio": mode_asyncio, "http": mode_http,
              "wsgi": mode_wsgi, "asgi": mode_asgi}[MODE]()
    with open(REPORT + ".tmp", "w") as f:
        json.dump(result, f)
    os.replace(REPORT + ".tmp", REPORT)
