/* Test launcher for sdfd on Windows: serves the systemfd protocol.
 *
 *   launcher [--mode MODE] [-s [udp:]IPV4:PORT]... -- CHILD [ARGS...]
 *
 * Creates the sockets (TCP: bound and listening; UDP: bound), a loopback
 * control listener, sets SYSTEMFD_SOCKET_SERVER / SYSTEMFD_SOCKET_SECRET,
 * starts CHILD with CreateProcess and serves control connections until the
 * child exits. MODE is how it answers a request "<secret>|<pid>":
 *   ok           one WSAPROTOCOL_INFOW per socket (WSADuplicateSocketW for <pid>)
 *   wrong-secret the child is given a secret that differs from the one checked
 *                (the server closes without a byte, as systemfd does)
 *   hang         accepts and never answers
 *   short        the first 100 bytes of a record, then EOF
 *   garbage      628 bytes of 0x5A
 *   wrong-pid    records duplicated for the launcher's own process
 *   gone         the control listener is closed before the child starts
 *   braced       as ok, but the child gets the secret as {UPPER-CASE} text
 * At the end it prints "launcher: connections=N exit=C" and exits with the
 * child's exit code (or 99 if the child was killed after 60 s). */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXS 16
static SOCKET socks[MAXS];
static int nsocks;
static const char *mode = "ok";
static char secret[37];
static volatile LONG connections;
static SOCKET ctl;

static void die(const char *what) {
    fprintf(stderr, "launcher: %s failed (%d)\n", what, WSAGetLastError());
    exit(98);
}

static void add_socket(const char *spec) {
    int udp = strncmp(spec, "udp:", 4) == 0;
    if (udp) spec += 4;
    char host[64];
    const char *colon = strrchr(spec, ':');
    if (!colon || colon - spec >= (int)sizeof host || nsocks == MAXS) {
        fprintf(stderr, "bad -s %s\n", spec);
        exit(98);
    }
    memcpy(host, spec, colon - spec);
    host[colon - spec] = 0;
    struct sockaddr_in sa = { 0 };
    sa.sin_family = AF_INET;
    sa.sin_port = htons((u_short)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "bad host %s\n", host);
        exit(98);
    }
    SOCKET s = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, udp ? IPPROTO_UDP : IPPROTO_TCP);
    if (s == INVALID_SOCKET) die("socket");
    if (bind(s, (struct sockaddr *)&sa, sizeof sa) != 0) die("bind");
    if (!udp && listen(s, 16) != 0) die("listen");
    socks[nsocks++] = s;
}

static void serve(SOCKET c) {
    char buf[256];
    int len = 0, r;
    while (len < (int)sizeof buf - 1 && (r = recv(c, buf + len, sizeof buf - 1 - len, 0)) > 0) len += r;
    buf[len] = 0;
    if (!strcmp(mode, "hang")) {
        Sleep(INFINITE);
        return;
    }
    if (!strcmp(mode, "braced")) mode = "ok";
    char *bar = strchr(buf, '|');
    if (!bar || (size_t)(bar - buf) != 36 || memcmp(buf, secret, 36) != 0) return; /* rejected: nothing sent */
    DWORD pid = strtoul(bar + 1, NULL, 10);
    if (!strcmp(mode, "wrong-pid")) pid = GetCurrentProcessId();
    for (int i = 0; i < nsocks; i++) {
        WSAPROTOCOL_INFOW info;
        memset(&info, 0, sizeof info);
        if (WSADuplicateSocketW(socks[i], pid, &info) != 0) die("WSADuplicateSocketW");
        char *p = (char *)&info;
        int n = sizeof info;
        if (!strcmp(mode, "garbage")) memset(p, 0x5A, n);
        if (!strcmp(mode, "short")) n = 100;
        send(c, p, n, 0);
        if (!strcmp(mode, "short")) break;
    }
}

static DWORD WINAPI accept_loop(LPVOID unused) {
    (void)unused;
    for (;;) {
        SOCKET c = accept(ctl, NULL, NULL);
        if (c == INVALID_SOCKET) return 0;
        InterlockedIncrement(&connections);
        serve(c);
        closesocket(c);
    }
}

int main(int argc, char **argv) {
    WSADATA wd;
    if (WSAStartup(MAKEWORD(2, 2), &wd) != 0) die("WSAStartup");
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "--mode") && i + 1 < argc) mode = argv[++i];
        else if (!strcmp(argv[i], "-s") && i + 1 < argc) add_socket(argv[++i]);
        else {
            fprintf(stderr, "usage: launcher [--mode M] [-s SPEC]... -- CHILD...\n");
            return 98;
        }
    }
    if (i + 1 >= argc) {
        fprintf(stderr, "launcher: no child\n");
        return 98;
    }

    srand(GetTickCount() ^ (GetCurrentProcessId() << 16));
    for (int k = 0; k < 36; k++)
        secret[k] = (k == 8 || k == 13 || k == 18 || k == 23) ? '-' : "0123456789abcdef"[rand() % 16];
    secret[14] = '4';

    ctl = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    struct sockaddr_in sa = { 0 };
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int sl = sizeof sa;
    if (ctl == INVALID_SOCKET || bind(ctl, (struct sockaddr *)&sa, sizeof sa) || listen(ctl, 8) ||
        getsockname(ctl, (struct sockaddr *)&sa, &sl))
        die("control listener");
    /* The control socket must not leak into the child. */
    SetHandleInformation((HANDLE)ctl, HANDLE_FLAG_INHERIT, 0);
    for (int k = 0; k < nsocks; k++) SetHandleInformation((HANDLE)socks[k], HANDLE_FLAG_INHERIT, 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", ntohs(sa.sin_port));
    SetEnvironmentVariableA("SYSTEMFD_SOCKET_SERVER", addr);
    char given[37];
    memcpy(given, secret, 37);
    if (!strcmp(mode, "wrong-secret")) given[0] = given[0] == 'a' ? 'b' : 'a';
    char braced[40];
    snprintf(braced, sizeof braced, "{%s}", secret);
    for (char *c = braced; *c; c++)
        if (*c >= 'a' && *c <= 'f') *c -= 32;
    SetEnvironmentVariableA("SYSTEMFD_SOCKET_SECRET", strcmp(mode, "braced") ? given : braced);
    if (!strcmp(mode, "gone")) closesocket(ctl);
    else CreateThread(NULL, 0, accept_loop, NULL, 0, NULL);

    char cmd[4096] = "";
    for (int k = i + 1; k < argc; k++) {
        strncat(cmd, "\"", sizeof cmd - strlen(cmd) - 1);
        strncat(cmd, argv[k], sizeof cmd - strlen(cmd) - 1);
        strncat(cmd, "\" ", sizeof cmd - strlen(cmd) - 1);
    }
    STARTUPINFOA si = { 0 };
    si.cb = sizeof si;
    PROCESS_INFORMATION pi;
    if (!CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
        fprintf(stderr, "launcher: CreateProcess(%s) failed (%lu)\n", cmd, GetLastError());
        return 98;
    }
    DWORD code = 99;
    if (WaitForSingleObject(pi.hProcess, 60000) != WAIT_OBJECT_0) TerminateProcess(pi.hProcess, 99);
    else GetExitCodeProcess(pi.hProcess, &code);
    printf("launcher: connections=%ld exit=%lu\n", (long)connections, code);
    fflush(stdout);
    return (int)code;
}
