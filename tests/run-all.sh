#!/usr/bin/env bash
# Runs the test suites: Rust, C (differential, activation, header, real
# daemon), Python, Node, ... Each suite ends with its own count line; this
# script adds them up, prints a table of the suites' times and ends with
# "N passed, N failed". A suite that cannot run, or that fails without a
# count, counts as one failure: nothing is skipped.
#
#   tests/run-all.sh                      every suite
#   SUITES="rust c-diff" tests/run-all.sh  (make test SUITES="rust c-diff"): those only
#   tests/run-all.sh --list               the suite names
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# The suites are the `run_suite NAME ...` lines of this file.
known=$(sed -nE 's/^run_suite +([A-Za-z0-9_-]+) .*/\1/p' "$0")
if [ "${1:-}" = --list ]; then echo "$known"; exit 0; fi
selected=${SUITES:-}
for s in $selected; do
  if ! grep -qx -- "$s" <<<"$known"; then
    echo "tests/run-all.sh: unknown suite '$s'; the suites are:" $known >&2
    echo "0 passed, 1 failed"; exit 2
  fi
done

./tests/deps.sh || { echo "0 passed, 1 failed"; exit 1; }

# Build and install sdfd into a staging prefix; C suites use it through
# pkg-config, exactly as a user of the installed library would.
export SDFD_STAGE=$ROOT/build/stage
rm -rf "$SDFD_STAGE"
mkdir -p build
if ! make -s install PREFIX="$SDFD_STAGE" >build/install.log 2>&1; then
  cat build/install.log; echo "0 passed, 1 failed"; exit 1
fi
export PKG_CONFIG_PATH=$SDFD_STAGE/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export SDFD_LIBRARY=$SDFD_STAGE/lib/libsdfd.so.0

total_pass=0 total_fail=0 total_start=$SECONDS
summary=()
LOGDIR=$ROOT/build/test-logs
mkdir -p "$LOGDIR"

# run_suite NAME COMMAND...: the suite's last count line is added up.
run_suite() {
  local name=$1; shift
  if [ -n "$selected" ] && ! grep -qwx -- "$name" <<<"$(printf '%s\n' $selected)"; then return; fi
  local log=$LOGDIR/$name.log
  echo "=== $name: $*"
  local start=$SECONDS
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local secs=$((SECONDS - start))
  local p f
  # cargo: "test result: ok. 7 passed; 0 failed; ..." (one per test binary)
  if grep -qE '^test result: ' "$log"; then
    p=$(grep -E '^test result: ' "$log" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1/' | awk '{s+=$1} END {print s+0}')
    f=$(grep -E '^test result: ' "$log" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\2/' | awk '{s+=$1} END {print s+0}')
  # pytest: "==== 12 passed, 1 failed in 0.3s ====" ; node: "# pass 5" / "# fail 0"
  elif grep -qE '^# pass [0-9]+' "$log"; then
    p=$(grep -E '^# pass [0-9]+' "$log" | tail -1 | awk '{print $3}')
    f=$(grep -E '^# fail [0-9]+' "$log" | tail -1 | awk '{print $3}')
  elif grep -qE '^=+ .*[0-9]+ (passed|failed)' "$log"; then
    local line; line=$(grep -E '^=+ .*[0-9]+ (passed|failed)' "$log" | tail -1)
    p=$(echo "$line" | grep -oE '[0-9]+ passed' | awk '{print $1}'); p=${p:-0}
    f=$(echo "$line" | grep -oE '[0-9]+ (failed|error|errors)' | awk '{s+=$1} END {print s+0}')
  elif grep -qE '^[0-9]+ passed, [0-9]+ failed' "$log"; then
    local line; line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    p=$(echo "$line" | awk '{print $1}'); f=$(echo "$line" | awk '{print $3}')
  else
    p=0; f=0
  fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # failed without saying what
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; fi     # ran nothing: a failure
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  summary+=("$(printf '%-16s %5d passed %4d failed %6ds' "$name" "$p" "$f" "$secs")")
}

run_suite rust        cargo test --quiet
run_suite rust-crate  ./tests/rust/crate.sh
run_suite rust-msrv   ./tests/rust/msrv.sh
run_suite c-packaging ./tests/c/packaging.sh
run_suite pkg-release ./tests/packaging/release.sh
run_suite pkg-deb     ./tests/packaging/deb.sh
run_suite pkg-rpm     ./tests/packaging/rpm.sh
run_suite pkg-abi     ./tests/packaging/abi.sh
run_suite pkg-wheel   ./tests/packaging/wheel.sh
run_suite pkg-npm     ./tests/packaging/npm.sh
run_suite c-diff      ./tests/c/difftest.sh
run_suite c-activation python3 ./tests/c/activation.py
run_suite c-dropin    ./tests/c/dropin.sh
run_suite c-seccomp   ./tests/c/seccomp.sh
run_suite c-fork      ./tests/c/fork.sh
run_suite c-byname    python3 ./tests/c/byname.py
run_suite macos-check ./tests/macos/check.sh
run_suite c-real-daemon ./tests/c/real-daemon.sh
run_suite c-musl-static ./tests/c/musl-static.sh
run_suite python      ./python/run-tests.sh
run_suite python-native env SDFD_PY_NATIVE=1 SDFD_PY_VENV="$ROOT/build/python-venv-native" ./python/run-tests.sh
run_suite node        ./node/run-tests.sh
run_suite node-addon  ./node/run-tests.sh --addon
run_suite windows     ./tests/windows/run.sh
run_suite launcher    ./tests/launcher/run.sh
run_suite containers  ./tests/containers/run.sh
run_suite manager     ./tests/manager/run.sh
run_suite handoff     python3 ./tests/handoff/run.py
run_suite panic-check ./tests/panic-check.sh
run_suite c-sanitize  ./tests/c/sanitize.sh
run_suite aarch64     ./tests/arch/run.sh aarch64
run_suite arch        ./tests/arch/run.sh ppc64el s390x armhf i686 aarch64-musl
run_suite typecheck   ./tests/typecheck/run.sh
run_suite docs        ./tests/docs/run.sh

echo
echo "=== summary"
printf '%-16s %12s %11s %7s\n' suite passed failed time
printf '%s\n' "${summary[@]}"
printf '%-16s %5d passed %4d failed %6ds (with set-up: %ds)\n' total "$total_pass" "$total_fail" \
  "$((SECONDS - total_start))" "$SECONDS"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
