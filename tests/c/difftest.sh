#!/usr/bin/env bash
# Builds tests/c/probe.c twice -- against libsystemd and against the installed
# sdfd, both through pkg-config -- and compares them over every scenario
# (tests/c/difftest.py). Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"
. ../lib/sdfdtest.sh
tmpdir out difftest
build_both probe.c "$out" -pthread
counted differential python3 difftest.py "$out/probe-libsystemd" "$out/probe-sdfd"
finish
