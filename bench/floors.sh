#!/usr/bin/env bash
# Where the size floors of issue 30 are: libsdfd built as `make lib` builds
# it from copies of this tree with one part taken out each, measured here
# side by side with the unchanged build. Never shipped: the copies are edited
# by this script (each edit must apply exactly as often as it says, else it
# stops) and removed at the end.
#
#   shared library, stripped:
#     as built        the tree as it is
#     no hand-off     the three sdfd_handoff_* functions and the hand-off
#                     module out (`capi` without `handoff`)
#     sd-daemon only  every sdfd_* extension unexported (so dropped): the 19
#                     sd_* functions of libsystemd's sd-daemon API alone
#   libsdfd.a with libc's environment calls (src/env.rs's Linux code out, so
#   the listen path calls getenv/unsetenv as on other Unixes), against the
#   unchanged archive: the `sd_listen_fds`-only text gain (bench/footprint.sh,
#   glibc -static and libc shared) and the start-up of bench/start.c linked
#   with it, glibc shared, as (c) of bench/RESULTS.md (callgrind, whole
#   process started by bench/spawn.c, median of 3); the same with libc's
#   strtol/strtoul for the numbers too; the unchanged archive without the
#   LISTEN_PIDFDID check (systemd 258's, not in 252 nor in the hand-written
#   C). Beside them, bench/exact-listen.c: the same results written in C
#   (libc's calls), with and without that check, first held to libsystemd
#   252 and to the unchanged libsdfd.a by bench/exact-listen-check.c.
#
#   bench/floors.sh     prints a Markdown section (bench/run.sh adds it to RESULTS.md)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
W=$(mktemp -d /var/tmp/sdfd-floors.XXXXXX)
trap 'rm -rf "$W"' EXIT
export CARGO_TARGET_DIR=$W/target

# copy NAME: the tracked files of this tree (with uncommitted edits) in $W/NAME
copy() {
  mkdir -p "$W/$1"
  git ls-files -z | tar -C "$ROOT" --null -T - -cf - | tar -C "$W/$1" -xf -
}
# edit FILE COUNT <<'EOF' PYTHON-EXPR EOF: rewrite FILE with the expression
# (on stdin, over the text `s`, giving (new text, replacements)) applied;
# COUNT is how many replacements it must make.
edit() {
  python3 -c '
import re, sys
path, want = sys.argv[1], int(sys.argv[2])
expr = sys.stdin.read()
s = open(path).read()
new, n = eval(expr)
if n != want:
    sys.exit("floors.sh: %s: %d replacements, expected %d (%s)" % (path, n, want, expr.strip()))
open(path, "w").write(new)
' "$1" "$2"
}
# build NAME: make lib in $W/NAME into $W/NAME/build; prints nothing
build() {
  (cd "$W/$1" && make -s lib B="$W/$1/build" >"$W/$1.log" 2>&1) || { cat "$W/$1.log" >&2; exit 1; }
}
stripped() { strip -o "$W/s.tmp" "$1" && stat -c %s "$W/s.tmp" && rm -f "$W/s.tmp"; }
# exports LIB [AWK-CONDITION]: how many functions LIB exports (that match)
exports() { nm -D --defined-only "$1" | awk '$2 == "T" && ('"${2:-1}"')' | wc -l; }
# calls ARCHIVE SYMBOL: whether ARCHIVE's sd_listen_fds member refers to
# SYMBOL undefined (a libc call on the listen path; other members of the
# unchanged archive call unsetenv already)
calls() { nm -A "$1" >"$W/nm.txt" 2>/dev/null || true; grep -q ":sdfd-sd_listen_fds\.o: *U $2\$" "$W/nm.txt"; }
num() { printf '%s' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }

copy full
build full

copy nohandoff
edit "$W/nohandoff/Cargo.toml" 1 <<'EOF'
re.subn(r'(?m)^capi = \["handoff"\]$', 'capi = []', s)
EOF
# (the four #[cfg(unix)] items of src/ffi.rs that reach the hand-off: its fd
# helper and the three sdfd_handoff_* functions)
edit "$W/nohandoff/src/ffi.rs" 4 <<'EOF'
re.subn(r'#\[cfg\(unix\)\]\n((?:[^\n]*\n){0,3}[^\n]*(?:fn handoff_fds|fn sdfd_handoff_))',
        r'#[cfg(all(unix, feature = "handoff"))]\n\1', s)
EOF
edit "$W/nohandoff/src/ffi.rs" 1 <<'EOF'
re.subn(r'\nfn opt_uid\(', '\n#[allow(dead_code)]\nfn opt_uid(', s)
EOF
build nohandoff

copy sdonly
n=$(grep -c 'extern "C" fn sdfd_' "$W/sdonly/src/ffi.rs")
edit "$W/sdonly/src/ffi.rs" "$n" <<'EOF'
re.subn(r'#\[no_mangle\]\n(pub (?:unsafe )?extern "C" fn sdfd_)', r'\1', s)
EOF
build sdonly
ns=$(exports "$W/sdonly/build/libsdfd.so.0")
[ "$(exports "$W/sdonly/build/libsdfd.so.0" '$3 !~ /^sd_/')" -eq 0 ] \
  || { echo "floors.sh: the sd-daemon-only library exports an sdfd_* function" >&2; exit 1; }

copy libcenv
edit "$W/libcenv/src/env.rs" "$(grep -c 'target_os = "linux"' src/env.rs)" <<'EOF'
re.subn(r'target_os = "linux"', 'target_os = "none-here"', s)
EOF
build libcenv
calls "$W/libcenv/build/libsdfd.a" unsetenv \
  || { echo "floors.sh: the libc-environment archive does not call unsetenv" >&2; exit 1; }

# ... and libc's strtol/strtoul for LISTEN_PID and LISTEN_FDS too (what the
# hand-written C and libsystemd call): systemd 252's safe_atoi/safe_atolu
# around them (white space, '-' refused for unsigned, errno, the whole string;
# systemd's own 0b/0o step left out, so its sizes are a lower bound).
copy libcall
cp "$W/libcenv/src/env.rs" "$W/libcall/src/env.rs"
edit "$W/libcall/src/parse.rs" 1 <<'EOF'
re.subn(r'(?s)(unsafe fn safe_strto\(s: \*const u8, conv: u64\) -> Result<u64> \{\n).*?\n\}\n', r"""\1    let mut end: *mut libc::c_char = core::ptr::null_mut();
    *libc::__errno_location() = 0;
    let v = if conv == STRTOL {
        libc::strtol(s.cast(), &mut end, 0) as u64
    } else {
        let mut q = s;
        while matches!(*q, b' ' | b'\\t' | b'\\n' | 0x0b | 0x0c | b'\\r') {
            q = q.add(1);
        }
        if *q == b'-' {
            return Err(Errno::ERANGE);
        }
        libc::strtoul(s.cast(), &mut end, 0) as u64
    };
    let e = *libc::__errno_location();
    if e != 0 {
        return Err(Errno(e));
    }
    if end.is_null() || end.cast_const().cast::<u8>() == s || *end != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(v)
}
""", s, count=1)
EOF
build libcall
calls "$W/libcall/build/libsdfd.a" strtol \
  || { echo "floors.sh: the libc-call archive does not call strtol" >&2; exit 1; }

# ... and the unchanged tree without the LISTEN_PIDFDID check (the variable
# ignored, as libsystemd 252 and bench/handwritten.c ignore it).
copy nopid
edit "$W/nopid/src/backend/listen_env.rs" 1 <<'EOF'
re.subn(r'(?s)\nfn pidfd_id_matches\(pidfdid: Option<\*const u8>, own: libc::pid_t\) -> Result<bool> \{\n.*?\n\}\n',
        '\n#[allow(dead_code)]\nfn pidfd_id_matches(_: Option<*const u8>, _: libc::pid_t) -> Result<bool> {\n    Ok(true)\n}\n', s)
EOF
build nopid

# bench/exact-listen.c as archives (with the check, and -DNO_PIDFDID), held
# first to what it stands for: for every input below, the same output as
# libsystemd 252 (without the check, which 252 does not make) and as the
# unchanged libsdfd.a (with it).
for v in exact exact252; do
  mkdir -p "$W/$v"
  cc -Os $([ $v = exact252 ] && echo -DNO_PIDFDID) -c -o "$W/$v/exact-listen.o" bench/exact-listen.c
  ar rcs "$W/$v/libexact.a" "$W/$v/exact-listen.o"
  cc -O2 -o "$W/check-$v" bench/exact-listen-check.c "$W/$v/libexact.a"
done
cc -O2 -o "$W/check-libsystemd" bench/exact-listen-check.c $(pkg-config --cflags --libs libsystemd)
cc -O2 -o "$W/check-sdfd" bench/exact-listen-check.c "$W/full/build/libsdfd.a"
# compare A B PID FDS PIDFDID: one input, two programs; prints a line if they differ
compare() {
  local a b
  a=$("$W/check-$1" "$3" "$4" "$5" </dev/null 2>&1) b=$("$W/check-$2" "$3" "$4" "$5" </dev/null 2>&1)
  [ "$a" = "$b" ] || echo "$1 / $2 for LISTEN_PID='$3' LISTEN_FDS='$4' LISTEN_PIDFDID='$5': $a / $b"
}
pids=('{pid}' - 1 0 -1 -0 ' {pid}' '+{pid}' '{pid} ' '{pid}x' '' abc 99999999999999999999 4294967296 0x1 $'\t{pid}')
fdss=(2 - 1 0 -1 010 0x2 0X2 0b10 0B10 0o2 0O2 ' 2' '+2' '2 ' '' x 99999999999 2147483645 2147483644 -2147483648 0x 08 $'\n2')
ids=(- '{id}' '{id}1' abc -1 '' 0x1 ' {id}' 18446744073709551615 18446744073709551616)
diffs=$(
  for p in "${pids[@]}"; do for f in "${fdss[@]}"; do
    compare libsystemd exact252 "$p" "$f" -
  done; done
  for p in '{pid}' 1; do for f in 2 0 x; do for i in "${ids[@]}"; do
    compare sdfd exact "$p" "$f" "$i"
  done; done; done
)
inputs=$((${#pids[@]} * ${#fdss[@]} + 2 * 3 * ${#ids[@]}))
[ -z "$diffs" ] || { echo "floors.sh: bench/exact-listen.c gives other results:" >&2; echo "$diffs" >&2; exit 1; }

full=$(stripped "$W/full/build/libsdfd.so.0")
noh=$(stripped "$W/nohandoff/build/libsdfd.so.0")
sdo=$(stripped "$W/sdonly/build/libsdfd.so.0")
nt=$(exports "$W/full/build/libsdfd.so.0")
nn=$(exports "$W/nohandoff/build/libsdfd.so.0")

gains() {  # gains ARCHIVE: "STATIC DYNAMIC HAND-STATIC HAND-DYNAMIC"
  FOOTPRINT_LISTEN_ONLY=1 FOOTPRINT_TOOLCHAINS="glibc-static glibc-dynamic" bench/footprint.sh "$1" - |
    awk '$1 == "gain-listen" {g[$2] = $3; h[$2] = $4} END {print g["glibc-static"], g["glibc-dynamic"], h["glibc-static"], h["glibc-dynamic"]}'
}
read -r fs fd hs hd < <(gains "$W/full/build/libsdfd.a")
read -r ls ld _ _ < <(gains "$W/libcenv/build/libsdfd.a")
read -r cs cd _ _ < <(gains "$W/libcall/build/libsdfd.a")
read -r ns_ nd_ _ _ < <(gains "$W/nopid/build/libsdfd.a")
read -r es ed _ _ < <(gains "$W/exact/libexact.a")
read -r e2s e2d _ _ < <(gains "$W/exact252/libexact.a")
# (a failure inside `< <(...)` does not stop this script: every gain is checked here)
for v in "$fs" "$fd" "$hs" "$hd" "$ls" "$ld" "$cs" "$cd" "$ns_" "$nd_" "$es" "$ed" "$e2s" "$e2d"; do
  [[ "$v" =~ ^[0-9]+$ ]] || { echo "floors.sh: bench/footprint.sh measured no gain" >&2; exit 1; }
done
# (without the check is smaller, or the edit took nothing out)
[ "$ns_" -lt "$fs" ] || { echo "floors.sh: taking the LISTEN_PIDFDID check out saved nothing ($ns_ vs $fs)" >&2; exit 1; }

cc -O2 -o "$W/spawn" bench/spawn.c
instructions() {  # instructions PROG: the whole process under callgrind, started by spawn, median of 3
  for _ in 1 2 3; do
    "$W/spawn" exec valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" 2>&1 |
      sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
  done | sort -n | sed -n 2p
}
startup() {  # startup ARCHIVE: instructions of bench/start.c linked with it (glibc shared)
  local prog=$W/start-$RANDOM
  cc -O2 -Iinclude -o "$prog" bench/start.c -Wl,-Bstatic "$1" -Wl,-Bdynamic -lm -lrt -lpthread
  instructions "$prog"
}
cc -O2 -o "$W/plain" bench/plain.c
p0=$(instructions "$W/plain")
sf=$(startup "$W/full/build/libsdfd.a")
sl=$(startup "$W/libcenv/build/libsdfd.a")
sc=$(startup "$W/libcall/build/libsdfd.a")
sn=$(startup "$W/nopid/build/libsdfd.a")
se=$(startup "$W/exact/libexact.a")
se2=$(startup "$W/exact252/libexact.a")
for v in "$p0" "$sf" "$sl" "$sc" "$sn" "$se" "$se2"; do [ -n "$v" ] || { echo "floors.sh: callgrind gave no count" >&2; exit 1; }; done
x() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f×", a / b}'; }

echo "## Floors (bench/floors.sh)"
echo
echo "libsdfd built as \`make lib\` builds it, from copies of the tree with one part taken out, beside the unchanged build (issue 30: \`libsdfd.so.0\` ≤ 20 KB stripped; a program calling only \`sd_listen_fds\` gains at most the hand-written C + 512 B from libsdfd.a)."
echo
echo "| shared library, stripped | exported functions | bytes | ≤ 20 KB |"
echo "|---|---:|---:|---|"
ok() { [ "$1" -le 20480 ] && echo "✓" || echo "✗"; }
echo "| as built | $nt | $(num "$full") | $(ok "$full") |"
echo "| without the hand-off (\`sdfd_handoff_*\`) | $nn | $(num "$noh") | $(ok "$noh") |"
echo "| the sd-daemon API alone (\`sd_*\`, every \`sdfd_*\` extension out) | $ns | $(num "$sdo") | $(ok "$sdo") |"
echo
echo "| libsdfd.a, \`sd_listen_fds\` only | glibc \`-static\` text gain | glibc shared text gain | start-up, glibc shared (instructions) | × \`return 0\` |"
echo "|---|---:|---:|---:|---:|"
echo "| as built (\`environ\` read and edited by the library) | +$(num "$fs") | +$(num "$fd") | $(num "$sf") | $(x "$sf" "$p0") |"
echo "| libc's \`getenv\`/\`unsetenv\` instead | +$(num "$ls") | +$(num "$ld") | $(num "$sl") | $(x "$sl" "$p0") |"
echo "| libc's \`getenv\`/\`unsetenv\` and \`strtol\`/\`strtoul\` | +$(num "$cs") | +$(num "$cd") | $(num "$sc") | $(x "$sc" "$p0") |"
echo "| as built, without the \`LISTEN_PIDFDID\` check | +$(num "$ns_") | +$(num "$nd_") | $(num "$sn") | $(x "$sn" "$p0") |"
echo "| bench/exact-listen.c: the same results in C (libc's \`getenv\`, \`unsetenv\`, \`strtol\`, \`strtoul\`, \`fcntl\`) | +$(num "$es") | +$(num "$ed") | $(num "$se") | $(x "$se" "$p0") |"
echo "| bench/exact-listen.c without the \`LISTEN_PIDFDID\` check (libsystemd 252's results) | +$(num "$e2s") | +$(num "$e2d") | $(num "$se2") | $(x "$se2" "$p0") |"
echo "| target: hand-written C (bench/handwritten.c) + 512 B; start-up ≤ 1.05× | ≤ $(num $((hs + 512))) | ≤ $(num $((hd + 512))) | | ≤ 1.050× |"
echo
echo "\`return 0\` (bench/plain.c, glibc shared) is $(num "$p0") instructions in this run. bench/exact-listen.c gave the same results as libsystemd 252 (without the \`LISTEN_PIDFDID\` check) and as libsdfd.a (with it) for all $inputs inputs of bench/floors.sh (bench/exact-listen-check.c)."
