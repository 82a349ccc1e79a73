#!/usr/bin/env bash
# The Rust crate as its users see it:
#   1. every documented feature combination builds and its tests pass
#      (default, no std, capi, no std + capi), and the tests pass on the
#      Linux libc path (--cfg sdfd_no_raw_syscalls);
#   2. a consumer crate (tests/rust/consumer) depending on sdfd, with and
#      without sdfd's default features: builds, runs, defines no sd_*/sdfd_*
#      symbol, and its dependency tree is sdfd + libc only;
#   3. the examples (std and tokio servers) answer HTTP requests when
#      started by systemd-socket-activate, and bind their fallback address
#      when started by hand;
#   4. `cargo package`: the .crate holds no node/, python/, bench/, C test
#      suites; it builds on its own (cargo's verify step) without warnings;
#      the metadata crates.io shows is complete;
#   5. the docs build with every public item documented, no warnings.
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
pass=0 fail=0
ok()  { echo "ok   - $1"; pass=$((pass + 1)); }
bad() { echo "FAIL - $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | tail -25 | sed 's/^/       /'; fail=$((fail + 1)); }
W=$(mktemp -d /tmp/sdfd-crate.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$W"; }
trap cleanup EXIT
export CARGO_TERM_COLOR=never

# 1. Feature combinations.
for feat in "" "--no-default-features" "--features capi" "--no-default-features --features capi" "--features handoff" \
            "--no-default-features --features handoff"; do
  name=${feat:-default}
  if out=$(cargo build --quiet --lib $feat 2>&1) && [ -z "$out" ]; then ok "build ($name): no warnings"
  else bad "build ($name)" "$out"; fi
done
# Tests: default features, capi (adds the C ABI's tests and the fuzz replay
# through it), the no-std core's unit tests.
for feat in "" "--features capi" "--no-default-features --lib"; do
  name=${feat:-default}
  if out=$(cargo test --quiet $feat 2>&1); then
    n=$(grep -oE 'test result: ok\. [0-9]+ passed' <<<"$out" | awk '{s+=$4} END {print s+0}')
    if [ "$n" -gt 0 ]; then ok "cargo test ($name): $n tests"; else bad "cargo test ($name) ran nothing" "$out"; fi
  else bad "cargo test ($name)" "$out"; fi
done
# The Linux libc path (src/sys/unix.rs, as i686, armhf, s390x and ppc64el
# build it) on this host too: `--cfg sdfd_no_raw_syscalls` turns the raw
# system calls off (its own target directory, not to rebuild the main one);
# tests/c/difftest.sh runs the C library built so (make SDFD_NO_RAW_SYSCALLS=1).
if out=$(RUSTFLAGS="--cfg sdfd_no_raw_syscalls" CARGO_TARGET_DIR=target/noraw nice cargo test --quiet --features capi 2>&1); then
  n=$(grep -oE 'test result: ok\. [0-9]+ passed' <<<"$out" | awk '{s+=$4} END {print s+0}')
  if [ "$n" -gt 0 ]; then ok "cargo test (capi, --cfg sdfd_no_raw_syscalls: libc in place of raw system calls): $n tests"
  else bad "cargo test (--cfg sdfd_no_raw_syscalls) ran nothing" "$out"; fi
else bad "cargo test (capi, --cfg sdfd_no_raw_syscalls)" "$out"; fi

# 2. The consumer crate.
c_syms() { nm --defined-only "$@" 2>/dev/null | awk '{print $3}' | grep -E '^(sd_|sdfd_)' | sort -u; }

for mode in std no-std; do
  flags=""; [ $mode = no-std ] && flags="--no-default-features"
  tdir=$W/consumer-$mode
  if out=$(cd tests/rust/consumer && CARGO_TARGET_DIR=$tdir cargo build --quiet $flags 2>&1); then
    ok "consumer ($mode sdfd) builds as a dependency"
  else bad "consumer ($mode sdfd) builds" "$out"; continue; fi
  bin=$tdir/debug/sdfd-consumer
  run=$(env -u LISTEN_FDS -u LISTEN_PID -u NOTIFY_SOCKET "$bin" 2>&1)
  [[ "$run" == fds=0\ notified=false* ]] && ok "consumer ($mode) runs: $run" || bad "consumer ($mode) runs" "$run"
  # The sdfd rlib the consumer links: not one sd_*/sdfd_* definition (a
  # program's own sd_* references, e.g. from a C library, stay libsystemd's).
  syms=$(c_syms "$tdir"/debug/deps/libsdfd-*.rlib)
  [ -z "$syms" ] && ok "consumer ($mode): nm shows no sd_*/sdfd_* symbol in the sdfd rlib" || bad "consumer ($mode): sdfd rlib defines C symbols" "$syms"
  syms=$(nm "$bin" 2>&1 | awk '$2 ~ /^[TtDdBbRrWw]$/ {print $3}' | grep -E '^(sd_|sdfd_)' || true)
  [ -z "$syms" ] && ok "consumer ($mode): nm shows no sd_*/sdfd_* symbol in the program" || bad "consumer ($mode) defines C symbols" "$syms"
  undef=$(nm -u "$bin" | grep -E ' (sd_|sdfd_)' || true)
  [ -z "$undef" ] || bad "consumer ($mode) refers to C symbols" "$undef"
  # No build script of sdfd's compiled or run (issue 30: a consumer's cold
  # build; cargo keeps one in target/debug/build/sdfd-HASH/): libc's only.
  scripts=$(ls "$tdir/debug/build" 2>&1 | sed 's/-[0-9a-f]*$//' | sort -u | tr '\n' ' ')
  [ "$scripts" = "libc " ] && ok "consumer ($mode): no sdfd build script compiled or run (only libc's)" \
    || bad "consumer ($mode): build scripts in $tdir/debug/build: $scripts"
  tree=$(cd tests/rust/consumer && cargo tree --quiet $flags -e normal,build --prefix none 2>&1 | awk '{print $1}' | sort -u | tr '\n' ' ')
  [ "$tree" = "libc sdfd sdfd-consumer " ] && ok "consumer ($mode): depends on sdfd and libc only" \
    || bad "consumer ($mode) dependency tree: $tree"
done
# The symbol check can fail: with sdfd's capi the same rlib defines them.
tdir=$W/consumer-capi
if (cd tests/rust/consumer && CARGO_TARGET_DIR=$tdir cargo build --quiet --features sdfd/capi >/dev/null 2>&1); then
  n=$(c_syms "$tdir"/debug/deps/libsdfd-*.rlib | wc -l)
  [ "$n" -ge 19 ] && ok "control: with sdfd/capi the rlib defines $n sd_*/sdfd_* symbols (the check above can fail)" \
    || bad "control: capi rlib defines only $n C symbols"
  scripts=$(ls "$tdir/debug/build" 2>&1 | sed 's/-[0-9a-f]*$//' | sort -u | tr '\n' ' ')
  [ "$scripts" = "libc " ] && ok "consumer with sdfd/capi: no sdfd build script either (capi's C parts are the C builds')" \
    || bad "consumer with sdfd/capi: build scripts in $tdir/debug/build: $scripts"
else bad "control: consumer with sdfd/capi builds"; fi

# 3. The examples under systemd-socket-activate.
port_free() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
if out=$(cargo build --quiet --examples 2>&1); then ok "examples build"; else bad "examples build" "$out"; fi
ex=${CARGO_TARGET_DIR:-target}/debug/examples
get() { # PORT -> body
  for _ in $(seq 50); do
    body=$(curl -s --max-time 5 "http://127.0.0.1:$1/" 2>/dev/null) && { echo "$body"; return 0; }
    sleep 0.1
  done
  return 1
}
for e in std_server tokio_server; do
  port=$(port_free)
  systemd-socket-activate -l "127.0.0.1:$port" --fdname=web "$ex/$e" 127.0.0.1:1 >"$W/$e.log" 2>&1 &
  pids+=($!)
  body=$(get "$port"); body2=$(get "$port")
  [ "$body" = "hello from $e (socket-activated)" ] && [ "$body2" = "$body" ] \
    && ok "$e under systemd-socket-activate serves on the activated socket (2 requests)" \
    || bad "$e under systemd-socket-activate" "got: $body / $body2"$'\n'"$(cat "$W/$e.log")"
  kill "${pids[-1]}" 2>/dev/null; wait "${pids[-1]}" 2>/dev/null
  # a socket under another name is not taken: the fallback address is bound
  port=$(port_free); port2=$(port_free)
  systemd-socket-activate -l "127.0.0.1:$port" --fdname=other "$ex/$e" "127.0.0.1:$port2" >"$W/$e.2.log" 2>&1 &
  pids+=($!)
  # systemd-socket-activate starts the program at the first connection
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  body=$(get "$port2")
  [ "$body" = "hello from $e (bound itself)" ] && ok "$e: no socket named web -> binds its fallback address" \
    || bad "$e fallback" "got: $body"$'\n'"$(cat "$W/$e.2.log")"
  kill "${pids[-1]}" 2>/dev/null; wait "${pids[-1]}" 2>/dev/null
done

# 4. cargo package.
if out=$(cargo package --quiet --allow-dirty --no-verify --list 2>&1); then
  # Only what belongs to the crate (a new top-level directory fails this
  # until it is excluded in Cargo.toml or listed here).
  stray=$(grep -vE '^(\.cargo_vcs_info\.json|Cargo\.toml(\.orig)?|Cargo\.lock|README\.md|CHANGELOG\.md|LICENSE-(MIT|APACHE)|sdfd\.map|cbindgen\.toml|src/.*\.(rs|c)|include/.*\.h|examples/(std|tokio)_server\.rs|tests/(api|listen_socket)\.rs)$' <<<"$out" || true)
  [ -z "$stray" ] && ok "cargo package: $(wc -l <<<"$out") files, only the library, its header, examples and Rust tests (no node/ python/ bench/ ...)" \
    || bad "cargo package lists files it must not" "$stray"
else bad "cargo package --list" "$out"; fi
if out=$(CARGO_TARGET_DIR=$W/package cargo package --allow-dirty 2>&1); then
  # The one expected notice: tests/fuzz_replay.rs replays fuzz/corpus
  # (2.7 MB) against libsystemd and stays out of the .crate on purpose.
  warn=$(grep -iE '^warning' <<<"$out" | grep -v 'ignoring test `fuzz_replay`' || true)
  [ -z "$warn" ] && ok "cargo package builds the .crate on its own, no warning (fuzz_replay left out on purpose)" \
    || bad "cargo package warns" "$warn"
else bad "cargo package (verify)" "$out"; fi
meta=$(cargo metadata --quiet --no-deps --format-version 1 2>/dev/null | python3 -c '
import json, sys
p = [p for p in json.load(sys.stdin)["packages"] if p["name"] == "sdfd"][0]
need = ["description", "license", "repository", "documentation", "readme", "rust_version"]
miss = [k for k in need if not p.get(k)] + [k for k in ("keywords", "categories") if not p.get(k)]
print(" ".join(miss) if miss else "complete")')
[ "$meta" = complete ] && ok "package metadata complete (description, license, repository, documentation, readme, keywords, categories, rust-version)" \
  || bad "package metadata missing: $meta"

# 5. Documentation.
for feat in "" "--features handoff"; do
  if out=$(RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps -p sdfd $feat 2>&1); then ok "cargo doc ${feat:-(default features)}: no warnings (deny(missing_docs) on the crate)"
  else bad "cargo doc ${feat:-(default features)}" "$out"; fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
