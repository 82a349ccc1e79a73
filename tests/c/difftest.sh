#!/usr/bin/env bash
# Builds tests/c/probe.c twice -- against libsystemd and against the installed
# sdfd, both through pkg-config -- and compares them over every scenario
# (tests/c/difftest.py). Then the same against a libsdfd.so built with
# SDFD_NO_RAW_SYSCALLS=1: the libc path of src/sys/unix.rs (what i686,
# armhf, s390x and ppc64el take) in place of src/sys/linux.rs's raw system
# calls, on this host, over every 4th scenario. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"
. ../lib/sdfdtest.sh
tmpdir out difftest
build_both probe.c "$out" -pthread
counted differential python3 difftest.py "$out/probe-libsystemd" "$out/probe-sdfd"

# The libc path. Its own target directory: the Makefile variable adds
# `--cfg sdfd_no_raw_syscalls`, which would otherwise rebuild the main one
# each time.
noraw=$out/noraw
step "libsdfd.so built with SDFD_NO_RAW_SYSCALLS=1 (make lib)" env \
  CARGO_TARGET_DIR="$SDFDTEST_ROOT/target/noraw" nice make -s -C "$SDFDTEST_ROOT" lib B="$noraw" SDFD_NO_RAW_SYSCALLS=1
step "probe.c builds against it" \
  ${CC:-cc} -O1 -pthread -Wall -Wextra -Werror -o "$out/probe-noraw" probe.c -I"$SDFDTEST_ROOT/include" \
    -L"$noraw" -lsdfd -Wl,-rpath,"$noraw"
[ "$T_FAIL" -eq 0 ] || finish
# It really is the libc path: fstat, ppoll and pipe2 come from libc there,
# and from no library in the installed (raw system call) build.
imports() { nm -D --undefined-only "$1" | awk '{print $2}' | sed 's/@.*//'; }
raw_imports=$(imports "$(pkg-config --variable=libdir sdfd)/libsdfd.so")
noraw_imports=$(imports "$noraw/libsdfd.so")
for f in fstat64 ppoll pipe2; do
  check "the installed libsdfd.so makes $f a raw system call" bash -c '! grep -qx "$1" <<<"$2"' _ "$f" "$raw_imports"
  check "the SDFD_NO_RAW_SYSCALLS=1 libsdfd.so calls libc's $f" grep -qx "$f" <<<"$noraw_imports"
done
counted "differential (libc path)" python3 difftest.py "$out/probe-libsystemd" "$out/probe-noraw" --every 4
finish
