#!/usr/bin/env bash
# Release hygiene: one version in every manifest (and the Debian and RPM
# packaging), the installed headers' declarations and macros against the
# committed baseline (abi/sdfd.h.prototypes; the library's ABI is
# tests/packaging/abi.sh's), `make install`/`uninstall` of everything (library,
# headers, .pc, sdfd-activate, man pages, licences), and a cross build
# (--target in CARGOFLAGS, aarch64, run under qemu) that finds its outputs.
# Uses the staged install of tests/run-all.sh ($SDFD_STAGE) or makes its own.
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. tests/lib/sdfdtest.sh
need node file aarch64-linux-gnu-gcc aarch64-linux-gnu-readelf qemu-aarch64
tmpdir t release

stage=${SDFD_STAGE:-}
if [ -z "$stage" ] || [ ! -e "$stage/lib/pkgconfig/sdfd.pc" ]; then
  stage=$t/stage
  make -s install B="$t/b" PREFIX="$stage" >"$t/install.log" 2>&1 || die "make install" "$(cat "$t/install.log")"
fi

# 1. One version everywhere.
v=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
declare -A got
got[sdfd-activate/Cargo.toml]=$(sed -n 's/^version = "\(.*\)"/\1/p' sdfd-activate/Cargo.toml | head -n1)
got[Cargo.lock:sdfd]=$(awk '/^name = "sdfd"$/ {getline; print}' Cargo.lock | sed 's/version = "\(.*\)"/\1/')
got[Cargo.lock:sdfd-activate]=$(awk '/^name = "sdfd-activate"$/ {getline; print}' Cargo.lock | sed 's/version = "\(.*\)"/\1/')
got[python/sdfd/_version.py]=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' python/sdfd/_version.py)
got[node/package.json]=$(node -p 'require("./node/package.json").version')
got[node/package-lock.json]=$(node -p 'const j = require("./node/package-lock.json"); j.version + (j.packages[""].version === j.version ? "" : " / " + j.packages[""].version)')
got[sdfd.pc]=$(PKG_CONFIG_PATH=$stage/lib/pkgconfig pkg-config --modversion sdfd)
got[libsdfd.so.VERSION]=$(basename "$(readlink -f "$stage/lib/libsdfd.so")" | sed 's/^libsdfd\.so\.//')
got[debian/changelog]=$(sed -n '1s/^sdfd (\(.*\)-[^-]*).*/\1/p' debian/changelog)
got[packaging/sdfd.spec]=$(sed -n 's/^Version: *//p' packaging/sdfd.spec)
got[CHANGELOG.md]=$(grep -oE "^## \[$v\]" CHANGELOG.md | grep -oE '[0-9][^]]*')
diffs=""
for k in "${!got[@]}"; do [ "${got[$k]}" = "$v" ] || diffs+="$k: '${got[$k]}'"$'\n'; done
grep -q 'version = { attr = "sdfd._version.__version__" }' python/pyproject.toml || diffs+="python/pyproject.toml: version is not read from sdfd/_version.py"$'\n'
[[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || diffs+="Cargo.toml: '$v' is not MAJOR.MINOR.PATCH"$'\n'
[ -z "$diffs" ] && ok "version $v in Cargo.toml and all ${#got[@]} other places (manifests, lock files, .pc, library file, CHANGELOG, debian/changelog, sdfd.spec)" \
  || bad "versions disagree with Cargo.toml's $v" "$diffs"

# 2. The C API of the installed headers against the committed baseline (abi/README.md).
major=${v%%.*}
inc=$stage/include/sdfd
abi_compare() {  # abi_compare WHAT BASELINE CURRENT: 0 when equal
  local removed added
  removed=$(comm -23 <(sort "$2") <(sort "$3")); added=$(comm -13 <(sort "$2") <(sort "$3"))
  if [ -n "$removed" ]; then
    echo "$1: INCOMPATIBLE change (gone or changed; needs a new soname, see abi/README.md):"
    echo "$removed" | sed 's/^/  - /'; [ -n "$added" ] && echo "$added" | sed 's/^/  + /'
    return 1
  fi
  if [ -n "$added" ]; then
    echo "$1: additions not in the baseline (compatible: make abi-baseline, review, commit):"
    echo "$added" | sed 's/^/  + /'
    return 1
  fi
}
./abi/dump.sh prototypes "$inc" > "$t/prototypes"
if out=$(abi_compare prototypes abi/sdfd.h.prototypes "$t/prototypes"); then
  ok "installed headers match abi/sdfd.h.prototypes ($(wc -l < "$t/prototypes") declarations, typedefs, macros)"
else bad "header prototypes differ from the baseline" "$out"; fi
# The check itself catches an incompatible change: a parameter type changed
# in a copy of the headers. (The library's symbols and their types are
# checked by libabigail: tests/packaging/abi.sh, make abi-check.)
cp -r "$inc" "$t/inc-changed"
sed -i 's/^int sd_is_socket_inet(sdfd_socket_t fd, int family, int type, int listening, uint16_t port);/int sd_is_socket_inet(sdfd_socket_t fd, int family, int type, int listening, uint32_t port);/' "$t/inc-changed/sdfd.h"
./abi/dump.sh prototypes "$t/inc-changed" > "$t/prototypes-changed"
if ! cmp -s "$inc/sdfd.h" "$t/inc-changed/sdfd.h" \
   && ! out1=$(abi_compare prototypes abi/sdfd.h.prototypes "$t/prototypes-changed") && [[ "$out1" == *INCOMPATIBLE*uint16_t*uint32_t* ]]; then
  ok "the header check reports a changed parameter type as incompatible"
else bad "the header check missed an incompatible change" "${out1:-}"; fi

# 3. make install / uninstall: everything, in the directories asked for.
d=$t/destdir
man=$(ls man/*.[137] 2>/dev/null | head -n1)
manvar=()
if [ -z "$man" ]; then  # no pages written yet: the rule is exercised with one made up here
  man=$t/sdfd-test.7; printf '.TH SDFD-TEST 7\n.SH NAME\nsdfd-test \\- test page\n' > "$man"; manvar=(MANPAGES="$man")
fi
sec=${man##*.}
if make -s install B="$t/b" PREFIX=/usr/local BINDIR=/opt/bin MANDIR=/opt/man DOCDIR=/opt/doc DESTDIR="$d" "${manvar[@]}" >"$t/i.log" 2>&1; then
  missing=""
  for f in usr/local/lib/libsdfd.so.$v usr/local/lib/libsdfd.so.$major usr/local/lib/libsdfd.so usr/local/lib/libsdfd.a \
           usr/local/lib/pkgconfig/sdfd.pc usr/local/include/sdfd/sdfd.h usr/local/include/sdfd/systemd/sd-daemon.h \
           opt/bin/sdfd-activate opt/man/man$sec/$(basename "$man") \
           opt/doc/README.md opt/doc/CHANGELOG.md opt/doc/LICENSE-MIT opt/doc/LICENSE-APACHE; do
    [ -e "$d/$f" ] || missing+="$f "
  done
  [ -z "$missing" ] && ok "make install: library, headers, .pc, BINDIR/sdfd-activate, MANDIR/man$sec, DOCDIR licences+README+CHANGELOG" \
    || bad "make install did not install: $missing" "$(cd "$d" && find . | sort)"
  if "$d/opt/bin/sdfd-activate" --help 2>&1 | grep -q 'COMMAND' && file "$d/opt/bin/sdfd-activate" | grep -q ', stripped' \
     && file -L "$d/usr/local/lib/libsdfd.so" | grep -q ', stripped'; then
    ok "installed sdfd-activate runs; it and libsdfd.so are stripped"
  else bad "installed sdfd-activate / stripping" "$(file "$d/opt/bin/sdfd-activate" "$d/usr/local/lib/libsdfd.so.$v")"; fi
  make -s uninstall PREFIX=/usr/local BINDIR=/opt/bin MANDIR=/opt/man DOCDIR=/opt/doc DESTDIR="$d" "${manvar[@]}" >/dev/null 2>&1
  left=$(find "$d" -type f -o -type l)
  [ -z "$left" ] && ok "make uninstall removes every file make install put there" || bad "make uninstall left files" "$left"
else
  bad "make install into DESTDIR failed" "$(tail -20 "$t/i.log")"
fi

# 4. Cross build: --target in CARGOFLAGS (aarch64-unknown-linux-gnu), $(STRIP),
#    $(OBJCOPY); the installed launcher runs under qemu-aarch64.
X=aarch64-unknown-linux-gnu
rustup target list --installed 2>/dev/null | grep -qx $X || rustup target add $X >/dev/null 2>&1
flags="$(make -s print-cargoflags) --target $X"
xd=$t/cross
if CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
   nice -n 5 make -s install B="$t/xbuild" PREFIX=/usr DESTDIR="$xd" CARGOFLAGS="$flags" \
     STRIP=aarch64-linux-gnu-strip OBJCOPY=aarch64-linux-gnu-objcopy AR=aarch64-linux-gnu-ar >"$t/x.log" 2>&1; then
  arch_lib=$(file -L "$xd/usr/lib/libsdfd.so.$major"); arch_bin=$(file "$xd/usr/bin/sdfd-activate")
  if [[ "$arch_lib" == *aarch64* && "$arch_bin" == *aarch64* ]] \
     && qemu-aarch64 -L /usr/aarch64-linux-gnu "$xd/usr/bin/sdfd-activate" --help 2>&1 | grep -q COMMAND; then
    ok "cross build (CARGOFLAGS --target $X): aarch64 library and launcher installed, launcher runs under qemu"
  else bad "cross build outputs" "$arch_lib"$'\n'"$arch_bin"; fi
else
  bad "make install CARGOFLAGS='$flags' failed" "$(tail -20 "$t/x.log")"
fi

finish
