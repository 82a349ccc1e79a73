/* sdfd_native.c: Node-API (ABI-stable, Node >= 18) binding of the libsdfd
 * calls index.js makes synchronously, so that require('sdfd') need not load
 * koffi. Each function takes the arguments the koffi prototype in api.js
 * takes (numbers, a Buffer/TypedArray or null for pointers) and returns the
 * C result; the JavaScript side checks arguments before calling.
 *
 * One file for every C library of its architecture: it is linked against
 * no libc (no DT_NEEDED at all; dlopen, dlsym, dl_iterate_phdr, malloc and
 * free bind to those of the process, glibc or musl, which agree on them).
 * `libc` tells which C library the running program uses, read from its ELF
 * interpreter (PT_INTERP) in memory; index.js then calls open() with the
 * libsdfd.so.0 built for it, and this file calls that library through
 * dlsym()ed pointers. koffi, for the remaining calls, loads the same path:
 * one library instance. */
#define _GNU_SOURCE /* dl_iterate_phdr */
#define NAPI_VERSION 8
#include <dlfcn.h>
#include <link.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../include/sdfd.h"

/* libsdfd's functions, typed by include/sdfd.h (no prototype is written
 * here), set by open(). */
/* clang-format off */
#define SDFD_FUNCTIONS(X) \
    X(sd_listen_fds) \
    X(sd_listen_fds_with_names) \
    X(sd_is_fifo) \
    X(sd_is_special) \
    X(sd_is_mq) \
    X(sd_is_socket) \
    X(sd_is_socket_inet) \
    X(sd_is_socket_sockaddr) \
    X(sd_is_socket_unix) \
    X(sd_notify) \
    X(sd_pid_notify_with_fds) \
    X(sd_booted) \
    X(sd_watchdog_enabled) \
    X(sdfd_find_socket) \
    X(sdfd_activate_socket)
/* clang-format on */
#define DECLARE(name) static __typeof__(name) *p_##name;
SDFD_FUNCTIONS(DECLARE)
#undef DECLARE
static int opened;

#define MAXARGS 5

static int args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
    size_t argc = MAXARGS;
    if (!opened) {
        napi_throw_error(env, NULL, "libsdfd is not open (call open(path) first)");
        return -1;
    }
    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return -1;
    if (argc < want) {
        napi_throw_type_error(env, NULL, "too few arguments");
        return -1;
    }
    return 0;
}

static int i32(napi_env env, napi_value v, int32_t *out) {
    if (napi_get_value_int32(env, v, out) != napi_ok) {
        napi_throw_type_error(env, NULL, "expected a number");
        return -1;
    }
    return 0;
}

static int u32(napi_env env, napi_value v, uint32_t *out) {
    if (napi_get_value_uint32(env, v, out) != napi_ok) {
        napi_throw_type_error(env, NULL, "expected a number");
        return -1;
    }
    return 0;
}

/* null/undefined -> NULL; a Buffer or TypedArray -> its bytes. */
static int bytes(napi_env env, napi_value v, void **out, size_t *len) {
    napi_valuetype t;
    bool is;
    *out = NULL;
    if (len) *len = 0;
    if (napi_typeof(env, v, &t) != napi_ok) return -1;
    if (t == napi_null || t == napi_undefined) return 0;
    if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
        napi_typedarray_type tt;
        size_t n, off;
        napi_value ab;
        if (napi_get_typedarray_info(env, v, &tt, &n, out, &ab, &off) != napi_ok) return -1;
        if (len) *len = n;
        return 0;
    }
    napi_throw_type_error(env, NULL, "expected a Buffer, a TypedArray or null");
    return -1;
}

static napi_value num(napi_env env, int rc) {
    napi_value v;
    napi_create_int32(env, rc, &v);
    return v;
}

static napi_value listen_fds(napi_env env, napi_callback_info info) {
    napi_value a[MAXARGS];
    int32_t unset;
    if (args(env, info, 1, a) || i32(env, a[0], &unset)) return NULL;
    return num(env, p_sd_listen_fds(unset));
}

/* (unset) -> the negative result, or an array of names ('' for NULL). */
static napi_value listen_fds_names(napi_env env, napi_callback_info info) {
    napi_value a[MAXARGS], arr, s;
    int32_t unset;
    char **names = NULL;
    if (args(env, info, 1, a) || i32(env, a[0], &unset)) return NULL;
    int rc = p_sd_listen_fds_with_names(unset, &names);
    if (rc < 0) return num(env, rc);
    if (rc > 0 && !names) {
        napi_throw_error(env, NULL, "sd_listen_fds_with_names returned no names");
        return NULL;
    }
    napi_create_array_with_length(env, (size_t)rc, &arr);
    for (int i = 0; i < rc; i++) {
        const char *n = names[i] ? names[i] : "";
        napi_create_string_utf8(env, n, NAPI_AUTO_LENGTH, &s);
        napi_set_element(env, arr, (uint32_t)i, s);
    }
    if (names) {
        for (int i = 0; i < rc; i++) free(names[i]);
        free(names);
    }
    return arr;
}

static napi_value fd_path(napi_env env, napi_callback_info info, int (*f)(int, const char *)) {
    napi_value a[MAXARGS];
    int32_t fd;
    void *p;
    if (args(env, info, 2, a) || i32(env, a[0], &fd) || bytes(env, a[1], &p, NULL)) return NULL;
    return num(env, f(fd, p));
}
static napi_value is_fifo(napi_env env, napi_callback_info info) { return fd_path(env, info, p_sd_is_fifo); }
static napi_value is_special(napi_env env, napi_callback_info info) { return fd_path(env, info, p_sd_is_special); }
static napi_value is_mq(napi_env env, napi_callback_info info) { return fd_path(env, info, p_sd_is_mq); }

static napi_value is_socket(napi_env env, napi_callback_info info) {
    napi_value a[MAXARGS];
    int32_t fd, fam, type, lis;
    if (args(env, info, 4, a) || i32(env, a[0], &fd) || i32(env, a[1], &fam) || i32(env, a[2], &type) ||
        i32(env, a[3], &lis))
        return NULL;
    return num(env, p_sd_is_socket(fd, fam, type, lis));
}

static napi_value is_socket_inet(napi_env env, napi_callback_info info) {
    napi_value a[MAXARGS];
    int32_t fd, fam, type, lis;
    uint32_t port;
    if (args(env, info, 5, a) || i32(env, a[0], &fd) || i32(env, a[1], &fam) || i32(env, a[2], &type) ||
        i32(env, a[3], &lis) || u32(env, a[4], &port))
        return NULL;
    return num(env, p_sd_is_socket_inet(fd, fam, type, lis, (uint16_t)port));
}

static napi_value is_socket_sockaddr(napi_env env, napi_callback_info info) {
    napi_value a[MAXARGS];
    int32_t fd, type, lis;
    uint32_t len;
    void *sa;
    if (args(env, info, 5, a) || i32(env, a[0], &fd) || i32(env, a[1], &type) || bytes(env, a[2], &sa, NULL) ||
        u32(env, a[3], &len) || i32(env, a[4], &lis))
        return NULL;
    return num(env, p_sd_is_socket_sockaddr(fd, type, sa, len, lis));
}

static napi_value is_socket_unix(napi_env env, napi_callback_info info) {
    napi_value a[MAXARGS];
    int32_t fd, type, lis;
    uint32_t len;
    void *p;
    if (args(env, info, 5, a) || i32(env, a[0], &fd) || i32(env, a[1], &type) || i32(env, a[2], &lis) ||
        bytes(env, a[3], &p, NULL) || u32(env, a[4], &len))
        return NULL;
    return num(env, p_sd_is_socket_unix(fd, type, lis, p, len));
}

static napi_value notify(napi_env env, napi_callback_info info) {
    napi_value a[MAXARGS];
    int32_t unset;
    void *state;
    if (args(env, info, 2, a) || i32(env, a[0], &unset) || bytes(env, a[1], &state, NULL)) return NULL;
    return num(env, p_sd_notify(unset, state));
}

static napi_value pid_notify_with_fds(napi_env env, napi_callback_info info) {
    napi_value a[MAXARGS];
    int32_t pid, unset;
    uint32_t n;
    void *state, *fds;
    if (args(env, info, 5, a) || i32(env, a[0], &pid) || i32(env, a[1], &unset) || bytes(env, a[2], &state, NULL) ||
        bytes(env, a[3], &fds, NULL) || u32(env, a[4], &n))
        return NULL;
    return num(env, p_sd_pid_notify_with_fds(pid, unset, state, fds, n));
}

static napi_value booted(napi_env env, napi_callback_info info) {
    napi_value a[MAXARGS];
    if (args(env, info, 0, a)) return NULL;
    return num(env, p_sd_booted());
}

/* (unset, out): out is an 8-byte Buffer that receives the uint64_t. */
static napi_value watchdog_enabled(napi_env env, napi_callback_info info) {
    napi_value a[MAXARGS];
    int32_t unset;
    void *out;
    size_t len;
    if (args(env, info, 2, a) || i32(env, a[0], &unset) || bytes(env, a[1], &out, &len)) return NULL;
    if (out && len < sizeof(uint64_t)) {
        napi_throw_range_error(env, NULL, "the output buffer is too small");
        return NULL;
    }
    return num(env, p_sd_watchdog_enabled(unset, out));
}

/* A JavaScript string as a malloc'd C string (the caller frees it), or NULL
 * with a TypeError / Error thrown. */
static char *cstring(napi_env env, napi_value v) {
    size_t n;
    if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) {
        napi_throw_type_error(env, NULL, "expected a string");
        return NULL;
    }
    char *s = malloc(n + 1);
    if (!s) {
        napi_throw_error(env, NULL, "out of memory");
        return NULL;
    }
    napi_get_value_string_utf8(env, v, s, n + 1, &n);
    return s;
}

static napi_value find_socket(napi_env env, napi_callback_info info) {
    napi_value a[MAXARGS];
    int32_t type;
    if (args(env, info, 2, a) || i32(env, a[1], &type)) return NULL;
    char *s = cstring(env, a[0]);
    if (!s) return NULL;
    int rc = p_sdfd_find_socket(s, type);
    free(s);
    return num(env, rc);
}

/* (name) -> the negative result, or an array of the fds named `name`,
 * claimed in the library's taken set (the one of the whole process). */
static napi_value activate_socket(napi_env env, napi_callback_info info) {
    napi_value a[MAXARGS], arr, v;
    size_t count = 0;
    int *socks = NULL;
    if (args(env, info, 1, a)) return NULL;
    char *s = cstring(env, a[0]);
    if (!s) return NULL;
    int rc = p_sdfd_activate_socket(s, &socks, &count);
    free(s);
    if (rc < 0) return num(env, rc);
    napi_create_array_with_length(env, count, &arr);
    for (size_t i = 0; i < count; i++) {
        napi_create_int32(env, socks[i], &v);
        napi_set_element(env, arr, (uint32_t)i, v);
    }
    free(socks);
    return arr;
}

/* (path) -> undefined: dlopen()s libsdfd at `path` and resolves every
 * function; throws with dlerror()'s text if it cannot. Once per process:
 * later calls (worker threads) change nothing. */
static napi_value open_library(napi_env env, napi_callback_info info) {
    napi_value a[1];
    size_t argc = 1, n;
    char path[4096];
    if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok) return NULL;
    if (argc < 1 || napi_get_value_string_utf8(env, a[0], path, sizeof path, &n) != napi_ok) {
        napi_throw_type_error(env, NULL, "expected a path");
        return NULL;
    }
    if (n >= sizeof path - 1) {
        napi_throw_range_error(env, NULL, "path too long");
        return NULL;
    }
    if (opened) return NULL; /* a worker thread's copy of index.js: same file, same library */
    void *h = dlopen(path, RTLD_NOW);
    if (!h) {
        const char *e = dlerror();
        napi_throw_error(env, NULL, e ? e : "dlopen failed");
        return NULL;
    }
#define RESOLVE(name)                                                  \
    if (!(*(void **)&p_##name = dlsym(h, #name))) {                    \
        napi_throw_error(env, NULL, "libsdfd does not export " #name); \
        return NULL;                                                   \
    }
    SDFD_FUNCTIONS(RESOLVE)
#undef RESOLVE
    opened = 1;
    return NULL;
}

/* The running program's ELF interpreter: the first object dl_iterate_phdr
 * reports is the program itself. */
static int find_interp(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_INTERP)
            *(const char **)data = (const char *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    return 1;
}

static napi_value init(napi_env env, napi_value exports) {
    static const struct {
        const char *name;
        napi_callback cb;
    } fns[] = {
        { "sd_listen_fds", listen_fds },
        { "listen_fds_names", listen_fds_names },
        { "sd_is_fifo", is_fifo },
        { "sd_is_special", is_special },
        { "sd_is_mq", is_mq },
        { "sd_is_socket", is_socket },
        { "sd_is_socket_inet", is_socket_inet },
        { "sd_is_socket_sockaddr", is_socket_sockaddr },
        { "sd_is_socket_unix", is_socket_unix },
        { "sd_notify", notify },
        { "sd_pid_notify_with_fds", pid_notify_with_fds },
        { "sd_booted", booted },
        { "sd_watchdog_enabled", watchdog_enabled },
        { "sdfd_find_socket", find_socket },
        { "activate_socket", activate_socket },
    };
    const char *interp = NULL;
    napi_value v;
    dl_iterate_phdr(find_interp, &interp);
    if (napi_create_string_utf8(env, interp && strstr(interp, "/ld-musl-") ? "musl" : "gnu", NAPI_AUTO_LENGTH, &v) !=
            napi_ok ||
        napi_set_named_property(env, exports, "libc", v) != napi_ok ||
        napi_create_function(env, "open", NAPI_AUTO_LENGTH, open_library, NULL, &v) != napi_ok ||
        napi_set_named_property(env, exports, "open", v) != napi_ok)
        return NULL;
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        napi_value f;
        if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &f) != napi_ok ||
            napi_set_named_property(env, exports, fns[i].name, f) != napi_ok)
            return NULL;
    }
    return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
