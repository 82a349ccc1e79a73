#!/usr/bin/env bash
# The Debian package of `make deb`, used as a user would: lintian without
# errors, `apt-get install ./sdfd_*.deb`, C programs built against it with
# plain `pkg-config --cflags --libs sdfd` (no PKG_CONFIG_PATH, no rpath) and
# run socket-activated (README's example and examples/hello-daemon.c), the
# launcher from /usr/bin, then `apt-get purge` leaving nothing behind.
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/sdfdtest.sh
tmpdir t deb-test
installed=0
at_exit '[ $installed = 1 ] && DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq sdfd >/dev/null 2>&1'
. tests/packaging/activated.sh
[ "$(id -u)" -eq 0 ] || { bad "installing a .deb needs root"; finish; }
need lintian systemd-socket-activate pkg-config dpkg-deb
unset PKG_CONFIG_PATH SDFD_LIBRARY LD_LIBRARY_PATH
if dpkg-query -W sdfd >/dev/null 2>&1 || ldconfig -p | grep -q libsdfd || pkg-config --exists sdfd; then
  bad "sdfd or a libsdfd is already installed on this machine; this test installs and removes its own"; finish
fi

if ! nice -n 5 make -s deb B="$t/build" >"$t/make.log" 2>&1; then
  bad "make deb" "$(grep -v '^ *|\|warning\|= note' "$t/make.log" | tail -20)"; finish
fi
deb=$(ls "$t"/build/deb/sdfd_*.deb)
ok "make deb: $(basename "$deb") ($(stat -c %s "$deb") bytes)"

# 1. lintian: no errors (warnings are listed).
lintian --tag-display-limit 0 "$deb" >"$t/lintian.log" 2>&1; rc=$?
errors=$(grep -E '^E: ' "$t/lintian.log")
warnings=$(grep -E '^W: ' "$t/lintian.log" | sed -E 's/^W: sdfd: ([^ ]+).*/\1/' | sort -u | tr '\n' ' ')
[ $rc -eq 0 ] && [ -z "$errors" ] \
  && ok "lintian: no errors (warnings: ${warnings:-none})" || bad "lintian errors" "$errors"

# 2. apt-get install ./sdfd_*.deb
before=$t/before.txt
find /usr /etc /var/lib/dpkg/info -xdev \( -type f -o -type l \) 2>/dev/null | grep -v '^/usr/lib/python3.*__pycache__' | sort > "$before"
if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$deb" >"$t/apt.log" 2>&1; then
  installed=1; ok "apt-get install $(basename "$deb")"
else bad "apt-get install" "$(tail -5 "$t/apt.log")"; finish; fi
libdir=$(pkg-config --variable=libdir sdfd 2>&1)
[ "$(ldconfig -p | grep -c 'libsdfd.so.0 ')" -ge 1 ] && [ "$(pkg-config --modversion sdfd)" = "$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)" ] \
  && ok "installed: ldconfig knows libsdfd.so.0; pkg-config finds sdfd $(pkg-config --modversion sdfd) in $libdir with no PKG_CONFIG_PATH" \
  || bad "installed library not found" "$(ldconfig -p | grep sdfd) / $libdir"

# 3. README's C example, built with plain pkg-config and run socket-activated.
# (the first ```c block)
awk 'BEGIN{inb=0; done=0} /^```c$/ && !done {inb=1; next} /^```$/ && inb {inb=0; done=1; next} inb' README.md > "$t/readme.c"
if cc -Wall -Werror -o "$t/readme-example" "$t/readme.c" $(pkg-config --cflags --libs sdfd) 2>"$t/cc-readme.log"; then
  runpath=$(readelf -d "$t/readme-example" | grep -E 'RPATH|RUNPATH')
  resolved=$(ldd "$t/readme-example" | awk '/libsdfd/ {print $3}')
  reply=$(ACTIVATED_SEND=$'GET / HTTP/1.0\r\n\r\n' ACTIVATED_OUT=$t/readme.out activated_reply "$t/readme-example")
  [ -z "$runpath" ] && [ "$(readlink -f "$resolved")" = "$(readlink -f "$libdir/libsdfd.so.0")" ] && grep -q '^hello$' <<<"$reply" \
    && ok "README's C example: cc \$(pkg-config --cflags --libs sdfd), no rpath, uses $resolved, answers under systemd-socket-activate ($(head -n1 <<<"$reply" | tr -d '\r'))" \
    || bad "README example" "runpath: $runpath; libsdfd: $resolved; reply: $reply; output: $(cat "$t/readme.out")"
else bad "README's C example does not compile against the package" "$(head -20 "$t/cc-readme.log")"; fi

# 4. examples/hello-daemon.c: an HTTP answer through the activated socket.
if cc -Wall -Werror -o "$t/hello" examples/hello-daemon.c $(pkg-config --cflags --libs sdfd) 2>"$t/cc-hello.log"; then
  reply=$(ACTIVATED_SEND=$'GET / HTTP/1.0\r\n\r\n' activated_reply "$t/hello" 1)
  [[ "$reply" == HTTP/1.* ]] && ok "examples/hello-daemon.c built against the package answers under systemd-socket-activate ($(head -n1 <<<"$reply" | tr -d '\r'))" \
    || bad "hello-daemon under activation" "reply: $reply"
else bad "examples/hello-daemon.c does not compile" "$(cat "$t/cc-hello.log")"; fi

# 5. The launcher from the package serves the same program.
out=$(/usr/bin/sdfd-activate --version 2>&1)
[[ "$out" == sdfd-activate* ]] && ok "/usr/bin/sdfd-activate runs ($out)" || bad "/usr/bin/sdfd-activate" "$out"

# 6. Purge: nothing left behind.
if DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq sdfd >"$t/apt.log" 2>&1; then
  installed=0
  find /usr /etc /var/lib/dpkg/info -xdev \( -type f -o -type l \) 2>/dev/null | grep -v '^/usr/lib/python3.*__pycache__' | sort > "$t/after.txt"
  left=$(comm -13 "$before" "$t/after.txt")
  ! dpkg-query -W sdfd >/dev/null 2>&1 && [ -z "$left" ] && ! ldconfig -p | grep -q libsdfd && ! pkg-config --exists sdfd \
    && ok "apt-get purge sdfd: no file left in /usr, /etc, dpkg's database; ldconfig and pkg-config no longer find it" \
    || bad "left behind after purge" "$left"
else bad "apt-get purge sdfd" "$(tail -5 "$t/apt.log")"; fi
finish
