#!/usr/bin/env bash
# Start-up cost on i686 (32-bit x86, run natively on the x86_64 kernel): rows
# (a), (b) and (d) of bench/RESULTS.md's start-up table, built for i686 and
# counted the same way (bench/spawn.c starts each as an Accept=yes service
# with one fd; valgrind --tool=callgrind, whole process, median of 3 runs).
# libsdfd.so is `make install` with CARGOFLAGS --target i686-unknown-linux-gnu
# (the libc path of src/sys/unix.rs: no raw system calls on i686); the
# reference is libsystemd 252 for i386 (multiarch). Prints the table rows.
#
#   bench/i686.sh            (bench/out-i686/)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/bench/out-i686
X=i686-unknown-linux-gnu
./tests/apt-need.sh gcc-i686-linux-gnu libc6-dev-i386-cross valgrind libsystemd-dev
dpkg --print-foreign-architectures | grep -qx i386 || dpkg --add-architecture i386
./tests/apt-need.sh libsystemd-dev:i386 libc6:i386
rustup target list --installed | grep -qx $X || rustup target add $X
rm -rf "$OUT"; mkdir -p "$OUT/bin"
GCC_LD=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/gcc-ld
echo "bench: building libsdfd for $X (make install)" >&2
CARGO_TARGET_DIR=$ROOT/target/arch/i686 CARGO_TARGET_I686_UNKNOWN_LINUX_GNU_LINKER=i686-linux-gnu-gcc \
CARGO_TARGET_I686_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=-fuse-ld=lld -C link-arg=-B$GCC_LD" \
CC_i686_unknown_linux_gnu=i686-linux-gnu-gcc AR_i686_unknown_linux_gnu=i686-linux-gnu-ar \
  make -s install B="$OUT/build" PREFIX="$OUT/stage" CARGOFLAGS="$(make -s print-cargoflags) --target $X" \
    STRIP=i686-linux-gnu-strip OBJCOPY=i686-linux-gnu-objcopy AR=i686-linux-gnu-ar >"$OUT/build.log" 2>&1 \
  || { cat "$OUT/build.log"; exit 1; }
LIBDIR=$OUT/stage/lib B=$OUT/bin CC=(i686-linux-gnu-gcc -O2)
mkdir -p "$OUT/inc" && ln -sfn /usr/include/systemd "$OUT/inc/systemd"
"${CC[@]}" -I"$OUT/inc" -o "$B/a-libsystemd" bench/start.c -L/usr/lib/i386-linux-gnu -lsystemd
"${CC[@]}" -I"$ROOT/include" -o "$B/b-sdfd-shared" bench/start.c -L"$LIBDIR" -lsdfd -Wl,-rpath,"$LIBDIR"
"${CC[@]}" -o "$B/d-plain" bench/plain.c
cc -O2 -o "$B/spawn" bench/spawn.c
if LD_TRACE_LOADED_OBJECTS=1 "$B/b-sdfd-shared" | grep -q libsystemd; then echo "bench: the sdfd program links libsystemd" >&2; exit 1; fi
python3 - "$B" <<'PY'
import re, statistics, subprocess, sys
B = sys.argv[1]
def instructions(prog):
    vals = []
    for _ in range(3):
        p = subprocess.run([B + "/spawn", "exec", "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", prog],
                           capture_output=True, text=True)
        m = re.search(r"Collected : (\d+)", p.stderr)
        if p.returncode != 0 or not m:
            sys.exit("callgrind failed for %s (rc %d): %s" % (prog, p.returncode, p.stderr[-2000:]))
        vals.append(int(m.group(1)))
    return int(statistics.median(vals))
rows = [("(a)", "sd_listen_fds(1), linked against libsystemd.so.0 (i386)", "a-libsystemd"),
        ("(b)", "sd_listen_fds(1), linked against libsdfd.so.0 (i686)", "b-sdfd-shared"),
        ("(d)", "`int main(void) { return 0; }`, no library", "d-plain")]
n = {k: instructions(B + "/" + f) for k, _, f in rows}
for k, what, _ in rows:
    print("| %s | %s | %s | %.3f× |" % (k, what, format(n[k], ","), n[k] / n["(d)"]))
print("libsdfd.so (b) − (d) = %s instructions; libsystemd (a) − (d) = %s." % (format(n["(b)"] - n["(d)"], ","), format(n["(a)"] - n["(d)"], ",")))
PY
