#!/usr/bin/env bash
# musl / Alpine-style: a C daemon linked fully statically with musl-gcc
# against sdfd's libsdfd.a (make musl) runs in an empty root directory
# (chroot holding nothing but that one binary) under socket activation and
# serves requests: a listening TCP socket, inetd-style --accept, and
# sd_notify (FDSTORE=1 with an fd, READY=1) to an abstract NOTIFY_SOCKET.
# Installs what it needs (musl-tools, systemd for systemd-socket-activate,
# the rustup target). Needs root (chroot). Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. tests/lib/sdfdtest.sh

need musl-gcc systemd-socket-activate python3

tmpdir W musl
at_exit 'jobs -p | xargs -r kill 2>/dev/null'

# 1. libsdfd.a for x86_64-unknown-linux-musl (src/notifyf.c through musl-gcc).
if make -s musl B="$W/build" >"$W/musl.log" 2>&1 && [ -f "$W/build/musl/libsdfd.a" ]; then
  ok "make musl builds libsdfd.a for x86_64-unknown-linux-musl"
else
  bad "make musl builds libsdfd.a for x86_64-unknown-linux-musl" "$(tail -20 "$W/musl.log")"; finish
fi

# 2. Fully static link with musl-gcc: no interpreter, no shared libraries.
EXE=$W/activated
if musl-gcc -static -Os -Wall -Werror -I"$ROOT/include" -o "$EXE" tests/c/activated.c "$W/build/musl/libsdfd.a" \
     >"$W/link.log" 2>&1; then
  ok "musl-gcc -static links tests/c/activated.c with libsdfd.a"
else
  bad "musl-gcc -static links tests/c/activated.c with libsdfd.a" "$(cat "$W/link.log")"; finish
fi
strip "$EXE"

# 2b. Footprint (bench/footprint.sh, bench/RESULTS.md "Footprint"): a
# program calling only sd_listen_fds gains from libsdfd.a at most the text
# the hand-written C (bench/handwritten.c) gains, + 512 B; and takes in no
# malloc, setenv or strtol (libsdfd.a has one member per function).
footprint_within - "$W/build/musl/libsdfd.a" musl-static
musl-gcc -static -Os -Wl,--gc-sections -I"$ROOT/include" -o "$W/listen-only" bench/start.c "$W/build/musl/libsdfd.a"
syms=$(nm "$W/listen-only" | awk '{print $NF}' | grep -xE 'malloc|calloc|realloc|free|setenv|strtol|strtoul|strtoull' | tr '\n' ' ')
check "footprint: sd_listen_fds only takes in no malloc, setenv or strtol (${syms:-none})" test -z "$syms"
step "footprint: a program calling every function links (bench/allfuncs.c)" \
  musl-gcc -static -Os -Wl,--gc-sections -I"$ROOT/include" -o "$W/all" bench/allfuncs.c "$W/build/musl/libsdfd.a"

check "static: no PT_INTERP" lacks INTERP readelf -lW "$EXE"
check "static: no DT_NEEDED" lacks NEEDED readelf -dW "$EXE"
check "static: no libsystemd, no glibc symbol versions" lacks 'libsystemd|GLIBC_2' strings "$EXE"
echo "     stripped size: $(stat -c %s "$EXE") bytes"

# The empty root: only the binary.
R=$W/root
mkdir -p "$R" && cp "$EXE" "$R/daemon"
check "root holds exactly one file" test "$(find "$R" -mindepth 1 | wc -l)" -eq 1

talk() { talk_tcp "$1" "$2"; }   # tests/lib/sdfdtest.sh

# 3. A listening TCP socket (Accept=no): two requests.
P=$(free_port)
timeout 20 systemd-socket-activate -l "127.0.0.1:$P" --fdname=web chroot "$R" /daemon 2 >"$W/a.log" 2>&1 &
A=$!
r1=$(talk "$P" "hello") r2=$(talk "$P" "again")
wait $A; rc=$?
check "listening socket: daemon exits 0 after 2 requests (rc=$rc)" test "$rc" -eq 0
exp="web inet4 stream listening sockaddr-match=1"
check "listening socket: first request answered" test "$r1" = "$exp hello"
check "listening socket: second request answered" test "$r2" = "$exp again"
check "listening socket: sd_listen_fds_with_names saw 1 fd and unset the variables" grep -qx "listen=1 env=unset" "$W/a.log"
[ "$T_FAIL" -eq 0 ] || sed 's/^/       /' "$W/a.log"

# 4. inetd-style Accept=yes: a fresh chroot'd process per connection.
P=$(free_port)
timeout 20 systemd-socket-activate -l "127.0.0.1:$P" --accept --fdname=conn chroot "$R" /daemon >"$W/b.log" 2>&1 &
B=$!
answers=()
for i in 1 2 3; do answers+=("$(talk "$P" "ping$i")"); done
sleep 0.3; kill "$B" 2>/dev/null; wait "$B" 2>/dev/null
for i in 1 2 3; do
  check "accept mode: connection $i answered by its own process" \
    test "${answers[$((i-1))]}" = "conn inet4 stream notlistening sockaddr-match=1 ping$i"
done
check "accept mode: three processes each got 1 fd" test "$(grep -cx 'listen=1 env=unset' "$W/b.log")" -eq 3

# 5. sd_notify from inside the empty root to an abstract NOTIFY_SOCKET.
P=$(free_port)
NAME="sdfd-musl-$$"
python3 tests/lib/sdfdtest.py receive-notify "@$NAME" 2 "$W/notify.out" 15 &
N=$!
wait_listening $N 1
timeout 20 systemd-socket-activate -l "127.0.0.1:$P" --fdname=web -E NOTIFY_SOCKET="@$NAME" chroot "$R" /daemon 1 \
  >"$W/c.log" 2>&1 &
C=$!
r=$(talk "$P" "notified")
wait "$C"; wait "$N"
check "notify: request answered" test "$r" = "web inet4 stream listening sockaddr-match=1 notified"
check "notify: FDSTORE=1 with the listening socket received" \
  grep -qx "'FDSTORE=1\\\\nFDNAME=stored-web' fds=listening-tcp" "$W/notify.out"
check "notify: READY=1 received" grep -qx "'READY=1\\\\nSTATUS=serving 1 sockets' fds=" "$W/notify.out"
check "notify: both calls returned 1" grep -qx "notify=1,1 notify_socket=unset" "$W/c.log"
[ "$T_FAIL" -eq 0 ] || { cat "$W/notify.out" "$W/c.log" | sed 's/^/       /'; }
finish
