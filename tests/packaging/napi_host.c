/* napi_host: the smallest Node-API host, to run the npm package's addon
 * (lib/linux-x64/sdfd.node) in a process on either C library, which node
 * itself cannot do here (no musl node). Built with gcc and with musl-gcc,
 * with -rdynamic so that the addon binds its napi_* calls to the functions
 * below, as it binds them to node's in node.
 *
 *   napi_host PKGLIB: loads PKGLIB/linux-x64/sdfd.node, runs its module
 *   initialisation, opens PKGLIB/linux-x64-<libc>/libsdfd.so.0 with the
 *   addon's open() (libc: what the addon reports), then calls
 *   sd_listen_fds(0) and listen_fds_names(0) through it and prints
 *   "libc=<libc> fds=<n> names=<a,b>" (or "error=<message>"). */
#define NAPI_VERSION 8
#include <dlfcn.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { STRING, NUMBER, FUNCTION, ARRAY, OBJECT };
struct napi_value__ {
    enum kind kind;
    char str[256];
    int32_t num;
    napi_callback cb;
    napi_value items[64]; /* ARRAY elements; OBJECT values */
    char names[64][32];   /* OBJECT keys */
    uint32_t n;
};
struct napi_callback_info__ {
    size_t argc;
    napi_value argv[8];
};

static char thrown[512];

static napi_value make(enum kind kind) {
    napi_value v = calloc(1, sizeof *v);
    if (!v) abort();
    v->kind = kind;
    return v;
}

napi_status napi_create_string_utf8(napi_env env, const char *s, size_t len, napi_value *out) {
    (void)env;
    *out = make(STRING);
    snprintf((*out)->str, sizeof(*out)->str, "%.*s", len == NAPI_AUTO_LENGTH ? (int)strlen(s) : (int)len, s);
    return napi_ok;
}
napi_status napi_create_int32(napi_env env, int32_t n, napi_value *out) {
    (void)env;
    *out = make(NUMBER);
    (*out)->num = n;
    return napi_ok;
}
napi_status napi_create_function(napi_env env, const char *name, size_t len, napi_callback cb, void *data,
                                 napi_value *out) {
    (void)env, (void)name, (void)len, (void)data;
    *out = make(FUNCTION);
    (*out)->cb = cb;
    return napi_ok;
}
napi_status napi_create_array_with_length(napi_env env, size_t n, napi_value *out) {
    (void)env, (void)n;
    *out = make(ARRAY);
    return napi_ok;
}
napi_status napi_set_element(napi_env env, napi_value arr, uint32_t i, napi_value v) {
    (void)env;
    if (i >= 64) return napi_generic_failure;
    arr->items[i] = v;
    if (i >= arr->n) arr->n = i + 1;
    return napi_ok;
}
napi_status napi_set_named_property(napi_env env, napi_value obj, const char *name, napi_value v) {
    (void)env;
    if (obj->n >= 64) return napi_generic_failure;
    snprintf(obj->names[obj->n], sizeof obj->names[0], "%s", name);
    obj->items[obj->n++] = v;
    return napi_ok;
}
napi_status napi_get_cb_info(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv, napi_value *self,
                             void **data) {
    (void)env;
    for (size_t i = 0; i < *argc; i++) argv[i] = i < info->argc ? info->argv[i] : NULL;
    *argc = info->argc;
    if (self) *self = NULL;
    if (data) *data = NULL;
    return napi_ok;
}
napi_status napi_get_value_int32(napi_env env, napi_value v, int32_t *out) {
    (void)env;
    if (!v || v->kind != NUMBER) return napi_number_expected;
    *out = v->num;
    return napi_ok;
}
napi_status napi_get_value_uint32(napi_env env, napi_value v, uint32_t *out) {
    (void)env;
    if (!v || v->kind != NUMBER) return napi_number_expected;
    *out = (uint32_t)v->num;
    return napi_ok;
}
napi_status napi_get_value_string_utf8(napi_env env, napi_value v, char *buf, size_t size, size_t *len) {
    (void)env;
    if (!v || v->kind != STRING) return napi_string_expected;
    size_t n = strlen(v->str);
    if (buf && size) snprintf(buf, size, "%s", v->str);
    if (len) *len = buf && size && n >= size ? size - 1 : n;
    return napi_ok;
}
napi_status napi_typeof(napi_env env, napi_value v, napi_valuetype *out) {
    (void)env;
    *out = !v ? napi_undefined : v->kind == STRING ? napi_string : v->kind == NUMBER ? napi_number : napi_object;
    return napi_ok;
}
napi_status napi_is_typedarray(napi_env env, napi_value v, bool *out) {
    (void)env, (void)v;
    *out = false;
    return napi_ok;
}
napi_status napi_get_typedarray_info(napi_env env, napi_value v, napi_typedarray_type *t, size_t *n, void **data,
                                     napi_value *ab, size_t *off) {
    (void)env, (void)v, (void)t, (void)n, (void)data, (void)ab, (void)off;
    return napi_invalid_arg;
}
static napi_status throw(const char *what, const char *msg) {
    snprintf(thrown, sizeof thrown, "%s: %s", what, msg);
    return napi_ok;
}
napi_status napi_throw_error(napi_env env, const char *code, const char *msg) {
    (void)env, (void)code;
    return throw("Error", msg);
}
napi_status napi_throw_type_error(napi_env env, const char *code, const char *msg) {
    (void)env, (void)code;
    return throw("TypeError", msg);
}
napi_status napi_throw_range_error(napi_env env, const char *code, const char *msg) {
    (void)env, (void)code;
    return throw("RangeError", msg);
}

static napi_value get(napi_value obj, const char *name) {
    for (uint32_t i = 0; i < obj->n; i++)
        if (!strcmp(obj->names[i], name)) return obj->items[i];
    fprintf(stderr, "napi_host: the addon exports no %s\n", name);
    exit(2);
}

static napi_value call(napi_value fn, size_t argc, napi_value arg) {
    struct napi_callback_info__ info = { argc, { arg } };
    napi_value r = fn->cb((napi_env)1, &info);
    if (thrown[0]) {
        printf("error=%s\n", thrown);
        exit(1);
    }
    return r;
}

int main(int argc, char **argv) {
    char path[4096];
    if (argc != 2) {
        fprintf(stderr, "usage: napi_host PKGLIB\n");
        return 2;
    }
    snprintf(path, sizeof path, "%s/linux-x64/sdfd.node", argv[1]);
    void *h = dlopen(path, RTLD_NOW);
    if (!h) {
        printf("error=dlopen: %s\n", dlerror());
        return 1;
    }
    napi_value (*reg)(napi_env, napi_value) = (napi_value(*)(napi_env, napi_value))dlsym(h, "napi_register_module_v1");
    if (!reg) {
        printf("error=no napi_register_module_v1\n");
        return 1;
    }
    napi_value exports = reg((napi_env)1, make(OBJECT));
    if (!exports) {
        printf("error=module initialisation failed\n");
        return 1;
    }
    const char *libc = get(exports, "libc")->str;
    napi_value zero, lib;
    napi_create_int32(NULL, 0, &zero);
    snprintf(path, sizeof path, "%s/linux-x64-%s/libsdfd.so.0", argv[1], libc);
    napi_create_string_utf8(NULL, path, NAPI_AUTO_LENGTH, &lib);
    call(get(exports, "open"), 1, lib);
    napi_value n = call(get(exports, "sd_listen_fds"), 1, zero);
    napi_value names = call(get(exports, "listen_fds_names"), 1, zero);
    printf("libc=%s fds=%d names=", libc, n->num);
    for (uint32_t i = 0; names->kind == ARRAY && i < names->n; i++) printf("%s%s", i ? "," : "", names->items[i]->str);
    printf("\n");
    return 0;
}
