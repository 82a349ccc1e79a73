#!/usr/bin/env python3
"""Differential probe: run one suite of calls against one implementation, print JSON.

    probe.py systemd SUITE   # python-systemd's systemd.daemon (run it with /usr/bin/python3)
    probe.py sdfd SUITE      # sdfd.daemon (run it with the interpreter sdfd is installed in)

The same calls are made in the same order under both; every outcome (value
and its type, or exception type, message, errno and filename) is recorded
with path- and port-dependent parts normalised, so that the two JSON
documents can be compared group by group (tests/test_differential.py).

Suites: listen, classify, args, notify, booted. Only the standard library is
used, so that this runs under the system interpreter too.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import re
import shutil
import socket
import sys
import tempfile
from typing import Any, Callable, Dict, List, Tuple

IMPL = sys.argv[1] if len(sys.argv) > 1 else "sdfd"
if IMPL == "systemd":
    from systemd import daemon  # noqa: E402
elif IMPL == "sdfd":
    from sdfd import daemon  # type: ignore[no-redef]  # noqa: E402
else:
    raise SystemExit(f"unknown implementation {IMPL!r}")

libc = ctypes.CDLL(None, use_errno=True)
libc.getenv.restype = ctypes.c_char_p
libc.getenv.argtypes = [ctypes.c_char_p]

PID = os.getpid()
TMP = tempfile.mkdtemp(prefix="sdfd-probe-")
ENV_VARS = ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "LISTEN_PIDFDID", "NOTIFY_SOCKET")

# Literal substitutions that make outcomes comparable across processes.
NORMALISE: List[Tuple[str, str]] = [(TMP, "<TMP>")]
PORTS: Dict[int, str] = {}  # port number -> placeholder

Group = List[Tuple[str, Any]]
RESULTS: Dict[str, Group] = {}


def norm(text: str) -> str:
    for old, new in NORMALISE:
        text = text.replace(old, new)
    for port, name in PORTS.items():
        text = re.sub(rf"(?<![0-9]){port}(?![0-9])", name, text)
    return text


def outcome(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Dict[str, Any]:
    try:
        value = func(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - recording is the point
        out: Dict[str, Any] = {"raise": type(e).__name__, "msg": norm(str(e))}
        if isinstance(e, OSError):
            out["errno"] = e.errno
            out["filename"] = norm(str(e.filename)) if e.filename is not None else None
        return out
    if isinstance(value, dict):
        value = sorted(value.items())
    return {"value": json.loads(json.dumps(value)), "type": type(value).__name__}


def record(group: str, label: str, result: Any) -> None:
    RESULTS.setdefault(group, []).append((norm(label), result))


def c_env() -> Dict[str, Any]:
    """The C-level environment (what libc getenv sees), not os.environ."""
    out = {}
    for k in ENV_VARS:
        v = libc.getenv(k.encode())
        out[k] = norm(v.decode()).replace(str(PID), "<PID>") if v is not None else None
    return out


def clear_env() -> None:
    for k in ENV_VARS:
        os.environ.pop(k, None)
        os.unsetenv(k)


def set_env(values: Dict[str, Any]) -> None:
    clear_env()
    for k, v in values.items():
        if v is not None:
            os.environ[k] = str(v).replace("$PID", str(PID))


def cloexec(fds: List[int]) -> List[Any]:
    out: List[Any] = []
    for fd in fds:
        try:
            out.append(bool(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC))
        except OSError as e:
            out.append(f"errno {e.errno}")
    return out


def clear_cloexec(fds: List[int]) -> None:
    for fd in fds:
        try:
            fcntl.fcntl(fd, fcntl.F_SETFD, 0)
        except OSError:
            pass


def place(objs: List[int], first: int = 3) -> List[int]:
    """Move the given descriptors to first, first+1, ... (which must be free otherwise)."""
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 200) for fd in objs]
    for fd in objs:
        os.close(fd)
    for fd in range(first, first + len(objs) + 1):
        try:
            os.fstat(fd)
        except OSError:
            continue
        raise SystemExit(f"probe: fd {fd} is already open; cannot lay out LISTEN_FDS")
    out = []
    for i, fd in enumerate(high):
        os.dup2(fd, first + i, inheritable=True)
        os.close(fd)
        out.append(first + i)
    return out


# ---------------------------------------------------------------------------
# listen: LISTEN_* parsing, names, unsetting, FD_CLOEXEC


def suite_listen() -> None:
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen()
    dgram = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    r, w = os.pipe()
    os.close(w)
    fds = place([tcp.detach(), dgram.detach(), r])  # 3, 4, 5 open; 6 closed

    fds_values = ["1", "2", "3", "4", " 2", "\t3", "+2", "0x2", "0X3", "0o2", "010", "02", "2 ", "", "abc", "-1",
                  "0", "-0", "99999999999", "2147483647", "2147483644", "3x", "0b11", "1e1", "\u0663"]
    pid_values = ["$PID", "1", "abc", "", "0", "-1", "99999999999", "+$PID", " $PID", "$PID ", "0x1"]
    names_values = [None, "a:b:c", "a", "a::b", ":", "", "a:b", "x:y:z:w", "web:web:web", "é:ü:ß", "a b:c\td:e"]

    cases: List[Tuple[str, Dict[str, Any]]] = [("none", {})]
    cases += [(f"fds={v!r}", {"LISTEN_PID": "$PID", "LISTEN_FDS": v}) for v in fds_values]
    cases += [(f"pid={v!r}", {"LISTEN_PID": v, "LISTEN_FDS": "2"}) for v in pid_values]
    cases += [("no-pid", {"LISTEN_FDS": "2"}), ("pid-only", {"LISTEN_PID": "$PID"})]
    for n in ("1", "2", "3", "4"):
        cases += [(f"fds={n},names={v!r}", {"LISTEN_PID": "$PID", "LISTEN_FDS": n, "LISTEN_FDNAMES": v})
                  for v in names_values]
    cases += [("pidfdid=garbage", {"LISTEN_PID": "$PID", "LISTEN_FDS": "2", "LISTEN_PIDFDID": "abc"})]

    calls: List[Tuple[str, Callable[..., Any], Tuple[Any, ...], Dict[str, Any]]] = [
        ("listen_fds()", daemon.listen_fds, (), {}),
        ("listen_fds(False)", daemon.listen_fds, (False,), {}),
        ("listen_fds(unset_environment=0)", daemon.listen_fds, (), {"unset_environment": 0}),
        ("listen_fds_with_names()", daemon.listen_fds_with_names, (), {}),
        ("listen_fds_with_names(False)", daemon.listen_fds_with_names, (False,), {}),
        ("_listen_fds()", daemon._listen_fds, (), {}),
        ("_listen_fds_with_names()", daemon._listen_fds_with_names, (), {}),
        ("_listen_fds_with_names(True)", daemon._listen_fds_with_names, (True,), {}),
    ]
    for call_label, func, args, kwargs in calls:
        group = f"listen:{call_label}"
        for label, env in cases:
            set_env(env)
            clear_cloexec(fds + [6])
            res = outcome(func, *args, **kwargs)
            record(group, label, {"result": res, "c_env": c_env(), "cloexec": cloexec(fds)})
        # Twice in a row: the second call sees what the first one left.
        set_env({"LISTEN_PID": "$PID", "LISTEN_FDS": "3", "LISTEN_FDNAMES": "a:b:c"})
        record(group, "first", outcome(func, *args, **kwargs))
        record(group, "second", outcome(func, *args, **kwargs))
    clear_env()


# ---------------------------------------------------------------------------
# classify: sd_is_* against many kinds of descriptor


class Obj:
    def __init__(self, name: str, fd: int, keep: Any = None, path: Any = None, port: int = 0) -> None:
        self.name, self.fd, self.keep, self.path, self.port = name, fd, keep, path, port


def make_objects() -> List[Obj]:
    objs: List[Obj] = []

    def sock(name: str, family: int, kind: int, addr: Any, listen: bool) -> None:
        s = socket.socket(family, kind)
        if addr is not None:
            s.bind(addr)
        if listen:
            s.listen()
        path = s.getsockname() if family == socket.AF_UNIX else None
        port = s.getsockname()[1] if family in (socket.AF_INET, socket.AF_INET6) else 0
        if port:
            PORTS[port] = f"<PORT:{name}>"
        objs.append(Obj(name, s.fileno(), s, path, port))

    sock("tcp4-listen", socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", 0), True)
    sock("tcp4-bound", socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", 0), False)
    sock("tcp6-listen", socket.AF_INET6, socket.SOCK_STREAM, ("::1", 0), True)
    sock("udp4", socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", 0), False)
    sock("udp6", socket.AF_INET6, socket.SOCK_DGRAM, ("::1", 0), False)
    sock("unix-stream", socket.AF_UNIX, socket.SOCK_STREAM, os.path.join(TMP, "stream.sock"), True)
    sock("unix-dgram", socket.AF_UNIX, socket.SOCK_DGRAM, os.path.join(TMP, "dgram.sock"), False)
    sock("unix-seqpacket", socket.AF_UNIX, socket.SOCK_SEQPACKET, os.path.join(TMP, "seq.sock"), True)
    abstract = f"\0sdfd-probe-{PID}"
    NORMALISE.append((f"sdfd-probe-{PID}", "sdfd-probe-<PID>"))
    sock("unix-abstract", socket.AF_UNIX, socket.SOCK_STREAM, abstract, True)
    sock("unix-unbound", socket.AF_UNIX, socket.SOCK_STREAM, None, False)
    a, b = socket.socketpair()
    objs.append(Obj("socketpair", a.fileno(), (a, b)))
    r, w = os.pipe()
    objs.append(Obj("pipe", r, w))
    fifo = os.path.join(TMP, "f.fifo")
    os.mkfifo(fifo)
    objs.append(Obj("fifo", os.open(fifo, os.O_RDONLY | os.O_NONBLOCK), None, fifo))
    regular = os.path.join(TMP, "regular.txt")
    with open(regular, "w") as f:
        f.write("x")
    objs.append(Obj("regular", os.open(regular, os.O_RDONLY), None, regular))
    objs.append(Obj("devnull", os.open("/dev/null", os.O_RDWR), None, "/dev/null"))
    objs.append(Obj("directory", os.open(TMP, os.O_RDONLY), None, TMP))
    libc.mq_open.restype = ctypes.c_int
    mqname = f"/sdfd-probe-{PID}"
    mq = libc.mq_open(mqname.encode(), os.O_RDWR | os.O_CREAT, 0o600, None)
    if mq < 0:
        raise SystemExit(f"probe: mq_open failed: {os.strerror(ctypes.get_errno())}")
    objs.append(Obj("mqueue", mq, None, mqname))
    objs.append(Obj("closed", 987))
    objs.append(Obj("negative", -1))
    return objs


def suite_classify() -> None:
    objs = make_objects()
    others = {"symlink-to-fifo": os.path.join(TMP, "link")}
    os.symlink(os.path.join(TMP, "f.fifo"), others["symlink-to-fifo"])
    open(os.path.join(TMP, "other.txt"), "w").close()
    other_port = 1  # nothing here is bound to port 1
    try:
        for obj in objs:
            classify(obj, objs, others, other_port)
    finally:
        libc.mq_unlink(f"/sdfd-probe-{PID}".encode())


def classify(obj: Obj, objs: List[Obj], others: Dict[str, str], other_port: int) -> None:
    fd = obj.fd
    n = obj.name
    AF_INET, AF_INET6, AF_UNIX = socket.AF_INET, socket.AF_INET6, socket.AF_UNIX
    STREAM, DGRAM, SEQ = socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_SEQPACKET

    g = f"is_socket:{n}"
    for family in (0, AF_INET, AF_INET6, AF_UNIX, socket.AF_NETLINK, -1):
        for kind in (0, STREAM, DGRAM, SEQ, -1):
            for listening in (-1, 0, 1, 2):
                record(g, f"{family},{kind},{listening}", outcome(daemon.is_socket, fd, family, kind, listening))
    record(g, "defaults", outcome(daemon.is_socket, fd))
    record(g, "keywords", outcome(daemon.is_socket, fd, type=STREAM, listening=1, family=0))
    if isinstance(obj.keep, socket.socket):
        record(g, "socket-object", outcome(daemon.is_socket, obj.keep, 0, STREAM))

    g = f"is_socket_inet:{n}"
    ports = {"0": 0, "own": obj.port, "other": other_port, "-1": -1, "65536": 65536}
    for family in (0, AF_INET, AF_INET6, AF_UNIX, -1):
        for kind in (0, STREAM, DGRAM):
            for listening in (-1, 0, 1):
                for pname, port in ports.items():
                    record(g, f"{family},{kind},{listening},{pname}",
                           outcome(daemon.is_socket_inet, fd, family, kind, listening, port))
    record(g, "defaults", outcome(daemon.is_socket_inet, fd))
    record(g, "port-keyword", outcome(daemon.is_socket_inet, fd, port=obj.port))

    g = f"is_socket_unix:{n}"
    own = obj.path if isinstance(obj.path, str) else None
    paths: Dict[str, Any] = {"None": None, "/nonexistent": "/nonexistent", "empty": "",
                             "other-file": os.path.join(TMP, "other.txt"), "abstract-str": f"\0sdfd-probe-{PID}"}
    if own:
        paths.update({"own": own, "own-bytes": own.encode(), "own-pathlike": PathLike(own)})
        if isinstance(obj.keep, socket.socket):
            paths.update({"own+x": own + "x", "own-prefix": own[:-1]})
    for kind in (0, STREAM, DGRAM, SEQ, -1):
        for listening in (-1, 0, 1):
            for pname, path in paths.items():
                record(g, f"{kind},{listening},{pname}", outcome(daemon.is_socket_unix, fd, kind, listening, path))
    record(g, "keywords", outcome(daemon.is_socket_unix, fd, path=own, listening=-1))

    g = f"is_socket_sockaddr:{n}"
    p4 = next(o.port for o in objs if o.name == "tcp4-listen")
    p6 = next(o.port for o in objs if o.name == "tcp6-listen")
    pown = obj.port or p4
    addrs = [f"127.0.0.1:{pown}", f"127.0.0.1:{p4}", f"[::1]:{p6}", f"[::1]:{pown}", "127.0.0.1", "[::1]",
             f"127.0.0.2:{pown}", f"0.0.0.0:{pown}", f"[::]:{pown}", f"{pown}", f"lo:{pown}", "lo",
             f"127.0.0.1:{other_port}", "[::ffff:127.0.0.1]", f"[::ffff:127.0.0.1]:{pown}", "::1",
             "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1: 80", "127.0.0.1:0x50", "127.0.0.1:080",
             "127.0.0.1:", ":80", "", "0", "65536", "-5", "abc", "1.2.3", "1.2.3.4.5", "[::1", "[::1]x", "[::1]:",
             "[]", "[::1]:0", "[::1]:99999999999999999999", "127.0.0.1:99999999999999999999",
             "nosuchinterface0:80", "averyveryverylonginterfacename", "[fe80::1]:80", "127.0.0.1:80x"]
    for address in addrs:
        for kind in (0, STREAM, DGRAM):
            for flowinfo in (0, 5):
                for listening in (-1, 0, 1):
                    record(g, f"{address!r},{kind},{flowinfo},{listening}",
                           outcome(daemon.is_socket_sockaddr, fd, address, kind, flowinfo, listening))
    record(g, "keywords", outcome(daemon.is_socket_sockaddr, fd, f"127.0.0.1:{pown}", listening=1, flowinfo=0))

    g = f"is_fifo:{n}"
    fpaths: Dict[str, Any] = {"None": None, "fifo": os.path.join(TMP, "f.fifo"),
                              "regular": os.path.join(TMP, "regular.txt"), "/nonexistent": "/nonexistent",
                              "/dev/null": "/dev/null", "tmpdir": TMP, "symlink-to-fifo": others["symlink-to-fifo"],
                              "notdir": os.path.join(TMP, "regular.txt", "x"), "relative": "f.fifo",
                              "fifo-bytes": os.path.join(TMP, "f.fifo").encode(), "empty": ""}
    for pname, path in fpaths.items():
        record(g, pname, outcome(daemon.is_fifo, fd, path))
    record(g, "default", outcome(daemon.is_fifo, fd))

    g = f"is_mq:{n}"
    mpaths: Dict[str, Any] = {"None": None, "own": f"/sdfd-probe-{PID}", "other": "/sdfd-no-such-queue",
                              "relative": "sdfd-probe", "empty": "", "root": "/"}
    for pname, path in mpaths.items():
        record(g, pname, outcome(daemon.is_mq, fd, path))
    record(g, "default", outcome(daemon.is_mq, fd))


class PathLike:
    def __init__(self, path: str) -> None:
        self.path = path

    def __fspath__(self) -> str:
        return self.path


# ---------------------------------------------------------------------------
# args: argument conversion and validation


class WithFileno:
    def __init__(self, value: Any) -> None:
        self.value = value

    def fileno(self) -> Any:
        if isinstance(self.value, BaseException):
            raise self.value
        return self.value


class BadBool:
    def __bool__(self) -> bool:
        raise RuntimeError("no truth value")


class Index:
    def __index__(self) -> int:
        return 0


class Seq:
    """A sequence with __len__/__getitem__ only (no list subclass)."""

    def __init__(self, *items: Any) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> Any:
        return self.items[i]


def suite_args() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    PORTS[s.getsockname()[1]] = "<PORT>"
    closed_sock = socket.socket()
    closed_sock.close()
    regular = os.path.join(TMP, "r.txt")
    open(regular, "w").close()
    closed_file = open(regular)
    closed_file.close()
    open_file = open(regular)
    fileobjs: Dict[str, Any] = {
        "socket": s, "int": s.fileno(), "bool-True": True, "bool-False": False, "Index": Index(),
        "closed-socket": closed_sock, "closed-file": closed_file, "open-file": open_file,
        "fileno-returns-str": WithFileno("3"), "fileno-returns-big": WithFileno(2**40),
        "fileno-raises-AttributeError": WithFileno(AttributeError("inner")),
        "fileno-raises-ValueError": WithFileno(ValueError("inner")),
        "str": "3", "float": 3.0, "None": None, "bytes": b"3", "list": [3], "big": 2**31, "huge": 2**64,
        "neg-big": -2**31 - 1, "neg-huge": -2**64, "negative": -1, "closed-number": 987,
    }
    funcs: Dict[str, Callable[..., Any]] = {
        "is_socket": daemon.is_socket, "is_socket_inet": daemon.is_socket_inet, "is_socket_unix": daemon.is_socket_unix,
        "is_fifo": daemon.is_fifo, "is_mq": daemon.is_mq,
        "is_socket_sockaddr": lambda f: daemon.is_socket_sockaddr(f, "127.0.0.1"),
        "_is_socket": daemon._is_socket, "_is_fifo": daemon._is_fifo, "_is_mq": daemon._is_mq,
        "_is_socket_inet": daemon._is_socket_inet, "_is_socket_unix": daemon._is_socket_unix,
        "_is_socket_sockaddr": lambda f: daemon._is_socket_sockaddr(f, "127.0.0.1"),
    }
    for fname, func in funcs.items():
        for oname, obj in fileobjs.items():
            record(f"args:fileobj:{fname}", oname, outcome(func, obj))

    ints: Dict[str, Any] = {"str": "1", "float": 1.5, "None": None, "big": 2**31, "huge": 2**64, "neg-big": -2**31 - 1,
                            "Index": Index(), "True": True, "bytes": b"1", "int-max": 2**31 - 1, "int-min": -2**31}
    fd = s.fileno()
    for pname, val in ints.items():
        for arg in ("family", "type", "listening"):
            record("args:is_socket", f"{arg}={pname}", outcome(daemon.is_socket, fd, **{arg: val}))
        for arg in ("family", "type", "listening", "port"):
            record("args:is_socket_inet", f"{arg}={pname}", outcome(daemon.is_socket_inet, fd, **{arg: val}))
        for arg in ("type", "listening"):
            record("args:is_socket_unix", f"{arg}={pname}", outcome(daemon.is_socket_unix, fd, **{arg: val}))
        for arg in ("type", "flowinfo", "listening"):
            record("args:is_socket_sockaddr", f"{arg}={pname}",
                   outcome(daemon.is_socket_sockaddr, fd, "[::1]", **{arg: val}))
    for port in (-1, 0, 1, 65535, 65536, 2**31 - 1):
        record("args:is_socket_inet", f"port={port}", outcome(daemon.is_socket_inet, fd, port=port))
    for flowinfo in (-1, 1, 2**31 - 1):
        record("args:is_socket_sockaddr", f"v6,flowinfo={flowinfo}",
               outcome(daemon.is_socket_sockaddr, fd, "[::1]", flowinfo=flowinfo))
        record("args:is_socket_sockaddr", f"v4,flowinfo={flowinfo}",
               outcome(daemon.is_socket_sockaddr, fd, "127.0.0.1", flowinfo=flowinfo))

    addresses: Dict[str, Any] = {"bytes": b"127.0.0.1", "None": None, "int": 80, "nul": "127.0.0.1\0",
                                 "surrogate": "\udc80", "nonascii": "127.0.0.\u0661", "bytearray": bytearray(b"1")}
    for aname, addr in addresses.items():
        record("args:is_socket_sockaddr", f"address={aname}", outcome(daemon.is_socket_sockaddr, fd, addr))
        record("args:is_socket_sockaddr", f"-1,address={aname}", outcome(daemon.is_socket_sockaddr, -1, addr))

    paths: Dict[str, Any] = {"int": 5, "nul-str": "a\0b", "nul-bytes": b"a\0b", "bytearray": bytearray(b"/x"),
                             "list": ["/x"], "surrogateescape": "/nonexistent-\udcff", "pathlike": PathLike("/x"),
                             "pathlike-bytes": PathLike(b"/x"), "nonascii": "/nonexistent-\u00e9"}  # type: ignore[arg-type]
    for pname, path in paths.items():
        for fname, func in (("is_fifo", daemon.is_fifo), ("is_mq", daemon.is_mq)):
            record(f"args:{fname}", f"path={pname}", outcome(func, fd, path))
            record(f"args:{fname}", f"-1,path={pname}", outcome(func, -1, path))
        record("args:is_socket_unix", f"path={pname}", outcome(daemon.is_socket_unix, fd, 0, -1, path))
        record("args:is_socket_unix", f"-1,path={pname}", outcome(daemon.is_socket_unix, -1, 0, -1, path))

    truthy: Dict[str, Any] = {"BadBool": BadBool(), "list": [], "str": "x", "None": None, "2": 2}
    for tname, val in truthy.items():
        set_env({})
        record("args:listen", f"listen_fds({tname})", outcome(daemon.listen_fds, val))
        record("args:listen", f"listen_fds_with_names({tname})", outcome(daemon.listen_fds_with_names, val))
        record("args:listen", f"_listen_fds({tname})", outcome(daemon._listen_fds, val))
        record("args:listen", f"_listen_fds(unset_environment={tname})",
               outcome(daemon._listen_fds, unset_environment=val))
        record("args:notify", f"unset_environment={tname}", outcome(daemon.notify, "READY=1", val))

    statuses: Dict[str, Any] = {"bytes": b"READY=1", "None": None, "int": 1, "nul": "READY=1\0", "surrogate": "\udc80",
                                "empty": "", "nonascii": "STATUS=\u00e9"}
    for sname, val in statuses.items():
        record("args:notify", f"status={sname}", outcome(daemon.notify, val))
    pids: Dict[str, Any] = {"-1": -1, "str": "1", "float": 1.0, "big": 2**31, "huge": 2**64, "None": None,
                            "neg-big": -2**31 - 1}
    for pname, val in pids.items():
        record("args:notify", f"pid={pname}", outcome(daemon.notify, "READY=1", pid=val))
    fdss: Dict[str, Any] = {"int": 5, "dict": {}, "set": {1}, "str": "ab", "empty-str": "", "bytes": b"\x01",
                            "generator": (x for x in [1]), "big": [2**31], "huge": [2**64], "float": [1.0],
                            "neg-big": [-2**31 - 1], "None-item": [None], "tuple": (1, 2), "empty": [],
                            "Seq": Seq(1, 2), "range": range(1, 3), "bad-then-good": [1, "x"], "Index": [Index()]}
    for fname, val in fdss.items():
        set_env({})
        record("args:notify", f"fds={fname}", outcome(daemon.notify, "FDSTORE=1", fds=val))
    # Conversion order: status before pid before fds.
    record("args:notify", "order:status+pid", outcome(daemon.notify, b"x", pid="x"))
    record("args:notify", "order:pid+fds", outcome(daemon.notify, "x", pid=-1, fds=5))
    record("args:notify", "order:unset+pid", outcome(daemon.notify, "x", BadBool(), "x"))
    record("args:order", "is_socket_inet:fd+port", outcome(daemon.is_socket_inet, "x", port=-1))
    record("args:order", "is_socket_inet:port+family", outcome(daemon.is_socket_inet, fd, "x", port=-1))
    record("args:order", "is_socket_sockaddr:address+fd", outcome(daemon.is_socket_sockaddr, "x", b"x"))
    record("args:order", "is_socket_sockaddr:parse+flowinfo", outcome(daemon.is_socket_sockaddr, fd, "zzz", 0, "x"))
    record("args:order", "is_socket_sockaddr:parse+badfd", outcome(daemon.is_socket_sockaddr, -1, "zzz"))
    record("args:order", "is_socket_sockaddr:flowinfo+badfd",
           outcome(daemon.is_socket_sockaddr, -1, "127.0.0.1", 0, 5))
    record("args:order", "is_fifo:fd+path", outcome(daemon.is_fifo, "x", 5))
    record("args:order", "is_socket_unix:type+path", outcome(daemon.is_socket_unix, fd, "x", 0, 5))
    record("args:constants", "LISTEN_FDS_START", {"value": daemon.LISTEN_FDS_START,
                                                  "type": type(daemon.LISTEN_FDS_START).__name__})
    open_file.close()


# Calls whose TypeError *message* legitimately differs (Python-level signature
# versus the C extension's argument parser); only the exception type is compared.
def suite_arity() -> None:
    record("arity", "notify()", outcome(daemon.notify))
    record("arity", "notify(5 args)", outcome(daemon.notify, "a", 0, 0, None, 5))
    record("arity", "notify(bad keyword)", outcome(daemon.notify, "a", foo=1))
    record("arity", "notify(status= twice)", outcome(daemon.notify, "a", status="b"))
    record("arity", "booted(1)", outcome(daemon.booted, 1))
    record("arity", "_is_socket(keyword)", outcome(daemon._is_socket, 0, family=0))
    record("arity", "_is_fifo()", outcome(daemon._is_fifo))
    record("arity", "_listen_fds(1, 2)", outcome(daemon._listen_fds, 1, 2))
    record("arity", "notify(status=bytes)", outcome(daemon.notify, status=b"x"))


# ---------------------------------------------------------------------------
# notify: NOTIFY_SOCKET forms, fds, pid, unsetting


def suite_notify() -> None:
    path = os.path.join(TMP, "notify.sock")
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(path)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    rx.setblocking(False)
    abstract = f"@sdfd-probe-notify-{PID}"
    NORMALISE.append((f"sdfd-probe-notify-{PID}", "sdfd-probe-notify-<PID>"))
    arx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    arx.bind("\0" + abstract[1:])
    arx.setblocking(False)
    r, w = os.pipe()
    with open(os.path.join(TMP, "plain"), "w"):
        pass

    def received(sock: socket.socket) -> Any:
        out = []
        while True:
            try:
                data, anc, _flags, _addr = sock.recvmsg(4096, socket.CMSG_SPACE(300 * 4) + socket.CMSG_SPACE(12))
            except BlockingIOError:
                return out
            msg: Dict[str, Any] = {"data": data.decode(errors="replace")}
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds = [int.from_bytes(payload[i:i + 4], sys.byteorder) for i in range(0, len(payload) - 3, 4)]
                    same = []
                    for got in fds:
                        st = os.fstat(got)
                        same.append((st.st_dev, st.st_ino) == (os.fstat(r).st_dev, os.fstat(r).st_ino))
                        os.close(got)
                    msg["fds_same_as_pipe"] = same
                elif level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = int.from_bytes(payload[0:4], sys.byteorder)
                    msg["cred_pid_is_self"] = pid == PID
            out.append(msg)

    sockets_env: Dict[str, Any] = {
        "unset": None, "path": path, "abstract": abstract, "/dev/null": "/dev/null",
        "missing": os.path.join(TMP, "missing.sock"), "regular-file": os.path.join(TMP, "plain"),
        "relative": "notify.sock", "empty": "", "/": "/", "@": "@", "too-long-path": "/" + "x" * 120,
        "too-long-abstract": "@" + "x" * 120, "vsock": "vsock:2:1234", "dir": TMP,
    }
    calls: Dict[str, Tuple[Tuple[Any, ...], Dict[str, Any]]] = {
        "READY=1": (("READY=1",), {}),
        "multi-line": (("READY=1\nSTATUS=probing \u00e9",), {}),
        "empty": (("",), {}),
        "unset": (("STOPPING=1", True), {}),
        "pid=self": (("MAINPID=1",), {"pid": PID}),
        "pid=1": (("X=1",), {"pid": 1}),
        "fds=[]": (("FDSTORE=1",), {"fds": []}),
        "fds=[pipe]": (("FDSTORE=1",), {"fds": [r]}),
        "fds=[pipe,pipe]": (("FDSTORE=1",), {"fds": (r, r)}),
        "fds=[closed]": (("FDSTORE=1",), {"fds": [987]}),
        "fds=[-1]": (("FDSTORE=1",), {"fds": [-1]}),
        "fds=many": (("FDSTORE=1",), {"fds": [r] * 300}),
        "pid+fds+unset": (("FDSTORE=1", True, PID, [r]), {}),
    }
    for sname, value in sockets_env.items():
        for cname, (args, kwargs) in calls.items():
            set_env({"NOTIFY_SOCKET": value} if value is not None else {})
            res = outcome(daemon.notify, *args, **kwargs)
            record(f"notify:{sname}", cname, {"result": res, "c_env": c_env(),
                                              "received": received(rx), "received_abstract": received(arx)})
    os.close(r)
    os.close(w)
    clear_env()


def suite_booted() -> None:
    record("booted", "booted()", outcome(daemon.booted))


SUITES = {"listen": suite_listen, "classify": suite_classify, "args": suite_args, "arity": suite_arity,
          "notify": suite_notify, "booted": suite_booted}


def main() -> None:
    suite = sys.argv[2]
    try:
        SUITES[suite]()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    json.dump({"impl": IMPL, "suite": suite, "groups": RESULTS}, sys.stdout)


if __name__ == "__main__":
    main()
