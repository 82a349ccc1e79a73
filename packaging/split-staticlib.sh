#!/bin/sh
# One archive member per C function (or per group of functions that share
# state) in libsdfd.a, so that a static program takes in only what the
# functions it calls need.
#
# Why: rustc compiles the crate (with LTO) into ONE object, and a linker
# takes archive members whole, before --gc-sections: every undefined
# reference of that object pulls its libc member, called or not. With musl,
# `setenv` (the hand-off's) pulled setenv.lo, whose strong __env_rm_add
# replaces unsetenv's weak one and brings free/realloc/malloc into a program
# that calls only sd_listen_fds (bench/RESULTS.md, "Footprint").
#
# How: for each exported function, `ld -r --gc-sections -u FUNCTION` keeps
# the sections that function reaches, and `objcopy --strip-unneeded` drops
# the undefined symbols nothing there refers to. Internal code reached from
# several functions is copied into each (local symbols: no clash). Mutable
# state (a writable .data/.bss/.tbss section) must exist once: functions
# that reach the same writable section go into one member together, and the
# script fails if a writable section still ends up in two members.
#
# Usage: split-staticlib.sh ARCHIVE   (ELF archives; LD, OBJCOPY, NM, AR,
# READELF from the environment, default the host's binutils)
set -eu
archive=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
LD=${LD:-ld} OBJCOPY=${OBJCOPY:-objcopy} NM=${NM:-nm} AR=${AR:-ar} READELF=${READELF:-readelf}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The crate's object: the member that defines sd_listen_fds.
# (stderr: binutils' LLVM plugin cannot read rustc's bitcode, and says so)
member=$($NM -A --defined-only "$archive" 2>/dev/null | sed -n 's/^[^:]*:\([^:]*\):[0-9a-f]* T sd_listen_fds$/\1/p')
[ -n "$member" ] || { echo "split-staticlib: no member of $archive defines sd_listen_fds" >&2; exit 1; }
[ "$(printf '%s\n' "$member" | wc -l)" -eq 1 ] || { echo "split-staticlib: $archive is already split" >&2; exit 1; }
(cd "$work" && $AR x "$archive" "$member" 2>/dev/null)
obj=$work/$member
exports=$($NM -g --defined-only --format=posix "$obj" | awk '{print $1}')

# writable SYMBOL-OBJECT: the writable sections in an object (one per line).
writable() {
  $READELF -SW "$1" | sed -n 's/^ *\[ *[0-9]*\] \(\.\(data\|bss\|tdata\|tbss\)\(\.[^ ]*\)\{0,1\}\) .*/\1/p' | grep -v '^\.data\.rel\.ro' || true
}

# 1. Each export alone: which writable sections it reaches.
for s in $exports; do
  $LD -r --gc-sections -u "$s" -e "$s" -o "$work/one.$s.o" "$obj"
  writable "$work/one.$s.o" | sed "s|^|$s |"
done >"$work/reach"

# Families of functions that share most of their code go into one member
# each: a program calling one of them takes in its siblings too (a few
# hundred bytes), but a program calling several does not take in a copy of
# the shared code per function. sd_listen_fds stays alone (its footprint is
# tested: tests/c/musl-static.sh).
families='
sd_notify sd_pid_notify sd_pid_notify_with_fds sd_notify_barrier sd_pid_notify_barrier
sd_is_fifo sd_is_special sd_is_socket sd_is_socket_inet sd_is_socket_unix sd_is_socket_sockaddr sd_is_mq
sd_listen_fds_with_names sdfd_listen_socket sdfd_activate_socket
sdfd_handoff_offer sdfd_handoff_receive sdfd_handoff_spawn
'
n=0
printf '%s\n' "$families" | while read -r family; do
  n=$((n + 1))
  for s in $family; do
    printf '%s\n' "$exports" | grep -qx "$s" && echo "$s family:$n"
  done
done >>"$work/reach"

# 2. Groups: exports joined when they reach a common writable section or
# share a family (union-find); one line per group, its exports separated by
# spaces.
for s in $exports; do echo "$s"; done | awk -v reach="$work/reach" '
  function find(x) { while (p[x] != x) x = p[x]; return x }
  { p[$1] = $1; order[n++] = $1 }
  END {
    while ((getline line < reach) > 0) {
      split(line, f, " ")
      if (f[2] in owner) { a = find(f[1]); b = find(owner[f[2]]); if (a != b) p[a] = b }
      else owner[f[2]] = f[1]
    }
    for (i = 0; i < n; i++) { r = find(order[i]); g[r] = (r in g) ? g[r] " " order[i] : order[i] }
    for (r in g) print g[r]
  }' >"$work/groups"

# 3. One member per group, named after its first function.
members=
while read -r group; do
  first=${group%% *}
  out=$work/sdfd-$first.o
  set --
  for s in $group; do set -- "$@" -u "$s"; done
  $LD -r --gc-sections "$@" -e "$first" -o "$out.tmp" "$obj"
  # An export that another one calls (sd_notify → sd_pid_notify_with_fds)
  # is copied along: local here, defined once by its own member.
  set --
  for s in $exports; do
    case " $group " in *" $s "*) ;; *) set -- "$@" --localize-symbol="$s" ;; esac
  done
  # No .eh_frame: the library is panic=abort and calls no user code, so
  # nothing unwinds through it (rustc emits the tables even with
  # -C force-unwind-tables=no; they were 15 % of what a program gained).
  $OBJCOPY --strip-unneeded --remove-section=.eh_frame --remove-section=.rela.eh_frame "$@" "$out.tmp" "$out"
  rm -f "$out.tmp"
  for s in $group; do
    $NM -g --defined-only --format=posix "$out" | awk '{print $1}' | grep -qx "$s" ||
      { echo "split-staticlib: $s missing from $out" >&2; exit 1; }
  done
  members="$members $out"
done <"$work/groups"

# 4. Mutable state exists once.
for m in $members; do writable "$m"; done | sort | uniq -d >"$work/dup"
if [ -s "$work/dup" ]; then
  echo "split-staticlib: writable sections in more than one member:" >&2; cat "$work/dup" >&2; exit 1
fi

$AR d "$archive" "$member" >/dev/null 2>&1
# shellcheck disable=SC2086 # one word per member
$AR rs "$archive" $members >/dev/null 2>&1
