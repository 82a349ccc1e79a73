/* Differential probe: the same source is linked once against libsystemd and
 * once against sdfd; tests/c/difftest.py runs both over many scenarios and
 * compares their output byte for byte.
 *
 *   probe [FDSPEC...] -- OP [ARG] [OP [ARG]...]
 *
 * FDSPEC creates fd 3, 4, ... in order (see make_fd; "bigfile" is a 3 GiB
 * sparse file). Suffix "+c" sets
 * FD_CLOEXEC on it first. KIND*N repeats a spec N times. Environment values may contain {pid}, {pid+1},
 * {pidhex}, {pidoct}: replaced by this process's pid before any call.
 *
 * OPs: listen U | names U | names-null U | checks | booted | watchdog U
 *      notify U PID STATE NFDS | notifyf U PID FMT | barrier U USEC MODE
 * NOTIFY_SOCKET may contain {recv} (a datagram socket this probe binds at
 * $PROBE_DIR/notify.sock) or {abs} (an abstract one): after a notify op the
 * probe prints what that receiver got (bytes, credentials, fds).
 * After each op the probe prints the result, the LISTEN_* variables and the
 * FD_CLOEXEC state of every fd it created.
 * Before the ops, PROBE_NOFILE=N lowers RLIMIT_NOFILE to N (fds above it stay
 * open) and PROBE_SECCOMP=SYSCALL:ERRNO[,...] (SYSCALL close_range or poll,
 * which includes ppoll; ERRNO ENOSYS, EINVAL or EPERM) makes those system
 * calls fail, as on an older kernel. PROBE_RAWENV=E1|E2|... puts raw entries
 * (duplicates, entries without '=') in front of the environment block; the
 * probe then also prints every LISTEN_* entry left in it after each op.
 * PROBE_ROENV=1 makes the block read-only.
 * Output never contains anything
 * that differs between two runs (ports, pids, inode numbers). */
#define _GNU_SOURCE
/* 64-bit off_t and ino_t on 32-bit glibc too: the probe makes a 3 GiB
 * (sparse) file, and libsystemd is built this way. */
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <stddef.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <systemd/sd-daemon.h>

#define MAXFD 1100
static int nfds;                 /* fds created: 3 .. 3+nfds-1 */
static char kinds[MAXFD][160];   /* the spec of each */
static char paths[MAXFD][256];   /* filesystem path of each, if any */
static char abstract[MAXFD][64]; /* abstract name (without NUL) */
static int placeholder[MAXFD];   /* "closed" slots to close after setup */
static const char *dir = "/tmp";
static const char *mq_name; /* a queue to remove at exit */

static void die(const char *what) {
    fprintf(stderr, "probe: %s: %s\n", what, strerror(errno));
    exit(99);
}

static const char *vars[] = { "LISTEN_PID",    "LISTEN_FDS",   "LISTEN_FDNAMES", "NOTIFY_SOCKET",
                              "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_PIDFDID", NULL };
static char *initial[7];    /* each variable's value after expansion */
static char recv_path[200]; /* {recv} */
static char recv_abs[80];   /* {abs}, without the '@' */

/* The inode id of a pidfd for this process (systemd 258's LISTEN_PIDFDID), or 0. */
static unsigned long long pidfd_id(void) {
    int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    struct stat st;
    if (fd < 0) return 0;
    int ok = fstat(fd, &st) == 0;
    close(fd);
    return ok ? (unsigned long long)st.st_ino : 0;
}

/* Replace {pid} & co in the LISTEN_ variables. */
static void expand_env(void) {
    for (int i = 0; vars[i]; i++) {
        const char *v = getenv(vars[i]);
        if (v) initial[i] = strdup(v);
        if (!v || !strchr(v, '{')) continue;
        char out[512] = "", num[256];
        const char *p = v;
        while (*p) {
            if (!strncmp(p, "{pid}", 5)) {
                snprintf(num, sizeof num, "%d", (int)getpid());
                p += 5;
            } else if (!strncmp(p, "{pid+1}", 7)) {
                snprintf(num, sizeof num, "%d", (int)getpid() + 1);
                p += 7;
            } else if (!strncmp(p, "{pidhex}", 8)) {
                snprintf(num, sizeof num, "0x%x", (unsigned)getpid());
                p += 8;
            } else if (!strncmp(p, "{pidoct}", 8)) {
                snprintf(num, sizeof num, "0%o", (unsigned)getpid());
                p += 8;
            } else if (!strncmp(p, "{pidfdid}", 9)) {
                snprintf(num, sizeof num, "%llu", pidfd_id());
                p += 9;
            } else if (!strncmp(p, "{pidfdid+1}", 11)) {
                snprintf(num, sizeof num, "%llu", pidfd_id() + 1);
                p += 11;
            } else if (!strncmp(p, "{recv}", 6)) {
                snprintf(num, sizeof num, "%s", recv_path);
                p += 6;
            } else if (!strncmp(p, "{abs}", 5)) {
                snprintf(num, sizeof num, "@%s", recv_abs);
                p += 5;
            } else {
                num[0] = *p++;
                num[1] = 0;
            }
            strncat(out, num, sizeof out - strlen(out) - 1);
        }
        setenv(vars[i], out, 1);
        free(initial[i]);
        initial[i] = strdup(out);
    }
}

static void bind_unix(int s, const char *path, int is_abstract, size_t abslen) {
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    socklen_t l;
    if (is_abstract) {
        memcpy(un.sun_path + 1, path, abslen);
        l = offsetof(struct sockaddr_un, sun_path) + 1 + abslen;
    } else {
        unlink(path);
        strncpy(un.sun_path, path, sizeof un.sun_path);
        l = offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
    }
    if (bind(s, (struct sockaddr *)&un, l) < 0) die("bind unix");
}

static int inet_socket(int family, int type, const char *addr, int do_listen, int v6only) {
    int s = socket(family, type, 0);
    if (s < 0) die("socket");
    if (family == AF_INET) {
        struct sockaddr_in in = { .sin_family = AF_INET };
        inet_pton(AF_INET, addr, &in.sin_addr);
        if (bind(s, (struct sockaddr *)&in, sizeof in) < 0) die("bind4");
    } else {
        struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
        setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
        inet_pton(AF_INET6, addr, &in6.sin6_addr);
        if (bind(s, (struct sockaddr *)&in6, sizeof in6) < 0) die("bind6");
    }
    if (do_listen && listen(s, 4) < 0) die("listen");
    return s;
}

/* Create the object for spec `k` as fd `target` (the lowest free number). */
static void make_fd(int i, const char *spec) {
    int target = 3 + i, fd = -1;
    char k[160];
    snprintf(k, sizeof k, "%s", spec);
    int cloexec = 0;
    size_t kl = strlen(k);
    if (kl > 2 && !strcmp(k + kl - 2, "+c")) {
        cloexec = 1;
        k[kl - 2] = 0;
    }
    snprintf(kinds[i], sizeof kinds[i], "%s", k);
    snprintf(paths[i], sizeof paths[i], "%s/p%d", dir, i);

    if (!strcmp(k, "tcp4l")) fd = inet_socket(AF_INET, SOCK_STREAM, "127.0.0.1", 1, 0);
    else if (!strcmp(k, "tcp4")) fd = inet_socket(AF_INET, SOCK_STREAM, "127.0.0.1", 0, 0);
    else if (!strcmp(k, "tcp4any")) fd = inet_socket(AF_INET, SOCK_STREAM, "0.0.0.0", 1, 0);
    else if (!strcmp(k, "tcp6l")) fd = inet_socket(AF_INET6, SOCK_STREAM, "::1", 1, 1);
    else if (!strcmp(k, "tcp6any")) fd = inet_socket(AF_INET6, SOCK_STREAM, "::", 1, 0);
    else if (!strcmp(k, "tcp6mapped")) fd = inet_socket(AF_INET6, SOCK_STREAM, "::ffff:127.0.0.1", 1, 0);
    else if (!strcmp(k, "udp4")) fd = inet_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", 0, 0);
    else if (!strcmp(k, "udp6")) fd = inet_socket(AF_INET6, SOCK_DGRAM, "::1", 0, 1);
    else if (!strcmp(k, "tcp4unbound")) {
        fd = socket(AF_INET, SOCK_STREAM, 0);
    } else if (!strcmp(k, "unixl") || !strcmp(k, "unixd") || !strcmp(k, "unixq")) {
        int type = k[4] == 'l' ? SOCK_STREAM : k[4] == 'd' ? SOCK_DGRAM : SOCK_SEQPACKET;
        fd = socket(AF_UNIX, type, 0);
        bind_unix(fd, paths[i], 0, 0);
        if (type != SOCK_DGRAM && listen(fd, 4) < 0) die("listen unix");
    } else if (!strcmp(k, "unixlong")) { /* a 108-byte path: no NUL in sun_path */
        char p[109];
        memset(p, 'x', 108);
        p[108] = 0;
        int n = snprintf(p, 109, "%s/L", dir);
        p[n] = 'x';
        snprintf(paths[i], sizeof paths[i], "%.108s", p);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un un = { .sun_family = AF_UNIX };
        unlink(p);
        memcpy(un.sun_path, p, 108);
        if (bind(fd, (struct sockaddr *)&un, sizeof un) < 0) die("bind long");
        listen(fd, 1);
    } else if (!strcmp(k, "abstl") || !strcmp(k, "abstd")) {
        snprintf(abstract[i], sizeof abstract[i], "sdfd-probe-%d-%d", (int)getppid(), i);
        fd = socket(AF_UNIX, k[4] == 'l' ? SOCK_STREAM : SOCK_DGRAM, 0);
        bind_unix(fd, abstract[i], 1, strlen(abstract[i]));
        if (k[4] == 'l') listen(fd, 4);
    } else if (!strcmp(k, "unixpair")) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) die("socketpair");
        fd = sv[0];
        close(sv[1]);
    } else if (!strcmp(k, "unixunbound")) fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    else if (!strcmp(k, "netlink")) fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    else if (!strcmp(k, "fifo")) {
        unlink(paths[i]);
        if (mkfifo(paths[i], 0600) < 0) die("mkfifo");
        fd = open(paths[i], O_RDWR);
    } else if (!strcmp(k, "file")) {
        unlink(paths[i]);
        fd = open(paths[i], O_RDWR | O_CREAT | O_TRUNC, 0600);
    } else if (!strcmp(k, "bigfile")) {
        /* Past 2 GiB: a 32-bit off_t cannot hold its size (fstat without
         * large-file support fails with EOVERFLOW). Sparse: no disk space. */
        unlink(paths[i]);
        fd = open(paths[i], O_RDWR | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || ftruncate(fd, (off_t)3 << 30) < 0) die("bigfile");
    } else if (!strcmp(k, "null")) {
        fd = open("/dev/null", O_RDWR);
        snprintf(paths[i], sizeof paths[i], "/dev/null");
    } else if (!strcmp(k, "dir")) {
        fd = open(dir, O_RDONLY | O_DIRECTORY);
        snprintf(paths[i], sizeof paths[i], "%s", dir);
    } else if (!strcmp(k, "pipe")) {
        int p[2];
        if (pipe(p) < 0) die("pipe");
        fd = p[0];
        close(p[1]);
    } else if (!strcmp(k, "mq")) {
        snprintf(paths[i], sizeof paths[i], "/sdfd-probe-%d-%d", (int)getppid(), i);
        struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = 64 };
        mq_unlink(paths[i]);
        fd = mq_open(paths[i], O_RDWR | O_CREAT, 0600, &a);
        if (fd < 0) die("mq_open");
        mq_name = paths[i]; /* unlinked at exit */
    } else if (!strcmp(k, "opath")) {
        fd = open("/", O_PATH);
        snprintf(paths[i], sizeof paths[i], "/");
    } else if (!strcmp(k, "closed")) {
        fd = open("/dev/null", O_RDONLY);
        placeholder[i] = 1;
    } else {
        fprintf(stderr, "probe: unknown fd kind %s\n", k);
        exit(99);
    }

    if (fd < 0) die(k);
    if (fd != target) {
        if (dup2(fd, target) < 0) die("dup2");
        close(fd);
    }
    if (cloexec) fcntl(target, F_SETFD, FD_CLOEXEC);
}

/* Variables print as <unset>, <as-set>, or (never expected) a new value. */
static void print_state(void) {
    for (int i = 0; vars[i]; i++) {
        const char *v = getenv(vars[i]);
        printf("  %s=%s\n", vars[i], !v ? "<unset>" : initial[i] && !strcmp(v, initial[i]) ? "<as-set>" : v);
    }
    if (getenv("PROBE_RAWENV")) {
        printf("  environ:");
        for (char **e = environ; *e; e++)
            if (!strncmp(*e, "LISTEN_", 7)) printf(" [%s]", *e);
        printf("\n");
    }
    printf("  fds:");
    for (int i = 0; i < nfds + 2; i++) {
        int f = fcntl(3 + i, F_GETFD);
        printf(" %d:%s", 3 + i, f < 0 ? "-" : (f & FD_CLOEXEC) ? "ce" : "in");
    }
    printf("\n");
}

static void print_escaped(const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c >= 0x7f || c == '\\' || c == '"') printf("\\x%02x", c);
        else putchar(c);
    }
}

/* ---- checks: every sd_is_* over every fd and a matrix of arguments ---- */

static int local_port(int fd) {
    struct sockaddr_storage ss;
    socklen_t l = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &l) < 0) return 0;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return 0;
}

#define R(label, call) printf("  %s=%d\n", label, (call))

static void checks_for(int fd, int idx) {
    char lbl[200];
    static char mypath[256]; /* a buffer long enough for every length tried below */
    snprintf(mypath, sizeof mypath, "%s", idx >= 0 ? paths[idx] : "/nonexistent");
    const char *fpaths[] = { NULL, mypath,     "/dev/null", "/dev/zero", "/nonexistent", "/etc/passwd/x",
                             "",   "relative", NULL };
    printf(" fd %d (%s)\n", fd, idx >= 0 ? kinds[idx] : "-");
    for (int p = 0; p < 8; p++) {
        const char *path = fpaths[p];
        const char *pl = p == 1 ? "<own>" : path ? path : "NULL";
        snprintf(lbl, sizeof lbl, "fifo(%s)", pl);
        R(lbl, sd_is_fifo(fd, path));
        snprintf(lbl, sizeof lbl, "special(%s)", pl);
        R(lbl, sd_is_special(fd, path));
    }
    int fams[] = { -1, 0, AF_INET, AF_INET6, AF_UNIX, AF_NETLINK };
    int types[] = { -1, 0, SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW };
    int lis[] = { -1, 0, 1, 2, -7 };
    for (int a = 0; a < 6; a++)
        for (int b = 0; b < 6; b++)
            for (int c = 0; c < 5; c++) {
                snprintf(lbl, sizeof lbl, "socket(%d,%d,%d)", fams[a], types[b], lis[c]);
                R(lbl, sd_is_socket(fd, fams[a], types[b], lis[c]));
            }
    int port = local_port(fd);
    unsigned ports[] = { 0, (unsigned)port, (unsigned)(port + 1) & 0xffff };
    const char *pl[] = { "0", "own", "own+1" };
    for (int a = 0; a < 6; a++)
        for (int b = 0; b < 4; b++)
            for (int c = 0; c < 3; c++)
                for (int d = 0; d < 3; d++) {
                    snprintf(lbl, sizeof lbl, "inet(%d,%d,%d,%s)", fams[a], types[b], lis[c], pl[d]);
                    R(lbl, sd_is_socket_inet(fd, fams[a], types[b], lis[c], (uint16_t)ports[d]));
                }
    /* unix names */
    char absbuf[256] = { 0 };
    size_t abslen = 0;
    if (idx >= 0 && abstract[idx][0]) {
        abslen = strlen(abstract[idx]) + 1;
        memcpy(absbuf + 1, abstract[idx], abslen - 1);
    }
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s", mypath);
    char wrong[300];
    snprintf(wrong, sizeof wrong, "%sX", mypath);
    struct {
        const char *label;
        const char *p;
        size_t len;
    } un[] = {
        { "NULL", NULL, 0 },
        { "empty", "", 0 },
        { "own", mypath, 0 },
        { "own-explicit", mypath, strlen(mypath) },
        { "own-short", prefix, strlen(prefix) > 3 ? strlen(prefix) - 3 : 1 },
        { "wrong", wrong, 0 },
        { "abs", absbuf, abslen },
        { "abs-short", absbuf, abslen > 2 ? abslen - 1 : 1 },
        { "abs-long", absbuf, abslen + 1 },
        { "nul-only", absbuf, 1 },
        { "own-200", mypath, 200 },
        { "own-huge", mypath, (size_t)-1 },
        { "abs-200", absbuf, 200 },
        { "abs-huge", absbuf, (size_t)-1 },
    };
    int utypes[] = { 0, SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET };
    for (size_t u = 0; u < sizeof un / sizeof un[0]; u++)
        for (int b = 0; b < 4; b++)
            for (int c = 0; c < 3; c++) {
                snprintf(lbl, sizeof lbl, "unix(%d,%d,%s)", utypes[b], lis[c], un[u].label);
                R(lbl, sd_is_socket_unix(fd, utypes[b], lis[c], un[u].p, un[u].len));
            }
    /* sockaddr */
    struct sockaddr_storage own;
    socklen_t ol = sizeof own;
    memset(&own, 0, sizeof own);
    if (getsockname(fd, (struct sockaddr *)&own, &ol) < 0) ol = 0;
    struct sockaddr_in in4 = { .sin_family = AF_INET };
    struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
    if (own.ss_family == AF_INET) in4 = *(struct sockaddr_in *)&own;
    if (own.ss_family == AF_INET6) in6 = *(struct sockaddr_in6 *)&own;
    struct sockaddr_in in4_any = in4;
    in4_any.sin_port = 0;
    struct sockaddr_in in4_wrongport = in4;
    in4_wrongport.sin_port = htons(port + 1);
    struct sockaddr_in in4_wrongaddr = in4;
    in4_wrongaddr.sin_addr.s_addr ^= htonl(1);
    struct sockaddr_in6 in6_any = in6;
    in6_any.sin6_port = 0;
    struct sockaddr_in6 in6_flow = in6;
    in6_flow.sin6_flowinfo = htonl(5);
    struct sockaddr_in6 in6_scope = in6;
    in6_scope.sin6_scope_id = 1;
    struct sockaddr_in6 in6_wrongaddr = in6;
    in6_wrongaddr.sin6_addr.s6_addr[15] ^= 1;
    struct sockaddr_in6 in6_mapped = { .sin6_family = AF_INET6 };
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6_mapped.sin6_addr);
    struct sockaddr_in lo4 = { .sin_family = AF_INET };
    inet_pton(AF_INET, "127.0.0.1", &lo4.sin_addr);
    struct sockaddr_un unaddr = { .sun_family = AF_UNIX };
    struct {
        const char *label;
        const void *a;
        unsigned len;
    } sa[] = {
        { "NULL", NULL, 16 },
        { "len0", &in4, 0 },
        { "len1", &in4, 1 },
        { "unix", &unaddr, sizeof unaddr },
        { "in4-huge", &in4, 0xffffffffu },
        { "in6-huge", &in6, 0x80000000u },
        { "in4", &in4, sizeof in4 },
        { "in4-short", &in4, 8 },
        { "in4-anyport", &in4_any, sizeof in4 },
        { "in4-wrongport", &in4_wrongport, sizeof in4 },
        { "in4-wrongaddr", &in4_wrongaddr, sizeof in4 },
        { "lo4", &lo4, sizeof lo4 },
        { "in6", &in6, sizeof in6 },
        { "in6-short", &in6, 16 },
        { "in6-anyport", &in6_any, sizeof in6 },
        { "in6-flow", &in6_flow, sizeof in6 },
        { "in6-scope", &in6_scope, sizeof in6 },
        { "in6-wrongaddr", &in6_wrongaddr, sizeof in6 },
        { "in6-mapped", &in6_mapped, sizeof in6 },
    };
    for (size_t s = 0; s < sizeof sa / sizeof sa[0]; s++)
        for (int b = 0; b < 4; b++)
            for (int c = 0; c < 3; c++) {
                snprintf(lbl, sizeof lbl, "sockaddr(%d,%s,%d)", types[b], sa[s].label, lis[c]);
                R(lbl, sd_is_socket_sockaddr(fd, types[b], (const struct sockaddr *)sa[s].a, sa[s].len, lis[c]));
            }
    char mqwrong[300];
    snprintf(mqwrong, sizeof mqwrong, "%s-x", mypath);
    const char *mqp[] = { NULL, mypath, "relative", mqwrong, "/", NULL };
    const char *mql[] = { "NULL", "<own>", "relative", "<own>-x", "/" };
    for (int m = 0; m < 5; m++) {
        snprintf(lbl, sizeof lbl, "mq(%s)", mql[m]);
        R(lbl, sd_is_mq(fd, mqp[m]));
    }
}

/* ---- notify: an in-process receiver ---- */

static int receiver = -1;

static void bind_receiver(void) {
    snprintf(recv_path, sizeof recv_path, "%s/notify.sock", dir);
    snprintf(recv_abs, sizeof recv_abs, "sdfd-probe-%d-notify", (int)getppid());
    const char *v = getenv("NOTIFY_SOCKET");
    if (!v || (!strstr(v, "{recv}") && !strstr(v, "{abs}"))) return;
    receiver = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int one = 1, big = 64 << 20;
    setsockopt(receiver, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    setsockopt(receiver, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    if (strstr(v, "{recv}")) bind_unix(receiver, recv_path, 0, 0);
    else bind_unix(receiver, recv_abs, 1, strlen(recv_abs));
    /* keep it out of the 3.. range the listen ops look at */
    int high = fcntl(receiver, F_DUPFD_CLOEXEC, 200);
    close(receiver);
    receiver = high;
}

static const char *fd_kind(int fd) {
    struct stat st;
    if (fstat(fd, &st) < 0) return "bad";
    return S_ISFIFO(st.st_mode) ? "fifo" : S_ISSOCK(st.st_mode) ? "sock" : S_ISREG(st.st_mode) ? "file" : "other";
}

static void drain_receiver(void) {
    if (receiver < 0) return;
    for (;;) {
        static char buf[32 << 20];
        union {
            char c[CMSG_SPACE(sizeof(int) * 512) + CMSG_SPACE(sizeof(struct ucred))];
            struct cmsghdr align;
        } ctl;
        struct iovec iov = { buf, sizeof buf };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.c, .msg_controllen = sizeof ctl };
        ssize_t n = recvmsg(receiver, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0) break;
        unsigned long h = 5381;
        for (ssize_t k = 0; k < n; k++) h = h * 33 + (unsigned char)buf[k];
        printf("  recv %zd bytes hash=%lx", n, h);
        if (n <= 64) {
            printf(" \"");
            buf[n] = 0;
            print_escaped(buf);
            printf("\"");
        }
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_type == SCM_CREDENTIALS) {
                struct ucred u;
                memcpy(&u, CMSG_DATA(c), sizeof u);
                long d = (long)u.pid - (long)getpid();
                if (d == 0) printf(" pid=self");
                else if (d == 1) printf(" pid=self+1");
                else printf(" pid=%d", u.pid == 1 ? 1 : -1);
                printf(" uid=%d gid=%d", (int)u.uid, (int)u.gid);
            } else if (c->cmsg_type == SCM_RIGHTS) {
                int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                printf(" fds=%d:", k);
                for (int j = 0; j < k; j++) {
                    int f;
                    memcpy(&f, CMSG_DATA(c) + j * sizeof(int), sizeof f);
                    printf("%s%s", j ? "," : "", fd_kind(f));
                    close(f);
                }
            }
        }
        if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) printf(" truncated");
        printf("\n");
    }
}

static pid_t pid_arg(const char *a) {
    if (!strcmp(a, "self")) return getpid();
    if (!strcmp(a, "self+1")) return getpid() + 1;
    return (pid_t)atoi(a);
}

static char *state_arg(const char *a) {
    if (!strcmp(a, "NULL")) return NULL;
    if (!strncmp(a, "@big", 4)) { /* @bigN: N KiB of 'x' after "STATUS=" */
        size_t n = (size_t)atol(a + 4) * 1024;
        char *s = malloc(n + 8);
        memcpy(s, "STATUS=", 7);
        memset(s + 7, 'x', n);
        s[n + 7] = 0;
        return s;
    }
    return strdup(a);
}

/* Fds to pass: "0", "N" (N pipes' read ends), "null:N" (NULL array, count N). */
static int fds_arg(const char *a, int **out) {
    if (!strncmp(a, "null:", 5)) {
        *out = NULL;
        return atoi(a + 5);
    }
    int n = atoi(a);
    int *v = calloc(n ? n : 1, sizeof(int));
    for (int k = 0; k < n; k++) {
        if (k == 0 || k % 2 == 0) {
            int p[2];
            if (pipe2(p, O_CLOEXEC) < 0) die("pipe");
            v[k] = p[0];
            if (k + 1 < n) v[k + 1] = p[1];
            else close(p[1]);
        }
    }
    *out = v;
    return n;
}

struct barrier_peer {
    int mode;
};

/* Receive the BARRIER=1 message and close (mode 1) or keep (0) its fd. */
static void *barrier_thread(void *arg) {
    struct barrier_peer *bp = arg;
    struct pollfd pfd = { receiver, POLLIN, 0 };
    if (poll(&pfd, 1, 2000) <= 0) return NULL;
    char buf[256];
    union {
        char c[CMSG_SPACE(sizeof(int) * 4) + CMSG_SPACE(sizeof(struct ucred))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = { buf, sizeof buf - 1 };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.c, .msg_controllen = sizeof ctl };
    ssize_t n = recvmsg(receiver, &mh, MSG_CMSG_CLOEXEC);
    if (n < 0) return NULL;
    buf[n] = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_type == SCM_RIGHTS) {
            int f;
            memcpy(&f, CMSG_DATA(c), sizeof f);
            if (bp->mode == 1) close(f);
            else {
                usleep(500000);
                close(f);
            }
        }
    return NULL;
}

/* PROBE_RAWENV: a new environment block, the raw entries first. Its memory
 * stays reachable from probe_raw_keep (unsetenv drops entries from the block, and
 * LeakSanitizer/valgrind would otherwise report the probe's own strings). */
char *probe_raw_keep[66]; /* not static: the stores must not be optimised away */
static void raw_env(const char *spec) {
    size_t n = 0, m = 1, k = 0;
    while (environ[n]) n++;
    for (const char *p = spec; *p; p++) m += *p == '|';
    char **e = calloc(m + n + 1, sizeof *e), *buf = strdup(spec);
    if (!e || !buf || m > 64) die("raw_env");
    probe_raw_keep[64] = buf;
    probe_raw_keep[65] = (char *)e;
    for (char *save = NULL, *t = strtok_r(buf, "|", &save); t; t = strtok_r(NULL, "|", &save)) {
        size_t l = strlen(t);
        if (l >= 5 && !strcmp(t + l - 5, "{pid}") && asprintf(&e[k], "%.*s%d", (int)(l - 5), t, (int)getpid()) > 0)
            probe_raw_keep[k] = e[k], k++;
        else e[k++] = t;
    }
    memcpy(e + k, environ, (n + 1) * sizeof *e);
    environ = e;
}

/* PROBE_ROENV: the environment block (the array of pointers; the strings
 * stay where they are) moved to a read-only page. Without any LISTEN_*
 * variable in it, unsetting them must not write to it (libc's unsetenv
 * writes only when it finds the name). */
static void ro_env(void) {
    size_t n = 0, page = (size_t)sysconf(_SC_PAGESIZE);
    while (environ[n]) n++;
    size_t len = (n + 1) * sizeof *environ, size = (len + page - 1) / page * page;
    char **e = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (e == MAP_FAILED) die("mmap");
    memcpy(e, environ, len);
    if (mprotect(e, size, PROT_READ) < 0) die("mprotect");
    environ = e;
}

/* PROBE_SECCOMP: a filter returning an errno for some system calls. */
static void install_seccomp(const char *spec) {
    struct sock_filter f[64];
    int n = 0;
    f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
#if defined(__aarch64__)
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_AARCH64, 1, 0);
#elif defined(__i386__)
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 1, 0);
#elif defined(__arm__)
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_ARM, 1, 0);
#elif defined(__s390x__)
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_S390X, 1, 0);
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_PPC64LE, 1, 0);
#elif defined(__x86_64__)
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
#else
#error "install_seccomp: no AUDIT_ARCH for this architecture"
#endif
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    char buf[256];
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(item, ':');
        if (!colon) {
            fprintf(stderr, "probe: bad PROBE_SECCOMP %s\n", spec);
            exit(99);
        }
        *colon = 0;
        const char *en = colon + 1;
        int err = !strcmp(en, "ENOSYS") ? ENOSYS : !strcmp(en, "EINVAL") ? EINVAL : !strcmp(en, "EPERM") ? EPERM : 0;
        long nrs[3] = { -1, -1, -1 };
        if (!strcmp(item, "close_range")) nrs[0] = 436; /* __NR_close_range, the same on every architecture */
        else if (!strcmp(item, "poll")) {
#ifdef SYS_poll
            nrs[0] = SYS_poll;
            nrs[1] = SYS_ppoll;
#else /* aarch64 has ppoll only */
            nrs[0] = SYS_ppoll;
#endif
#ifdef SYS_ppoll_time64 /* 32-bit: glibc's ppoll tries ppoll_time64 first */
            nrs[2] = SYS_ppoll_time64;
#endif
        }
        if (!err || nrs[0] < 0) {
            fprintf(stderr, "probe: bad PROBE_SECCOMP %s\n", spec);
            exit(99);
        }
        for (int k = 0; k < 3; k++) {
            if (nrs[k] < 0) continue;
            f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nrs[k], 0, 1);
            f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA));
        }
    }
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog prog = { .len = (unsigned short)n, .filter = f };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("no_new_privs");
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) die("seccomp");
}

int main(int argc, char **argv) {
    if (getenv("PROBE_DIR")) dir = getenv("PROBE_DIR");
    bind_receiver();
    expand_env();
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--"); i++) {
        char spec[160];
        snprintf(spec, sizeof spec, "%s", argv[i]);
        char *star = strchr(spec, '*');
        int reps = 1;
        if (star) {
            *star = 0;
            reps = atoi(star + 1);
        }
        for (int r = 0; r < reps; r++) {
            if (nfds >= MAXFD) {
                fprintf(stderr, "probe: too many fds\n");
                return 99;
            }
            make_fd(nfds, spec);
            nfds++;
        }
    }
    for (int k = 0; k < nfds; k++)
        if (placeholder[k]) close(3 + k);
    struct rlimit saved_nofile;
    int nofile_lowered = 0;
    if (getenv("PROBE_NOFILE")) { /* the soft limit only: restored before exit (for LSan) */
        if (getrlimit(RLIMIT_NOFILE, &saved_nofile) < 0) die("getrlimit");
        struct rlimit rl = { (rlim_t)atol(getenv("PROBE_NOFILE")), saved_nofile.rlim_max };
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0) die("setrlimit");
        nofile_lowered = 1;
    }
    if (getenv("PROBE_SECCOMP")) install_seccomp(getenv("PROBE_SECCOMP"));
    if (getenv("PROBE_RAWENV")) raw_env(getenv("PROBE_RAWENV"));
    if (getenv("PROBE_ROENV")) ro_env();
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    for (i++; i < argc; i++) {
        const char *op = argv[i];
        if (!strcmp(op, "checks")) {
            printf("checks\n");
            int fds[] = { -1, -100 };
            for (int k = 0; k < 2; k++) checks_for(fds[k], -1);
            for (int k = 0; k < nfds + 1; k++) checks_for(3 + k, k < nfds ? k : -1);
            continue;
        }
        if (!strcmp(op, "booted")) {
            printf("booted()=%d\n", sd_booted());
            continue;
        }
        if (!strcmp(op, "notify") && i + 4 < argc) {
            int u = atoi(argv[i + 1]);
            pid_t pid = pid_arg(argv[i + 2]);
            char *st = state_arg(argv[i + 3]);
            int *fds;
            int n = fds_arg(argv[i + 4], &fds);
            int r = !strcmp(argv[i + 2], "0") && n == 0 && fds ? sd_notify(u, st)
                    : n == 0 && fds                            ? sd_pid_notify(pid, u, st)
                                                               : sd_pid_notify_with_fds(pid, u, st, fds, (unsigned)n);
            printf("notify(%d,%s,%s,%s)=%d\n", u, argv[i + 2], argv[i + 3], argv[i + 4], r);
            for (int k = 0; fds && k < n; k++) close(fds[k]);
            free(fds);
            free(st);
            i += 4;
            drain_receiver();
            print_state();
            continue;
        }
        if (!strcmp(op, "notifyf") && i + 3 < argc) {
            int u = atoi(argv[i + 1]);
            const char *fmt = !strcmp(argv[i + 3], "NULL") ? NULL : argv[i + 3];
            int r = !strcmp(argv[i + 2], "0") ? sd_notifyf(u, fmt, 42, "str")
                                              : sd_pid_notifyf(pid_arg(argv[i + 2]), u, fmt, 42, "str");
            printf("notifyf(%d,%s,%s)=%d\n", u, argv[i + 2], argv[i + 3], r);
            i += 3;
            drain_receiver();
            print_state();
            continue;
        }
        if (!strcmp(op, "barrier") && i + 3 < argc) {
            int u = atoi(argv[i + 1]);
            uint64_t t = strtoull(argv[i + 2], NULL, 0);
            struct barrier_peer bp = { !strcmp(argv[i + 3], "close") };
            pthread_t th;
            int have = receiver >= 0 && !pthread_create(&th, NULL, barrier_thread, &bp);
            int r = sd_notify_barrier(u, t);
            if (have) pthread_join(th, NULL);
            printf("barrier(%d,%s,%s)=%d\n", u, argv[i + 2], argv[i + 3], r);
            i += 3;
            drain_receiver();
            print_state();
            continue;
        }
        if (!strcmp(op, "watchdog") && i + 1 < argc) {
            uint64_t us = 12345;
            int u = atoi(argv[++i]);
            int r = sd_watchdog_enabled(u, &us);
            printf("watchdog(%d)=%d usec=%llu\n", u, r, (unsigned long long)us);
            r = sd_watchdog_enabled(0, NULL);
            printf("watchdog-again(0,NULL)=%d\n", r);
            print_state();
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "probe: %s needs an argument\n", op);
            return 99;
        }
        int u = atoi(argv[++i]);
        if (!strcmp(op, "listen")) {
            printf("listen(%d)=%d\n", u, sd_listen_fds(u));
        } else if (!strcmp(op, "names-null")) {
            printf("names-null(%d)=%d\n", u, sd_listen_fds_with_names(u, NULL));
        } else if (!strcmp(op, "names")) {
            static char *sentinel[1];
            char **names = sentinel;
            int r = sd_listen_fds_with_names(u, &names);
            printf("names(%d)=%d", u, r);
            if (names == sentinel) printf(" names=untouched\n");
            else if (!names) printf(" names=NULL\n");
            else {
                printf(" names=[");
                int k = 0;
                for (; names[k]; k++) {
                    printf("%s\"", k ? "," : "");
                    print_escaped(names[k]);
                    printf("\"");
                    free(names[k]);
                }
                printf("] count=%d\n", k);
                free(names);
            }
        } else {
            fprintf(stderr, "probe: unknown op %s\n", op);
            return 99;
        }
        print_state();
    }
    fflush(stdout);
    if (nofile_lowered) setrlimit(RLIMIT_NOFILE, &saved_nofile);
    if (mq_name) mq_unlink(mq_name);
    if (receiver >= 0 && recv_path[0]) unlink(recv_path);
    return 0;
}
