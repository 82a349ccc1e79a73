#!/usr/bin/env bash
# The main job: build sdfd, install it into build/demo, build the example
# daemon against it with pkg-config (no libsystemd), start it socket-activated
# and serve real HTTP requests.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
./tests/deps.sh demo   # the Debian packages it needs (build-essential pkg-config systemd curl python3)

echo "==> building and installing sdfd into build/demo"
make -s install PREFIX="$ROOT/build/demo" >/dev/null
export PKG_CONFIG_PATH=$ROOT/build/demo/lib/pkgconfig
echo "    $(pkg-config --modversion sdfd): $(ls build/demo/lib/libsdfd.so.*.*) ($(stat -c %s "$(readlink -f build/demo/lib/libsdfd.so)") bytes)"

echo "==> cc examples/hello-daemon.c \$(pkg-config --cflags --libs sdfd)"
cc -O2 -Wall -o build/demo/hello-daemon examples/hello-daemon.c $(pkg-config --cflags --libs sdfd) \
   -Wl,-rpath,"$(pkg-config --variable=libdir sdfd)"
ldd build/demo/hello-daemon | grep -E 'libsdfd|libsystemd' | sed 's/^/    /'

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "==> systemd-socket-activate -l 127.0.0.1:$port --fdname=http build/demo/hello-daemon 2"
systemd-socket-activate -l "127.0.0.1:$port" --fdname=http build/demo/hello-daemon 2 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for i in 1 2; do
  echo "==> curl http://127.0.0.1:$port/ (request $i)"
  # --retry-connrefused: the launcher binds in the background
  curl -sS --max-time 5 --retry 5 --retry-connrefused "http://127.0.0.1:$port/" | sed 's/^/    /'
done
wait $pid
echo "==> done: the daemon got its socket from sdfd's sd_listen_fds_with_names and served 2 requests"
