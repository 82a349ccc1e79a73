"""Shared helpers: the two implementations, free loopback ports, systemd-socket-activate."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

import pytest

HERE = Path(__file__).resolve().parent
PROBE = HERE / "probe.py"
CHILD = HERE / "activated_child.py"
#: python-systemd (Debian's python3-systemd) is importable with this interpreter only.
SYSTEM_PYTHON = "/usr/bin/python3"
IMPLS = ("systemd", "sdfd")
PASS_THROUGH = ("SDFD_LIBRARY", "PKG_CONFIG_PATH", "LD_LIBRARY_PATH")
ACTIVATE = shutil.which("systemd-socket-activate") or "/usr/bin/systemd-socket-activate"

# The test helpers shared by every suite of the project (free_port).
sys.path.insert(0, str(HERE.parents[1] / "tests" / "lib"))
import sdfdtest  # noqa: E402


def impl_python(impl: str) -> str:
    return SYSTEM_PYTHON if impl == "systemd" else sys.executable


def clean_env(**extra: str) -> Dict[str, str]:
    """The test environment without anything socket-activation related."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LISTEN_", "NOTIFY_SOCKET", "WATCHDOG_", "PYTHON"))}
    env.update(extra)
    return env


def run_probe(impl: str, suite: str) -> Dict[str, List[Any]]:
    proc = subprocess.run(
        [impl_python(impl), str(PROBE), impl, suite],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600, env=clean_env(),
    )
    if proc.returncode != 0:
        raise RuntimeError(f"probe {impl} {suite} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout)["groups"]


def free_port(host: str = "127.0.0.1", kind: int = socket.SOCK_STREAM) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return int(sdfdtest.free_port(family, host, kind))


def listen_arg(spec: Dict[str, Any]) -> str:
    kind = spec["kind"]
    if kind in ("tcp4", "udp4"):
        return f"127.0.0.1:{spec['port']}"
    if kind in ("tcp6", "udp6"):
        return f"[::1]:{spec['port']}"
    return spec["path"]


def make_spec(tmp: Path, *items: Sequence[str]) -> List[Dict[str, Any]]:
    """``("web", "tcp4"), ("ctl", "unix"), ...`` with fresh ports and paths."""
    out = []
    for name, kind, *via in items:
        spec: Dict[str, Any] = {"name": name, "kind": kind}
        if kind in ("tcp4", "tcp6", "udp4", "udp6"):
            host = "::1" if kind.endswith("6") else "127.0.0.1"
            spec["port"] = free_port(host, socket.SOCK_DGRAM if kind.startswith("udp") else socket.SOCK_STREAM)
        else:
            spec["path"] = str(tmp / f"{name}.sock")
        if via:
            spec["via"] = via[0]
        out.append(spec)
    return out


class Activation:
    """``systemd-socket-activate`` running activated_child.py; collects its stderr."""

    def __init__(self, impl: str, mode: str, spec: List[Dict[str, Any]], tmp: Path,
                 flags: Sequence[str] = (), fdnames: Optional[str] = "auto") -> None:
        self.spec = spec
        self.report_path = tmp / f"report-{impl}-{mode}-{time.monotonic_ns()}.json"
        args = [ACTIVATE, *flags]
        for s in spec:
            args += ["-l", listen_arg(s)]
        if fdnames == "auto":
            fdnames = ":".join(s["name"] for s in spec)
        if fdnames is not None:
            args.append(f"--fdname={fdnames}")
        for var in PASS_THROUGH:
            if var in os.environ:
                args += ["-E", var]
        args += [impl_python(impl), str(CHILD), impl, mode, json.dumps(spec), str(self.report_path)]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=clean_env())
        self.lines: List[str] = []
        self._listening = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._listening.wait(30):
            self.stop()
            raise RuntimeError("systemd-socket-activate did not start listening:\n" + self.output())

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.append(raw.decode(errors="replace"))
            if sum(line.startswith("Listening on") for line in self.lines) >= len(self.spec):
                self._listening.set()

    def output(self) -> str:
        return "".join(self.lines)

    def report(self, timeout: float = 60) -> Dict[str, Any]:
        deadline = time.monotonic() + timeout
        while not self.report_path.exists():
            if self.proc.poll() is not None and not self.report_path.exists():
                self._reader.join(5)
                raise AssertionError(f"activated child exited ({self.proc.returncode}) without a report:\n"
                                     + self.output())
            if time.monotonic() > deadline:
                raise AssertionError("no report from the activated child:\n" + self.output())
            time.sleep(0.02)
        return json.loads(self.report_path.read_text())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(5)

    def wait(self, timeout: float = 60) -> int:
        rc = self.proc.wait(timeout)
        self._reader.join(5)
        return rc


def exchange(spec: Dict[str, Any], tmp: Path, payload: str) -> socket.socket:
    """Start one client exchange with an activated socket; returns the client socket."""
    kind = spec["kind"]
    family = {"tcp4": socket.AF_INET, "udp4": socket.AF_INET, "tcp6": socket.AF_INET6,
              "udp6": socket.AF_INET6}.get(kind, socket.AF_UNIX)
    stype = {"udp4": socket.SOCK_DGRAM, "udp6": socket.SOCK_DGRAM, "unix-dgram": socket.SOCK_DGRAM,
             "unix-seqpacket": socket.SOCK_SEQPACKET}.get(kind, socket.SOCK_STREAM)
    addr: Any = (("127.0.0.1" if family == socket.AF_INET else "::1"), spec["port"]) \
        if family != socket.AF_UNIX else spec["path"]
    c = socket.socket(family, stype)
    c.settimeout(60)
    if stype == socket.SOCK_DGRAM:
        if family == socket.AF_UNIX:
            c.bind(str(tmp / f"client-{spec['name']}-{time.monotonic_ns()}.sock"))
        c.sendto(payload.encode() + b"\n", addr)
    else:
        c.connect(addr)
        c.sendall(payload.encode() + b"\n")
    return c


def read_reply(c: socket.socket) -> str:
    with c:
        return sdfdtest.recv_line(c).decode().strip()


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No LISTEN_*/NOTIFY_SOCKET around an in-process test (restored afterwards)."""
    for k in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "LISTEN_PIDFDID", "NOTIFY_SOCKET"):
        monkeypatch.delenv(k, raising=False)
        os.unsetenv(k)
    yield
