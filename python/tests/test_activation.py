"""End to end under /usr/bin/systemd-socket-activate: real passed sockets.

Each scenario starts systemd-socket-activate with several named sockets of
different kinds, triggers it with a real client, and lets the activated
child (tests/activated_child.py) classify the descriptors and serve one
exchange per socket through socket objects. The same scenario runs with
python-systemd and with sdfd, and the two reports are compared.
"""

from __future__ import annotations

import http.client
import socket
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import pytest

from conftest import Activation, exchange, make_spec, read_reply

STREAM_SOCKETS = (("web", "tcp4"), ("web6", "tcp6"), ("ctl", "unix"), ("api", "tcp4", "socket_or_bind"))
DGRAM_SOCKETS = (("metrics", "udp4"), ("metrics6", "udp6"), ("log", "unix-dgram"))
SEQPACKET_SOCKETS = (("seq", "unix-seqpacket"), ("seq2", "unix-seqpacket"))

SCENARIOS: Dict[str, Tuple[Sequence[Sequence[str]], Sequence[str]]] = {
    "stream": (STREAM_SOCKETS, ()),
    "datagram": (DGRAM_SOCKETS, ("--datagram",)),
    "seqpacket": (SEQPACKET_SOCKETS, ("--seqpacket",)),
}


def run_check(impl: str, scenario: str, tmp: Path) -> Tuple[List[Dict[str, Any]], Dict[str, Any], List[str]]:
    items, flags = SCENARIOS[scenario]
    tmp = tmp / impl
    tmp.mkdir()
    spec = make_spec(tmp, *items)
    act = Activation(impl, "check", spec, tmp, flags)
    try:
        clients = [exchange(s, tmp, f"hello-{s['name']}") for s in spec]
        replies = [read_reply(c) for c in clients]
        report = act.report()
        assert act.wait() == 0, act.output()
    finally:
        act.stop()
    return spec, report, replies


_reports: Dict[Tuple[str, str], Any] = {}


@pytest.fixture
def checked(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    def get(impl: str, scenario: str) -> Tuple[List[Dict[str, Any]], Dict[str, Any], List[str]]:
        key = (impl, scenario)
        if key not in _reports:
            _reports[key] = run_check(impl, scenario, tmp_path)
        return _reports[key]
    return get


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_sdfd_activated(checked: Any, scenario: str) -> None:
    spec, report, replies = checked("sdfd", scenario)
    fds = list(range(3, 3 + len(spec)))
    assert report["env_before"]["LISTEN_FDS"] == str(len(spec))
    assert report["env_before"]["LISTEN_PID"] == "<PID>"
    assert report["listen_fds_with_names(False)"] == [[fd, s["name"]] for fd, s in zip(fds, spec)]
    assert report["listen_fds()"] == fds
    assert report["listen_fds() again"] == []
    assert report["env_after"] == {"LISTEN_PID": None, "LISTEN_FDS": None, "LISTEN_FDNAMES": None}
    assert report["os.environ has LISTEN_FDS"] is False  # python-systemd leaves os.environ stale

    for s in spec:
        c = report["checks"][s["name"]]
        inet = "port" in s
        assert c["is_socket"] is True
        assert c["is_socket(family,type,listening)"] is True
        assert c["is_socket(other type)"] is False
        assert c["is_fifo"] is False and c["is_mq"] is False
        assert c["is_socket_unix"] is (not inet)
        assert c["is_socket_unix(any)"] is (not inet)
        assert c["is_socket_unix(wrong path)"] is False
        assert c["is_socket_inet"] is inet
        assert c["is_socket_inet(any)"] is inet
        assert c["is_socket_inet(other family)"] is False
        assert c["is_socket_inet(wrong port)"] is False
        if inet:
            assert c["is_socket_sockaddr"] is True
            assert c["is_socket_sockaddr(no port)"] is True
            assert c["is_socket_sockaddr(wrong port)"] is False

    # Socket objects with the right family and type, on the passed descriptors.
    family = {"tcp4": "AF_INET", "udp4": "AF_INET", "tcp6": "AF_INET6", "udp6": "AF_INET6"}
    stype = {"udp4": "SOCK_DGRAM", "udp6": "SOCK_DGRAM", "unix-dgram": "SOCK_DGRAM",
             "unix-seqpacket": "SOCK_SEQPACKET"}
    assert len(report["objects"]) == len(spec)
    for fd, s, obj in zip(fds, spec, report["objects"]):
        assert obj["fileno"] == fd
        assert obj["family"] == family.get(s["kind"], "AF_UNIX")
        assert obj["type"] == stype.get(s["kind"], "SOCK_STREAM")
        assert obj["blocking"] is True
        assert obj["sockname"] == (s["port"] if "port" in s else s["path"])
    assert report["left over"] == []

    # The exchange really went through each returned socket object.
    assert report["served"] == [f"hello-{s['name']}" for s in spec]
    for s, reply in zip(spec, replies):
        assert reply == f"sdfd:{s['name']}:{obj_family(s)}:{stype.get(s['kind'], 'SOCK_STREAM')} hello-{s['name']}"


def obj_family(s: Dict[str, Any]) -> str:
    return {"tcp4": "AF_INET", "udp4": "AF_INET", "tcp6": "AF_INET6", "udp6": "AF_INET6"}.get(s["kind"], "AF_UNIX")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_same_as_python_systemd_when_activated(checked: Any, scenario: str) -> None:
    _, theirs, their_replies = checked("systemd", scenario)
    _, ours, _ = checked("sdfd", scenario)
    for key in ("env_before", "listen_fds_with_names(False)", "checks", "listen_fds()", "listen_fds() again",
                "env_after", "served"):
        assert ours[key] == theirs[key], key
    assert their_replies[0].startswith("systemd:")


@pytest.mark.parametrize("impl", ["systemd", "sdfd"])
def test_accept_mode(impl: str, tmp_path: Path) -> None:
    """--accept: descriptor 3 is the connection itself (unnamed, not listening)."""
    spec = make_spec(tmp_path, ("conn", "tcp4"))
    act = Activation(impl, "accept", spec, tmp_path, ("--accept",), fdnames=None)
    try:
        reply = read_reply(exchange(spec[0], tmp_path, "ping"))
        report = act.report()
    finally:
        act.stop()
    assert reply == f"{impl} accepted ping"
    assert report["listen_fds_with_names"] == [[3, "unknown"]]
    assert report["is_socket(listening=0)"] is True
    assert report["is_socket(listening=1)"] is False
    if impl == "sdfd":
        assert report["peer_is_loopback"] is True
        assert report["left over"] == {}
        assert report["env_after"] == {"LISTEN_PID": None, "LISTEN_FDS": None, "LISTEN_FDNAMES": None}


def test_unnamed_sockets_are_unknown(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, ("unknown", "tcp4"), ("unknown", "unix"))
    act = Activation("sdfd", "check", spec, tmp_path, fdnames=None)
    try:
        replies = [read_reply(exchange(s, tmp_path, "x")) for s in spec]
        report = act.report()
    finally:
        act.stop()
    assert report["env_before"]["LISTEN_FDNAMES"] is None
    assert report["listen_fds_with_names(False)"] == [[3, "unknown"], [4, "unknown"]]
    assert replies == ["sdfd:unknown:AF_INET:SOCK_STREAM x", "sdfd:unknown:AF_UNIX:SOCK_STREAM x"]


def test_asyncio_servers_on_activated_sockets(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, ("web", "tcp4"), ("ctl", "unix"), ("web6", "tcp6"))
    act = Activation("sdfd", "asyncio", spec, tmp_path)
    try:
        clients = [exchange(s, tmp_path, f"hi-{s['name']}") for s in spec]
        replies = [read_reply(c) for c in clients]
        report = act.report()
        assert act.wait() == 0
    finally:
        act.stop()
    assert replies == [f"asyncio:{s['name']} hi-{s['name']}" for s in spec]
    assert report == {"served": sorted(f"hi-{s['name']}" for s in spec), "left over": {}}


@pytest.mark.parametrize("mode", ["http", "wsgi"])
def test_socketserver_on_activated_socket(mode: str, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, ("web", "tcp4"), ("other", "unix"))
    act = Activation("sdfd", mode, spec, tmp_path)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", spec[0]["port"], timeout=60)
        conn.request("GET", "/hello")
        resp = conn.getresponse()
        body = resp.read().decode()
        conn.close()
        report = act.report()
        assert act.wait() == 0
    finally:
        act.stop()
    assert resp.status == 200
    port = spec[0]["port"]
    assert body == ("http:/hello" if mode == "http" else f"wsgi:/hello:{port}")
    assert report == {"server_port": port, "fileno": 3}


def test_asgi_server_on_activated_socket(tmp_path: Path) -> None:
    """uvicorn (an ASGI server) serving on the activated socket."""
    spec = make_spec(tmp_path, ("web", "tcp4"))
    act = Activation("sdfd", "asgi", spec, tmp_path)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", spec[0]["port"], timeout=60)
        conn.request("GET", "/asgi")
        resp = conn.getresponse()
        body = resp.read().decode()
        conn.close()
        report = act.report()
        assert act.wait() == 0, act.output()
    finally:
        act.stop()
    assert (resp.status, body) == (200, "asgi:/asgi")
    assert report == {"fileno": 3, "server": ["127.0.0.1", spec[0]["port"]]}


def test_port_is_free_again_after_activation(tmp_path: Path) -> None:
    """Sanity check of the harness: nothing keeps listening after a run."""
    spec = make_spec(tmp_path, ("web", "tcp4"))
    act = Activation("sdfd", "check", spec, tmp_path)
    try:
        read_reply(exchange(spec[0], tmp_path, "x"))
        act.report()
        act.wait()
    finally:
        act.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", spec[0]["port"]), timeout=5)
