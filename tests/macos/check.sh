#!/usr/bin/env bash
# macOS, checked from Linux: the no_std C library builds as a macOS static
# library (x86_64-apple-darwin and aarch64-apple-darwin) that references
# launchd's launch_activate_socket and exports sdfd_activate_socket; the
# build leaves include/sdfd.h alone; the example plist is valid. (The crate,
# its tests and the launcher type-check for both Apple targets without a
# warning in tests/typecheck/run.sh, with the other kernels. No Apple linker
# or SDK here: the macOS logic itself runs on Linux in `cargo test`,
# backend::launchd::tests, with launchd replaced by a test double.) Ends
# with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/sdfdtest.sh
targets="x86_64-apple-darwin aarch64-apple-darwin"
if ! out=$(rustup target add $targets 2>&1); then die "rustup target add $targets" "$out"; fi
# The printf-style calls are C (src/notifyf.c, which a C build links in
# through packaging/capi-args.sh); this host has no macOS C compiler or
# SDK, so the Rust part alone, as `cargo rustc` builds it.
tmpdir w macos-check; keep_header=$w/sdfd.h; cp include/sdfd.h "$keep_header"
for t in $targets; do
  what="no_std C library as a $t staticlib (release, panic=abort, LTO)"
  if out=$(cargo rustc --quiet --release --no-default-features --features capi --lib --crate-type staticlib --target "$t" 2>&1); then
    a=target/$t/release/libsdfd.a
    if grep -qa '_launch_activate_socket' "$a" && grep -qa '_sdfd_activate_socket' "$a" && grep -qa '_sd_listen_fds_with_names' "$a"; then
      ok "$what: references _launch_activate_socket, defines _sdfd_activate_socket"
    else bad "$what: symbols missing in $a"; fi
  else
    bad "$what" "$(echo "$out" | tail -30)"
  fi
done
# The build writes nothing into the source tree (the header is `make header`'s).
if cmp -s include/sdfd.h "$keep_header"; then ok "building for macOS leaves include/sdfd.h untouched"
else bad "include/sdfd.h changed when built for macOS" "$(diff "$keep_header" include/sdfd.h | head)"; cp "$keep_header" include/sdfd.h; fi
# The example plist parses, and SDFD_LAUNCHD_SOCKETS lists its Sockets keys.
if out=$(python3 - examples/launchd/com.example.hello.plist <<'PY' 2>&1
import plistlib, sys
d = plistlib.load(open(sys.argv[1], "rb"))
listed = d["EnvironmentVariables"]["SDFD_LAUNCHD_SOCKETS"].split(":")
assert sorted(listed) == sorted(d["Sockets"]), (listed, sorted(d["Sockets"]))
assert d["Label"] and d["ProgramArguments"]
PY
); then ok "examples/launchd/com.example.hello.plist: valid plist, SDFD_LAUNCHD_SOCKETS = its Sockets keys"
else bad "example plist" "$out"; fi
finish
