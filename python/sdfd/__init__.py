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

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from . import daemon as daemon
    from . import handoff as handoff

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


def __getattr__(name: str) -> Any:
    # `import sdfd; sdfd.daemon` without loading libsdfd at `import sdfd` time.
    if name in ("daemon", "handoff"):
        import importlib

        return importlib.import_module("." + name, __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
