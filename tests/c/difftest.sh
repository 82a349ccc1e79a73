#!/usr/bin/env bash
# Builds tests/c/probe.c twice -- against libsystemd and against the installed
# sdfd, both through pkg-config -- and compares them over every scenario
# (tests/c/difftest.py). Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"
. ../lib/sdfdtest.sh
tmpdir out difftest
CC=${CC:-cc}
step "probe.c builds against libsystemd" \
  $CC -O1 -pthread -Wall -Wextra -Werror -o "$out/probe-libsystemd" probe.c $(pkg-config --cflags --libs libsystemd)
step "probe.c builds against sdfd" \
  $CC -O1 -pthread -Wall -Wextra -Werror -o "$out/probe-sdfd" probe.c $(pkg-config --cflags --libs sdfd) \
    -Wl,-rpath,"$(pkg-config --variable=libdir sdfd)"
[ "$T_FAIL" -eq 0 ] || finish
# The sdfd probe must really use sdfd, not libsystemd.
deps=$(ldd "$out/probe-sdfd")
if [[ "$deps" == *libsdfd* && "$deps" != *libsystemd* ]]; then ok "probe-sdfd links libsdfd, not libsystemd"
else die "probe-sdfd links libsystemd" "$deps"; fi
counted differential python3 difftest.py "$out/probe-libsystemd" "$out/probe-sdfd"
finish
