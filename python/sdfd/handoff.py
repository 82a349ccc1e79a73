"""Hand-off without a supervisor: pass named sockets to a successor.

A running daemon offers its descriptors on a unix socket path; its
successor receives them, after which they are its activated sockets (the
same as under systemd: :func:`sdfd.get_socket`, :mod:`sdfd.daemon`'s
``listen_fds`` and the by-name lookups all see them)::

    # old instance (e.g. on SIGHUP), while its serving threads go on
    sdfd.handoff.offer("/run/mydaemon.handoff", {"web": web_sock, "state": memfd}, timeout=5)
    # returned: the successor has the sockets; stop accepting and exit

    # successor, first thing at start-up (before starting threads)
    n = sdfd.handoff.receive("/run/mydaemon.handoff", timeout=5)
    web = sdfd.get_socket("web")

or by re-exec: :func:`spawn` starts a program with the descriptors passed
the systemd way (``LISTEN_FDS``, ``LISTEN_PID`` of the child, set after
``fork``, ``LISTEN_FDNAMES``). Unix only. Every error is an
:class:`OSError` with the errno of the C call (docs/handoff.md lists
them); on any failure of :func:`offer` this process still holds
everything and can keep serving.
"""

from __future__ import annotations

import math
import os
from ctypes import POINTER, c_char_p, c_int, c_size_t, c_uint, c_uint64
from typing import Any, Iterable, Mapping, Optional, Sequence, Tuple, Union

from . import _lib

__all__ = ["INFINITE", "offer", "receive", "spawn"]

#: ``timeout=INFINITE`` (or ``float('inf')``) waits without a limit; 0 is
#: one try. Names, paths, arguments and environment entries with a NUL
#: byte are a :class:`ValueError`, as in Python's own calls.
INFINITE = None
_NO_UID = 0xFFFFFFFF  # (uid_t)-1
uid_t = c_uint

FdLike = Union[int, Any]  # an int or anything with fileno()
_funcs: Optional[Tuple[Any, Any, Any]] = None


def _c() -> Tuple[Any, Any, Any]:
    global _funcs
    if _funcs is None:
        cdll = _lib.load().cdll
        try:
            offer_f = cdll.sdfd_handoff_offer
            receive_f = cdll.sdfd_handoff_receive
            spawn_f = cdll.sdfd_handoff_spawn
        except AttributeError as e:
            raise _lib.LibraryNotFoundError(f"{_lib.library_path()} has no hand-off calls: {e}", name="sdfd") from e
        offer_f.restype = c_int
        offer_f.argtypes = [c_char_p, POINTER(c_int), POINTER(c_char_p), c_size_t, c_uint64, uid_t]
        receive_f.restype = c_int
        receive_f.argtypes = [c_char_p, c_uint64, uid_t]
        spawn_f.restype = c_int
        spawn_f.argtypes = [c_char_p, POINTER(c_char_p), POINTER(c_char_p), POINTER(c_int), POINTER(c_char_p), c_size_t]
        _funcs = (offer_f, receive_f, spawn_f)
    return _funcs


def _usec(timeout: Optional[float]) -> int:
    if timeout is None or timeout == math.inf:
        return 2**64 - 1
    if not timeout >= 0:  # negative, or NaN
        raise ValueError(f"timeout must be >= 0 or None, not {timeout!r}")
    return min(int(timeout * 1_000_000), 2**64 - 2)


def _bytes(s: Union[str, bytes, "os.PathLike[str]"]) -> bytes:
    """``os.fsencode``, refusing a NUL byte as Python's own calls do (a C
    string would silently end there)."""
    b = os.fsencode(s)
    if b"\0" in b:
        raise ValueError("embedded null byte")
    return b


def _uid(uid: Optional[int]) -> int:
    if uid is None:
        return _NO_UID
    if not 0 <= uid < _NO_UID:
        raise ValueError(f"uid out of range: {uid!r}")
    return uid


def _fd(obj: FdLike) -> int:
    return obj if isinstance(obj, int) else int(obj.fileno())


def _named(fds: Union[Mapping[str, FdLike], Iterable[Tuple[str, FdLike]]]) -> Tuple[Any, Any, int]:
    items = list(fds.items()) if isinstance(fds, Mapping) else list(fds)
    if not items:
        raise ValueError("no descriptors to hand off")
    names = [_bytes(name) for name, _ in items]
    numbers = [_fd(f) for _, f in items]
    return (c_int * len(items))(*numbers), (c_char_p * len(items))(*names), len(items)


def _check(fn: str, rc: int) -> int:
    if rc < 0:
        raise OSError(-rc, f"{fn}: {os.strerror(-rc)}")
    return rc


def offer(
    path: Union[str, bytes, "os.PathLike[str]"],
    fds: Union[Mapping[str, FdLike], Iterable[Tuple[str, FdLike]]],
    timeout: Optional[float] = 30.0,
    allowed_uid: Optional[int] = None,
) -> None:
    """Offer ``fds`` (name -> fd or socket, in order) to one successor on
    ``path``; return once it has acknowledged (timeout in seconds, ``None``
    for no limit). Only a peer with this process's uid or ``allowed_uid``
    is served. Releases the GIL while waiting, so serving threads go on.
    Raises :class:`OSError` (``EADDRINUSE``, ``ETIMEDOUT``,
    ``ECONNABORTED``, ...); this process keeps every descriptor either way.
    """
    arr, names, n = _named(fds)
    _check("sdfd_handoff_offer", _c()[0](_bytes(path), arr, names, n, _usec(timeout), _uid(allowed_uid)))


def receive(
    path: Union[str, bytes, "os.PathLike[str]"],
    timeout: Optional[float] = 30.0,
    offerer_uid: Optional[int] = None,
) -> int:
    """Receive the descriptors offered on ``path``: they become this
    process's activated sockets (at 3.., ``LISTEN_*`` set); their number.
    Call before starting threads and before any other activation call.
    ``os.environ`` is updated to match."""
    n = _check("sdfd_handoff_receive", _c()[1](_bytes(path), _usec(timeout), _uid(offerer_uid)))
    for var in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        value = _lib.libc.getenv(var.encode())
        if value is not None:
            os.environ[var] = os.fsdecode(value)
    os.environ.pop("LISTEN_PIDFDID", None)
    return n


def spawn(
    path: Union[str, bytes, "os.PathLike[str]"],
    argv: Sequence[Union[str, bytes]],
    fds: Union[Mapping[str, FdLike], Iterable[Tuple[str, FdLike]]],
    env: Optional[Mapping[str, str]] = None,
) -> int:
    """Start ``path`` with ``argv`` and ``fds`` passed the systemd way; the
    child's pid once it has exec'd. ``env`` defaults to ``os.environ``
    (any ``LISTEN_*`` in it is replaced)."""
    arr, names, n = _named(fds)
    args = [_bytes(a) for a in argv]
    if not args:
        raise ValueError("argv must not be empty")
    c_argv = (c_char_p * (len(args) + 1))(*args, None)
    envmap = os.environ if env is None else env
    entries = [_bytes(k) + b"=" + _bytes(v) for k, v in envmap.items()]
    c_env = (c_char_p * (len(entries) + 1))(*entries, None)
    return _check("sdfd_handoff_spawn", _c()[2](_bytes(path), c_argv, c_env, arr, names, n))

