/* The hand-written floor for bench/footprint.sh: sd_listen_fds as a C
 * programmer would write it inline instead of linking a library (parse
 * LISTEN_PID and LISTEN_FDS, set FD_CLOEXEC on each passed fd, unset the
 * variables). Linked with bench/start.c in place of libsdfd; never shipped.
 * It follows libsystemd 252's order of checks, but takes plain decimal
 * numbers only (no strtol: no sign, space or 0x/0b/0o prefix) and ignores
 * LISTEN_FDNAMES and LISTEN_PIDFDID: the least a C programmer would write. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static int parse(const char *s, long *out) {
    long v = 0;
    if (!*s) return -EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -EINVAL;
        if (v > 0x7fffffff / 10) return -ERANGE;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return 0;
}

int sd_listen_fds(int unset_environment) {
    const char *e;
    long pid, n;
    int r = 0, fd;

    if (!(e = getenv("LISTEN_PID"))) goto out;
    if ((r = parse(e, &pid)) < 0) goto out;
    if (pid <= 0 || pid != (long)getpid()) {
        r = pid <= 0 ? -ERANGE : 0;
        goto out;
    }
    if (!(e = getenv("LISTEN_FDS"))) goto out;
    if ((r = parse(e, &n)) < 0) goto out;
    if (n <= 0 || n > 0x7ffffff0) {
        r = -EINVAL;
        goto out;
    }
    for (fd = 3; fd < 3 + n; fd++) {
        int flags = fcntl(fd, F_GETFD);
        if (flags < 0 || (!(flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)) {
            r = -errno;
            goto out;
        }
    }
    r = (int)n;
out:
    if (unset_environment) {
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_FDNAMES");
    }
    return r;
}
