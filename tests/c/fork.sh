#!/usr/bin/env bash
# One answer per process after fork(): tests/c/fork.c against the installed
# sdfd (pkg-config). Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"
out=$(mktemp -d "${TMPDIR:-/tmp}/sdfd-fork.XXXXXX")
trap 'rm -rf "$out"' EXIT
if ! ${CC:-cc} -O1 -Wall -Wextra -Werror -o "$out/fork" fork.c $(pkg-config --cflags --libs sdfd) \
     -Wl,-rpath,"$(pkg-config --variable=libdir sdfd)"; then
  echo "FAIL - build"; echo "0 passed, 1 failed"; exit 1
fi
exec "$out/fork"
