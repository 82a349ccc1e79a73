#!/usr/bin/env bash
# A real, unmodified daemon on sdfd: fetches Debian bookworm's fcgiwrap source
# (a FastCGI server whose main() calls sd_listen_fds), builds it with its own
# autoconf build where only the flags change (systemd_CFLAGS/systemd_LIBS from
# `pkg-config sdfd` instead of libsystemd), checks the binary links libsdfd and
# not libsystemd, then socket-activates it with systemd-socket-activate on a
# loopback TCP port and on a unix socket, and has cgi-fcgi (libfcgi-bin) make
# real requests that fcgiwrap answers by running a CGI script.
# Needs PKG_CONFIG_PATH to find sdfd.pc (tests/run-all.sh sets it up).
set -euo pipefail

. "$(dirname "$0")/../lib/sdfdtest.sh"
lacks() { ! grep -q "$@"; }

tmpdir W real-daemon
daemon=
at_exit 'if [ -n "$daemon" ]; then kill "$daemon" 2>/dev/null; fi'

pkg-config --exists sdfd || die "pkg-config cannot find sdfd (set PKG_CONFIG_PATH)"
LIBDIR=$(pkg-config --variable=libdir sdfd)
INCDIR=$(pkg-config --variable=includedir sdfd)

# --- dependencies (only what is missing) -----------------------------------
need cc dpkg-source dpkg-buildpackage pkg-config autoreconf cgi-fcgi systemd-socket-activate

# --- fetch the source with a private deb-src list (system apt config untouched)
cat >"$W/src.sources" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
mkdir -p "$W/lists/partial"
apt_src=(-qq -o Dir::Etc::sourcelist="$W/src.sources" -o Dir::Etc::sourceparts=/nonexistent
         -o Dir::State::Lists="$W/lists" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
         -o APT::Sandbox::User=root)
timeout 120 apt-get "${apt_src[@]}" update >"$W/apt.log" 2>&1 || { cat "$W/apt.log"; die "deb-src update failed"; }
(cd "$W" && timeout 120 apt-get "${apt_src[@]}" source fcgiwrap >>apt.log 2>&1) \
  || { cat "$W/apt.log"; die "apt-get source fcgiwrap failed"; }
SRC=$(echo "$W"/fcgiwrap-*/)
echo "# source: $(cd "$W" && ls fcgiwrap_*.dsc)"
check "fcgiwrap.c calls sd_listen_fds" grep -q 'sd_listen_fds(' "$SRC/fcgiwrap.c"

# --- build: unmodified source, only the flags point at sdfd ----------------
# fcgiwrap's Makefile compiles with CFLAGS and links with systemd_LIBS; -MD
# records which sd-daemon.h the compiler really used.
if (cd "$SRC" && timeout 120 autoreconf -i && timeout 120 ./configure --with-systemd=yes \
      CFLAGS="-O2 -MD $(pkg-config --cflags sdfd)" \
      systemd_CFLAGS="$(pkg-config --cflags sdfd)" \
      systemd_LIBS="$(pkg-config --libs sdfd) -Wl,-rpath,$LIBDIR" && timeout 120 make) >"$W/build.log" 2>&1 \
   && grep -q '^#define HAVE_SYSTEMD 1' "$SRC/config.h"; then
  ok "fcgiwrap builds with socket activation against sdfd (-Wall -Wextra -Werror -pedantic)"
else
  tail -30 "$W/build.log"; die "fcgiwrap did not build against sdfd"
fi
BIN=$SRC/fcgiwrap
check "compiled with sdfd's systemd/sd-daemon.h" grep -qF "$INCDIR/sdfd/systemd/sd-daemon.h" "$SRC/fcgiwrap.d"
check "did not include libsystemd's header" lacks /usr/include/systemd/ "$SRC/fcgiwrap.d"
ldd "$BIN" >"$W/ldd.txt" 2>&1 || true
sed 's/^/#   /' "$W/ldd.txt"
check "binary does not link libsystemd" lacks libsystemd "$W/ldd.txt"
check "binary links $LIBDIR/libsdfd.so.0" grep -qF "libsdfd.so.0 => $LIBDIR/libsdfd.so.0" "$W/ldd.txt"

# --- socket-activate it and make real requests ------------------------------
cat >"$W/hello.cgi" <<'EOF'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
echo "hello $QUERY_STRING"
echo "env LISTEN_FDS=${LISTEN_FDS-unset} LISTEN_PID=${LISTEN_PID-unset} LISTEN_FDNAMES=${LISTEN_FDNAMES-unset}"
EOF
chmod +x "$W/hello.cgi"

# activate NAME LISTEN-ADDRESS: systemd-socket-activate binds the address and
# execs fcgiwrap on the first connection, passing it as fd 3. fcgiwrap gets no
# -s option and /dev/null as stdin: it can only serve if sd_listen_fds works.
activate() {
  local name=$1 addr=$2 log=$W/$1.log
  timeout 60 /usr/bin/systemd-socket-activate -l "$addr" --fdname=fcgi \
    -E LD_DEBUG=bindings -E LD_DEBUG_OUTPUT="$W/$name.ld" "$BIN" </dev/null >"$log" 2>&1 &
  daemon=$!
  for _ in $(seq 50); do grep -qs '^Listening on' "$log" && break; sleep 0.1; done
  grep -q '^Listening on' "$log" || { cat "$log"; bad "$name: systemd-socket-activate did not listen"; return; }
  local i nonce out
  for i in 1 2; do
    nonce=$name-$i-$RANDOM$RANDOM
    out=$(env -i REQUEST_METHOD=GET SCRIPT_FILENAME="$W/hello.cgi" QUERY_STRING="$nonce" \
            timeout 10 cgi-fcgi -bind -connect "$addr" 2>&1 | tr -d '\r') || true
    if grep -qx "hello $nonce" <<<"$out"; then ok "$name: request $i answered"
    else bad "$name: request $i: got: $out"; sed 's/^/#   /' "$log"; fi
  done
  check "$name: LISTEN_* removed from the daemon's environment (sd_listen_fds(true))" \
    grep -qx 'env LISTEN_FDS=unset LISTEN_PID=unset LISTEN_FDNAMES=unset' <<<"$out"
  # ld.so's own trace of the call: fcgiwrap's sd_listen_fds resolved to libsdfd.
  check "$name: sd_listen_fds bound to libsdfd at run time" \
    grep -qh "to $LIBDIR/libsdfd.so.0 .*symbol .sd_listen_fds'" "$W/$name.ld".*
  kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; daemon=
}
port=$(free_port)
activate tcp 127.0.0.1:$port
activate unix "$W/fcgiwrap.sock"

finish
