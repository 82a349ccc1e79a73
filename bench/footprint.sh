#!/usr/bin/env bash
# What a C program gains from libsdfd.a, against `return 0` built the same
# way (bench/plain.c), next to the hand-written floor (bench/handwritten.c,
# sd_listen_fds in ~40 lines of C), for three toolchains: musl fully static
# (musl-gcc -static), glibc -static, glibc with libc shared. Every program is
# built -Os -Wl,--gc-sections and stripped; "text" is size(1)'s text column
# (code, read-only data, unwind tables, the dynamic linking tables), "file"
# the stripped file's bytes.
#
#   bench/footprint.sh [GLIBC_ARCHIVE MUSL_ARCHIVE]
#       default: build/libsdfd.a and build/musl/libsdfd.a (make lib musl)
#   FOOTPRINT_MAP=DIR  also write each libsdfd link's linker map there
#   FOOTPRINT_TOOLCHAINS="musl-static"  only those (then only their archive
#                      is read; give the other as -)
#   FOOTPRINT_LISTEN_ONLY=1  not the every-function program (for an archive
#                      that has sd_listen_fds alone: bench/floors.sh)
#
# Prints a Markdown table (bench/RESULTS.md, "Footprint") and, last, one line
# per toolchain: "gain-listen TOOLCHAIN SDFD HAND" (text bytes), which
# tests/c/musl-static.sh checks against its target (hand-written + 512 B).
set -euo pipefail
cd "$(dirname "$0")"
GLIBC_A=$(realpath -m "${1:-../build/libsdfd.a}")
MUSL_A=$(realpath -m "${2:-../build/musl/libsdfd.a}")
INC=$(realpath ../include)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# build TOOLCHAIN NAME SOURCES...: $W/TOOLCHAIN-NAME, stripped.
build() {
  local tc=$1 name=$2; shift 2
  local map=()
  [ -n "${FOOTPRINT_MAP:-}" ] && [[ " $* " == *libsdfd.a* ]] && map=("-Wl,-Map=$FOOTPRINT_MAP/$tc-$name.map")
  case $tc in
    musl-static) musl-gcc -static -Os -Wl,--gc-sections -I"$INC" "${map[@]}" -o "$W/$tc-$name" "$@" ;;
    glibc-static) cc -static -Os -Wl,--gc-sections -I"$INC" "${map[@]}" -o "$W/$tc-$name" "$@" ;;
    glibc-dynamic) cc -Os -Wl,--gc-sections -I"$INC" "${map[@]}" -o "$W/$tc-$name" "$@" ;;
  esac
  strip "$W/$tc-$name"
}
text() { size "$1" | awk 'NR == 2 {print $1}'; }
file() { stat -c %s "$1"; }
num() { printf '%s' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }

[ -n "${FOOTPRINT_MAP:-}" ] && mkdir -p "$FOOTPRINT_MAP"
echo "| toolchain | program | text gain | file gain |"
echo "|---|---|---:|---:|"
summary=()
for tc in ${FOOTPRINT_TOOLCHAINS:-musl-static glibc-static glibc-dynamic}; do
  a=$GLIBC_A
  [ $tc = musl-static ] && a=$MUSL_A
  build $tc plain plain.c
  build $tc hand start.c handwritten.c
  build $tc listen start.c "$a"
  programs="hand listen all"
  if [ -n "${FOOTPRINT_LISTEN_ONLY:-}" ]; then programs="hand listen"; else build $tc all allfuncs.c "$a"; fi
  t0=$(text "$W/$tc-plain") f0=$(file "$W/$tc-plain")
  for p in $programs; do
    case $p in
      hand) what="hand-written C \`sd_listen_fds\` (bench/handwritten.c)" ;;
      listen) what="libsdfd.a, \`sd_listen_fds\` only (bench/start.c)" ;;
      all) what="libsdfd.a, every function (bench/allfuncs.c)" ;;
    esac
    echo "| $tc | $what | +$(num $(($(text "$W/$tc-$p") - t0))) | +$(num $(($(file "$W/$tc-$p") - f0))) |"
  done
  summary+=("gain-listen $tc $(($(text "$W/$tc-listen") - t0)) $(($(text "$W/$tc-hand") - t0))")
done
printf '%s\n' "${summary[@]}"
