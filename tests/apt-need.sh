#!/usr/bin/env bash
# apt-need.sh PKG...: install the Debian packages among PKG that are not
# installed (nor provided by an installed package) yet (apt-get update only when something is missing). Quiet when
# it works; when apt fails, apt's own messages are shown.
# Exit status: 0 when all are installed afterwards. Used by the test suites,
# the demo and the benchmarks, which each install what they need.
set -uo pipefail
missing=() provided=
for p in "$@"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
  [[ "$status" == *"ok installed"* ]] && continue
  # An installed package that provides it (nodesource's nodejs provides npm,
  # and conflicts with Debian's) satisfies it as it satisfies a dependency.
  if [[ "$p" != *:* ]]; then
    [ -n "$provided" ] || provided=" $(dpkg-query -W -f='${db:Status-Abbrev} ${Provides}\n' 2>/dev/null |
      sed -n 's/^ii *//p' | tr ',' '\n' | sed 's/ *(.*//; s/^ *//' | tr '\n' ' ') "
    [[ "$provided" == *" $p "* ]] && continue
  fi
  missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A mirror that is out of step for one index (seen: "File has unexpected
# size ... Mirror sync in progress?" for a foreign architecture's security
# list) fails the whole update; the lists that did arrive are still used,
# and the install below says whether what is needed could be had.
if ! out=$(timeout 600 apt-get update -qq -o DPkg::Lock::Timeout=120 2>&1); then
  printf '%s\n' "$out" | grep -E '^(E|W):' | head -n 5 >&2; echo "apt-get update failed in part; installing from the lists it has" >&2
fi
if ! out=$(timeout 900 apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=120 "${missing[@]}" 2>&1); then
  printf '%s\n' "$out" | grep -v '^\(Selecting\|Preparing\|Unpacking\|Setting up\|Processing\|(Reading\)' >&2
  echo "apt-get install ${missing[*]} failed" >&2; exit 1
fi
