/* Probe for the sdfd-activate differential test (tests/launcher/launcher_difftest.py).
 * Started by a launcher (systemd-socket-activate or sdfd-activate), it writes
 * what it was given to REPORT and exits with EXIT (default 0):
 *   argv, environment (in order; LISTEN_PID shown as "self" when it is our
 *   pid), umask, ignored/blocked signals, parent-death signal, and every open
 *   descriptor with its FD_CLOEXEC/O_NONBLOCK flags and, for sockets, family,
 *   type, listening state, SO_REUSEADDR, SO_REUSEPORT, IPV6_V6ONLY, local
 *   and peer address, socket node mode, and the backlog `ss` reports.
 *
 *   probe REPORT [EXIT]
 * Plain C, no sd-daemon calls: it sees exactly what the launcher did. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

extern char **environ;

static int sockopt(int fd, int level, int opt) {
    int v = -1;
    socklen_t l = sizeof v;
    if (getsockopt(fd, level, opt, &v, &l) < 0) return -1;
    return v;
}

static void addr_str(const struct sockaddr_storage *ss, socklen_t len, int peer, char *out, size_t n) {
    char ip[INET6_ADDRSTRLEN];
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const void *)ss;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof ip);
        if (peer) snprintf(out, n, "%s:*", ip);
        else snprintf(out, n, "%s:%u", ip, ntohs(s->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const void *)ss;
        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
        if (peer) snprintf(out, n, "[%s]:*", ip);
        else snprintf(out, n, "[%s]:%u%%%u flow=%u", ip, ntohs(s->sin6_port), s->sin6_scope_id, s->sin6_flowinfo);
    } else if (ss->ss_family == AF_UNIX) {
        const struct sockaddr_un *s = (const void *)ss;
        size_t l = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
        if (l == 0) snprintf(out, n, "unix:unnamed");
        else if (s->sun_path[0] == 0) snprintf(out, n, "unix:@%.*s(len=%zu)", (int)l - 1, s->sun_path + 1, l);
        else snprintf(out, n, "unix:%s(len=%zu)", s->sun_path, l);
    } else snprintf(out, n, "family%d", ss->ss_family);
}

/* "Send-Q" of our fd in `ss -lnp`: the listen backlog. */
static void ss_backlog(int fd, char *out, size_t n) {
    snprintf(out, n, "-");
    FILE *p = popen("ss -Hlnp -A inet,unix 2>/dev/null", "r");
    if (!p) return;
    char line[4096], key[64];
    snprintf(key, sizeof key, "pid=%d,fd=%d)", (int)getpid(), fd);
    while (fgets(line, sizeof line, p)) {
        if (!strstr(line, key)) continue;
        char netid[32], state[32];
        long rq, sq;
        if (sscanf(line, "%31s %31s %ld %ld", netid, state, &rq, &sq) == 4)
            snprintf(out, n, "%s/%s/sendq=%ld", netid, state, sq);
    }
    pclose(p);
}

static void status_line(FILE *o, const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, strlen(key))) fputs(line, o);
    if (f) fclose(f);
}

int main(int argc, char **argv) {
    if (argc < 2) return 100;
    /* Collect descriptors first, before opening anything. */
    int fds[1024], nfd = 0;
    DIR *d = opendir("/proc/self/fd");
    int dfd = d ? dirfd(d) : -1;
    struct dirent *e;
    while (d && (e = readdir(d)) && nfd < 1024) {
        if (e->d_name[0] == '.') continue;
        int fd = atoi(e->d_name);
        if (fd != dfd) fds[nfd++] = fd;
    }
    if (d) closedir(d);
    FILE *o = fopen(argv[1], "w.e");
    if (!o) return 101;
    int ofd = fileno(o);
    for (int i = 2; i < argc; i++) fprintf(o, "argv[%d]=%s\n", i, argv[i]);
    char self[32];
    snprintf(self, sizeof self, "%d", (int)getpid());
    for (char **v = environ; *v; v++) {
        if (!strncmp(*v, "LISTEN_PID=", 11) && !strcmp(*v + 11, self)) fprintf(o, "env LISTEN_PID=self\n");
        else fprintf(o, "env %s\n", *v);
    }
    mode_t um = umask(0);
    umask(um);
    fprintf(o, "umask=%04o\n", (unsigned)um);
    status_line(o, "SigIgn:");
    status_line(o, "SigBlk:");
    int pdeath = 0;
    prctl(PR_GET_PDEATHSIG, &pdeath);
    fprintf(o, "pdeathsig=%d\n", pdeath);
    for (int i = 0; i < nfd; i++) {
        int fd = fds[i];
        if (fd == ofd) continue;
        int fdfl = fcntl(fd, F_GETFD), fl = fcntl(fd, F_GETFL);
        if (fdfl < 0) continue;
        fprintf(o, "fd %d cloexec=%d nonblock=%d", fd, !!(fdfl & FD_CLOEXEC), !!(fl & O_NONBLOCK));
        struct stat st;
        fstat(fd, &st);
        if (S_ISSOCK(st.st_mode)) {
            struct sockaddr_storage ss;
            socklen_t l = sizeof ss;
            char a[256] = "?", p[256] = "-", bl[128];
            memset(&ss, 0, sizeof ss);
            if (getsockname(fd, (struct sockaddr *)&ss, &l) == 0) addr_str(&ss, l, 0, a, sizeof a);
            struct sockaddr_storage ps;
            socklen_t pl = sizeof ps;
            memset(&ps, 0, sizeof ps);
            if (getpeername(fd, (struct sockaddr *)&ps, &pl) == 0) addr_str(&ps, pl, 1, p, sizeof p);
            int fam = sockopt(fd, SOL_SOCKET, SO_DOMAIN);
            fprintf(o, " socket family=%d type=%d proto=%d accepting=%d reuseaddr=%d reuseport=%d", fam,
                    sockopt(fd, SOL_SOCKET, SO_TYPE), sockopt(fd, SOL_SOCKET, SO_PROTOCOL),
                    sockopt(fd, SOL_SOCKET, SO_ACCEPTCONN), sockopt(fd, SOL_SOCKET, SO_REUSEADDR),
                    sockopt(fd, SOL_SOCKET, SO_REUSEPORT));
            if (fam == AF_INET6) fprintf(o, " v6only=%d", sockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY));
            fprintf(o, " local=%s peer=%s", a, p);
            if (ss.ss_family == AF_UNIX && ((struct sockaddr_un *)&ss)->sun_path[0] == '/') {
                struct stat ns;
                if (stat(((struct sockaddr_un *)&ss)->sun_path, &ns) == 0)
                    fprintf(o, " node=%04o", (unsigned)(ns.st_mode & 07777));
            }
            if (sockopt(fd, SOL_SOCKET, SO_ACCEPTCONN) == 1) {
                ss_backlog(fd, bl, sizeof bl);
                fprintf(o, " ss=%s", bl);
            }
        } else {
            char path[64], target[512] = "";
            snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
            ssize_t r = readlink(path, target, sizeof target - 1);
            if (r > 0) target[r] = 0;
            if (!strncmp(target, "pipe:", 5)) strcpy(target, "pipe");
            fprintf(o, " file mode=%o %s", (unsigned)(st.st_mode & S_IFMT), target);
        }
        fputc('\n', o);
    }
    fclose(o);
    return argc > 2 ? atoi(argv[2]) : 0;
}
