/* A socket-activated daemon built against the installed libsdfd-dev
 * (cc daemon.c $(pkg-config --cflags --libs sdfd)): serves COUNT
 * connections (argument, default 1) on the one activated stream socket.
 * For each it reads a line and answers with what libsdfd returned:
 *
 *   sdfd-daemon pid=PID fds=1 listening=1 inet=1 got=LINE
 *
 * and from the second request on " booted=0|1" (sd_booted()): its first
 * call binds a function of libsdfd.so.0 the process has not called before,
 * so a request served after a library upgrade still finds it in the
 * library the process mapped at start (tests/packaging/deb.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

int main(int argc, char **argv) {
    long count = argc > 1 ? atol(argv[1]) : 1;
    int n = sd_listen_fds(1);
    if (n != 1) {
        fprintf(stderr, "sd_listen_fds: %d, expected 1\n", n);
        return 1;
    }
    int listening = sd_is_socket_inet(SD_LISTEN_FDS_START, AF_INET, SOCK_STREAM, 1, 0);
    if (listening <= 0) {
        fprintf(stderr, "sd_is_socket_inet(listening): %d\n", listening);
        return 1;
    }
    for (long served = 0; served < count; served++) {
        int c = accept(SD_LISTEN_FDS_START, NULL, NULL);
        if (c < 0) {
            perror("accept");
            return 1;
        }
        char line[256];
        ssize_t r = read(c, line, sizeof line - 1);
        line[r > 0 ? r : 0] = 0;
        line[strcspn(line, "\r\n")] = 0;
        char booted[16] = "";
        if (served > 0) snprintf(booted, sizeof booted, " booted=%d", sd_booted());
        char reply[512];
        int len = snprintf(reply, sizeof reply, "sdfd-daemon pid=%d fds=%d listening=%d inet=%d got=%s%s\n",
                           (int)getpid(), n, listening, sd_is_socket_inet(c, AF_INET, SOCK_STREAM, 0, 0), line, booted);
        if (write(c, reply, len) != len) return 1;
        close(c);
    }
    return 0;
}
