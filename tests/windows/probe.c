/* Test child for sdfd-activate on Windows (linked against sdfd.dll).
 *   probe byname NAME        sdfd_activate_socket(NAME), then answer one TCP
 *                            request on it with "pong NAME names=A,B,..."
 *   probe crash-once MARK NAME  first run (MARK absent): create MARK and end
 *                            as a crashed process does (0xC0000005); later
 *                            runs: as byname NAME
 *   probe exit N             exit at once with status N
 *   probe sleep              never ask for the sockets, sleep
 *   probe request MODE       talk to SYSTEMFD_SOCKET_SERVER by hand and print
 *                            the reply's size: MODE good, badsecret, badpid
 *                            (the parent's pid: the launcher, not in its job),
 *                            stall (first a connection that sends nothing
 *                            and stays open, then a good request)
 * Prints "key=value" lines. */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <tlhelp32.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sdfd.h>

static DWORD parent_pid(void) {
    DWORD me = GetCurrentProcessId(), pp = 0;
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    PROCESSENTRY32 e;
    e.dwSize = sizeof e;
    if (snap == INVALID_HANDLE_VALUE) return 0;
    for (BOOL ok = Process32First(snap, &e); ok; ok = Process32Next(snap, &e))
        if (e.th32ProcessID == me) pp = e.th32ParentProcessID;
    CloseHandle(snap);
    return pp;
}

static SOCKET connect_server(void) {
    const char *srv = getenv("SYSTEMFD_SOCKET_SERVER");
    struct sockaddr_storage ss;
    int len = sizeof ss;
    char buf[128];
    if (!srv) return INVALID_SOCKET;
    snprintf(buf, sizeof buf, "%s", srv);
    if (WSAStringToAddressA(buf, AF_INET, NULL, (struct sockaddr *)&ss, &len)) return INVALID_SOCKET;
    SOCKET s = socket(AF_INET, SOCK_STREAM, 0);
    if (s == INVALID_SOCKET || connect(s, (struct sockaddr *)&ss, len)) return INVALID_SOCKET;
    return s;
}

static int request(const char *secret, DWORD pid) {
    char msg[160];
    char buf[4096];
    int total = 0, r;
    SOCKET s = connect_server();
    if (s == INVALID_SOCKET) return -1;
    snprintf(msg, sizeof msg, "%s|%lu", secret, (unsigned long)pid);
    send(s, msg, (int)strlen(msg), 0);
    shutdown(s, SD_SEND);
    while ((r = recv(s, buf, sizeof buf, 0)) > 0) total += r;
    closesocket(s);
    return r < 0 ? -2 : total;
}

static int byname(const char *name) {
    sdfd_socket_t *socks = NULL;
    size_t count = 0;
    char **names = NULL;
    char list[256] = "";
    int n = sd_listen_fds_with_names(0, &names);
    for (int i = 0; i < n; i++) {
        if (i) strncat(list, ",", sizeof list - strlen(list) - 1);
        strncat(list, names[i], sizeof list - strlen(list) - 1);
        free(names[i]);
    }
    free(names);
    int r = sdfd_activate_socket(name, &socks, &count);
    printf("with_names=%d names=%s byname=%d count=%u\n", n, list, r, (unsigned)count);
    fflush(stdout);
    if (r < 0) return 1;
    SOCKET c = accept((SOCKET)socks[0], NULL, NULL);
    if (c == INVALID_SOCKET) {
        printf("serve=accept-failed %d\n", WSAGetLastError());
        return 1;
    }
    char buf[64];
    int got = recv(c, buf, sizeof buf - 1, 0);
    char out[400];
    snprintf(out, sizeof out, "pong %s names=%s got=%.*s", name, list, got > 0 ? got : 0, buf);
    send(c, out, (int)strlen(out), 0);
    closesocket(c);
    printf("serve=ok\n");
    return 0;
}

int main(int argc, char **argv) {
    WSADATA w;
    WSAStartup(MAKEWORD(2, 2), &w);
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 3 && !strcmp(argv[1], "byname")) return byname(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "crash-once")) {
        if (GetFileAttributesA(argv[2]) == INVALID_FILE_ATTRIBUTES) {
            FILE *f = fopen(argv[2], "w");
            if (f) fclose(f);
            printf("crashing\n");
            TerminateProcess(GetCurrentProcess(), 0xC0000005);
        }
        return byname(argv[3]);
    }
    if (argc == 3 && !strcmp(argv[1], "exit")) return atoi(argv[2]);
    if (argc == 2 && !strcmp(argv[1], "sleep")) {
        printf("sleeping\n");
        Sleep(INFINITE);
    }
    if (argc == 3 && !strcmp(argv[1], "request")) {
        const char *secret = getenv("SYSTEMFD_SOCKET_SECRET");
        DWORD pid = GetCurrentProcessId();
        if (!secret) secret = "";
        if (!strcmp(argv[2], "badsecret")) secret = "00000000-0000-4000-8000-000000000000";
        if (!strcmp(argv[2], "badpid")) pid = parent_pid();
        SOCKET stall = INVALID_SOCKET;
        if (!strcmp(argv[2], "stall")) stall = connect_server();
        DWORD t0 = GetTickCount();
        printf("pid_sent=%lu reply_bytes=%d request_ms=%lu stall_open=%d\n", (unsigned long)pid, request(secret, pid),
               (unsigned long)(GetTickCount() - t0), stall != INVALID_SOCKET);
        return 0;
    }
    fprintf(stderr, "usage: probe byname NAME | crash-once MARK NAME | exit N | sleep | request MODE\n");
    return 2;
}
