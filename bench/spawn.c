/* Runs programs the way a socket-activating service manager starts an
 * inetd-style (Accept=yes) daemon: fork, a connected socket as fd 3, a clean
 * environment (PATH, LISTEN_PID = the child's pid, LISTEN_FDS=1,
 * LISTEN_FDNAMES=connection), exec, wait.
 *
 *   spawn exec PROG [ARG...]     set up fd 3 and the environment for this
 *                                process, then exec (used under valgrind/strace)
 *   spawn time RUNS PROG...      fork+exec+wait each PROG RUNS times,
 *                                interleaved (PROG1, PROG2, ..., PROG1, ...);
 *                                prints per PROG: median p10 p90 in microseconds
 * A PROG that exits non-zero (not activated) is an error. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
static int conn[2];

static void child_setup(void) {
    static char pidvar[64];
    snprintf(pidvar, sizeof pidvar, "LISTEN_PID=%d", (int)getpid());
    static char *envp[] = { "PATH=/usr/local/bin:/usr/bin:/bin", NULL, "LISTEN_FDS=1", "LISTEN_FDNAMES=connection",
                            NULL };
    envp[1] = pidvar;
    environ = envp;
    if (dup2(conn[0], 3) < 0) {
        perror("dup2");
        _exit(120);
    } /* dup2 clears FD_CLOEXEC */
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: spawn exec PROG... | spawn time RUNS PROG...\n");
        return 2;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, conn) < 0) {
        perror("socketpair");
        return 2;
    }
    for (int i = 0; i < 2; i++) { /* keep them off fd 3, which dup2 must really create */
        int high = fcntl(conn[i], F_DUPFD_CLOEXEC, 10);
        close(conn[i]);
        conn[i] = high;
    }
    if (!strcmp(argv[1], "exec")) {
        child_setup();
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        return 127;
    }
    int runs = atoi(argv[2]), nprog = argc - 3;
    if (runs <= 0 || nprog <= 0) return 2;
    double *t = calloc((size_t)runs * nprog, sizeof *t);
    for (int r = -runs / 20 - 1; r < runs; r++) { /* a few warm-up rounds */
        for (int p = 0; p < nprog; p++) {
            struct timespec a, b;
            clock_gettime(CLOCK_MONOTONIC, &a);
            pid_t pid = fork();
            if (pid == 0) {
                child_setup();
                char *av[] = { argv[3 + p], NULL };
                execv(argv[3 + p], av);
                _exit(127);
            }
            int st;
            if (pid < 0 || waitpid(pid, &st, 0) < 0) {
                perror("fork/wait");
                return 2;
            }
            clock_gettime(CLOCK_MONOTONIC, &b);
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                fprintf(stderr, "spawn: %s exited with status %d\n", argv[3 + p], st);
                return 1;
            }
            if (r >= 0) t[(size_t)p * runs + r] = (b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) / 1e3;
        }
    }
    for (int p = 0; p < nprog; p++) {
        double *v = t + (size_t)p * runs;
        qsort(v, runs, sizeof *v, cmp);
        printf("%s %.1f %.1f %.1f\n", argv[3 + p], v[runs / 2], v[runs / 10], v[runs * 9 / 10]);
    }
    return 0;
}
