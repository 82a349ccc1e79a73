#!/usr/bin/env bash
# The Python wheels of `make wheel`, used as a user would on a machine without
# libsdfd: auditwheel, PEP 639 licence metadata, a clean venv with only the
# wheel (the library found inside it, no process started at import), a service
# serving under systemd-socket-activate; the musllinux wheel's library run by
# musl's dynamic loader under socket activation (no Alpine Python here: pip
# installs that wheel with --platform, and a musl C program uses its library);
# the sdist. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. tests/lib/sdfdtest.sh
tmpdir t wheel-test
. tests/packaging/activated.sh
need systemd-socket-activate strace musl-gcc unzip
SYSPY=/usr/bin/python3
v=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' python/sdfd/_version.py)

# The machine must not have a libsdfd of its own (else "works without one" proves nothing).
unset SDFD_LIBRARY PKG_CONFIG_PATH LD_LIBRARY_PATH
if ldconfig -p | grep -q libsdfd || pkg-config --exists sdfd 2>/dev/null; then
  die "a libsdfd is installed on this machine: $(ldconfig -p | grep libsdfd) $(pkg-config --variable=libdir sdfd 2>/dev/null)"
fi

if ! nice -n 5 make -s wheel B="$t/build" >"$t/make.log" 2>&1; then
  die "make wheel" "$(grep -v '^ *|\|warning\|= note' "$t/make.log" | tail -20)"
fi
W=$t/build/wheel
many=$(ls "$W"/sdfd-"$v"-cp38-abi3-*manylinux_2_17_x86_64.whl 2>/dev/null)
musl=$(ls "$W"/sdfd-"$v"-cp38-abi3-musllinux_1_2_x86_64.whl 2>/dev/null)
sdist=$(ls "$W"/sdfd-"$v".tar.gz 2>/dev/null)
[ -n "$many" ] && [ -n "$musl" ] && [ -n "$sdist" ] && ok "make wheel: $(cd "$W" && ls sdfd-* | tr '\n' ' ')" \
  || bad "make wheel outputs" "$(ls "$W")"
AW=$W/.venv/bin/python   # make wheel's tool venv (auditwheel)

# 1. auditwheel on the manylinux wheel: no external shared library.
# (The wheel is tagged manylinux_2_17: the policy auditwheel finds must be that or older.)
out=$("$AW" -m auditwheel show "$many" 2>&1)
tag=$(echo "$out" | tr '\n' ' ' | grep -oE 'consistent with the following platform tag: "manylinux_[0-9]+_[0-9]+' | grep -oE '[0-9]+_[0-9]+$')
if [ -n "$tag" ] && [ "${tag%_*}" -eq 2 ] && [ "${tag#*_}" -le 17 ] && [[ "$out" != *"external shared libraries are required"* ]]; then
  ok "auditwheel show: consistent with manylinux_$tag, no external shared libraries (only libc.so.6's versioned symbols)"
else bad "auditwheel show manylinux" "$out"; fi

# 2. Both carry their libsdfd: glibc (needs libc.so.6, GLIBC_2.2.5 at most) and musl (needs libc.so only).
mkdir "$t/x-many" "$t/x-musl"
unzip -q "$many" -d "$t/x-many"; unzip -q "$musl" -d "$t/x-musl"
n1=$(readelf -d "$t/x-many/sdfd/_lib/libsdfd.so.0" 2>&1 | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')
n2=$(readelf -d "$t/x-musl/sdfd/_lib/libsdfd.so.0" 2>&1 | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')
s2=$(readelf -d "$t/x-musl/sdfd/_lib/libsdfd.so.0" 2>&1 | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$n1" = "libc.so.6 " ] && [ "$n2" = "libc.so " ] && [ "$s2" = libsdfd.so.0 ] \
  && ok "manylinux wheel: sdfd/_lib/libsdfd.so.0 needs libc.so.6; musllinux wheel: needs musl's libc.so (soname $s2)" \
  || bad "bundled libraries" "manylinux needs: $n1; musllinux needs: $n2 soname $s2"

# 2b. Both carry the extension sdfd/_native.abi3.so: the bundled library (through
#     RUNPATH $ORIGIN/_lib) and libc, nothing else; built by gcc / musl-gcc.
x1=$(readelf -d "$t/x-many/sdfd/_native.abi3.so" 2>&1 | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
x2=$(readelf -d "$t/x-musl/sdfd/_native.abi3.so" 2>&1 | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
r1=$(readelf -d "$t/x-many/sdfd/_native.abi3.so" 2>&1 | sed -n 's/.*Library runpath: \[\(.*\)\]/\1/p')
r2=$(readelf -d "$t/x-musl/sdfd/_native.abi3.so" 2>&1 | sed -n 's/.*Library runpath: \[\(.*\)\]/\1/p')
[ "$x1" = "libc.so.6 libsdfd.so.0 " ] && [ "$x2" = "libc.so libsdfd.so.0 " ] && [ "$r1" = '$ORIGIN/_lib' ] && [ "$r2" = '$ORIGIN/_lib' ] \
  && ok "both wheels: sdfd/_native.abi3.so needs libsdfd.so.0 (runpath \$ORIGIN/_lib) and its libc only" \
  || bad "extension module" "manylinux: $x1 runpath $r1; musllinux: $x2 runpath $r2"

# 3. Licence metadata, PEP 639: License-Expression and License-File, files in .dist-info/licenses/.
meta=$(cat "$t/x-many"/sdfd-"$v".dist-info/METADATA)
if grep -qx 'License-Expression: MIT OR Apache-2.0' <<<"$meta" && grep -qx 'License-File: LICENSE-MIT' <<<"$meta" \
   && grep -qx 'License-File: LICENSE-APACHE' <<<"$meta" && ! grep -qE '^License:|^Classifier: License ::' <<<"$meta" \
   && cmp -s "$t/x-many"/sdfd-"$v".dist-info/licenses/LICENSE-MIT LICENSE-MIT \
   && cmp -s "$t/x-many"/sdfd-"$v".dist-info/licenses/LICENSE-APACHE LICENSE-APACHE; then
  ok "METADATA: License-Expression: MIT OR Apache-2.0, License-File x2 (PEP 639), licences in .dist-info/licenses/"
else bad "licence metadata" "$(grep -iE '^(License|Metadata-Version)' <<<"$meta")"; fi

# 4. A clean venv (Debian's python3) with only the manylinux wheel.
"$SYSPY" -m venv "$t/venv" >/dev/null 2>&1 && "$t/venv/bin/python" -m pip install -q --disable-pip-version-check --no-index --no-deps "$many" \
  || bad "pip install of the manylinux wheel into a clean venv"
VPY=$t/venv/bin/python
site=$("$VPY" -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])')
out=$(cd "$t" && "$VPY" -c 'from sdfd import daemon; import sdfd, sdfd._lib as L; print(daemon.listen_fds(), L.load().source, sdfd.library_path())' 2>&1)
[ "$out" = "[] bundled $site/sdfd/_lib/libsdfd.so.0" ] && ok "clean venv: from sdfd import daemon; daemon.listen_fds() -> [], library: the wheel's copy" \
  || bad "clean venv import" "$out"

# 4b. The wheel's daemon runs on its extension module, without ctypes; with
#     SDFD_LIBRARY set it goes through ctypes and that library, as before.
code='import sys, sdfd.daemon as d; d.listen_fds(); print(d._NATIVE, "ctypes" in sys.modules, d._LIB.path)'
o1=$(cd "$t" && env -u SDFD_LIBRARY "$VPY" -c "$code" 2>&1)
o2=$(cd "$t" && SDFD_LIBRARY="$site/sdfd/_lib/libsdfd.so.0" "$VPY" -c "$code" 2>&1)
[ "$o1" = "True False $site/sdfd/_lib/libsdfd.so.0" ] && [ "$o2" = "False True $site/sdfd/_lib/libsdfd.so.0" ] \
  && ok "clean venv: sdfd.daemon uses sdfd._native (ctypes not imported); with SDFD_LIBRARY, ctypes" \
  || bad "extension or ctypes path" "without SDFD_LIBRARY: $o1; with: $o2"

# 5. No process is started at import: execve calls of the whole run (the
#    interpreter's own is the one allowed), with the bundled and with a named library.
execs() {  # execs [VAR=VALUE|-u VAR]... -- COMMAND...: number of programs COMMAND executes (itself included)
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  env "${envs[@]}" strace -f -qq -e trace=execve -o "$t/strace.log" "$@" >/dev/null 2>&1
  grep -c 'execve(.* = 0$' "$t/strace.log"
}
code='import sdfd.daemon; sdfd.daemon.listen_fds()'
e1=$(cd "$t" && execs -u SDFD_LIBRARY -- "$VPY" -c "$code")
e2=$(cd "$t" && execs SDFD_LIBRARY="$site/sdfd/_lib/libsdfd.so.0" -- "$VPY" -c "$code")
# The same check sees the processes of the system search (a copy without _lib/ and no library anywhere):
mkdir "$t/nolib"; cp -r "$site/sdfd" "$t/nolib/"; rm -rf "$t/nolib/sdfd/_lib"
e3=$(cd "$t" && execs PYTHONPATH="$t/nolib" -- "$VPY" -c 'import sdfd._lib as L
try: L.load()
except L.LibraryNotFoundError: pass')
if [ "$e1" = 1 ] && [ "$e2" = 1 ] && [ "${e3:-0}" -gt 1 ]; then
  ok "import sdfd.daemon + listen_fds() starts no process (execve: bundled $e1, SDFD_LIBRARY $e2; the system search, for contrast: $e3)"
else bad "processes started at import: bundled $e1, SDFD_LIBRARY $e2 (want 1 each); system search $e3 (want > 1)" "$(cat "$t/strace.log")"; fi

# 6. A Python service from the wheel serves under systemd-socket-activate.
cat > "$t/server.py" <<'PY'
import socket
from sdfd import daemon
n = len(daemon.listen_fds())
s = socket.socket(fileno=daemon.LISTEN_FDS_START)
ok = daemon.is_socket_inet(s, socket.AF_INET, socket.SOCK_STREAM, 1)
c, _ = s.accept()
c.sendall(b"python %d %s\n" % (n, str(ok).encode()))
c.close()
PY
reply=$(cd "$t" && activated_reply "$VPY" "$t/server.py")
[ "$reply" = "python 1 True" ] && ok "systemd-socket-activate: a service using the wheel answers ($reply)" || bad "activated Python service" "reply: '$reply'"

# 7. musllinux: pip accepts the wheel for that platform; its library runs under
#    musl's dynamic loader in a socket-activated C service.
if "$t/venv/bin/python" -m pip install -q --disable-pip-version-check --no-index --no-deps --only-binary=:all: \
     --platform musllinux_1_2_x86_64 --target "$t/musl-site" "$musl" 2>"$t/pip.log" \
   && [ -f "$t/musl-site/sdfd/_lib/libsdfd.so.0" ]; then
  ok "pip install --platform musllinux_1_2_x86_64 of the musllinux wheel"
else bad "pip install of the musllinux wheel" "$(cat "$t/pip.log")"; fi
mdir=$t/musl-site/sdfd/_lib
if musl-gcc -Iinclude tests/packaging/serve_probe.c -o "$t/probe-musl" "$mdir/libsdfd.so.0" -Wl,-rpath,"$mdir" 2>"$t/cc.log" \
   && readelf -l "$t/probe-musl" | grep -q 'ld-musl-x86_64.so.1'; then
  reply=$(activated_reply "$t/probe-musl" musl)
  [ "$reply" = "musl 1 1" ] && ok "musl: a musl-linked service using the musllinux wheel's libsdfd.so.0 serves under systemd-socket-activate ($reply)" \
    || bad "musl service" "reply: '$reply'"
else bad "musl-gcc against the musllinux library" "$(cat "$t/cc.log")"; fi

# 8. The sdist: pure Python, no library inside, and the build says that it uses the system's.
list=$(tar tzf "$sdist")
if ! grep -q '\.so' <<<"$list" && grep -q "sdfd-$v/LICENSE-MIT" <<<"$list" \
   && tar xzf "$sdist" -O "sdfd-$v/PKG-INFO" | grep -qx 'License-Expression: MIT OR Apache-2.0' \
   && "$t/venv/bin/python" -m pip wheel -v --disable-pip-version-check --no-deps -w "$t/sdist-wheel" "$sdist" >"$t/sdist.log" 2>&1 \
   && ls "$t/sdist-wheel"/sdfd-"$v"-py3-none-any.whl >/dev/null 2>&1 && grep -q 'pure-Python build that uses the libsdfd installed on the system' "$t/sdist.log"; then
  ok "sdist: no library inside; builds a py3-none-any wheel and says it needs the system's libsdfd"
else bad "sdist" "files: $(grep -c . <<<"$list"); $(grep -E "\\.so|LICENSE" <<<"$list" | head -5); $(tail -8 "$t/sdist.log" 2>/dev/null)"; fi

finish
