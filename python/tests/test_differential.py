"""sdfd.daemon against python-systemd's systemd.daemon, call for call.

tests/probe.py runs the same suites of calls under both implementations (in
separate processes: python-systemd under /usr/bin/python3, sdfd under this
interpreter) and records every outcome. Each group of calls is one test here;
a group passes when every value, value type, exception type, message, errno
and filename is identical, and (for the environment suites) the C-level
environment and FD_CLOEXEC flags afterwards are too.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Tuple

import pytest

from conftest import IMPLS, run_probe

SUITES = ("listen", "classify", "args", "arity", "notify", "booted")
#: Groups where only the exception *type* is compared: argument-count errors
#: come from a Python signature here and from the C argument parser there.
TYPE_ONLY = {"arity"}

_cache: Dict[str, Dict[str, Dict[str, List[Any]]]] = {}


# Where libsdfd deliberately follows newer systemd than python-systemd's
# libsystemd 252 (see the top-level README). Each rule checks sdfd's exact
# behaviour instead of equality; everything else must be identical.
def _pidfdid(theirs: Dict[str, Any], ours: Dict[str, Any]) -> None:
    # 252 ignores LISTEN_PIDFDID; sdfd (as systemd 258) rejects a malformed one
    assert "value" in theirs["result"]
    assert ours["result"]["raise"] == "OSError" and ours["result"]["errno"] == 22
    assert ours["cloexec"] == [False, False, False]  # failed before touching the fds
    unset = theirs["c_env"]["LISTEN_PID"] is None
    expected_env = dict(theirs["c_env"], LISTEN_PIDFDID=None if unset else "abc")
    assert ours["c_env"] == expected_env


def _vsock(theirs: Dict[str, Any], ours: Dict[str, Any]) -> None:
    # 252 does not know vsock addresses (-EINVAL); sdfd (as systemd 254+)
    # tries AF_VSOCK, which fails here with the kernel's error instead
    assert theirs["result"]["errno"] == 22
    assert ours["result"]["raise"] == "OSError" and ours["result"]["errno"] not in (None, 22)
    assert ours["c_env"] == theirs["c_env"]
    assert ours["received"] == theirs["received"] == []


KNOWN = [
    (lambda group, label: group.startswith("listen:") and label == "pidfdid=garbage", _pidfdid),
    (lambda group, label: group == "notify:vsock", _vsock),
]


def results(suite: str) -> Dict[str, Dict[str, List[Any]]]:
    if suite not in _cache:
        _cache[suite] = {impl: run_probe(impl, suite) for impl in IMPLS}
    return _cache[suite]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "group" in metafunc.fixturenames:
        params: List[Tuple[str, str]] = []
        for suite in SUITES:
            groups = results(suite)
            names = list(groups["systemd"])
            names += [g for g in groups["sdfd"] if g not in names]
            params += [(suite, g) for g in names]
        metafunc.parametrize("suite,group", params, ids=[g for _, g in params])


def shape(outcome: Any) -> Any:
    if isinstance(outcome, dict) and "raise" in outcome:
        return {"raise": outcome["raise"]}
    return outcome


def test_group(suite: str, group: str) -> None:
    both = results(suite)
    theirs, ours = both["systemd"].get(group), both["sdfd"].get(group)
    assert theirs is not None, f"group {group} only produced by sdfd"
    assert ours is not None, f"group {group} missing from sdfd's run"
    assert [label for label, _ in ours] == [label for label, _ in theirs]
    mismatches = []
    for (label, a), (_, b) in zip(theirs, ours):
        if suite in TYPE_ONLY:
            a, b = shape(a), shape(b)
        rule = next((check for applies, check in KNOWN if applies(group, label)), None)
        if a != b and rule is not None:
            rule(a, b)
        elif a != b:
            mismatches.append(f"{label}:\n  python-systemd: {json.dumps(a)}\n  sdfd:           {json.dumps(b)}")
    assert not mismatches, f"{len(mismatches)}/{len(theirs)} differ:\n" + "\n".join(mismatches[:15])


def test_probe_exercises_every_kind_of_outcome() -> None:
    """Guard against a vacuous comparison: the suites must produce values,
    OSErrors with and without filenames, ValueErrors, TypeErrors and
    OverflowErrors, and both True and False."""
    seen = set()

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            if "raise" in x:
                seen.add(x["raise"] + ("+filename" if x.get("filename") else ""))
            elif "value" in x and isinstance(x["value"], bool):
                seen.add(str(x["value"]))
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    for suite in SUITES:
        walk(results(suite)["systemd"])
    for kind in ("True", "False", "OSError", "OSError+filename", "FileNotFoundError+filename", "ValueError",
                 "TypeError", "OverflowError", "UnicodeEncodeError", "ConnectionRefusedError", "RuntimeError"):
        assert kind in seen, f"no {kind} outcome in any suite"
    total = sum(len(v) for suite in SUITES for v in results(suite)["systemd"].values())
    assert total > 20000
