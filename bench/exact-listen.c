/* Reference only (not part of sdfd; bench/floors.sh): sd_listen_fds with the
 * results sdfd must give, written in C the smallest way measured, to show
 * where the floor of issue 30's static target is. libsystemd 252's rules
 * (docs/c-api.md): its number syntax through libc's strtol/strtoul (white
 * space, '+', 0x, a leading 0 as octal, and systemd's own 0b/0o), LISTEN_PID
 * as a positive pid_t, LISTEN_FDS as an int in 1..INT_MAX-3, FD_CLOEXEC set on
 * each fd, the variables unset on every path; and systemd 258's LISTEN_PIDFDID
 * check (left out with -DNO_PIDFDID), its four system calls made directly
 * (as sdfd makes them) so that no libc wrapper comes in with them.
 * bench/exact-listen-check.c holds it to libsystemd's and sdfd's results. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* systemd's safe_atolu/safe_atoi: `is_long` picks strtol and the int range. */
static int parse(const char *s, int is_long, unsigned long *out) {
    char *end = NULL;
    int base = 0;
    long v;

    s += strspn(s, " \t\n\r");
    if (s[0] == '0' && (s[1] | 0x20) == 'b') base = 2, s += 2;
    else if (s[0] == '0' && (s[1] | 0x20) == 'o') base = 8, s += 2;
    errno = 0;
    v = is_long ? strtol(s, &end, base) : (long)strtoul(s, &end, base);
    if (errno > 0) return -errno;
    if (!end || end == s || *end) return -EINVAL;
    if (is_long ? v != (int)v : v != 0 && s[0] == '-') return -ERANGE;
    *out = (unsigned long)v;
    return 0;
}

#ifndef NO_PIDFDID
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#if defined(__x86_64__)
static long sys3(long n, long a, long b) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b) : "rcx", "r11", "memory");
    return r;
}
#else
#define sys3(n, a, b) syscall(n, a, b)
#endif

/* 1: the fds are not ours (a pidfs inode id other than `want`). */
static int other_process(pid_t pid, unsigned long want) {
    struct statfs sfs;
    struct stat st;
    int other = 0;
    long fd = sys3(SYS_pidfd_open, pid, 0);
    if (fd < 0) return 0;
    if (sys3(SYS_fstatfs, fd, (long)&sfs) == 0 && sfs.f_type == 0x50494446 && sys3(SYS_fstat, fd, (long)&st) == 0)
        other = st.st_ino != want;
    sys3(SYS_close, fd, 0);
    return other;
}
#endif

int sd_listen_fds(int unset_environment) {
    const char *e;
    unsigned long pid, n;
    int r = 0, fd;

    if (!(e = getenv("LISTEN_PID"))) goto out;
    if ((r = parse(e, 0, &pid)) < 0) goto out;
    if (pid == 0 || (unsigned long)(pid_t)pid != pid || (pid_t)pid < 0) {
        r = -ERANGE;
        goto out;
    }
    if ((pid_t)pid != getpid()) goto out;
#ifndef NO_PIDFDID
    if ((e = getenv("LISTEN_PIDFDID"))) {
        unsigned long want;
        if ((r = parse(e, 0, &want)) < 0) goto out;
        if (other_process((pid_t)pid, want)) goto out;
    }
#endif
    if (!(e = getenv("LISTEN_FDS"))) goto out;
    if ((r = parse(e, 1, &n)) < 0) goto out;
    if ((long)n <= 0 || (long)n > INT_MAX - 3) {
        r = -EINVAL;
        goto out;
    }
    for (fd = 3; fd < 3 + (int)n; fd++) {
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
#ifndef NO_PIDFDID
        unsetenv("LISTEN_PIDFDID");
#endif
    }
    return r;
}
