#!/usr/bin/env bash
# Every Debian package the project's commands need, in one place, installed
# before anything runs (as root; apt only runs for what is missing):
#
#   tests/deps.sh            what `make test` needs (every suite), called by
#                            tests/run-all.sh before the first suite
#   tests/deps.sh demo       what `make demo` needs
#   tests/deps.sh check      what `make check` needs
#   tests/deps.sh fresh      what tests/fresh/run.sh needs on the host
#   tests/deps.sh bench      what `make bench` needs
#   tests/deps.sh --list [GROUP]   print the list, one package a line
#
# A suite never installs anything itself: it checks for the programs it
# uses (tests/lib/sdfdtest.sh `need`) and fails when one is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# The demo: build the library and a C daemon, serve it under systemd-socket-activate.
demo=(build-essential pkg-config systemd curl python3)

# The test suites, by what they use.
pkgs=("${demo[@]}"
  # C: libsystemd 252 is the oracle; tools the suites call
  libsystemd-dev libc6-dev binutils file valgrind strace procps iproute2 util-linux clang-format
  # Python: Debian's python3 with venv and headers (the abi3 extension), python-systemd as oracle
  python3-dev python3-venv python3-pytest python3-systemd unzip
  # Node: Debian 12's nodejs (18) and npm; openssl for the TLS test
  nodejs npm openssl
  # musl: the static library, the musllinux wheel, the npm musl library, containers
  musl-tools
  # packaging: the Debian source package (debhelper, lintian, autopkgtest), the RPM spec, the ABI (libabigail)
  dpkg-dev debhelper lintian autopkgtest rpm rpmlint abigail-tools
  # real daemons from Debian: fcgiwrap rebuilt from source with its FastCGI client;
  # dbus-daemon (bound with -z now) refused by the libsystemd.so.0 shim
  fcgiwrap libfcgi-bin libfcgi-dev autoconf automake dbus-daemon
  # documentation: man page lint
  mandoc groff-base
  # containers: rootful podman with runc
  podman runc catatonit
  # Windows under wine (MinGW-w64)
  gcc-mingw-w64-x86-64 wine wine64
  # other architectures (tests/arch: i686 natively, the others under qemu-user)
  qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu
  gcc-i686-linux-gnu libc6-dev-i386-cross gcc-s390x-linux-gnu libc6-dev-s390x-cross
  gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
  # the Rust crate's C shims (bindgen) and sanitizers
  bindgen libclang-dev
)
# Foreign-architecture packages (multiarch): libsystemd 252 of each architecture
# is the oracle of tests/arch.
# musl-dev:arm64 carries the musl specs and libc for the aarch64 musl build.
foreign=(libsystemd-dev:arm64 libsystemd-dev:i386 libsystemd-dev:armhf libsystemd-dev:s390x
         libsystemd-dev:ppc64el musl-dev:arm64)

fresh=(debootstrap util-linux)
check=(clang-format)
bench=("${pkgs[@]}" ucspi-tcp python3-systemd)

group=tests
[ "${1:-}" = --list ] && { shift; list=1; } || list=0
[ $# -gt 0 ] && group=$1
case $group in
  tests) want=("${pkgs[@]}" "${foreign[@]}") ;;
  check) want=("${check[@]}") ;;
  demo) want=("${demo[@]}") ;;
  fresh) want=("${fresh[@]}") ;;
  bench) want=("${bench[@]}" "${foreign[@]}") ;;
  *) echo "tests/deps.sh: unknown group $group (tests, demo, check, fresh, bench)" >&2; exit 2 ;;
esac
if [ "$list" = 1 ]; then printf '%s\n' "${want[@]}"; exit 0; fi

# Foreign architectures must be known to dpkg before apt can install for them.
for p in "${want[@]}"; do
  case $p in *:*)
    a=${p#*:}
    dpkg --print-foreign-architectures | grep -qx "$a" || dpkg --add-architecture "$a" ;;
  esac
done
./tests/apt-need.sh "${want[@]}"
command -v cargo >/dev/null || { echo "deps: cargo (rustup) is required" >&2; exit 1; }
[ "$group" = tests ] || exit 0
# POSIX message queues for the sd_is_mq path checks (needs root; optional).
if [ ! -d /dev/mqueue ] || ! mountpoint -q /dev/mqueue 2>/dev/null; then
  mkdir -p /dev/mqueue 2>/dev/null && mount -t mqueue none /dev/mqueue 2>/dev/null || true
fi
