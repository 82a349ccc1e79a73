#!/usr/bin/env bash
# Installs what the tests and the demo need on a fresh Debian 12 machine (as
# root). Cheap when everything is already there: apt only runs for what is
# missing.
set -euo pipefail
pkgs=(build-essential pkg-config libsystemd-dev systemd python3-systemd valgrind strace curl
      musl-tools bindgen libclang-dev iproute2 util-linux binutils libc6-dev
      qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-i686-linux-gnu libc6-dev-i386-cross
      gcc-s390x-linux-gnu libc6-dev-s390x-cross gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross
      gcc-arm-linux-gnueabihf libc6-dev-armhf-cross)
"$(dirname "$0")/apt-need.sh" "${pkgs[@]}"
command -v cargo >/dev/null || { echo "deps: cargo (rustup) is required" >&2; exit 1; }
# POSIX message queues for the sd_is_mq path checks (needs root; optional).
if [ ! -d /dev/mqueue ] || ! mountpoint -q /dev/mqueue 2>/dev/null; then
  mkdir -p /dev/mqueue 2>/dev/null && mount -t mqueue none /dev/mqueue 2>/dev/null || true
fi
