/* hello-daemon: a minimal socket-activated HTTP daemon.
 *
 * Unmodified sd-daemon code: it includes <systemd/sd-daemon.h> and calls
 * sd_listen_fds_with_names / sd_is_socket / sd_notify. Built against sdfd
 * with `cc hello-daemon.c $(pkg-config --cflags --libs sdfd)`, it needs no
 * libsystemd. Serves every activated stream socket until it has answered
 * MAX requests (argument, default unlimited). On SIGTERM it finishes the
 * request in hand and exits 0, so a supervisor can replace it without
 * failing a request (sdfd-activate's SIGHUP replacement). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

static volatile sig_atomic_t stop;
static void on_term(int sig) {
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv) {
    /* read/write restart after the handler; poll never does (EINTR) */
    struct sigaction sa = { .sa_handler = on_term, .sa_flags = SA_RESTART };
    sigaction(SIGTERM, &sa, NULL);
    long max = argc > 1 ? atol(argv[1]) : -1;
    char **names = NULL;
    int n = sd_listen_fds_with_names(1, &names);
    if (n < 0) {
        fprintf(stderr, SD_ERR "sd_listen_fds_with_names: %s\n", strerror(-n));
        return 1;
    }
    if (n == 0) {
        fprintf(stderr, SD_ERR "not socket-activated; try: systemd-socket-activate -l 8080 %s\n", argv[0]);
        return 1;
    }
    struct pollfd *p = calloc(n, sizeof *p);
    for (int i = 0; i < n; i++) {
        int fd = SD_LISTEN_FDS_START + i;
        if (sd_is_socket(fd, 0, SOCK_STREAM, 1) <= 0) {
            fprintf(stderr, SD_ERR "fd %d (%s) is not a listening stream socket\n", fd, names[i]);
            return 1;
        }
        p[i] = (struct pollfd){ .fd = fd, .events = POLLIN };
        fprintf(stderr, SD_INFO "serving fd %d named \"%s\"\n", fd, names[i]);
    }
    sd_notify(0, "READY=1\nSTATUS=serving");
    for (long served = 0; (max < 0 || served < max) && !stop;) {
        int r = poll(p, n, 1000); /* a SIGTERM just before poll waits at most 1 s */
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return 1;
        for (int i = 0; i < n; i++) {
            if (!(p[i].revents & POLLIN)) continue;
            int c = accept(p[i].fd, NULL, NULL);
            if (c < 0) continue;
            char req[2048];
            ssize_t r = read(c, req, sizeof req - 1);
            req[r > 0 ? r : 0] = 0;
            char body[256];
            int bl = snprintf(body, sizeof body, "Hello from a socket-activated daemon: fd %d, socket \"%s\", pid %d\n",
                              p[i].fd, names[i], (int)getpid());
            dprintf(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", bl, body);
            close(c);
            served++;
        }
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    free(p);
    return 0;
}
