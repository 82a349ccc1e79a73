#!/usr/bin/env bash
# Cold build of a minimal Rust consumer of sdfd, of listenfd and of
# sd-notify (bench/consumers/*, versions pinned in their Cargo.lock): crates
# compiled, and CPU/wall time of `cargo build` into an empty target
# directory (debug profile, sources already downloaded: no network in the
# figure), sdfd and each peer in turn in one farm-bench call (A B A B ...,
# median of RUNS). Writes its section of bench/RESULTS.md (between the
# crate-build markers) and leaves the rest of the file alone.
#
# CARGO_INCREMENTAL=0: the consumers name sdfd by path (it is not on
# crates.io here), and cargo compiles a path dependency incrementally, which
# it never does for a crates.io dependency (listenfd, sd-notify, libc, and
# sdfd for a real consumer); incremental compilation's bookkeeping was
# ~0.6 s of sdfd's CPU time. Without it sdfd is compiled as a crates.io
# user's build compiles it. (Only the consumer crates themselves, three
# lines each, would be incremental otherwise: the same for all three.)
export CARGO_INCREMENTAL=0
set -euo pipefail
cd "$(dirname "$0")"
RUNS=${RUNS:-5}
OUT=$PWD/out/crate-build
rm -rf "$OUT"; mkdir -p "$OUT"
trap 'rm -rf "$OUT"/t-*' EXIT
for c in sdfd listenfd sd-notify; do
  (cd consumers/$c && cargo fetch --locked -q)
done

# Crates compiled by one cold build, the consumer itself included.
declare -A ncrates deps
for c in sdfd listenfd sd-notify; do
  n=$(cargo build --offline --locked --manifest-path consumers/$c/Cargo.toml --target-dir "$OUT/t-count-$c" 2>&1 | grep -c '^ *Compiling ')
  ncrates[$c]=$n
  deps[$c]=$(cd consumers/$c && cargo tree --offline --locked --prefix none -e normal,build 2>/dev/null | awk 'NR>1 {print $1" "$2}' | sort -u | paste -sd, - | sed 's/,/, /g')
  rm -rf "$OUT/t-count-$c"
done

build() { echo "sh -c 'rm -rf $OUT/t-$1; exec cargo build -q --offline --locked --manifest-path consumers/$1/Cargo.toml --target-dir $OUT/t-$1'"; }
for peer in listenfd sd-notify; do
  echo "crate-build: sdfd vs $peer, $RUNS pairs" >&2
  eval "farm-bench -n $RUNS --warmup 1 --timeout 1200 --vs \"$(build $peer)\" -- $(build sdfd)" > "$OUT/vs-$peer.txt" 2>&1
done

med() { awk -v k="$2" '$0 ~ "^"k" " {print $(NF-1)}' "$OUT/vs-$1.txt" | head -n1; }
mn() { awk -v k="$2" '$0 ~ "^"k" " {print $(NF-2)}' "$OUT/vs-$1.txt" | head -n1; }
rng() { awk -v k="$2" '$0 ~ "^"k" " {print $(NF-2)"–"$NF}' "$OUT/vs-$1.txt" | head -n1; }
# farm-bench's first line: "farm-bench N | DATE, 2c/24GiB | CPU | ..."
day=$(head -n1 "$OUT/vs-listenfd.txt" | cut -d'|' -f2 | cut -d, -f1 | tr -d ' ')
cpu=$(head -n1 "$OUT/vs-listenfd.txt" | cut -d'|' -f3 | sed 's/^ *//; s/ *$//')
rustc_v=$(rustc --version | awk '{print $2}')
{
  echo '<!-- crate-build:start -->'
  echo '## Cold build of a minimal Rust consumer'
  echo
  echo "Measured by \`bench/crate-build.sh\` on $day, a 2-core x86_64 VM ($cpu), Debian 12, Rust $rustc_v:"
  echo "\`cargo build\` (debug) of bench/consumers/NAME into an empty target directory, sources already"
  echo "downloaded, \`CARGO_INCREMENTAL=0\` (sdfd compiled as a crates.io dependency is: see below); sdfd"
  echo "and the peer built in turn, A B A B, median of $RUNS pairs (farm-bench)."
  echo "sdfd is the Rust crate with its default features (\`std\`); the C ABI (\`capi\`) is not built for"
  echo "a Rust consumer. The VM was shared with other builds: wall times are noisy, the paired CPU"
  echo "ratios are the figure to quote."
  echo
  echo '| consumer of | crates compiled | dependencies | CPU s | wall s | CPU sdfd/peer | wall sdfd/peer |'
  echo '|---|---:|---|---:|---:|---:|---:|'
  first=1
  for peer in listenfd sd-notify; do
    if [ $first = 1 ]; then
      echo "| sdfd (vs listenfd run) | ${ncrates[sdfd]} | ${deps[sdfd]} | $(med listenfd 'A cpu s') | $(med listenfd 'A wall s') | | |"
      first=0
    else
      echo "| sdfd (vs sd-notify run) | | | $(med $peer 'A cpu s') | $(med $peer 'A wall s') | | |"
    fi
    echo "| $peer | ${ncrates[$peer]} | ${deps[$peer]} | $(med $peer 'B cpu s') | $(med $peer 'B wall s') | $(med $peer 'A/B cpu') | $(med $peer 'A/B wall') |"
  done
  echo
  r=$(med listenfd 'A/B cpu')
  verdict=$(awk -v r="$r" 'BEGIN {print (r <= 1.5) ? "met" : "not met"}')
  echo "All three compile the same number of crates (the consumer, the library, libc) and run one build"
  echo "script, libc's: sdfd has none (issue 30). sdfd's own compile is larger: it carries the whole"
  echo "sd-daemon API (activation checks, names, notify, watchdog, by-name and by-address lookups,"
  echo "snapshot, launchd/Windows backends behind cfg; the hand-off is the opt-in feature \`handoff\`)"
  echo "where listenfd covers taking passed fds and sd-notify covers notification."
  echo
  rmin=$(awk -v a="$(mn listenfd 'A cpu s')" -v b="$(mn listenfd 'B cpu s')" 'BEGIN {printf "%.4f", a / b}')
  echo "Issue 30's target, sdfd ≤ 1.5× listenfd's CPU (the paired median): $r, $verdict (the $RUNS pairs:"
  echo "$(rng listenfd 'A/B cpu'); the ratio of the two least disturbed runs, min CPU over min CPU: $rmin). On this"
  echo "shared VM the same build's CPU time varied up to 2× within minutes (listenfd's consumer: 1.25 to"
  echo "2.5 s); three calls of this script on the tree before the hand-off change (step 2 below) gave"
  echo "paired medians 1.56, 1.52 and 1.48."
  echo "Before this round it was 1.91× (build script, incremental build, hand-off compiled in). What"
  echo "changed: (1) no build script (0.2–0.3 s CPU: compiling and linking build.rs for two cfg"
  echo "aliases): the target conditions are written out in the \`#[cfg]\`s, and the C builds get the C"
  echo "shims and link arguments from packaging/capi-args.sh; (2) less generated code (LLVM IR of the"
  echo "rlib as built here, counted like cargo llvm-lines: 61,741 → 40,966 lines): the same API made"
  echo "cheaper (the typed \`take*\` work done once on descriptors instead of once per socket type, byte"
  echo "searches instead of \`str::contains(char)\`, which compiled core's substring searcher in, the"
  echo "Windows-only systemfd protocol parser out of non-Windows default builds: 54,084), then the Rust"
  echo "hand-off API (unreleased, docs/handoff.md) made the non-default feature \`handoff\` (\`capi\`"
  echo "enables it: the C library, Python and Node are unchanged); (3) the measurement:"
  echo "\`CARGO_INCREMENTAL=0\`, because cargo compiles a path dependency incrementally and a crates.io"
  echo "dependency never (sdfd is a path dependency here only because it is not published; the"
  echo "bookkeeping cost sdfd ~0.6 s CPU, which listenfd and libc never pay)."
  echo "The floor: libc's compile and build script are the same for all three, so the ratio is"
  echo "(libc + sdfd)/(libc + listenfd); what is left of sdfd's share is code generation and type"
  echo "checking of the API itself, most of the generated code instances of core generics (\`?\` on"
  echo "each Result type, iterator adapters)."
  echo '<!-- crate-build:end -->'
} > "$OUT/section.md"

python3 - RESULTS.md "$OUT/section.md" <<'PY'
import re, sys
path, sec = sys.argv[1], open(sys.argv[2]).read()
try:
    text = open(path).read()
except FileNotFoundError:
    text = "# sdfd benchmarks\n"
pat = re.compile(r"<!-- crate-build:start -->.*?<!-- crate-build:end -->\n?", re.S)
text = pat.sub(lambda m: sec, text) if pat.search(text) else text.rstrip("\n") + "\n\n" + sec
open(path, "w").write(text)
PY
cat "$OUT/section.md"
