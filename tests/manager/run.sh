#!/usr/bin/env bash
# The real systemd 252 manager as PID 1 of private namespaces, running
# services built on libsystemd and on sdfd (tests/manager/manager.py).
# Needs root (namespaces, a cgroup2 directory). Builds the probes against
# libsystemd and against the installed sdfd (pkg-config; run-all.sh stages
# it, else this script does), sdfd-activate and the libsystemd.so.0 shim.
# Ends with "N passed, N failed"; a manager that cannot boot is a failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. tests/lib/sdfdtest.sh
[ "$(id -u)" -eq 0 ] || die "needs root: private namespaces and a cgroup2 directory for the manager"
need /lib/systemd/systemd fcgiwrap cgi-fcgi unshare nsenter script pkg-config node
/usr/bin/python3 -c 'import systemd.daemon' 2>/dev/null || die "python3-systemd is not installed (tests/deps.sh)"
[ -n "$(findmnt -n -t cgroup2 2>/dev/null)" ] || die "no cgroup2 hierarchy mounted: the manager cannot boot"

tmpdir B manager-build
mkdir -p "$B/bin" "$B/lib" "$B/shim"
if ! pkg-config --exists sdfd; then
  make -s install PREFIX="$B/stage" >"$B/install.log" 2>&1 || die "make install" "$(cat "$B/install.log")"
  export PKG_CONFIG_PATH=$B/stage/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
fi
CC=${CC:-cc}
step "probe.c builds against libsystemd" $CC -O1 -Wall -Wextra -Werror -o "$B/bin/probe-libsystemd" \
  tests/manager/probe.c $(pkg-config --cflags --libs libsystemd)
step "probe.c builds against sdfd" $CC -O1 -Wall -Wextra -Werror -o "$B/bin/probe-sdfd" tests/manager/probe.c \
  $(pkg-config --cflags --libs sdfd) -Wl,-rpath,'$ORIGIN/../lib'
[ "$T_FAIL" -eq 0 ] || finish
cp -L "$(pkg-config --variable=libdir sdfd)/libsdfd.so.0" "$B/lib/" || die "copy libsdfd.so.0"
deps=$(ldd "$B/bin/probe-sdfd")
if [[ "$deps" == *"libsdfd.so.0 => $B/bin/../lib/libsdfd.so.0"* && "$deps" != *libsystemd* ]]; then
  ok "probe-sdfd links the installed libsdfd, not libsystemd"
else die "probe-sdfd does not link the installed libsdfd" "$deps"; fi
step "make compat (the libsystemd.so.0 shim)" make -s compat B="$B/compat-build"
cp "$B/compat-build/compat/libsystemd.so.0" "$B/shim/" || die "no shim built"
step "sdfd-activate builds" cargo build -q --release -p sdfd-activate
cp "${CARGO_TARGET_DIR:-target}/release/sdfd-activate" "$B/bin/" || die "no sdfd-activate built"
if [ ! -d node/node_modules/koffi ]; then
  step "npm ci (the Node binding's koffi)" sh -c 'cd node && npm ci --no-audit --no-fund --loglevel=error'
fi
[ "$T_FAIL" -eq 0 ] || finish
counted manager python3 tests/manager/manager.py "$B" "$ROOT"
finish
