"""The pythonic layer: activated descriptors as ``socket.socket`` objects.

The service manager passes descriptors once per process, and
``sd_listen_fds`` (with its default ``unset_environment``) forgets them
after the first call. :class:`ListenFds` therefore reads them once and
hands each descriptor out at most once, so two parts of a program asking
for the socket named ``"web"`` cannot end up with two socket objects that
both close the same descriptor.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import socketserver
import stat
import threading
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Type, TypeVar, Union, cast


__all__ = [
    "ListenFds",
    "activation",
    "bind_server",
    "get_socket",
    "names",
    "socket_or_bind",
    "sockets",
    "take_fds",
]

Address = Union[Tuple[Any, ...], str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
ServerT = TypeVar("ServerT", bound=socketserver.BaseServer)

_STREAMISH = (socket.SOCK_STREAM, socket.SOCK_SEQPACKET)


def _is_socket(fd: int, type: int = 0) -> bool:
    """Whether ``fd`` is a socket (of ``type``; 0: any), asked of libsdfd."""
    from .daemon import _LIB

    r: int = _LIB.sd_is_socket(fd, 0, type, -1)
    if r < 0:
        raise OSError(-r, os.strerror(-r))
    return r > 0


def _wrap(fd: int) -> socket.socket:
    """A ``socket.socket`` owning ``fd`` (family, type and protocol detected).

    The object's blocking mode follows the descriptor's ``O_NONBLOCK``
    (``NonBlocking=yes`` units get non-blocking sockets), unless a global
    default timeout was set with :func:`socket.setdefaulttimeout`.
    """
    nonblocking = bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK)
    sock = socket.socket(fileno=fd)
    if socket.getdefaulttimeout() is None:
        sock.settimeout(0.0 if nonblocking else None)
    return sock


class ListenFds:
    """Descriptors passed by the service manager, each handed out once.

    ``fds`` maps descriptor numbers to names, in the order they were passed.
    Usually built by :meth:`from_environment`; the module-level functions
    (:func:`sdfd.sockets`, :func:`sdfd.socket_or_bind`, ...) use one shared
    instance, :func:`sdfd.activation`.
    """

    def __init__(self, fds: Union[Mapping[int, str], Iterable[Tuple[int, str]]] = ()) -> None:
        self._lock = threading.RLock()
        self._pool: Dict[int, str] = dict(fds)

    @classmethod
    def from_environment(cls, unset_environment: bool = True) -> "ListenFds":
        """Read ``LISTEN_PID``/``LISTEN_FDS``/``LISTEN_FDNAMES`` (via ``sd_listen_fds_with_names``).

        With ``unset_environment`` (the default, as systemd recommends) the
        variables are removed from the environment, :data:`os.environ`
        included. Names are decoded like :data:`os.environ` values
        (``surrogateescape``). Raises :class:`OSError` for a malformed
        environment (e.g. ``LISTEN_FDS=abc``, or fewer names than fds).
        """
        from . import daemon

        fds: List[Tuple[int, str]] = []
        try:
            raw = daemon._names_from_library(False)
            # Each name is claimed in the library's taken set, the one of the
            # whole process: names C code (sdfd_activate_socket) took before
            # are left out, and C code asking afterwards gets EALREADY.
            for name in dict.fromkeys(raw or ()):
                got = daemon._activate_socket(name)
                if got == -errno.EALREADY:
                    continue
                if isinstance(got, int):
                    daemon._raise(got)
                fds.extend((fd, os.fsdecode(name)) for fd in got)
        finally:
            if unset_environment:
                daemon._unset_listen_environment()
        return cls(sorted(fds))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.names()!r})"

    def __len__(self) -> int:
        with self._lock:
            return len(self._pool)

    def names(self) -> Dict[int, str]:
        """The descriptors not handed out yet: ``{fd: name}``."""
        with self._lock:
            return dict(self._pool)

    def _matching(self, name: Optional[str]) -> List[int]:
        return [fd for fd, n in self._pool.items() if name is None or n == name]

    def take_fds(self, name: Optional[str] = None) -> List[int]:
        """Hand out the raw descriptors named ``name`` (all if None), sockets or not.

        For FIFOs, message queues, character devices, or sockets you want to
        wrap yourself. The caller owns (and should close) them.
        """
        with self._lock:
            fds = self._matching(name)
            for fd in fds:
                del self._pool[fd]
            return fds

    def sockets(self, name: Optional[str] = None) -> List[socket.socket]:
        """Hand out the sockets named ``name`` (all if None) as ``socket.socket`` objects.

        Descriptors that are not sockets stay available to :meth:`take_fds`.
        """
        with self._lock:
            out = []
            for fd in self._matching(name):
                if _is_socket(fd):
                    del self._pool[fd]
                    out.append(_wrap(fd))
            return out

    def get_socket(self, name: Optional[str] = None, type: int = 0) -> Optional[socket.socket]:
        """Hand out the first socket named ``name`` (any name if None) of ``type`` (0: any).

        Returns None when there is none.
        """
        with self._lock:
            for fd in self._matching(name):
                if _is_socket(fd, type):
                    del self._pool[fd]
                    return _wrap(fd)
            return None

    def socket_or_bind(
        self,
        name: Optional[str],
        address: Address,
        *,
        family: Optional[int] = None,
        type: int = socket.SOCK_STREAM,
        backlog: int = 128,
        reuse_address: bool = True,
        unlink_stale: bool = True,
    ) -> socket.socket:
        """The activated socket named ``name``, or else a new one bound to ``address``.

        ``name`` None accepts an activated socket of any name. An activated
        socket must be of ``type``; if ``name`` matches only descriptors that
        are not sockets of that type, :class:`ValueError` is raised rather
        than silently binding ``address`` instead.

        The fallback socket: ``family`` defaults to what ``address`` looks
        like (a ``str``/``bytes``/path: ``AF_UNIX``; a 4-tuple or a host
        containing ``:``: ``AF_INET6``; else ``AF_INET``); ``SO_REUSEADDR``
        is set for IP sockets if ``reuse_address``; a leftover Unix socket
        file nobody listens on is removed first if ``unlink_stale``; stream
        and seqpacket sockets are put in listening state with ``backlog``.
        """
        with self._lock:
            matching = self._matching(name)
            for fd in matching:
                if _is_socket(fd, type):
                    del self._pool[fd]
                    return _wrap(fd)
            if name is not None and matching:
                raise ValueError(
                    f"activated descriptor(s) {matching} named {name!r} are not "
                    f"{socket.SocketKind(type).name} sockets"
                )
        return _bind(address, family, type, backlog, reuse_address, unlink_stale)

    def bind_server(
        self,
        server_class: Type[ServerT],
        server_address: Address,
        RequestHandlerClass: Any,
        *,
        name: Optional[str] = None,
        **kwargs: Any,
    ) -> ServerT:
        """A :mod:`socketserver` server on the activated socket ``name``, else bound to ``server_address``.

        Works with ``socketserver.TCPServer``/``UDPServer``/``Unix*Server``
        and subclasses: ``http.server.HTTPServer``/``ThreadingHTTPServer``,
        ``wsgiref.simple_server.WSGIServer``, ... The class's own
        ``server_bind`` runs (so it still records ``server_address``,
        ``server_name``, the WSGI environ, ...) except for the ``bind()``
        call itself.
        """
        sock = self.socket_or_bind(
            name,
            server_address,
            family=server_class.address_family,  # type: ignore[attr-defined]
            type=server_class.socket_type,  # type: ignore[attr-defined]
            backlog=getattr(server_class, "request_queue_size", 128),
            reuse_address=bool(getattr(server_class, "allow_reuse_address", False)),
        )
        try:
            server = server_class(  # type: ignore[call-arg]
                cast(Any, server_address), RequestHandlerClass, bind_and_activate=False, **kwargs
            )
        except BaseException:
            sock.close()
            raise
        _adopt(server, sock)
        return server


class _AlreadyBound(socket.socket):
    """A socket whose ``bind()`` keeps the address it already has."""

    __slots__ = ()

    def bind(self, address: Any) -> None:  # noqa: ARG002 - signature of socket.bind
        return None


def _adopt(server: socketserver.BaseServer, sock: socket.socket) -> None:
    """Give ``server`` the bound socket ``sock`` and finish its set-up."""
    server.socket.close()  # type: ignore[attr-defined]
    server.socket = sock  # type: ignore[attr-defined]
    server.address_family = sock.family  # type: ignore[attr-defined]
    original = sock.__class__
    sock.__class__ = _AlreadyBound  # same layout: only bind() differs
    try:
        server.server_bind()  # type: ignore[attr-defined]
        server.server_activate()
    except BaseException:
        sock.__class__ = original
        server.server_close()
        raise
    sock.__class__ = original


def _guess_family(address: Address) -> int:
    if isinstance(address, (str, bytes, os.PathLike)):
        return socket.AF_UNIX
    if isinstance(address, tuple):
        if len(address) == 4:
            return socket.AF_INET6
        if address and isinstance(address[0], str) and ":" in address[0]:
            return socket.AF_INET6
        return socket.AF_INET
    raise TypeError(f"cannot tell the address family of {address!r}; pass family=")


def _remove_stale_unix_socket(path: Union[str, bytes]) -> None:
    """Remove a socket file nobody listens on (left by a previous run)."""
    if not path or path[:1] in ("\0", b"\0"):
        return  # unnamed or abstract: no file
    try:
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            return
    except FileNotFoundError:
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except ConnectionRefusedError:
        os.unlink(path)
    except OSError as e:
        if e.errno == errno.EPROTOTYPE:  # a datagram/seqpacket socket: check with its own type
            _remove_if_unanswered(path)
    finally:
        probe.close()


def _remove_if_unanswered(path: Union[str, bytes]) -> None:
    for kind in (socket.SOCK_DGRAM, socket.SOCK_SEQPACKET):
        probe = socket.socket(socket.AF_UNIX, kind)
        try:
            probe.connect(path)
            return  # somebody is there
        except ConnectionRefusedError:
            os.unlink(path)
            return
        except OSError:
            continue
        finally:
            probe.close()


def _bind(
    address: Address,
    family: Optional[int],
    type: int,
    backlog: int,
    reuse_address: bool,
    unlink_stale: bool,
) -> socket.socket:
    if family is None:
        family = _guess_family(address)
    if family == socket.AF_UNIX and isinstance(address, os.PathLike):
        address = os.fspath(address)
    sock = socket.socket(family, type)
    try:
        if reuse_address and family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if unlink_stale and family == socket.AF_UNIX:
            _remove_stale_unix_socket(address)  # type: ignore[arg-type]
        sock.bind(cast(Any, address))
        if type in _STREAMISH:
            sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


# ---------------------------------------------------------------------------
# One shared instance per process.

_default_lock = threading.Lock()
_default: Optional[ListenFds] = None


def activation() -> ListenFds:
    """The process-wide :class:`ListenFds`, read (and the environment unset) on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ListenFds.from_environment(unset_environment=True)
        return _default


def names() -> Dict[int, str]:
    """Activated descriptors not handed out yet: ``{fd: name}``."""
    return activation().names()


def take_fds(name: Optional[str] = None) -> List[int]:
    """Hand out raw activated descriptors named ``name`` (all if None); see :meth:`ListenFds.take_fds`."""
    return activation().take_fds(name)


def sockets(name: Optional[str] = None) -> List[socket.socket]:
    """Hand out activated sockets named ``name`` (all if None) as ``socket.socket`` objects."""
    return activation().sockets(name)


def get_socket(name: Optional[str] = None, type: int = 0) -> Optional[socket.socket]:
    """Hand out the first activated socket named ``name`` (of ``type``), or None."""
    return activation().get_socket(name, type)


def socket_or_bind(
    name: Optional[str],
    address: Address,
    *,
    family: Optional[int] = None,
    type: int = socket.SOCK_STREAM,
    backlog: int = 128,
    reuse_address: bool = True,
    unlink_stale: bool = True,
) -> socket.socket:
    """The activated socket ``name``, else a new socket bound to ``address``.

    See :meth:`ListenFds.socket_or_bind`. Typical use::

        sock = sdfd.socket_or_bind("web", ("127.0.0.1", 8080))
        server = await asyncio.start_server(handle, sock=sock)
    """
    return activation().socket_or_bind(
        name,
        address,
        family=family,
        type=type,
        backlog=backlog,
        reuse_address=reuse_address,
        unlink_stale=unlink_stale,
    )


def bind_server(
    server_class: Type[ServerT],
    server_address: Address,
    RequestHandlerClass: Any,
    *,
    name: Optional[str] = None,
    **kwargs: Any,
) -> ServerT:
    """A :mod:`socketserver`-style server on the activated socket ``name``, else on ``server_address``.

    See :meth:`ListenFds.bind_server`. Typical use::

        httpd = sdfd.bind_server(http.server.ThreadingHTTPServer, ("127.0.0.1", 8080),
                                 http.server.SimpleHTTPRequestHandler, name="web")
        httpd.serve_forever()
    """
    return activation().bind_server(server_class, server_address, RequestHandlerClass, name=name, **kwargs)


def find_socket(address: str, type: int = 0) -> Optional[int]:
    """The activated descriptor bound to ``address``, or ``None``.

    ``address`` is written as in a configuration file or a systemd
    ``ListenStream=`` line: ``"8080"`` (any IP address), ``"127.0.0.1:8080"``,
    ``"[::1]:8080"``, ``"/run/app.sock"`` or ``"@abstract"``; ``type`` is 0
    (any) or ``socket.SOCK_STREAM``/``SOCK_DGRAM``/... ``None`` means the
    process was not socket-activated, or no activated socket has that
    address: bind it yourself. The activation state is read once per process
    (libsdfd's thread-safe snapshot) and the environment is never modified,
    so any thread may call this any number of times. A malformed address
    raises ``ValueError``; any other failure ``OSError``. Arguments are
    checked as python-systemd checks its own: a NUL in ``address`` raises
    ``ValueError``, a ``type`` outside C ``int`` ``OverflowError``, a negative
    one ``OSError`` (``EINVAL``).
    """
    # Checked as python-systemd checks the same kinds of argument (its
    # "s" and "i" converters; a negative type is EINVAL, as for is_socket).
    # (Imported here: importing sdfd does not load the library.)
    from .daemon import _LIB, _c_int, _c_str

    addr = _c_str(address, "find_socket", 1)
    typ = _c_int(type)
    if typ < 0:
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
    r = int(_LIB.sdfd_find_socket(addr, typ))
    if r in (-errno.ENOENT, -errno.ESRCH):
        return None
    if r == -errno.EINVAL:
        raise ValueError(f"not a socket address: {address!r}")
    if r < 0:
        raise OSError(-r, os.strerror(-r))
    return r
