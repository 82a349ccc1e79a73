/* A small socket-activated daemon for tests/c/activation.py, built against the
 * installed sdfd through pkg-config. It reports on stderr what it was given
 * (one line per fd: number, name, family, type, state, as classified by the
 * sd_is_* calls) and then serves REQUESTS requests on those sockets: each
 * request line is answered with "<name> <kind> <line>".
 *
 *   activated REQUESTS
 *
 * Without LISTEN_FDS (systemd-socket-activate --inetd) the connection is on
 * stdin/stdout. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

static void describe(int fd, char *out, size_t n) {
    const char *fam = sd_is_socket_inet(fd, AF_INET, 0, -1, 0) > 0    ? "inet4"
                      : sd_is_socket_inet(fd, AF_INET6, 0, -1, 0) > 0 ? "inet6"
                      : sd_is_socket_unix(fd, 0, -1, NULL, 0) > 0     ? "unix"
                      : sd_is_fifo(fd, NULL) > 0                      ? "fifo"
                                                                      : "other";
    const char *type = sd_is_socket(fd, 0, SOCK_STREAM, -1) > 0      ? "stream"
                       : sd_is_socket(fd, 0, SOCK_DGRAM, -1) > 0     ? "dgram"
                       : sd_is_socket(fd, 0, SOCK_SEQPACKET, -1) > 0 ? "seqpacket"
                                                                     : "-";
    const char *state = sd_is_socket(fd, 0, 0, 1) > 0 ? "listening" : "notlistening";
    char where[160] = "";
    if (!strcmp(fam, "unix")) {
        struct sockaddr_un un;
        socklen_t l = sizeof un;
        getsockname(fd, (struct sockaddr *)&un, &l);
        size_t len = l - offsetof(struct sockaddr_un, sun_path);
        if (len > 0 && un.sun_path[0] == 0) /* abstract: must match exactly, by length */
            snprintf(where, sizeof where, " abstract=%.*s match=%d", (int)len - 1, un.sun_path + 1,
                     sd_is_socket_unix(fd, 0, -1, un.sun_path, len));
        else if (len > 0)
            snprintf(where, sizeof where, " path=%s match=%d", un.sun_path,
                     sd_is_socket_unix(fd, 0, -1, un.sun_path, 0));
    } else if (strncmp(fam, "inet", 4) == 0) {
        struct sockaddr_storage ss;
        socklen_t l = sizeof ss;
        getsockname(fd, (struct sockaddr *)&ss, &l);
        snprintf(where, sizeof where, " sockaddr-match=%d",
                 sd_is_socket_sockaddr(fd, 0, (struct sockaddr *)&ss, l, -1));
    }
    snprintf(out, n, "%s %s %s%s", fam, type, state, where);
}

/* Answer one request read from `in` on `out` (stream) or to `peer` (dgram). */
static int serve_stream(int in, int out, const char *name, const char *kind) {
    char buf[512];
    ssize_t r = read(in, buf, sizeof buf - 1);
    if (r <= 0) return -1;
    buf[r] = 0;
    buf[strcspn(buf, "\r\n")] = 0;
    dprintf(out, "%s %s %s\n", name, kind, buf);
    return 0;
}

int main(int argc, char **argv) {
    int requests = argc > 1 ? atoi(argv[1]) : 1;
    char **names = NULL;
    int n = sd_listen_fds_with_names(1, &names);
    fprintf(stderr, "listen=%d env=%s\n", n, getenv("LISTEN_FDS") || getenv("LISTEN_PID") ? "set" : "unset");
    if (n < 0) return 1;
    char kind[64][256];
    if (n == 0) { /* inetd: the connection is stdin/stdout */
        describe(0, kind[0], sizeof kind[0]);
        fprintf(stderr, "fd=0 name=- %s\n", kind[0]);
        return serve_stream(0, 1, "inetd", kind[0]) < 0;
    }
    if (n > 64) return 1;
    for (int i = 0; i < n; i++) {
        describe(SD_LISTEN_FDS_START + i, kind[i], sizeof kind[i]);
        fprintf(stderr, "fd=%d name=%s %s\n", SD_LISTEN_FDS_START + i, names[i], kind[i]);
    }
    fflush(stderr);
    if (getenv("NOTIFY_SOCKET")) { /* hand fd 3 to the fd store, then report readiness */
        int fd = SD_LISTEN_FDS_START;
        int r1 = sd_pid_notify_with_fds(0, 0, "FDSTORE=1\nFDNAME=stored-web", &fd, 1);
        int r2 = sd_notifyf(1, "READY=1\nSTATUS=serving %d sockets", n);
        fprintf(stderr, "notify=%d,%d notify_socket=%s\n", r1, r2, getenv("NOTIFY_SOCKET") ? "set" : "unset");
    }
    struct pollfd p[64];
    for (int i = 0; i < n; i++) p[i] = (struct pollfd){ SD_LISTEN_FDS_START + i, POLLIN, 0 };
    while (requests > 0) {
        if (poll(p, n, 10000) <= 0) {
            fprintf(stderr, "timeout waiting for requests\n");
            return 1;
        }
        for (int i = 0; i < n && requests > 0; i++) {
            if (!(p[i].revents & POLLIN)) continue;
            int fd = p[i].fd;
            if (sd_is_socket(fd, 0, SOCK_DGRAM, -1) > 0) {
                char buf[512];
                struct sockaddr_storage peer;
                socklen_t pl = sizeof peer;
                ssize_t r = recvfrom(fd, buf, sizeof buf - 1, 0, (struct sockaddr *)&peer, &pl);
                if (r < 0) continue;
                buf[r] = 0;
                char reply[1024];
                int m = snprintf(reply, sizeof reply, "%s %s %s\n", names[i], kind[i], buf);
                sendto(fd, reply, m, 0, (struct sockaddr *)&peer, pl);
            } else if (sd_is_socket(fd, 0, 0, 1) > 0) {
                int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0) continue;
                serve_stream(c, c, names[i], kind[i]);
                close(c);
            } else { /* accept mode: fd is the connection itself */
                serve_stream(fd, fd, names[i], kind[i]);
                requests = 0;
            }
            requests--;
        }
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    return 0;
}
