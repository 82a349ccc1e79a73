#!/usr/bin/env bash
# Memory, undefined-behaviour, leak, descriptor and thread checks of sdfd as a
# C program sees it (run by tests/run-all.sh after `make install` into
# $SDFD_STAGE; PKG_CONFIG_PATH points at it):
#
#  1. ASan+UBSan: probe.c linked statically with libsdfd.a, built with
#     -fsanitize=address,undefined; the WHOLE differential suite is run with it
#     as the sdfd side (LeakSanitizer on: every names array must be freed).
#     Any sanitizer report changes exit code/stderr, so the scenario fails.
#  2. valgrind memcheck: probe.c against libsdfd.so under valgrind
#     (--leak-check=full, definite/indirect/possible leaks and invalid
#     accesses are errors) over every VG_EVERY-th differential scenario.
#  3. stress.c (threads, fd leaks) against libsystemd and sdfd: the same
#     baseline results; then the sdfd build natively, with ASan+UBSan, with
#     ThreadSanitizer, under memcheck and under helgrind.
#  4. activated.c (a real socket-activated daemon, tests/c/activation.py) with
#     ASan+UBSan and under memcheck.
#  5. The Rust unit tests and corpus replay with -Zsanitizer=address
#     (stable rustc + RUSTC_BOOTSTRAP=1; the ASan runtime ships with stable).
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"
HERE=$PWD
ROOT=$(cd ../.. && pwd)
. ../lib/sdfdtest.sh
tmpdir out sanitize
CC=${CC:-cc}
VG_EVERY=${VG_EVERY:-12}

command -v valgrind >/dev/null || die "valgrind missing (tests/deps.sh installs it)"
INC=$(pkg-config --cflags sdfd)
LIBDIR=$(pkg-config --variable=libdir sdfd)
STATIC="$LIBDIR/libsdfd.a -lm -lrt -lpthread"
SAN="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
W="-Wall -Wextra -Werror -pthread"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86:detect_stack_use_after_return=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=87
VG="valgrind -q --error-exitcode=97 --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible"

build() { # NAME ARGS...
  local name=$1; shift
  if $CC "$@" >"$out/$name.build.log" 2>&1; then return 0; fi
  bad "build $name"; cat "$out/$name.build.log"; return 1
}

# ---- 0. the tools catch a known fault here (so a clean run means something)
cat >"$out/faulty.c" <<'EOF'
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    char *p = malloc(8);
    if (argc > 1 && argv[1][0] == 'o') p[8] = 1;          /* heap overflow */
    if (argc > 1 && argv[1][0] == 'l') { p = malloc(16); memset(p, 0, 16); p = NULL; } /* leak */
    return p ? (free(p), 0) : 0;
}
EOF
build faulty-asan -g -O0 -fsanitize=address,undefined -o "$out/faulty-asan" "$out/faulty.c"
build faulty -g -O0 -o "$out/faulty" "$out/faulty.c"
"$out/faulty-asan" fine >/dev/null 2>&1; a=$?; "$out/faulty-asan" overflow >/dev/null 2>&1; b=$?; "$out/faulty-asan" leak >/dev/null 2>&1; c=$?
$VG "$out/faulty" fine >/dev/null 2>&1; d=$?; $VG "$out/faulty" overflow >/dev/null 2>&1; e=$?; $VG "$out/faulty" leak >/dev/null 2>&1; f=$?
if [ "$a$b$c" = "08686" ] && [ "$d$e$f" = "09797" ]; then ok "ASan, LSan and valgrind catch a planted overflow and leak here"
else bad "sanitizer self-check: ASan rc fine/overflow/leak = $a/$b/$c (want 0/86/86), valgrind $d/$e/$f (want 0/97/97)"; fi

# ---- 1. differential suite with an ASan+UBSan probe
build probe-libsystemd $W -O1 -o "$out/probe-libsystemd" probe.c $(pkg-config --cflags --libs libsystemd)
build probe-asan $W $SAN -o "$out/probe-asan" probe.c $INC $STATIC
build probe-sdfd $W -O1 -g -o "$out/probe-sdfd" probe.c $(pkg-config --cflags --libs sdfd) -Wl,-rpath,"$LIBDIR"
syms=$(nm "$out/probe-asan"); deps=$(ldd "$out/probe-asan")   # (no `| grep -q` under pipefail)
if grep -q ' T sd_listen_fds$' <<<"$syms" && ! grep -qE 'libsdfd|libsystemd' <<<"$deps"; then
  ok "probe-asan has sdfd linked in statically"
else bad "probe-asan does not link libsdfd.a statically"; fi
python3 difftest.py "$out/probe-libsystemd" "$out/probe-asan" >"$out/diff-asan.log" 2>&1
count "$out/diff-asan.log" "differential suite, sdfd probe with ASan+UBSan+LSan"

# ---- 2. a sample of it under valgrind memcheck
cat >"$out/probe-vg" <<EOF
#!/bin/sh
exec $VG "$out/probe-sdfd" "\$@"
EOF
chmod +x "$out/probe-vg"
python3 difftest.py "$out/probe-libsystemd" "$out/probe-vg" --every "$VG_EVERY" --valgrind >"$out/diff-vg.log" 2>&1
count "$out/diff-vg.log" "differential suite (every ${VG_EVERY}th scenario), sdfd probe under valgrind memcheck"

# ---- 3. threads and descriptor leaks
build stress-libsystemd $W -O1 -o "$out/stress-libsystemd" stress.c $(pkg-config --cflags --libs libsystemd)
build stress-sdfd $W -O1 -g -o "$out/stress-sdfd" stress.c $(pkg-config --cflags --libs sdfd) -Wl,-rpath,"$LIBDIR"
build stress-asan $W $SAN -o "$out/stress-asan" stress.c $INC $STATIC
build stress-tsan $W -g -O1 -fsanitize=thread -o "$out/stress-tsan" stress.c $INC $STATIC
"$out/stress-libsystemd" 4 20 >"$out/stress-libsystemd.log" 2>&1
"$out/stress-sdfd" 4 20 >"$out/stress-sdfd-base.log" 2>&1
if diff <(grep '^baseline' "$out/stress-libsystemd.log") <(grep '^baseline' "$out/stress-sdfd-base.log") >"$out/base.diff" \
   && [ "$(grep -c '^baseline' "$out/stress-sdfd-base.log")" -gt 5 ]; then
  ok "stress baseline: sdfd's $(grep -c '^baseline' "$out/stress-sdfd-base.log") result groups equal libsystemd's"
else bad "stress baseline differs from libsystemd:"; cat "$out/base.diff"; fi
count "$out/stress-libsystemd.log" "stress against libsystemd (the test itself holds there)"
"$out/stress-sdfd" 16 500 >"$out/stress.log" 2>&1
count "$out/stress.log" "stress: 16 threads x 500 iterations, fd leaks"
grep '^threads:' "$out/stress.log"
"$out/stress-asan" 16 200 >"$out/stress-asan.log" 2>&1
count "$out/stress-asan.log" "stress with ASan+UBSan+LSan (16 x 200)"
TSAN_OPTIONS=halt_on_error=1:exitcode=88 "$out/stress-tsan" 16 100 >"$out/stress-tsan.log" 2>&1
rc=$?
if [ $rc -eq 0 ] && ! grep -q 'WARNING: ThreadSanitizer' "$out/stress-tsan.log"; then count "$out/stress-tsan.log" "stress with ThreadSanitizer (16 x 100)"
else bad "stress with ThreadSanitizer (rc $rc)"; grep -A12 'WARNING: ThreadSanitizer' "$out/stress-tsan.log" | head -30; fi
$VG "$out/stress-sdfd" 8 20 >"$out/stress-vg.log" 2>&1
rc=$?
if [ $rc -eq 0 ]; then count "$out/stress-vg.log" "stress under valgrind memcheck (8 x 20)"
else bad "stress under valgrind memcheck (rc $rc)"; grep -E '^==' "$out/stress-vg.log" | head -30; fi
valgrind -q --tool=helgrind --error-exitcode=98 "$out/stress-sdfd" 8 10 >"$out/stress-hg.log" 2>&1
rc=$?
if [ $rc -eq 0 ]; then count "$out/stress-hg.log" "stress under valgrind helgrind (8 x 10): no data race"
else bad "stress under helgrind (rc $rc)"; grep -E '^==' "$out/stress-hg.log" | head -40; fi

# ---- 4. the socket-activated daemon
mkdir -p "$out/asan-reports"
SDFD_TEST_CFLAGS="$SAN" ASAN_OPTIONS=$ASAN_OPTIONS:log_path=$out/asan-reports/asan \
  UBSAN_OPTIONS=$UBSAN_OPTIONS:log_path=$out/asan-reports/ubsan python3 activation.py >"$out/act-asan.log" 2>&1
if ls "$out"/asan-reports/* >/dev/null 2>&1; then bad "activated with ASan+UBSan: sanitizer reports"; head -40 "$out"/asan-reports/*
else count "$out/act-asan.log" "activation suite, daemon built with ASan+UBSan+LSan"; fi
mkdir -p "$out/vg-reports"
SDFD_TEST_WRAPPER="valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible --log-file=$out/vg-reports/vg.%p" \
  python3 activation.py >"$out/act-vg.log" 2>&1
nvg=$(ls "$out"/vg-reports | wc -l)
if [ "$nvg" -gt 0 ] && ! grep -qE 'ERROR SUMMARY: [1-9]|Invalid|definitely lost|indirectly lost|possibly lost' "$out"/vg-reports/*; then
  count "$out/act-vg.log" "activation suite, daemon under valgrind memcheck ($nvg daemon runs, all clean)"
else bad "activation suite under valgrind ($nvg reports)"; cat "$out"/vg-reports/* | head -40; tail -20 "$out/act-vg.log"; fi

# ---- 5. Rust tests with AddressSanitizer
( cd "$ROOT" && RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zsanitizer=address" CARGO_TARGET_DIR="$ROOT/target/asan" \
    cargo test --quiet --target x86_64-unknown-linux-gnu ) >"$out/rust-asan.log" 2>&1
rc=$?
tests=$(grep -E '^test result: ' "$out/rust-asan.log" | sed -E 's/.* ([0-9]+) passed.*/\1/' | awk '{s+=$1} END {print s+0}')
if [ $rc -eq 0 ] && [ "$tests" -gt 0 ]; then ok "cargo test with -Zsanitizer=address: $tests tests"
else bad "cargo test with -Zsanitizer=address (rc $rc)"; tail -30 "$out/rust-asan.log"; fi

finish
