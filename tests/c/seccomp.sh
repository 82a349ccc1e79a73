#!/usr/bin/env bash
# sd_listen_fds under kill-mode seccomp allow-lists: tests/c/seccomp.c built
# against libsystemd and against the installed sdfd (pkg-config), compared by
# tests/c/seccomp.py. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"
out=$(mktemp -d "${TMPDIR:-/tmp}/sdfd-seccomp.XXXXXX")
trap 'rm -rf "$out"' EXIT
CC=${CC:-cc}
if [ "$(uname -m)" != x86_64 ]; then echo "FAIL - the filter is written for x86_64"; echo "0 passed, 1 failed"; exit 1; fi
if ! $CC -O1 -Wall -Wextra -Werror -o "$out/seccomp-libsystemd" seccomp.c $(pkg-config --cflags --libs libsystemd) \
   || ! $CC -O1 -Wall -Wextra -Werror -o "$out/seccomp-sdfd" seccomp.c $(pkg-config --cflags --libs sdfd) \
        -Wl,-rpath,"$(pkg-config --variable=libdir sdfd)"; then
  echo "FAIL - build"; echo "0 passed, 1 failed"; exit 1
fi
if [[ "$(ldd "$out/seccomp-sdfd")" == *libsystemd* ]]; then echo "FAIL - seccomp-sdfd links libsystemd"; echo "0 passed, 1 failed"; exit 1; fi
exec python3 seccomp.py "$out/seccomp-libsystemd" "$out/seccomp-sdfd"
