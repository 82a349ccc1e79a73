#!/usr/bin/env bash
# packaging/deb.sh OUTDIR: the Debian packages of debian/ (called by `make deb`):
# OUTDIR/libsdfd0_V-R_ARCH.deb, libsdfd-dev_..., sdfd-activate_... (and
# their -dbgsym .ddebs, the .changes and .buildinfo).
#
# A clean tree: the `make dist` tarball (packaging/dist.sh), unpacked into
# OUTDIR/sdfd-VERSION and copied to OUTDIR/sdfd_VERSION.orig.tar.gz, with
# the files git knows of debian/ added (the tarball has no debian/), then
# `dpkg-buildpackage -us -uc -b` there with the build profile
# pkg.sdfd.rustup (cargo and rustc from PATH: Debian 12's are older than the
# crate's MSRV 1.77; debian/README.source). The Rust crates are resolved
# offline from the cargo registry cache, filled first by `cargo fetch
# --locked` (a no-op when the crates are there already). Nothing else from
# outside the unpacked tree is used: cargo's target directory and the build
# directory are inside it (debian/rules).
# Extra dpkg-buildpackage options: DPKG_BUILDPACKAGE_OPTS.
set -euo pipefail
out=${1:?OUTDIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"; out=$(cd "$out" && pwd)
command -v cargo >/dev/null || { echo "packaging/deb.sh: cargo (rustup) is not on PATH" >&2; exit 1; }
command -v dh >/dev/null || { echo "packaging/deb.sh: needs debhelper (apt-get install debhelper)" >&2; exit 1; }
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n1)
debver=$(dpkg-parsechangelog -l "$ROOT/debian/changelog" -S Version)
if [ "${debver%-*}" != "$version" ]; then
  echo "packaging/deb.sh: debian/changelog is at $debver, Cargo.toml at $version (make set-version)" >&2; exit 1
fi
# Leftovers of an earlier build of this version.
rm -rf "$out/sdfd-$version"
rm -f "$out"/*_"$debver"_*.deb "$out"/*_"$debver"_*.ddeb "$out"/sdfd_"$debver"_*.changes "$out"/sdfd_"$debver"_*.buildinfo
tarball=$("$ROOT/packaging/dist.sh" "$out")
cp "$tarball" "$out/sdfd_$version.orig.tar.gz"
tar -xzf "$tarball" -C "$out"
src=$out/sdfd-$version
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard debian) |
  (cd "$ROOT" && xargs -0 cp --parents -t "$src")
(cd "$src" && cargo fetch --locked -q)
export CARGO_HOME=${CARGO_HOME:-$HOME/.cargo} RUSTUP_HOME=${RUSTUP_HOME:-$(rustup show home 2>/dev/null || echo "$HOME/.rustup")}
# The build's own log next to the packages; dpkg-buildpackage's output otherwise.
(cd "$src" && DEB_BUILD_PROFILES="pkg.sdfd.rustup ${DEB_BUILD_PROFILES:-}" \
   dpkg-buildpackage -us -uc -b ${DPKG_BUILDPACKAGE_OPTS:-}) >"$out/build.log" 2>&1 ||
  { tail -40 "$out/build.log" >&2; echo "packaging/deb.sh: dpkg-buildpackage failed (log: $out/build.log)" >&2; exit 1; }
ls "$out"/*_"$debver"_*.deb
