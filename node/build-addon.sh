#!/usr/bin/env bash
# node/build-addon.sh DIR [CC]: builds DIR/sdfd.node, the Node-API addon
# (node/src/sdfd_native.c), linked against DIR/libsdfd.so.0 (rpath $ORIGIN).
# CC: gcc (glibc, the default) or musl-gcc. Node-API headers: the system's
# (/usr/include/node/node_api.h), else the npm package node-api-headers
# (headers only, no toolchain download), fetched into a temporary directory.
# Linked dynamically, not against libsdfd.a: the koffi calls (notifyBarrier,
# hand-off) then use the same library instance, and a static addon was not
# cheaper to load (callgrind, require + sd_listen_fds, best of 5: 87.5 M
# instructions dynamic, 92.0 M static; x86_64 2-core VM, Debian 12, node 20).
set -euo pipefail
dir=$(cd "${1:?DIR}" && pwd) cc=${2:-gcc}
HERE=$(cd "$(dirname "$0")" && pwd)
[ -e "$dir/libsdfd.so.0" ] || { echo "build-addon: no $dir/libsdfd.so.0" >&2; exit 1; }
inc=
for d in "${NODE_API_INCLUDE:-}" /usr/include/node /usr/local/include/node; do
  if [ -n "$d" ] && [ -e "$d/node_api.h" ]; then inc=$d; break; fi
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sdfd-addon.XXXXXX"); trap 'rm -rf "$tmp"' EXIT
if [ -z "$inc" ]; then
  (cd "$tmp" && npm pack --silent node-api-headers@1 >/dev/null && tar xzf node-api-headers-*.tgz)
  inc=$tmp/package/include
fi
# The soname the addon records is the file beside it (DT_NEEDED libsdfd.so.0).
ln -s "$dir/libsdfd.so.0" "$tmp/libsdfd.so"
"$cc" -shared -fPIC -O2 -Wall -Wextra -Werror -fvisibility=hidden \
  -DNODE_GYP_MODULE_NAME=sdfd -I"$inc" -I"$HERE/../include" \
  -o "$dir/sdfd.node" "$HERE/src/sdfd_native.c" \
  -L"$tmp" -lsdfd -Wl,-rpath,'$ORIGIN' -Wl,--as-needed -s
