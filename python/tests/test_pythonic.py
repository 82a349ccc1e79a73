"""The pythonic layer: ListenFds, socket_or_bind (both ways), bind_server, asyncio.

In-process tests build ListenFds from descriptors made here (the pytest
process has its own descriptors at 3, 4, ..., so LISTEN_FDS cannot be faked
in-process); the environment path (from_environment) runs in child
processes that lay out descriptors 3, 4, ... themselves.
"""

from __future__ import annotations

import asyncio
import errno
import http.client
import http.server
import json
import os
import socket
import socketserver
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

import sdfd
from conftest import HERE, clean_env


@pytest.fixture
def made() -> Iterator[Dict[str, Any]]:
    """A few descriptors of different kinds, closed afterwards if still open."""
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen()
    udp = socket.socket(type=socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    unix = socket.socket(socket.AF_UNIX)
    unix.bind("\0sdfd-pythonic-%d" % os.getpid())
    unix.listen()
    r, w = os.pipe()
    objs = {"tcp": tcp, "udp": udp, "unix": unix, "pipe": r, "tcp_port": tcp.getsockname()[1],
            "udp_port": udp.getsockname()[1]}
    fds = {"tcp": tcp.detach(), "udp": udp.detach(), "unix": unix.detach(), "pipe": r}
    objs["fds"] = fds
    yield objs
    for fd in list(fds.values()) + [w]:
        try:
            os.close(fd)
        except OSError:
            pass


def test_listen_fds_hands_out_each_descriptor_once(made: Dict[str, Any]) -> None:
    fds = made["fds"]
    lf = sdfd.ListenFds([(fds["tcp"], "web"), (fds["udp"], "web"), (fds["unix"], "ctl"), (fds["pipe"], "fifo")])
    assert len(lf) == 4
    assert lf.names() == {fds["tcp"]: "web", fds["udp"]: "web", fds["unix"]: "ctl", fds["pipe"]: "fifo"}
    assert "web" in repr(lf)

    web = lf.sockets("web")
    assert [(s.fileno(), s.family, s.type) for s in web] == [
        (fds["tcp"], socket.AF_INET, socket.SOCK_STREAM), (fds["udp"], socket.AF_INET, socket.SOCK_DGRAM)]
    assert web[0].getsockname() == ("127.0.0.1", made["tcp_port"])
    assert lf.sockets("web") == []
    assert lf.get_socket("web") is None

    # A pipe is not a socket: sockets() leaves it, take_fds() hands it out.
    assert lf.sockets("fifo") == []
    assert lf.get_socket("ctl", socket.SOCK_DGRAM) is None
    ctl = lf.get_socket("ctl", socket.SOCK_STREAM)
    assert ctl is not None and ctl.family == socket.AF_UNIX and ctl.getsockname().startswith(b"\0sdfd-pythonic")
    assert lf.names() == {fds["pipe"]: "fifo"}
    assert lf.take_fds("fifo") == [fds["pipe"]]
    assert lf.take_fds() == [] and len(lf) == 0
    for s in web + [ctl]:
        s.detach()  # the fixture closes the numbers


def test_sockets_without_name_takes_all_sockets_in_order(made: Dict[str, Any]) -> None:
    fds = made["fds"]
    lf = sdfd.ListenFds({fds["pipe"]: "a", fds["unix"]: "b", fds["tcp"]: "c"})
    got = lf.sockets()
    assert [s.fileno() for s in got] == [fds["unix"], fds["tcp"]]
    assert lf.names() == {fds["pipe"]: "a"}
    for s in got:
        s.detach()


def test_activated_socket_accepts_a_connection(made: Dict[str, Any]) -> None:
    fds = made["fds"]
    lf = sdfd.ListenFds({fds["tcp"]: "web"})
    # The fallback address is already taken by the activated socket itself, so
    # binding it would fail: getting a socket back proves nothing was bound.
    sock = lf.socket_or_bind("web", ("127.0.0.1", made["tcp_port"]))
    assert sock.fileno() == fds["tcp"]
    with socket.create_connection(("127.0.0.1", made["tcp_port"]), timeout=10) as client:
        conn, _ = sock.accept()
        with conn:
            client.sendall(b"ping")
            assert conn.recv(4) == b"ping"
    sock.detach()


def test_socket_or_bind_falls_back_to_binding() -> None:
    lf = sdfd.ListenFds()
    sock = lf.socket_or_bind("web", ("127.0.0.1", 0))
    with sock:
        assert sock.family == socket.AF_INET and sock.type == socket.SOCK_STREAM
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 1
        port = sock.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=10):
            conn, _ = sock.accept()
            conn.close()


def test_fallback_families_and_types(tmp_path: Path) -> None:
    lf = sdfd.ListenFds()
    with lf.socket_or_bind(None, ("::1", 0)) as s6:
        assert s6.family == socket.AF_INET6 and s6.getsockname()[0] == "::1"
    with lf.socket_or_bind(None, ("::1", 0, 0, 0)) as s6b:
        assert s6b.family == socket.AF_INET6
    with lf.socket_or_bind(None, ("127.0.0.1", 0), type=socket.SOCK_DGRAM) as udp:
        assert udp.type == socket.SOCK_DGRAM
        assert udp.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 0
    path = tmp_path / "fallback.sock"
    with lf.socket_or_bind(None, path) as us:  # a PathLike
        assert us.family == socket.AF_UNIX and us.getsockname() == str(path)
        assert us.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
    with lf.socket_or_bind(None, str(tmp_path / "seq.sock"), type=socket.SOCK_SEQPACKET) as sq:
        assert sq.type == socket.SOCK_SEQPACKET
    with lf.socket_or_bind(None, ("127.0.0.1", 0), family=socket.AF_INET, backlog=1) as s4:
        assert s4.family == socket.AF_INET
    with pytest.raises(TypeError):
        lf.socket_or_bind(None, 8080)  # type: ignore[arg-type]


def test_stale_unix_socket_file_is_replaced_but_a_live_one_is_not(tmp_path: Path) -> None:
    path = str(tmp_path / "app.sock")
    old = socket.socket(socket.AF_UNIX)
    old.bind(path)
    old.close()  # the file stays behind, nobody listens
    lf = sdfd.ListenFds()
    with pytest.raises(OSError) as e:
        lf.socket_or_bind(None, path, unlink_stale=False)
    assert e.value.errno == errno.EADDRINUSE
    with lf.socket_or_bind(None, path) as live:
        assert live.getsockname() == path
        with pytest.raises(OSError) as e2:
            lf.socket_or_bind(None, path)  # someone is listening: keep it
        assert e2.value.errno == errno.EADDRINUSE
        assert os.path.exists(path)
    # a stale datagram socket file is recognised as stale too
    dpath = str(tmp_path / "d.sock")
    d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    d.bind(dpath)
    d.close()
    with lf.socket_or_bind(None, dpath, type=socket.SOCK_DGRAM) as d2:
        assert d2.getsockname() == dpath
    # a regular file is never removed
    fpath = tmp_path / "file"
    fpath.write_text("keep")
    with pytest.raises(OSError):
        lf.socket_or_bind(None, str(fpath))
    assert fpath.read_text() == "keep"


def test_socket_or_bind_refuses_a_misconfigured_activation(made: Dict[str, Any]) -> None:
    fds = made["fds"]
    lf = sdfd.ListenFds({fds["udp"]: "web", fds["pipe"]: "fifo", fds["tcp"]: "other"})
    with pytest.raises(ValueError, match="'web' are not SOCK_STREAM sockets"):
        lf.socket_or_bind("web", ("127.0.0.1", 0))
    with pytest.raises(ValueError, match="'fifo'"):
        lf.socket_or_bind("fifo", ("127.0.0.1", 0))
    assert len(lf) == 3  # nothing was handed out
    # name None: the first socket of the right type, whatever its name
    s = lf.socket_or_bind(None, ("127.0.0.1", 0))
    assert s.fileno() == fds["tcp"]
    s.detach()
    d = lf.socket_or_bind("web", ("127.0.0.1", 0), type=socket.SOCK_DGRAM)
    assert d.fileno() == fds["udp"]
    d.detach()


def test_nonblocking_descriptor_gives_nonblocking_socket(made: Dict[str, Any]) -> None:
    fd = made["fds"]["tcp"]
    os.set_blocking(fd, False)
    s = sdfd.ListenFds({fd: "x"}).get_socket("x")
    assert s is not None
    assert s.getblocking() is False and s.gettimeout() == 0.0
    with pytest.raises(BlockingIOError):
        s.accept()
    s.detach()
    os.set_blocking(fd, True)
    s2 = sdfd.ListenFds({fd: "x"}).get_socket("x")
    assert s2 is not None and s2.getblocking() is True and s2.gettimeout() is None
    s2.detach()


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = f"hello {self.path} via {self.server.server_address[1]}".encode()  # type: ignore[index]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _get(port: int, path: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    resp = conn.getresponse()
    assert resp.status == 200
    body = resp.read().decode()
    conn.close()
    return body


@pytest.mark.parametrize("activated", [True, False], ids=["activated", "fallback"])
def test_bind_server_http(activated: bool, made: Dict[str, Any]) -> None:
    fds = made["fds"]
    lf = sdfd.ListenFds({fds["tcp"]: "web"} if activated else {})
    httpd = lf.bind_server(http.server.ThreadingHTTPServer, ("127.0.0.1", 0), _Hello, name="web")
    port = httpd.server_port
    if activated:
        assert port == made["tcp_port"] and httpd.fileno() == fds["tcp"]
        fds.pop("tcp")  # the server owns it now
    else:
        assert port not in (0, made["tcp_port"])
    assert httpd.server_address == ("127.0.0.1", port)
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    t.start()
    try:
        assert _get(port, "/x") == f"hello /x via {port}"
        assert _get(port, "/y") == f"hello /y via {port}"
    finally:
        httpd.shutdown()
        t.join()
        httpd.server_close()


def test_bind_server_udp_and_unix(made: Dict[str, Any], tmp_path: Path) -> None:
    fds = made["fds"]

    class Echo(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            data, sock = self.request
            sock.sendto(b"echo " + data, self.client_address)

    lf = sdfd.ListenFds({fds["udp"]: "metrics"})
    server = lf.bind_server(socketserver.UDPServer, ("127.0.0.1", 0), Echo, name="metrics")
    fds.pop("udp")
    with server:
        assert server.server_address == ("127.0.0.1", made["udp_port"])
        with socket.socket(type=socket.SOCK_DGRAM) as c:
            c.settimeout(10)
            c.sendto(b"hi", server.server_address)
            server.handle_request()
            assert c.recv(100) == b"echo hi"

    class Line(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.wfile.write(b"got " + self.rfile.readline())

    path = str(tmp_path / "srv.sock")
    userver = sdfd.ListenFds().bind_server(socketserver.UnixStreamServer, path, Line, name="ctl")
    with userver:
        assert userver.server_address == path
        with socket.socket(socket.AF_UNIX) as c:
            c.settimeout(10)
            c.connect(path)
            c.sendall(b"line\n")
            userver.handle_request()
            assert c.recv(100) == b"got line\n"


def test_bind_server_closes_socket_when_server_init_fails(made: Dict[str, Any]) -> None:
    fds = made["fds"]
    lf = sdfd.ListenFds({fds["tcp"]: "web"})
    with pytest.raises(TypeError):
        lf.bind_server(http.server.HTTPServer, ("127.0.0.1", 0), _Hello, name="web", bogus=1)
    with pytest.raises(OSError):
        os.fstat(fds.pop("tcp"))  # closed, not leaked


@pytest.mark.parametrize("activated", [True, False], ids=["activated", "fallback"])
def test_asyncio_start_server(activated: bool, made: Dict[str, Any]) -> None:
    fds = made["fds"]
    lf = sdfd.ListenFds({fds["tcp"]: "web"} if activated else {})

    async def main() -> str:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"async " + await reader.readline())
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, sock=lf.socket_or_bind("web", ("127.0.0.1", 0)))
        port = server.sockets[0].getsockname()[1]
        assert (port == made["tcp_port"]) is activated
        async with server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"ping\n")
            line = await reader.readline()
            writer.close()
            await writer.wait_closed()
        return line.decode()

    assert asyncio.run(main()) == "async ping\n"
    if activated:
        fds.pop("tcp")  # closed by the server


def test_module_level_functions_without_activation(clean_environ: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import sdfd._activation as act

    monkeypatch.setattr(act, "_default", None)
    assert sdfd.names() == {}
    assert sdfd.sockets() == [] and sdfd.get_socket("web") is None and sdfd.take_fds() == []
    assert sdfd.activation() is sdfd.activation()
    with sdfd.socket_or_bind("web", ("127.0.0.1", 0)) as s:
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
    server = sdfd.bind_server(socketserver.TCPServer, ("127.0.0.1", 0), socketserver.BaseRequestHandler)
    with server:
        assert server.server_address[1] != 0


# ---------------------------------------------------------------------------
# from_environment, in a child process with descriptors 3, 4, 5 laid out.

CHILD = textwrap.dedent("""
    import fcntl, json, os, socket, sys
    objs = []
    t = socket.socket(); t.bind(("127.0.0.1", 0)); t.listen(); objs.append(t.detach())
    u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); objs.append(u.detach())
    r, w = os.pipe(); os.close(w); objs.append(r)
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in objs]
    for fd in objs: os.close(fd)
    for i, fd in enumerate(high): os.dup2(fd, 3 + i); os.close(fd)
    os.environ["LISTEN_PID"] = str(os.getpid())
    for k, v in json.loads(sys.argv[1]).items():
        os.environ[k] = v
    if sys.argv[2] == "bytes-names":
        os.environb[b"LISTEN_FDNAMES"] = b"caf\\xe9:b:c"
    import ctypes
    import sdfd
    out = {}

    def c_activate(name):  # C code in this process: sdfd_activate_socket through the binding's loader
        arr, n = ctypes.POINTER(ctypes.c_int)(), ctypes.c_size_t()
        import sdfd._lib
        r = sdfd._lib.load().c.sdfd_activate_socket(name, ctypes.byref(arr), ctypes.byref(n))
        return [r, [arr[i] for i in range(n.value)]]

    if sys.argv[2] == "c-took":
        out["c_before"] = c_activate(b"log")
    if sys.argv[2] == "escapes":
        from sdfd import daemon
        try:
            out["library"] = sorted(daemon.listen_fds_with_names(False).items())
        except OSError as e:
            out["library"] = ["OSError", e.errno]
    try:
        lf = sdfd.ListenFds.from_environment(unset_environment=sys.argv[2] not in ("keep", "c-took"))
        out["names"] = sorted(lf.names().items())
        socks = lf.sockets()  # keep them open
        out["sockets"] = [(s.fileno(), s.family.name, s.type.name) for s in socks]
        out["left"] = sorted(lf.names().items())
        if sys.argv[2] == "c-took":
            out["c_after"] = [c_activate(b"web"), c_activate(b"fifo")]
    except Exception as e:
        out["error"] = [type(e).__name__, getattr(e, "errno", None)]
    out["environ"] = sorted(k for k in os.environ if k.startswith("LISTEN_"))
    if sys.argv[2] == "bytes-names":
        from sdfd import daemon
        os.environ["LISTEN_PID"] = str(os.getpid()); os.environ["LISTEN_FDS"] = "3"
        os.environb[b"LISTEN_FDNAMES"] = b"caf\\xe9:b:c"
        try:
            daemon.listen_fds_with_names()
        except Exception as e:
            out["daemon"] = type(e).__name__
    print(json.dumps(out))
""")


def child(env: Dict[str, str], mode: str = "unset") -> Dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(env), mode], capture_output=True, text=True,
                          timeout=60, env=clean_env(), cwd=str(HERE))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_from_environment_names_sockets_and_unset() -> None:
    out = child({"LISTEN_FDS": "3", "LISTEN_FDNAMES": "web:log:fifo"})
    assert out["names"] == [[3, "web"], [4, "log"], [5, "fifo"]]
    assert out["sockets"] == [[3, "AF_INET", "SOCK_STREAM"], [4, "AF_UNIX", "SOCK_DGRAM"]]
    assert out["left"] == [[5, "fifo"]]
    assert out["environ"] == []  # os.environ reflects the unset


def test_from_environment_keep() -> None:
    out = child({"LISTEN_FDS": "2"}, "keep")
    assert out["names"] == [[3, "unknown"], [4, "unknown"]]
    assert out["environ"] == ["LISTEN_FDS", "LISTEN_PID"]


@pytest.mark.parametrize("env,err", [({"LISTEN_FDS": "abc"}, 22), ({"LISTEN_FDS": "3", "LISTEN_FDNAMES": "a:b"}, 22),
                                     ({"LISTEN_FDS": "9"}, 9), ({"LISTEN_FDS": "99999999999"}, 34)])
def test_from_environment_garbage(env: Dict[str, str], err: int) -> None:
    out = child(env)
    assert out["error"] == ["OSError", err]
    assert out["environ"] == []


def test_one_taken_set_with_c_code_in_the_process() -> None:
    """A name C code took (sdfd_activate_socket) is not handed out by Python, and a name
    Python's ListenFds holds is EALREADY for C code: the library's taken set is the one."""
    out = child({"LISTEN_FDS": "3", "LISTEN_FDNAMES": "web:log:fifo"}, "c-took")
    assert out["c_before"] == [0, [4]]
    assert out["names"] == [[3, "web"], [5, "fifo"]]
    assert out["sockets"] == [[3, "AF_INET", "SOCK_STREAM"]]
    assert out["c_after"] == [[-errno.EALREADY, []], [-errno.EALREADY, []]]


def test_escaped_names_as_the_library_splits_them() -> None:
    """``a\\:b`` in LISTEN_FDNAMES is the one name ``a:b`` (systemd's escapes), as the library says."""
    out = child({"LISTEN_FDS": "3", "LISTEN_FDNAMES": "a\\:b:c\\\\:d"}, "escapes")
    assert out["library"] == [[3, "a:b"], [4, "c\\"], [5, "d"]]
    assert out["names"] == out["library"]
    out = child({"LISTEN_FDS": "3", "LISTEN_FDNAMES": "a:b:c\\"}, "escapes")
    assert out["library"] == ["OSError", errno.EINVAL]
    assert out["error"] == out["library"]


def test_names_that_are_not_utf8() -> None:
    """os.environ-style decoding in the pythonic layer; python-systemd's strict
    decoding in the drop-in (UnicodeDecodeError; python-systemd itself ends in
    SystemError there)."""
    out = child({"LISTEN_FDS": "3"}, "bytes-names")
    assert out["names"] == [[3, "caf\udce9"], [4, "b"], [5, "c"]]
    assert out["daemon"] == "UnicodeDecodeError"


def test_public_api_is_exported() -> None:
    for name in sdfd.__all__:
        assert hasattr(sdfd, name), name
    assert issubclass(sdfd.LibraryNotFoundError, ImportError)
    assert sdfd.daemon.LISTEN_FDS_START == 3
    assert os.path.samefile(sdfd.library_path(), sdfd.daemon._LIB.path)
    with pytest.raises(AttributeError):
        sdfd.no_such_thing  # noqa: B018
    assert isinstance(sdfd.__version__, str)
    typed = Path(sdfd.__file__).parent / "py.typed"
    assert typed.exists()


def test_the_installed_package_is_under_test() -> None:
    """pip install ./python, not the source tree on sys.path."""
    source = (HERE.parent / "sdfd").resolve()
    assert Path(sdfd.__file__).resolve().parent != source
    assert "site-packages" in Path(sdfd.__file__).resolve().parts


def test_the_path_under_test() -> None:
    """python/run-tests.sh runs this suite twice: on the wheel's extension module
    sdfd._native (SDFD_PY_NATIVE=1) and through ctypes. Make sure each run is on
    the path it claims, and that the extension path never imports ctypes."""
    expect = os.environ.get("SDFD_PY_EXPECT")
    assert expect in ("native", "ctypes"), "python/run-tests.sh sets SDFD_PY_EXPECT"
    code = ("import sys, sdfd.daemon as d; d.listen_fds(); "
            "print(d._NATIVE, 'ctypes' in sys.modules, type(d._LIB).__name__)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTEN_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60,
                         check=True).stdout.split()
    assert out == (["True", "False", "module"] if expect == "native" else ["False", "True", "Library"])
    assert sdfd.daemon._NATIVE == (expect == "native")
