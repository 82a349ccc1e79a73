#!/usr/bin/env bash
# Windows suite: sdfd built for x86_64-pc-windows-gnu, run under wine.
# Installs MinGW-w64, wine and the Rust target itself; builds sdfd.dll /
# libsdfd.a (make windows), the test launcher (tests/windows/launcher.c),
# the test child linked both ways, and systemfd from crates.io; then
# tests/windows/run.py runs the cases, sdfd-activate.exe's included (with a
# child using crates.io's listenfd). Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
W=$ROOT/build/windows-test
. tests/lib/sdfdtest.sh
setup_fail() { die "set-up: $1" "$([ -f "${2:-}" ] && tail -30 "$2")"; }

need x86_64-w64-mingw32-gcc wine ps
rustup target list --installed 2>/dev/null | grep -qx x86_64-pc-windows-gnu \
  || rustup target add x86_64-pc-windows-gnu >/dev/null 2>&1 || setup_fail "rustup target add x86_64-pc-windows-gnu"

rm -rf "$W"; mkdir -p "$W"
make -s windows >"$W/make.log" 2>&1 || setup_fail "make windows" "$W/make.log"
export PKG_CONFIG_PATH=$ROOT/build/windows/lib/pkgconfig PKG_CONFIG_LIBDIR=$ROOT/build/windows/lib/pkgconfig
CC=x86_64-w64-mingw32-gcc
CFLAGS="-O2 -Wall -Wextra -Werror $(pkg-config --cflags sdfd)"
{
  $CC $CFLAGS tests/windows/child.c -o "$W/child-dll.exe" $(pkg-config --libs sdfd) -lws2_32 &&
  $CC $CFLAGS tests/windows/probe.c -o "$W/probe.exe" $(pkg-config --libs sdfd) -lws2_32 &&
  $CC $CFLAGS tests/windows/child.c -o "$W/child-static.exe" \
      -Wl,-Bstatic $(pkg-config --static --libs sdfd) -Wl,-Bdynamic -lws2_32 &&
  $CC -O2 -Wall -Werror tests/windows/launcher.c -o "$W/launcher.exe" -lws2_32 &&
  $CC -O2 -Wall -Werror -shared tests/windows/processprng.c -o "$W/bcryptprimitives.dll" -ladvapi32
} >"$W/cc.log" 2>&1 || setup_fail "compiling the test programs" "$W/cc.log"
cp build/windows/bin/sdfd.dll build/windows/bin/sdfd-activate.exe "$W/"

# A Rust child that takes its socket with the listenfd crate from crates.io,
# unmodified (the systemfd protocol only): a tiny crate made in a temporary
# directory, built for windows-gnu (target directory kept across runs).
LFD=$(mktemp -d)
rm_lfd() { rm -rf "$LFD"; }
at_exit rm_lfd
mkdir -p "$LFD/src"
cat >"$LFD/Cargo.toml" <<'TOML'
[package]
name = "listenfd-child"
version = "0.1.0"
edition = "2021"
[dependencies]
listenfd = "1"
[workspace]
TOML
cat >"$LFD/src/main.rs" <<'RS'
use std::io::Write;
fn main() {
    let mut fds = listenfd::ListenFd::from_env();
    println!("listenfd_len={}", fds.len());
    let l = match fds.take_tcp_listener(0) {
        Ok(Some(l)) => l,
        other => { println!("listenfd_take={other:?}"); std::process::exit(1) }
    };
    let (mut c, _) = l.accept().expect("accept");
    // It answers without reading: under wine, a std TcpStream accepted with
    // data already queued reads 0 bytes at first (the same under systemfd).
    let _ = c.write_all(b"pong listenfd");
    println!("serve=ok");
}
RS
if cargo build --release --manifest-path "$LFD/Cargo.toml" --target x86_64-pc-windows-gnu \
     --target-dir "$ROOT/build/listenfd-target" >"$W/listenfd-build.log" 2>&1; then
  cp "$ROOT/build/listenfd-target/x86_64-pc-windows-gnu/release/listenfd-child.exe" "$W/"
fi

# systemfd from crates.io, for interoperability (its own Cargo.lock; the
# target directory is kept across runs). A failure here fails that case.
if cargo install systemfd --locked --target x86_64-pc-windows-gnu --root "$W/systemfd" \
     --target-dir "$ROOT/build/systemfd-target" >"$W/systemfd-build.log" 2>&1; then
  cp "$W/systemfd/bin/systemfd.exe" "$W/"
fi

export WINEPREFIX=$ROOT/build/wineprefix WINEDEBUG=-all
# wineserver outlives the programs and keeps its socket directory in
# /tmp/wine-XXXXXX/server-DEV-INODE (or /tmp/.wine-UID/...; DEV-INODE of the
# prefix, in hex): stop ours, remove that.
wine_cleanup() {
  wineserver -k 2>/dev/null
  [ -d "$WINEPREFIX" ] || return 0
  local id d
  id=server-$(printf '%x-%x' "$(stat -c %d "$WINEPREFIX")" "$(stat -c %i "$WINEPREFIX")")
  for d in /tmp/wine-*/"$id" "/tmp/.wine-$(id -u)/$id"; do
    [ -d "$d" ] || continue
    rm -rf "$d"; rmdir "$(dirname "$d")" 2>/dev/null
  done
}
at_exit wine_cleanup
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  wineboot -i >"$W/wineboot.log" 2>&1 || setup_fail "wineboot" "$W/wineboot.log"
fi
counted cases python3 tests/windows/run.py "$W"
finish
