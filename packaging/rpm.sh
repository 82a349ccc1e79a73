#!/usr/bin/env bash
# packaging/rpm.sh OUTDIR: the RPMs of packaging/sdfd.spec (called by `make rpm`):
# OUTDIR/RPMS/ARCH/sdfd-V-R.ARCH.rpm, sdfd-devel-..., sdfd-activate-...,
# OUTDIR/SRPMS/sdfd-V-R.src.rpm, by `rpmbuild -ba --with rustup` with the
# `make dist` tarball as Source0 (OUTDIR is rpmbuild's _topdir).
#
# On Debian (apt-get install rpm) rpmbuild runs with --nodeps: the build
# dependencies are Debian packages, which rpm's own database does not know.
# The Rust crates are resolved offline from the cargo registry cache, filled
# first by `cargo fetch --locked` (a no-op when they are there). The Packager
# tag is set here, as a distribution's build system does, not in the spec.
set -euo pipefail
out=${1:?OUTDIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out/SOURCES"; out=$(cd "$out" && pwd)
command -v rpmbuild >/dev/null || { echo "packaging/rpm.sh: needs rpmbuild (apt-get install rpm)" >&2; exit 1; }
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n1)
specver=$(sed -n 's/^Version: *//p' "$ROOT/packaging/sdfd.spec")
[ "$specver" = "$version" ] || { echo "packaging/rpm.sh: sdfd.spec is at $specver, Cargo.toml at $version (make set-version)" >&2; exit 1; }
"$ROOT/packaging/dist.sh" "$out/SOURCES" >/dev/null
(cd "$ROOT" && cargo fetch --locked -q)
nodeps=()
[ -s /var/lib/rpm/rpmdb.sqlite ] && rpm -q --whatprovides make >/dev/null 2>&1 || nodeps=(--nodeps)
rpmbuild -ba "${nodeps[@]}" --with rustup --define "_topdir $out" \
  --define "packager sdfd maintainers <sdfd@users.noreply.github.com>" "$ROOT/packaging/sdfd.spec" >"$out/build.log" 2>&1 ||
  { tail -40 "$out/build.log" >&2; echo "packaging/rpm.sh: rpmbuild failed (log: $out/build.log)" >&2; exit 1; }
find "$out/RPMS" "$out/SRPMS" -name "*-$version-*.rpm" | sort
