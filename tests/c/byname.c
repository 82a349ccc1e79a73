/* Exercises sdfd_activate_socket() the way a daemon would, for
 * tests/c/byname.py. Usage:
 *
 *   byname [--self K=V]... [--serve NAME] [--null] QUERY...
 *
 * --self K=V sets K=V and LISTEN_PID=<own pid> first (fake activation);
 * each QUERY is a name passed to sdfd_activate_socket, and one line is
 * printed per call:
 *   q=NAME rc=R count=N fds=3,4 cloexec=1,1 kinds=inet4/stream/listening,...
 *   q=NAME rc=-E untouched=1          (on error: nothing was written)
 * --null tries NULL for each argument. --serve NAME answers one connection
 * on every socket the query for NAME returned ("NAME fd=N\n"). At the end:
 *   env LISTEN_PID=set listen=N
 * (the environment is untouched and sd_listen_fds(0) still counts). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sdfd.h>

static const char *kind(int fd, char *buf, size_t len) {
    const char *fam = sd_is_socket(fd, AF_INET, 0, -1) > 0    ? "inet4"
                      : sd_is_socket(fd, AF_INET6, 0, -1) > 0 ? "inet6"
                      : sd_is_socket(fd, AF_UNIX, 0, -1) > 0  ? "unix"
                                                              : "other";
    const char *type = sd_is_socket(fd, 0, SOCK_STREAM, -1) > 0  ? "stream"
                       : sd_is_socket(fd, 0, SOCK_DGRAM, -1) > 0 ? "dgram"
                                                                 : "other";
    snprintf(buf, len, "%s/%s/%s", fam, type, sd_is_socket(fd, 0, 0, 1) > 0 ? "listening" : "notlistening");
    return buf;
}

static void serve(const char *name, const sdfd_socket_t *fds, size_t n) {
    for (size_t i = 0; i < n; i++) {
        struct pollfd p = { .fd = fds[i], .events = POLLIN };
        if (poll(&p, 1, 5000) != 1) {
            printf("serve %s fd=%d timeout\n", name, fds[i]);
            continue;
        }
        int c = accept(fds[i], NULL, NULL);
        if (c < 0) {
            printf("serve %s fd=%d accept errno=%d\n", name, fds[i], errno);
            continue;
        }
        char line[64];
        int len = snprintf(line, sizeof line, "%s fd=%d\n", name, fds[i]);
        if (write(c, line, (size_t)len) != len) printf("serve %s fd=%d short write\n", name, fds[i]);
        close(c);
        printf("served %s fd=%d\n", name, fds[i]);
    }
}

int main(int argc, char **argv) {
    const char *serve_name = NULL;
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--self") == 0 && i + 1 < argc) {
            char *kv = argv[++i], *eq = strchr(kv, '=');
            char pid[32];
            snprintf(pid, sizeof pid, "%d", (int)getpid());
            setenv("LISTEN_PID", pid, 1);
            if (eq) {
                *eq = 0;
                setenv(kv, eq + 1, 1);
            }
        } else if (strcmp(argv[i], "--serve") == 0 && i + 1 < argc) {
            serve_name = argv[++i];
        } else if (strcmp(argv[i], "--null") == 0) {
            sdfd_socket_t *s = NULL;
            size_t n = 0;
            printf("null name=%d sockets=%d count=%d\n", sdfd_activate_socket(NULL, &s, &n),
                   sdfd_activate_socket("x", NULL, &n), sdfd_activate_socket("x", &s, NULL));
        } else {
            break;
        }
    }
    for (; i < argc; i++) {
        sdfd_socket_t sentinel = -7, *fds = &sentinel;
        size_t n = 12345;
        int r = sdfd_activate_socket(argv[i], &fds, &n);
        printf("q=%s rc=%d", argv[i], r);
        if (r < 0) {
            printf(" untouched=%d\n", fds == &sentinel && n == 12345);
            continue;
        }
        printf(" count=%zu fds=", n);
        for (size_t k = 0; k < n; k++) printf("%s%d", k ? "," : "", fds[k]);
        printf(" cloexec=");
        for (size_t k = 0; k < n; k++) printf("%s%d", k ? "," : "", (fcntl(fds[k], F_GETFD) & FD_CLOEXEC) != 0);
        printf(" kinds=");
        for (size_t k = 0; k < n; k++) {
            char buf[64];
            printf("%s%s", k ? "," : "", kind(fds[k], buf, sizeof buf));
        }
        printf("\n");
        fflush(stdout);
        if (serve_name && strcmp(serve_name, argv[i]) == 0) serve(argv[i], fds, n);
        free(fds); /* the array is malloc'ed; the sockets stay open */
    }
    printf("env LISTEN_PID=%s listen=%d\n", getenv("LISTEN_PID") ? "set" : "unset", sd_listen_fds(0));
    char **names = NULL;
    int ln = sd_listen_fds_with_names(0, &names);
    printf("with_names=%d\n", ln);
    if (ln > 0) {
        for (int k = 0; k < ln; k++) free(names[k]);
        free(names);
    }
    return 0;
}
