"""Argument checks against python-systemd (Debian's python3-systemd under /usr/bin/python3).

NULs in strings, integers out of a C int's range, negative integers and
``fds=None`` must raise exactly what python-systemd raises for the same
arguments. ``find_socket`` has no python-systemd counterpart: its arguments
are checked like the ones of the function taking the same kind of argument
(the address as ``notify``'s string, the type as ``is_socket``'s type), and
the exception type and message must match, the function name aside.
"""
import json
import os
import subprocess

import pytest

import sdfd
import sdfd.daemon

from conftest import SYSTEM_PYTHON, clean_env

# (sdfd expression, python-systemd expression); `d` is the daemon module.
CASES = [
    ("sdfd.find_socket('18110\\x00junk')", "d.notify('18110\\x00junk')"),
    ("sdfd.find_socket('\\x00')", "d.notify('\\x00')"),
    ("sdfd.find_socket(b'18110')", "d.notify(b'18110')"),
    ("sdfd.find_socket(18110)", "d.notify(18110)"),
    ("sdfd.find_socket('18110', 2**32 + 1)", "d.is_socket(0, 0, 2**32 + 1)"),
    ("sdfd.find_socket('18110', 2**31)", "d.is_socket(0, 0, 2**31)"),
    ("sdfd.find_socket('18110', 2**63)", "d.is_socket(0, 0, 2**63)"),
    ("sdfd.find_socket('18110', 2**64 + 1)", "d.is_socket(0, 0, 2**64 + 1)"),
    ("sdfd.find_socket('18110', -1)", "d.is_socket(0, 0, -1)"),
    ("sdfd.find_socket('18110', -2**31)", "d.is_socket(0, 0, -2**31)"),
    ("sdfd.find_socket('18110', -2**31 - 1)", "d.is_socket(0, 0, -2**31 - 1)"),
    ("sdfd.find_socket('18110', '1')", "d.is_socket(0, 0, '1')"),
    ("sdfd.find_socket('18110', 1.0)", "d.is_socket(0, 0, 1.0)"),
] + [(f"sdfd.daemon.{e}", f"d.{e}") for e in [
    "notify('READY=1', fds=None)",
    "notify('READY=1', False, 0, None)",
    "notify('READY=1', fds=[None])",
    "notify('READY=1', fds=[2**31])",
    "notify('READY=1', fds=[-2**31 - 1])",
    "notify('READY=1', fds=[2**63])",
    "notify('READY=1', fds=[-1])",
    "notify('READY=1', fds=[])",
    "notify('READY=1', pid=-1)",
    "notify('READY=1', pid=2**31)",
    "notify('READY=1', pid=2**63)",
    "notify('READY=\\x001')",
    "is_socket(0, 0, 2**32 + 1)",
    "is_socket(0, 0, -1)",
    "is_socket(0, -1)",
    "is_socket(-1)",
    "is_socket(2**31)",
    "is_socket_inet(0, 0, 0, -1, -1)",
    "is_socket_inet(0, 0, 0, -1, 65536)",
    "is_socket_inet(0, 0, 0, -1, 2**32 + 1)",
    "is_socket_unix(0, 0, -1, 'a\\x00b')",
    "is_fifo(0, 'a\\x00b')",
    "is_fifo(-1)",
    "is_fifo(2**31)",
    "is_mq(-1)",
    "listen_fds(2**63)",
]]

ORACLE = r"""
import json, sys
from systemd import daemon as d
out = []
for expr in json.loads(sys.argv[1]):
    try:
        out.append(["ok", repr(eval(expr))])
    except Exception as e:
        out.append([type(e).__name__, str(e)])
print(json.dumps(out))
"""


def _outcome(expr):
    try:
        return ["ok", repr(eval(expr))]  # noqa: S307 - fixed test expressions
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return [type(e).__name__, str(e)]


@pytest.fixture(scope="module")
def oracle():
    env = clean_env()
    p = subprocess.run([SYSTEM_PYTHON, "-c", ORACLE, json.dumps([o for _, o in CASES])], env=env,
                       capture_output=True, text=True, timeout=60, check=True)
    return dict(zip([o for _, o in CASES], json.loads(p.stdout)))


@pytest.mark.parametrize("mine,theirs", CASES, ids=[m for m, _ in CASES])
def test_same_error_as_python_systemd(mine, theirs, oracle, monkeypatch):
    for k in list(os.environ):
        if k.startswith(("LISTEN_", "NOTIFY_SOCKET", "WATCHDOG_")):
            monkeypatch.delenv(k)
    want = oracle[theirs]
    got = _outcome(mine)
    if mine.startswith("sdfd.find_socket"):
        # Only the function name in the message differs ("notify()" / "find_socket()").
        got[1] = got[1].replace("find_socket()", "FUNC()")
        want = [want[0], want[1].replace("notify()", "FUNC()").replace("is_socket()", "FUNC()")]
        if want[0] == "ok":
            pytest.fail(f"oracle accepted {theirs}: not a usable counterpart")
    assert got == want, f"{mine}: sdfd {got}, python-systemd {want} ({theirs})"
