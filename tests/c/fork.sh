#!/usr/bin/env bash
# One answer per process after fork(): tests/c/fork.c against the installed
# sdfd (pkg-config). Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"
. ../lib/sdfdtest.sh
tmpdir out fork
step "fork.c builds against sdfd" ${CC:-cc} -O1 -Wall -Wextra -Werror -o "$out/fork" fork.c \
  $(pkg-config --cflags --libs sdfd) -Wl,-rpath,"$(pkg-config --variable=libdir sdfd)"
[ "$T_FAIL" -eq 0 ] || finish
counted fork "$out/fork"
finish
