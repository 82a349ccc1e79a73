"""Finding libsdfd: SDFD_LIBRARY, a bundled _lib/, pkg-config, the loader's search path.

Each case runs in a fresh interpreter with a controlled environment and
reports which file was loaded and how.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, Dict, Optional

import pytest

import sdfd
from conftest import HERE, clean_env

REPORT = """
import json, sys
try:
    import sdfd, sdfd._lib as L
    out = {"sdfd_file": sdfd.__file__}
    from sdfd import daemon
    out.update(path=sdfd.library_path(), source=L.load().source, candidates=L.candidates(),
               listen_fds=daemon.listen_fds())
except ImportError as e:
    out["error"] = [type(e).__name__, isinstance(e, ImportError), str(e)]
print(json.dumps(out))
"""


def installed_library() -> Path:
    """The library under test (SDFD_LIBRARY, else what sdfd found)."""
    return Path(os.path.realpath(sdfd.library_path()))


def run(env: Dict[str, str], pythonpath: Optional[Path] = None) -> Dict[str, Any]:
    base = clean_env()
    for var in ("SDFD_LIBRARY", "PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR", "LD_LIBRARY_PATH"):
        base.pop(var, None)
    base.update(env)
    if pythonpath is not None:
        base["PYTHONPATH"] = str(pythonpath)
    proc = subprocess.run([sys.executable, "-c", REPORT], capture_output=True, text=True, timeout=120,
                          env=base, cwd=str(HERE))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture
def empty_pkgconfig(tmp_path: Path) -> Dict[str, str]:
    """pkg-config that finds no sdfd.pc at all (not even a system-wide one)."""
    d = tmp_path / "no-pc"
    d.mkdir()
    return {"PKG_CONFIG_LIBDIR": str(d), "PKG_CONFIG_PATH": str(d)}


def test_sdfd_library_override() -> None:
    lib = installed_library()
    out = run({"SDFD_LIBRARY": str(lib)})
    assert out["source"] == "SDFD_LIBRARY"
    assert out["path"] == str(lib)
    assert out["candidates"] == [["SDFD_LIBRARY", str(lib)]]
    assert out["listen_fds"] == []


def test_sdfd_library_override_is_not_a_hint(tmp_path: Path) -> None:
    """A wrong SDFD_LIBRARY is an ImportError even if another copy could be found."""
    lib = installed_library()
    out = run({"SDFD_LIBRARY": str(tmp_path / "nope.so"), "LD_LIBRARY_PATH": str(lib.parent)})
    name, is_import_error, message = out["error"]
    assert name == "LibraryNotFoundError" and is_import_error
    assert str(tmp_path / "nope.so") in message and "SDFD_LIBRARY" in message
    assert "path" not in out and "sdfd_file" in out  # `import sdfd` itself still works


def test_a_library_without_sd_listen_fds_is_rejected() -> None:
    out = run({"SDFD_LIBRARY": "libm.so.6"})
    assert out["error"][0] == "LibraryNotFoundError"
    assert "does not export sd_listen_fds" in out["error"][2]


def without_bundle(tmp_path: Path) -> Optional[Path]:
    """For the system-search cases: when the installed package bundles the library (the
    extension-module run of python/run-tests.sh), a copy of it without _lib/ and sdfd._native."""
    installed = Path(sdfd.__file__).parent
    if not (installed / "_lib").exists():
        return None
    shutil.copytree(installed, tmp_path / "site" / "sdfd",
                    ignore=shutil.ignore_patterns("__pycache__", "_lib", "_native*"))
    return tmp_path / "site"


def test_pkg_config(tmp_path: Path) -> None:
    pc = os.environ.get("PKG_CONFIG_PATH", "")
    assert pc, "the runner exports PKG_CONFIG_PATH for the staged sdfd.pc"
    libdir = subprocess.run(["pkg-config", "--variable=libdir", "sdfd"], capture_output=True, text=True,
                            env=dict(os.environ), check=True).stdout.strip()
    assert libdir
    out = run({"PKG_CONFIG_PATH": pc}, pythonpath=without_bundle(tmp_path))
    assert out["source"] == "pkg-config"
    assert Path(out["path"]) == Path(os.path.realpath(Path(libdir) / "libsdfd.so.0"))
    sources = [s for s, _ in out["candidates"]]
    assert sources.index("pkg-config") < sources.index("soname")


def test_standard_names_through_the_dynamic_loader(tmp_path: Path, empty_pkgconfig: Dict[str, str]) -> None:
    lib = installed_library()
    out = run(dict(empty_pkgconfig, LD_LIBRARY_PATH=str(lib.parent)), pythonpath=without_bundle(tmp_path))
    assert out["source"] in ("find_library", "soname")
    assert out["path"] == str(lib)
    assert "pkg-config" not in [s for s, _ in out["candidates"]]


def test_bundled_library_comes_first(tmp_path: Path) -> None:
    """A copy of the installed package with _lib/libsdfd.so.0 inside, as a wheel would have it."""
    lib = installed_library()
    pkg = tmp_path / "site" / "sdfd"
    shutil.copytree(Path(sdfd.__file__).parent, pkg, ignore=shutil.ignore_patterns("__pycache__", "_lib"))
    (pkg / "_lib").mkdir()
    shutil.copy2(lib, pkg / "_lib" / "libsdfd.so.0")
    out = run({"PKG_CONFIG_PATH": os.environ.get("PKG_CONFIG_PATH", ""), "LD_LIBRARY_PATH": str(lib.parent)},
              pythonpath=tmp_path / "site")
    assert Path(out["sdfd_file"]).parent == pkg
    assert out["source"] == "bundled"
    assert out["path"] == str(pkg / "_lib" / "libsdfd.so.0")
    assert out["candidates"][0] == ["bundled", str(pkg / "_lib" / "libsdfd.so.0")]
    # ...but an explicit SDFD_LIBRARY still wins
    out2 = run({"SDFD_LIBRARY": str(lib)}, pythonpath=tmp_path / "site")
    assert out2["source"] == "SDFD_LIBRARY" and out2["path"] == str(lib)


def test_wheel_bundling_the_library(tmp_path: Path, empty_pkgconfig: Dict[str, str]) -> None:
    """Build a wheel with _lib/ filled in, install it elsewhere, use it with nothing else around."""
    lib = installed_library()
    src = tmp_path / "src"
    shutil.copytree(HERE.parent, src, ignore=shutil.ignore_patterns(
        "__pycache__", "build", "dist", "*.egg-info", "tests", ".pytest_cache", "_lib"))
    (src / "sdfd" / "_lib").mkdir()
    shutil.copy2(lib, src / "sdfd" / "_lib" / "libsdfd.so.0")
    shutil.copy2(HERE.parents[1] / "include" / "sdfd.h", src / "src" / "sdfd.h")  # as packaging/wheel.sh does
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(src)],
                   check=True, capture_output=True, timeout=600)
    wheels = list(dist.glob("sdfd-*.whl"))
    assert len(wheels) == 1
    # a native library and the abi3 extension inside: tagged for the platform, not "any"
    assert wheels[0].name == f"sdfd-{sdfd.__version__}-cp38-abi3-linux_{os.uname().machine}.whl"
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert "sdfd/_lib/libsdfd.so.0" in names and "sdfd/daemon.py" in names and "sdfd/py.typed" in names
    assert "sdfd/_native.abi3.so" in names
    target = tmp_path / "target"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                    str(wheels[0])], check=True, capture_output=True, timeout=600)
    out = run(empty_pkgconfig, pythonpath=target)
    assert out["source"] == "bundled"
    assert out["path"] == str(target / "sdfd" / "_lib" / "libsdfd.so.0")
    assert out["listen_fds"] == []
