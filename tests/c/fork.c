/* fork.c: one answer per process after fork().
 *
 * A process activated with one socket named "web" (fd 3, LISTEN_PID its
 * own) forks. In the child, LISTEN_PID names the parent, so
 * sd_listen_fds(0) says 0 and sdfd_activate_socket() says -ESRCH; the
 * snapshot calls (sdfd_snapshot, sdfd_snapshot_fd, sdfd_snapshot_name,
 * sdfd_find_socket) must say the same, whether the parent took its snapshot
 * before the fork or not, while the parent keeps its answer. Built against
 * sdfd; tests/c/fork.sh runs it. Ends with "N passed, N failed". */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sdfd.h>
#include <systemd/sd-daemon.h>

static int pass, fail;

static void check(int ok, const char *what, const char *detail) {
    printf("%s - %s%s%s\n", ok ? "ok  " : "FAIL", what, ok ? "" : ": ", ok ? "" : detail);
    fflush(stdout);
    if (ok) pass++;
    else fail++;
}

/* One line describing what this process is told. */
static void answers(char *buf, size_t len) {
    sdfd_socket_t *socks = NULL;
    size_t count = 0;
    int act = sdfd_activate_socket("web", &socks, &count);
    if (act >= 0) free(socks);
    const char *name = sdfd_snapshot_name(0);
    snprintf(buf, len, "listen_fds=%d snapshot=%d snapshot_fd=%d snapshot_name=%s find_socket=%d activate=%d",
             sd_listen_fds(0), sdfd_snapshot(), sdfd_snapshot_fd(0), name ? name : "(null)",
             sdfd_find_socket("@sdfd-fork-test", 0), act);
}

/* Fork; the child writes its answers to a pipe; returns them. */
static void child_answers(char *buf, size_t len) {
    int p[2];
    if (pipe(p) < 0) {
        perror("pipe");
        exit(99);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(99);
    }
    if (pid == 0) {
        char b[512];
        answers(b, sizeof b);
        if (write(p[1], b, strlen(b)) < 0) _exit(98);
        _exit(0);
    }
    close(p[1]);
    ssize_t n = read(p[0], buf, len - 1);
    buf[n > 0 ? n : 0] = 0;
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
}

int main(void) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    memcpy(a.sun_path + 1, "sdfd-fork-test", 14);
    char pidbuf[32];
    snprintf(pidbuf, sizeof pidbuf, "%d", (int)getpid());
    if (fd != 3 || bind(fd, (struct sockaddr *)&a, sizeof(sa_family_t) + 15) < 0 || listen(fd, 4) < 0) {
        perror("socket at fd 3");
        return 99;
    }
    setenv("LISTEN_PID", pidbuf, 1);
    setenv("LISTEN_FDS", "1", 1);
    setenv("LISTEN_FDNAMES", "web", 1);
    const char *want_child = "listen_fds=0 snapshot=0 snapshot_fd=-6 snapshot_name=(null) find_socket=-3 activate=-3";
    char got[512], parent[512];

    /* 1. The child forks before anyone took the snapshot. */
    child_answers(got, sizeof got);
    check(!strcmp(got, want_child), "child of a parent that never read the activation", got);

    /* 2. The parent reads it (snapshot and by-name claim), then forks. */
    int n = sdfd_snapshot();
    check(n == 1, "parent's snapshot: 1 fd", "");
    child_answers(got, sizeof got);
    check(!strcmp(got, want_child), "child of a parent holding a snapshot: one answer", got);

    /* 3. The parent's answer is unchanged by the fork. */
    answers(parent, sizeof parent);
    check(!strcmp(parent, "listen_fds=1 snapshot=1 snapshot_fd=3 snapshot_name=web find_socket=3 activate=0"),
          "parent after the fork keeps its answer", parent);

    /* 4. A grandchild: the same as the child. */
    int p[2];
    if (pipe(p) < 0) return 99;
    pid_t pid = fork();
    if (pid == 0) {
        char b[512];
        sdfd_snapshot(); /* the child takes its own */
        child_answers(b, sizeof b);
        if (write(p[1], b, strlen(b)) < 0) _exit(98);
        _exit(0);
    }
    close(p[1]);
    ssize_t r = read(p[0], got, sizeof got - 1);
    got[r > 0 ? r : 0] = 0;
    waitpid(pid, NULL, 0);
    check(!strcmp(got, want_child), "grandchild: one answer", got);

    printf("%d passed, %d failed\n", pass, fail);
    return fail ? 1 : 0;
}
