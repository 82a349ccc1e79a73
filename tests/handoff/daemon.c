/* A small TCP daemon that upgrades itself without a supervisor, for
 * tests/handoff/run.py and bench/handoff.py.
 *
 *   daemon CTLDIR [--port-web P --port-aux Q]    first start: binds the sockets itself
 *   daemon CTLDIR --receive PATH [--timeout-ms T] [--offerer-uid U] [--port-web P --port-aux Q]
 *                                                successor: receives them by hand-off (if that
 *                                                fails and ports are given: binds them itself)
 *   (started by the re-exec helper: finds them through LISTEN_FDS)
 *
 * Sockets: "web" and "aux" (TCP listeners on 127.0.0.1) and "state" (a
 * memfd holding the generation number, incremented by each successor: 8
 * bytes, little-endian, so that a successor of another byte order or word
 * size reads it, as tests/arch/handoff.py hands over between s390x, i686
 * and x86_64).
 * Every connection gets one line "GEN PID NAME\n".
 *
 * Signals: SIGUSR1 offers everything on CTLDIR/handoff.sock (timeout and
 * allowed uid from CTLDIR/offer.conf: "TIMEOUT_MS ALLOWED_UID"); SIGUSR2
 * starts a successor with the re-exec helper. On success the old instance
 * stops accepting, finishes its current request and exits 0; on failure it
 * prints the error and keeps serving. Once serving, it writes
 * "PID GEN" to CTLDIR/pid (atomically). */
#define _GNU_SOURCE
#include <sdfd.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *ctldir;
static int web = -1, aux = -1, state = -1;
static unsigned long gen;

static int store_gen(void) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)gen >> (8 * i));
    return pwrite(state, b, sizeof b, 0) == sizeof b ? 0 : -1;
}

static int load_gen(void) {
    unsigned char b[8];
    uint64_t v = 0;
    if (pread(state, b, sizeof b, 0) != sizeof b) return -1;
    for (int i = 0; i < 8; i++) v |= (uint64_t)b[i] << (8 * i);
    gen = (unsigned long)v;
    return 0;
}
static atomic_int stop;

static void die(const char *what, int err) {
    fprintf(stderr, "daemon %d: %s: %s\n", (int)getpid(), what, strerror(err));
    exit(1);
}

static int bind_tcp(int port) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0) die("socket", errno);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) die("bind", errno);
    if (listen(s, 512) < 0) die("listen", errno);
    return s;
}

static int port_of(int fd) {
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &l) < 0) return -1;
    return ntohs(a.sin_port);
}

/* The one socket named `name`, through the by-name call. */
static int by_name(const char *name) {
    int *fds = NULL;
    size_t n = 0;
    int r = sdfd_activate_socket(name, &fds, &n);
    if (r < 0) die(name, -r);
    if (n != 1) die("count", EINVAL);
    int fd = fds[0];
    free(fds);
    return fd;
}

static void publish(void) {
    char tmp[4096], dst[4096];
    snprintf(tmp, sizeof tmp, "%s/pid.%d", ctldir, (int)getpid());
    snprintf(dst, sizeof dst, "%s/pid", ctldir);
    FILE *f = fopen(tmp, "w");
    if (!f) die("pid file", errno);
    fprintf(f, "%d %lu\n", (int)getpid(), gen);
    fclose(f);
    if (rename(tmp, dst) < 0) die("rename", errno);
}

static void *serve(void *arg) {
    (void)arg;
    struct pollfd p[2] = { { .fd = web, .events = POLLIN }, { .fd = aux, .events = POLLIN } };
    while (!atomic_load(&stop)) {
        if (poll(p, 2, 20) <= 0) continue;
        for (int i = 0; i < 2; i++) {
            if (!(p[i].revents & POLLIN)) continue;
            /* the other instance may have taken it: EAGAIN (non-blocking) */
            int c = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (c < 0) continue;
            char buf[256];
            struct pollfd cp = { .fd = c, .events = POLLIN };
            if (poll(&cp, 1, 2000) > 0) (void)!read(c, buf, sizeof buf);
            int len = snprintf(buf, sizeof buf, "%lu %d %s\n", gen, (int)getpid(), i ? "aux" : "web");
            (void)!write(c, buf, len);
            close(c);
        }
    }
    return NULL;
}

static void read_conf(int *timeout_ms, unsigned *uid) {
    char path[4096];
    snprintf(path, sizeof path, "%s/offer.conf", ctldir);
    *timeout_ms = 5000;
    *uid = (unsigned)-1;
    FILE *f = fopen(path, "r");
    if (f) {
        long u = -1;
        if (fscanf(f, "%d %ld", timeout_ms, &u) == 2 && u >= 0) *uid = (unsigned)u;
        fclose(f);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    ctldir = argv[1];
    const char *receive = NULL;
    int port_web = 0, port_aux = 0, timeout_ms = 10000;
    long offerer_uid = -1;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--receive")) receive = argv[i + 1];
        else if (!strcmp(argv[i], "--port-web")) port_web = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--port-aux")) port_aux = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--timeout-ms")) timeout_ms = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--offerer-uid")) offerer_uid = atol(argv[i + 1]);
    }
    if (receive) {
        int n = sdfd_handoff_receive(receive, (uint64_t)timeout_ms * 1000,
                                     offerer_uid < 0 ? (uid_t)-1 : (uid_t)offerer_uid);
        if (n < 0) {
            printf("receive failed: %d %s\n", n, strerror(-n));
            if (!port_web) return 3;
            printf("fresh start\n"); /* ports given: bind them ourselves */
        }
    }
    int n = sd_listen_fds(0);
    if (n > 0) {
        char **names = NULL;
        int m = sd_listen_fds_with_names(0, &names);
        printf("activated: %d:", m);
        for (int i = 0; i < m; i++) {
            printf(" %s", names[i]);
            free(names[i]);
        }
        printf("\n");
        free(names);
        web = by_name("web");
        aux = by_name("aux");
        int *st = NULL;
        size_t k = 0;
        int r = sdfd_activate_socket("state", &st, &k);
        if (r == -ENOENT) { /* started by sdfd-activate (bench/handoff.py): no state passed */
            state = memfd_create("state", MFD_CLOEXEC);
            if (state < 0) die("memfd", errno);
            gen = 0;
        } else {
            if (r < 0 || k != 1) die("state", r < 0 ? -r : EINVAL);
            state = st[0];
            free(st);
            if (load_gen() < 0) die("state", errno ? errno : EIO);
            gen++;
        }
        if (store_gen() < 0) die("state", errno);
    } else {
        web = bind_tcp(port_web);
        aux = bind_tcp(port_aux);
        state = memfd_create("state", MFD_CLOEXEC);
        if (state < 0) die("memfd", errno);
        gen = 0;
        if (store_gen() < 0) die("state", errno);
    }
    /* Non-blocking listening sockets: both instances poll them during a
     * hand-off, and the one that loses a connection to the other must not
     * sit in accept4 (the thread would serve neither socket meanwhile, nor
     * see `stop`). O_NONBLOCK is on the shared open file: every instance. */
    if (fcntl(web, F_SETFL, fcntl(web, F_GETFL) | O_NONBLOCK) < 0 ||
        fcntl(aux, F_SETFL, fcntl(aux, F_GETFL) | O_NONBLOCK) < 0)
        die("nonblock", errno);
    printf("serving: gen %lu web %d=%d aux %d=%d state %d\n", gen, web, port_of(web), aux, port_of(aux), state);
    fflush(stdout);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pthread_t t;
    if (pthread_create(&t, NULL, serve, NULL)) die("thread", EAGAIN);
    publish();
    sd_notify(0, "READY=1"); /* for sdfd-activate --wait-ready (bench); nothing without NOTIFY_SOCKET */

    int fds[3] = { web, aux, state };
    const char *names[3] = { "web", "aux", "state" };
    for (;;) {
        int sig = 0;
        sigwait(&set, &sig);
        if (sig == SIGTERM) break;
        int r;
        if (sig == SIGUSR1) {
            char path[4096];
            int tmo;
            unsigned uid;
            read_conf(&tmo, &uid);
            snprintf(path, sizeof path, "%s/handoff.sock", ctldir);
            r = sdfd_handoff_offer(path, fds, names, 3, (uint64_t)tmo * 1000, (uid_t)uid);
            printf("offer: %d %s\n", r, r < 0 ? strerror(-r) : "ok");
        } else {
            char *args[] = { argv[0], (char *)ctldir, NULL };
            r = sdfd_handoff_spawn("/proc/self/exe", (const char *const *)args, NULL, fds, names, 3);
            printf("spawn: %d %s\n", r, r < 0 ? strerror(-r) : "ok");
            if (r > 0) r = 0;
        }
        fflush(stdout);
        if (r == 0) break;
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    printf("exiting\n");
    return 0;
}
