/* The printf-style notify calls. Rust cannot define C variadic functions on
 * stable, so these few lines format with vasprintf and hand over to the Rust
 * entry point sd_pid_notify_with_fds; they decide nothing themselves.
 * Windows has no vasprintf in every C runtime: there the length is measured
 * with a first vsnprintf (C99 semantics: mingw-w64's own stdio, or the UCRT
 * of MSVC 2015+), and the functions are exported from sdfd.dll. */
#ifdef _WIN32
#ifdef __MINGW32__
#define __USE_MINGW_ANSI_STDIO 1
#endif
#define SDFD_EXPORT __declspec(dllexport)
#else
#define _GNU_SOURCE
#define SDFD_EXPORT
#endif
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#if defined(_WIN32) && !defined(__MINGW32__)
typedef int pid_t;
#endif

#ifdef _WIN32
static int sdfd_vasprintf(char **out, const char *format, va_list ap) {
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, format, aq);
    va_end(aq);
    if (n < 0) return -1;
    char *p = malloc((size_t)n + 1);
    if (!p) return -1;
    if (vsnprintf(p, (size_t)n + 1, format, ap) != n) {
        free(p);
        return -1;
    }
    *out = p;
    return n;
}
#else
#define sdfd_vasprintf vasprintf
#endif

int sd_pid_notify_with_fds(pid_t pid, int unset_environment, const char *state, const int *fds, unsigned n_fds);

/* NULL format: state NULL, which the core rejects with -EINVAL. */
static int format_and_send(pid_t pid, int unset_environment, const int *fds, unsigned n_fds, const char *format,
                           va_list ap) {
    char *p = NULL;
    if (format && (sdfd_vasprintf(&p, format, ap) < 0 || !p)) return -ENOMEM;
    int r = sd_pid_notify_with_fds(pid, unset_environment, p, fds, n_fds);
    free(p);
    return r;
}

SDFD_EXPORT int sd_pid_notifyf(pid_t pid, int unset_environment, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    int r = format_and_send(pid, unset_environment, NULL, 0, format, ap);
    va_end(ap);
    return r;
}

SDFD_EXPORT int sd_notifyf(int unset_environment, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    int r = format_and_send(0, unset_environment, NULL, 0, format, ap);
    va_end(ap);
    return r;
}

SDFD_EXPORT int sd_pid_notifyf_with_fds(pid_t pid, int unset_environment, const int *fds, size_t n_fds,
                                        const char *format, ...) {
    if (n_fds > UINT_MAX) return -E2BIG;
    va_list ap;
    va_start(ap, format);
    int r = format_and_send(pid, unset_environment, fds, (unsigned)n_fds, format, ap);
    va_end(ap);
    return r;
}
