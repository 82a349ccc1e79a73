#!/usr/bin/env bash
# Tests of the Python package (python/): pytest in a virtual environment made
# from the python3 on PATH, with pytest, uvicorn (the ASGI test) and this
# package installed into it (pip install of python/, as a user would), and python-systemd from
# Debian's python3-systemd under /usr/bin/python3 as the differential oracle.
#
#   SDFD_LIBRARY=/prefix/lib/libsdfd.so.0 PKG_CONFIG_PATH=/prefix/lib/pkgconfig python/run-tests.sh
#
# tests/run-all.sh exports both after `make install` into a staging prefix.
#
# Two paths are tested. By default the package is installed as the sdist
# installs it (pure Python: sdfd.daemon goes through ctypes, SDFD_LIBRARY set).
# With SDFD_PY_NATIVE=1 it is installed as the binary wheels are built: the
# library copied into sdfd/_lib/ and the extension sdfd._native compiled
# against it (needs python3-dev), and SDFD_LIBRARY is unset for pytest, so
# sdfd.daemon runs on the extension (test_pythonic checks which path is used).
# Without them this script stages the library itself. pytest runs last and its
# summary line ends the output; a set-up failure prints "0 passed, 1 failed".
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
PY=${PYTHON:-python3}
# The venv is kept between runs, in the build tree (nothing is left in /tmp).
VENV=${SDFD_PY_VENV:-$ROOT/build/python-venv}
SYSTEM_PYTHON=/usr/bin/python3

fail() { echo "python/run-tests.sh: $*" >&2; echo "0 passed, 1 failed"; exit 1; }
# The oracle and the launcher (Debian packages: tests/deps.sh installs them).
"$SYSTEM_PYTHON" -c 'import systemd.daemon' 2>/dev/null || fail "python3-systemd is needed under $SYSTEM_PYTHON"
command -v systemd-socket-activate >/dev/null || fail "systemd-socket-activate (package systemd) is needed"
command -v pkg-config >/dev/null || fail "pkg-config is needed"
NATIVE=${SDFD_PY_NATIVE:-0}
if [ "$NATIVE" = 1 ] && ! "$PY" -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'; then
  fail "SDFD_PY_NATIVE=1 needs Python.h (python3-dev)"
fi

# The library under test.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sdfd-python-tests.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
if [ -z "${SDFD_LIBRARY:-}" ]; then
  stage=$WORK/stage
  echo "run-tests: SDFD_LIBRARY not set; building and staging libsdfd in $stage"
  (cd "$ROOT" && CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$WORK/target} B=$WORK/build \
     make -s install PREFIX="$stage") >"$WORK/make.log" 2>&1 || { cat "$WORK/make.log"; fail "make install failed"; }
  export SDFD_LIBRARY=$stage/lib/libsdfd.so.0
  export PKG_CONFIG_PATH=$stage/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
fi
[ -e "$SDFD_LIBRARY" ] || fail "SDFD_LIBRARY=$SDFD_LIBRARY does not exist"
export SDFD_LIBRARY PKG_CONFIG_PATH

# A virtual environment from the python3 on PATH (reused while it still works).
want=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])') || fail "no $PY on PATH"
have=$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true)
if [ "$have" != "$want" ]; then
  rm -rf "$VENV"
  # (Debian's python3 needs python3-venv for ensurepip)
  "$PY" -m venv "$VENV" >"$WORK/venv.log" 2>&1 || { cat "$WORK/venv.log"; fail "cannot create a venv with $PY"; }
fi
VPY=$VENV/bin/python
"$VPY" -m pip install -q --disable-pip-version-check pytest uvicorn || fail "pip install pytest uvicorn failed"
# Install from a copy of python/ so that no build/ or *.egg-info is left in the tree.
mkdir "$WORK/src"
(cd "$HERE" && tar -h --exclude=./build --exclude=./dist --exclude='*.egg-info' --exclude=__pycache__ \
   --exclude=./sdfd/_lib -cf - .) | tar -xf - -C "$WORK/src"
if [ "$NATIVE" = 1 ]; then
  mkdir "$WORK/src/sdfd/_lib"
  install -m 755 "$(readlink -f "$SDFD_LIBRARY")" "$WORK/src/sdfd/_lib/libsdfd.so.0"
  install -m 644 "$ROOT/include/sdfd.h" "$WORK/src/src/sdfd.h"  # the extension's prototypes
fi
"$VPY" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$WORK/src" \
  || fail "pip install of python/ failed"

if [ "$NATIVE" = 1 ]; then
  "$VPY" -c 'import sdfd._native' || fail "the extension sdfd._native was not built"
  path="sdfd._native with the library in sdfd/_lib/ (SDFD_LIBRARY unset)"
  unset SDFD_LIBRARY
  export SDFD_PY_EXPECT=native
else
  path="ctypes, SDFD_LIBRARY=$SDFD_LIBRARY"
  export SDFD_PY_EXPECT=ctypes
fi
echo "run-tests: $("$VPY" --version) in $VENV; oracle $("$SYSTEM_PYTHON" --version) with python-systemd; $path"
cd "$HERE/tests" || fail "no tests directory"
# pytest's tmp_path directories live in $WORK, removed on exit.
"$VPY" -m pytest -p no:cacheprovider --basetemp="$WORK/pytest" -rfE .
