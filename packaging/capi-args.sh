#!/bin/sh
# The C library's own C parts and link arguments, for every C build of
# the crate (`make lib|musl|musl-so|windows`, tests/panic-check.sh,
# tests/arch/run.sh): the crate has no build script (a Rust consumer then
# compiles and runs none, issue 30), so what a C build needs beyond
# `cargo rustc --features capi` is done here, and the build passes the
# arguments this prints to that invocation's rustc:
#
#   cargo rustc ... --features capi --lib --crate-type cdylib --crate-type staticlib \
#       -- $(packaging/capi-args.sh TRIPLE DIR)
#
# TRIPLE: the Rust target (empty: the host's). DIR: a directory for the
# objects (each set in its own subdirectory, named after a hash of the
# sources and the compiler: a changed source changes the arguments, so
# cargo rebuilds the library).
#
#  * src/notifyf.c (the printf-style sd_*notifyf calls: C variadics) in an
#    archive, `-l static=`: bundled into libsdfd.a, linked into the shared
#    library (kept by --undefined, exported by sdfd.map);
#  * Linux: src/mem.c, libsdfd.so's hidden memcpy/memset (an object on the
#    link line, not an archive member: libc defines these names too), and
#    the same code as sdfd_memcpy/sdfd_memset bundled into libsdfd.a (the
#    Makefile renames the archive's references, see src/mem.c);
#  * the shared library's soname, no C start files (linux-gnu), no unwind
#    tables (a linker-script fragment that discards .eh_frame).
#
# The C compiler: CC_<triple> (as the `cc` crate reads it: dashes or
# underscores), else the host's $CC (default cc) for the host, the GNU
# cross compiler <arch>-<os>-<env>-gcc (x86_64-w64-mingw32-gcc for
# *-windows-gnu) otherwise; the archiver likewise (AR_<triple>, $AR, ar).
# CFLAGS are added; CARGO_PROFILE_RELEASE_DEBUG=true (make abi-lib) adds -g.
# *-windows-msvc: cl.exe as CC (untested here: no MSVC on Linux).
# Prints rustc arguments on one line, space-separated (so no path here may
# contain a space): `-L`, `-l` and `-C link-arg`s (unused when only a
# staticlib is built).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
host=$(rustc -vV | sed -n 's/^host: //p')
triple=${1:-$host}
dir=$2
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac
case $root$dir in *' '*) echo "capi-args.sh: no spaces in $root or $dir, please" >&2; exit 2 ;; esac
t_=$(printf '%s' "$triple" | tr - _)
cc=$(printenv "CC_$t_" || printenv "CC_$triple" || true)
ar=$(printenv "AR_$t_" || printenv "AR_$triple" || true)
arch=${triple%%-*}
case $triple in
  *-windows-gnu*) prefix=$arch-w64-mingw32 ;;
  *) prefix=$(printf '%s' "$triple" | sed 's/^\([^-]*\)-\(unknown\|pc\)-/\1-/') ;;
esac
if [ -z "$cc" ]; then
  if [ "$triple" = "$host" ]; then cc=${CC:-cc}
  elif [ "${triple%-msvc}" != "$triple" ]; then cc=cl.exe
  else cc=$prefix-gcc; fi
fi
if [ -z "$ar" ]; then
  if [ "$triple" = "$host" ]; then ar=${AR:-ar}
  elif command -v "$prefix-ar" >/dev/null 2>&1; then ar=$prefix-ar
  else ar=ar; fi
fi
case $triple in
  *-linux-*) os=linux ;; *-android*) os=android ;; *-apple-*) os=apple ;; *-windows-*) os=windows ;; *) os=other ;;
esac
case $triple in *-msvc) msvc=1 ;; *) msvc= ;; esac
major=$(sed -n 's/^version = "\([0-9]*\)\..*/\1/p' "$root/Cargo.toml" | head -n1)

cflags="-Os -ffunction-sections -fdata-sections -Wall -Wextra"
[ "$os" = windows ] || cflags="$cflags -fPIC"
case ${CARGO_PROFILE_RELEASE_DEBUG:-} in true|1|2|full|limited|line-tables-only) cflags="$cflags -g" ;; esac
cflags="$cflags ${CFLAGS:-}"

# One directory per set of inputs.
key=$( { echo "$triple $cc $ar $cflags"; cat "$root/src/notifyf.c" "$root/src/mem.c" "$root/sdfd.map" "$0"; } \
       | cksum | cut -d' ' -f1)
out=$dir/$triple-$key
if [ ! -f "$out/done" ]; then
  rm -rf "$out"; mkdir -p "$out"
  if [ -n "$msvc" ]; then
    "$cc" -nologo -c -O1 -W4 -Fo"$out/notifyf.obj" "$root/src/notifyf.c" >&2
    lib.exe -nologo -out:"$out/sdfd_notifyf.lib" "$out/notifyf.obj" >&2
  else
    # shellcheck disable=SC2086
    $cc $cflags -c -o "$out/notifyf.o" "$root/src/notifyf.c" >&2
    $ar crs "$out/libsdfd_notifyf.a" "$out/notifyf.o" >&2
  fi
  if [ "$os" = linux ]; then
    # -fno-tree-loop-distribute-patterns: GCC's (clang has no such flag,
    # and no such transformation under -ffreestanding).
    memflags="-ffreestanding"
    if $cc -fno-tree-loop-distribute-patterns -x c -c -o /dev/null /dev/null 2>/dev/null; then
      memflags="$memflags -fno-tree-loop-distribute-patterns"
    fi
    # shellcheck disable=SC2086
    $cc $cflags $memflags -c -o "$out/mem.o" "$root/src/mem.c" >&2
    # shellcheck disable=SC2086
    $cc $cflags $memflags -Dmemcpy=sdfd_memcpy -Dmemset=sdfd_memset -c -o "$out/static-mem.o" "$root/src/mem.c" >&2
    $ar crs "$out/libsdfd_mem.a" "$out/static-mem.o" >&2
    printf 'SECTIONS { /DISCARD/ : { *(.eh_frame) *(.eh_frame_hdr) } } INSERT AFTER .text;\n' > "$out/noeh.ld"
  fi
  touch "$out/done"
fi

args="-L native=$out -l static=sdfd_notifyf"
for sym in sd_notifyf sd_pid_notifyf sd_pid_notifyf_with_fds; do
  if [ -n "$msvc" ]; then args="$args -C link-arg=/INCLUDE:$sym"
  else args="$args -C link-arg=-Wl,--undefined=$sym"; fi
done
case $os in linux|android|other) args="$args -C link-arg=-Wl,--version-script=$root/sdfd.map" ;; esac
if [ "$os" = linux ]; then
  args="$args -l static=sdfd_mem -C link-arg=$out/mem.o -C link-arg=-Wl,-T,$out/noeh.ld"
  case $triple in *-linux-gnu*) args="$args -C link-arg=-nostartfiles" ;; esac
fi
case $os in linux|android) args="$args -C link-arg=-Wl,-soname,libsdfd.so.$major" ;; esac
echo "$args"
