/* Reference only (not part of sdfd, x86_64 only): sd_listen_fds without a
 * single libc call -- `environ` read and edited directly, raw system calls,
 * decimal numbers only, no error details. Not a usable implementation; it
 * bounds what any implementation could reach at start-up, shared (r3) and
 * linked into the program (r4). Built with -DLIBC_UNSETENV (r5) it removes
 * the variables with libc's unsetenv instead, as sdfd does. */
#include <stddef.h>
#include <sys/syscall.h>

extern char **environ;

static long sys3(long n, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}

static const char *match(const char *entry, const char *name) {
    while (*name && *entry == *name) entry++, name++;
    return !*name && *entry == '=' ? entry + 1 : NULL;
}

static const char *get(const char *name) {
    for (char **e = environ; e && *e; e++) {
        const char *v = match(*e, name);
        if (v) return v;
    }
    return NULL;
}

static void unset(const char *name) {
#ifdef LIBC_UNSETENV
    extern int unsetenv(const char *);
    if (get(name)) unsetenv(name);
    return;
#endif
    for (char **e = environ; e && *e;) {
        if (match(*e, name)) {
            char **d = e;
            do d[0] = d[1];
            while (*d++);
        } else {
            e++;
        }
    }
}

static long decimal(const char *s) {
    long v = 0;
    while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
    return v;
}

int sd_listen_fds(int unset_environment) {
    int r = 0;
    const char *pid = get("LISTEN_PID"), *fds = get("LISTEN_FDS");
    if (pid && fds && decimal(pid) == sys3(SYS_getpid, 0, 0, 0)) {
        long n = decimal(fds);
        for (long fd = 3; fd < 3 + n; fd++) {
            long fl = sys3(SYS_fcntl, fd, 1 /* F_GETFD */, 0);
            if (fl < 0) {
                r = (int)fl;
                goto out;
            }
            if (!(fl & 1)) sys3(SYS_fcntl, fd, 2 /* F_SETFD */, fl | 1);
        }
        r = (int)n;
    }
out:
    if (unset_environment) {
        unset("LISTEN_PID");
        unset("LISTEN_FDS");
        unset("LISTEN_FDNAMES");
    }
    return r;
}
