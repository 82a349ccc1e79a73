#!/usr/bin/env bash
# The real systemd 252 manager as PID 1 of private namespaces, running
# services built on libsystemd and on sdfd (tests/manager/manager.py).
# Needs root (namespaces, a cgroup2 directory). Builds the probes against
# libsystemd and against the installed sdfd (pkg-config; run-all.sh stages
# it), sdfd-activate and the libsystemd.so.0 shim. Ends with
# "N passed, N failed"; a manager that cannot boot is a failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
die() { echo "FAIL - $*"; echo "0 passed, 1 failed"; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root: private namespaces and a cgroup2 directory for the manager"
[ -x /lib/systemd/systemd ] || ./tests/apt-need.sh systemd || die "apt-get install systemd"
./tests/apt-need.sh systemd python3-systemd fcgiwrap libfcgi-bin util-linux libsystemd-dev pkg-config \
  || die "apt-get install"
command -v node >/dev/null || ./tests/apt-need.sh nodejs npm || die "apt-get install nodejs npm"
findmnt -n -t cgroup2 >/dev/null || die "no cgroup2 hierarchy mounted: the manager cannot boot"

B=$(mktemp -d "${TMPDIR:-/tmp}/sdfd-manager-build.XXXXXX")
trap 'rm -rf "$B"' EXIT
mkdir -p "$B/bin" "$B/lib" "$B/shim"
if ! pkg-config --exists sdfd; then
  make -s install PREFIX="$B/stage" >"$B/install.log" 2>&1 || { cat "$B/install.log"; die "make install"; }
  export PKG_CONFIG_PATH=$B/stage/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
fi
CC=${CC:-cc}
$CC -O1 -Wall -Wextra -Werror -o "$B/bin/probe-libsystemd" tests/manager/probe.c \
    $(pkg-config --cflags --libs libsystemd) || die "build probe against libsystemd"
$CC -O1 -Wall -Wextra -Werror -o "$B/bin/probe-sdfd" tests/manager/probe.c $(pkg-config --cflags --libs sdfd) \
    -Wl,-rpath,'$ORIGIN/../lib' || die "build probe against sdfd"
cp -L "$(pkg-config --variable=libdir sdfd)/libsdfd.so.0" "$B/lib/" || die "libsdfd.so.0"
[[ "$(ldd "$B/bin/probe-sdfd")" == *"libsdfd.so.0 => $B/bin/../lib/libsdfd.so.0"* ]] || die "probe-sdfd does not use the staged libsdfd"
[[ "$(ldd "$B/bin/probe-sdfd")" != *libsystemd* ]] || die "probe-sdfd links libsystemd"
make -s compat B="$B/compat-build" >"$B/compat.log" 2>&1 || { cat "$B/compat.log"; die "make compat"; }
cp "$B/compat-build/compat/libsystemd.so.0" "$B/shim/"
cargo build -q --release -p sdfd-activate 2>"$B/activate.log" || { cat "$B/activate.log"; die "build sdfd-activate"; }
cp "${CARGO_TARGET_DIR:-target}/release/sdfd-activate" "$B/bin/"
if [ ! -d node/node_modules/koffi ]; then
  (cd node && npm ci --no-audit --no-fund --loglevel=error) >"$B/npm.log" 2>&1 || { cat "$B/npm.log"; die "npm ci"; }
fi
# On SIGTERM/SIGINT the driver ends its machines and removes what it made.
python3 tests/manager/manager.py "$B" "$ROOT" &
driver=$!
trap 'kill -TERM $driver 2>/dev/null; wait $driver; rm -rf "$B"; exit 1' TERM INT
wait $driver
