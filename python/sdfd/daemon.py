"""Drop-in replacement for python-systemd's ``systemd.daemon``, backed by libsdfd.

Switching is a one-line change::

    from systemd import daemon      # before
    from sdfd import daemon         # after

Every public name of ``systemd.daemon`` (python-systemd 235) is here with the
same parameters, defaults, return types and exceptions: :func:`listen_fds`,
:func:`listen_fds_with_names`, :func:`is_fifo`, :func:`is_socket`,
:func:`is_socket_inet`, :func:`is_socket_sockaddr`, :func:`is_socket_unix`,
:func:`is_mq`, :func:`booted`, :func:`notify` and :data:`LISTEN_FDS_START`.
The lower-level ``_listen_fds``, ``_listen_fds_with_names`` and ``_is_*``
functions that python-systemd's C module exports are provided too.

Errors: a negative errno from the C library becomes :class:`OSError` (so the
usual subclasses: ``FileNotFoundError``, ``ConnectionRefusedError``, ...),
except ``-ENOMEM`` (:class:`MemoryError`) and the few argument errors that
python-systemd reports as :class:`ValueError`. Argument conversion follows
CPython's ``"i"``/``"s"``/``"p"`` converters, so wrong types raise the same
``TypeError``/``OverflowError``/``ValueError`` as the C extension.

Difference on purpose: with ``unset_environment=True`` the variables the
library removed are also removed from :data:`os.environ` (python-systemd only
changes the C-level environment and leaves ``os.environ`` stale).

Importing this module loads libsdfd; if it cannot be found the import fails
with :class:`sdfd.LibraryNotFoundError` (an :class:`ImportError`). A binary
wheel carries a small extension module, ``sdfd._native``, linked against the
wheel's own libsdfd: it is used when it is there and ``$SDFD_LIBRARY`` is not
set, and spares the start-up the cost of :mod:`ctypes`. Otherwise the library
is found and called through :mod:`ctypes` (``sdfd._lib``). Both give the same
results and exceptions.
"""

import errno as _errno
import operator as _operator
import os as _os
import socket as _socket
import sys as _sys
from socket import AF_UNSPEC as _AF_UNSPEC

# typing is imported only by type checkers: `import sdfd.daemon` stays as
# light as python-systemd's C module (bench/RESULTS.md, Python start-up).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._version import __version__ as __version__
    from typing import Any as _Any
    from typing import Dict as _Dict
    from typing import List as _List
    from typing import NoReturn as _NoReturn
    from typing import Optional as _Optional
    from typing import Protocol as _Protocol
    from typing import Tuple as _Tuple
    from typing import Union as _Union


__all__ = [
    "LISTEN_FDS_START",
    "booted",
    "is_fifo",
    "is_mq",
    "is_socket",
    "is_socket_inet",
    "is_socket_sockaddr",
    "is_socket_unix",
    "listen_fds",
    "listen_fds_with_names",
    "notify",
]

#: The first passed file descriptor (``SD_LISTEN_FDS_START``).
LISTEN_FDS_START: int = 3

# The one way into the library: the extension module of a binary wheel, or
# the same calls through ctypes (sdfd._lib.Library) when there is none or
# $SDFD_LIBRARY names a library. Nothing below asks which.
_LIB: "_Any" = None
if not _os.environ.get("SDFD_LIBRARY"):
    try:
        from . import _native as _LIB  # type: ignore[attr-defined,no-redef]
    except ImportError:
        _LIB = None
if _LIB is not None:
    _NATIVE = True
    # Linked against the wheel's libsdfd: the same path sdfd.library_path() reports.
    _LIB.path = _os.path.realpath(_os.path.join(_os.path.dirname(_LIB.__file__), "_lib", "libsdfd.so.0"))
else:
    from . import _lib

    _NATIVE = False
    _LIB = _lib.load()

_LISTEN_VARS = ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "LISTEN_PIDFDID")
_NOTIFY_VARS = ("NOTIFY_SOCKET",)
_ADDRESS_PYTHON_SYSTEMD = 1  # SDFD_ADDRESS_PYTHON_SYSTEMD



if TYPE_CHECKING:

    class _HasFileno(_Protocol):
        def fileno(self) -> int: ...

    #: A descriptor number or anything with a ``fileno()`` method (socket, file, ...).
    FileObj = _Union[int, _HasFileno]
    #: A file-system path as accepted by :func:`os.fsencode`, or None.
    PathArg = _Union[str, bytes, "_os.PathLike[str]", "_os.PathLike[bytes]", None]


def __getattr__(name: str) -> object:
    # __version__ (as systemd.daemon.__version__) and the type aliases FileObj and
    # PathArg (built with typing) on first use only.
    if name == "__version__":
        from ._version import __version__

        globals()["__version__"] = __version__
        return __version__
    if name in ("FileObj", "PathArg"):
        import typing

        class _HasFileno(typing.Protocol):
            def fileno(self) -> int: ...

        aliases = {
            "FileObj": typing.Union[int, _HasFileno],
            "PathArg": typing.Union[str, bytes, "_os.PathLike[str]", "_os.PathLike[bytes]", None],
        }
        globals().update(aliases)
        return aliases[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------------------
# Argument conversion, as CPython's PyArg_Parse* converters do it.

_INT_BITS, _LONG_BITS = _LIB.INT_BITS, _LIB.LONG_BITS
_INT_MIN, _INT_MAX = -(1 << (_INT_BITS - 1)), (1 << (_INT_BITS - 1)) - 1
_LONG_MIN, _LONG_MAX = -(1 << (_LONG_BITS - 1)), (1 << (_LONG_BITS - 1)) - 1
_HEAPTYPE = 1 << 9


def _tp_name(obj: object) -> str:
    """The C-level type name CPython puts in converter error messages."""
    if obj is None:
        return "None"
    t = type(obj)
    if t.__flags__ & _HEAPTYPE or t.__module__ == "builtins":
        return t.__name__
    return f"{t.__module__}.{t.__name__}"


def _c_long(value: object) -> int:
    v = _operator.index(value)  # type: ignore[arg-type]  # TypeError: "cannot be interpreted as an integer"
    if not _LONG_MIN <= v <= _LONG_MAX:
        raise OverflowError("Python int too large to convert to C long")
    return v


def _c_int(value: object) -> int:
    """The ``"i"`` converter."""
    v = _c_long(value)
    if v > _INT_MAX:
        raise OverflowError("signed integer is greater than maximum")
    if v < _INT_MIN:
        raise OverflowError("signed integer is less than minimum")
    return v


def _c_str(value: object, func: str, argno: int) -> bytes:
    """The ``"s"`` converter: a str without NUL characters, as UTF-8."""
    if not isinstance(value, str):
        raise TypeError(f"{func}() argument {argno} must be str, not {_tp_name(value)}")
    data = value.encode("utf-8")
    if b"\0" in data:
        raise ValueError("embedded null character")
    return data


def _c_path(value: object) -> "_Optional[bytes]":
    """None, or a file-system path as bytes (``PyUnicode_FSConverter``)."""
    if value is None:
        return None
    data = _os.fsencode(value)  # type: ignore[arg-type]
    if b"\0" in data:
        raise ValueError("embedded null byte")
    return data


def _fd_of(fileobj: object) -> object:
    """An object's ``fileno()``, or the object itself when it has none."""
    try:
        return fileobj.fileno()  # type: ignore[attr-defined]
    except AttributeError:
        return fileobj


def _fd_array(fds: object) -> "_List[int]":
    """The descriptors, checked as C ints (python-systemd walks the sequence protocol)."""
    n: int = _LIB.seq_size(fds)
    vals: "_List[int]" = []
    for i in range(n):
        v = _c_long(_LIB.seq_item(fds, i))
        if not _INT_MIN <= v <= _INT_MAX:
            raise OverflowError("Value to large for an integer")
        vals.append(v)
    return vals


def _sync_environ(names: "_Tuple[str, ...]") -> None:
    """Make ``os.environ`` forget variables the C library has unset with libc ``unsetenv``."""
    for name in names:
        if name in _os.environ and _LIB.getenv(name.encode()) is None:
            _os.environ.pop(name, None)


def _raise(r: int, path: "_Optional[bytes]" = None, invalid_message: "_Optional[str]" = None) -> "_NoReturn":
    """Turn a negative errno from the library into python-systemd's exception."""
    code = -r
    if code == _errno.EINVAL and invalid_message is not None:
        raise ValueError(invalid_message)
    if code == _errno.ENOMEM:
        raise MemoryError("Not enough memory")
    if path is None:
        raise OSError(code, _os.strerror(code))
    raise OSError(code, _os.strerror(code), _os.fsdecode(path))


# ---------------------------------------------------------------------------
# The C-level functions (python-systemd's ``systemd._daemon``).


def booted() -> bool:
    """Return True iff this system is running under systemd (PID 1).

    Wraps ``sd_booted(3)``: checks for ``/run/systemd/system/``.
    """
    r = _LIB.sd_booted()
    if r < 0:
        _raise(r)
    return bool(r)


#: The default of notify()'s ``fds``: none given.
_NO_FDS: "_Any" = object()


def notify(
    status: str,
    unset_environment: object = False,
    pid: int = 0,
    fds: "_Any" = _NO_FDS,
) -> bool:
    """Send a state change (``"READY=1"``, ``"STATUS=..."``, ...) to the service manager.

    Wraps ``sd_notify(3)``; with ``pid`` (non-zero: send on behalf of that
    process) or ``fds`` (a sequence of descriptors to pass, e.g. for
    ``FDSTORE=1``) it wraps ``sd_pid_notify_with_fds``. Returns False when
    ``$NOTIFY_SOCKET`` is not set, True when the message was sent; errors
    raise :class:`OSError`. ``unset_environment`` removes ``NOTIFY_SOCKET``
    (from :data:`os.environ` too).
    """
    msg = _c_str(status, "notify", 1)
    unset = bool(unset_environment)
    pid_value = _c_int(pid)
    if pid_value < 0:
        raise OverflowError("Bad pid_t")
    # Not given: no fds. None is not a sequence: TypeError, as in python-systemd.
    arr = _fd_array(fds) if fds is not _NO_FDS else None

    if pid_value == 0 and arr is None:
        r = _LIB.sd_notify(int(unset), msg)
    else:
        r = _LIB.sd_pid_notify_with_fds(pid_value, int(unset), msg, arr, len(arr) if arr is not None else 0)
    if unset:
        _sync_environ(_NOTIFY_VARS)
    if r < 0:
        _raise(r)
    return bool(r)


def _listen_fds(unset_environment: object = True) -> int:
    """Return the number of descriptors passed by the init system (``sd_listen_fds(3)``)."""
    unset = bool(unset_environment)
    r: int = _LIB.sd_listen_fds(int(unset))
    if unset:
        _sync_environ(_LISTEN_VARS)
    if r < 0:
        _raise(r)
    return r


def _listen_fds_with_names(unset_environment: object = False) -> "_Tuple[_Any, ...]":
    """Return ``(n, name1, ..., name_n)`` (``sd_listen_fds_with_names(3)``).

    Note the default: ``False`` here, as in python-systemd's C function (the
    public :func:`listen_fds_with_names` defaults to ``True``).
    """
    unset = bool(unset_environment)
    raw = _names_from_library(unset)
    if raw is None:
        return (0,)
    # python-systemd decodes strictly (its C code then fails with a
    # SystemError on invalid UTF-8; here it is the UnicodeDecodeError itself).
    return (len(raw),) + tuple(b.decode("utf-8") for b in raw)


def _names_from_library(unset: bool) -> "_Optional[_List[bytes]]":
    """Call sd_listen_fds_with_names; return the names as bytes (None for 0 fds)."""
    r, names = _LIB.listen_fds_with_names(int(unset))
    if unset:
        _sync_environ(_LISTEN_VARS)
    if r < 0:
        _raise(r)
    if r == 0:
        return None
    # No array (NULL, or None from the extension): not expected from libsdfd;
    # "unknown" is what an unnamed fd is called.
    if names is None:
        return [b"unknown"] * r
    return names  # type: ignore[no-any-return]


def _unset_listen_environment() -> None:
    """``sd_listen_fds(1)`` for its side effect only: the ``LISTEN_*`` variables go (os.environ too)."""
    _LIB.sd_listen_fds(1)
    _sync_environ(_LISTEN_VARS)


def _activate_socket(name: bytes) -> "_Union[int, _List[int]]":
    """``sdfd_activate_socket``: the descriptors named ``name``, claimed in the
    library's one taken set of this process (shared with C code), or a
    negative errno (``-EALREADY``: handed out before, by anyone)."""
    return _LIB.activate_socket(name)  # type: ignore[no-any-return]


def _is_fifo(fd: object, path: "PathArg" = None, /) -> bool:
    """Return True iff the descriptor is a FIFO or pipe (at ``path``) (``sd_is_fifo(3)``)."""
    fdv = _c_int(fd)
    p = _c_path(path)
    r = _LIB.sd_is_fifo(fdv, p)
    if r < 0:
        _raise(r, p)
    return bool(r)


def _is_mq(fd: object, path: "PathArg" = None, /) -> bool:
    """Return True iff the descriptor is a POSIX message queue (``sd_is_mq(3)``)."""
    fdv = _c_int(fd)
    p = _c_path(path)
    r = _LIB.sd_is_mq(fdv, p)
    if r < 0:
        _raise(r, p)
    return bool(r)


def _is_socket(fd: object, family: object = _AF_UNSPEC, type: object = 0, listening: object = -1, /) -> bool:
    """Return True iff the descriptor is a socket of that kind (``sd_is_socket(3)``)."""
    args = (_c_int(fd), _c_int(family), _c_int(type), _c_int(listening))
    r = _LIB.sd_is_socket(*args)
    if r < 0:
        _raise(r)
    return bool(r)


def _is_socket_inet(
    fd: object, family: object = _AF_UNSPEC, type: object = 0, listening: object = -1, port: object = 0, /
) -> bool:
    """Return True iff the descriptor is an IPv4/IPv6 socket of that kind (``sd_is_socket_inet(3)``)."""
    fdv, fam, typ, lst, prt = (_c_int(fd), _c_int(family), _c_int(type), _c_int(listening), _c_int(port))
    if not 0 <= prt <= 0xFFFF:
        raise ValueError("port must fit into uint16_t")
    r = _LIB.sd_is_socket_inet(fdv, fam, typ, lst, prt)
    if r < 0:
        _raise(r)
    return bool(r)


def _is_socket_sockaddr(
    fd: object, address: str, type: object = 0, flowinfo: object = 0, listening: object = -1, /
) -> bool:
    """Return True iff the descriptor is a socket bound to ``address``.

    Wraps ``sd_is_socket_sockaddr(3)``. ``address`` is a numeric IPv4 or
    IPv6 address as in ``ListenStream=``, optionally with ``:port``
    (``"127.0.0.1:80"``, ``"[::1]:80"``, ``"[::1]"``); a bare port means the
    IPv6 (or, without IPv6, IPv4) wildcard address; ``"name:port"`` means
    that network interface.
    """
    fdv = _c_int(fd)
    text = _c_str(address, "_is_socket_sockaddr", 2)
    typ, flow, lst = _c_int(type), _c_int(flowinfo), _c_int(listening)
    # libsdfd parses the address, in python-systemd's syntax.
    sa = _LIB.address_parse(text, _ADDRESS_PYTHON_SYSTEMD)
    if isinstance(sa, int):
        _raise(sa, None, "Cannot parse address")
    if flow != 0:
        if int.from_bytes(sa[:2], _sys.byteorder) != _socket.AF_INET6:
            raise ValueError("flowinfo is only applicable to IPv6 addresses")
        sa = sa[:4] + (flow & 0xFFFFFFFF).to_bytes(4, _sys.byteorder) + sa[8:]  # sin6_flowinfo
    r = _LIB.sd_is_socket_sockaddr(fdv, typ, sa, len(sa), lst)
    if r < 0:
        _raise(r)
    return bool(r)


def _is_socket_unix(fd: object, type: object = 0, listening: object = -1, path: "PathArg" = None, /) -> bool:
    """Return True iff the descriptor is an AF_UNIX socket (bound to ``path``) (``sd_is_socket_unix(3)``)."""
    fdv, typ, lst = _c_int(fd), _c_int(type), _c_int(listening)
    p = _c_path(path)
    r = _LIB.sd_is_socket_unix(fdv, typ, lst, p, len(p) if p is not None else 0)
    if r < 0:
        _raise(r, p)
    return bool(r)


# ---------------------------------------------------------------------------
# The public API (python-systemd's ``systemd/daemon.py``).


def is_fifo(fileobj: "FileObj", path: "PathArg" = None) -> bool:
    """Return True iff ``fileobj`` (a descriptor or object with ``fileno()``) is a FIFO.

    With ``path``, it must also be the FIFO at that path. Wraps ``sd_is_fifo(3)``.
    """
    return _is_fifo(_fd_of(fileobj), path)


def is_socket(fileobj: "FileObj", family: int = _AF_UNSPEC, type: int = 0, listening: int = -1) -> bool:
    """Return True iff ``fileobj`` is a socket of ``family`` (0: any), ``type`` (0: any)
    and listening state (-1: any). Wraps ``sd_is_socket(3)``.
    """
    return _is_socket(_fd_of(fileobj), family, type, listening)


def is_socket_inet(
    fileobj: "FileObj", family: int = _AF_UNSPEC, type: int = 0, listening: int = -1, port: int = 0
) -> bool:
    """Return True iff ``fileobj`` is an IPv4/IPv6 socket of ``family`` (0: either),
    ``type``, listening state and ``port`` (0: any). Wraps ``sd_is_socket_inet(3)``.
    """
    return _is_socket_inet(_fd_of(fileobj), family, type, listening, port)


def is_socket_sockaddr(
    fileobj: "FileObj", address: str, type: int = 0, flowinfo: int = 0, listening: int = -1
) -> bool:
    """Check socket type, address and/or port, flowinfo, listening state.

    ``address`` is a numeric IPv4 or IPv6 address as in ``ListenStream=``
    (systemd.socket(5)), optionally followed by ``:port``; IPv6 addresses
    go in brackets. Wraps ``sd_is_socket_sockaddr(3)``.
    """
    return _is_socket_sockaddr(_fd_of(fileobj), address, type, flowinfo, listening)


def is_socket_unix(fileobj: "FileObj", type: int = 0, listening: int = -1, path: "PathArg" = None) -> bool:
    """Return True iff ``fileobj`` is an AF_UNIX socket of ``type`` and listening state,
    bound to ``path`` if given (``""``: an unnamed socket). Wraps ``sd_is_socket_unix(3)``.
    """
    return _is_socket_unix(_fd_of(fileobj), type, listening, path)


def is_mq(fileobj: "FileObj", path: "PathArg" = None) -> bool:
    """Return True iff ``fileobj`` is a POSIX message queue (named ``path``, e.g. ``"/q"``).

    Wraps ``sd_is_mq(3)``.
    """
    return _is_mq(_fd_of(fileobj), path)


def listen_fds(unset_environment: bool = True) -> "_List[int]":
    """Return the socket-activated descriptors as a list: ``[3, 4, ...]``.

    Wraps ``sd_listen_fds(3)``. With ``unset_environment`` (the default) the
    ``LISTEN_*`` variables are removed, so a second call returns ``[]``.
    Example::

        $ systemd-socket-activate -l 127.0.0.1:8080 python3 -c \\
            'from sdfd.daemon import listen_fds; print(listen_fds())'
        [3]
    """
    n = _listen_fds(unset_environment)
    return list(range(LISTEN_FDS_START, LISTEN_FDS_START + n))


def listen_fds_with_names(unset_environment: bool = True) -> "_Dict[int, str]":
    """Return the socket-activated descriptors and their names: ``{3: "web", 4: "admin"}``.

    Wraps ``sd_listen_fds_with_names(3)``. Names come from
    ``FileDescriptorName=`` (or ``--fdname=``); ``"unknown"`` when unnamed.
    """
    result = _listen_fds_with_names(unset_environment)
    return {LISTEN_FDS_START + i: name for i, name in enumerate(result[1:])}
