#!/usr/bin/env bash
# The npm tarball of `make npm`, used as a user would on a machine without
# libsdfd: its contents (libsdfd.so.0 for linux-x64 glibc and musl, and the
# Node-API addon sdfd.node that serves both), the addon choosing and calling
# the right library in a glibc and in a musl process (tests/packaging/
# napi_host.c: no musl node runs here), `npm install ./sdfd-V.tgz` into a
# fresh project, the first call starting no process (the bundled library;
# then SDFD_LIBRARY), a service serving under systemd-socket-activate, and
# an install from the source directory with --install-links (what
# node/README.md says).
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. tests/lib/sdfdtest.sh
tmpdir t npm-test
. tests/packaging/activated.sh
need systemd-socket-activate strace musl-gcc node npm
command -v npm >/dev/null && command -v node >/dev/null || { bad "node and npm are needed"; finish; }
export npm_config_cache=$t/npm-cache npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
v=$(node -p 'require("./node/package.json").version')
unset SDFD_LIBRARY PKG_CONFIG_PATH LD_LIBRARY_PATH
if ldconfig -p | grep -q libsdfd || pkg-config --exists sdfd 2>/dev/null; then
  bad "a libsdfd is installed on this machine; this test needs one without"; finish
fi

if ! nice -n 5 make -s npm B="$t/build" >"$t/make.log" 2>&1; then
  bad "make npm" "$(grep -v '^ *|\|warning\|= note' "$t/make.log" | tail -20)"; finish
fi
tgz=$t/build/npm/sdfd-$v.tgz
list=$(tar tzf "$tgz" | sort)
missing=""
for f in package/package.json package/index.js package/api.js package/addon.js package/index.d.ts package/LICENSE-MIT package/LICENSE-APACHE \
         package/lib/linux-x64-gnu/libsdfd.so.0 package/lib/linux-x64-musl/libsdfd.so.0 package/lib/linux-x64/sdfd.node; do
  grep -qx "$f" <<<"$list" || missing+="$f "
done
mkdir "$t/x"; tar xzf "$tgz" -C "$t/x"
n1=$(readelf -d "$t/x/package/lib/linux-x64-gnu/libsdfd.so.0" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')
n2=$(readelf -d "$t/x/package/lib/linux-x64-musl/libsdfd.so.0" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')
[ -z "$missing" ] && [ "$n1" = "libc.so.6 " ] && [ "$n2" = "libc.so " ] \
  && ok "make npm: sdfd-$v.tgz ($(wc -l <<<"$list") files) with lib/linux-x64-gnu (needs libc.so.6) and lib/linux-x64-musl (needs libc.so)" \
  || bad "tarball contents" "missing: $missing; gnu needs: $n1; musl needs: $n2"$'\n'"$list"
# The addon: one file for both C libraries, so it needs none (no DT_NEEDED, no RUNPATH).
a=$(readelf -d "$t/x/package/lib/linux-x64/sdfd.node" 2>&1 | sed -n 's/.*\(Shared library\|runpath\): \[\(.*\)\]/\2/p' | tr '\n' ' ')
[ -z "$a" ] && readelf -h "$t/x/package/lib/linux-x64/sdfd.node" >/dev/null 2>&1 \
  && ok "lib/linux-x64/sdfd.node needs no library (one addon for glibc and musl)" || bad "addon linkage" "needs: $a"
# ...and in a glibc and a musl process it picks the library built for that
# C library and calls it (a passed, named socket).
if [ -e /usr/include/node/node_api.h ] \
   && gcc -O1 -Wall -Wextra -Werror -rdynamic -I/usr/include/node -o "$t/host-gnu" tests/packaging/napi_host.c 2>"$t/cc.log" \
   && musl-gcc -O1 -Wall -Wextra -Werror -rdynamic -I/usr/include/node -o "$t/host-musl" tests/packaging/napi_host.c 2>>"$t/cc.log"; then
  for libc in gnu musl; do
    interp=$(readelf -l "$t/host-$libc" | sed -n 's/.*program interpreter: \(.*\)\]/\1/p')
    # Started by systemd-socket-activate on a first connection, with one socket named "web".
    ACTIVATED_OUT=$t/host.out activated_reply --fdname=web "$t/host-$libc" "$t/x/package/lib" >/dev/null
    reply=$(grep '^libc=\|^error=' "$t/host.out")
    [ "$reply" = "libc=$libc fds=1 names=web" ] \
      && ok "sdfd.node in a $libc process ($interp): opens lib/linux-x64-$libc/libsdfd.so.0 and calls it ($reply)" \
      || bad "sdfd.node in a $libc process ($interp)" "$reply"
  done
else bad "building tests/packaging/napi_host.c (gcc and musl-gcc, /usr/include/node/node_api.h)" "$(cat "$t/cc.log" 2>/dev/null)"; fi

# 1. npm install ./sdfd-V.tgz into a fresh project.
mkdir "$t/proj"; cp "$tgz" "$t/proj/"
if (cd "$t/proj" && npm init -y >/dev/null && npm install --loglevel=error "./sdfd-$v.tgz") >"$t/install.log" 2>&1; then
  ok "npm install ./sdfd-$v.tgz into a fresh project"
else bad "npm install of the tarball" "$(tail -10 "$t/install.log")"; finish; fi
P=$t/proj
out=$(cd "$P" && node -e 'const s = require("sdfd"); console.log(JSON.stringify(s.listenFds()), s.libraryPath(),
  Object.keys(require.cache).some((f) => /[/]koffi[/]/.test(f)) ? "koffi" : "no-koffi",
  require("fs").readFileSync("/proc/self/maps", "utf8").match(/[^ ]*sdfd[.]node$/m)[0].replace(/.*node_modules[/]/, ""))' 2>&1)
[ "$out" = "[] $P/node_modules/sdfd/lib/linux-x64-gnu/libsdfd.so.0 no-koffi sdfd/lib/linux-x64/sdfd.node" ] \
  && ok "require('sdfd').listenFds() -> [], with the package's own linux-x64-gnu library through its addon (koffi not loaded)" \
  || bad "first call" "$out"
out=$(cd "$P" && node --input-type=module -e 'import { listenFds } from "sdfd"; console.log(JSON.stringify(listenFds()))' 2>&1)
[ "$out" = "[]" ] && ok "ESM import of the installed package" || bad "ESM import" "$out"

# 2. The first call starts no process (node's own execve is the one counted).
execs() {  # execs [VAR=VALUE|-u VAR]... -- COMMAND...: programs executed (COMMAND included)
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  (cd "$P" && env "${envs[@]}" strace -f -qq -e trace=execve -o "$t/strace.log" "$@" >/dev/null 2>&1)
  grep -c 'execve(.* = 0$' "$t/strace.log"
}
code='require("sdfd").listenFds()'
e1=$(execs -- node -e "$code")
e2=$(execs SDFD_LIBRARY="$P/node_modules/sdfd/lib/linux-x64-gnu/libsdfd.so.0" -- node -e "$code")
mv "$P/node_modules/sdfd/lib" "$t/lib.away"   # for contrast: no bundled copy, the system search runs pkg-config
e3=$(execs -- node -e "try { $code } catch {}")
mv "$t/lib.away" "$P/node_modules/sdfd/lib"
[ "$e1" = 1 ] && [ "$e2" = 1 ] && [ "${e3:-0}" -gt 1 ] \
  && ok "first call starts no process (execve: bundled $e1, SDFD_LIBRARY $e2; without the bundled copy, for contrast: $e3)" \
  || bad "processes started: bundled $e1, SDFD_LIBRARY $e2 (want 1); without bundled copy $e3 (want > 1)" "$(cat "$t/strace.log")"

# 3. A Node service from the installed package serves under systemd-socket-activate.
cat > "$P/server.js" <<'JS'
const net = require('node:net');
const sdfd = require('sdfd');
const fds = sdfd.listenFds();
const server = net.createServer((c) => { c.end(`node ${fds.length} ${sdfd.isSocketInet(fds[0], { listening: true })}\n`); server.close(); });
server.listen({ fd: fds[0] });
JS
reply=$(activated_reply node "$P/server.js")
[ "$reply" = "node 1 true" ] && ok "systemd-socket-activate: a Node service using the package answers ($reply)" || bad "activated Node service" "reply: '$reply'"

# 4. From the source directory (a checkout without node_modules): with
#    --install-links npm packs it and installs koffi as well.
mkdir "$t/src" "$t/proj2"
(cd node && tar --exclude=./node_modules -cf - .) | tar -xf - -C "$t/src"
if (cd "$t/proj2" && npm init -y >/dev/null && npm install --loglevel=error --install-links "$t/src") >"$t/install2.log" 2>&1 \
   && [ -d "$t/proj2/node_modules/koffi" ] && [ ! -L "$t/proj2/node_modules/sdfd" ]; then
  out=$(cd "$t/proj2" && SDFD_LIBRARY="$P/node_modules/sdfd/lib/linux-x64-gnu/libsdfd.so.0" node -e 'console.log(JSON.stringify(require("sdfd").listenFds()))' 2>&1)
  [ "$out" = "[]" ] && ok "npm install --install-links <source dir>: koffi installed too, the package works" || bad "source install" "$out"
else bad "npm install --install-links <source dir>" "$(tail -5 "$t/install2.log"; ls -la "$t/proj2/node_modules")"; fi
finish
