#!/usr/bin/env bash
# aarch64 Linux under qemu-user: sdfd cross-built for aarch64-unknown-linux-gnu
# and run, so that the aarch64 branch of the raw system calls (src/sys) is
# executed, not only compiled:
#   1. the Rust tests (cargo test --target aarch64-unknown-linux-gnu, each
#      test binary run by qemu-aarch64);
#   2. the C differential suite: tests/c/probe.c built for aarch64 against
#      the aarch64 libsdfd.so and against libsystemd 252 for arm64 (Debian
#      multiarch, libsystemd-dev:arm64), both run under qemu-aarch64 by
#      tests/c/difftest.py.
# SDFD_AARCH64_ORACLE=x86_64 compares with the x86_64 probe on the x86_64
# libsystemd instead (the same scenarios: the outputs do not depend on the
# architecture). Adds the rustup target it needs; the Debian packages come
# from tests/deps.sh. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. tests/lib/sdfdtest.sh
TARGET=aarch64-unknown-linux-gnu
SYSROOT=/usr/aarch64-linux-gnu
MULTIARCH_LIB=/usr/lib/aarch64-linux-gnu
tmpdir w aarch64

need aarch64-linux-gnu-gcc qemu-aarch64
rustup target list --installed 2>/dev/null | grep -qx "$TARGET" || rustup target add "$TARGET" >/dev/null 2>&1 \
  || die "rustup target add $TARGET"

# The oracle: libsystemd for arm64 through multiarch (tests/deps.sh installs it).
oracle=${SDFD_AARCH64_ORACLE:-arm64}
if [ "$oracle" = arm64 ] && ! dpkg-query -W -f='${Status}' libsystemd-dev:arm64 2>/dev/null | grep -q 'ok installed'; then
  die "libsystemd-dev:arm64 is not installed (tests/deps.sh)"
fi
echo "# oracle: libsystemd 252 for $oracle"

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
# Linked with rustup's lld, as rustc links for x86_64 Linux by default: GNU ld
# refuses libsdfd.so's two version scripts (rustc's anonymous one and
# sdfd.map): "anonymous version tag cannot be combined with other version tags".
GCC_LD=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/gcc-ld
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=-fuse-ld=lld -C link-arg=-B$GCC_LD"
# The guest's C library: with Debian's arm64 libc6 installed (multiarch, for
# libsystemd:arm64), its ld.so must be used too ("-L /"): the cross sysroot's
# ld.so (libc6-arm64-cross, another build of glibc 2.36) would load the
# multiarch libc.so.6 from /lib/aarch64-linux-gnu, and a program hangs at
# its first pthread_create.
if [[ "$(dpkg-query -W -f='${Status}' libc6:arm64 2>/dev/null)" == *"ok installed"* ]]; then GUEST_ROOT=/; else GUEST_ROOT=$SYSROOT; fi
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L $GUEST_ROOT"
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
QEMU=(qemu-aarch64 -L "$GUEST_ROOT")

# 1. The Rust tests, run under qemu-aarch64 (the runner).
check "qemu-aarch64 runs an aarch64 program" bash -c \
  "printf 'int main(void){return 7;}' | aarch64-linux-gnu-gcc -x c -o '$w/seven' - && { ${QEMU[*]} '$w/seven'; [ \$? -eq 7 ]; }"
# One test is left out: it re-executes its own test binary, which under
# qemu-user needs binfmt_misc (a machine-wide setting this suite leaves alone).
cargo test -q --no-fail-fast --target "$TARGET" -- --skip renumbers_onto_3_in_a_fresh_process >"$w/cargo-test.log" 2>&1
rc=$?
results=$(grep -E '^test result: ' "$w/cargo-test.log")
if [ -n "$results" ]; then
  p=$(sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1/' <<<"$results" | awk '{s+=$1} END {print s+0}')
  f=$(sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\2/' <<<"$results" | awk '{s+=$1} END {print s+0}')
  echo "# cargo test --target $TARGET: $p passed, $f failed ($(grep -c '^test result: ' <<<"$results") test binaries)"
  T_PASS=$((T_PASS + p)); T_FAIL=$((T_FAIL + f))
  [ "$f" -eq 0 ] || grep -E '^(test .* FAILED|---- |thread )' "$w/cargo-test.log" | head -n 40 | sed 's/^/       /'
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then bad "cargo test --target $TARGET: exit status $rc" "$(tail -n 30 "$w/cargo-test.log")"; fi
else
  bad "cargo test --target $TARGET ran no tests (exit status $rc)" "$(tail -n 40 "$w/cargo-test.log")"
fi

# 2. The C library for aarch64, as `make` builds it for the host.
if SDFD_CDYLIB=1 cargo rustc -q --release --no-default-features --features capi --target "$TARGET" --lib --crate-type cdylib --crate-type staticlib \
     -- -C relro-level=partial >"$w/lib.log" 2>&1; then
  mkdir -p "$w/lib"
  cp "target/$TARGET/release/libsdfd.so" "$w/lib/libsdfd.so.0" && ln -s libsdfd.so.0 "$w/lib/libsdfd.so"
  ok "libsdfd.so for $TARGET (release, no_std, as make builds it)"
else
  die "libsdfd.so for $TARGET" "$(tail -n 30 "$w/lib.log")"
fi
CFLAGS=(-O1 -pthread -Wall -Wextra -Werror)
step "probe.c builds for aarch64 against libsdfd" \
  aarch64-linux-gnu-gcc "${CFLAGS[@]}" -I"$ROOT/include" -o "$w/probe-sdfd.bin" tests/c/probe.c \
  -L"$w/lib" -lsdfd -Wl,-rpath,"$w/lib"
needed=$(aarch64-linux-gnu-readelf -dW "$w/probe-sdfd.bin" 2>&1)
if grep -q 'libsdfd.so.0' <<<"$needed" && ! grep -q libsystemd <<<"$needed" && grep -q 'AArch64' <<<"$(aarch64-linux-gnu-readelf -h "$w/probe-sdfd.bin")"; then
  ok "probe-sdfd is an AArch64 program that needs libsdfd.so.0, not libsystemd"
else bad "probe-sdfd: not an aarch64 program on libsdfd" "$needed"; fi

if [ "$oracle" = arm64 ]; then
  # libsystemd's header is architecture-independent; the cross compiler
  # does not search /usr/include, so it gets that one directory only.
  mkdir -p "$w/inc" && ln -s /usr/include/systemd "$w/inc/systemd"
  step "probe.c builds for aarch64 against libsystemd (arm64, multiarch)" \
    aarch64-linux-gnu-gcc "${CFLAGS[@]}" -I"$w/inc" -o "$w/probe-libsystemd.bin" tests/c/probe.c \
    -L"$MULTIARCH_LIB" -lsystemd -Wl,-rpath-link,"$MULTIARCH_LIB"
  printf '#!/bin/sh\nexec %s "%s" "$@"\n' "${QEMU[*]}" "$w/probe-libsystemd.bin" >"$w/probe-libsystemd"
else
  step "probe.c builds for x86_64 against libsystemd" \
    cc "${CFLAGS[@]}" -o "$w/probe-libsystemd" tests/c/probe.c $(pkg-config --cflags --libs libsystemd)
fi
printf '#!/bin/sh\nexec %s "%s" "$@"\n' "${QEMU[*]}" "$w/probe-sdfd.bin" >"$w/probe-sdfd"
chmod +x "$w/probe-sdfd" "$w/probe-libsystemd"
# Nothing to compare unless both probes were built.
ref_bin=$w/probe-libsystemd; [ "$oracle" = arm64 ] && ref_bin=$w/probe-libsystemd.bin
[ -x "$w/probe-sdfd.bin" ] && [ -x "$ref_bin" ] || finish

# The reference side really runs libsystemd, the sdfd side really libsdfd
# (what the dynamic linker of each loads, under qemu).
maps() { "${QEMU[@]}" -E LD_TRACE_LOADED_OBJECTS=1 "$1" 2>&1; }
if [ "$oracle" = arm64 ]; then
  ref=$(maps "$w/probe-libsystemd.bin")
  if grep -qE "libsystemd.so.0 => (/usr)?/lib/aarch64-linux-gnu/libsystemd.so.0" <<<"$ref"; then ok "the reference probe loads the arm64 libsystemd.so.0 under qemu"
  else bad "the reference probe does not load the arm64 libsystemd" "$ref"; fi
fi
sut=$(maps "$w/probe-sdfd.bin")
if grep -q "libsdfd.so.0 => $w/lib/libsdfd.so.0" <<<"$sut" && ! grep -q libsystemd <<<"$sut"; then ok "the sdfd probe loads the aarch64 libsdfd.so.0 under qemu"
else bad "the sdfd probe does not load the aarch64 libsdfd" "$sut"; fi

# --qemu: qemu-user (7.2) does not implement seccomp for its guest (ENOSYS): the
# scenarios that make system calls fail through a seccomp filter are left out.
# Every EVERY-th scenario (default 3: about a third of the suite, every
# kind of scenario; under qemu each run costs ~0.1 s). SDFD_AARCH64_EVERY=1
# runs them all.
every=${SDFD_AARCH64_EVERY:-3}
counted "differential suite (one scenario in $every), aarch64 under qemu-user (oracle: $oracle)" \
  python3 tests/c/difftest.py "$w/probe-libsystemd" "$w/probe-sdfd" --qemu --every "$every"
finish
