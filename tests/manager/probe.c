/* probe.c: a service for the real systemd manager (tests/manager/run.sh),
 * built twice: against libsystemd 252 and against sdfd. It performs the
 * actions named in its arguments and appends what each call returned to
 * $PROBE_OUT (one line per action, prefixed with the invocation number from
 * $PROBE_OUT.n), so the two builds' reports can be compared line for line.
 *
 * Actions:
 *   listen           sd_listen_fds_with_names(0): count, names, and per fd
 *                    sd_is_socket(fd, 0, 0, -1), the socket type, whether it
 *                    listens; a stored memfd's content
 *   notify:MSG       sd_notify(0, MSG), "|" in MSG standing for a newline
 *   store:NAME       a memfd holding NAME, passed with FDSTORE=1, FDNAME=NAME
 *   barrier          sd_notify_barrier(0, 5 s)
 *   watchdog         sd_watchdog_enabled(0, &usec)
 *   ping:N:MS        N times WATCHDOG=1, MS milliseconds apart
 *   child:MSG        a forked child's sd_notify(0, MSG), then its barrier
 *                    (for NotifyAccess=)
 *   serve            Accept=yes: answer the connection on fd 3
 *   sleep:MS, pause, exit:N
 * An action written N=ACTION is performed only by invocation N. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

static FILE *out;
static int invocation;

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(out, "%d ", invocation);
    vfprintf(out, fmt, ap);
    fputc('\n', out);
    fflush(out);
    va_end(ap);
}

static void msleep(long ms) {
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

static char *unbar(const char *s) {
    char *m = strdup(s);
    for (char *p = m; *p; p++)
        if (*p == '|') *p = '\n';
    return m;
}

static void do_listen(void) {
    char **names = NULL;
    int n = sd_listen_fds_with_names(0, &names);
    char all[1024] = "";
    for (int i = 0; names && i < n; i++) {
        if (i) strncat(all, ",", sizeof all - strlen(all) - 1);
        strncat(all, names[i], sizeof all - strlen(all) - 1);
    }
    report("listen n=%d names=%s", n, all);
    for (int i = 0; i < n; i++) {
        int fd = SD_LISTEN_FDS_START + i;
        int type = 0, acc = 0;
        socklen_t l = sizeof type;
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l);
        l = sizeof acc;
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l);
        report("fd %d name=%s is_socket=%d type=%d listening=%d unix=%d inet=%d", fd, names ? names[i] : "?",
               sd_is_socket(fd, 0, 0, -1), type, acc, sd_is_socket_unix(fd, 0, -1, NULL, 0),
               sd_is_socket_inet(fd, 0, 0, -1, 0));
        if (sd_is_socket(fd, 0, 0, -1) == 0) {
            char content[64] = "";
            ssize_t r = pread(fd, content, sizeof content - 1, 0);
            content[r > 0 ? r : 0] = 0;
            report("content %s=%s", names ? names[i] : "?", content);
        }
    }
    if (names) {
        for (int i = 0; names[i]; i++) free(names[i]);
        free(names);
    }
}

static void do_store(const char *name) {
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0 || write(fd, name, strlen(name)) < 0) {
        report("store %s: %m", name);
        return;
    }
    char msg[256];
    snprintf(msg, sizeof msg, "FDSTORE=1\nFDNAME=%s", name);
    report("store %s r=%d", name, sd_pid_notify_with_fds(0, 0, msg, &fd, 1));
    close(fd);
}

static void do_serve(void) {
    int fd = SD_LISTEN_FDS_START;
    int n = sd_listen_fds(0);
    int conn = sd_is_socket(fd, 0, SOCK_STREAM, 0);
    char buf[128] = "";
    ssize_t r = read(fd, buf, sizeof buf - 1);
    buf[r > 0 ? r : 0] = 0;
    char *nl = strchr(buf, '\n');
    if (nl) *nl = 0;
    char reply[256];
    snprintf(reply, sizeof reply, "n=%d connected=%d got=%s\n", n, conn, buf);
    if (write(fd, reply, strlen(reply)) < 0) {}
    report("serve %s", reply);
}

int main(int argc, char **argv) {
    const char *path = getenv("PROBE_OUT");
    if (!path) return 99;
    char npath[512];
    snprintf(npath, sizeof npath, "%s.n", path);
    FILE *nf = fopen(npath, "r+");
    if (!nf) nf = fopen(npath, "w+");
    if (nf) {
        if (fscanf(nf, "%d", &invocation) != 1) invocation = 0;
        invocation++;
        rewind(nf);
        fprintf(nf, "%d\n", invocation);
        fclose(nf);
    }
    out = fopen(path, "a");
    if (!out) return 99;
    /* Several invocations (Accept=yes instances) may run: one line at a time. */
    setvbuf(out, NULL, _IOLBF, 0);
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        /* "N=ACTION": only in invocation N. */
        size_t digits = strspn(a, "0123456789");
        if (digits > 0 && a[digits] == '=') {
            if (atoi(a) != invocation) continue;
            a += digits + 1;
        }
        char *arg = strchr(a, ':');
        if (arg) *arg++ = 0;
        if (!strcmp(a, "listen")) do_listen();
        else if (!strcmp(a, "notify")) {
            char *m = unbar(arg);
            report("notify %s r=%d", arg, sd_notify(0, m));
            free(m);
        } else if (!strcmp(a, "store")) do_store(arg);
        else if (!strcmp(a, "barrier")) report("barrier r=%d", sd_notify_barrier(0, 5000000));
        else if (!strcmp(a, "watchdog")) {
            uint64_t usec = 0;
            int r = sd_watchdog_enabled(0, &usec);
            report("watchdog r=%d usec=%llu", r, (unsigned long long)usec);
        } else if (!strcmp(a, "ping")) {
            int n = atoi(arg), ms = atoi(strchr(arg, ':') ? strchr(arg, ':') + 1 : "100"), ok = 0;
            for (int k = 0; k < n; k++) {
                ok += sd_notify(0, "WATCHDOG=1") > 0;
                msleep(ms);
            }
            report("ping %d sent=%d", n, ok);
        } else if (!strcmp(a, "child")) {
            int p[2];
            if (pipe(p) < 0) return 99;
            pid_t pid = fork();
            if (pid == 0) {
                /* The child waits (barrier) until the manager has processed
                 * its message: the manager finds a sender's unit by its pid,
                 * which must still exist then. */
                char *m = unbar(arg);
                int r[2] = { sd_notify(0, m), sd_notify_barrier(0, 5000000) };
                if (write(p[1], r, sizeof r) < 0) {}
                _exit(0);
            }
            int r[2] = { -999, -999 };
            if (read(p[0], r, sizeof r) < 0) {}
            waitpid(pid, NULL, 0);
            report("child %s r=%d barrier=%d", arg, r[0], r[1]);
        } else if (!strcmp(a, "serve")) do_serve();
        else if (!strcmp(a, "sleep")) msleep(atol(arg));
        else if (!strcmp(a, "pause")) {
            report("pause");
            for (;;) pause();
        } else if (!strcmp(a, "exit")) {
            report("exit %s", arg);
            return atoi(arg);
        } else {
            report("unknown action %s", a);
            return 98;
        }
    }
    return 0;
}
