#!/usr/bin/env bash
# make check: the fast developer loop (about a minute with a warm build).
#   1. cargo fmt --all --check                   (rustfmt.toml)
#   2. cargo clippy --workspace --all-targets -- -D warnings
#   3. cargo test -q --workspace
#   4. clang-format --dry-run --Werror (.clang-format) on every C file the
#      project ships or tests: src/, compat/, tests/, bench/, examples/,
#      debian/tests/, node/src/, python/src/ (not include/: sdfd.h is cbindgen's, sd-daemon.h keeps
#      systemd's layout)
# Every step runs even when an earlier one fails; a failing step shows its
# output. Ends with the steps' times and "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/sdfdtest.sh
tmpdir w check
./tests/deps.sh check >/dev/null || die "tests/deps.sh check (clang-format)"
for c in rustfmt clippy; do
  rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c" >/dev/null 2>&1
done

times=()
run() {  # run NAME COMMAND...
  local name=$1; shift
  local start=$SECONDS
  echo "# $name: $*"
  if "$@" >"$w/out" 2>&1; then ok "$name"; else bad "$name"; head -n 150 "$w/out" | sed 's/^/       /'; fi
  times+=("$(printf '%-14s %4ds' "$name" $((SECONDS - start)))")
}
run rustfmt cargo fmt --all --check
run clippy cargo clippy -q --workspace --all-targets -- -D warnings
run cargo-test cargo test -q --workspace
mapfile -t cfiles < <(git ls-files 'src/*.[ch]' 'compat/*.[ch]' 'tests/*.[ch]' 'bench/*.[ch]' 'examples/*.[ch]' \
  'debian/tests/*.[ch]' 'node/src/*.[ch]' 'python/src/*.[ch]')
run clang-format clang-format --dry-run --Werror "${cfiles[@]}"
printf '%s\n' "${times[@]}"
finish
