/* Test child for sdfd on Windows: reports what the library says, one
 * "key=value" line each, and with "serve" answers one TCP request on the
 * first activated stream socket. Built twice: against sdfd.dll and with
 * libsdfd.a. Errors print as -ENAME so the driver compares names. */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sdfd.h>

static const char *v(int r) {
    static char buf[8][32];
    static int k;
    char *b = buf[k++ % 8];
    switch (-r) {
        // clang-format off
#define E(x) case x: return "-" #x;
    E(EINVAL) E(ENXIO) E(EBADF) E(ENOSYS) E(EAFNOSUPPORT) E(ECONNREFUSED) E(ETIMEDOUT) E(EPROTO)
    E(ECONNRESET) E(ENOMEM) E(EMFILE) E(EIO) E(ENETDOWN) E(ENOTSOCK)
#undef E
    default: snprintf(b, 32, "%d", r); return b;
        // clang-format on
    }
}

int main(int argc, char **argv) {
    int serve = argc > 1 && !strcmp(argv[1], "serve");
    printf("listen_socket_null=%s\n", v(sdfd_listen_socket(0, NULL)));
    DWORD t0 = GetTickCount();
    int n = sd_listen_fds(0);
    DWORD t1 = GetTickCount();
    printf("listen_fds=%s\n", v(n));
    printf("elapsed_ms=%lu\n", (unsigned long)(t1 - t0));
    printf("env_server_kept=%d\n", getenv("SYSTEMFD_SOCKET_SERVER") != NULL);
    int again = sd_listen_fds(1);
    printf("listen_fds_again=%s\n", v(again));
    printf("env_server_after_unset=%d\n", getenv("SYSTEMFD_SOCKET_SERVER") != NULL);
    printf("env_secret_after_unset=%d\n", getenv("SYSTEMFD_SOCKET_SECRET") != NULL);
    char os_env[8];
    printf("os_env_server_after_unset=%d\n",
           GetEnvironmentVariableA("SYSTEMFD_SOCKET_SERVER", os_env, sizeof os_env) != 0);

    char **names = NULL;
    int nn = sd_listen_fds_with_names(0, &names);
    printf("with_names=%s\n", v(nn));
    printf("names=");
    for (int i = 0; names && names[i]; i++) {
        printf("%s%s", i ? "," : "", names[i]);
        free(names[i]);
    }
    printf("\n");
    free(names);

    SOCKET first_stream = INVALID_SOCKET;
    for (int i = 0; i < (n > 0 ? n : 0); i++) {
        sdfd_socket_t s = 0;
        int r = sdfd_listen_socket((unsigned)i, &s);
        DWORD flags = 0xffff;
        GetHandleInformation((HANDLE)s, &flags);
        printf("socket%d=%s tcp_listening=%d udp=%d inet_any=%d unix=%d inherit=%lu\n", i, v(r),
               sd_is_socket(s, AF_INET, SOCK_STREAM, 1), sd_is_socket(s, AF_INET, SOCK_DGRAM, -1),
               sd_is_socket_inet(s, 0, 0, -1, 0), sd_is_socket_unix(s, 0, -1, NULL, 0),
               (unsigned long)(flags & HANDLE_FLAG_INHERIT));
        struct sockaddr_in sa;
        int sl = sizeof sa;
        if (r == 0 && getsockname(s, (struct sockaddr *)&sa, &sl) == 0) {
            printf("socket%d_port=%u port_match=%d port_mismatch=%d sockaddr_match=%d v6=%d\n", i, ntohs(sa.sin_port),
                   sd_is_socket_inet(s, AF_INET, 0, -1, ntohs(sa.sin_port)),
                   sd_is_socket_inet(s, AF_INET, 0, -1, (unsigned short)(ntohs(sa.sin_port) + 1)),
                   sd_is_socket_sockaddr(s, 0, (struct sockaddr *)&sa, sizeof sa, -1),
                   sd_is_socket_inet(s, AF_INET6, 0, -1, 0));
        }
        if (r == 0 && first_stream == INVALID_SOCKET && sd_is_socket(s, 0, SOCK_STREAM, 1) == 1) first_stream = s;
    }
    sdfd_socket_t past = 12345;
    int rp = sdfd_listen_socket((unsigned)(n > 0 ? n : 0), &past);
    printf("socket_past_end=%s untouched=%d\n", v(rp), past == 12345);

    /* Handles that are not activated sockets. */
    printf("is_socket_invalid=%s\n", v(sd_is_socket(INVALID_SOCKET, 0, 0, -1)));
    HANDLE file =
        CreateFileA("child-probe.tmp", GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_FLAG_DELETE_ON_CLOSE, NULL);
    printf("is_socket_file=%s\n", v(sd_is_socket((sdfd_socket_t)file, 0, 0, -1)));
    CloseHandle(file);
    printf("is_socket_closed=%s\n", v(sd_is_socket((sdfd_socket_t)file, 0, 0, -1)));
    SOCKET own = socket(AF_INET, SOCK_STREAM, 0);
    printf("is_socket_unbound=%s unbound_inet=%s unbound_listening=%s\n",
           v(sd_is_socket(own, AF_INET, SOCK_STREAM, -1)), v(sd_is_socket_inet(own, AF_INET, 0, -1, 0)),
           v(sd_is_socket(own, 0, 0, 1)));
    closesocket(own);
    printf("is_socket_badtype=%s\n", v(sd_is_socket(INVALID_SOCKET - 1, 0, -1, -1)));
    printf("is_fifo=%s is_fifo_neg=%s is_special=%s is_mq=%s\n", v(sd_is_fifo(0, NULL)), v(sd_is_fifo(-1, NULL)),
           v(sd_is_special(1, NULL)), v(sd_is_mq(0, NULL)));
    printf("notify=%s notifyf=%s barrier=%s booted=%s\n", v(sd_notify(0, "READY=1")),
           v(sd_notifyf(0, "STATUS=%d %s", 42, "x")), v(sd_notify_barrier(0, 1000)), v(sd_booted()));
    uint64_t usec = 0;
    printf("watchdog=%s\n", v(sd_watchdog_enabled(0, &usec)));
    fflush(stdout);

    if (serve) {
        if (first_stream == INVALID_SOCKET) {
            printf("serve=no-socket\n");
            return 3;
        }
        SOCKET c = accept(first_stream, NULL, NULL);
        if (c == INVALID_SOCKET) {
            printf("serve=accept-failed %d\n", WSAGetLastError());
            return 4;
        }
        char buf[64];
        int r = recv(c, buf, sizeof buf - 1, 0);
        buf[r > 0 ? r : 0] = 0;
        char out[128];
        int len = snprintf(out, sizeof out, "pong n=%d got=%s", n, buf);
        send(c, out, len, 0);
        closesocket(c);
        printf("serve=ok\n");
    }
    fflush(stdout);
    return 0;
}
