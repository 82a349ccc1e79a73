#!/usr/bin/env bash
# abi/dump.sh prototypes INCDIR  the C API of the headers in INCDIR (sdfd.h and
#                                systemd/sd-daemon.h): every sd_*/sdfd_* declaration
#                                after the preprocessor (Linux, C), one per line,
#                                plus the SD_*/SDFD_* macros
# Output is sorted and whitespace-normalised, so that two dumps compare with diff.
# `make abi-baseline` writes abi/sdfd.h.prototypes with it;
# tests/packaging/release.sh compares the installed headers with it. (The
# library's own ABI is libabigail's: abi/libsdfd.so.0.abi, make abi-check.)
set -euo pipefail
what=${1:?prototypes INCDIR}
case "$what" in
prototypes)
  inc=${2:?include directory}
  for h in sdfd.h systemd/sd-daemon.h; do
    printf '#include <%s>\n' "$h" | ${CC:-cc} -E -P -I"$inc" -x c - |
      tr '\n' ' ' | sed 's/;/;\n/g' | sed 's/.*[{}]//' |
      grep -E '(^|[ *(])(sd|sdfd)_[a-z_]+ *\(|typedef [^;]*(sd|sdfd)_[a-z_]+ *;' |
      sed -E 's/[[:space:]]+/ /g; s/^ //; s/ ;$/;/; s/ ?([(),*]) ?/\1/g; s/,/, /g'
    grep -hE '^#[[:space:]]*define[[:space:]]+(SD|SDFD)_[A-Z_]+[[:space:]]' "$inc/$h" |
      sed -E 's/\/\*.*//; s/[[:space:]]+/ /g; s/^# ?define/#define/; s/ $//' || true
  done | sort -u
  ;;
*) echo "abi/dump.sh: unknown '$what'" >&2; exit 2 ;;
esac
