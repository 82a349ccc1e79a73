/* Load generator for bench/launcher.py: THREADS clients, each connecting to
 * 127.0.0.1:PORT, reading until EOF ("ok\n") and closing, for SECONDS.
 * Prints: connections, failures, conn/s, p50 and p99 latency in ms.
 *
 *   connload PORT THREADS SECONDS */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXS 2000000
static double *lat;
static long nlat, fails;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int port;
static double stop_at;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void *client(void *arg) {
    (void)arg;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char buf[16];
    while (now() < stop_at) {
        double t0 = now();
        int s = socket(AF_INET, SOCK_STREAM, 0), ok = 0;
        if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) == 0) {
            size_t got = 0;
            ssize_t n;
            while ((n = read(s, buf + got, sizeof buf - got)) > 0) got += n;
            ok = got == 3 && memcmp(buf, "ok\n", 3) == 0;
        }
        if (s >= 0) close(s);
        double dt = now() - t0;
        pthread_mutex_lock(&mu);
        if (ok && nlat < MAXS) lat[nlat++] = dt;
        else if (!ok) fails++;
        pthread_mutex_unlock(&mu);
        if (!ok) usleep(1000);
    }
    return 0;
}

static int cmp(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: connload PORT THREADS SECONDS\n");
        return 2;
    }
    port = atoi(argv[1]);
    int n = atoi(argv[2]);
    double secs = atof(argv[3]);
    lat = malloc(sizeof *lat * MAXS);
    pthread_t th[64];
    if (n < 1 || n > 64 || !lat) return 2;
    double t0 = now();
    stop_at = t0 + secs;
    for (int i = 0; i < n; i++) pthread_create(&th[i], 0, client, 0);
    for (int i = 0; i < n; i++) pthread_join(th[i], 0);
    double el = now() - t0;
    qsort(lat, nlat, sizeof *lat, cmp);
    double p50 = nlat ? lat[nlat / 2] : 0, p99 = nlat ? lat[(long)(nlat * 0.99)] : 0;
    printf("%ld %ld %.1f %.3f %.3f\n", nlat, fails, nlat / el, p50 * 1e3, p99 * 1e3);
    return 0;
}
