/* The printf-style notify calls. Rust cannot define C variadic functions on
 * stable, so these few lines format with vasprintf and hand over to the Rust
 * entry point sd_pid_notify_with_fds; they decide nothing themselves. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

int sd_pid_notify_with_fds(pid_t pid, int unset_environment, const char *state, const int *fds, unsigned n_fds);

/* NULL format: state NULL, which the core rejects with -EINVAL. */
static int format_and_send(pid_t pid, int unset_environment, const int *fds, unsigned n_fds,
                           const char *format, va_list ap) {
    char *p = NULL;
    if (format && (vasprintf(&p, format, ap) < 0 || !p))
        return -ENOMEM;
    int r = sd_pid_notify_with_fds(pid, unset_environment, p, fds, n_fds);
    free(p);
    return r;
}

int sd_pid_notifyf(pid_t pid, int unset_environment, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    int r = format_and_send(pid, unset_environment, NULL, 0, format, ap);
    va_end(ap);
    return r;
}

int sd_notifyf(int unset_environment, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    int r = format_and_send(0, unset_environment, NULL, 0, format, ap);
    va_end(ap);
    return r;
}

int sd_pid_notifyf_with_fds(pid_t pid, int unset_environment, const int *fds, size_t n_fds, const char *format, ...) {
    if (n_fds > UINT_MAX)
        return -E2BIG;
    va_list ap;
    va_start(ap, format);
    int r = format_and_send(pid, unset_environment, fds, (unsigned)n_fds, format, ap);
    va_end(ap);
    return r;
}
