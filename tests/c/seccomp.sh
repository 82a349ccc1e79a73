#!/usr/bin/env bash
# sd_listen_fds under kill-mode seccomp allow-lists: tests/c/seccomp.c built
# against libsystemd and against the installed sdfd (pkg-config), compared by
# tests/c/seccomp.py. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"
. ../lib/sdfdtest.sh
[ "$(uname -m)" = x86_64 ] || die "the filter is written for x86_64"
tmpdir out seccomp
build_both seccomp.c "$out"
counted seccomp python3 seccomp.py "$out/seccomp-libsystemd" "$out/seccomp-sdfd"
finish
