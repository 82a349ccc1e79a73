/* sdfd._native: the libsdfd calls sdfd.daemon needs, without ctypes.
 *
 * Built only into the binary wheels (packaging/wheel.sh), against the
 * wheel's own libsdfd (sdfd/_lib/libsdfd.so.0, found through
 * RUNPATH=$ORIGIN/_lib). Limited API (abi3) of CPython 3.8, so one file
 * serves every CPython >= 3.8.
 *
 * Each function takes the arguments sdfd.daemon has already converted and
 * checked (as for the ctypes declarations in sdfd/_lib.py) and returns the
 * C function's result: the Python-level conversions, checks and exceptions
 * stay in sdfd/daemon.py, shared by both paths.
 */
#ifndef Py_LIMITED_API
#define Py_LIMITED_API 0x03080000
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>

/* libsdfd's prototypes: include/sdfd.h, which the build puts next to this
 * file (packaging/wheel.sh, python/run-tests.sh). */
#include "sdfd.h"

/* None -> NULL, bytes -> its buffer (sdfd.daemon passes nothing else). */
static int opt_bytes(PyObject *o, const char **out) {
    if (o == Py_None) {
        *out = NULL;
        return 1;
    }
    *out = PyBytes_AsString(o);
    return *out != NULL;
}

static PyObject *n_listen_fds(PyObject *self, PyObject *args) {
    int unset;
    if (!PyArg_ParseTuple(args, "i", &unset)) return NULL;
    return PyLong_FromLong(sd_listen_fds(unset));
}

/* (r, [name, ...]) with the names as bytes; the list is None when the
 * library returned no array. The array and its strings are freed here. */
static PyObject *n_listen_fds_with_names(PyObject *self, PyObject *args) {
    int unset, r, i;
    char **names = NULL;
    PyObject *list = NULL, *result = NULL;
    if (!PyArg_ParseTuple(args, "i", &unset)) return NULL;
    r = sd_listen_fds_with_names(unset, &names);
    if (r > 0 && names) {
        list = PyList_New(0);
        for (i = 0; list && i < r && names[i]; i++) {
            PyObject *b = PyBytes_FromString(names[i]);
            if (!b || PyList_Append(list, b) < 0) {
                Py_XDECREF(b);
                Py_CLEAR(list);
                break;
            }
            Py_DECREF(b);
        }
        if (list) result = Py_BuildValue("(iO)", r, list);
        Py_XDECREF(list);
    } else {
        result = Py_BuildValue("(iO)", r, Py_None);
    }
    if (names) {
        for (i = 0; names[i]; i++) free(names[i]);
        free(names);
    }
    return result;
}

static PyObject *n_is_path(PyObject *args, int (*f)(int, const char *)) {
    int fd;
    PyObject *po;
    const char *path;
    if (!PyArg_ParseTuple(args, "iO", &fd, &po) || !opt_bytes(po, &path)) return NULL;
    return PyLong_FromLong(f(fd, path));
}

static PyObject *n_is_fifo(PyObject *self, PyObject *args) { return n_is_path(args, sd_is_fifo); }
static PyObject *n_is_mq(PyObject *self, PyObject *args) { return n_is_path(args, sd_is_mq); }

static PyObject *n_is_socket(PyObject *self, PyObject *args) {
    int fd, family, type, listening;
    if (!PyArg_ParseTuple(args, "iiii", &fd, &family, &type, &listening)) return NULL;
    return PyLong_FromLong(sd_is_socket(fd, family, type, listening));
}

static PyObject *n_is_socket_inet(PyObject *self, PyObject *args) {
    int fd, family, type, listening, port;
    if (!PyArg_ParseTuple(args, "iiiii", &fd, &family, &type, &listening, &port)) return NULL;
    return PyLong_FromLong(sd_is_socket_inet(fd, family, type, listening, (uint16_t)port));
}

static PyObject *n_is_socket_sockaddr(PyObject *self, PyObject *args) {
    int fd, type, listening;
    unsigned len;
    PyObject *po;
    const char *addr;
    if (!PyArg_ParseTuple(args, "iiOIi", &fd, &type, &po, &len, &listening) || !opt_bytes(po, &addr)) return NULL;
    return PyLong_FromLong(sd_is_socket_sockaddr(fd, type, (const struct sockaddr *)addr, len, listening));
}

static PyObject *n_is_socket_unix(PyObject *self, PyObject *args) {
    int fd, type, listening;
    Py_ssize_t len;
    PyObject *po;
    const char *path;
    if (!PyArg_ParseTuple(args, "iiiOn", &fd, &type, &listening, &po, &len) || !opt_bytes(po, &path)) return NULL;
    return PyLong_FromLong(sd_is_socket_unix(fd, type, listening, path, (size_t)len));
}

static PyObject *n_notify(PyObject *self, PyObject *args) {
    int unset;
    PyObject *po;
    const char *msg;
    if (!PyArg_ParseTuple(args, "iO", &unset, &po) || !opt_bytes(po, &msg)) return NULL;
    return PyLong_FromLong(sd_notify(unset, msg));
}

/* fds: None or a list of ints already checked to fit a C int. */
static PyObject *n_pid_notify_with_fds(PyObject *self, PyObject *args) {
    int pid, unset, r;
    unsigned n, i;
    PyObject *po, *fdlist;
    const char *msg;
    int *fds = NULL;
    if (!PyArg_ParseTuple(args, "iiOOI", &pid, &unset, &po, &fdlist, &n) || !opt_bytes(po, &msg)) return NULL;
    if (fdlist != Py_None) {
        if (!PyList_Check(fdlist) || (Py_ssize_t)n != PyList_Size(fdlist)) {
            PyErr_SetString(PyExc_TypeError, "fds must be a list of n ints");
            return NULL;
        }
        fds = PyMem_Malloc(sizeof(int) * (n ? n : 1));
        if (!fds) return PyErr_NoMemory();
        for (i = 0; i < n; i++) {
            long v = PyLong_AsLong(PyList_GetItem(fdlist, i));
            if (v == -1 && PyErr_Occurred()) {
                PyMem_Free(fds);
                return NULL;
            }
            fds[i] = (int)v;
        }
    }
    r = sd_pid_notify_with_fds((pid_t)pid, unset, msg, fds, n);
    PyMem_Free(fds);
    return PyLong_FromLong(r);
}

static PyObject *n_booted(PyObject *self, PyObject *args) { return PyLong_FromLong(sd_booted()); }

static PyObject *n_find_socket(PyObject *self, PyObject *args) {
    const char *address;
    int type;
    if (!PyArg_ParseTuple(args, "yi", &address, &type)) return NULL;
    return PyLong_FromLong(sdfd_find_socket(address, type));
}

/* [fd, ...] claimed in the library's taken set, or the negative errno. */
static PyObject *n_activate_socket(PyObject *self, PyObject *args) {
    const char *name;
    int *socks = NULL;
    size_t count = 0, i;
    int r;
    PyObject *list;
    if (!PyArg_ParseTuple(args, "y", &name)) return NULL;
    r = sdfd_activate_socket(name, &socks, &count);
    if (r < 0) return PyLong_FromLong(r);
    list = PyList_New((Py_ssize_t)count);
    for (i = 0; list && i < count; i++) {
        PyObject *v = PyLong_FromLong(socks[i]);
        if (!v) {
            Py_CLEAR(list);
            break;
        }
        PyList_SetItem(list, (Py_ssize_t)i, v);
    }
    free(socks);
    return list;
}

/* libc getenv(): the C-level environment, which os.environ only copies. */
static PyObject *n_address_parse(PyObject *self, PyObject *args) {
    const char *address;
    int flags, r;
    struct sockaddr_storage ss;
    unsigned len = 0;
    if (!PyArg_ParseTuple(args, "yi", &address, &flags)) return NULL;
    r = sdfd_address_parse(address, flags, &ss, &len);
    if (r < 0) return PyLong_FromLong(r);
    return PyBytes_FromStringAndSize((const char *)&ss, (Py_ssize_t)len);
}

static PyObject *n_getenv(PyObject *self, PyObject *args) {
    const char *name, *value;
    if (!PyArg_ParseTuple(args, "y", &name)) return NULL;
    value = getenv(name);
    if (!value) Py_RETURN_NONE;
    return PyBytes_FromString(value);
}

/* The sequence protocol exactly as python-systemd's C code uses it. */
static PyObject *n_seq_size(PyObject *self, PyObject *o) {
    Py_ssize_t n = PySequence_Size(o);
    if (n < 0) return NULL;
    return PyLong_FromSsize_t(n);
}

static PyObject *n_seq_item(PyObject *self, PyObject *args) {
    PyObject *o;
    Py_ssize_t i;
    if (!PyArg_ParseTuple(args, "On", &o, &i)) return NULL;
    return PySequence_GetItem(o, i);
}

static PyMethodDef methods[] = {
    { "sd_listen_fds", n_listen_fds, METH_VARARGS, NULL },
    { "listen_fds_with_names", n_listen_fds_with_names, METH_VARARGS, NULL },
    { "sd_is_fifo", n_is_fifo, METH_VARARGS, NULL },
    { "sd_is_mq", n_is_mq, METH_VARARGS, NULL },
    { "sd_is_socket", n_is_socket, METH_VARARGS, NULL },
    { "sd_is_socket_inet", n_is_socket_inet, METH_VARARGS, NULL },
    { "sd_is_socket_sockaddr", n_is_socket_sockaddr, METH_VARARGS, NULL },
    { "sd_is_socket_unix", n_is_socket_unix, METH_VARARGS, NULL },
    { "sd_notify", n_notify, METH_VARARGS, NULL },
    { "sd_pid_notify_with_fds", n_pid_notify_with_fds, METH_VARARGS, NULL },
    { "sd_booted", n_booted, METH_NOARGS, NULL },
    { "sdfd_find_socket", n_find_socket, METH_VARARGS, NULL },
    { "activate_socket", n_activate_socket, METH_VARARGS, NULL },
    { "address_parse", n_address_parse, METH_VARARGS, NULL },
    { "getenv", n_getenv, METH_VARARGS, NULL },
    { "seq_size", n_seq_size, METH_O, NULL },
    { "seq_item", n_seq_item, METH_VARARGS, NULL },
    { NULL, NULL, 0, NULL },
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "sdfd._native",
    "libsdfd's sd-daemon calls for sdfd.daemon (no ctypes).",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__native(void) {
    PyObject *m = PyModule_Create(&module);
    /* The C types' widths, for sdfd.daemon's argument conversion. */
    if (m && (PyModule_AddIntConstant(m, "INT_BITS", 8 * (long)sizeof(int)) < 0 ||
              PyModule_AddIntConstant(m, "LONG_BITS", 8 * (long)sizeof(long)) < 0)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
