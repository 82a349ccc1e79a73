/* A daemon that takes its listening sockets by name, the same source under
 * launchd (macOS: the plist's Sockets key "Listeners") and under systemd
 * (Linux: FileDescriptorName=Listeners, or systemd-socket-activate
 * --fdname=Listeners). Build: cc hello-launchd.c $(pkg-config --cflags --libs sdfd) */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sdfd.h>

int main(void) {
    sdfd_socket_t *fds;
    size_t n;
    int r = sdfd_activate_socket("Listeners", &fds, &n);
    if (r == -ESRCH || r == -ENOENT) {
        fprintf(stderr, "no activated socket named Listeners (%s)\n", strerror(-r));
        return 1; /* a real daemon would bind its own socket here */
    }
    if (r < 0) {
        fprintf(stderr, "sdfd_activate_socket: %s\n", strerror(-r));
        return 1;
    }
    /* n >= 1: launchd gives one socket per address (e.g. IPv4 and IPv6). */
    struct pollfd *p = calloc(n, sizeof *p);
    if (!p) return 1;
    for (size_t i = 0; i < n; i++) p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
    for (;;) {
        if (poll(p, n, -1) < 0 && errno != EINTR) return 1;
        for (size_t i = 0; i < n; i++) {
            if (!(p[i].revents & POLLIN)) continue;
            int c = accept(p[i].fd, NULL, NULL);
            if (c < 0) continue;
            char msg[64];
            int len = snprintf(msg, sizeof msg, "hello from socket %zu of %zu\n", i + 1, n);
            if (write(c, msg, (size_t)len) < 0) perror("write");
            close(c);
        }
    }
    free(p);
    free(fds); /* the array, not the sockets */
}
