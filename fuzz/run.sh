#!/usr/bin/env bash
# `make fuzz`: a bounded libFuzzer run of every target (FUZZ_SECONDS each,
# default 60), with AddressSanitizer and debug assertions (overflow checks)
# on, then the corpus is minimised in place (cargo fuzz cmin) so that
# `cargo test` replays it. A crash input is copied to fuzz/regressions/TARGET/
# (replayed by `cargo test` too) and fails the run.
#
# cargo-fuzz needs nightly-only flags (-Zsanitizer=address, sancov passes);
# this machine has only the stable toolchain, so RUSTC_BOOTSTRAP=1 lets
# stable rustc accept them (its ASan runtime ships with the stable std).
set -uo pipefail
cd "$(dirname "$0")/.."
SECS=${FUZZ_SECONDS:-60}
export RUSTC_BOOTSTRAP=1
export PATH=$HOME/.cargo/bin:$PATH
if ! command -v cargo-fuzz >/dev/null; then
  cargo install cargo-fuzz --locked --version 0.13.2 || { echo "0 passed, 1 failed"; exit 1; }
fi
targets=${FUZZ_TARGETS:-$(cd fuzz && cargo fuzz list)}
mkdir -p build/fuzz
stats=build/fuzz/stats.txt
: > "$stats"
pass=0 fail=0
for t in $targets; do
  log=build/fuzz/$t.log
  echo "=== fuzz $t (${SECS}s)"
  rm -rf "fuzz/artifacts/$t"
  cargo fuzz run -O -a "$t" -- -max_total_time="$SECS" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  corpus=$(ls "fuzz/corpus/$t" | wc -l)
  if [ $rc -ne 0 ] || ls "fuzz/artifacts/$t"/* >/dev/null 2>&1; then
    fail=$((fail + 1))
    mkdir -p "fuzz/regressions/$t"
    cp fuzz/artifacts/"$t"/* "fuzz/regressions/$t/" 2>/dev/null
    grep -E 'panicked|ERROR|SUMMARY|assertion' "$log" | head -5
    echo "FAIL   $t: crash input kept in fuzz/regressions/$t (log: $log)"
    printf '%-14s %10s execs  cov %5s  FAILED\n' "$t" "${execs:-?}" "${cov:-?}" >>"$stats"
    continue
  fi
  # keep the corpus small: only inputs that add coverage
  cargo fuzz cmin -O -a "$t" >>"$log" 2>&1
  after=$(ls "fuzz/corpus/$t" | wc -l)
  pass=$((pass + 1))
  printf '%-14s %10s execs in %ss  cov %5s  corpus %d -> %d\n' "$t" "$execs" "$SECS" "$cov" "$corpus" "$after" | tee -a "$stats"
done
echo
cat "$stats"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
