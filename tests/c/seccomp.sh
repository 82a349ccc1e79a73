#!/usr/bin/env bash
# sd_listen_fds under kill-mode seccomp allow-lists: tests/c/seccomp.c built
# against libsystemd and against the installed sdfd (pkg-config), compared by
# tests/c/seccomp.py. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"
. ../lib/sdfdtest.sh
[ "$(uname -m)" = x86_64 ] || die "the filter is written for x86_64"
tmpdir out seccomp
CC=${CC:-cc}
step "seccomp.c builds against libsystemd" \
  $CC -O1 -Wall -Wextra -Werror -o "$out/seccomp-libsystemd" seccomp.c $(pkg-config --cflags --libs libsystemd)
step "seccomp.c builds against sdfd" \
  $CC -O1 -Wall -Wextra -Werror -o "$out/seccomp-sdfd" seccomp.c $(pkg-config --cflags --libs sdfd) \
    -Wl,-rpath,"$(pkg-config --variable=libdir sdfd)"
[ "$T_FAIL" -eq 0 ] || finish
deps=$(ldd "$out/seccomp-sdfd")
if [[ "$deps" == *libsdfd* && "$deps" != *libsystemd* ]]; then ok "seccomp-sdfd links libsdfd, not libsystemd"
else die "seccomp-sdfd links libsystemd" "$deps"; fi
counted seccomp python3 seccomp.py "$out/seccomp-libsystemd" "$out/seccomp-sdfd"
finish
