#!/usr/bin/env bash
# The exported ABI checked by libabigail (abi/README.md): `make abi-check`
# (abidiff of the library, built with debug information, against the
# committed abidw baseline abi/libsdfd.so.0.abi) passes on this tree; the
# baseline's symbols are exactly those the release library exports; and the
# check fails on two incompatible changes made in copies of the tree (the
# `make dist` tarball): a changed prototype (sd_is_socket_inet's port
# u16 -> u32) and a removed symbol (sd_booted no longer exported), and on an
# added one.
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. tests/lib/sdfdtest.sh
tmpdir t abi
command -v abidw >/dev/null && command -v abidiff >/dev/null || die "abigail-tools is not installed (tests/deps.sh)"
v=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
major=${v%%.*}
base=abi/libsdfd.so.$major.abi

# 1. This tree's library has the baseline's ABI.
if out=$(nice -n 5 make -s abi-check B="$t/b" 2>&1); then
  ok "make abi-check: abidiff finds no change from $base ($(grep -c '<function-decl ' "$base") functions with their types, $(grep -c '<elf-symbol ' "$base") symbols)"
else bad "make abi-check fails on this tree" "$out"; fi

# 2. The baseline's soname and symbols are the release library's exports
#    (the debug build differs only by its debug information).
lib=${SDFD_STAGE:+$SDFD_STAGE/lib/libsdfd.so.$v}
if [ -z "$lib" ] || [ ! -e "$lib" ]; then
  make -s lib B="$t/rel" >"$t/rel.log" 2>&1 || die "make lib" "$(tail -20 "$t/rel.log")"
  lib=$t/rel/libsdfd.so.$v
fi
exported=$(nm -D --defined-only "$lib" | awk '{print $3}' | sort)
listed=$(sed -n "s/.*<elf-symbol name='\([^']*\)'.*/\1/p" "$base" | sort)
soname=$(sed -n "1s/.* soname='\([^']*\)'.*/\1/p" "$base")
[ -n "$exported" ] && [ "$exported" = "$listed" ] && [ "$soname" = "libsdfd.so.$major" ] \
  && ok "$base: soname $soname and the $(wc -l <<<"$exported") symbols the release library exports" \
  || bad "$base and the release library's exports differ" "soname: $soname"$'\n'"$(diff <(echo "$exported") <(echo "$listed"))"

# 3. Incompatible changes in copies of the tree: `make abi-check` fails.
make -s dist B="$t" >/dev/null 2>"$t/dist.log" || die "make dist" "$(cat "$t/dist.log")"
tar -xzf "$t/sdfd-$v.tar.gz" -C "$t" && src=$t/sdfd-$v
cp "$src/src/ffi.rs" "$t/ffi.rs.orig"
# variant_check NAME: make abi-check in the copy (its own cargo target
# directory, shared by the variants); its output in $t/NAME.out.
variant_check() {
  (cd "$src" && CARGO_TARGET_DIR=$t/target nice -n 5 make -s abi-check B="$t/$1") >"$t/$1.out" 2>&1
}
# 3a. A changed prototype: sd_is_socket_inet's port becomes a u32.
perl -0pi -e 's/(fn sd_is_socket_inet\(.*?)port: u16,(.*?listening_state\(listening\)), port\)/$1port: u32,$2, port as u16)/s' "$src/src/ffi.rs"
if cmp -s "$t/ffi.rs.orig" "$src/src/ffi.rs"; then bad "could not change sd_is_socket_inet's prototype in the copy"
elif variant_check proto; then bad "make abi-check passes with sd_is_socket_inet(…, u32 port)" "$(tail -20 "$t/proto.out")"
elif grep -q "function i32 sdfd::ffi::sd_is_socket_inet" "$t/proto.out" && grep -q "parameter 5 of type 'u16' changed" "$t/proto.out" \
     && grep -q "type name changed from 'u16' to 'u32'" "$t/proto.out"; then
  ok "a changed prototype fails make abi-check: sd_is_socket_inet $(grep -m1 "parameter 5 of type" "$t/proto.out" | sed 's/^ *//; s/:$//'), $(grep -m1 "type name changed" "$t/proto.out" | sed 's/^ *//') ($(grep -oE 'abidiff status [0-9]+' "$t/proto.out"))"
else bad "make abi-check failed on the changed prototype without naming it" "$(cat "$t/proto.out")"; fi
# 3b. A removed symbol: sd_booted is no longer exported (#[no_mangle] dropped).
cp "$t/ffi.rs.orig" "$src/src/ffi.rs"
perl -0pi -e 's/#\[no_mangle\]\n(pub extern "C" fn sd_booted\(\))/$1/' "$src/src/ffi.rs"
if cmp -s "$t/ffi.rs.orig" "$src/src/ffi.rs"; then bad "could not remove sd_booted in the copy"
elif variant_check removed; then bad "make abi-check passes without sd_booted" "$(tail -20 "$t/removed.out")"
elif [ ! -e "$t/removed/abi/libsdfd.so.$v" ] || nm -D --defined-only "$t/removed/abi/libsdfd.so.$v" | grep -qw sd_booted; then bad "the variant still exports sd_booted"
elif grep -qE "Removed function|removed function" "$t/removed.out" && grep -q "sd_booted" "$t/removed.out" && grep -q INCOMPATIBLE "$t/removed.out"; then
  ok "a removed symbol fails make abi-check as INCOMPATIBLE: $(grep -m1 -E '[Rr]emoved function' "$t/removed.out" | sed 's/^ *//; s/:$//'): $(grep -m1 "sd_booted" "$t/removed.out" | sed 's/^ *//; s/  */ /g') ($(grep -oE 'abidiff status [0-9]+' "$t/removed.out"))"
else bad "make abi-check failed on the removed symbol without saying so" "$(cat "$t/removed.out")"; fi
# 3c. The other way round, the baseline adds sd_booted to that variant: an
#     addition fails too (until the baseline is rewritten).
abidiff "$t/removed/abi/libsdfd.so.$v" "$base" >"$t/added.out" 2>&1; rc=$?
[ $rc -ne 0 ] && [ $((rc & 8)) -eq 0 ] && grep -q "1 Added function" "$t/added.out" && grep -q "sd_booted" "$t/added.out" \
  && ok "an added symbol fails abidiff too, as a compatible change (status $rc: $(grep -m1 'Added function' "$t/added.out" | sed 's/^ *//; s/:$//'))" \
  || bad "abidiff on an added symbol (status $rc)" "$(cat "$t/added.out")"
finish
