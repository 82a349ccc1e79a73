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
apt_install() { timeout 900 apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=120 "$@" 2>&1; }
# Skew: a Multi-Arch: same library must have one version on every
# architecture. When a foreign architecture's index could not be fetched
# (above), the native library may be newer than any foreign build of it
# (seen: liblzma5 and libzstd1 from bookworm-security for amd64 and arm64,
# only bookworm's for i386). Then each library apt names as a foreign
# package's unmet dependency is pinned, on the native architecture and on
# every foreign one asked for, to the newest version all of them can have,
# and it is said. (One version for all: pinning each architecture to its
# own candidate leaves the ones whose index did arrive out of step.)
native=$(dpkg --print-architecture)
archs=("$native")
for p in "${missing[@]}"; do
  [[ $p == *:* ]] && [[ " ${archs[*]} " != *" ${p#*:} "* ]] && archs+=("${p#*:}")
done
versions() { apt-cache madison "$1" 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); if ($2 != "") print $2}' | sort -u; }
newest() { local best= x; while read -r x; do
    [ -z "$x" ] || { [ -n "$best" ] && ! dpkg --compare-versions "$x" gt "$best"; } || best=$x; done; echo "$best"; }
skew() {  # skew APT-OUTPUT: add to pins; false when nothing new to pin
  local n a common v more=1
  for n in $(printf '%s\n' "$1" | sed -n 's/.*Depends: \([a-z0-9][a-z0-9.+-]*\):[a-z0-9]* .*/\1/p' | sort -u); do
    [[ " ${pins[*]} " == *" $n:$native="* ]] && continue
    common=$(versions "$n:$native")
    for a in "${archs[@]:1}"; do common=$(comm -12 <(printf '%s\n' "$common") <(versions "$n:$a")); done
    v=$(printf '%s\n' "$common" | newest)
    [ -n "$v" ] || continue
    for a in "${archs[@]}"; do pins+=("$n:$a=$v"); done
    more=0
  done
  return $more
}
pins=()
if ! out=$(apt_install "${missing[@]}"); then
  ok=0
  for _ in 1 2 3 4; do
    skew "$out" || break
    echo "version skew between architectures (an index was missing): pinning ${pins[*]}" >&2
    if out=$(apt_install --allow-downgrades "${pins[@]}" "${missing[@]}"); then ok=1; break; fi
  done
  if [ "$ok" = 0 ]; then
    printf '%s\n' "$out" | grep -v '^\(Selecting\|Preparing\|Unpacking\|Setting up\|Processing\|(Reading\)' >&2
    echo "apt-get install ${missing[*]} failed" >&2; exit 1
  fi
fi
