"""The package's copies of the activation variables (``daemon._LISTEN_VARS``,
``daemon._NOTIFY_VARS``: what it forgets in ``os.environ`` when the library
unsets them in C) equal the library's one list (``LISTEN_VARS`` and
``ACTIVATION_VARS`` in src/env.rs), and the library under test removes
exactly that list (``sdfd_environ_without_activation``)."""

from __future__ import annotations

import ctypes
import re
from pathlib import Path

from sdfd import daemon

ENV_RS = Path(__file__).resolve().parents[2] / "src" / "env.rs"


def rust_list(name: str) -> list:
    """The strings of the `&CStr` array constant `name` in src/env.rs."""
    src = ENV_RS.read_text()
    consts = dict(re.findall(r'const (\w+): &CStr = c"([^"]*)";', src))
    m = re.search(r"const %s: \[&CStr; \d+\] =\s*\[([^\]]*)\]" % name, src)
    assert m, f"{name} not found in {ENV_RS}"
    return [consts[n.strip()] for n in m.group(1).split(",") if n.strip()]


def test_listen_vars_are_the_librarys():
    assert sorted(daemon._LISTEN_VARS) == sorted(rust_list("LISTEN_VARS"))


def test_notify_vars_are_activation_vars():
    listen = set(rust_list("LISTEN_VARS"))
    others = set(rust_list("ACTIVATION_VARS")) - listen
    assert set(daemon._NOTIFY_VARS) <= others, (daemon._NOTIFY_VARS, others)
    assert len(listen) == 4 and "NOTIFY_SOCKET" in others


def test_library_removes_exactly_the_list():
    fn = ctypes.CDLL(daemon._LIB.path).sdfd_environ_without_activation
    fn.restype = ctypes.POINTER(ctypes.c_char_p)
    fn.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
    names = rust_list("ACTIVATION_VARS")
    entries = [f"{n}=1".encode() for n in names] + [b"KEEP=1", b"LISTEN_FDSX=1"]
    envp = (ctypes.c_char_p * (len(entries) + 1))(*entries, None)
    out = fn(envp)
    assert out
    kept = []
    i = 0
    while out[i] is not None:
        kept.append(out[i])
        i += 1
    ctypes.CDLL(None).free(ctypes.cast(out, ctypes.c_void_p))
    assert kept == [b"KEEP=1", b"LISTEN_FDSX=1"]
