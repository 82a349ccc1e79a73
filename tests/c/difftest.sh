#!/usr/bin/env bash
# Builds tests/c/probe.c twice -- against libsystemd and against the installed
# sdfd, both through pkg-config -- and compares them over every scenario.
set -euo pipefail
cd "$(dirname "$0")"
out=${TMPDIR:-/tmp}/sdfd-difftest.$$
mkdir -p "$out"; trap 'rm -rf "$out"' EXIT
CC=${CC:-cc}
$CC -O1 -pthread -Wall -Wextra -Werror -o "$out/probe-libsystemd" probe.c $(pkg-config --cflags --libs libsystemd)
$CC -O1 -pthread -Wall -Wextra -Werror -o "$out/probe-sdfd" probe.c $(pkg-config --cflags --libs sdfd) \
    -Wl,-rpath,"$(pkg-config --variable=libdir sdfd)"
# The sdfd probe must really use sdfd, not libsystemd.
if [[ "$(ldd "$out/probe-sdfd")" == *libsystemd* ]]; then echo "probe-sdfd links libsystemd"; echo "0 passed, 1 failed"; exit 1; fi
exec python3 difftest.py "$out/probe-libsystemd" "$out/probe-sdfd"
