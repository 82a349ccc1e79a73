/* Syscall benchmark: N open descriptors at 3.., optionally one closed (HOLE
 * = its index, -1 for none), LISTEN_PID/LISTEN_FDS set for this process;
 * sd_listen_fds(1) runs between two marker calls, so that strace's output
 * between them is exactly what sd_listen_fds did. Prints the result.
 *
 *   syscalls N HOLE */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    int n = atoi(argv[1]), hole = atoi(argv[2]);
    for (int i = 0; i < n; i++) {
        int fd = open("/dev/null", O_RDONLY);
        if (fd != 3 + i) {
            fprintf(stderr, "fd %d is not %d\n", fd, 3 + i);
            return 2;
        }
    }
    if (hole >= 0) close(3 + hole);
    char buf[32];
    snprintf(buf, sizeof buf, "%d", (int)getpid());
    setenv("LISTEN_PID", buf, 1);
    snprintf(buf, sizeof buf, "%d", n);
    setenv("LISTEN_FDS", buf, 1);
    faccessat(AT_FDCWD, "/sdfd-bench-begin", F_OK, 0);
    int r = sd_listen_fds(1);
    faccessat(AT_FDCWD, "/sdfd-bench-end", F_OK, 0);
    printf("%d\n", r);
    return 0;
}
