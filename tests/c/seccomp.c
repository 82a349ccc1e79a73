/* seccomp.c: sd_listen_fds under a kill-mode system-call allow-list.
 *
 *   seccomp MODE N CLOSED ALLOW
 *
 * opens N descriptors at 3.. (sockets), closes descriptor 3+CLOSED when
 * CLOSED >= 0, sets LISTEN_PID/LISTEN_FDS (and LISTEN_FDNAMES for MODE
 * "names"), then installs a seccomp filter that kills the process on any
 * system call not named in ALLOW (comma-separated; write and exit_group are
 * always allowed, for the report), calls sd_listen_fds(1) (MODE "plain") or
 * sd_listen_fds_with_names(1, &names) (MODE "names") and writes the result
 * and the FD_CLOEXEC state of every descriptor. Built twice: against
 * libsystemd and against sdfd (tests/c/seccomp.sh compares). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

static const struct {
    const char *name;
    long nr;
} calls[] = {
    { "getpid", SYS_getpid },
    { "fcntl", SYS_fcntl },
    { "poll", SYS_poll },
    { "ppoll", SYS_ppoll },
    { "close_range", 436 /* x86_64 */ },
    { "close", SYS_close },
    { "brk", SYS_brk },
    { "mmap", SYS_mmap },
    { "munmap", SYS_munmap },
    { "mremap", SYS_mremap },
    { "madvise", SYS_madvise },
    { "futex", SYS_futex },
    { "rt_sigprocmask", SYS_rt_sigprocmask },
    { "openat", SYS_openat },
    { "read", SYS_read },
    { "newfstatat", SYS_newfstatat },
    { "fstat", SYS_fstat },
    { "getrandom", SYS_getrandom },
    { "prctl", SYS_prctl },
    { "gettid", SYS_gettid },
    { "getuid", SYS_getuid },
    { "write", SYS_write },
    { "exit_group", SYS_exit_group },
};

static void say(const char *s) {
    size_t len = strlen(s);
    while (len > 0) {
        ssize_t w = write(1, s, len);
        if (w <= 0) break;
        s += w;
        len -= (size_t)w;
    }
}

static long lookup(const char *name) {
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        if (!strcmp(calls[i].name, name)) return calls[i].nr;
    fprintf(stderr, "seccomp: unknown system call %s\n", name);
    exit(99);
}

static void install(const char *allow) {
    struct sock_filter f[128];
    int n = 0;
    f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    char buf[1024];
    snprintf(buf, sizeof buf, "write,exit_group%s%s", *allow ? "," : "", allow);
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (n > 120) {
            fprintf(stderr, "seccomp: list too long\n");
            exit(99);
        }
        f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)lookup(item), 0, 1);
        f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    }
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    struct sock_fprog prog = { .len = (unsigned short)n, .filter = f };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
        perror("seccomp");
        exit(99);
    }
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: seccomp plain|names N CLOSED ALLOW\n");
        return 99;
    }
    int names_mode = !strcmp(argv[1], "names");
    int n = atoi(argv[2]), closed = atoi(argv[3]);
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd != 3 + i) {
            fprintf(stderr, "seccomp: got fd %d for %d\n", fd, 3 + i);
            return 99;
        }
    }
    if (closed >= 0) close(3 + closed);
    char v[64];
    snprintf(v, sizeof v, "%d", (int)getpid());
    setenv("LISTEN_PID", v, 1);
    snprintf(v, sizeof v, "%d", n);
    setenv("LISTEN_FDS", v, 1);
    static char fdnames[16384];
    for (int i = 0; i < n; i++) strcat(fdnames, i ? ":s" : "s");
    setenv("LISTEN_FDNAMES", fdnames, 1);
    static char out[32768]; /* no allocation after the filter */
    int flags[1024];
    install(argv[4]);
    char **names = NULL;
    int r = names_mode ? sd_listen_fds_with_names(1, &names) : sd_listen_fds(1);
    for (int i = 0; i < n && i < 1024; i++) flags[i] = fcntl(3 + i, F_GETFD);
    int len = snprintf(out, sizeof out, "r=%d names=%s cloexec=", r, names ? "set" : "none");
    for (int i = 0; i < n && i < 1024 && len < (int)sizeof out - 4; i++)
        len += snprintf(out + len, sizeof out - len, "%c", flags[i] < 0 ? '-' : (flags[i] & FD_CLOEXEC) ? '1' : '0');
    snprintf(out + len, sizeof out - len, "\n");
    say(out);
    syscall(SYS_exit_group, 0);
    return 0;
}
