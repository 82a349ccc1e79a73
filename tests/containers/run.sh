#!/usr/bin/env bash
# Containers through a real runtime (rootful podman + runc): `make image`
# builds the base-less image offline, then
#   (a) socket activation from the host: systemd-socket-activate starts
#       `podman run`, the daemon is pid 1 in the container and takes its
#       socket by name (also with -E passing podman's configuration);
#   (b) sdfd-activate as the entrypoint: binds, starts the daemon, replaces it
#       on `podman kill --signal HUP` without failing a request under load,
#       stops on `podman stop` with exit status 0;
#   (c) with --init: catatonit rewrites LISTEN_PID for its child (host
#       activation), and runs the launcher as its child (entrypoint).
# The podman command lines are read from docs/containers.md, so the doc and
# this test cannot drift. Podman is configured only through this suite's own
# containers.conf/storage.conf in a temp dir (its own image store: the host's
# podman configuration, images and containers are not touched); the host-
# activated runs happen in a private network namespace (unshare -n, so the
# documented port 8080 is always free); the entrypoint container has
# --network=none and is reached with nsenter -n (a published port would need
# podman's bridge network, which adds a bridge and firewall rules to the
# host; --network=host would bind 8080 on the host). Every image, container,
# process and host path created is removed, also on failure. Needs root.
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DOC=$ROOT/docs/containers.md
. tests/lib/sdfdtest.sh

[ "$(id -u)" -eq 0 ] || die "needs root (rootful podman, unshare -n, nsenter)"
need podman runc musl-gcc systemd-socket-activate ip unshare nsenter python3 readelf
command -v rustup >/dev/null && { rustup target list --installed | grep -qx x86_64-unknown-linux-musl \
  || rustup target add x86_64-unknown-linux-musl >/dev/null 2>&1; }

tmpdir W containers
PODMAN_BIN=$(command -v podman)
mkdir -p "$W/t" && export TMPDIR=$W/t   # podman build's scratch files (else /var/tmp)
export CONTAINERS_CONF=$W/containers.conf CONTAINERS_STORAGE_CONF=$W/storage.conf
pm() { "$PODMAN_BIN" "$@"; }   # podman with the suite's configuration (exported above)
# Host paths podman and runc create even with the suite's own configuration
# (runc's state root; the blob-info cache of containers/image, whose location
# cannot be configured): removed at the end if they did not exist before.
HOSTPATHS=(/var/lib/containers /var/lib/containers/cache /var/lib/containers/cache/blob-info-cache-v1.boltdb /run/runc)
CREATED=()
for p in "${HOSTPATHS[@]}"; do [ -e "$p" ] || CREATED=("$p" "${CREATED[@]}"); done
# On every exit, before the temp dir goes: the suite's containers and images,
# container mounts left by a failure, the host paths it created.
cleanup() {
  if [ -f "$CONTAINERS_CONF" ]; then
    local c; for c in $(pm ps -aq 2>/dev/null); do pm rm -f -t 0 "$c" >/dev/null 2>&1; done
    pm rmi -af >/dev/null 2>&1
  fi
  findmnt -rn -o TARGET | grep "^$W/" | sort -r | xargs -r -n1 umount -l 2>/dev/null
  for p in "${CREATED[@]}"; do   # deepest first; directories only when empty
    if [ -d "$p" ]; then rmdir "$p" 2>/dev/null; else rm -f "$p"; fi
  done
}
at_exit cleanup

# The suite's podman configuration (see docs/containers.md): runc (crun 1.8
# fails on hybrid cgroup hosts), explicit ulimits at the hard limits (podman's
# 1048576 needs CAP_SYS_RESOURCE), no systemd manager needed, its own store.
N=$(ulimit -Hn); M=$(ulimit -Hu); PM=$(cat /proc/sys/kernel/pid_max)
{ [ "$N" = unlimited ] || [ "$N" -gt 1048576 ]; } && N=1048576
{ [ "$M" = unlimited ] || [ "$M" -gt "$PM" ]; } && M=$PM
cat >"$CONTAINERS_CONF" <<EOF
[containers]
default_ulimits = ["nofile=$N:$N", "nproc=$M:$M"]
init_path = "$(command -v catatonit)"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$W/tmp"
image_copy_tmp_dir = "$W/t"
EOF
cat >"$CONTAINERS_STORAGE_CONF" <<EOF
[storage]
driver = "vfs"
graphroot = "$W/storage"
runroot = "$W/run"
EOF
# `podman` in the documented command lines: the same binary and configuration.
mkdir -p "$W/bin"
# (systemd-socket-activate passes podman only TERM, PATH, USER and HOME.)
printf '#!/bin/sh\nexport CONTAINERS_CONF=%s CONTAINERS_STORAGE_CONF=%s\nexec %s "$@"\n' \
  "$CONTAINERS_CONF" "$CONTAINERS_STORAGE_CONF" "$PODMAN_BIN" >"$W/bin/podman"
chmod +x "$W/bin/podman"
export PATH=$W/bin:$PATH

# docline TAG: the command in the ```sh block after "<!-- test: TAG -->" in
# docs/containers.md, continuation lines joined.
docline() {
  awk -v tag="<!-- test: $1 -->" '
    $0 == tag { found = 1; next }
    found && /^```sh$/ { inblock = 1; next }
    inblock && /^```$/ { exit }
    inblock { sub(/\\$/, ""); sub(/^ +/, ""); printf "%s%s", sep, $0; sep = " " }
  ' "$DOC" | sed 's/  */ /g'
}

# 1. The image, offline.
if nice -n 5 make -s image B="$W/build" PODMAN=podman >"$W/image.log" 2>&1; then
  ok "make image builds localhost/sdfd-hello offline"
else
  die "make image builds localhost/sdfd-hello offline" "$(tail -20 "$W/image.log")"
fi
SIZE=$(pm image inspect --format '{{.Size}}' localhost/sdfd-hello)
echo "     image size: $SIZE bytes ($(grep -o 'localhost/sdfd-hello: .*' "$W/image.log"))"
check "image has one layer" test "$(pm image inspect --format '{{len .RootFS.Layers}}' localhost/sdfd-hello)" -eq 1
MNT=$(pm image mount localhost/sdfd-hello)
files=$(cd "$MNT" && find . -mindepth 1 | sort | tr '\n' ' ')
check "image holds exactly /hello-daemon, /sdfd-activate and an empty /tmp ($files)" \
  test "$files" = "./hello-daemon ./sdfd-activate ./tmp "
check "/tmp is mode 1777" test "$(stat -c %a "$MNT/tmp")" = 1777
echo "     /sdfd-activate $(stat -c %s "$MNT/sdfd-activate") bytes, /hello-daemon $(stat -c %s "$MNT/hello-daemon") bytes"
for f in hello-daemon sdfd-activate; do
  check "/$f is static (no PT_INTERP, no DT_NEEDED)" \
    eval "lacks INTERP readelf -lW '$MNT/$f' && lacks NEEDED readelf -dW '$MNT/$f'"
done
check "/hello-daemon uses sdfd, not libsystemd" lacks 'libsystemd|GLIBC_2' strings "$MNT/hello-daemon"
pm image unmount localhost/sdfd-hello >/dev/null
check "entrypoint is /sdfd-activate" \
  test "$(pm image inspect --format '{{json .Config.Entrypoint}}' localhost/sdfd-hello)" = '["/sdfd-activate"]'
cmd=$(pm image inspect --format '{{join .Config.Cmd " "}}' localhost/sdfd-hello)
check "default command as documented ($cmd)" grep -qF "\`/sdfd-activate $cmd\`" "$DOC"
check "image is smaller than 1 MiB ($SIZE bytes)" test "$SIZE" -lt 1048576

# no_containers: true once the store holds no container (podman run --rm
# removes it from a cleanup process that may finish after podman run has
# exited: wait up to 10 s); else shows what is left.
no_containers() {
  for _ in $(seq 100); do [ -z "$(pm ps -aq)" ] && return 0; sleep 0.1; done
  pm ps -a | sed 's/^/       /'; return 1
}

# host_activated NAME COMMAND EXPECT: runs COMMAND (systemd-socket-activate
# -l 127.0.0.1:8080 ... podman run ...) in a private network namespace, sends
# 3 requests, then `podman stop` (not SIGTERM to podman run: podman 4.3
# installs its signal proxy only after the container has started, and a
# signal in between ends podman and leaves the container running; fixed in
# podman 4.4). EXPECT is a regex
# the answers' body must match; hello-daemon's answer names the socket as
# sd_listen_fds_with_names() gave it ("web": LISTEN_FDNAMES reached the
# container) and its pid.
host_activated() {
  local name=$1 cmd=$2 expect=$3 out=$W/$1
  mkdir -p "$out"
  timeout 90 unshare -n -- bash -c '
    ip link set lo up || exit 1
    bash -c "$1" >"$2/act.log" 2>&1 &
    A=$!
    timeout 30 python3 "$3" get 8080 3 >"$2/answers"
    c=$(podman ps -q)   # the one container of the suite store
    [ -n "$c" ] && timeout 20 podman stop "$c" >/dev/null 2>>"$2/act.log"
    for _ in $(seq 100); do kill -0 $A 2>/dev/null || break; sleep 0.1; done
    kill -0 $A 2>/dev/null && { echo "podman run still running 10 s after podman stop" >>"$2/act.log"; kill -KILL $A; }
    wait $A; echo $? >"$2/rc"
  ' _ "$cmd" "$out" "$ROOT/tests/containers/client.py"
  local n; n=$(grep -cE "^[0-9.]+ HTTP/1.0 200 OK \| $expect\$" "$out/answers")
  check "$name: 3 requests answered: $expect" test "$n" -eq 3
  [ "$n" -eq 3 ] || sed 's/^/       /' "$out/answers" "$out/act.log"
  check "$name: after podman stop, podman run exits 0, the daemon's status (rc=$(cat "$out/rc" 2>/dev/null))" \
    test "$(cat "$out/rc" 2>/dev/null)" = 0
  echo "     first answer after $(head -c 5 "$out/answers") s (container start)"
}

# 2. (a) Socket-activated from the host: the documented line, as written.
A_CMD=$(docline host-activation)
check "docs/containers.md has the host-activation line" \
  bash -c "[[ '$A_CMD' == 'systemd-socket-activate -l 127.0.0.1:8080 --fdname=web podman run '* ]]"
host_activated "host activation" "$A_CMD" 'Hello from a socket-activated daemon: fd 3, socket "web", pid 1'
check "host activation: container removed (--rm)" no_containers

# The same with the real podman binary and its configuration passed with -E
# (systemd-socket-activate passes only TERM, PATH, USER, HOME and LISTEN_*).
E_CMD="systemd-socket-activate -l 127.0.0.1:8080 --fdname=web -E CONTAINERS_CONF -E CONTAINERS_STORAGE_CONF \
$PODMAN_BIN run --rm --network=none --entrypoint /hello-daemon localhost/sdfd-hello"
host_activated "host activation, -E CONTAINERS_CONF" "$E_CMD" 'Hello .* socket "web", pid 1'
check "host activation, -E CONTAINERS_CONF: container removed (--rm)" no_containers

# 3. (c) With --init: catatonit is pid 1, the daemon its child.
C_CMD=$(docline host-activation-init)
check "docs/containers.md has the --init line" bash -c "[[ '$C_CMD' == *' --init '* ]]"
host_activated "--init" "$C_CMD" 'Hello from a socket-activated daemon: fd 3, socket "web", pid ([2-9]|[1-9][0-9]+)'
check "--init: container removed (--rm)" no_containers

# 4. (b) The launcher as the entrypoint: the documented line with
# --network=none instead of the published port.
B_DOC=$(docline entrypoint)
B_CMD=${B_DOC/ -p 8080:8080 / --network=none }
check "docs/containers.md has the entrypoint line (with -p 8080:8080)" \
  bash -c "[[ '$B_CMD' != '$B_DOC' && '$B_CMD' == 'podman run -d --name hello '* ]]"
if bash -c "$B_CMD" >"$W/b.log" 2>&1; then ok "entrypoint: container started ($B_CMD)"
else bad "entrypoint: container started ($B_CMD)" "$(cat "$W/b.log")"; fi
CPID=$(pm inspect --format '{{.State.Pid}}' hello 2>/dev/null)
inns() { timeout 60 nsenter -n -t "$CPID" "$@"; }
first=$(inns python3 tests/containers/client.py get 8080 1)
check "entrypoint: request served by the launcher's child, not pid 1 ($first)" \
  grep -qE '^[0-9.]+ HTTP/1.0 200 OK \| Hello .* socket "web", pid ([2-9]|[1-9][0-9]+)$' <<<"$first"
# Load: 4 clients back to back for 6 s; three SIGHUPs, 1.5 s apart, while it
# runs. With --wait-ready the old daemon is stopped only once the new one's
# READY=1 reached the launcher: 4 pids seen means sd_notify works in the
# container too.
inns python3 tests/containers/client.py load 8080 6 4 >"$W/load.json" 2>"$W/load.err" &
L=$!; track "$L"
hups=0
for _ in 1 2 3; do
  sleep 1.5
  pm kill --signal HUP hello >/dev/null 2>&1 && hups=$((hups + 1))
done
wait "$L"
check "entrypoint: podman kill --signal HUP delivered 3 times" test "$hups" -eq 3
res=$(cat "$W/load.json")
read -r nok nfailed npids < <(python3 -c '
import json, sys
try:
    r = json.load(open(sys.argv[1])); print(r["ok"], r["failed"], len(r["pids"]))
except Exception:
    print("0 1 0")' "$W/load.json")
echo "     load: $res"
check "entrypoint: 0 failed requests during 3 replacements (ok=${nok:-?}, failed=${nfailed:-?})" \
  test "${nfailed:-1}" -eq 0 -a "${nok:-0}" -ge 100
check "entrypoint: 4 daemons served in turn (initial + 3 replacements; pids seen: ${npids:-?})" test "${npids:-0}" -eq 4
[ -s "$W/load.err" ] && sed 's/^/       /' "$W/load.err"
t0=$(date +%s.%N)
pm stop hello >/dev/null 2>&1
t=$(python3 -c "print(f'{$(date +%s.%N) - $t0:.2f}')")
check "entrypoint: podman stop returns in ${t} s (launcher exits on SIGTERM, no stop-timeout kill)" \
  python3 -c "import sys; sys.exit(not $t < 5)"
code=$(pm inspect --format '{{.State.ExitCode}}' hello 2>/dev/null)
check "entrypoint: exit status 0 after podman stop (the daemon's; got $code)" test "$code" = 0
[ "$T_FAIL" -eq 0 ] || pm logs hello 2>&1 | tail -30 | sed 's/^/       /'
pm rm hello >/dev/null 2>&1
check "entrypoint: container removed" no_containers

# 5. (c) The launcher under --init: catatonit pid 1, sdfd-activate its child.
if pm run -d --init --name hello-init --network=none localhost/sdfd-hello >"$W/c.log" 2>&1; then
  ok "--init, launcher as entrypoint: container started"
else
  bad "--init, launcher as entrypoint: container started" "$(cat "$W/c.log")"
fi
CPID=$(pm inspect --format '{{.State.Pid}}' hello-init 2>/dev/null)
r=$(inns python3 tests/containers/client.py get 8080 2 | tail -1)
check "--init, launcher as entrypoint: request served ($r)" \
  grep -qE '^[0-9.]+ HTTP/1.0 200 OK \| Hello .* socket "web", pid [0-9]+$' <<<"$r"
pm stop hello-init >/dev/null 2>&1
code=$(pm inspect --format '{{.State.ExitCode}}' hello-init 2>/dev/null)
check "--init, launcher as entrypoint: exit status 0 after podman stop (got $code)" test "$code" = 0
[ "$code" = 0 ] || pm logs hello-init 2>&1 | tail -20 | sed 's/^/       /'
pm rm hello-init >/dev/null 2>&1
check "--init, launcher as entrypoint: container removed" no_containers

# 6. Everything created is gone (the trap removes the store itself).
pm rmi localhost/sdfd-hello >/dev/null 2>&1
check "no container and no image left in the suite's store" test -z "$(pm ps -aq)$(pm images -q)"
finish
