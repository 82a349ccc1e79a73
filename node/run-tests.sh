#!/usr/bin/env bash
# Tests of the Node.js package: installs its dependencies (npm ci), then runs
# node's test runner (TAP, so the output ends with "# pass N" / "# fail N").
#
# The library under test: SDFD_LIBRARY (path to libsdfd.so.0), else what
# pkg-config finds (PKG_CONFIG_PATH); if neither, it is built and staged
# under a temporary prefix first.
#
# ./run-tests.sh --addon: the same tests through the Node-API addon. A copy
# of the package is staged as the npm tarball lays it out (sdfd.node, built
# by build-addon.sh, in lib/linux-<arch>/, that library in
# lib/linux-<arch>-gnu/), and the tests run there with SDFD_LIBRARY unset
# (PKG_CONFIG_PATH names the staged copy, for the tests that look the library
# up themselves).
#
# The tests load the package by name (require('sdfd'), import 'sdfd'), as a
# user does: node_modules/sdfd is a link to the package under test.
set -uo pipefail
cd "$(dirname "$0")"
HERE=$PWD
ADDON=0
[ "${1:-}" = --addon ] && ADDON=1
STAGE=
cleanup() { [ -z "$STAGE" ] || rm -rf "$STAGE"; }
trap cleanup EXIT

fail() { echo "node: $*" >&2; printf '# pass 0\n# fail 1\n'; exit 1; }

command -v node >/dev/null || fail "node is not installed"
command -v npm >/dev/null || fail "npm is not installed"
for tool in /usr/bin/systemd-socket-activate /usr/bin/python3 openssl pkg-config mkfifo; do
  command -v "$tool" >/dev/null || fail "$tool is needed by the tests"
done

if [ -z "${SDFD_LIBRARY:-}" ] && ! pkg-config --exists sdfd 2>/dev/null; then
  STAGE=$(mktemp -d "${TMPDIR:-/tmp}/sdfd-node-stage.XXXXXX")
  echo "node: no SDFD_LIBRARY and no sdfd.pc: building libsdfd into $STAGE"
  ( cd .. && CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$STAGE/target} B=$STAGE/build \
      make -s install PREFIX="$STAGE/prefix" ) >"$STAGE/build.log" 2>&1 \
    || { cat "$STAGE/build.log"; fail "building libsdfd failed"; }
  export SDFD_LIBRARY=$STAGE/prefix/lib/libsdfd.so.0
fi
echo "node: library under test: ${SDFD_LIBRARY:-pkg-config: $(pkg-config --variable=libdir sdfd)}"

if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error >npm-install.log 2>&1 || { cat npm-install.log; rm -f npm-install.log; fail "npm ci failed"; }
else
  npm install --no-audit --no-fund --loglevel=error >npm-install.log 2>&1 || { cat npm-install.log; rm -f npm-install.log; fail "npm install failed"; }
fi
rm -f npm-install.log
ln -sfn .. node_modules/sdfd || fail "linking node_modules/sdfd"

if [ "$ADDON" = 1 ]; then
  lib=${SDFD_LIBRARY:-$(pkg-config --variable=libdir sdfd)/libsdfd.so.0}
  [ -n "$STAGE" ] || STAGE=$(mktemp -d "${TMPDIR:-/tmp}/sdfd-node-stage.XXXXXX")
  pkg=$STAGE/package
  arch=$(node -p process.arch)
  plat=$pkg/lib/linux-$arch-gnu
  mkdir -p "$plat" "$STAGE/pc" "$pkg/node_modules"
  cp index.js api.js addon.js index.d.ts package.json README.md "$pkg/" || fail "staging the package failed"
  cp -r test "$pkg/test" || fail "staging the tests failed"
  for m in node_modules/* node_modules/.bin; do
    [ "$m" = node_modules/sdfd ] || ln -s "$HERE/$m" "$pkg/$m" || fail "staging node_modules failed"
  done
  ln -s .. "$pkg/node_modules/sdfd"
  ln -s "$HERE/../src" "$STAGE/src"   # read by activation-vars.test.js
  cp -L "$lib" "$plat/libsdfd.so.0" || fail "no library at $lib"
  ./build-addon.sh "$pkg/lib/linux-$arch" || fail "building the addon failed"
  printf 'prefix=%s\nlibdir=%s\nincludedir=%s\n\nName: sdfd\nDescription: staged\nVersion: 0.0.0\nLibs: -L${libdir} -lsdfd\nCflags:\n' \
    "$STAGE" "$plat" "$STAGE" >"$STAGE/pc/sdfd.pc"
  unset SDFD_LIBRARY PKG_CONFIG_LIBDIR
  export PKG_CONFIG_PATH=$STAGE/pc
  cd "$pkg" || fail "no staged package"
  echo "node: through the addon $pkg/lib/linux-$arch/sdfd.node"
fi
node -e "require('koffi')" || fail "koffi does not load"

# Test files: *.test.js and *.test.mjs under test/ (fixtures are not tests).
shopt -s nullglob
files=(test/*.test.js test/*.test.mjs)
[ ${#files[@]} -gt 0 ] || fail "no test files"
# A test that hangs fails after 3 minutes where node has --test-timeout
# (Node 20); Debian 12's Node 18 has no such option, and its runner waits.
timeout=()
node --help 2>/dev/null | grep -q -- '--test-timeout' && timeout=(--test-timeout=180000)
node --test --test-reporter=tap "${timeout[@]}" "${files[@]}"
