/* A socket-activated service for the package tests: takes the first passed
 * socket (checked with sd_is_socket_inet), answers one connection with
 * "<tag> <n> <is_inet>\n" and exits. Built against each packaged libsdfd
 * (the .deb through pkg-config, the musl build from the musllinux wheel). */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

int main(int argc, char **argv) {
    const char *tag = argc > 1 ? argv[1] : "probe";
    int n = sd_listen_fds(1);
    if (n < 1) {
        fprintf(stderr, "sd_listen_fds: %d\n", n);
        return 1;
    }
    int inet = sd_is_socket_inet(SD_LISTEN_FDS_START, AF_INET, SOCK_STREAM, 1, 0);
    int c = accept(SD_LISTEN_FDS_START, NULL, NULL);
    if (c < 0) {
        perror("accept");
        return 1;
    }
    char buf[128];
    int len = snprintf(buf, sizeof buf, "%s %d %d\n", tag, n, inet);
    if (write(c, buf, (size_t)len) != len) return 1;
    close(c);
    return 0;
}
