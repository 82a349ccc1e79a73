#!/usr/bin/env bash
# node/build-addon.sh DIR [CC]: builds DIR/sdfd.node, the Node-API addon
# (node/src/sdfd_native.c). One file serves glibc and musl: it is linked
# against no C library (no DT_NEEDED; -nostdlib, libgcc statically), and
# binds dlopen/dlsym/dl_iterate_phdr/malloc/free from the process at load
# time; it opens the libsdfd.so.0 that index.js names at run time. Node-API
# headers: the system's (/usr/include/node/node_api.h), else the npm package
# node-api-headers (headers only, no toolchain download), fetched into a
# temporary directory.
set -euo pipefail
mkdir -p "${1:?DIR}"
dir=$(cd "$1" && pwd) cc=${2:-gcc}
HERE=$(cd "$(dirname "$0")" && pwd)
inc=
for d in "${NODE_API_INCLUDE:-}" /usr/include/node /usr/local/include/node; do
  if [ -n "$d" ] && [ -e "$d/node_api.h" ]; then inc=$d; break; fi
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sdfd-addon.XXXXXX"); trap 'rm -rf "$tmp"' EXIT
if [ -z "$inc" ]; then
  (cd "$tmp" && npm pack --silent node-api-headers@1 >/dev/null && tar xzf node-api-headers-*.tgz)
  inc=$tmp/package/include
fi
"$cc" -shared -fPIC -O2 -Wall -Wextra -Werror -fvisibility=hidden -fno-stack-protector \
  -DNODE_GYP_MODULE_NAME=sdfd -I"$inc" \
  -o "$dir/sdfd.node" "$HERE/src/sdfd_native.c" \
  -nostdlib "$("$cc" -print-libgcc-file-name)" -s
if readelf -d "$dir/sdfd.node" | grep -q NEEDED; then
  echo "build-addon: $dir/sdfd.node needs a library:" >&2
  readelf -d "$dir/sdfd.node" | grep NEEDED >&2
  exit 1
fi
