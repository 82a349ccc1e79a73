#!/usr/bin/env bash
# Start-up benchmark of the Python and Node bindings (part of `make bench`,
# or alone: bench/bindings.sh > section.md). Builds the manylinux wheel and
# the npm tarball (make wheel, make npm into bench/out/pkg), installs them as
# a user would (a venv from /usr/bin/python3 with --system-site-packages next
# to Debian's python3-systemd; a fresh npm project), then runs
# bench/bindings.py, which prints the Markdown section on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/bench/out/bindings
./tests/apt-need.sh valgrind python3-systemd python3-venv >&2
rm -rf "$OUT"; mkdir -p "$OUT"
make -s wheel npm B="$OUT/build" >"$OUT/build.log" 2>&1 || { cat "$OUT/build.log" >&2; exit 1; }
/usr/bin/python3 -m venv --system-site-packages "$OUT/venv" >&2
"$OUT/venv/bin/python" -m pip install -q --disable-pip-version-check --no-index --no-deps \
  "$OUT"/build/wheel/sdfd-*-manylinux*_x86_64.whl >&2
mkdir "$OUT/proj"
(cd "$OUT/proj" && npm init -y >/dev/null && cp "$OUT"/build/npm/sdfd-*.tgz . &&
   npm install --loglevel=error --no-audit --no-fund ./sdfd-*.tgz >&2)
# The floor rows: an empty package with sdfd's package.json, the same with
# an "exports" map (what sdfd's package.json had: import/require conditions),
# an empty file.
mkdir "$OUT/proj/node_modules/sdfd-floor" "$OUT/proj/node_modules/sdfd-floor-exports"
sed 's/"name": "sdfd"/"name": "sdfd-floor"/' node/package.json >"$OUT/proj/node_modules/sdfd-floor/package.json"
node -e 'const p = JSON.parse(require("fs").readFileSync(0, "utf8")); p.name = "sdfd-floor-exports";
  p.exports = { ".": { import: { types: "./index.d.ts", default: "./index.js" }, require: { types: "./index.d.ts", default: "./index.js" } },
    "./package.json": "./package.json" };
  process.stdout.write(JSON.stringify(p, null, 2))' <node/package.json >"$OUT/proj/node_modules/sdfd-floor-exports/package.json"
: >"$OUT/proj/node_modules/sdfd-floor/index.js"; : >"$OUT/proj/node_modules/sdfd-floor-exports/index.js"; : >"$OUT/proj/empty.js"
env -u SDFD_LIBRARY -u PKG_CONFIG_PATH python3 bench/bindings.py "$OUT/venv/bin/python" "$OUT/proj"
