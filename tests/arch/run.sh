#!/usr/bin/env bash
# Linux on the other architectures Debian ships, one runner for all:
#
#   tests/arch/run.sh ARCH...     ARCH: i686 armhf s390x ppc64el aarch64 aarch64-musl
#
# For each ARCH, sdfd cross-built for that architecture's Rust target and run
# (i686 natively on the x86_64 kernel, the others under qemu-user):
#   1. the Rust tests (cargo test --target T, each test binary run by the
#      runner: qemu-ARCH, or directly for i686);
#   2. the C differential suite: tests/c/probe.c built for ARCH against
#      that architecture's libsdfd.so and against libsystemd 252 for ARCH
#      (Debian multiarch, libsystemd-dev:DEBARCH), both run on ARCH by
#      tests/c/difftest.py.
# x86_64 and aarch64 make their calls as raw system calls (src/sys/linux.rs,
# unless built with --cfg sdfd_no_raw_syscalls); i686, armhf, s390x and ppc64el run the libc path of
# src/sys/unix.rs. i686 and armhf are 32-bit (32-bit long, pid_t, socklen_t,
# CMSG_SPACE); s390x is big-endian.
#
# With several ARCHs they run in parallel, SDFD_ARCH_JOBS (default 2) at a
# time, each in its own cargo target directory (target/arch/ARCH); each
# one's output is shown when it ends, with its time, and the counts are
# added. SDFD_ARCH_ORACLE=host compares with the x86_64 probe on the x86_64
# libsystemd instead of the multiarch one (the same scenarios: the outputs do
# not depend on the architecture). Under qemu, every SDFD_ARCH_EVERY-th
# (default 3) scenario of the differential suite runs (natively: all).
# Adds the rustup target it needs; the cross compilers, qemu-user and the
# multiarch libsystemd-dev come from tests/deps.sh.
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. tests/lib/sdfdtest.sh

[ $# -ge 1 ] || { echo "usage: tests/arch/run.sh ARCH... (i686 armhf s390x ppc64el aarch64 aarch64-musl)" >&2; die "no ARCH given"; }

# build_hostlib DIR TARGET_DIR: DIR/libsdfd.so{,.0} for x86_64, built as
# for the other architectures (the hand-off's other side).
build_hostlib() {
  local args; args=$(packaging/capi-args.sh "" "$2/capi-c") || return 1
  # shellcheck disable=SC2086
  CARGO_TARGET_DIR=$2 cargo rustc -q --release --no-default-features --features capi --lib \
    --crate-type cdylib -- -C relro-level=partial $args || return 1
  mkdir -p "$1" && cp "$2/release/libsdfd.so" "$1/libsdfd.so.0" && ln -sf libsdfd.so.0 "$1/libsdfd.so"
}

# ---- Several architectures: one child per ARCH, in parallel ----
if [ $# -gt 1 ]; then
  tmpdir P arch-all
  jobs_max=${SDFD_ARCH_JOBS:-2}
  # The package installs first, one at a time (apt holds one lock).
  for a in "$@"; do
    SDFD_ARCH_INSTALL_ONLY=1 "$0" "$a" >"$P/$a.install.log" 2>&1 \
      || { cat "$P/$a.install.log"; die "$a: installing what it needs"; }
  done
  # The x86_64 side of the hand-offs, built once for all of them.
  export SDFD_ARCH_HOSTLIB=$P/hostlib
  if ! build_hostlib "$SDFD_ARCH_HOSTLIB" "$ROOT/target/arch/host" >"$P/hostlib.log" 2>&1; then
    die "libsdfd.so for x86_64 (the hand-offs' other side)" "$(tail -n 30 "$P/hostlib.log")"
  fi
  declare -A pid_of=() start_of=()
  run_one() { local a=$1; start_of[$a]=$SECONDS; "$0" "$a" >"$P/$a.log" 2>&1 & pid_of[$a]=$!; track $!; }
  report() {
    local a=$1 rc
    wait "${pid_of[$a]}"; rc=$?
    echo "## $a ($((SECONDS - ${start_of[$a]})) s, exit status $rc)"
    sed "s/^\(ok\|FAIL\) /\1 [$a] /" "$P/$a.log" | grep -vE '^[0-9]+ passed, [0-9]+ failed'
    local line; line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$P/$a.log" | tail -n 1)
    if [ -z "$line" ]; then bad "$a: no count line (exit status $rc)"; return; fi
    T_PASS=$((T_PASS + $(awk '{print $1}' <<<"$line"))); T_FAIL=$((T_FAIL + $(awk '{print $3}' <<<"$line")))
    if [ "$rc" -ne 0 ] && [ "$(awk '{print $3}' <<<"$line")" -eq 0 ]; then bad "$a: exit status $rc with no failed check"; fi
  }
  queue=("$@") running=()
  while [ ${#queue[@]} -gt 0 ] || [ ${#running[@]} -gt 0 ]; do
    while [ ${#queue[@]} -gt 0 ] && [ ${#running[@]} -lt "$jobs_max" ]; do
      run_one "${queue[0]}"; running+=("${queue[0]}"); queue=("${queue[@]:1}")
    done
    wait -n 2>/dev/null || true
    still=()
    for a in "${running[@]}"; do
      if kill -0 "${pid_of[$a]}" 2>/dev/null; then still+=("$a"); else report "$a"; fi
    done
    running=("${still[@]}")
  done
  finish
fi

# ---- musl on aarch64: the static library and the launcher ----
# libsdfd.a for aarch64-unknown-linux-musl, its C part (src/notifyf.c) and
# a C daemon (tests/c/activated.c) compiled by aarch64-linux-gnu-gcc with
# the specs of Debian's musl-dev:arm64 (multiarch; Debian has no musl cross
# compiler), the daemon linked fully static; sdfd-activate for the same
# target, linked by rustc with its self-contained musl (crt objects and
# libc.a of the Rust target). Both run under qemu-aarch64: the daemon
# activated by systemd-socket-activate, then by the aarch64 launcher.
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

musl_aarch64() {
  local TARGET=aarch64-unknown-linux-musl SPECS=/usr/lib/aarch64-linux-musl/musl-gcc.specs
  need aarch64-linux-gnu-gcc qemu-aarch64 systemd-socket-activate
  installed musl-dev:arm64 || die "musl-dev:arm64 is not installed (tests/deps.sh)"
  rustup target list --installed 2>/dev/null | grep -qx "$TARGET" || rustup target add "$TARGET" >/dev/null 2>&1 \
    || die "rustup target add $TARGET"
  [ -z "${SDFD_ARCH_INSTALL_ONLY:-}" ] || { ok "aarch64-musl: cross compiler, musl-dev:arm64, qemu-user, rustup target installed"; finish; }
  tmpdir w arch-aarch64-musl
  at_exit 'jobs -p | xargs -r kill 2>/dev/null'
  export CARGO_TARGET_DIR=$ROOT/target/arch/aarch64-musl
  printf '#!/bin/sh\nexec aarch64-linux-gnu-gcc -specs %s "$@"\n' "$SPECS" >"$w/musl-cc"; chmod +x "$w/musl-cc"
  export CC_aarch64_unknown_linux_musl=$w/musl-cc AR_aarch64_unknown_linux_musl=aarch64-linux-gnu-ar
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=aarch64-linux-gnu-gcc
  # 1. The static library, as `make musl` builds it for x86_64.
  if args=$(packaging/capi-args.sh "$TARGET" "$CARGO_TARGET_DIR/capi-c" 2>"$w/lib.log") \
     && cargo rustc -q --release --no-default-features --features capi --target "$TARGET" --lib --crate-type staticlib \
       -- $args >"$w/lib.log" 2>&1; then ok "aarch64-musl: libsdfd.a for $TARGET (release, no_std)"
  else die "aarch64-musl: libsdfd.a for $TARGET" "$(tail -n 30 "$w/lib.log")"; fi
  local exe=$w/activated
  step "aarch64-musl: tests/c/activated.c links fully static with musl for aarch64 against libsdfd.a" \
    "$w/musl-cc" -static -Os -Wall -Werror -I"$ROOT/include" -o "$exe" tests/c/activated.c "$CARGO_TARGET_DIR/$TARGET/release/libsdfd.a"
  [ -x "$exe" ] || finish
  local hdr; hdr=$(aarch64-linux-gnu-readelf -hlW "$exe" 2>&1)
  if grep -q 'Machine: *AArch64' <<<"$hdr" && ! grep -q INTERP <<<"$hdr" && ! aarch64-linux-gnu-readelf -dW "$exe" 2>/dev/null | grep -q NEEDED \
     && ! grep -qaE 'libsystemd|GLIBC_2' "$exe"; then ok "aarch64-musl: the daemon is a static AArch64 program (no interpreter, no DT_NEEDED, no glibc)"
  else bad "aarch64-musl: the daemon is not a static AArch64 program" "$hdr"; fi
  # talk PORT LINE (tests/lib/sdfdtest.sh), with qemu's patience: 400 tries, 10 s per answer
  talk() { talk_tcp "$1" "$2" 400 10; }
  local P A rc r1 r2 exp="web inet4 stream listening sockaddr-match=1"
  P=$(free_port)
  timeout 60 systemd-socket-activate -l "127.0.0.1:$P" --fdname=web qemu-aarch64 "$exe" 2 >"$w/a.log" 2>&1 &
  A=$!; track $A
  r1=$(talk "$P" one) r2=$(talk "$P" two)
  wait $A; rc=$?
  if [ "$rc" -eq 0 ] && [ "$r1" = "$exp one" ] && [ "$r2" = "$exp two" ] && grep -qx "listen=1 env=unset" "$w/a.log"; then
    ok "aarch64-musl: the static daemon, activated by systemd-socket-activate under qemu-aarch64, serves 2 requests on 'web'"
  else bad "aarch64-musl: the static daemon under systemd-socket-activate (rc=$rc, '$r1', '$r2')" "$(cat "$w/a.log")"; fi
  # 2. The launcher, self-contained static musl.
  if cargo build -q --release --target "$TARGET" -p sdfd-activate >"$w/launcher.log" 2>&1; then
    ok "aarch64-musl: sdfd-activate for $TARGET (Rust's self-contained musl)"
  else die "aarch64-musl: sdfd-activate for $TARGET" "$(tail -n 30 "$w/launcher.log")"; fi
  local launcher=$CARGO_TARGET_DIR/$TARGET/release/sdfd-activate
  hdr=$(aarch64-linux-gnu-readelf -hlW "$launcher" 2>&1)
  if grep -q 'Machine: *AArch64' <<<"$hdr" && ! grep -q INTERP <<<"$hdr"; then ok "aarch64-musl: sdfd-activate is a static AArch64 program"
  else bad "aarch64-musl: sdfd-activate is not a static AArch64 program" "$hdr"; fi
  # The aarch64 launcher (under qemu) binds the socket and starts the
  # aarch64 daemon through qemu-aarch64 (an x86_64 program: qemu-user runs
  # only the first one, execve starts the second natively).
  P=$(free_port)
  timeout 60 qemu-aarch64 "$launcher" -l "127.0.0.1:$P" --fdname=web qemu-aarch64 "$exe" 2 >"$w/l.log" 2>&1 &
  A=$!; track $A
  r1=$(talk "$P" three) r2=$(talk "$P" four)
  wait $A; rc=$?
  if [ "$rc" -eq 0 ] && [ "$r1" = "$exp three" ] && [ "$r2" = "$exp four" ] && grep -qx "listen=1 env=unset" "$w/l.log"; then
    ok "aarch64-musl: the aarch64 sdfd-activate under qemu activates the static daemon: 2 requests on 'web', exit 0"
  else bad "aarch64-musl: sdfd-activate under qemu-aarch64 (rc=$rc, '$r1', '$r2')" "$(cat "$w/l.log")"; fi
  # --accept: qemu-user refuses clone(CLONE_VM) without CLONE_VFORK
  # (EINVAL), the launcher's start for children it does not wait for; it
  # must fall back to waiting for each exec and serve every connection.
  P=$(free_port)
  timeout 60 qemu-aarch64 "$launcher" -a --inetd -l "127.0.0.1:$P" /bin/sh -c 'read l; echo "got $l"' >"$w/acc.log" 2>&1 &
  A=$!; track $A
  r1=$(talk "$P" five) r2=$(talk "$P" six) r3=$(talk "$P" seven)
  kill -TERM $A; wait $A; rc=$?
  if [ "$rc" -eq 143 ] && [ "$r1 $r2 $r3" = "got five got six got seven" ] && [ "$(grep -c 'started pid' "$w/acc.log")" = 3 ]; then
    ok "aarch64-musl: sdfd-activate --accept --inetd under qemu-aarch64 serves 3 connections, a child each, SIGTERM ends it"
  else bad "aarch64-musl: sdfd-activate --accept under qemu-aarch64 (rc=$rc, '$r1', '$r2', '$r3')" "$(cat "$w/acc.log")"; fi
  finish
}

# ---- One architecture ----
ARCH=$1
[ "$ARCH" != aarch64-musl ] || musl_aarch64
case $ARCH in
  i686)    TARGET=i686-unknown-linux-gnu;        GNU=i686-linux-gnu;       DEB=i386;    QEMU_BIN=qemu-i386;    MACHINE='Intel 80386';;
  armhf)   TARGET=armv7-unknown-linux-gnueabihf; GNU=arm-linux-gnueabihf;  DEB=armhf;   QEMU_BIN=qemu-arm;     MACHINE='ARM';;
  s390x)   TARGET=s390x-unknown-linux-gnu;       GNU=s390x-linux-gnu;      DEB=s390x;   QEMU_BIN=qemu-s390x;   MACHINE='IBM S/390';;
  ppc64el) TARGET=powerpc64le-unknown-linux-gnu; GNU=powerpc64le-linux-gnu; DEB=ppc64el; QEMU_BIN=qemu-ppc64le; MACHINE='PowerPC64';;
  aarch64) TARGET=aarch64-unknown-linux-gnu;     GNU=aarch64-linux-gnu;    DEB=arm64;   QEMU_BIN=qemu-aarch64; MACHINE='AArch64';;
  *) die "unknown ARCH '$ARCH' (i686 armhf s390x ppc64el aarch64 aarch64-musl)";;
esac
SYSROOT=/usr/$GNU
MULTIARCH=$(dpkg-architecture -a"$DEB" -qDEB_HOST_MULTIARCH 2>/dev/null) || MULTIARCH=$GNU
MULTIARCH_LIB=/usr/lib/$MULTIARCH
T=$(tr 'a-z-' 'A-Z_' <<<"$TARGET")
t_=$(tr '-' '_' <<<"$TARGET")

need "$GNU-gcc"
installed "libc6-dev-$DEB-cross" || die "libc6-dev-$DEB-cross is not installed (tests/deps.sh)"
rustup target list --installed 2>/dev/null | grep -qx "$TARGET" || rustup target add "$TARGET" >/dev/null 2>&1 \
  || die "rustup target add $TARGET"

# The oracle: libsystemd 252 for DEB through multiarch (tests/deps.sh installs
# it); SDFD_ARCH_ORACLE=host compares with the x86_64 libsystemd instead.
oracle=${SDFD_ARCH_ORACLE:-$DEB}
if [ "$oracle" = "$DEB" ] && ! installed "libsystemd-dev:$DEB"; then
  die "libsystemd-dev:$DEB is not installed (tests/deps.sh)"
fi
[ -z "${SDFD_ARCH_INSTALL_ONLY:-}" ] || { ok "$ARCH: cross compiler, qemu-user, rustup target, oracle ($oracle) installed"; finish; }
echo "# $ARCH ($TARGET): oracle libsystemd 252 for $oracle"
tmpdir w "arch-$ARCH"

# Its own target directory: the architectures can build in parallel.
export CARGO_TARGET_DIR=$ROOT/target/arch/$ARCH
export "CARGO_TARGET_${T}_LINKER=$GNU-gcc"
# Linked with rustup's lld, as rustc links for x86_64 Linux by default: GNU ld
# refuses libsdfd.so's two version scripts (rustc's anonymous one and
# sdfd.map): "anonymous version tag cannot be combined with other version tags".
GCC_LD=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/gcc-ld
export "CARGO_TARGET_${T}_RUSTFLAGS=-C link-arg=-fuse-ld=lld -C link-arg=-B$GCC_LD"
export "CC_${t_}=$GNU-gcc" "AR_${t_}=$GNU-ar"
# The guest's C library: with Debian's DEB libc6 installed (multiarch, for
# libsystemd:DEB), its ld.so must be used too ("-L /"): the cross sysroot's
# ld.so (libc6-DEB-cross, another build of glibc 2.36) would load the
# multiarch libc.so.6 from /lib/MULTIARCH, and a program hangs at its first
# pthread_create.
if [[ "$(dpkg-query -W -f='${Status}' "libc6:$DEB" 2>/dev/null)" == *"ok installed"* ]]; then GUEST_ROOT=/; else GUEST_ROOT=$SYSROOT; fi
# i686 runs natively (the x86_64 kernel runs 32-bit x86 programs) when its
# ld.so is installed; everything else through qemu-user.
if [ "$ARCH" = i686 ] && [ "$GUEST_ROOT" = / ]; then
  QEMU=()
else
  QEMU=("$QEMU_BIN" -L "$GUEST_ROOT")
  export "CARGO_TARGET_${T}_RUNNER=${QEMU[*]}"
fi

# 1. The Rust tests, run on ARCH.
how=natively; [ ${#QEMU[@]} -eq 0 ] || how="under $QEMU_BIN"
check "$ARCH: a $ARCH program runs $how" bash -c \
  "printf 'int main(void){return 7;}' | $GNU-gcc -x c -o '$w/seven' - && { ${QEMU[*]} '$w/seven'; [ \$? -eq 7 ]; }"
skip=()
# Under qemu-user, one test is left out: it re-executes its own test binary,
# which needs binfmt_misc (a machine-wide setting this suite leaves alone).
[ ${#QEMU[@]} -eq 0 ] || skip=(--skip renumbers_onto_3_in_a_fresh_process)
cargo test -q --no-fail-fast --target "$TARGET" -- "${skip[@]}" >"$w/cargo-test.log" 2>&1
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
# The fuzz corpus and its crash regressions replayed on ARCH (feature capi:
# the harness drives the C ABI and compares with ARCH's own libsystemd.so.0,
# dlopen'ed): the systemfd records, LISTEN_* and NOTIFY_SOCKET parsing,
# sockaddr checks, byte for byte on this byte order and word size.
if [ "$oracle" = "$DEB" ]; then
  if out=$(cargo test -q --target "$TARGET" --features capi --test fuzz_replay -- --nocapture 2>&1) \
     && line=$(grep -E '^test result: ok\. 1 passed' <<<"$out"); then
    ok "$ARCH: fuzz corpus replayed against libsystemd $DEB ($(grep -oE '^fuzz replay: [0-9]+ inputs' <<<"$out" | sed 's/fuzz replay: //'))"
  else bad "$ARCH: fuzz corpus replay (cargo test --features capi --test fuzz_replay)" "$out"; fi
fi

# 2. The C library for ARCH: `make lib` with the target in CARGOFLAGS, as a
#    cross build makes it (libsdfd.so and the post-processed libsdfd.a).
if make -s lib B="$w/build" CARGOFLAGS="$(make -s print-cargoflags) --target $TARGET" \
     OBJCOPY="$GNU-objcopy" AR="$GNU-ar" >"$w/lib.log" 2>&1; then
  mkdir -p "$w/lib"
  cp -L "$w/build/libsdfd.so.0" "$w/lib/libsdfd.so.0" && ln -s libsdfd.so.0 "$w/lib/libsdfd.so"
  ok "$ARCH: make lib for $TARGET (libsdfd.so, libsdfd.a)"
else
  die "$ARCH: make lib for $TARGET" "$(tail -n 30 "$w/lib.log")"
fi
CFLAGS=(-O1 -pthread -Wall -Wextra -Werror)
# A fully static C program on libsdfd.a (and ARCH's static glibc) links.
step "$ARCH: probe.c links fully static against libsdfd.a" \
  "$GNU-gcc" -static "${CFLAGS[@]}" -I"$ROOT/include" -o "$w/probe-static.bin" tests/c/probe.c "$w/build/libsdfd.a" -lrt -lm
step "$ARCH: probe.c builds for $ARCH against libsdfd" \
  "$GNU-gcc" "${CFLAGS[@]}" -I"$ROOT/include" -o "$w/probe-sdfd.bin" tests/c/probe.c \
  -L"$w/lib" -lsdfd -Wl,-rpath,"$w/lib"
needed=$("$GNU-readelf" -dW "$w/probe-sdfd.bin" 2>&1)
if grep -q 'libsdfd.so.0' <<<"$needed" && ! grep -q libsystemd <<<"$needed" \
   && grep -q "Machine: *$MACHINE" <<<"$("$GNU-readelf" -h "$w/probe-sdfd.bin")"; then
  ok "$ARCH: probe-sdfd is a $MACHINE program that needs libsdfd.so.0, not libsystemd"
else bad "$ARCH: probe-sdfd: not a $MACHINE program on libsdfd" "$needed"; fi

# 3. The hand-off across architectures: tests/handoff/daemon.c for ARCH
#    (on ARCH's libsdfd) and for x86_64 (on the x86_64 libsdfd, built the
#    same way) hand their sockets to each other, ARCH -> x86_64 -> ARCH ->
#    x86_64: the wire format between a big-endian (s390x) or 32-bit (i686,
#    armhf) offerer and an x86_64 successor, both ways.
hostlib=${SDFD_ARCH_HOSTLIB:-$w/hostlib}
if [ -f "$hostlib/libsdfd.so.0" ] || build_hostlib "$hostlib" "$CARGO_TARGET_DIR" >"$w/hostlib.log" 2>&1; then
  step "$ARCH: tests/handoff/daemon.c builds for $ARCH and for x86_64" bash -c "
    $GNU-gcc ${CFLAGS[*]} -I'$ROOT/include' -o '$w/daemon-$ARCH' tests/handoff/daemon.c -L'$w/lib' -lsdfd -Wl,-rpath,'$w/lib' &&
    cc ${CFLAGS[*]} -I'$ROOT/include' -o '$w/daemon-x86_64' tests/handoff/daemon.c -L'$hostlib' -lsdfd -Wl,-rpath,'$hostlib'"
  if [ -x "$w/daemon-$ARCH" ] && [ -x "$w/daemon-x86_64" ]; then
    counted "hand-off between $ARCH and x86_64" \
      python3 tests/arch/handoff.py "$ARCH" "${QEMU[*]} $w/daemon-$ARCH" "$w/daemon-x86_64"
  fi
else
  bad "$ARCH: libsdfd.so for x86_64 (the hand-off's other side)" "$(tail -n 30 "$w/hostlib.log")"
fi

# wrap NAME BIN: $w/NAME runs BIN on ARCH.
wrap() { printf '#!/bin/sh\nexec %s "%s" "$@"\n' "${QEMU[*]}" "$2" >"$w/$1"; chmod +x "$w/$1"; }
if [ "$oracle" = "$DEB" ]; then
  # libsystemd's header is architecture-independent; the cross compiler
  # does not search /usr/include, so it gets that one directory only.
  mkdir -p "$w/inc" && ln -s /usr/include/systemd "$w/inc/systemd"
  step "$ARCH: probe.c builds for $ARCH against libsystemd ($DEB, multiarch)" \
    "$GNU-gcc" "${CFLAGS[@]}" -I"$w/inc" -o "$w/probe-libsystemd.bin" tests/c/probe.c \
    -L"$MULTIARCH_LIB" -lsystemd -Wl,-rpath-link,"$MULTIARCH_LIB"
  wrap probe-libsystemd "$w/probe-libsystemd.bin"
  ref_bin=$w/probe-libsystemd.bin
else
  step "$ARCH: probe.c builds for x86_64 against libsystemd" \
    cc "${CFLAGS[@]}" -o "$w/probe-libsystemd" tests/c/probe.c $(pkg-config --cflags --libs libsystemd)
  ref_bin=$w/probe-libsystemd
fi
wrap probe-sdfd "$w/probe-sdfd.bin"
# Nothing to compare unless both probes were built.
[ -x "$w/probe-sdfd.bin" ] && [ -x "$ref_bin" ] || finish

# The reference side really runs libsystemd, the sdfd side really libsdfd
# (what the dynamic linker of each loads on ARCH).
maps() {
  if [ ${#QEMU[@]} -gt 0 ]; then "${QEMU[@]}" -E LD_TRACE_LOADED_OBJECTS=1 "$1" 2>&1
  else LD_TRACE_LOADED_OBJECTS=1 "$1" 2>&1; fi
}
if [ "$oracle" = "$DEB" ]; then
  ref=$(maps "$w/probe-libsystemd.bin")
  if grep -qE "libsystemd.so.0 => (/usr)?/lib/$MULTIARCH/libsystemd.so.0" <<<"$ref"; then ok "$ARCH: the reference probe loads the $DEB libsystemd.so.0"
  else bad "$ARCH: the reference probe does not load the $DEB libsystemd" "$ref"; fi
fi
# The static program gives the shared one's answers (every sd_is_* over
# sockets and files).
if [ -x "$w/probe-static.bin" ]; then
  st_out=$(cd "$w" && PROBE_DIR=$w "${QEMU[@]}" "$w/probe-static.bin" tcp4l udp6 unixl fifo file -- checks 2>&1)
  sh_out=$(cd "$w" && PROBE_DIR=$w "${QEMU[@]}" "$w/probe-sdfd.bin" tcp4l udp6 unixl fifo file -- checks 2>&1)
  if [ -n "$st_out" ] && [ "$st_out" = "$sh_out" ] && grep -q '^checks' <<<"$st_out"; then
    ok "$ARCH: the static probe answers the checks exactly as the shared one ($(wc -l <<<"$st_out") lines)"
  else bad "$ARCH: static and shared probe differ" "$(diff <(echo "$sh_out") <(echo "$st_out") | head -20)"; fi
fi
sut=$(maps "$w/probe-sdfd.bin")
if grep -q "libsdfd.so.0 => $w/lib/libsdfd.so.0" <<<"$sut" && ! grep -q libsystemd <<<"$sut"; then ok "$ARCH: the sdfd probe loads the $ARCH libsdfd.so.0"
else bad "$ARCH: the sdfd probe does not load the $ARCH libsdfd" "$sut"; fi

# Under qemu: --qemu, since qemu-user (7.2) does not implement seccomp for
# its guest (ENOSYS), so the scenarios that make system calls fail through a
# seccomp filter are left out; and every EVERY-th scenario (default 3:
# about a third of the suite, every kind of scenario; under qemu each run
# costs ~0.1 s). SDFD_ARCH_EVERY=1 runs them all. Natively: all of them.
if [ ${#QEMU[@]} -gt 0 ]; then
  every=${SDFD_ARCH_EVERY:-3}
  counted "differential suite (one scenario in $every), $ARCH under qemu-user (oracle: $oracle)" \
    python3 tests/c/difftest.py "$w/probe-libsystemd" "$w/probe-sdfd" --qemu --every "$every"
else
  counted "differential suite, $ARCH natively (oracle: $oracle)" \
    python3 tests/c/difftest.py "$w/probe-libsystemd" "$w/probe-sdfd"
fi
finish
