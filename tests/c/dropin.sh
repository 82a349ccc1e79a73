#!/usr/bin/env bash
# The binary drop-in (make compat): already-built Debian binaries that link
# libsystemd.so.0 and use only sd-daemon functions run unchanged on sdfd's
# libsystemd.so.0 shim through LD_LIBRARY_PATH:
#   * python3-systemd's C extension (systemd._daemon) passes python-systemd's
#     own test_daemon.py, with the same results as on the real libsystemd;
#   * Debian's prebuilt fcgiwrap, socket-activated, serves a FastCGI request;
#   * a binary needing more of libsystemd is refused at start-up, loudly,
#     with the shim's one message and status 127 whatever its binding: lazy
#     (calling that function only late), immediate (-z now: the loader would
#     fail on the first symbol), or needing a version node with no sd-daemon
#     function in it (LIBSYSTEMD_221: the loader's "version not found").
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. tests/lib/sdfdtest.sh
tmpdir t dropin

need fcgiwrap cgi-fcgi systemd-socket-activate pytest-3

STAGE=${SDFD_STAGE:-$ROOT/build/stage}
if ! out=$(make -s install-compat PREFIX="$STAGE" 2>&1); then die "make install-compat" "$out"; fi
SHIM=$STAGE/lib/sdfd/compat
vers=$(objdump -T "$SHIM/libsystemd.so.0" | grep -oE 'LIBSYSTEMD_[0-9]+ +sd_listen_fds_with_names')
[ -n "$vers" ] && ok "shim exports versioned symbols ($vers)" || bad "shim symbol versions"

# 1. python-systemd's C extension and its own tests.
py=/usr/bin/python3
ext=$($py -c 'import systemd._daemon as d; print(d.__file__)')
undef=$(nm -D --undefined-only "$ext" | grep -oE 'sd_[a-z_]+@LIBSYSTEMD_[0-9]+' | tr '\n' ' ')
echo "     $ext needs: $undef"
maps=$(LD_LIBRARY_PATH=$SHIM $py -c 'import systemd.daemon; print("".join(l for l in open("/proc/self/maps") if "libsystemd" in l))')
case "$maps" in *"$SHIM/libsystemd.so.0"*) ok "systemd._daemon loads the shim";; *) bad "systemd._daemon did not load the shim" "$maps";; esac
tests=/usr/lib/python3/dist-packages/systemd/test/test_daemon.py
real=$(cd "$t" && $py -m pytest -q -p no:cacheprovider "$tests" 2>&1 | tail -n 1)
shim=$(cd "$t" && LD_LIBRARY_PATH=$SHIM $py -m pytest -q -p no:cacheprovider "$tests" 2>&1 | tail -n 1)
echo "     libsystemd: $real"; echo "     shim:       $shim"
if [[ "$shim" =~ ([0-9]+)\ passed ]] && [ "${BASH_REMATCH[1]}" -ge 20 ] && [[ "$shim" != *failed* ]] \
   && [ "${real%% in *}" = "${shim%% in *}" ]; then
  ok "python-systemd's test_daemon.py: same results on the shim as on libsystemd"
else bad "python-systemd's test_daemon.py on the shim" "$shim"; fi

# 2. Debian's prebuilt fcgiwrap, socket-activated on the shim.
bin=$(command -v fcgiwrap || echo /usr/sbin/fcgiwrap)
deps=$(ldd "$bin")   # (not piped into grep -q: with pipefail, an early exit would fail the pipe)
if [[ "$deps" == *"libsystemd.so.0 => /"* ]]; then ok "Debian's fcgiwrap binary links libsystemd.so.0"; else bad "fcgiwrap does not link libsystemd" "$deps"; fi
other=$(nm -D --undefined-only "$bin" | grep '@LIBSYSTEMD' | grep -vE ' sd_(listen_fds|listen_fds_with_names|is_[a-z_]+|notify|notifyf|pid_notify[a-z_]*|booted|watchdog_enabled|notify_barrier)@' || true)
[ -z "$other" ] && ok "fcgiwrap uses only sd-daemon functions" || bad "fcgiwrap needs more of libsystemd" "$other"
port=$(free_port)
cat > "$t/hello.cgi" <<'CGI'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\nhello from %s pid=%s\n' "$(grep -o '[^ ]*libsystemd.so.0' /proc/$PPID/maps | head -n 1)" "$PPID"
CGI
chmod +x "$t/hello.cgi"
timeout 20 systemd-socket-activate -E LD_LIBRARY_PATH="$SHIM" -l "127.0.0.1:$port" "$bin" </dev/null >"$t/fcgi.log" 2>&1 &
track $!
wait_listening $! 1
reply=$(SCRIPT_FILENAME=$t/hello.cgi REQUEST_METHOD=GET QUERY_STRING= timeout 10 cgi-fcgi -bind -connect "127.0.0.1:$port" 2>&1)
case "$reply" in
  *"hello from $SHIM/libsystemd.so.0"*) ok "prebuilt fcgiwrap on the shim served a FastCGI request";;
  *) bad "prebuilt fcgiwrap on the shim" "$reply"$'\n'"$(cat "$t/fcgi.log")";;
esac

# 3. A program needing more than sd-daemon is refused at start-up, before
#    any of its code runs, naming what it lacks, with one message and status
#    whatever its binding (compat/refuse.c): lazy binding and a call only
#    late, immediate binding (-z now), a version node without sd-daemon
#    functions (sd_bus_new@LIBSYSTEMD_221).
nodes=$(objdump -p "$SHIM/libsystemd.so.0" | sed -n '/Version definitions/,/^$/p' | grep -oE '^[0-9]+ .* LIBSYSTEMD_[0-9]+' | awk '{print $4}' | tr '\n' ' ')
want=$(objdump -p /lib/x86_64-linux-gnu/libsystemd.so.0 | sed -n '/Version definitions/,/^$/p' | grep -oE '^[0-9]+ .* LIBSYSTEMD_[0-9]+' | awk '{print $4}' | tr '\n' ' ')
[ -n "$want" ] && [ "$nodes" = "${want}LIBSYSTEMD_254 " ] && ok "shim defines every version node of libsystemd 252 (${want%% *} ... LIBSYSTEMD_252) and LIBSYSTEMD_254" \
  || bad "shim version nodes" "shim: $nodes"$'\n'"libsystemd: $want"
# The check runs in an IFUNC resolver while the loader relocates the shim:
# the C library calls it makes go through GLOB_DAT slots, which must all be
# relocated before the IRELATIVE one that runs it.
rel=$(readelf -rW "$SHIM/libsystemd.so.0" | sed -n "/'.rela.dyn'/,/^$/p" | grep -E 'R_X86_64_(GLOB_DAT|IRELATIVE|JUMP_SLOT)' | awk '{print $3}' | uniq | tr '\n' ' ')
[ "$rel" = "R_X86_64_GLOB_DAT R_X86_64_IRELATIVE " ] && ok "shim: the check's IRELATIVE relocation comes after every GLOB_DAT ($rel)" || bad "shim relocation order" "$rel"
for v in LATE_JOURNAL ID128 BUS221; do
  case $v in LATE_JOURNAL) sym=sd_journal_print_with_location@LIBSYSTEMD_209;; ID128) sym=sd_id128_get_machine@LIBSYSTEMD_209;;
             BUS221) sym=sd_bus_new@LIBSYSTEMD_221;; esac
  call=${sym%@*}; call=${call%_with_location}
  for bind in lazy now; do
    exe=$t/needs-$v-$bind
    if ! out=$(cc -O1 -D$v -Wl,-z,$bind -o "$exe" tests/c/shim-needs-more.c $(pkg-config --cflags --libs libsystemd) 2>&1); then
      bad "build tests/c/shim-needs-more.c -D$v -z $bind" "$out"; continue; fi
    flags=$(readelf -d "$exe" | grep -E 'FLAGS' | tr -s ' ' | cut -d' ' -f4- | tr '\n' ' ')
    if [ $bind = now ]; then [[ "$flags" == *NOW* ]]; else [[ "$flags" != *NOW* ]]; fi \
      || { bad "$v -z $bind: binding flags" "$flags"; continue; }
    real=$("$exe" 2>&1); rc_real=$?
    [ $rc_real -eq 0 ] && [[ "$real" == *"$call="* ]] \
      && ok "$v program (-z $bind) runs to its late $call call on libsystemd" || bad "$v -z $bind on libsystemd" "$real"
    for how in LD_LIBRARY_PATH LD_PRELOAD; do
      if [ $how = LD_LIBRARY_PATH ]; then out=$(LD_LIBRARY_PATH=$SHIM "$exe" 2>"$t/err"); rc=$?
      else out=$(LD_PRELOAD=$SHIM/libsystemd.so.0 "$exe" 2>"$t/err"); rc=$?; fi
      err=$(cat "$t/err")
      if [ $rc -eq 127 ] && [ -z "$out" ] && [[ "$err" == "libsystemd.so.0 (sdfd shim, sd-daemon functions only): $exe needs "* ]] \
         && [[ "$err" == *"needs $sym, which it does not provide; run it with systemd's libsystemd.so.0"* ]] \
         && [[ "$err" != *"symbol lookup error"* && "$err" != *"not found"* ]]; then
        ok "$v program (-z $bind) refused at start-up on the shim ($how): the shim's message, rc 127, none of its code run"
      else bad "$v program (-z $bind) on the shim ($how) should be refused at start-up" "rc=$rc stdout=$out"$'\n'"$err"; fi
    done
  done
done
echo "     e.g. $(LD_LIBRARY_PATH=$SHIM "$t/needs-BUS221-now" 2>&1)"
# A real Debian program linked with immediate binding: dbus-daemon (-z now,
# needs sd_uid_get_seats, sd_journal_stream_fd ...; package from tests/deps.sh).
dbd=/usr/bin/dbus-daemon
if [ -x $dbd ]; then
  out=$(LD_LIBRARY_PATH=$SHIM $dbd --version 2>"$t/err"); rc=$?; err=$(cat "$t/err")
  flags=$(readelf -d $dbd | grep FLAGS | tr '\n' ' ')
  if [[ "$flags" == *NOW* ]] && [ $rc -eq 127 ] && [ -z "$out" ] && [[ "$err" == *"$dbd needs sd_"*"which it does not provide"* ]] \
     && [[ "$err" != *"symbol lookup error"* ]]; then
    ok "Debian's dbus-daemon (-z now) refused on the shim with the shim's message, rc 127 ($(grep -o 'needs [^ ,]*' <<<"$err" | head -n 1) ...)"
  else bad "Debian's dbus-daemon on the shim" "flags=$flags rc=$rc out=$out"$'\n'"$err"; fi
else bad "dbus-daemon is not installed (tests/deps.sh)"; fi
# A module dlopen()ed with RTLD_NOW (Python's default) fails in dlopen itself.
err=$(LD_LIBRARY_PATH=$SHIM $py -c 'import systemd.id128' 2>&1); rc=$?
case "$rc:$err" in
  1:*"ImportError"*"undefined symbol: sd_id128_"*) ok "a Python module needing sd_id128 fails to import on the shim, clearly (${err##*: })";;
  *) bad "systemd.id128 on the shim should fail to import" "rc=$rc $err";;
esac

finish
