#!/usr/bin/env bash
# The kernels sdfd is type-checked for but not run on, checked from Linux:
# for each target, `cargo check` of the crate and all its tests (default
# features, without std, with the C ABI), of the no_std C library as it is
# built (--lib --no-default-features --features capi), and of the launcher
# (sdfd-activate, all its targets), each without a single warning.
#
#   tests/typecheck/run.sh [TARGET...]
#
# Default targets: x86_64-unknown-freebsd, x86_64-unknown-netbsd,
# x86_64-unknown-illumos, aarch64-linux-android, x86_64-apple-darwin,
# aarch64-apple-darwin. Type-checked is not run: no code of these runs
# here (README, "Platforms"; tests/macos/check.sh adds the Apple-specific
# link checks). Installs the rustup targets. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/sdfdtest.sh
targets=${*:-x86_64-unknown-freebsd x86_64-unknown-netbsd x86_64-unknown-illumos aarch64-linux-android x86_64-apple-darwin aarch64-apple-darwin}
missing=$(comm -23 <(tr ' ' '\n' <<<"$targets" | sort) <(rustup target list --installed | sort) | tr '\n' ' ')
if [ -n "${missing// /}" ] && ! out=$(rustup target add $missing 2>&1); then die "rustup target add $missing" "$out"; fi
# (No C is compiled: the crate has no build script; the C library's C
# parts are packaging/capi-args.sh's, for the C builds.)
for t in $targets; do
  # (capi without std is the C library: its panic handler rules out test
  # and example targets, so the library alone)
  for what in "--all-targets" "--all-targets --no-default-features" "--all-targets --features capi" \
              "--lib --no-default-features --features capi" "-p sdfd-activate --all-targets"; do
    name="cargo check --target $t $what"
    if out=$(nice cargo check --target "$t" $what --message-format short 2>&1); then
      warns=$(grep -E '(^|: )warning' <<<"$out" || true)
      if [ -z "$warns" ]; then ok "$name"; else bad "$name: warnings" "$warns"; fi
    else
      bad "$name" "$(tail -30 <<<"$out")"
    fi
  done
done
finish
