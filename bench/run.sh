#!/usr/bin/env bash
# make bench: measures sdfd against libsystemd side by side in one run and
# writes bench/RESULTS.md. Installs what it needs (Debian packages, the musl
# rustup target), builds everything under bench/out/. Not a test: it fails
# only if something cannot be built or measured, never on a slow figure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/bench/out

pkgs=(build-essential pkg-config libsystemd-dev valgrind strace musl-tools binutils python3)
./tests/apt-need.sh "${pkgs[@]}"

rm -rf "$OUT"
mkdir -p "$OUT/bin"
echo "bench: building libsdfd (make install PREFIX=bench/out/stage, make musl)"
make -s install PREFIX="$OUT/stage" B="$OUT/build" >"$OUT/build.log" 2>&1 || { cat "$OUT/build.log"; exit 1; }
make -s musl B="$OUT/build" >>"$OUT/build.log" 2>&1 || { cat "$OUT/build.log"; exit 1; }
export PKG_CONFIG_PATH=$OUT/stage/lib/pkgconfig
LIBDIR=$(pkg-config --variable=libdir sdfd)
CFLAGS=(-O2)
B=$OUT/bin
cd bench

# Start-up programs. (a)..(d) as in issue 7; "empty" and "floor" are
# reference C shared libraries (an empty one, a minimal real one); (e)/(f)
# are fully static musl programs.
cc "${CFLAGS[@]}" -o "$B/a-libsystemd" start.c $(pkg-config --cflags --libs libsystemd)
cc "${CFLAGS[@]}" -o "$B/b-sdfd-shared" start.c $(pkg-config --cflags --libs sdfd) -Wl,-rpath,"$LIBDIR"
cc "${CFLAGS[@]}" -o "$B/c-sdfd-static" start.c $(pkg-config --cflags sdfd) \
   -Wl,-Bstatic $(pkg-config --static --libs sdfd) -Wl,-Bdynamic
cc "${CFLAGS[@]}" -o "$B/d-plain" plain.c
mkdir -p "$OUT/floor"
cc "${CFLAGS[@]}" -fPIC -shared -Wl,-soname,libfloor.so -o "$OUT/floor/libfloor.so" floor-lib.c
cc "${CFLAGS[@]}" -o "$B/floor-c-shared" start.c $(pkg-config --cflags sdfd) -L"$OUT/floor" -lfloor \
   -Wl,-rpath,"$OUT/floor"
mkdir -p "$OUT/empty"
cc "${CFLAGS[@]}" -fPIC -shared -Wl,-soname,libempty.so -o "$OUT/empty/libempty.so" empty-lib.c
cc "${CFLAGS[@]}" -o "$B/empty-c-shared" start.c $(pkg-config --cflags sdfd) -L"$OUT/empty" -lempty \
   -Wl,-rpath,"$OUT/empty"
if [ "$(uname -m)" = x86_64 ]; then
  mkdir -p "$OUT/nolibc"
  cc "${CFLAGS[@]}" -fPIC -shared -Wl,-soname,libnolibc.so -o "$OUT/nolibc/libnolibc.so" nolibc-lib.c
  cc "${CFLAGS[@]}" -o "$B/nolibc-c-shared" start.c $(pkg-config --cflags sdfd) -L"$OUT/nolibc" -lnolibc \
     -Wl,-rpath,"$OUT/nolibc"
  cc "${CFLAGS[@]}" -o "$B/nolibc-c-static" start.c nolibc-lib.c $(pkg-config --cflags sdfd)
  # (r5): the least a library can be that declares libc (DT_NEEDED, symbol
  # version) and removes the variables with libc's unsetenv, linked as
  # libsdfd.so is (no C start files).
  mkdir -p "$OUT/unset"
  cc "${CFLAGS[@]}" -DLIBC_UNSETENV -fPIC -shared -nostartfiles -Wl,-soname,libunset.so \
     -o "$OUT/unset/libunset.so" nolibc-lib.c -lc
  cc "${CFLAGS[@]}" -o "$B/unset-c-shared" start.c $(pkg-config --cflags sdfd) -L"$OUT/unset" -lunset \
     -Wl,-rpath,"$OUT/unset"
  # (r6): the same, removing the variables from environ itself (as libsdfd.so
  # does on Linux): the floor for any libc-dependent library.
  mkdir -p "$OUT/own"
  cc "${CFLAGS[@]}" -fPIC -shared -nostartfiles -Wl,-soname,libown.so -o "$OUT/own/libown.so" nolibc-lib.c -lc
  cc "${CFLAGS[@]}" -o "$B/own-c-shared" start.c $(pkg-config --cflags sdfd) -L"$OUT/own" -lown \
     -Wl,-rpath,"$OUT/own"
fi
musl-gcc -static "${CFLAGS[@]}" -I"$ROOT/include" -o "$B/e-musl-sdfd-static" start.c "$OUT/build/musl/libsdfd.a"
musl-gcc -static "${CFLAGS[@]}" -o "$B/f-musl-plain" plain.c

# Size programs: every function referenced; static vs shared link of the same code.
cc "${CFLAGS[@]}" -o "$B/all-sdfd-shared" allfuncs.c $(pkg-config --cflags --libs sdfd) -Wl,-rpath,"$LIBDIR"
cc "${CFLAGS[@]}" -o "$B/all-sdfd-static" allfuncs.c $(pkg-config --cflags sdfd) \
   -Wl,-Bstatic $(pkg-config --static --libs sdfd) -Wl,-Bdynamic
cc "${CFLAGS[@]}" -o "$B/all-libsystemd" allfuncs.c $(pkg-config --cflags --libs libsystemd)
musl-gcc -static "${CFLAGS[@]}" -I"$ROOT/include" -o "$B/all-musl-sdfd-static" allfuncs.c "$OUT/build/musl/libsdfd.a"
# The same static links with -Wl,--gc-sections (sizes only): the linker then
# keeps what the program calls, not every function of libsdfd.a's objects.
GC=-Wl,--gc-sections
cc "${CFLAGS[@]}" $GC -o "$B/gc-start-shared" start.c $(pkg-config --cflags --libs sdfd)
cc "${CFLAGS[@]}" $GC -o "$B/gc-start-static" start.c $(pkg-config --cflags sdfd) \
   -Wl,-Bstatic $(pkg-config --static --libs sdfd) -Wl,-Bdynamic
cc "${CFLAGS[@]}" $GC -o "$B/gc-all-shared" allfuncs.c $(pkg-config --cflags --libs sdfd)
cc "${CFLAGS[@]}" $GC -o "$B/gc-all-static" allfuncs.c $(pkg-config --cflags sdfd) \
   -Wl,-Bstatic $(pkg-config --static --libs sdfd) -Wl,-Bdynamic
musl-gcc -static "${CFLAGS[@]}" $GC -I"$ROOT/include" -o "$B/gc-musl-start" start.c "$OUT/build/musl/libsdfd.a"
musl-gcc -static "${CFLAGS[@]}" $GC -I"$ROOT/include" -o "$B/gc-musl-all" allfuncs.c "$OUT/build/musl/libsdfd.a"
musl-gcc -static "${CFLAGS[@]}" $GC -o "$B/gc-musl-plain" plain.c

# Syscall programs and the timing harness.
cc "${CFLAGS[@]}" -o "$B/sys-libsystemd" syscalls.c $(pkg-config --cflags --libs libsystemd)
cc "${CFLAGS[@]}" -o "$B/sys-sdfd" syscalls.c $(pkg-config --cflags --libs sdfd) -Wl,-rpath,"$LIBDIR"
cc -O2 -o "$B/spawn" spawn.c

if ldd "$B/b-sdfd-shared" "$B/c-sdfd-static" "$B/sys-sdfd" | grep -q libsystemd; then
  echo "bench: an sdfd program links libsystemd" >&2; exit 1
fi
echo "bench: measuring"
python3 measure.py "$OUT" > RESULTS.md.new
# What a program gains from libsdfd.a against `return 0`, next to a
# hand-written sd_listen_fds (bench/footprint.sh).
echo "bench: footprint (bench/footprint.sh)"
{ echo; echo "## Footprint (bench/footprint.sh)"; echo
  echo "What a C program gains against \`return 0\` built the same way (bench/plain.c): \`-Os -Wl,--gc-sections\`, stripped; text is size(1)'s text column (code, read-only data, unwind and dynamic-linking tables), file the stripped file's bytes. The hand-written row is bench/handwritten.c, \`sd_listen_fds\` in 40 lines of C (plain decimal numbers, no \`LISTEN_FDNAMES\`/\`LISTEN_PIDFDID\`), linked instead of libsdfd. Target: libsdfd.a's \`sd_listen_fds\`-only gain at most the hand-written text + 512 B (tests/c/musl-static.sh checks musl, tests/c/packaging.sh glibc)."
  echo
  "$ROOT/bench/footprint.sh" "$OUT/build/libsdfd.a" "$OUT/build/musl/libsdfd.a" | grep -v '^gain-listen'
} >> RESULTS.md.new
# Where the size floors are: libsdfd with the hand-off, or every extension,
# taken out; the archive with libc's environment and number calls (bench/floors.sh).
echo "bench: floors (bench/floors.sh)"
{ echo; "$ROOT/bench/floors.sh"; } >> RESULTS.md.new
# BENCH_PARTS=startup: only the sections above (start-up, system calls,
# size, footprint, floors), put in place of the same sections of RESULTS.md; the
# others (hand-off, bindings, launcher, crate build, i686) stay as they are.
if [ "${BENCH_PARTS:-all}" = startup ]; then
  python3 - RESULTS.md RESULTS.md.new <<'PY'
import sys
old, new = sys.argv[1], sys.argv[2]
keep_from = "## Hand-off without a supervisor"
text = open(old).read()
fresh = open(new).read().rstrip("\n") + "\n\n"
open(old, "w").write(fresh + text[text.index(keep_from):])
PY
  rm -f RESULTS.md.new
  echo "bench: wrote the start-up, system-call, size, footprint and floors sections of bench/RESULTS.md"
  exit 0
fi
# Hand-off without a supervisor vs sdfd-activate's SIGHUP replacement (bench/handoff.py).
echo "bench: hand-off (bench/handoff.py)"
(cd "$ROOT" && cargo build -q --release -p sdfd-activate) >>"$OUT/build.log" 2>&1 || { cat "$OUT/build.log"; exit 1; }
{ echo; SDFD_ACTIVATE="${CARGO_TARGET_DIR:-$ROOT/target}/release/sdfd-activate" python3 handoff.py 30; } >> RESULTS.md.new
echo "bench: measuring the Python and Node bindings (bench/bindings.sh)"
{ echo; "$ROOT/bench/bindings.sh"; } >> RESULTS.md.new
# The launcher's section is measured by `make bench-launcher` (its own,
# longer run): keep it as it is.
python3 - RESULTS.md RESULTS.md.new <<'PY'
import sys
old, new = sys.argv[1], sys.argv[2]
begin, end = "<!-- launcher-bench begin -->", "<!-- launcher-bench end -->"
text = open(old).read() if __import__("os").path.exists(old) else ""
if begin in text and end in text:
    section = text[text.index(begin):text.index(end) + len(end)]
    with open(new, "a") as f:
        f.write("\n" + section + "\n")
PY
mv RESULTS.md.new RESULTS.md
echo "bench: wrote bench/RESULTS.md"
# The Rust crate's cold build next to listenfd and sd-notify (its own section).
"$ROOT/bench/crate-build.sh" >/dev/null
cat RESULTS.md
