#!/usr/bin/env bash
# packaging/npm.sh OUTDIR GLIBC_LIB MUSL_LIB: the npm tarball OUTDIR/sdfd-V.tgz
# (called by `make npm`, which builds both libraries first).
#
# One package with a directory per platform:
#   lib/linux-x64/sdfd.node           the Node-API addon (node/src/sdfd_native.c),
#                                     linked against no C library: it tells
#                                     index.js whether node runs on glibc or
#                                     musl and opens the library for it;
#                                     index.js calls through it, so require()
#                                     needs no koffi
#   lib/linux-x64-gnu/libsdfd.so.0    GLIBC_LIB
#   lib/linux-x64-musl/libsdfd.so.0   MUSL_LIB
# koffi (the only dependency) ships its own prebuilt binaries for both, so
# `npm install ./sdfd-V.tgz` needs no compiler, no libsdfd and no pkg-config.
set -euo pipefail
out=${1:?OUTDIR} glibc=${2:?GLIBC_LIB} musl=${3:?MUSL_LIB}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/sdfd-npm.XXXXXX"); trap 'rm -rf "$work"' EXIT
pkg=$work/package
mkdir -p "$pkg/lib/linux-x64" "$pkg/lib/linux-x64-gnu" "$pkg/lib/linux-x64-musl"
# The files package.json lists (lib/ is filled in below).
for f in $(node -p 'require(process.argv[1]).files.filter((f) => !f.endsWith("/")).join(" ")' "$ROOT/node/package.json"); do
  if [ -e "$ROOT/node/$f" ]; then cp "$ROOT/node/$f" "$pkg/"; else cp "$ROOT/$f" "$pkg/"; fi   # LICENSE-*: top level
done
cp "$ROOT/node/package.json" "$pkg/"
install -m 755 "$glibc" "$pkg/lib/linux-x64-gnu/libsdfd.so.0"
install -m 755 "$musl" "$pkg/lib/linux-x64-musl/libsdfd.so.0"
"$ROOT/node/build-addon.sh" "$pkg/lib/linux-x64"
version=$(node -p 'require(process.argv[1]).version' "$pkg/package.json")
rm -f "$out/sdfd-$version.tgz"
(cd "$pkg" && npm pack --silent --pack-destination "$out" >/dev/null)
ls "$out/sdfd-$version.tgz"
