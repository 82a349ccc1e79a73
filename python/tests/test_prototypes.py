"""Every binding's copy of a C prototype agrees with include/sdfd.h.

The C modules (python/src/_native.c, node/src/sdfd_native.c) include the
header itself. ctypes (python/sdfd/_lib.py, python/sdfd/handoff.py) and koffi
(node/api.js) cannot: they declare libsdfd's functions by hand. Each declaration is
reduced to its ABI shape (return type and argument types: int, u32, size_t,
uint16_t, uint64_t or a pointer) and compared with the header's; a prototype
changed in the header and not in a binding (or a binding that adds an
argument, drops one or changes a width) fails here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
Shape = Tuple[str, Tuple[str, ...]]

C_SCALARS = {
    "int": "int", "pid_t": "int", "sdfd_socket_t": "int",
    "unsigned": "u32", "unsigned int": "u32", "uint32_t": "u32", "uid_t": "u32",
    "size_t": "size_t", "uint16_t": "uint16_t", "uint64_t": "uint64_t", "void": "void",
}
CTYPES = {
    "c_int": "int", "pid_t": "int", "c_uint": "u32", "uid_t": "u32", "c_size_t": "size_t",
    "c_uint16": "uint16_t", "c_uint64": "uint64_t", "c_char_p": "ptr", "c_void_p": "ptr",
}


def c_type(text: str) -> str:
    """`const char *name` -> ptr, `unsigned int n` -> u32, ..."""
    t = text.replace("const", " ").strip()
    if "*" in t:
        return "ptr"
    words = t.split()
    for n in (2, 1):  # with or without a parameter name
        key = " ".join(words[:n])
        if key in C_SCALARS and (len(words) == n or len(words) == n + 1):
            return C_SCALARS[key]
    raise AssertionError(f"unknown C type {text!r}")


def c_shape(ret: str, params: str) -> Shape:
    args = [p for p in (s.strip() for s in params.split(",")) if p and p != "void"]
    return c_type(ret), tuple(c_type(a) for a in args)


def header() -> Dict[str, Shape]:
    text = (ROOT / "include" / "sdfd.h").read_text()
    out = {}
    for m in re.finditer(r"^(int|pid_t)\s+(\w+)\(([^)]*)\)", text, re.M):
        if "..." not in m.group(3):  # the variadic sd_*notifyf: no binding declares them
            out[m.group(2)] = c_shape(m.group(1), m.group(3))
    assert "sd_listen_fds" in out and "sdfd_activate_socket" in out
    return out


def koffi_prototypes() -> Dict[str, Shape]:
    text = (ROOT / "node" / "api.js").read_text()
    return {m.group(2): c_shape(m.group(1), m.group(3))
            for m in re.finditer(r"'(int) ((?:sd|sdfd)_\w+)\(([^)]*)\)'", text)}


def ctypes_list(items: str) -> Tuple[str, ...]:
    out: List[str] = []
    for item in (s.strip() for s in re.split(r",(?![^(]*\))", items)):
        if item:
            out.append("ptr" if item.startswith("POINTER(") else CTYPES[item])
    return tuple(out)


def ctypes_declarations() -> Dict[str, Shape]:
    out = {}
    lib = (ROOT / "python" / "sdfd" / "_lib.py").read_text()
    for m in re.finditer(r'(?:need|_declare)\(\s*(?:cdll, )?"(\w+)", (\w+), \[([^\]]*)\]', lib):
        out[m.group(1)] = (CTYPES[m.group(2)], ctypes_list(m.group(3)))
    handoff = (ROOT / "python" / "sdfd" / "handoff.py").read_text()
    for short, name in (("offer", "sdfd_handoff_offer"), ("receive", "sdfd_handoff_receive"),
                        ("spawn", "sdfd_handoff_spawn")):
        res = re.search(rf"{short}_f\.restype = (\w+)", handoff)
        args = re.search(rf"{short}_f\.argtypes = \[([^\]]*)\]", handoff)
        assert res and args, name
        out[name] = (CTYPES[res.group(1)], ctypes_list(args.group(1)))
    return out


COPIES = {
    "python/sdfd/_lib.py + handoff.py (ctypes)": ctypes_declarations,
    "node/api.js (koffi)": koffi_prototypes,
}


@pytest.mark.parametrize("path", ["python/src/_native.c", "node/src/sdfd_native.c"])
def test_the_c_modules_take_the_header(path: str) -> None:
    """The two C modules write no prototype of their own: they include
    include/sdfd.h (the Python extension gets a copy next to it at build time;
    the addon types its dlsym()ed pointers with __typeof__)."""
    text = (ROOT / path).read_text()
    assert re.search(r'^#include "(\.\./\.\./include/)?sdfd\.h"$', text, re.M), path
    assert not re.findall(r"^(?:int|pid_t)\s+(?:sd|sdfd)_\w+\(", text, re.M), f"{path} declares a libsdfd function itself"


@pytest.mark.parametrize("where", list(COPIES))
def test_binding_prototypes_match_the_header(where: str) -> None:
    want = header()
    have = COPIES[where]()
    assert len(have) >= 10, f"{where}: only {sorted(have)} found; the parser here is out of date"
    for name, shape in have.items():
        assert name in want, f"{where} declares {name}, which include/sdfd.h does not"
        assert shape == want[name], f"{where}: {name} is {shape}, include/sdfd.h says {want[name]}"


def test_the_check_sees_a_changed_prototype() -> None:
    """The comparison itself: a width or an argument changed is told apart."""
    assert c_shape("int", "int fd, int family, int type, int listening, uint16_t port") != c_shape(
        "int", "int fd, int family, int type, int listening, uint32_t port")
    assert c_shape("int", "int a") != c_shape("int", "int a, int b")
