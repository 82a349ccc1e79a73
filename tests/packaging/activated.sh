# Sourced by the package tests (after tests/lib/sdfdtest.sh). activated_reply CMD...: runs CMD under
# systemd-socket-activate on a free 127.0.0.1 port, connects once, prints
# what the service answered, and stops the launcher. Status 1 on no answer.
# ACTIVATED_LAUNCHER=PROGRAM runs PROGRAM instead (it takes -l ADDRESS too).
# With ACTIVATED_SEND=TEXT, TEXT is sent first.
# With ACTIVATED_OUT=FILE, the service's own stdout/stderr are kept there.
activated_reply() {
  local port log pid reply
  port=$(free_port)
  log=$(mktemp "${TMPDIR:-/tmp}/sdfd-activated.XXXXXX")
  "${ACTIVATED_LAUNCHER:-systemd-socket-activate}" -l "127.0.0.1:$port" "$@" >"$log" 2>&1 &
  pid=$!
  reply=$(ACTIVATED_SEND=${ACTIVATED_SEND:-} python3 - "$port" <<'PY'
import os, socket, sys, time
for _ in range(100):
    try:
        c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
        break
    except OSError:
        time.sleep(0.05)
else:
    sys.exit(1)
c.sendall(os.environ.get("ACTIVATED_SEND", "").encode())
data = b""
while True:
    try:
        chunk = c.recv(4096)
    except ConnectionResetError:  # a service that exits without accepting
        break
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode(errors="replace"))
PY
  )
  local rc=$?
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  if [ -n "${ACTIVATED_OUT:-}" ]; then cp "$log" "$ACTIVATED_OUT"
  elif [ $rc -ne 0 ] || [ -z "$reply" ]; then sed 's/^/       launcher: /' "$log" >&2; fi
  rm -f "$log"
  printf '%s' "$reply"
  [ $rc -eq 0 ] && [ -n "$reply" ]
}
