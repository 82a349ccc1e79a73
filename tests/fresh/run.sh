#!/usr/bin/env bash
# The README on a freshly bootstrapped Debian 12, as a new user runs it.
#
# A minimal Debian 12 root (debootstrap --variant=minbase bookworm) is made
# once and kept under ${XDG_CACHE_HOME:-~/.cache}/sdfd/fresh (made anew when
# older than a week). Each phase gets its own copy of it, entered with
# pivot_root in private mount and pid namespaces (tests/fresh/enter.py): a
# process inside sees that root as /, and a suite's `nsenter -m` lands in it,
# not on the host. Inside: the host's rustup toolchain (an overlay, so what
# rustup adds inside stays inside), the host's apt and certificate settings,
# and nothing else of the host; the tree is cloned with git from this
# repository's HEAD (committed work only).
#
#   phase "commands": apt-get install git make (the README's prerequisites),
#                     then the README's two commands: make demo, make test
#   phase "readme":   apt-get install git make, then the README's Install and
#                     every quick start verbatim (tests/docs/quickstart.py on
#                     a root where make test has installed nothing)
#
# Each phase's own count line is added to this suite's. Nothing is left on
# the host: no mount, no process, no file outside the cache (checked).
#
#   tests/fresh/run.sh [commands|readme]...     (default: both)
#   FRESH_REBUILD=1 tests/fresh/run.sh          bootstrap the cached root again
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. tests/lib/sdfdtest.sh

phases=${*:-commands readme}
[ "$(id -u)" -eq 0 ] || die "the fresh test bootstraps a root and enters it with pivot_root: run as root"
./tests/deps.sh fresh >/dev/null || die "tests/deps.sh fresh (debootstrap) failed"
[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] \
  && echo "# note: uncommitted changes are not tested here: the fresh root clones HEAD ($(git rev-parse --short HEAD))"

CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/sdfd/fresh
IMAGE=$CACHE/bookworm-minbase
ARCHIVES=$CACHE/apt-archives            # downloaded .debs, reused across runs
MIRROR=${FRESH_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$CACHE" "$ARCHIVES/partial"
# One fresh run at a time per cache (the root image and apt's archive lock are shared).
exec 9>"$CACHE/lock"
flock -w 3600 9 || die "another tests/fresh/run.sh holds $CACHE/lock"

# --- the cached minimal root --------------------------------------------
age_days() { echo $(( ($(date +%s) - $(stat -c %Y "$1")) / 86400 )); }
if [ -n "${FRESH_REBUILD:-}" ] || [ ! -f "$IMAGE/.sdfd-bootstrapped" ] || [ "$(age_days "$IMAGE/.sdfd-bootstrapped")" -ge 7 ]; then
  echo "# debootstrap --variant=minbase bookworm $IMAGE"
  start=$SECONDS
  rm -rf "$IMAGE.new"
  if debootstrap --variant=minbase bookworm "$IMAGE.new" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1; then
    rm -rf "$IMAGE" && mv "$IMAGE.new" "$IMAGE" && date -u +%FT%TZ >"$IMAGE/.sdfd-bootstrapped"
    ok "debootstrap --variant=minbase bookworm ($((SECONDS - start)) s)"
  else
    rm -rf "$IMAGE.new"
    die "debootstrap --variant=minbase bookworm" "$(tail -n 20 "$CACHE/debootstrap.log")"
  fi
fi
grep -q '^VERSION_ID="12"' "$IMAGE/etc/os-release" || die "the cached root is not Debian 12" "$(cat "$IMAGE/etc/os-release")"
for p in python3 node nodejs gcc cc make git curl pkg-config systemd-socket-activate; do
  if [ -e "$IMAGE/usr/bin/$p" ]; then die "the cached root is not minimal: it has /usr/bin/$p"; fi
done
ok "cached root: minimal Debian $(cat "$IMAGE/etc/debian_version") from $(cat "$IMAGE/.sdfd-bootstrapped"), no python3, node, compiler, make, git"

mounts_under() { findmnt -rn -o TARGET | grep -F -- "$1" || true; }

# run_phase NAME: a copy of the cached root, entered; the phase's script runs
# as the root user's login there; its output is shown and its count added.
run_phase() {
  local name=$1 run log rc start
  run=$(mktemp -d /var/tmp/sdfd-fresh-"$name".XXXXXX) || die "mktemp"
  at_exit "[ -d '$run' ] && { umount -R -l '$run/root' 2>/dev/null; rm -rf --one-file-system '$run'; }"
  log=$run/phase.log
  start=$SECONDS
  echo "# phase $name: copying the root into $run"
  cp -a "$IMAGE" "$run/root" || die "copying the cached root"
  echo "# phase $name: entering it (tests/fresh/enter.py)"
  python3 tests/fresh/enter.py "$run" "$ROOT" "$ARCHIVES" bash /sdfd-fresh/phase.sh "$name" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  local line p f
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  if [ -n "$line" ]; then
    p=$(echo "$line" | awk '{print $1}'); f=$(echo "$line" | awk '{print $3}')
    T_PASS=$((T_PASS + p)); T_FAIL=$((T_FAIL + f))
    [ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || bad "phase $name: exit status $rc with no failed check"
  else
    bad "phase $name: no count line (exit status $rc)"
  fi
  echo "# phase $name: $((SECONDS - start)) s"
  # The namespaces are gone with their last process: nothing may remain.
  local left procs
  left=$(mounts_under "$run")
  procs=$(for p in /proc/[0-9]*; do
            case $(readlink "$p/root" 2>/dev/null) in "$run"/*) echo "${p#/proc/}" ;; esac; done)
  if [ -z "$left" ] && [ -z "$procs" ]; then ok "phase $name left no mount and no process on the host"
  else bad "phase $name left mounts or processes behind" "$left $procs"; umount -R -l "$run/root" 2>/dev/null; fi
  rm -rf --one-file-system "$run"
  if [ -e "$run" ]; then bad "phase $name: its root could not be removed ($run)"
  else ok "phase $name: its root is removed"; fi
}

for ph in $phases; do
  case $ph in
    commands|readme) run_phase "$ph" ;;
    *) die "unknown phase $ph (commands, readme)" ;;
  esac
done
finish
