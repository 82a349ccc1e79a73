"""Socket activation for Python services, backed by libsdfd (no libsystemd, no compiler).

Two layers:

* :mod:`sdfd.daemon`: a drop-in replacement for python-systemd's
  ``systemd.daemon`` (``from sdfd import daemon``).
* This module: activated descriptors as ready ``socket.socket`` objects,
  looked up by name (``FileDescriptorName=`` / ``--fdname=``), with a
  fallback that binds an address when the process was not socket-activated::

      import asyncio, sdfd

      async def main():
          sock = sdfd.socket_or_bind("web", ("127.0.0.1", 8080))
          server = await asyncio.start_server(handle, sock=sock)
          async with server:
              await server.serve_forever()

Each activated descriptor is handed out once per process (see
:class:`ListenFds`). libsdfd is located on first use (see
:func:`library_path`); importing this module never fails for lack of it.
"""

# Everything, __version__ included, is imported on first use (PEP 562), so that
# `import sdfd.daemon` (which runs this file first) loads neither
# sdfd._activation (socketserver, threading, typing) nor anything it does not need.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from . import daemon as daemon
    from . import handoff as handoff
    from ._activation import (
        ListenFds,
        activation,
        bind_server,
        find_socket,
        get_socket,
        names,
        socket_or_bind,
        sockets,
        take_fds,
    )
    from ._lib import LibraryNotFoundError, library_path
    from ._version import __version__

__all__ = [
    "LibraryNotFoundError",
    "ListenFds",
    "__version__",
    "activation",
    "bind_server",
    "daemon",
    "find_socket",
    "get_socket",
    "handoff",
    "library_path",
    "names",
    "socket_or_bind",
    "sockets",
    "take_fds",
]

_FROM = {
    "__version__": "._version",
    "LibraryNotFoundError": "._lib",
    "library_path": "._lib",
    "daemon": ".daemon",
    "handoff": ".handoff",
}
_MODULES = (".daemon", ".handoff")


def __getattr__(name: str) -> object:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    where = _FROM.get(name, "._activation")
    module = importlib.import_module(where, __name__)
    # sdfd.daemon loads libsdfd (and may raise LibraryNotFoundError); the others do not.
    value = module if where in _MODULES else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(__all__))
