"""python-systemd's own test_daemon.py, pointed at sdfd.daemon.

The file is read from the installed python3-systemd package at test time
(nothing of it is kept in this repository); its imports are redirected from
systemd.daemon to sdfd.daemon and it runs under this interpreter. Every one of
its tests must pass: none may be skipped (it skips on ENOSYS) or xfail.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import SYSTEM_PYTHON, clean_env

LOCATE = "import systemd.test.test_daemon as t; print(t.__file__)"


def test_python_systemd_test_daemon_passes_against_sdfd(tmp_path: Path) -> None:
    where = subprocess.run([SYSTEM_PYTHON, "-c", LOCATE], capture_output=True, text=True, check=True,
                           env=clean_env()).stdout.strip()
    source = Path(where).read_text()
    redirected, n = re.subn(r"^from systemd\.daemon import", "from sdfd.daemon import", source, flags=re.M)
    assert n == 1 and "systemd." not in redirected.replace("sdfd.daemon", "")
    target = tmp_path / "test_upstream_daemon.py"
    target.write_text(redirected)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rsx", "-p", "no:cacheprovider", str(target)],
                          capture_output=True, text=True, timeout=300, env=clean_env(), cwd=str(tmp_path))
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    m = re.search(r"(\d+) passed", summary)
    assert m and int(m.group(1)) >= 20, summary
    assert not re.search(r"skipped|xfail|xpass|failed|error", summary), summary
