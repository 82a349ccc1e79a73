"""Finding libsdfd and declaring its C functions for ctypes.

Search order (the first library that loads and exports the
socket-activation functions wins; a later step is only taken when the
earlier ones found nothing, so with 1. or 2. no program is run):

1. ``$SDFD_LIBRARY``: a path to the shared object. When it is set, nothing
   else is tried: a wrong path is an error, not a reason to pick up some other
   copy of the library.
2. ``sdfd/_lib/``, next to this file: a wheel may bundle the library there.
3. ``pkg-config --variable=libdir sdfd`` (honours ``$PKG_CONFIG_PATH``).
4. ``ctypes.util.find_library("sdfd")`` (ldconfig cache, compiler search
   path, ``$LD_LIBRARY_PATH``).
5. The plain names ``libsdfd.so.0`` and ``libsdfd.so``, resolved by the
   dynamic loader.
"""

from __future__ import annotations

import ctypes
import errno
import operator
import os
from ctypes import POINTER, c_char_p, c_int, c_size_t, c_uint, c_uint16, c_uint64, c_void_p

# ctypes.util, shutil and subprocess are imported only when the system
# library has to be searched for; typing only by type checkers.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator, List, Optional, Tuple, Union

__all__ = ["LibraryNotFoundError", "Library", "load", "library_path"]

SONAMES = ("libsdfd.so.0", "libsdfd.so")
BUNDLE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_lib")

pid_t = c_int  # Linux


class LibraryNotFoundError(ImportError):
    """libsdfd could not be located or loaded.

    A subclass of :class:`ImportError`, so that the usual
    ``try: from sdfd import daemon / except ImportError:`` fallback works.
    """


def _pkg_config_libdir() -> Optional[str]:
    import shutil
    import subprocess

    exe = shutil.which("pkg-config")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "--variable=libdir", "sdfd"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    libdir = out.stdout.decode(errors="surrogateescape").strip()
    if out.returncode != 0 or not libdir:
        return None
    return libdir


def _candidates() -> Iterator[Tuple[str, str]]:
    """Where the library is looked for, in order, computed as needed."""
    override = os.environ.get("SDFD_LIBRARY")
    if override:
        yield ("SDFD_LIBRARY", override)
        return
    for name in SONAMES:
        path = os.path.join(BUNDLE_DIR, name)
        if os.path.exists(path):
            yield ("bundled", path)
    libdir = _pkg_config_libdir()
    if libdir is not None:
        for name in SONAMES:
            yield ("pkg-config", os.path.join(libdir, name))
    import ctypes.util

    found_name = ctypes.util.find_library("sdfd")
    if found_name:
        yield ("find_library", found_name)
    for name in SONAMES:
        yield ("soname", name)


def candidates() -> List[Tuple[str, str]]:
    """Where the library is looked for, in order, as ``(source, path_or_name)``."""
    return list(_candidates())


class _DlInfo(ctypes.Structure):
    _fields_ = [
        ("dli_fname", c_char_p),
        ("dli_fbase", c_void_p),
        ("dli_sname", c_char_p),
        ("dli_saddr", c_void_p),
    ]


def _object_path(func: Any, fallback: str) -> str:
    """The file a loaded symbol comes from (dladdr), for diagnostics."""
    for libname in (None, "libdl.so.2"):
        try:
            dladdr = ctypes.CDLL(libname).dladdr
        except (OSError, AttributeError):
            continue
        dladdr.argtypes = [c_void_p, POINTER(_DlInfo)]
        dladdr.restype = c_int
        info = _DlInfo()
        if dladdr(ctypes.cast(func, c_void_p), ctypes.byref(info)) and info.dli_fname:
            return os.path.realpath(os.fsdecode(info.dli_fname))
    return fallback


REQUIRED = (
    "sd_listen_fds", "sd_listen_fds_with_names", "sd_is_fifo", "sd_is_socket",
    "sd_is_socket_inet", "sd_is_socket_sockaddr", "sd_is_socket_unix", "sd_is_mq",
)


def _declare(lib: ctypes.CDLL, name: str, restype: Any, argtypes: List[Any]) -> Optional[Any]:
    try:
        func = getattr(lib, name)
    except AttributeError:
        return None
    func.restype = restype
    func.argtypes = argtypes
    return func


class Functions:
    """libsdfd's C functions as ctypes declares them (``None``: not exported
    by the loaded build; the socket-activation ones always are)."""

    def __init__(self, cdll: ctypes.CDLL, path: str) -> None:
        def need(name: str, restype: Any, argtypes: List[Any]) -> Any:
            func = _declare(cdll, name, restype, argtypes)
            if func is None:
                raise LibraryNotFoundError(f"{path} does not export {name}", name="sdfd")
            return func

        self.sd_listen_fds: Any = need("sd_listen_fds", c_int, [c_int])
        self.sd_listen_fds_with_names: Any = need(
            "sd_listen_fds_with_names", c_int, [c_int, POINTER(POINTER(c_void_p))]
        )
        self.sd_is_fifo: Any = need("sd_is_fifo", c_int, [c_int, c_char_p])
        self.sd_is_socket: Any = need("sd_is_socket", c_int, [c_int, c_int, c_int, c_int])
        self.sd_is_socket_inet: Any = need("sd_is_socket_inet", c_int, [c_int, c_int, c_int, c_int, c_uint16])
        self.sd_is_socket_sockaddr: Any = need(
            "sd_is_socket_sockaddr", c_int, [c_int, c_int, c_void_p, c_uint, c_int]
        )
        self.sd_is_socket_unix: Any = need("sd_is_socket_unix", c_int, [c_int, c_int, c_int, c_char_p, c_size_t])
        self.sd_is_mq: Any = need("sd_is_mq", c_int, [c_int, c_char_p])
        self.sd_notify: Optional[Any] = _declare(cdll, "sd_notify", c_int, [c_int, c_char_p])
        self.sd_pid_notify_with_fds: Optional[Any] = _declare(
            cdll, "sd_pid_notify_with_fds", c_int, [pid_t, c_int, c_char_p, POINTER(c_int), c_uint]
        )
        self.sd_booted: Optional[Any] = _declare(cdll, "sd_booted", c_int, [])
        self.sdfd_find_socket: Optional[Any] = _declare(cdll, "sdfd_find_socket", c_int, [c_char_p, c_int])
        self.sdfd_activate_socket: Optional[Any] = _declare(
            cdll, "sdfd_activate_socket", c_int, [c_char_p, POINTER(POINTER(c_int)), POINTER(c_size_t)]
        )
        self.sdfd_address_parse: Optional[Any] = _declare(
            cdll, "sdfd_address_parse", c_int, [c_char_p, c_int, c_void_p, POINTER(c_uint)]
        )


class Library:
    """libsdfd through ctypes, called the way ``sdfd._native`` is called.

    The same names, arguments and results as the extension module
    (python/src/_native.c), so that :mod:`sdfd.daemon` has one way into the
    library whichever of the two loaded it: what is more than a declared C
    function here (copying the names out, the fd array, freeing) is what the
    extension does in C. The declared functions themselves are ``c``. A call
    this build of the library does not export raises :class:`OSError`
    (``ENOSYS``), where the extension, linked against its own copy, has them all.
    """

    INT_BITS = 8 * ctypes.sizeof(c_int)
    LONG_BITS = 8 * ctypes.sizeof(ctypes.c_long)

    def __init__(self, cdll: ctypes.CDLL, source: str, path: str) -> None:
        self.cdll = cdll
        self.source = source
        self.path = path
        self.c = c = Functions(cdll, path)
        self.getenv = libc.getenv
        for name in ("sd_listen_fds", "sd_is_fifo", "sd_is_socket", "sd_is_socket_inet", "sd_is_socket_sockaddr",
                     "sd_is_socket_unix", "sd_is_mq", "sd_notify", "sd_booted", "sdfd_find_socket"):
            setattr(self, name, getattr(c, name) or self._absent(name))

    def _absent(self, name: str) -> Any:
        def call(*_args: Any) -> Any:
            raise OSError(errno.ENOSYS, f"{os.strerror(errno.ENOSYS)}: {self.path} does not export {name}")

        return call

    def _need(self, name: str) -> Any:
        return getattr(self.c, name) or self._absent(name)()

    def listen_fds_with_names(self, unset: int) -> Tuple[int, Optional[List[bytes]]]:
        names = POINTER(c_void_p)()
        r = self.c.sd_listen_fds_with_names(unset, ctypes.byref(names))
        if not names:
            return r, None
        try:
            out = []
            for i in range(max(r, 0)):
                if not names[i]:
                    break
                out.append(ctypes.string_at(names[i]))
            return r, out
        finally:
            i = 0
            while names[i]:
                libc.free(names[i])
                i += 1
            libc.free(names)

    def sd_pid_notify_with_fds(self, pid: int, unset: int, msg: bytes, fds: Optional[List[int]], n: int) -> int:
        arr = (c_int * n)(*fds) if fds is not None else None
        return int(self._need("sd_pid_notify_with_fds")(pid, unset, msg, arr, n))

    def activate_socket(self, name: bytes) -> Union[int, List[int]]:
        arr, count = POINTER(c_int)(), c_size_t()
        r = self._need("sdfd_activate_socket")(name, ctypes.byref(arr), ctypes.byref(count))
        if r < 0:
            return int(r)
        try:
            return [arr[i] for i in range(count.value)]
        finally:
            libc.free(arr)

    def address_parse(self, address: bytes, flags: int) -> Union[int, bytes]:
        buf, size = ctypes.create_string_buffer(128), c_uint()  # a struct sockaddr_storage
        r = self._need("sdfd_address_parse")(address, flags, buf, ctypes.byref(size))
        return int(r) if r < 0 else buf.raw[: size.value]

    try:  # CPython: the sequence protocol exactly as the extension uses it
        seq_size = staticmethod(ctypes.pythonapi.PySequence_Size)
        seq_size.__func__.argtypes = [ctypes.py_object]
        seq_size.__func__.restype = ctypes.c_ssize_t
        seq_item = staticmethod(ctypes.pythonapi.PySequence_GetItem)
        seq_item.__func__.argtypes = [ctypes.py_object, ctypes.c_ssize_t]
        seq_item.__func__.restype = ctypes.py_object
    except (AttributeError, OSError):  # pragma: no cover - other interpreters
        seq_size = staticmethod(len)
        seq_item = staticmethod(operator.getitem)

    def __repr__(self) -> str:
        return f"<sdfd library {self.path!r} (via {self.source})>"


class _Libc:
    """The few libc functions the bindings need (already in the process)."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(None)
        self.free = libc.free
        self.free.argtypes = [c_void_p]
        self.free.restype = None
        self.getenv = libc.getenv
        self.getenv.argtypes = [c_char_p]
        self.getenv.restype = c_char_p


libc = _Libc()

_loaded: Optional[Library] = None


def load() -> Library:
    """Load libsdfd once per process; raise :class:`LibraryNotFoundError`."""
    global _loaded
    # No lock: a module-level `import` runs once under the import lock, and two
    # threads racing here would load the same library (dlopen is refcounted).
    if _loaded is not None:
        return _loaded
    tried: List[str] = []
    for source, where in _candidates():
        try:
            cdll = ctypes.CDLL(where)
        except OSError as e:
            tried.append(f"{source}: {where}: {e}")
            continue
        missing = [name for name in REQUIRED if not hasattr(cdll, name)]
        if missing:
            tried.append(f"{source}: {where}: does not export {', '.join(missing)}")
            continue
        _loaded = Library(cdll, source, _object_path(cdll.sd_listen_fds, where))
        return _loaded
    raise LibraryNotFoundError(
        "libsdfd not found (set SDFD_LIBRARY to its path, or install it where "
        "pkg-config or the dynamic loader can find it); tried:\n  " + "\n  ".join(tried),
        name="sdfd",
    )


def library_path() -> str:
    """Absolute path of the libsdfd that is (or would now be) used."""
    return load().path

