#!/usr/bin/env bash
# sdfd-activate suite: unit tests, the differential test against
# systemd-socket-activate 252, real daemons under every mode, load during
# SIGHUP replacements, restart, fd store, reaping, signals, errors; the
# static musl binary and the macOS type-check. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/build/launcher-test
mkdir -p "$OUT"
. tests/lib/sdfdtest.sh
if [ -z "${PKG_CONFIG_PATH:-}" ] || ! pkg-config --exists sdfd 2>/dev/null; then
  make -s install PREFIX="$ROOT/build/stage" >/dev/null && export PKG_CONFIG_PATH=$ROOT/build/stage/lib/pkgconfig
fi
LIBDIR=$(pkg-config --variable=libdir sdfd)
for t in x86_64-unknown-linux-musl x86_64-apple-darwin; do
  rustup target list --installed 2>/dev/null | grep -qx "$t" || rustup target add "$t" >/dev/null 2>&1
done

# Unit tests (options; the address syntax is the library's, src/address.rs)
# are cargo's; count them here.
if cargo test -q -p sdfd-activate >"$OUT/unit.log" 2>&1 && cargo test -q --lib address:: >>"$OUT/unit.log" 2>&1; then :; fi
u=$(grep -E '^test result: ' "$OUT/unit.log" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/' | awk '{p+=$1; f+=$2} END {if (NR) print p, f}')
if [ -n "$u" ]; then T_PASS=$((T_PASS + ${u% *})); T_FAIL=$((T_FAIL + ${u#* })); echo "unit: $u (passed failed)"
else bad "unit tests (cargo test -p sdfd-activate, cargo test --lib address::)" "$(cat "$OUT/unit.log")"; fi

step "release build" cargo build -q --release -p sdfd-activate
ACT=$ROOT/target/release/sdfd-activate
rm -f "$OUT/probe"
step "probe builds" cc -O2 -Wall -Werror -o "$OUT/probe" tests/launcher/launcher_probe.c
step "hello-daemon builds against sdfd (pkg-config)" sh -c "cc -O2 -Wall -o '$OUT/hello' examples/hello-daemon.c \$(pkg-config --cflags --libs sdfd) -Wl,-rpath,'$LIBDIR'"
step "activated.c builds against sdfd (pkg-config)" sh -c "cc -O2 -Wall -o '$OUT/activated' tests/c/activated.c \$(pkg-config --cflags --libs sdfd) -Wl,-rpath,'$LIBDIR'"
step "daemons use libsdfd, not libsystemd" eval "ldd '$OUT/hello' | grep -q libsdfd && lacks libsystemd ldd '$OUT/hello'"

counted difftest timeout 600 python3 tests/launcher/launcher_difftest.py "$ACT" "$OUT/probe"
counted supervise timeout 600 python3 tests/launcher/supervise.py "$ACT" "$OUT/hello" "$OUT/activated"
counted notify-access timeout 300 python3 tests/launcher/notify_access.py "$ACT"
counted defects timeout 300 python3 tests/launcher/defects.py "$ACT" "$OUT/activated"

# A single static binary for containers: no interpreter, no libc needed.
step "musl static build (make activate-musl)" make -s activate-musl
MUSL=$ROOT/build/sdfd-activate
step "musl binary is static (no interpreter, no NEEDED)" eval "lacks INTERP readelf -l '$MUSL' && lacks NEEDED readelf -d '$MUSL'"
step "musl binary runs in an empty root as a container entrypoint" sh -c "
  set -e; R=\$(mktemp -d); trap 'rm -rf \$R' EXIT
  mkdir -p \$R/bin; cp '$MUSL' \$R/bin/sdfd-activate
  cc -static -O2 -o \$R/bin/probe tests/launcher/launcher_probe.c
  timeout 10 chroot \$R /bin/sdfd-activate -q --now -l @sdfd-chroot-\$\$ --fdname=x /bin/probe /report 0
  grep -q 'env LISTEN_FDNAMES=x' \$R/report && grep -q 'env LISTEN_PID=self' \$R/report && grep -q 'env LISTEN_FDS=1' \$R/report"
# No /proc (an empty root): a bare port is bound as systemd 252 decides it
# (tests/launcher/noproc.sh).
step "no /proc: '-l PORT' binds the address family systemd-socket-activate 252 binds there" tests/launcher/noproc.sh "$MUSL"
step "macOS type-check (cargo check --target x86_64-apple-darwin)" cargo check -q --target x86_64-apple-darwin -p sdfd-activate
echo "size: $(stat -c %s "$MUSL") bytes (musl static), $(stat -c %s "$ACT") bytes (glibc)"
finish
