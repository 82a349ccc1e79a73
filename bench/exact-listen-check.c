/* Holds bench/exact-listen.c to the library it is measured against
 * (bench/floors.sh links this program with libsystemd, with sdfd and with
 * exact-listen.c, and compares what each prints for the same arguments).
 *
 *   exact-listen-check PID FDS PIDFDID
 *
 * Each argument is a value for LISTEN_PID, LISTEN_FDS and LISTEN_PIDFDID,
 * "-" leaving the variable unset; "{pid}" in it is this process's pid and
 * "{id}" its pidfd's inode number (pidfs). Fds 3 and 4 are open without
 * FD_CLOEXEC and LISTEN_FDNAMES=a:b is set. Prints sd_listen_fds(1)'s
 * result, which variables are left, and FD_CLOEXEC of fds 3 and 4. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int sd_listen_fds(int unset_environment);

static void put(const char *name, const char *arg) {
    char value[256], num[32];
    size_t n = 0;
    if (!strcmp(arg, "-")) return;
    for (const char *p = arg; *p && n < sizeof value - 32;) {
        const char *sub = NULL;
        if (!strncmp(p, "{pid}", 5)) {
            snprintf(num, sizeof num, "%d", (int)getpid());
            sub = num, p += 5;
        } else if (!strncmp(p, "{id}", 4)) {
            struct stat st;
            int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
            snprintf(num, sizeof num, "%llu", fd >= 0 && fstat(fd, &st) == 0 ? (unsigned long long)st.st_ino : 0ULL);
            sub = num, p += 4;
        }
        if (sub) n += (size_t)snprintf(value + n, sizeof value - n, "%s", sub);
        else value[n++] = *p++;
    }
    value[n] = 0;
    setenv(name, value, 1);
}

int main(int argc, char **argv) {
    static const char *const vars[] = { "LISTEN_PID", "LISTEN_FDS", "LISTEN_PIDFDID", "LISTEN_FDNAMES" };
    if (argc != 4) return 2;
    for (int fd = 3; fd <= 4; fd++)
        if (dup2(0, fd) != fd || fcntl(fd, F_SETFD, 0) < 0) return 2;
    put("LISTEN_PID", argv[1]);
    put("LISTEN_FDS", argv[2]);
    put("LISTEN_PIDFDID", argv[3]);
    setenv("LISTEN_FDNAMES", "a:b", 1);
    printf("%d", sd_listen_fds(1));
    for (int i = 0; i < 4; i++)
        if (getenv(vars[i])) printf(" %s", vars[i]);
    for (int fd = 3; fd <= 4; fd++) printf(" %d:%s", fd, fcntl(fd, F_GETFD) & FD_CLOEXEC ? "ce" : "in");
    printf("\n");
    return 0;
}
