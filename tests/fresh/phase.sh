#!/usr/bin/env bash
# One phase of tests/fresh/run.sh, run inside the fresh root (as /sdfd-fresh/phase.sh)
# by tests/fresh/enter.py, as root in /root. Ends with "N passed, N failed".
#
#   phase.sh commands   the README's prerequisites, a clone, `make demo`, `make test`
#   phase.sh readme     the README's prerequisites, a clone, then the README's
#                       Install and every quick start (tests/docs/quickstart.py)
set -uo pipefail
phase=$1
. /mnt/sdfd-src/tests/lib/sdfdtest.sh   # ok/bad/step/counted/finish (nothing else of the host tree runs)
export DEBIAN_FRONTEND=noninteractive
echo "# fresh root: Debian $(cat /etc/debian_version), $(uname -m); rustc: $(rustc --version 2>&1)"

# The README's prerequisites block, as printed (<!-- prerequisites --> before it).
block() {  # block NAME: the fenced block after <!-- NAME --> in README.md
  awk -v tag="<!-- $1 -->" '$0 == tag {f = 1; next} f && /^```/ {if (n++) exit; next} f && n == 1' /mnt/sdfd-src/README.md
}
pre=$(block prerequisites)
[ -n "$pre" ] || die "README.md has no <!-- prerequisites --> block"
echo "# README prerequisites:"; printf '%s\n' "$pre" | sed 's/^/#   /'
start=$SECONDS
if out=$(bash -e -c "$pre" 2>&1); then ok "README prerequisites ($((SECONDS - start)) s)"
else die "README prerequisites" "$out"; fi
step "git clone of the tree" git clone -q /mnt/sdfd-src /root/sdfd
cd /root/sdfd || die "no clone"
echo "# tree: $(git log -1 --format='%h %s')"

case $phase in
  commands)
    start=$SECONDS
    make demo >/root/demo.log 2>&1; rc=$?
    sed 's/^/  demo| /' /root/demo.log | tail -n 40
    if [ $rc -eq 0 ] && grep -q 'served 2 requests' /root/demo.log && [ "$(grep -c '^    Hello from' /root/demo.log)" -eq 2 ]; then
      ok "make demo: the daemon served 2 requests ($((SECONDS - start)) s)"
    else bad "make demo (exit status $rc)" "$(tail -n 30 /root/demo.log)"; fi
    start=$SECONDS
    counted "make test" make test
    echo "# make test: $((SECONDS - start)) s"
    ;;
  readme)
    # The quick-start runner is the project's own harness (Python): the one
    # package installed here that the README does not ask for.
    step "python3 for the quick-start harness" apt-get install -y -qq python3
    start=$SECONDS
    counted "README Install and quick starts" python3 tests/docs/quickstart.py
    echo "# README Install and quick starts: $((SECONDS - start)) s"
    ;;
  *) die "unknown phase $phase" ;;
esac
finish
