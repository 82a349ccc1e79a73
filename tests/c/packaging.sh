#!/usr/bin/env bash
# Packaging and ABI checks on the installed library (through pkg-config):
# prototypes against libsystemd's sd-daemon.h (bindgen and the C compiler),
# the committed header is what cbindgen generates, exported symbols, soname,
# shared and static linking, C++ and strict-C compilation of the headers.
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/sdfdtest.sh
tmpdir t packaging
CFLAGS=$(pkg-config --cflags sdfd) LIBS=$(pkg-config --libs sdfd) LIBDIR=$(pkg-config --variable=libdir sdfd)
INC=$(pkg-config --variable=includedir sdfd)/sdfd

# 1. bindgen: every sd-daemon.h prototype of libsystemd has the identical
#    Rust-side signature in sdfd's header.
protos() {  # header -> "name(args) -> ret" lines, normalised (through a wrapper:
            # libsystemd's private _sd-common.h refuses to be a top-level input)
  printf '#include "%s"\n' "$1" > "$t/wrap-$(basename "$1")"
  bindgen --no-layout-tests --allowlist-function 'sd_.*' "$t/wrap-$(basename "$1")" -- -I"$2" 2>"$t/bindgen.err" |
    tr '\n' ' ' | sed 's/pub fn /\n/g' | grep -E '^sd_' | sed -E 's/;.*//; s/ +/ /g; s/ $//' |
    sed 's/: sdfd_socket_t/: ::std::os::raw::c_int/g' | sort   # sdfd_socket_t is `int` on Unix
}
protos /usr/include/systemd/sd-daemon.h /usr/include > "$t/systemd.txt"
protos "$INC/sdfd.h" "$INC" > "$t/sdfd.txt"
n=$(wc -l < "$t/systemd.txt")
if [ "$n" -ge 17 ] && missing=$(comm -23 "$t/systemd.txt" "$t/sdfd.txt") && [ -z "$missing" ]; then
  ok "bindgen: all $n libsystemd 252 sd-daemon prototypes are identical in sdfd.h"
else
  bad "bindgen: prototypes differ ($n in libsystemd)" "$(diff "$t/systemd.txt" "$t/sdfd.txt")"
fi
extra=$(comm -13 "$t/systemd.txt" "$t/sdfd.txt" | sed -E 's/\(.*//' | tr '\n' ' ')
[ "$extra" = "sd_pid_notify_barrier sd_pid_notifyf_with_fds " ] && ok "bindgen: only the systemd 254 additions are extra ($extra)" \
  || bad "bindgen: unexpected extra functions: $extra"

# 2. The C compiler: both headers in one unit must agree (a conflicting
#    redeclaration is an error), in C and C++.
printf '#include "/usr/include/systemd/sd-daemon.h"\n#include <sdfd.h>\nint main(void){return 0;}\n' > "$t/both.c"
if out=$(cc -Wall -Werror -c $CFLAGS "$t/both.c" -o "$t/both.o" 2>&1); then ok "C: sdfd.h redeclares libsystemd's prototypes compatibly"; else bad "C: conflicting declarations" "$out"; fi
cat > "$t/compat.c" <<'C'
#include <systemd/sd-daemon.h>
#include <stdio.h>
#if SD_LISTEN_FDS_START != 3
#error SD_LISTEN_FDS_START
#endif
_SD_BEGIN_DECLARATIONS;
static const char *levels[] = { SD_EMERG, SD_ALERT, SD_CRIT, SD_ERR, SD_WARNING, SD_NOTICE, SD_INFO, SD_DEBUG };
_SD_END_DECLARATIONS;
int main(void) {
    fprintf(stderr, SD_INFO "levels %s..%s\n", levels[0], levels[7]);
    int n = sd_listen_fds(0);
    sd_notifyf(0, "STATUS=%d fds", n);
    return n == 0 && sd_booted() >= 0 ? 0 : 1;
}
C
for std in "-std=c99 -pedantic" "-std=c11" "-std=gnu17"; do
  if out=$(cc $std -Wall -Wextra -Werror $CFLAGS "$t/compat.c" -o "$t/compat" $LIBS -Wl,-rpath,"$LIBDIR" 2>&1) && env -u LISTEN_FDS -u LISTEN_PID "$t/compat" 2>/dev/null; then
    ok "compat header: <systemd/sd-daemon.h> source builds and runs ($std)"
  else bad "compat header ($std)" "$out"; fi
done
if out=$(c++ -x c++ -Wall -Werror $CFLAGS "$t/compat.c" -o "$t/compat-cpp" $LIBS -Wl,-rpath,"$LIBDIR" 2>&1) && "$t/compat-cpp" 2>/dev/null; then
  ok "compat header: builds and runs as C++"; else bad "compat header as C++" "$out"; fi
if out=$(printf '#include <sdfd.h>\n#include <systemd/sd-daemon.h>\n' | cc -x c -fsyntax-only -Wall -Werror $CFLAGS - 2>&1); then
  ok "sdfd.h and the compat header together"; else bad "sdfd.h + compat header" "$out"; fi
if [[ "$(ldd "$t/compat")" == *libsystemd* ]]; then bad "compat program links libsystemd"; else ok "compat program does not link libsystemd"; fi

# 3. The committed header is exactly what cbindgen generates from src/ffi.rs
#    now (regenerated into a temporary file; `make header` updates it).
if cargo run --quiet --locked -p xtask -- header "$t/sdfd.h.fresh" 2>"$t/xtask.log" && cmp -s include/sdfd.h "$t/sdfd.h.fresh"; then
  ok "include/sdfd.h is what cbindgen generates from src/ffi.rs"
else bad "include/sdfd.h differs from cbindgen's output (run make header)" "$(diff include/sdfd.h "$t/sdfd.h.fresh" 2>&1 | head -20; cat "$t/xtask.log")"; fi

# 4. Exports and soname of the installed shared library.
so=$(readlink -f "$LIBDIR/libsdfd.so")
syms=$(nm -D --defined-only "$so" | awk '{print $3}' | sort | tr '\n' ' ')
want="sd_booted sd_is_fifo sd_is_mq sd_is_socket sd_is_socket_inet sd_is_socket_sockaddr sd_is_socket_unix sd_is_special sd_listen_fds sd_listen_fds_with_names sd_notify sd_notify_barrier sd_notifyf sd_pid_notify sd_pid_notify_barrier sd_pid_notify_with_fds sd_pid_notifyf sd_pid_notifyf_with_fds sd_watchdog_enabled "
got_sd=$(printf '%s\n' $syms | grep '^sd_' | tr '\n' ' ')
[ "$got_sd" = "$want" ] && ok "nm -D: exactly the 19 sd_* functions of libsystemd's API are exported" || bad "nm -D exports" "got:  $got_sd"$'\n'"want: $want"
sdfd_h=$(grep -oE '^[a-z].* \**(sdfd_[a-z_]+)\(' "$INC/sdfd.h" | grep -oE 'sdfd_[a-z_]+' | sort | tr '\n' ' ')
got_sdfd=$(printf '%s\n' $syms | grep '^sdfd_' | tr '\n' ' ')
[ -n "$got_sdfd" ] && [ "$got_sdfd" = "$sdfd_h" ] && ok "nm -D: the sdfd_* extensions exported are those declared in sdfd.h ($got_sdfd)" \
  || bad "sdfd_* exports vs sdfd.h" "exported: $got_sdfd"$'\n'"declared: $sdfd_h"
other=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -vE '^(sd_|sdfd_)' || true)
[ -z "$other" ] && ok "nm -D: no symbol outside sd_*/sdfd_*" || bad "stray exports" "$other"
soname=$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "libsdfd.so.0" ] && ok "soname is libsdfd.so.0" || bad "soname is '$soname'"
needed=$(readelf -d "$so" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')
[ "$needed" = "libc.so.6 " ] && ok "libsdfd.so needs only libc.so.6" || bad "libsdfd.so needs: $needed"
# Every symbol version a library needs is checked by the dynamic linker at
# each program start (~200 instructions each, bench/RESULTS.md): one.
versions=$(readelf -V "$so" | sed -n '/Version needs/,$s/.*Name: \([^ ]*\).*/\1/p' | tr '\n' ' ')
[ "$versions" = "GLIBC_2.2.5 " ] && ok "libsdfd.so needs one libc symbol version, GLIBC_2.2.5" \
  || bad "libsdfd.so needs the versions: $versions" "$(readelf --dyn-syms -W "$so" | grep -v 'GLIBC_2.2.5' | grep '@GLIBC')"
[ -L "$LIBDIR/libsdfd.so.0" ] && [ -L "$LIBDIR/libsdfd.so" ] && ok "libsdfd.so -> libsdfd.so.0 -> real file" || bad "library symlinks"

# 5. Static link with just `pkg-config --static --libs sdfd`, fully static too.
if out=$(cc $CFLAGS "$t/compat.c" -o "$t/static" -Wl,-Bstatic $(pkg-config --static --libs sdfd) -Wl,-Bdynamic 2>&1) \
   && [[ "$(ldd "$t/static" 2>&1)" != *libsdfd* ]] && "$t/static" 2>/dev/null; then
  ok "static: links libsdfd.a with pkg-config --static --libs and runs"; else bad "static link" "$out"; fi
if out=$(cc -static $CFLAGS "$t/compat.c" -o "$t/fullstatic" $(pkg-config --static --libs sdfd) 2>&1) && "$t/fullstatic" 2>/dev/null; then
  ok "static: fully static (-static) program runs ($(stat -c %s "$t/fullstatic") bytes)"; else bad "fully static link" "$out"; fi

# 5b. Footprint with glibc (bench/footprint.sh, bench/RESULTS.md "Footprint";
#     x86_64, where the target was set): a program calling only
#     sd_listen_fds gains from the installed libsdfd.a at most the text the
#     hand-written C (bench/handwritten.c) gains + 512 B, with -static and
#     with libc shared (tests/c/musl-static.sh checks musl).
[ "$(uname -m)" = x86_64 ] && footprint_within "$LIBDIR/libsdfd.a" - glibc-static glibc-dynamic

# 6. make install / uninstall into a DESTDIR leave exactly the files expected.
d=$t/destdir
if make -s install PREFIX=/opt/sdfd DESTDIR="$d" >/dev/null 2>&1 \
   && [ -f "$d/opt/sdfd/include/sdfd/systemd/sd-daemon.h" ] && [ -f "$d/opt/sdfd/lib/pkgconfig/sdfd.pc" ] \
   && grep -q '^prefix=/opt/sdfd$' "$d/opt/sdfd/lib/pkgconfig/sdfd.pc" \
   && make -s uninstall PREFIX=/opt/sdfd DESTDIR="$d" >/dev/null 2>&1 && [ -z "$(find "$d" -type f -o -type l)" ]; then
  ok "make install/uninstall with PREFIX and DESTDIR"; else bad "make install/uninstall" "$(find "$d" 2>/dev/null)"; fi

# 7. Start-up (x86_64; bench/RESULTS.md, "Start-up cost"): a program whose
#    sd_listen_fds(1) takes one socket, started as a service manager starts an
#    Accept=yes daemon (bench/spawn.c: fd 3, a clean environment), costs at
#    most 2,000 instructions more when linked against libsdfd.so than when
#    linked against an empty C shared library (bench/empty-lib.c): callgrind,
#    the whole process, dynamic linker included, median of 3 runs.
if [ "$(uname -m)" = x86_64 ]; then
  need valgrind
  cc -O2 -o "$t/spawn" bench/spawn.c
  cc -O2 -o "$t/start-sdfd" bench/start.c $CFLAGS $LIBS -Wl,-rpath,"$LIBDIR"
  mkdir -p "$t/empty"
  cc -O2 -fPIC -shared -Wl,-soname,libempty.so -o "$t/empty/libempty.so" bench/empty-lib.c
  cc -O2 -o "$t/start-empty" bench/start.c $CFLAGS -L"$t/empty" -lempty -Wl,-rpath,"$t/empty"
  icount() {  # program -> median instruction count of 3 runs; fails unless it exits 0 (activated)
    local i out
    for i in 1 2 3; do
      out=$("$t/spawn" exec valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" 2>&1) || return 1
      sed -n 's/.*Collected : //p' <<<"$out"
    done | sort -n | sed -n 2p
  }
  if sdfd_n=$(icount "$t/start-sdfd") && empty_n=$(icount "$t/start-empty") && [ -n "$sdfd_n" ] && [ -n "$empty_n" ]; then
    check "start-up: sd_listen_fds(1) through libsdfd.so costs $((sdfd_n - empty_n)) instructions over an empty library ($sdfd_n vs $empty_n), at most 2,000" \
      test $((sdfd_n - empty_n)) -le 2000
  else
    bad "start-up: both programs run under callgrind and return 1 from sd_listen_fds" "$sdfd_n / $empty_n"
  fi
fi

finish
