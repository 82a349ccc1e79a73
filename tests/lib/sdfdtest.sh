# The one helper of the bash test suites. Source it from a suite:
#
#   . "$(dirname "$0")/../lib/sdfdtest.sh"      (or tests/lib/sdfdtest.sh from the root)
#
# Checks print in one format, numbered, the same as tests/lib/sdfdtest.py:
#
#   ok   1 - what was checked
#   FAIL 2 - what was checked
#          detail, indented
#
# and the suite ends with `finish`: "N passed, N failed", exit status 0 only
# when nothing failed and something passed. A suite that stops early (an
# error, `set -e`, a signal) still ends with a count line, with one failure
# for the abort. Temporary directories made with `tmpdir` and processes
# registered with `track` are removed/killed on every exit (one EXIT trap;
# add more with `at_exit`).
#
#   ok NAME                    a passed check
#   bad NAME [DETAIL]          a failed check; DETAIL (last 40 lines) indented
#   check NAME COMMAND...      ok if COMMAND succeeds, else bad
#   step NAME COMMAND...       the same, COMMAND's output kept in a log, shown on failure
#   counted NAME COMMAND...    a sub-suite ending "N passed, N failed": its counts are added
#   count LOG NAME             one check from a finished sub-suite's log (all passed = ok)
#   die NAME [DETAIL]          bad, then finish (set-up that cannot go on)
#   finish                     the count line and the exit status
#   tmpdir VAR NAME            VAR=$TMPDIR/sdfd-NAME.XXXXXX, removed on exit
#   track PID                  kill PID on exit (if still running)
#   at_exit COMMAND            run COMMAND (a string, eval'd) on exit
#   free_port [tcp|udp|tcp6|udp6]   print a free loopback port
#   lacks REGEX COMMAND...     true if COMMAND succeeds and no line of its output
#                              matches REGEX (grep -E); false if COMMAND fails, so a
#                              missing tool never passes a "has no X" check
#   need COMMAND...            finish with a failure unless every COMMAND is on PATH
#                              (tests/deps.sh installs them; a suite installs nothing)
#   talk_tcp PORT LINE [TRIES [TIMEOUT]]   send LINE to 127.0.0.1:PORT once it
#                              accepts (TRIES connects 50 ms apart, default 100;
#                              TIMEOUT s for the answer, default 5); print the answer line
#   wait_listening PID COUNT   wait until PID has COUNT sockets ready for clients
#                              (listening, or bound for datagrams); 10 s at most

SDFDTEST_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SDFDTEST_ROOT=$(dirname "$(dirname "$SDFDTEST_LIB")")
T_PASS=0 T_FAIL=0 T_FINISHED=0
T_TMPDIRS=() T_PIDS=() T_AT_EXIT=()

_t_indent() { sed 's/^/       /'; }

ok() {
  T_PASS=$((T_PASS + 1))
  echo "ok   $((T_PASS + T_FAIL)) - $1"
}

bad() {
  T_FAIL=$((T_FAIL + 1))
  echo "FAIL $((T_PASS + T_FAIL)) - $1"
  if [ -n "${2:-}" ]; then printf '%s\n' "$2" | tail -n 40 | _t_indent; fi
  return 0
}

check() {
  local name=$1; shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}

step() {
  local name=$1; shift
  local log; log=$(mktemp "${TMPDIR:-/tmp}/sdfd-step.XXXXXX")
  if "$@" >"$log" 2>&1; then ok "$name"; else bad "$name" "$(tail -n 30 "$log")"; fi
  rm -f "$log"
}

# counted NAME COMMAND...: the sub-suite's output is shown as it runs; its
# last "N passed, N failed" line is added (no such line: one failure).
counted() {
  local name=$1; shift
  local log; log=$(mktemp "${TMPDIR:-/tmp}/sdfd-counted.XXXXXX")
  echo "# $name"
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local line; line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  rm -f "$log"
  if [ -z "$line" ]; then bad "$name: no count line (exit status $rc)"; return; fi
  local p f; p=$(echo "$line" | awk '{print $1}'); f=$(echo "$line" | awk '{print $3}')
  T_PASS=$((T_PASS + p)); T_FAIL=$((T_FAIL + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then bad "$name: exit status $rc with no failed check"; fi
}

# count LOG NAME: a sub-suite run to LOG counts as one check.
count() {
  local line; line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
  if [ -z "$line" ]; then bad "$2: no result line" "$(tail -n 20 "$1")"; return; fi
  local p f; p=$(echo "$line" | awk '{print $1}'); f=$(echo "$line" | awk '{print $3}')
  if [ "$f" -eq 0 ] && [ "$p" -gt 0 ]; then ok "$2: $line"
  else bad "$2: $line" "$(grep -E '^(FAIL|DIFF|ERROR)' "$1" | head -n 20)"; fi
}

finish() {
  T_FINISHED=1
  echo "$T_PASS passed, $T_FAIL failed"
  [ "$T_FAIL" -eq 0 ] && [ "$T_PASS" -gt 0 ]
  exit $?
}

die() { bad "$@"; finish; }

tmpdir() {
  local d; d=$(mktemp -d "${TMPDIR:-/tmp}/sdfd-$2.XXXXXX") || die "mktemp -d"
  T_TMPDIRS+=("$d")
  printf -v "$1" '%s' "$d"
}

track() { T_PIDS+=("$@"); }
at_exit() { T_AT_EXIT+=("$1"); }

free_port() { python3 "$SDFDTEST_LIB/sdfdtest.py" free-port "${1:-tcp}"; }

# footprint_within GLIBC_ARCHIVE MUSL_ARCHIVE TOOLCHAIN...: issue 30's
# target, one check per toolchain: a program calling only sd_listen_fds
# gains from libsdfd.a at most the text the hand-written C
# (bench/handwritten.c) gains + 512 B (bench/footprint.sh; an archive not
# measured is given as -).
footprint_within() {
  local glibc_a=$1 musl_a=$2 fp tc gain hand; shift 2
  fp=$(FOOTPRINT_LISTEN_ONLY=1 FOOTPRINT_TOOLCHAINS="$*" "$SDFDTEST_ROOT/bench/footprint.sh" "$glibc_a" "$musl_a" 2>&1)
  for tc in "$@"; do
    gain='' hand=''
    read -r _ _ gain hand < <(grep "^gain-listen $tc " <<<"$fp") || true
    if [ -n "$gain" ] && [ -n "$hand" ]; then
      check "footprint, $tc: sd_listen_fds only gains $gain B text, at most hand-written $hand + 512" test "$gain" -le $((hand + 512))
    else
      bad "footprint, $tc: bench/footprint.sh measured the gains" "$fp"
    fi
  done
}

lacks() {
  local re=$1 out; shift
  out=$("$@" 2>&1) || return 1
  ! grep -qE -- "$re" <<<"$out"
}

need() {
  local c missing=()
  for c in "$@"; do command -v "$c" >/dev/null || missing+=("$c"); done
  [ ${#missing[@]} -eq 0 ] || die "not installed: ${missing[*]} (tests/deps.sh installs what the suites need)"
}

talk_tcp() {
  python3 - "$1" "$2" "${3:-100}" "${4:-5}" <<'PY'
import socket, sys, time
for _ in range(int(sys.argv[3])):
    try:
        c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=float(sys.argv[4]))
        break
    except OSError:
        time.sleep(0.05)
else:
    sys.exit("no listener")
c.sendall(sys.argv[2].encode() + b"\n")
print(c.makefile().readline().strip())
PY
}

wait_listening() { python3 "$SDFDTEST_LIB/sdfdtest.py" wait-listening "$1" "$2"; }

# build_both SRC OUTDIR [CFLAGS...]: SRC (a C program) built twice by $CC
# through pkg-config, as OUTDIR/NAME-libsystemd and OUTDIR/NAME-sdfd (NAME:
# SRC without .c; rpath to the installed sdfd's libdir); the suite finishes
# if either build fails or NAME-sdfd does not link libsdfd alone.
build_both() {
  local src=$1 out=$2 name deps; shift 2
  name=$(basename "$src" .c)
  step "$name.c builds against libsystemd" \
    ${CC:-cc} -O1 "$@" -Wall -Wextra -Werror -o "$out/$name-libsystemd" "$src" $(pkg-config --cflags --libs libsystemd)
  step "$name.c builds against sdfd" \
    ${CC:-cc} -O1 "$@" -Wall -Wextra -Werror -o "$out/$name-sdfd" "$src" $(pkg-config --cflags --libs sdfd) \
      -Wl,-rpath,"$(pkg-config --variable=libdir sdfd)"
  [ "$T_FAIL" -eq 0 ] || finish
  # The sdfd build must really use sdfd, not libsystemd.
  deps=$(ldd "$out/$name-sdfd")
  if [[ "$deps" == *libsdfd* && "$deps" != *libsystemd* ]]; then ok "$name-sdfd links libsdfd, not libsystemd"
  else die "$name-sdfd links libsystemd" "$deps"; fi
}

_t_exit() {
  local rc=$? c p d
  set +e
  for c in "${T_AT_EXIT[@]}"; do eval "$c"; done
  for p in "${T_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${T_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  for d in "${T_TMPDIRS[@]}"; do rm -rf "$d"; done
  if [ "$T_FINISHED" = 0 ]; then
    bad "aborted (exit status $rc)"
    echo "$T_PASS passed, $T_FAIL failed"
    exit 1
  fi
}
trap _t_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
