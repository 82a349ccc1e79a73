#!/usr/bin/env bash
# packaging/dist.sh OUTDIR: the source tarball OUTDIR/sdfd-VERSION.tar.gz
# (called by `make dist`), top directory sdfd-VERSION/: the files git knows
# (tracked, and new ones not ignored), as they are in the working tree,
# but debian/: the Debian packaging travels beside the upstream tarball
# (packaging/deb.sh adds it to the unpacked tree, dpkg-source keeps it in
# sdfd_VERSION-REV.debian.tar.xz).
# Reproducible: sorted, owner 0, every mtime the last commit's (or
# SOURCE_DATE_EPOCH). The Debian package (packaging/deb.sh, as the .orig
# tarball) and the RPM (packaging/sdfd.spec, Source0) are built from it.
set -euo pipefail
out=${1:?OUTDIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"; out=$(cd "$out" && pwd)
cd "$ROOT"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
tarball=$out/sdfd-$version.tar.gz
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do
    case $f in debian/*) continue ;; esac
    [ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"
  done |
  sort -z |
  tar --null --no-recursion --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
      --mode='u+rw,go+r,go-w' --transform "s|^|sdfd-$version/|" -T - -cf - |
  gzip -9n > "$tarball.tmp"
mv "$tarball.tmp" "$tarball"
echo "$tarball"
