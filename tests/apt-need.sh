#!/usr/bin/env bash
# apt-need.sh PKG...: install the Debian packages among PKG that are not
# installed yet (apt-get update only when something is missing). Quiet when
# it works; when apt fails, apt's own messages are shown.
# Exit status: 0 when all are installed afterwards. Used by the test suites,
# the demo and the benchmarks, which each install what they need.
set -uo pipefail
missing=()
for p in "$@"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
  [[ "$status" == *"ok installed"* ]] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! out=$(timeout 600 apt-get update -qq -o DPkg::Lock::Timeout=120 2>&1); then
  printf '%s\n' "$out" >&2; echo "apt-get update failed" >&2; exit 1
fi
if ! out=$(timeout 900 apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=120 "${missing[@]}" 2>&1); then
  printf '%s\n' "$out" | grep -v '^\(Selecting\|Preparing\|Unpacking\|Setting up\|Processing\|(Reading\)' >&2
  echo "apt-get install ${missing[*]} failed" >&2; exit 1
fi
