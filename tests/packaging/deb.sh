#!/usr/bin/env bash
# The Debian packages of debian/ (`make deb`), used as a distribution and a
# user would: `lintian --pedantic` with no error or warning (the overrides in
# debian/*.lintian-overrides say why), the control fields and the symbols
# file, the packages' files against `make install`'s, `apt-get install` of
# libsdfd0 + libsdfd-dev + sdfd-activate, C programs built with plain
# `pkg-config --cflags --libs sdfd` serving under systemd-socket-activate and
# under the packaged sdfd-activate, the autopkgtest of debian/tests run with
# `autopkgtest -- null` against the installed packages, an upgrade to a
# locally bumped version (built from a copy of the tree) during which a
# daemon linked to libsdfd.so.0 keeps serving, then `apt-get purge` leaving
# nothing behind. The packages are purged on every exit.
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. tests/lib/sdfdtest.sh
tmpdir t deb-test
PKGS=(libsdfd0 libsdfd-dev sdfd-activate)
installed=0
purge() { DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq -o DPkg::Lock::Timeout=300 "${PKGS[@]}" >"$t/purge.log" 2>&1; }
at_exit '[ $installed = 1 ] && purge'
. tests/packaging/activated.sh
[ "$(id -u)" -eq 0 ] || die "installing a .deb needs root"
need dh lintian autopkgtest systemd-socket-activate pkg-config dpkg-deb
unset PKG_CONFIG_PATH SDFD_LIBRARY LD_LIBRARY_PATH
if dpkg-query -W -f='${Version}\n' sdfd "${PKGS[@]}" 2>/dev/null | grep -q . || ldconfig -p | grep -q libsdfd || pkg-config --exists sdfd; then
  die "sdfd or a libsdfd is already installed on this machine; this test installs and removes its own" \
      "$(dpkg-query -W sdfd "${PKGS[@]}" 2>&1; ldconfig -p | grep libsdfd)"
fi
v=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
arch=$(dpkg --print-architecture)

# 1. make deb: dpkg-buildpackage -b in an unpacked `make dist` tarball.
start=$SECONDS
if ! nice -n 5 make -s deb B="$t/build" >"$t/make.log" 2>&1; then
  die "make deb" "$(tail -40 "$t/make.log")"
fi
dir=$t/build/deb
debver=$(dpkg-parsechangelog -l debian/changelog -S Version)
debs=()
for p in "${PKGS[@]}"; do debs+=("$dir/${p}_${debver}_$arch.deb"); done
ls "${debs[@]}" >/dev/null 2>&1 && ok "make deb: $(cd "$dir" && ls "${debs[@]##*/}" | tr '\n' ' ')($((SECONDS - start)) s)" \
  || die "make deb did not make ${debs[*]##*/}" "$(ls "$dir")"

# 2. lintian --pedantic on the .changes (the three packages, their -dbgsym).
lintian --pedantic -I -E --show-overrides --tag-display-limit 0 "$dir/sdfd_${debver}_$arch.changes" >"$t/lintian.log" 2>&1; rc=$?
ew=$(grep -E '^[EW]: ' "$t/lintian.log")
overridden=$(grep -E '^O: ' "$t/lintian.log" | sed -E 's/^O: [^ ]+ ([^ ]+).*/\1/' | sort | uniq -c | awk '{printf "%s%s x%s", sep, $2, $1; sep=", "}')
infos=$(grep -E '^[IP]: ' "$t/lintian.log" | sed -E 's/^.: [^ ]+ ([^ ]+).*/\1/' | sort -u | tr '\n' ' ')
[ $rc -eq 0 ] && [ -z "$ew" ] && grep -q '^O: ' "$t/lintian.log" \
  && ok "lintian --pedantic: no error, no warning (overridden with reasons: $overridden; info/pedantic left: ${infos:-none})" \
  || bad "lintian --pedantic reports errors or warnings (status $rc)" "$ew"

# 2b. The source package: dpkg-source -b of the orig tarball (no debian/)
#     with debian/ beside it, and lintian --pedantic on the .dsc.
sp=$t/srcpkg
mkdir -p "$sp" && cp "$dir/sdfd_$v.orig.tar.gz" "$sp/" && tar -xzf "$sp/sdfd_$v.orig.tar.gz" -C "$sp"
if [ ! -e "$sp/sdfd-$v/debian" ] && git ls-files -z --cached --others --exclude-standard debian | xargs -0 cp --parents -t "$sp/sdfd-$v" \
   && (cd "$sp" && dpkg-source -b "sdfd-$v") >"$t/dpkg-source.log" 2>&1; then
  lintian --pedantic -I -E --tag-display-limit 0 "$sp/sdfd_$debver.dsc" >"$t/lintian-src.log" 2>&1; rc=$?
  ew=$(grep -E '^[EW]: ' "$t/lintian-src.log")
  [ $rc -eq 0 ] && [ -z "$ew" ] \
    && ok "source package sdfd_$debver.dsc (orig tarball without debian/, $(basename "$sp"/sdfd_"$debver".debian.tar.*)): lintian --pedantic no error, no warning" \
    || bad "lintian --pedantic on the source package (status $rc)" "$ew"
else bad "dpkg-source -b (the orig tarball must not hold debian/)" "$(ls "$sp/sdfd-$v/debian" 2>&1 | head -3; tail -10 "$t/dpkg-source.log")"; fi

# 3. The control fields: Multi-Arch, an exact -dev dependency, the symbols file.
field() { dpkg-deb -f "$1" "$2"; }
ma="$(field "${debs[0]}" Multi-Arch)/$(field "${debs[1]}" Multi-Arch)/$(field "${debs[2]}" Multi-Arch)"
[ "$ma" = same/same/foreign ] && [ "$(field "${debs[1]}" Depends)" = "libsdfd0 (= $debver)" ] \
  && [ "$(field "${debs[0]}" Section)/$(field "${debs[1]}" Section)" = libs/libdevel ] \
  && ok "Multi-Arch: libsdfd0 same, libsdfd-dev same, sdfd-activate foreign; libsdfd-dev Depends: libsdfd0 (= $debver)" \
  || bad "control fields" "Multi-Arch $ma; libsdfd-dev Depends: $(field "${debs[1]}" Depends)"
mkdir -p "$t/x/lib" && dpkg-deb -x "${debs[0]}" "$t/x/lib" && dpkg-deb -e "${debs[0]}" "$t/x/lib/DEBIAN"
exported=$(nm -D --defined-only "$t/x/lib/usr/lib/$multiarch/libsdfd.so.$v" | awk '{print $3}' | sort)
listed=$(sed -n 's/^ \([a-z_]*\)@Base .*/\1/p' "$t/x/lib/DEBIAN/symbols" | sort)
if [ -n "$exported" ] && [ "$exported" = "$listed" ] && head -n1 "$t/x/lib/DEBIAN/symbols" | grep -q '^libsdfd.so.0 libsdfd0 #MINVER#' \
   && grep -qx 'libsdfd 0 libsdfd0 (>= [0-9.]*)' "$t/x/lib/DEBIAN/shlibs" \
   && [ "$(readelf -d "$t/x/lib/usr/lib/$multiarch/libsdfd.so.$v" | sed -n 's/.*soname: \[\(.*\)\]/\1/p')" = libsdfd.so.0 ]; then
  ok "libsdfd0's symbols file lists exactly the $(wc -l <<<"$exported") exported symbols of libsdfd.so.0; shlibs: $(cat "$t/x/lib/DEBIAN/shlibs")"
else bad "symbols file and exports differ" "$(diff <(echo "$exported") <(echo "$listed"))"; fi

# 4. The packages hold what `make install` installs (PREFIX=/usr, the
#    multiarch LIBDIR), documentation and lintian overrides apart, each file
#    in one package.
make -s install B="$t/b" DESTDIR="$t/inst" PREFIX=/usr LIBDIR="/usr/lib/$multiarch" >"$t/install.log" 2>&1 \
  || die "make install" "$(tail -20 "$t/install.log")"
(cd "$t/inst" && find . \( -type f -o -type l \) ! -path './usr/share/doc/*' | sed 's/^\.//' | sort) > "$t/make-install.list"
for d in "${debs[@]}"; do dpkg-deb -c "$d" | awk '$1 !~ /^d/ {print $6}' | sed 's/^\.//; s/\.gz$//' | grep -vE '^/usr/share/(doc|lintian/overrides)/' | sort > "$d.list"; done
sort "${debs[@]/%/.list}" > "$t/debs.list"
where=$(for d in "${debs[@]}"; do printf '%s: %s\n' "$(basename "${d%%_*}")" "$(grep -vc '^/usr/share/man/' "$d.list")"; done | tr '\n' ' ')
if diff "$t/make-install.list" "$t/debs.list" >"$t/list.diff" && [ -z "$(uniq -d "$t/debs.list")" ] \
   && [ "$(cat "${debs[0]}.list")" = "$(grep "^/usr/lib/$multiarch/libsdfd\.so\.[0-9]" "$t/make-install.list")" ] \
   && grep -qx /usr/bin/sdfd-activate "${debs[2]}.list"; then
  ok "the three packages hold the $(wc -l < "$t/make-install.list") files of make install, each once (files besides man pages: $where); libsdfd0 only the library"
else bad "package contents differ from make install (< make install, > packages)" "$(cat "$t/list.diff")"$'\n'"libsdfd0: $(cat "${debs[0]}.list")"; fi

# 5. apt-get install of the three packages.
snapshot() {  # (Python's bytecode caches, written when autopkgtest first runs, are not the packages')
  find /usr /etc /var/lib/dpkg/info -xdev \( -type f -o -type l \) 2>/dev/null | grep -v '^/usr/\(lib/python3\|share/autopkgtest\).*/__pycache__/' | sort
}
snapshot > "$t/before.txt"
installed=1
if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${debs[@]}" >"$t/apt.log" 2>&1; then
  ok "apt-get install ${debs[*]##*/}"
else die "apt-get install" "$(tail -5 "$t/apt.log")"; fi
libdir=$(pkg-config --variable=libdir sdfd 2>&1)
[ "$(ldconfig -p | grep -c 'libsdfd.so.0 ')" -ge 1 ] && [ "$(pkg-config --modversion sdfd)" = "$v" ] && [ "$libdir" = "/usr/lib/$multiarch" ] \
  && ok "installed: ldconfig knows libsdfd.so.0; pkg-config finds sdfd $v in $libdir with no PKG_CONFIG_PATH" \
  || bad "installed library not found" "$(ldconfig -p | grep sdfd) / $libdir"

# 6. README's C example (the first ```c block), plain pkg-config, socket-activated.
awk 'BEGIN{inb=0; done=0} /^```c$/ && !done {inb=1; next} /^```$/ && inb {inb=0; done=1; next} inb' README.md > "$t/readme.c"
if cc -Wall -Werror -o "$t/readme-example" "$t/readme.c" $(pkg-config --cflags --libs sdfd) 2>"$t/cc-readme.log"; then
  runpath=$(readelf -d "$t/readme-example" | grep -E 'RPATH|RUNPATH')
  resolved=$(ldd "$t/readme-example" | awk '/libsdfd/ {print $3}')
  reply=$(ACTIVATED_SEND=$'GET / HTTP/1.0\r\n\r\n' ACTIVATED_OUT=$t/readme.out activated_reply "$t/readme-example")
  [ -z "$runpath" ] && [ "$(readlink -f "$resolved")" = "$(readlink -f "$libdir/libsdfd.so.0")" ] && grep -q '^hello$' <<<"$reply" \
    && ok "README's C example: cc \$(pkg-config --cflags --libs sdfd), no rpath, uses $resolved, answers under systemd-socket-activate ($(head -n1 <<<"$reply" | tr -d '\r'))" \
    || bad "README example" "runpath: $runpath; libsdfd: $resolved; reply: $reply; output: $(cat "$t/readme.out")"
else bad "README's C example does not compile against the packages" "$(head -20 "$t/cc-readme.log")"; fi

# 7. examples/hello-daemon.c under systemd-socket-activate and under the packaged sdfd-activate.
if cc -Wall -Werror -o "$t/hello" examples/hello-daemon.c $(pkg-config --cflags --libs sdfd) 2>"$t/cc-hello.log"; then
  for launcher in systemd-socket-activate /usr/bin/sdfd-activate; do
    reply=$(ACTIVATED_LAUNCHER=$launcher ACTIVATED_SEND=$'GET / HTTP/1.0\r\n\r\n' activated_reply "$t/hello" 1)
    [[ "$reply" == HTTP/1.* ]] \
      && ok "examples/hello-daemon.c built against the packages answers under $launcher ($(head -n1 <<<"$reply" | tr -d '\r'))" \
      || bad "hello-daemon under $launcher" "reply: $reply"
  done
else bad "examples/hello-daemon.c does not compile" "$(cat "$t/cc-hello.log")"; fi

# 8. The autopkgtest (debian/tests) against the installed packages. The
#    packages are given as installed rather than as .debs: with .debs,
#    autopkgtest adds an apt source and runs apt-get update, which fails
#    here for unrelated foreign-architecture indexes.
src=$dir/sdfd-$v
if autopkgtest -B "$src/" -- null >"$t/autopkgtest.log" 2>&1 && grep -qE '^activate +PASS' "$t/autopkgtest.log"; then
  ok "autopkgtest -B $(basename "$src")/ -- null: $(grep -E '^activate +PASS' "$t/autopkgtest.log" | head -n1 | tr -s ' ') ($(grep -c '^ok - ' "$t/autopkgtest.log") checks: $(grep '^ok - ' "$t/autopkgtest.log" | sed -E 's/^ok - ([^:]*).*/\1/' | tr '\n' ';'))"
else bad "autopkgtest" "$(grep -vE '^(Get|Ign|Reading|Building|Selecting|Preparing|Unpacking|Setting up|\(Reading)' "$t/autopkgtest.log" | tail -30)"; fi

# 9. Upgrade to a locally bumped version while a daemon linked to
#    libsdfd.so.0 serves. The bumped packages come from a copy of the
#    tree given a new version by `make set-version` (offline).
major=${v%%.*} rest=${v#*.}
new=$major.${rest%%.*}.$((${v##*.} + 1))
up=$t/up/sdfd-$new
mkdir -p "$t/up" && cp -a "$src/." "$up" && rm -rf "$up/debian/build" "$up/debian/cargo-target"
if (cd "$up" && git init -q && CARGO_NET_OFFLINE=true make -s set-version V="$new" >/dev/null 2>&1 && git add -A \
    && SOURCE_DATE_EPOCH=$(date +%s) nice -n 5 ./packaging/deb.sh "$t/up/deb") >"$t/up.log" 2>&1; then
  newver=$new-1
  newdebs=()
  for p in "${PKGS[@]}"; do newdebs+=("$t/up/deb/${p}_${newver}_$arch.deb"); done
  ls "${newdebs[@]}" >/dev/null 2>&1 && ok "the packages of a copy bumped to $new by make set-version: ${newdebs[*]##*/}" \
    || bad "bumped build: no ${newdebs[*]##*/}" "$(ls "$t/up/deb")"
else bad "bumped build ($new)" "$(tail -30 "$t/up.log")"; fi

cc -Wall -Werror -o "$t/daemon" debian/tests/daemon.c $(pkg-config --cflags --libs sdfd) 2>"$t/cc-daemon.log" || bad "debian/tests/daemon.c" "$(cat "$t/cc-daemon.log")"
port=$(free_port)
/usr/bin/sdfd-activate -l "127.0.0.1:$port" "$t/daemon" 3 >"$t/daemon.log" 2>&1 &
launcher=$!; track "$launcher"
ask() {  # ask LINE: one request to the daemon (waits for the listener), its answer
  python3 - "$port" "$1" <<'PY'
import socket, sys, time
deadline = time.monotonic() + 20
while True:
    try:
        c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20); break
    except OSError:
        if time.monotonic() > deadline: sys.exit("no listener")
        time.sleep(0.02)
c.sendall(sys.argv[2].encode() + b"\n")
data = b""
while chunk := c.recv(4096): data += chunk
sys.stdout.write(data.decode())
PY
}
r1=$(ask before 2>&1); pid=$(sed -n 's/^sdfd-daemon pid=\([0-9]*\).*/\1/p' <<<"$r1")
maps1=$( [ -n "$pid" ] && grep -o "/[^ ]*libsdfd\.so[^ ]*.*" "/proc/$pid/maps" | sort -u)
[[ "$r1" == "sdfd-daemon pid=$pid fds=1 listening=1 inet=1 got=before" && "$maps1" == *"libsdfd.so.$v" ]] \
  && ok "a daemon linked to libsdfd.so.0 ($v) serves under sdfd-activate: $r1" || bad "daemon before the upgrade" "$r1 / $maps1 / $(cat "$t/daemon.log")"
if [ ${#newdebs[@]} -gt 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 \
     "${newdebs[@]}" >"$t/apt-up.log" 2>&1; then
  now=$(dpkg-query -W -f='${Version} ' "${PKGS[@]}")
  [ "$now" = "$newver $newver $newver " ] && [ "$(readlink "/usr/lib/$multiarch/libsdfd.so.0")" = "libsdfd.so.$new" ] \
    && [ ! -e "/usr/lib/$multiarch/libsdfd.so.$v" ] \
    && ok "apt-get install of the $new packages upgrades all three ($now); libsdfd.so.0 -> libsdfd.so.$new, libsdfd.so.$v gone" \
    || bad "upgrade state" "$now; $(ls -l "/usr/lib/$multiarch/" | grep sdfd)"
else bad "apt-get install (upgrade)" "$(tail -5 "$t/apt-up.log" 2>/dev/null)"; fi
r2=$(ask after 2>&1)
maps2=$(grep -o "/[^ ]*libsdfd\.so[^ ]*.*" "/proc/$pid/maps" 2>/dev/null | sort -u)
[[ "$r2" == "sdfd-daemon pid=$pid fds=1 listening=1 inet=1 got=after booted="[01] && "$maps2" == *"libsdfd.so.$v (deleted)"* ]] \
  && ok "the same daemon (pid $pid) keeps serving after the upgrade, with a first call into the library it mapped ($maps2): $r2" \
  || bad "daemon after the upgrade" "$r2 / $maps2 / $(cat "$t/daemon.log")"
fresh=$(cc -Wall -Werror -o "$t/daemon2" debian/tests/daemon.c $(pkg-config --cflags --libs sdfd) 2>&1 && ldd "$t/daemon2" | awk '/libsdfd/ {print $3}')
r3=$(ask last 2>&1); wait "$launcher"; rc=$?
[ "$(readlink -f "$fresh")" = "$(readlink -f "/usr/lib/$multiarch/libsdfd.so.$new")" ] && [ $rc -eq 0 ] && [[ "$r3" == "sdfd-daemon pid=$pid "*"got=last booted="[01] ]] \
  && ok "a program built after the upgrade loads libsdfd.so.$new; the old daemon served its third request and exited 0" \
  || bad "after the upgrade" "new build loads $fresh; launcher status $rc; $r3"

# 10. Purge: nothing left behind.
if purge; then
  installed=0
  snapshot > "$t/after.txt"
  left=$(comm -13 "$t/before.txt" "$t/after.txt")
  ! dpkg-query -W -f='${Version}\n' "${PKGS[@]}" 2>/dev/null | grep -q . && [ -z "$left" ] && ! ldconfig -p | grep -q libsdfd && ! pkg-config --exists sdfd \
    && ok "apt-get purge ${PKGS[*]}: no file left in /usr, /etc, dpkg's database; ldconfig and pkg-config no longer find it" \
    || bad "left behind after purge" "$left"
else bad "apt-get purge" "$(tail -5 "$t/purge.log")"; fi
finish
