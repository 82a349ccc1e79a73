#!/usr/bin/env bash
# noproc.sh SDFD_ACTIVATE_STATIC: in an empty root (no /proc), `-l PORT`
# binds what systemd-socket-activate 252 binds there: it takes IPv6 to be
# missing when /proc/net/if_inet6 is (socket_ipv6_is_supported()), and so
# binds 0.0.0.0:PORT; sdfd-activate uses the library's conversion, which
# follows that rule (a socket(AF_INET6) probe would say IPv6). Both
# launchers run in the same root (systemd-socket-activate with its shared
# libraries copied in), each starting a static program that writes the
# address family of its fd 3. Exits 0 when both wrote the same line.
set -euo pipefail
MUSL=$1
R=$(mktemp -d)
trap 'rm -rf "$R"' EXIT
mkdir -p "$R/bin"
cp "$MUSL" "$R/bin/sdfd-activate"
cp /usr/bin/systemd-socket-activate "$R/bin/"
for l in $(ldd /usr/bin/systemd-socket-activate | grep -o '/[^ ]*'); do cp --parents -L "$l" "$R"; done
cat > "$R/family.c" <<'C'
#include <stdio.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
    struct sockaddr_storage s;
    socklen_t l = sizeof s;
    FILE *f;
    if (argc < 2 || getsockname(3, (struct sockaddr *)&s, &l) || !(f = fopen(argv[1], "w"))) return 1;
    fprintf(f, "family=%d\n", s.ss_family);
    return fclose(f) != 0;
}
C
cc -static -O2 -o "$R/bin/family" "$R/family.c"
port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
for tool in sdfd-activate systemd-socket-activate; do
  P=$(port)
  timeout 10 chroot "$R" "/bin/$tool" -l "$P" /bin/family "/$tool.out" >"$R/$tool.log" 2>&1 &
  A=$!
  # systemd-socket-activate starts the command at the first connection.
  for _ in $(seq 100); do
    [ -s "$R/$tool.out" ] && break
    python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$P" 2>/dev/null || true
    sleep 0.05
  done
  kill "$A" 2>/dev/null || true
  wait "$A" 2>/dev/null || true
done
echo "sdfd-activate: $(cat "$R/sdfd-activate.out" 2>&1); systemd-socket-activate: $(cat "$R/systemd-socket-activate.out" 2>&1)"
cat "$R"/*.log
[ -s "$R/sdfd-activate.out" ] && cmp "$R/sdfd-activate.out" "$R/systemd-socket-activate.out"
