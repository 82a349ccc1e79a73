#!/usr/bin/env bash
# The declared minimum Rust version is true: the packaged crate (what
# crates.io users get) builds and passes its tests with the toolchain named
# by `rust-version` in Cargo.toml, with Cargo.msrv.lock, a lockfile of
# versions that toolchain can build.
#
#   tests/rust/msrv.sh            check (installs the toolchain with rustup)
#   tests/rust/msrv.sh --update   regenerate Cargo.msrv.lock (cargo's
#                                 resolver, newest versions whose own
#                                 rust-version is at most ours)
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
pass=0 fail=0
ok()  { echo "ok   - $1"; pass=$((pass + 1)); }
bad() { echo "FAIL - $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | tail -25 | sed 's/^/       /'; fail=$((fail + 1)); }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }
W=$(mktemp -d /tmp/sdfd-msrv.XXXXXX)
trap 'rm -rf "$W"' EXIT
msrv=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
[ -n "$msrv" ] || { bad "no rust-version in Cargo.toml"; finish; }

if ! out=$(CARGO_TARGET_DIR=$W/pkg cargo package --quiet --allow-dirty --no-verify 2>&1); then
  bad "cargo package" "$out"; finish
fi
tar -xzf "$W"/pkg/package/sdfd-*.crate -C "$W" && src=$(echo "$W"/sdfd-*/)
if [ "${1:-}" = --update ]; then
  (cd "$src" && CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback cargo generate-lockfile) && cp "$src/Cargo.lock" Cargo.msrv.lock \
    && echo "Cargo.msrv.lock regenerated for Rust $msrv"
  exit
fi

if out=$(rustup toolchain install "$msrv" --profile minimal 2>&1); then ok "rustup: Rust $msrv installed"
else bad "rustup toolchain install $msrv" "$out"; finish; fi
have=$(rustc "+$msrv" --version)
cp Cargo.msrv.lock "$src/Cargo.lock"
cd "$src"
export CARGO_TARGET_DIR=$W/target
for feat in "" "--no-default-features" "--features capi" "--no-default-features --features capi"; do
  if out=$(cargo "+$msrv" build --quiet --locked --lib $feat 2>&1); then ok "$have: build ${feat:-(default features)}"
  else bad "$have: build ${feat:-(default features)} (lockfile stale? tests/rust/msrv.sh --update)" "$out"; fi
done
if out=$(cargo "+$msrv" test --quiet --locked 2>&1); then
  n=$(grep -oE 'test result: ok\. [0-9]+ passed' <<<"$out" | awk '{s+=$4} END {print s+0}')
  [ "$n" -gt 0 ] && ok "$have: cargo test (unit, integration, doc tests, examples built): $n tests" || bad "$have: tests ran nothing" "$out"
else bad "$have: cargo test" "$out"; fi
finish
