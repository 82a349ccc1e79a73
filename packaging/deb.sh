#!/usr/bin/env bash
# packaging/deb.sh OUTDIR: the Debian package OUTDIR/sdfd_V-1_ARCH.deb, built
# from `make install DESTDIR=` with dpkg-deb (called by `make deb`).
#
# One binary package "sdfd": libsdfd.so.0 (with its ldconfig trigger and
# shlibs), libsdfd.a, the headers (/usr/include/sdfd/), sdfd.pc in the
# multiarch pkg-config directory (so plain `pkg-config --cflags --libs sdfd`
# finds it), sdfd-activate, the man pages, /usr/share/doc/sdfd (copyright in
# Debian's machine-readable format, README, changelogs).
set -euo pipefail
out=${1:?OUTDIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
mkdir -p "$out"
out=$(cd "$out" && pwd)
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
debver=$version-1
work=$(mktemp -d "${TMPDIR:-/tmp}/sdfd-deb.XXXXXX"); trap 'rm -rf "$work"' EXIT
root=$work/root

make -s install DESTDIR="$root" PREFIX=/usr LIBDIR=/usr/lib/$multiarch MANDIR=/usr/share/man \
     DOCDIR=/usr/share/doc/sdfd B="${B:-build}" >/dev/null
doc=$root/usr/share/doc/sdfd
# Debian's documentation rules: the licences go into copyright, changelogs compressed.
rm -f "$doc/LICENSE-MIT" "$doc/LICENSE-APACHE"
gzip -9n "$doc/CHANGELOG.md"
mv "$doc/CHANGELOG.md.gz" "$doc/changelog.gz"
gzip -9n "$doc/README.md"
if [ -d "$root/usr/share/man" ]; then find "$root/usr/share/man" -type f ! -name '*.gz' -exec gzip -9n {} +; fi
{
  echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
  echo "Upstream-Name: sdfd"
  echo
  echo "Files: *"
  echo "Copyright: 2026 The sdfd authors"
  echo "License: MIT or Apache-2.0"
  echo
  echo "License: MIT"
  sed -e 's/^$/./' -e 's/^/ /' LICENSE-MIT | tail -n +3
  echo
  echo "License: Apache-2.0"
  echo " On Debian systems, the full text of the Apache License, Version 2.0"
  echo " can be found in the file /usr/share/common-licenses/Apache-2.0."
} > "$doc/copyright"
date=$(date -R -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")
printf 'sdfd (%s) unstable; urgency=medium\n\n  * Upstream version %s (see changelog.gz).\n\n -- sdfd maintainers <sdfd@users.noreply.github.com>  %s\n' \
  "$debver" "$version" "$date" | gzip -9n > "$doc/changelog.Debian.gz"

# Control files.
mkdir -p "$root/DEBIAN"
glibc=$(objdump -T "$root/usr/lib/$multiarch/libsdfd.so.$version" "$root/usr/bin/sdfd-activate" |
        grep -oE 'GLIBC_[0-9.]+' | sed 's/GLIBC_//' | sort -uV | tail -n1)
size=$(du -k -s --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: sdfd
Version: $debver
Architecture: $arch
Maintainer: sdfd maintainers <sdfd@users.noreply.github.com>
Installed-Size: $size
Depends: libc6 (>= $glibc)
Section: libs
Priority: optional
Homepage: https://github.com/sdfd/sdfd
Description: socket activation (sd_listen_fds, sd_notify) without libsystemd
 libsdfd is a drop-in replacement for the socket-activation part of
 systemd's sd-daemon API (sd_listen_fds, sd_listen_fds_with_names,
 sd_is_socket*, sd_notify ...) that returns what libsystemd 252 returns,
 without libsystemd's dependencies.
 .
 This package holds the shared and static library, the headers (a
 compatible <systemd/sd-daemon.h> under /usr/include/sdfd), sdfd.pc for
 pkg-config and the sdfd-activate launcher.
CONTROL
echo "libsdfd ${version%%.*} sdfd (>= ${version%.*})" > "$root/DEBIAN/shlibs"
echo "activate-noawait ldconfig" > "$root/DEBIAN/triggers"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 644 "$root/DEBIAN/"*
find "$root" -type d -exec chmod 755 {} +
deb=$out/sdfd_${debver}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
