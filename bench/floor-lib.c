/* Reference only (not part of sdfd): the smallest plausible shared library
 * written in C that offers sd_listen_fds -- getenv, strtol, getpid, an fcntl
 * loop, unsetenv. Linked like libsdfd.so, it shows what loading *any* extra
 * shared library costs a program at start-up: the floor for (b). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int sd_listen_fds(int unset_environment) {
    int r = 0;
    const char *p = getenv("LISTEN_PID"), *n = getenv("LISTEN_FDS");
    if (p && n && strtol(p, NULL, 10) == getpid()) {
        long count = strtol(n, NULL, 10);
        for (long fd = 3; fd < 3 + count; fd++) {
            int fl = fcntl((int)fd, F_GETFD);
            if (fl < 0) {
                r = -errno;
                goto out;
            }
            if (!(fl & FD_CLOEXEC) && fcntl((int)fd, F_SETFD, fl | FD_CLOEXEC) < 0) {
                r = -errno;
                goto out;
            }
        }
        r = (int)count;
    }
out:
    if (unset_environment) {
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_FDNAMES");
    }
    return r;
}
