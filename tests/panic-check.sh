#!/usr/bin/env bash
# Proves that no panic path is reachable from the C ABI: the release no_std
# library is linked with a panic handler that calls an undefined symbol and
# with `-z defs` (undefined symbols are link errors), so it links only if
# LTO removed every panic (bounds checks, unwraps, overflow checks, ...)
# from everything the exported functions can reach.
#
#   1. the C library exactly as `make` builds it (overflow checks off);
#   2. the same with overflow checks on, as a debug build would have them;
#   3. a canary build with one deliberate panic path, which must FAIL to
#      link (so a green check means something).
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${PANIC_CHECK_TARGET_DIR:-$PWD/target/panic-check}
mkdir -p build
. tests/lib/sdfdtest.sh
build() { # LOG FEATURES RUSTFLAGS...
  local log=$1 features=$2 args; shift 2
  # The C library's C parts and link arguments, as `make` passes them.
  args=$(packaging/capi-args.sh "" "$CARGO_TARGET_DIR/capi-c" 2>"$log") || return 1
  # shellcheck disable=SC2086
  cargo rustc --quiet --release --no-default-features --features "$features" --lib --crate-type cdylib \
    -- -C link-arg=-Wl,-z,defs $args "$@" >"$log" 2>&1
}
link_check() { # NAME EXPECT(link|fail) FEATURES RUSTFLAGS...
  local name=$1 expect=$2 features=$3; shift 3
  local log=build/panic-check-$name.log
  if build "$log" "$features" "$@"; then got=link; else got=fail; fi
  if [ "$got" = "$expect" ]; then
    ok "$name: $got"
  else
    bad "$name: expected $expect, got $got" "$(grep -E 'undefined|error' "$log" | head -20)"
  fi
  # a link failure must be the panic symbol, not something else
  if [ "$got" = fail ] && ! grep -q sdfd_panic_path_reachable_from_c_abi "$log"; then
    bad "$name: the link failed for another reason:" "$(tail -20 "$log")"
  fi
}
link_check release link panic-check
link_check overflow-checks link panic-check -C overflow-checks=on
link_check canary fail panic-check-canary
# The checked library must export every function of the C header (so the
# check covered every entry point).
so=$CARGO_TARGET_DIR/release/libsdfd.so
build build/panic-check-exports.log panic-check
missing=0 n=0
exported=$(nm -D --defined-only "$so" 2>&1)   # (captured: `nm | grep -q` can fail under pipefail)
for f in $(grep -oE '\bsd_[a-z_]+ *\(' include/sdfd.h | tr -d ' (' | sort -u); do
  n=$((n + 1))
  grep -qw "$f" <<<"$exported" || { missing=$((missing + 1)); echo "  not exported: $f"; }
done
if [ "$n" -ge 15 ] && [ "$missing" -eq 0 ]; then ok "exports: all $n functions of include/sdfd.h are in the checked library"
else bad "exports: $missing of $n header functions missing from $so"; fi
finish
