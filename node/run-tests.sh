#!/usr/bin/env bash
# Tests of the Node.js package: installs its dependencies (npm ci), then runs
# node's test runner (TAP, so the output ends with "# pass N" / "# fail N").
#
# The library under test: SDFD_LIBRARY (path to libsdfd.so.0), else what
# pkg-config finds (PKG_CONFIG_PATH); if neither, it is built and staged
# under a temporary prefix first.
set -uo pipefail
cd "$(dirname "$0")"
HERE=$PWD

fail() { echo "node: $*" >&2; printf '# pass 0\n# fail 1\n'; exit 1; }

command -v node >/dev/null || fail "node is not installed"
command -v npm >/dev/null || fail "npm is not installed"
for tool in /usr/bin/systemd-socket-activate /usr/bin/python3 openssl pkg-config mkfifo; do
  command -v "$tool" >/dev/null || fail "$tool is needed by the tests"
done

if [ -z "${SDFD_LIBRARY:-}" ] && ! pkg-config --exists sdfd 2>/dev/null; then
  STAGE=$(mktemp -d "${TMPDIR:-/tmp}/sdfd-node-stage.XXXXXX")
  trap 'rm -rf "$STAGE"' EXIT
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
node -e "require('koffi')" || fail "koffi does not load"

# Test files: *.test.js and *.test.mjs under test/ (fixtures are not tests).
shopt -s nullglob
files=(test/*.test.js test/*.test.mjs)
[ ${#files[@]} -gt 0 ] || fail "no test files"
node --test --test-reporter=tap --test-timeout=180000 "${files[@]}"
