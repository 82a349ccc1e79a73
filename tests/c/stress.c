/* Threads and descriptor leaks: the same source is linked against
 * libsystemd and against sdfd (tests/c/sanitize.sh).
 *
 *   stress [THREADS [ITERATIONS]]        (default 16 threads, 200 iterations)
 *
 * 1. baseline: every function is called once, single-threaded, over a fixed
 *    set of descriptors and a fixed environment; the results are printed as
 *    "baseline ..." lines, which sanitize.sh compares between the libsystemd
 *    and the sdfd build (no expected value is written here).
 * 2. fd leaks: each function is called 50 times; the number of open
 *    descriptors (/proc/self/fd) must not change.
 * 3. threads: THREADS threads call every function ITERATIONS times at once
 *    (as a multi-threaded daemon may at start-up; unset_environment = 0, as
 *    unsetting while other threads read the environment is a data race in
 *    libc, in libsystemd too); every result must equal the baseline, every
 *    names array is freed with free(), every notification must arrive at
 *    the receiver thread, and no descriptor may be left behind.
 * Ends with "N passed, N failed". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#define NFDS 4
static char dir[64], unix_path[96], recv_path[96], fifo_path[96];
static struct sockaddr_in tcp_addr;
static int receiver = -1;
static int passed, failed;

static void die(const char *w) {
    fprintf(stderr, "stress: %s: %s\n", w, strerror(errno));
    exit(99);
}

static void check(int ok, const char *what) {
    if (ok) {
        passed++;
        printf("ok     %s\n", what);
    } else {
        failed++;
        printf("FAIL   %s\n", what);
    }
}

static void place(int fd, int target) {
    if (fd < 0) die("fd");
    if (fd != target) {
        if (dup2(fd, target) < 0) die("dup2");
        close(fd);
    }
}

/* fd 3: TCP listening on 127.0.0.1, 4: unix stream listening, 5: unix
 * datagram, 6: FIFO; a datagram receiver for NOTIFY_SOCKET above them. */
static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/sdfd-stress-%d", (int)getpid());
    mkdir(dir, 0700);
    snprintf(unix_path, sizeof unix_path, "%s/u", dir);
    snprintf(recv_path, sizeof recv_path, "%s/notify", dir);
    snprintf(fifo_path, sizeof fifo_path, "%s/fifo", dir);

    int s = socket(AF_INET, SOCK_STREAM, 0);
    tcp_addr.sin_family = AF_INET;
    tcp_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&tcp_addr, sizeof tcp_addr) < 0 || listen(s, 4) < 0) die("tcp");
    socklen_t l = sizeof tcp_addr;
    getsockname(s, (struct sockaddr *)&tcp_addr, &l);
    place(s, 3);

    struct sockaddr_un un = { .sun_family = AF_UNIX };
    snprintf(un.sun_path, sizeof un.sun_path, "%s", unix_path);
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (bind(s, (struct sockaddr *)&un, sizeof un) < 0 || listen(s, 4) < 0) die("unix");
    place(s, 4);
    place(socket(AF_UNIX, SOCK_DGRAM, 0), 5);
    if (mkfifo(fifo_path, 0600) < 0) die("mkfifo");
    place(open(fifo_path, O_RDWR), 6);

    s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    snprintf(un.sun_path, sizeof un.sun_path, "%s", recv_path);
    if (bind(s, (struct sockaddr *)&un, sizeof un) < 0) die("receiver");
    int big = 8 << 20;
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    receiver = fcntl(s, F_DUPFD_CLOEXEC, 100);
    close(s);

    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    setenv("LISTEN_PID", pid, 1);
    setenv("LISTEN_FDS", "4", 1);
    setenv("LISTEN_FDNAMES", "http:ctl:log\\:x:fifo", 1);
    setenv("WATCHDOG_USEC", "30000000", 1);
    setenv("WATCHDOG_PID", pid, 1);
    setenv("NOTIFY_SOCKET", recv_path, 1);
}

static void cleanup(void) {
    unlink(unix_path);
    unlink(recv_path);
    unlink(fifo_path);
    rmdir(dir);
}

/* Every function once; the results as one comparable string. */
#define RESULT_MAX 2048
static int describe(char *out, size_t n) {
    size_t o = 0;
#define OUT(...)                                        \
    do {                                                \
        int k_ = snprintf(out + o, n - o, __VA_ARGS__); \
        if (k_ > 0 && (size_t)k_ < n - o) o += k_;      \
    } while (0)
    OUT("listen=%d", sd_listen_fds(0));
    char **names = NULL;
    int r = sd_listen_fds_with_names(0, &names);
    OUT(" names=%d[", r);
    for (int i = 0; r > 0 && names && names[i]; i++) {
        OUT("%s%s", i ? "," : "", names[i]);
        free(names[i]);
    }
    free(names);
    OUT("]");
    /* only descriptors no other thread can open or close meanwhile */
    static const int fds[] = { -1, 2, 3, 4, 5, 6 };
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        int fd = fds[i];
        OUT(" fd%d:sock=%d,%d,%d inet=%d,%d unix=%d,%d,%d fifo=%d,%d special=%d mq=%d", fd, sd_is_socket(fd, 0, 0, -1),
            sd_is_socket(fd, AF_INET, SOCK_STREAM, 1), sd_is_socket(fd, AF_UNIX, SOCK_DGRAM, 0),
            sd_is_socket_inet(fd, 0, SOCK_STREAM, 1, 0),
            sd_is_socket_inet(fd, AF_INET, 0, -1, ntohs(tcp_addr.sin_port)), sd_is_socket_unix(fd, 0, -1, NULL, 0),
            sd_is_socket_unix(fd, SOCK_STREAM, 1, unix_path, 0), sd_is_socket_unix(fd, 0, -1, "/nonexistent", 0),
            sd_is_fifo(fd, NULL), sd_is_fifo(fd, fifo_path), sd_is_special(fd, "/dev/null"), sd_is_mq(fd, NULL));
        OUT(" sockaddr=%d,%d", sd_is_socket_sockaddr(fd, SOCK_STREAM, (struct sockaddr *)&tcp_addr, sizeof tcp_addr, 1),
            sd_is_socket_sockaddr(fd, 0, (struct sockaddr *)&tcp_addr, 4, -1));
    }
    uint64_t usec = 0;
    r = sd_watchdog_enabled(0, &usec);
    OUT(" watchdog=%d,%llu booted=%d", r, (unsigned long long)usec, sd_booted());
    return (int)o;
#undef OUT
}

static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) die("/proc/self/fd");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

static char baseline[RESULT_MAX];
static int iterations = 200;
static atomic_int mismatches, notify_ok, notify_bad;

static void *worker(void *arg) {
    long id = (long)arg;
    char buf[RESULT_MAX], msg[64];
    for (int i = 0; i < iterations; i++) {
        describe(buf, sizeof buf);
        if (strcmp(buf, baseline)) {
            if (atomic_fetch_add(&mismatches, 1) == 0)
                printf("thread %ld iteration %d:\n  got  %s\n  want %s\n", id, i, buf, baseline);
        }
        snprintf(msg, sizeof msg, "STATUS=thread %ld iteration %d", id, i);
        if (sd_notify(0, msg) == 1) atomic_fetch_add(&notify_ok, 1);
        else atomic_fetch_add(&notify_bad, 1);
    }
    return NULL;
}

static atomic_int receiving = 1;
static atomic_int received;

static void *receive(void *arg) {
    (void)arg;
    char buf[256];
    for (;;) {
        struct pollfd p = { receiver, POLLIN, 0 };
        int r = poll(&p, 1, 200);
        if (r > 0) {
            while (recv(receiver, buf, sizeof buf, MSG_DONTWAIT) > 0) atomic_fetch_add(&received, 1);
        } else if (!atomic_load(&receiving)) {
            return NULL;
        }
    }
}

int main(int argc, char **argv) {
    int nthreads = argc > 1 ? atoi(argv[1]) : 16;
    if (argc > 2) iterations = atoi(argv[2]);
    setup();
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* 1. baseline */
    describe(baseline, sizeof baseline);
    for (char *p = baseline, *q; p && *p; p = q) {
        q = strchr(p, ' ');
        printf("baseline %.*s\n", q ? (int)(q - p) : (int)strlen(p), p);
        if (q) q++;
    }
    uint64_t dummy;
    check(sd_listen_fds(0) == NFDS, "baseline: sd_listen_fds sees the 4 fds");
    check(sd_watchdog_enabled(0, &dummy) == 1, "baseline: watchdog enabled");

    /* 2. fd leaks, function by function (50 calls each) */
    struct {
        const char *name;
        int kind;
    } fns[] = {
        { "sd_listen_fds", 0 }, { "sd_listen_fds_with_names", 1 },
        { "sd_is_socket*", 2 }, { "sd_is_fifo/special/mq", 3 },
        { "sd_notify", 4 },     { "sd_watchdog_enabled", 5 },
        { "sd_booted", 6 },     { "sd_notify (no receiver)", 7 },
    };
    char tmp[RESULT_MAX];
    for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++) {
        int before = count_fds();
        for (int i = 0; i < 50; i++) {
            char **names = NULL;
            uint64_t u;
            switch (fns[f].kind) {
            case 0: sd_listen_fds(0); break;
            case 1:
                if (sd_listen_fds_with_names(0, &names) > 0) {
                    for (int k = 0; names[k]; k++) free(names[k]);
                    free(names);
                }
                break;
            case 2:
                sd_is_socket(3, AF_INET, 0, 1);
                sd_is_socket_inet(3, 0, 0, -1, 0);
                sd_is_socket_unix(4, 0, -1, unix_path, 0);
                sd_is_socket_sockaddr(3, 0, (struct sockaddr *)&tcp_addr, sizeof tcp_addr, -1);
                break;
            case 3:
                sd_is_fifo(6, fifo_path);
                sd_is_special(6, "/dev/null");
                sd_is_mq(6, NULL);
                break;
            case 4:
                sd_notify(0, "STATUS=leak check");
                sd_pid_notify_with_fds(0, 0, "FDSTORE=1", (int[]){ 6 }, 1);
                while (recv(receiver, tmp, sizeof tmp, MSG_DONTWAIT) >= 0) {} /* the fd passed is dropped */
                break;
            case 5: sd_watchdog_enabled(0, &u); break;
            case 6: sd_booted(); break;
            case 7:
                setenv("NOTIFY_SOCKET", "/nonexistent/socket", 1);
                sd_notify(0, "READY=1");
                sd_notify_barrier(0, 1000);
                setenv("NOTIFY_SOCKET", recv_path, 1);
                break;
            }
        }
        int after = count_fds();
        char what[160];
        snprintf(what, sizeof what, "no fd leaked by %s (%d open before, %d after 50 calls)", fns[f].name, before,
                 after);
        check(before == after, what);
    }

    /* 3. threads */
    int before = count_fds();
    pthread_t rt, th[256];
    if (nthreads > 256) nthreads = 256;
    pthread_create(&rt, NULL, receive, NULL);
    for (long t = 0; t < nthreads; t++)
        if (pthread_create(&th[t], NULL, worker, (void *)t)) die("pthread_create");
    for (int t = 0; t < nthreads; t++) pthread_join(th[t], NULL);
    /* let the receiver drain what is queued, then stop it */
    int expect = nthreads * iterations;
    for (int w = 0; w < 100 && atomic_load(&received) < atomic_load(&notify_ok); w++) usleep(50000);
    atomic_store(&receiving, 0);
    pthread_join(rt, NULL);
    int after = count_fds();
    char what[200];
    snprintf(what, sizeof what, "%d threads x %d iterations: every result equals the baseline (%d mismatches)",
             nthreads, iterations, atomic_load(&mismatches));
    check(atomic_load(&mismatches) == 0, what);
    snprintf(what, sizeof what, "%d notifications sent (%d failed)", expect, atomic_load(&notify_bad));
    check(atomic_load(&notify_ok) == expect, what);
    snprintf(what, sizeof what, "%d notifications received of %d", atomic_load(&received), expect);
    check(atomic_load(&received) == expect, what);
    snprintf(what, sizeof what, "no fd leaked by the threads (%d open before, %d after)", before, after);
    check(before == after, what);
    printf("threads: %d x %d iterations, %d calls\n", nthreads, iterations, nthreads * iterations * 89);
    cleanup();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
