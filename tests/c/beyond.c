/* Beyond libsystemd (tests/c/activation.py runs it under systemd-socket-activate):
 * the read-once snapshot from many threads, lookup by configured address
 * and the address parser it uses (sdfd_address_parse), and the environment
 * filter for children.
 *
 *   beyond ADDRESS=EXPECTED_INDEX...   e.g. 127.0.0.1:8080=0 /run/x.sock=2 9999=-2
 * (EXPECTED_INDEX < 0 is an expected -errno). Prints "ok ..." / "FAIL ..." lines. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>
#include <sdfd.h>

extern char **environ;
static int failures;
#define CHECK(cond, ...)                        \
    do {                                        \
        printf((cond) ? "ok   - " : "FAIL - "); \
        printf(__VA_ARGS__);                    \
        printf("\n");                           \
        if (!(cond)) failures++;                \
    } while (0)

#define THREADS 16
static int seen[THREADS][4];

static void *worker(void *arg) {
    int k = (int)(long)arg;
    for (int round = 0; round < 200; round++) {
        int n = sdfd_snapshot();
        int fd0 = sdfd_snapshot_fd(0);
        const char *name = sdfd_snapshot_name(0);
        int found = sdfd_find_socket(getenv("BEYOND_FIRST") ? getenv("BEYOND_FIRST") : "1", 0);
        if (round == 0) {
            seen[k][0] = n;
            seen[k][1] = fd0;
            seen[k][2] = name ? (int)strlen(name) : -1;
            seen[k][3] = found;
        } else if (seen[k][0] != n || seen[k][1] != fd0 || seen[k][3] != found) seen[k][0] = -1000;
    }
    return NULL;
}

int main(int argc, char **argv) {
    pthread_t t[THREADS];
    for (long k = 0; k < THREADS; k++) pthread_create(&t[k], NULL, worker, (void *)k);
    for (int k = 0; k < THREADS; k++) pthread_join(t[k], NULL);
    int n = sdfd_snapshot(), same = 1;
    for (int k = 0; k < THREADS; k++)
        same &= seen[k][0] == n && seen[k][1] == seen[0][1] && seen[k][2] == seen[0][2] && seen[k][3] == seen[0][3];
    CHECK(same, "%d threads x 200 rounds saw one snapshot (n=%d)", THREADS, n);
    CHECK(n == 0 || getenv("LISTEN_FDS") != NULL, "the snapshot left the environment alone");
    CHECK(sd_listen_fds(0) == n, "sd_listen_fds(0) agrees with the snapshot (%d)", n);
    CHECK(sdfd_snapshot_fd((unsigned)n) == -ENXIO && sdfd_snapshot_name((unsigned)n) == NULL,
          "index %d is out of range", n);
    for (int i = 1; i < argc; i++) {
        char *eq = strrchr(argv[i], '=');
        if (!eq) continue;
        *eq = 0;
        int want = atoi(eq + 1);
        int want_fd = want >= 0 ? SD_LISTEN_FDS_START + want : want;
        int got = sdfd_find_socket(argv[i], 0);
        CHECK(got == want_fd, "find_socket(\"%s\") = %d (want %d)", argv[i], got, want_fd);
        /* The parser sdfd_find_socket uses, as sdfd_address_parse gives it:
         * an IP address that find_socket matched is the socket's own. */
        struct sockaddr_storage ss;
        unsigned len = 0;
        int r = sdfd_address_parse(argv[i], 0, &ss, &len);
        if (got >= 0 && strchr(argv[i], ':') && (ss.ss_family == AF_INET || ss.ss_family == AF_INET6))
            CHECK(r == 0 && sd_is_socket_sockaddr(got, 0, (struct sockaddr *)&ss, len, -1) == 1,
                  "address_parse(\"%s\") is fd %d's address", argv[i], got);
        if (got == -EINVAL) CHECK(r == -EINVAL, "address_parse(\"%s\") = %d, as find_socket", argv[i], r);
    }
    {
        struct sockaddr_storage ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        struct sockaddr_un *un = (struct sockaddr_un *)&ss;
        unsigned len = 0, lo = if_nametoindex("lo");
        size_t base = offsetof(struct sockaddr_un, sun_path);
        CHECK(sdfd_address_parse("[::1]:80%lo", 0, &ss, &len) == 0 && len == sizeof *in6 && ss.ss_family == AF_INET6 &&
                  ntohs(in6->sin6_port) == 80 && in6->sin6_scope_id == lo,
              "address_parse: [::1]:80%%lo is AF_INET6, port 80, scope %u", lo);
        CHECK(sdfd_address_parse("/run/x", 0, &ss, &len) == 0 && un->sun_family == AF_UNIX && len == base + 7 &&
                  strcmp(un->sun_path, "/run/x") == 0,
              "address_parse: a path counts its NUL (len %u)", len);
        CHECK(sdfd_address_parse("@x", 0, &ss, &len) == 0 && len == base + 2 && un->sun_path[0] == 0 &&
                  un->sun_path[1] == 'x',
              "address_parse: an abstract name counts no NUL (len %u)", len);
        CHECK(sdfd_address_parse("127.0.0.1:65536", 0, &ss, &len) == -ERANGE &&
                  sdfd_address_parse("[::1]:80%nosuchif0", 0, &ss, &len) == -ENODEV &&
                  sdfd_address_parse("127.0.0.1", 0, &ss, &len) == -EINVAL &&
                  sdfd_address_parse(NULL, 0, &ss, &len) == -EINVAL &&
                  sdfd_address_parse("80", 0, NULL, &len) == -EINVAL &&
                  sdfd_address_parse("80", 0, &ss, NULL) == -EINVAL &&
                  sdfd_address_parse("80", 2, &ss, &len) == -EINVAL,
              "address_parse: -ERANGE, -ENODEV, -EINVAL as documented");
        CHECK(sdfd_address_parse("127.0.0.1", SDFD_ADDRESS_PYTHON_SYSTEMD, &ss, &len) == 0 && ss.ss_family == AF_INET &&
                  ((struct sockaddr_in *)&ss)->sin_port == 0 &&
                  sdfd_address_parse("lo: 0x50", SDFD_ADDRESS_PYTHON_SYSTEMD, &ss, &len) == 0 &&
                  ss.ss_family == AF_INET6 && ntohs(in6->sin6_port) == 80 && in6->sin6_scope_id == lo,
              "address_parse: python-systemd's syntax (no port, IFACE:PORT, strtoul numbers)");
    }
    CHECK(sdfd_find_socket(NULL, 0) == -EINVAL && sdfd_find_socket("nonsense", 0) == -EINVAL,
          "bad addresses are -EINVAL");
    if (n > 0) {
        CHECK(sdfd_find_socket(getenv("BEYOND_FIRST"), SOCK_SEQPACKET) == -ENOENT,
              "a type filter that matches nothing is -ENOENT");
        const char *name = sdfd_snapshot_name(0);
        CHECK(name && strcmp(name, getenv("BEYOND_NAME0")) == 0, "name 0 is %s", name ? name : "(null)");
    }
    char **env = sdfd_environ_without_activation((const char *const *)environ);
    int listen_vars = 0, kept = 0, all = 0;
    for (char **e = environ; *e; e++) all++;
    for (char **e = env; e && *e; e++) {
        kept++;
        if (!strncmp(*e, "LISTEN_", 7)) listen_vars++;
    }
    CHECK(env && listen_vars == 0 && kept > 0 && (n == 0 || kept < all),
          "child environment without LISTEN_* (%d of %d kept)", kept, all);
    free(env);
    unsetenv("LISTEN_FDS");
    CHECK(sdfd_snapshot() == n, "the snapshot does not change when the environment does");
    printf("beyond: %d failures\n", failures);
    return failures != 0;
}
