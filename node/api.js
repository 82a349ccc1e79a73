'use strict';
// sdfd for Node.js, everything but the start-up path: argument checking,
// errors, the koffi path (SDFD_LIBRARY, the system's libsdfd, the
// asynchronous and hand-off calls) and every function index.js does not
// answer itself. index.js (the package's entry point) loads this file on
// first use; both reach the addon through addon.js.
//
// Everything here is synchronous except listen() (which waits for the
// server's 'listening' event) and notifyBarrier() (which runs the blocking C
// call on a worker thread).

const fs = require('node:fs');
const addon = require('./addon.js');
// node:os only for errno names and byte order (errors, rare calls).
let osModule = null;
const osLazy = () => osModule || (osModule = require('node:os'));
const path = require('node:path');
const util = require('node:util');
// node:net only for address parsing (findSocket): loaded on first use, not at require.
let netModule = null;
const net = () => netModule || (netModule = require('node:net'));
const { URL, fileURLToPath } = require('node:url');

// koffi: loaded on first use (the addon path needs it only for the
// asynchronous and hand-off calls).
let koffiModule = null;
const koffiLazy = () => koffiModule || (koffiModule = require('koffi'));

/** First passed descriptor (`SD_LISTEN_FDS_START`). */
const LISTEN_FDS_START = 3;

// Linux values (libsdfd is a Linux library).
const AF_UNSPEC = 0;
const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_SEQPACKET = 5;

// What libsdfd unsets for unset_environment (LISTEN_PIDFDID: systemd 258).
const LISTEN_VARS = ['LISTEN_PID', 'LISTEN_PIDFDID', 'LISTEN_FDS', 'LISTEN_FDNAMES'];
const NOTIFY_VARS = ['NOTIFY_SOCKET'];
const WATCHDOG_VARS = ['WATCHDOG_USEC', 'WATCHDOG_PID'];

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;

// ---------------------------------------------------------------------------
// Argument checking. Messages follow Node's own ("The "fd" argument must be
// ...") and the errors carry Node's codes.

function describe(value) {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const ctor = value.constructor && value.constructor.name;
    return ctor ? `an instance of ${ctor}` : util.inspect(value, { depth: 0 });
  }
  let shown = util.inspect(value);
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `type ${typeof value} (${shown})`;
}

function typeError(what, expected, value) {
  const err = new TypeError(`The ${what} must be ${expected}. Received ${describe(value)}`);
  err.code = 'ERR_INVALID_ARG_TYPE';
  return err;
}

function valueError(what, reason, value) {
  const err = new TypeError(`The ${what} ${reason}. Received ${util.inspect(value)}`);
  err.code = 'ERR_INVALID_ARG_VALUE';
  return err;
}

function rangeError(what, range, value) {
  const err = new RangeError(`The value of ${what.replace(/ (argument|property)$/, '')} is out of range. It must be ${range}. Received ${util.inspect(value)}`);
  err.code = 'ERR_OUT_OF_RANGE';
  return err;
}

function checkInteger(value, what, min, max) {
  if (typeof value !== 'number') throw typeError(what, 'of type number', value);
  if (!Number.isInteger(value)) throw rangeError(what, 'an integer', value);
  if (value < min || value > max) throw rangeError(what, `>= ${min} and <= ${max}`, value);
  return value;
}

/** A descriptor number: any C int. Negative ones are passed on (the C
 *  functions answer EBADF for them). */
function checkFd(fd, what = '"fd" argument') {
  return checkInteger(fd, what, INT_MIN, INT_MAX);
}

function checkOptions(options, allowed, what = '"options" argument') {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw typeError(what, 'of type object', options);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw valueError(what, `has an unknown property "${key}" (known: ${allowed.join(', ')})`, options);
    }
  }
  return options;
}

function checkBoolean(value, what, dflt) {
  if (value === undefined) return dflt;
  if (typeof value !== 'boolean') throw typeError(what, 'of type boolean', value);
  return value;
}

/** unsetEnvironment as the C int. */
function unsetFlag(options) {
  return checkBoolean(options.unsetEnvironment, '"options.unsetEnvironment" property', false) ? 1 : 0;
}

function checkString(value, what) {
  if (typeof value !== 'string') throw typeError(what, 'of type string', value);
  if (value.includes('\0')) throw valueError(what, 'must not contain null bytes', value);
  return value;
}

/** A path for the C side: NULL, or a NUL-terminated Buffer. */
function cPath(value, what) {
  if (value === undefined || value === null) return null;
  if (value instanceof URL) value = fileURLToPath(value);
  if (typeof value === 'string') value = Buffer.from(value, 'utf8');
  else if (!Buffer.isBuffer(value) && !(value instanceof Uint8Array)) {
    throw typeError(what, 'of type string or an instance of Buffer or URL', value);
  }
  const bytes = Buffer.from(value);
  if (bytes.includes(0)) throw valueError(what, 'must not contain null bytes', value);
  return Buffer.concat([bytes, Buffer.alloc(1)]);
}

const FAMILIES = new Map([
  ['unspec', AF_UNSPEC], ['unix', AF_UNIX], ['local', AF_UNIX],
  ['inet', AF_INET], ['ipv4', AF_INET], ['inet6', AF_INET6], ['ipv6', AF_INET6],
]);
const TYPES = new Map([['stream', SOCK_STREAM], ['dgram', SOCK_DGRAM], ['seqpacket', SOCK_SEQPACKET]]);

function family(value, what) {
  if (value === undefined || value === null) return AF_UNSPEC;
  if (typeof value === 'string') {
    const v = FAMILIES.get(value.toLowerCase().replace(/^af_/, ''));
    if (v === undefined) {
      throw valueError(what, "must be 'unix', 'inet' ('IPv4'), 'inet6' ('IPv6') or an AF_* number", value);
    }
    return v;
  }
  return checkInteger(value, what, INT_MIN, INT_MAX);
}

function sockType(value, what) {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'string') {
    const v = TYPES.get(value.toLowerCase().replace(/^sock_/, ''));
    if (v === undefined) throw valueError(what, "must be 'stream', 'dgram', 'seqpacket' or a SOCK_* number", value);
    return v;
  }
  return checkInteger(value, what, INT_MIN, INT_MAX);
}

function listening(value, what) {
  if (value === undefined || value === null) return -1;
  if (typeof value !== 'boolean') throw typeError(what, 'of type boolean (or undefined: either)', value);
  return value ? 1 : 0;
}

function port(value, what) {
  if (value === undefined || value === null) return 0;
  return checkInteger(value, what, 0, 65535);
}

// ---------------------------------------------------------------------------
// Errors from the C side: negative errno values.

// Linux errno names that osLazy().constants.errno lacks (it lists the portable
// ones); e.g. sd_is_socket_sockaddr can return EPFNOSUPPORT and a vsock
// NOTIFY_SOCKET ESOCKTNOSUPPORT.
const LINUX_ERRNO = {
  ENOTBLK: 15, ECHRNG: 44, EL2NSYNC: 45, EL3HLT: 46, EL3RST: 47, ELNRNG: 48, EUNATCH: 49, ENOCSI: 50,
  EL2HLT: 51, EBADE: 52, EBADR: 53, EXFULL: 54, ENOANO: 55, EBADRQC: 56, EBADSLT: 57, EBFONT: 59,
  ENONET: 64, ENOPKG: 65, EREMOTE: 66, EADV: 68, ESRMNT: 69, ECOMM: 70, EDOTDOT: 73, ENOTUNIQ: 76,
  EBADFD: 77, EREMCHG: 78, ELIBACC: 79, ELIBBAD: 80, ELIBSCN: 81, ELIBMAX: 82, ELIBEXEC: 83,
  ERESTART: 85, ESTRPIPE: 86, EUSERS: 87, ESOCKTNOSUPPORT: 94, EPFNOSUPPORT: 96, ESHUTDOWN: 108,
  ETOOMANYREFS: 109, EHOSTDOWN: 112, EUCLEAN: 117, ENOTNAM: 118, ENAVAIL: 119, EISNAM: 120,
  EREMOTEIO: 121, ENOMEDIUM: 123, EMEDIUMTYPE: 124, ENOKEY: 126, EKEYEXPIRED: 127, EKEYREVOKED: 128,
  EKEYREJECTED: 129, EOWNERDEAD: 130, ENOTRECOVERABLE: 131, ERFKILL: 132, EHWPOISON: 133,
};

let errnoNames;
function errnoName(errno) {
  if (!errnoNames) {
    errnoNames = new Map();
    for (const [name, value] of Object.entries(osLazy().constants.errno)) {
      if (!errnoNames.has(value)) errnoNames.set(value, name);
    }
    // Aliases share a number; prefer the usual spelling.
    for (const name of ['EAGAIN', 'EDEADLK', 'ENOTSUP']) {
      if (osLazy().constants.errno[name] !== undefined) errnoNames.set(osLazy().constants.errno[name], name);
    }
    if (process.platform === 'linux') {
      for (const [name, value] of Object.entries(LINUX_ERRNO)) if (!errnoNames.has(value)) errnoNames.set(value, name);
    }
  }
  return errnoNames.get(errno);
}

let strerror;
function errnoText(rc) {
  if (typeof util.getSystemErrorMap === 'function') {
    const entry = util.getSystemErrorMap().get(rc);
    if (entry) return entry[1]; // libuv's wording, as in Node's own errors
  }
  try {
    if (!strerror) strerror = libcHandle().func('const char *strerror(int errnum)');
    return strerror(-rc);
  } catch {
    return undefined;
  }
}

/**
 * The Error for a negative result `rc` of C function `fn`: `code` is the
 * errno name ('EBADF'), `errno` the negative number as in Node's own system
 * errors (-9), `syscall` the C function.
 */
function errnoError(fn, rc) {
  const code = errnoName(-rc) || `E${-rc}`;
  const text = errnoText(rc);
  const err = new Error(`${fn} failed: ${code}${text ? ` (${text})` : ''}`);
  err.code = code;
  err.errno = rc;
  err.syscall = fn;
  return err;
}

function check(fn, rc) {
  if (rc < 0) throw errnoError(fn, rc);
  return rc;
}

// ---------------------------------------------------------------------------
// Loading libsdfd (lazily, on the first call that needs it).

let lib = null;
let libPath = null;
// The Node-API addon (lib/linux-<arch>/sdfd.node, index.js loads it) once
// it has opened the bundled libsdfd.so.0; its functions take the same
// arguments as the koffi ones.
let native = null;
let libc = null;
const fns = Object.create(null);

function notFound(message, tried) {
  const err = new Error(`${message}${tried.length ? `\n  tried:\n    ${tried.join('\n    ')}` : ''}`);
  err.code = 'ERR_SDFD_LIBRARY_NOT_FOUND';
  return err;
}

function pkgConfigLibdir() {
  try {
    const { execFileSync } = require('node:child_process');
    const out = execFileSync('pkg-config', ['--variable=libdir', 'sdfd'], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10000,
    }).trim();
    return out || null;
  } catch {
    return null;
  }
}

// The C library the running node is linked against: its ELF interpreter
// (PT_INTERP) is ld-musl-* on musl systems. Read from the executable, so that
// no process is started and /lib/ld-musl-* of a glibc system is not mistaken.
function libcFlavour() {
  let fd;
  try {
    fd = fs.openSync(process.execPath, 'r');
    const head = Buffer.alloc(4096);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, n).includes('ld-musl-') ? 'musl' : 'gnu';
  } catch {
    return 'gnu';
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function bundledLibrary() {
  if (process.platform !== 'linux') return null;
  const candidate = path.join(__dirname, 'lib', `linux-${process.arch}-${libcFlavour()}`, 'libsdfd.so.0');
  return fs.existsSync(candidate) ? candidate : null;
}

/** libsdfd for the calls the addon does not make, via koffi: after the
 *  addon loaded the bundled copy, the same file (one library instance). */
function loadLibrary() {
  if (lib) return lib;
  if (native) {
    lib = koffiLazy().load(libPath);
    return lib;
  }
  const tried = [];
  const explicit = process.env.SDFD_LIBRARY;
  if (explicit) {
    // Named explicitly: no silent fallback to another copy.
    try {
      lib = koffiLazy().load(explicit);
      libPath = explicit;
    } catch (e) {
      throw notFound(`cannot load libsdfd from SDFD_LIBRARY=${explicit}: ${e.message}`, []);
    }
    return lib;
  }
  // The copy this package carries (npm tarball: lib/linux-x64-gnu/ or
  // lib/linux-x64-musl/), then the system's: no process is started unless
  // there is no bundled copy.
  const bundled = bundledLibrary();
  if (bundled) {
    try {
      lib = koffiLazy().load(bundled);
      libPath = bundled;
      return lib;
    } catch (e) {
      tried.push(`${bundled}: ${e.message}`);
    }
  }
  const candidates = [];
  const libdir = pkgConfigLibdir();
  if (libdir) candidates.push(path.join(libdir, 'libsdfd.so.0'));
  else tried.push('pkg-config --variable=libdir sdfd: no answer');
  candidates.push('libsdfd.so.0');
  for (const candidate of candidates) {
    if (path.isAbsolute(candidate) && !fs.existsSync(candidate)) {
      tried.push(`${candidate}: no such file`);
      continue;
    }
    try {
      lib = koffiLazy().load(candidate);
      libPath = candidate;
      return lib;
    } catch (e) {
      tried.push(`${candidate}: ${e.message}`);
    }
  }
  throw notFound('cannot find libsdfd (set SDFD_LIBRARY to its path, or install it where pkg-config or the dynamic loader finds it)', tried);
}

const PROTOTYPES = {
  sd_listen_fds: 'int sd_listen_fds(int unset_environment)',
  sd_listen_fds_with_names: 'int sd_listen_fds_with_names(int unset_environment, void *names)',
  sd_is_fifo: 'int sd_is_fifo(int fd, const void *path)',
  sd_is_special: 'int sd_is_special(int fd, const void *path)',
  sd_is_socket: 'int sd_is_socket(int fd, int family, int type, int listening)',
  sd_is_socket_inet: 'int sd_is_socket_inet(int fd, int family, int type, int listening, uint16_t port)',
  sd_is_socket_sockaddr: 'int sd_is_socket_sockaddr(int fd, int type, const void *addr, unsigned int addr_len, int listening)',
  sd_is_socket_unix: 'int sd_is_socket_unix(int fd, int type, int listening, const void *path, size_t length)',
  sd_is_mq: 'int sd_is_mq(int fd, const void *path)',
  sd_notify: 'int sd_notify(int unset_environment, const void *state)',
  sd_pid_notify_with_fds: 'int sd_pid_notify_with_fds(int pid, int unset_environment, const void *state, const void *fds, unsigned int n_fds)',
  sd_notify_barrier: 'int sd_notify_barrier(int unset_environment, uint64_t timeout)',
  sd_booted: 'int sd_booted(void)',
  sd_watchdog_enabled: 'int sd_watchdog_enabled(int unset_environment, void *usec)',
  sdfd_find_socket: 'int sdfd_find_socket(const char *address, int type)',
  sdfd_activate_socket: 'int sdfd_activate_socket(const char *name, void *sockets, void *count)',
};

// The two calls whose results the addon builds in C (the names, or the
// descriptors, as an array; else the negative errno), built here from the
// koffi-bound C functions: with them the koffi path answers every call the
// addon answers, with the same arguments and results, and the API below
// never asks which one it is on.
const KOFFI_CALLS = {
  listen_fds_names(unset) {
    const koffi = koffiLazy();
    const out = Buffer.alloc(koffi.sizeof('void *')); // char **names = NULL
    const rc = koffiFn('sd_listen_fds_with_names')(unset, out);
    if (rc <= 0) return rc < 0 ? rc : [];
    const array = koffi.decode(out, 'void *');
    if (!array) throw new Error('sd_listen_fds_with_names returned no names');
    const ptrs = koffi.decode(array, 'void *', rc);
    try {
      return ptrs.map((p) => (p ? koffi.decode(p, 'char', -1) : ''));
    } finally {
      for (const p of ptrs) if (p) cFree(p);
      cFree(array);
    }
  },
  activate_socket(name) {
    const koffi = koffiLazy();
    const array = Buffer.alloc(koffi.sizeof('void *'));
    const count = Buffer.alloc(koffi.sizeof('size_t'));
    const rc = koffiFn('sdfd_activate_socket')(name, array, count);
    if (rc < 0) return rc;
    const ptr = koffi.decode(array, 'void *');
    try {
      return Array.from(koffi.decode(ptr, 'int', Number(koffi.decode(count, 'size_t'))));
    } finally {
      cFree(ptr);
    }
  },
};

/** The call `name`: the addon's when it makes it, else through koffi (a C
 *  function of PROTOTYPES, or one of KOFFI_CALLS); an Error with code
 *  'ENOSYS' if the loaded library does not export it (an older libsdfd). */
function fn(name) {
  let f = fns[name];
  if (f) return f;
  if (useNative() && typeof native[name] === 'function') return (fns[name] = native[name]);
  return KOFFI_CALLS[name] || koffiFn(name);
}

/** Whether the addon makes the calls (addon.js: present, SDFD_LIBRARY not set). */
function useNative() {
  if (!native && !lib) {
    native = addon();
    if (native) libPath = addon.path();
  }
  return native !== null;
}

/** The koffi-bound C function `name` (for .async and the hand-off calls). */
function koffiFn(name) {
  const key = `koffi:${name}`;
  let f = fns[key];
  if (f) return f;
  useNative();
  loadLibrary();
  try {
    f = lib.func(PROTOTYPES[name]);
  } catch (e) {
    const err = new Error(`${name} is not exported by ${libPath} (an older libsdfd?): ${e.message}`);
    err.code = 'ENOSYS';
    err.errno = -osLazy().constants.errno.ENOSYS;
    err.syscall = name;
    throw err;
  }
  fns[key] = f;
  return f;
}

let libcLib = null;
function libcHandle() {
  if (!libcLib) {
    try {
      libcLib = koffiLazy().load('libc.so.6');
    } catch {
      libcLib = koffiLazy().load(null); // e.g. musl: the process's own libc
    }
  }
  return libcLib;
}

/** libc's free(), for memory that libsdfd allocated with malloc(). */
function cFree(ptr) {
  if (!libc) libc = { free: libcHandle().func('void free(void *ptr)') };
  libc.free(ptr);
}

/**
 * Keep process.env in step with the C environment after libsdfd unset
 * `vars`. In the main thread process.env is a live view of the C
 * environment and this is a no-op; in a worker thread (without SHARE_ENV)
 * process.env is a copy, which would otherwise keep the stale values.
 */
function forget(vars) {
  for (const v of vars) {
    if (Object.prototype.hasOwnProperty.call(process.env, v)) delete process.env[v];
  }
}

// ---------------------------------------------------------------------------
// Socket activation.

// What the library said about the passed sockets when the last
// listenFds()/listenFdsWithNames() unset the environment: later
// collect()/listenOptions()/listen() calls still find them (the variables
// are gone, the descriptors are not). The names are the library's
// (sd_listen_fds_with_names: LISTEN_FDNAMES escapes), or the Error it gave
// for them (EINVAL for a trailing backslash or another count), which those
// calls then throw.
let consumed = null;

/**
 * The descriptors passed by the service manager: [3, 4, ...], or [] when the
 * process was not socket-activated. Sets FD_CLOEXEC on them.
 */
function listenFds(options) {
  const unset = unsetFlag(checkOptions(options, ['unsetEnvironment']));
  let named = null;
  if (unset) {
    // The names before they are unset, as the library splits them.
    try {
      named = listenFdsWithNames({ unsetEnvironment: false });
    } catch (err) {
      named = err;
    }
  }
  const rc = fn('sd_listen_fds')(unset);
  if (unset) forget(LISTEN_VARS);
  check('sd_listen_fds', rc);
  if (unset && rc > 0) consumed = named;
  return Array.from({ length: rc }, (_, i) => LISTEN_FDS_START + i);
}

/** The passed descriptors with their names (LISTEN_FDNAMES; 'unknown' when
 *  the manager gave none): [{ fd: 3, name: 'web' }, ...]. */
function listenFdsWithNames(options) {
  const unset = unsetFlag(checkOptions(options, ['unsetEnvironment']));
  const got = fn('listen_fds_names')(unset);
  if (unset) forget(LISTEN_VARS);
  if (typeof got === 'number') check('sd_listen_fds_with_names', got);
  const result = got.map((name, i) => ({ fd: LISTEN_FDS_START + i, name }));
  if (unset && result.length > 0) consumed = result.map((e) => ({ ...e }));
  return result;
}

/** The passed descriptors named `name` (names need not be unique). */
function collect(name, options) {
  checkString(name, '"name" argument');
  const opts = checkOptions(options, ['unsetEnvironment']);
  return passedSockets(opts).filter((e) => e.name === name).map((e) => e.fd);
}

/** listenFdsWithNames(), or what an earlier call consumed, without the
 *  names other code of this process took (see available()). */
function passedSockets(opts) {
  const now = listenFdsWithNames(opts);
  if (now.length === 0 && consumed) {
    if (consumed instanceof Error) throw consumed;
    return available(consumed.map((e) => ({ ...e })));
  }
  return available(now);
}

// The descriptors the library handed to this process's JavaScript
// (sdfd_activate_socket). The library keeps the one taken set of the process.
const handed = new Set();

/**
 * sdfd_activate_socket(name): the fds named `name`, claimed in the library's
 * taken set, shared with C code in this process; or the negative errno
 * (-EALREADY: taken before, by anyone).
 */
function activateSocket(name) {
  return fn('activate_socket')(name);
}

/**
 * The entries whose names the library hands to JavaScript: each name is
 * claimed once with sdfd_activate_socket, so a name that C code in this
 * process took (EALREADY, fds not handed here) is left out, and C code asking
 * for a name after JavaScript is refused. Without the environment (unset:
 * ESRCH) the library cannot tell, and the entries stay.
 */
function available(entries) {
  const { EALREADY } = osLazy().constants.errno;
  const refused = new Set();
  for (const name of new Set(entries.map((e) => e.name))) {
    const got = activateSocket(name);
    if (Array.isArray(got)) for (const fd of got) handed.add(fd);
    else if (got === -EALREADY) refused.add(name);
  }
  return entries.filter((e) => !refused.has(e.name) || handed.has(e.fd));
}

const FALLBACK_KEYS = ['name', 'port', 'host', 'path', 'unsetEnvironment'];

/**
 * What to pass to server.listen(): `{ fd }` for the activated socket named
 * `options.name` (or the first passed socket when no name is given), else
 * `{ port, host }` or `{ path }` from the options. Other properties
 * (backlog, exclusive, readableAll, ...) are passed through.
 */
function listenOptions(options) {
  return resolveListen(options).listenOptions;
}

/** listenOptions(), and the name of the activated socket it chose. */
function resolveListen(options) {
  if (options === undefined || options === null) options = {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw typeError('"options" argument', 'of type object', options);
  }
  const { name, port: fallbackPort, host, path: fallbackPath } = options;
  if (name !== undefined) checkString(name, '"options.name" property');
  if (fallbackPort !== undefined) checkInteger(fallbackPort, '"options.port" property', 0, 65535);
  if (host !== undefined) checkString(host, '"options.host" property');
  if (fallbackPath !== undefined) checkString(fallbackPath, '"options.path" property');
  if (fallbackPort !== undefined && fallbackPath !== undefined) {
    throw valueError('"options" argument', 'must not have both "port" and "path"', options);
  }
  if (host !== undefined && fallbackPort === undefined) {
    throw valueError('"options" argument', 'has "host" but no "port"', options);
  }
  const rest = {};
  for (const [k, v] of Object.entries(options)) if (!FALLBACK_KEYS.includes(k)) rest[k] = v;

  const passed = passedSockets({ unsetEnvironment: checkBoolean(options.unsetEnvironment, '"options.unsetEnvironment" property', false) });
  const found = passed.find((e) => name === undefined || e.name === name);
  if (found) {
    const rc = check('sd_is_socket', fn('sd_is_socket')(found.fd, AF_UNSPEC, SOCK_STREAM, 1));
    if (rc !== 1) {
      const err = new Error(`the activated socket ${name === undefined ? '' : `"${name}" `}(fd ${found.fd}) is not a listening stream socket`);
      err.code = 'ERR_SDFD_NOT_STREAM_LISTENER';
      err.fd = found.fd;
      throw err;
    }
    return { listenOptions: { fd: found.fd, ...rest }, name: found.name };
  }
  if (fallbackPath !== undefined) return { listenOptions: { path: fallbackPath, ...rest } };
  if (fallbackPort !== undefined) {
    return { listenOptions: host === undefined ? { port: fallbackPort, ...rest } : { port: fallbackPort, host, ...rest } };
  }
  const what = name === undefined ? 'no socket was passed' : `no socket named "${name}" was passed${passed.length ? ` (passed: ${passed.map((e) => e.name).join(', ')})` : ''}`;
  const err = new Error(`${what} and options have no "port" or "path" to listen on instead`);
  err.code = 'ERR_SDFD_NO_SOCKET';
  throw err;
}

/**
 * server.listen() on the activated socket, or on the fallback port/path;
 * resolves once listening with { activated, fd, address }.
 */
function listen(server, options) {
  return new Promise((resolve, reject) => {
    if (!server || typeof server.listen !== 'function' || typeof server.once !== 'function') {
      throw typeError('"server" argument', 'a net.Server (http.Server, https.Server, ...)', server);
    }
    const { listenOptions: opts, name } = resolveListen(options);
    const onError = (err) => {
      server.removeListener('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.removeListener('error', onError);
      const activated = opts.fd !== undefined;
      const result = { activated, address: server.address() };
      if (activated) Object.assign(result, { fd: opts.fd, name });
      resolve(result);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(opts);
  });
}

// ---------------------------------------------------------------------------
// Descriptor checks. Each returns a boolean, or throws for a negative errno.

function isSocket(fd, options) {
  checkFd(fd);
  const o = checkOptions(options, ['family', 'type', 'listening']);
  return check('sd_is_socket', fn('sd_is_socket')(fd,
    family(o.family, '"options.family" property'),
    sockType(o.type, '"options.type" property'),
    listening(o.listening, '"options.listening" property'))) === 1;
}

function isSocketInet(fd, options) {
  checkFd(fd);
  const o = checkOptions(options, ['family', 'type', 'listening', 'port']);
  return check('sd_is_socket_inet', fn('sd_is_socket_inet')(fd,
    family(o.family, '"options.family" property'),
    sockType(o.type, '"options.type" property'),
    listening(o.listening, '"options.listening" property'),
    port(o.port, '"options.port" property'))) === 1;
}

/**
 * `options.path`: a file-system path (exact match), an abstract name with a
 * leading '\0' (as Node's net module writes them), or '' for an unnamed
 * socket; undefined: any AF_UNIX socket.
 */
function isSocketUnix(fd, options) {
  checkFd(fd);
  const o = checkOptions(options, ['type', 'listening', 'path']);
  const type = sockType(o.type, '"options.type" property');
  const listen = listening(o.listening, '"options.listening" property');
  let buf = null;
  let length = 0;
  if (o.path !== undefined && o.path !== null) {
    let p = o.path;
    if (typeof p === 'string') p = Buffer.from(p, 'utf8');
    else if (!Buffer.isBuffer(p) && !(p instanceof Uint8Array)) {
      throw typeError('"options.path" property', 'of type string or an instance of Buffer', o.path);
    }
    p = Buffer.from(p);
    if (p.length > 0 && p[0] === 0) {
      buf = p; // abstract: length-delimited, NULs allowed
      length = p.length;
    } else {
      if (p.includes(0)) throw valueError('"options.path" property', 'must not contain null bytes after the first', o.path);
      buf = Buffer.concat([p, Buffer.alloc(1)]);
      length = 0; // strlen; '' checks for an unnamed socket
    }
  }
  return check('sd_is_socket_unix', fn('sd_is_socket_unix')(fd, type, listen, buf, length)) === 1;
}

function parseIPv4(s) {
  return Buffer.from(s.split('.').map(Number));
}

function parseIPv6(s) {
  // s is valid (net.isIPv6) and has no zone.
  let tail = [];
  const v4 = s.match(/^(.*:)(\d+\.\d+\.\d+\.\d+)$/);
  if (v4) {
    const b = parseIPv4(v4[2]);
    tail = [b.readUInt16BE(0).toString(16), b.readUInt16BE(2).toString(16)];
    s = v4[1].endsWith('::') ? v4[1] : v4[1].slice(0, -1);
  }
  const halves = s.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  let rest = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  rest = rest.concat(tail);
  const groups = halves.length > 1
    ? [...head, ...Array(8 - head.length - rest.length).fill('0'), ...rest]
    : [...head, ...rest];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

let ifNameToIndex;
function scopeIndex(zone) {
  if (/^\d+$/.test(zone)) return Number(zone);
  if (!ifNameToIndex) ifNameToIndex = libcHandle().func('unsigned int if_nametoindex(const char *ifname)');
  const index = ifNameToIndex(zone);
  if (!index) throw valueError('"options.address" property', `names an unknown interface "${zone}"`, zone);
  return index;
}

/**
 * Is `fd` an IP socket bound to `options.address` (and `options.port`, if
 * not 0)? `address` is an IPv4 or IPv6 literal ('::1', 'fe80::1%eth0').
 */
function isSocketSockaddr(fd, options) {
  checkFd(fd);
  const o = checkOptions(options, ['address', 'port', 'type', 'listening', 'flowinfo', 'scopeId']);
  const type = sockType(o.type, '"options.type" property');
  const listen = listening(o.listening, '"options.listening" property');
  const p = port(o.port, '"options.port" property');
  checkString(o.address, '"options.address" property');
  let address = o.address;
  let scopeId = o.scopeId === undefined ? 0 : checkInteger(o.scopeId, '"options.scopeId" property', 0, 2 ** 32 - 1);
  const flowinfo = o.flowinfo === undefined ? 0 : checkInteger(o.flowinfo, '"options.flowinfo" property', 0, 2 ** 32 - 1);
  let sa;
  if (net().isIPv4(address)) {
    if (o.flowinfo !== undefined || o.scopeId !== undefined) {
      throw valueError('"options" argument', 'has "flowinfo"/"scopeId", which only apply to IPv6', options);
    }
    sa = Buffer.alloc(16); // struct sockaddr_in
    sa.writeUInt16LE(AF_INET, 0); // sa_family_t, host order (Linux: little-endian hosts only here)
    sa.writeUInt16BE(p, 2);
    parseIPv4(address).copy(sa, 4);
  } else {
    const zone = address.indexOf('%');
    if (zone >= 0) {
      if (o.scopeId !== undefined) throw valueError('"options" argument', 'has both a %zone in "address" and "scopeId"', options);
      scopeId = scopeIndex(address.slice(zone + 1));
      address = address.slice(0, zone);
    }
    if (!net().isIPv6(address)) throw valueError('"options.address" property', 'must be an IPv4 or IPv6 address', o.address);
    sa = Buffer.alloc(28); // struct sockaddr_in6
    sa.writeUInt16LE(AF_INET6, 0);
    sa.writeUInt16BE(p, 2);
    sa.writeUInt32BE(flowinfo, 4);
    parseIPv6(address).copy(sa, 8);
    sa.writeUInt32LE(scopeId, 24);
  }
  if (osLazy().endianness() !== 'LE') {
    // sa_family and sin6_scope_id are in host order.
    sa.writeUInt16BE(sa.readUInt16LE(0), 0);
    if (sa.length === 28) sa.writeUInt32BE(sa.readUInt32LE(24), 24);
  }
  return check('sd_is_socket_sockaddr', fn('sd_is_socket_sockaddr')(fd, type, sa, sa.length, listen)) === 1;
}

function isFifo(fd, path) {
  checkFd(fd);
  return check('sd_is_fifo', fn('sd_is_fifo')(fd, cPath(path, '"path" argument'))) === 1;
}

function isSpecial(fd, path) {
  checkFd(fd);
  return check('sd_is_special', fn('sd_is_special')(fd, cPath(path, '"path" argument'))) === 1;
}

function isMq(fd, path) {
  checkFd(fd);
  return check('sd_is_mq', fn('sd_is_mq')(fd, cPath(path, '"path" argument'))) === 1;
}

// ---------------------------------------------------------------------------
// Notification.

function stateString(state) {
  if (typeof state === 'string') {
    if (state.includes('\0')) throw valueError('"state" argument', 'must not contain null bytes', state);
    return state;
  }
  if (state && typeof state === 'object' && !Array.isArray(state)) {
    const lines = [];
    for (const [key, value] of Object.entries(state)) {
      if (!/^[A-Za-z0-9_]+$/.test(key)) throw valueError('"state" argument', `has an invalid key "${key}"`, state);
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean' && typeof value !== 'bigint') {
        throw typeError(`"state.${key}" property`, 'a string, number, bigint or boolean', value);
      }
      const text = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
      if (/[\n\0]/.test(text)) throw valueError(`"state.${key}" property`, 'must not contain newlines or null bytes', value);
      lines.push(`${key}=${text}`);
    }
    if (lines.length === 0) throw valueError('"state" argument', 'must not be empty', state);
    return lines.join('\n');
  }
  throw typeError('"state" argument', 'of type string or object', state);
}

/**
 * Send `state` ('READY=1\nSTATUS=...', or { READY: 1, STATUS: '...' }) to
 * the service manager. true if sent, false if NOTIFY_SOCKET is not set.
 * `options.fds`: descriptors to pass along (FDSTORE=1); `options.pid`: send
 * on behalf of that process (MAINPID handling; needs privileges).
 */
function notify(state, options) {
  const text = stateString(state);
  const o = checkOptions(options, ['unsetEnvironment', 'pid', 'fds']);
  const unset = unsetFlag(o);
  const buf = Buffer.from(`${text}\0`, 'utf8');
  let name = 'sd_notify';
  let rc;
  if (o.pid === undefined && o.fds === undefined) {
    rc = fn('sd_notify')(unset, buf);
  } else {
    const pid = o.pid === undefined ? 0 : checkInteger(o.pid, '"options.pid" property', 0, INT_MAX);
    let fds = null;
    if (o.fds !== undefined) {
      if (!Array.isArray(o.fds)) throw typeError('"options.fds" property', 'an array of descriptors', o.fds);
      o.fds.forEach((fd, i) => checkFd(fd, `"options.fds[${i}]" property`));
      fds = Int32Array.from(o.fds);
    }
    name = 'sd_pid_notify_with_fds';
    rc = fn(name)(pid, unset, buf, fds && fds.length ? fds : null, fds ? fds.length : 0);
  }
  if (unset) forget(NOTIFY_VARS);
  return check(name, rc) === 1;
}

/**
 * Send BARRIER=1 and wait (on a worker thread) until the manager has
 * processed everything sent before; `timeout` in ms (default 5000,
 * Infinity: forever). Resolves true, or false if NOTIFY_SOCKET is not set;
 * rejects with code 'ETIMEDOUT' on timeout.
 */
function notifyBarrier(options) {
  return new Promise((resolve, reject) => {
    const o = checkOptions(options, ['unsetEnvironment', 'timeout']);
    const unset = unsetFlag(o);
    let usec;
    if (o.timeout === undefined) usec = 5000000n;
    else if (o.timeout === Infinity) usec = 0xffffffffffffffffn;
    else {
      if (typeof o.timeout !== 'number') throw typeError('"options.timeout" property', 'of type number', o.timeout);
      if (!(o.timeout >= 0) || !Number.isFinite(o.timeout)) throw rangeError('"options.timeout" property', '>= 0 (or Infinity)', o.timeout);
      usec = BigInt(Math.round(o.timeout * 1000));
    }
    koffiFn('sd_notify_barrier').async(unset, usec, (err, rc) => {
      if (unset) forget(NOTIFY_VARS);
      if (err) reject(err);
      else if (rc < 0) reject(errnoError('sd_notify_barrier', rc));
      else resolve(rc === 1);
    });
  });
}

/** The watchdog interval in microseconds (a number) if the manager expects
 *  pings from this process, else null. Ping ({ WATCHDOG: 1 }) about every
 *  half of it. */
function watchdogEnabled(options) {
  const unset = unsetFlag(checkOptions(options, ['unsetEnvironment']));
  const out = Buffer.alloc(8);
  const rc = fn('sd_watchdog_enabled')(unset, out);
  if (unset) forget(WATCHDOG_VARS);
  if (check('sd_watchdog_enabled', rc) !== 1) return null;
  return Number(osLazy().endianness() === 'LE' ? out.readBigUInt64LE(0) : out.readBigUInt64BE(0));
}

/** Whether the system was booted with systemd as PID 1. */
function booted() {
  return check('sd_booted', fn('sd_booted')()) === 1;
}

/**
 * The activated socket bound to `address` — `'8080'` (any IP address),
 * `'127.0.0.1:8080'`, `'[::1]:8080'`, `'/run/app.sock'` or `'@abstract'` —
 * as an fd for `server.listen({ fd })`, or `null` when the process was not
 * socket-activated or no activated socket has that address (then bind it
 * yourself). `options.type`: SOCK_STREAM, SOCK_DGRAM, ... (default: any).
 * Reads the activation state once per process and never modifies the
 * environment (libsdfd's sdfd_find_socket), so it is safe to call any number
 * of times. Throws EINVAL for a malformed address.
 */
function findSocket(address, options) {
  checkString(address, '"address" argument');
  const opts = checkOptions(options, ['type']);
  const type = opts.type === undefined ? 0 : checkInteger(opts.type, '"options.type"', 0, 0x7fffffff);
  const rc = fn('sdfd_find_socket')(address, type);
  if (rc === -osLazy().constants.errno.ENOENT || rc === -osLazy().constants.errno.ESRCH) return null;
  return check('sdfd_find_socket', rc);
}

/** The path libsdfd was loaded from (loads it if needed). */
function libraryPath() {
  if (!useNative()) loadLibrary();
  return libPath;
}

// ---------------------------------------------------------------------------
// Hand-off without a supervisor (Unix; docs/handoff.md): pass named sockets
// to a successor.

const HANDOFF_PROTOTYPES = {
  sdfd_handoff_offer: 'int sdfd_handoff_offer(const void *path, const int *fds, const char **names, size_t n_fds, uint64_t timeout_usec, uint32_t allowed_uid)',
  sdfd_handoff_receive: 'int sdfd_handoff_receive(const void *path, uint64_t timeout_usec, uint32_t offerer_uid)',
  sdfd_handoff_spawn: 'int sdfd_handoff_spawn(const void *path, const char **argv, const char **envp, const int *fds, const char **names, size_t n_fds)',
};
const NO_UID = 0xFFFFFFFF; // (uid_t)-1

function handoffFn(name) {
  if (!PROTOTYPES[name]) PROTOTYPES[name] = HANDOFF_PROTOTYPES[name];
  return fn(name);
}

/** Timeout in seconds (Infinity or null: none) -> microseconds (BigInt). */
function handoffTimeout(value, what) {
  if (value === undefined) value = 30;
  if (value === null || value === Infinity) return 2n ** 64n - 1n;
  if (typeof value !== 'number' || !(value >= 0)) throw rangeError(what, '>= 0 seconds, Infinity or null', value);
  return BigInt(Math.min(Math.round(value * 1e6), Number.MAX_SAFE_INTEGER));
}

function handoffUid(value, what) {
  if (value === undefined || value === null) return NO_UID;
  return checkInteger(value, what, 0, NO_UID - 1);
}

/** [{ name, fd }] or { name: fd } (fd: a number or an object with ._handle.fd, e.g. net.Server) -> [names, fds]. */
function namedFds(fds) {
  let entries;
  if (Array.isArray(fds)) entries = fds.map((e) => [e && e.name, e && e.fd]);
  else if (fds && typeof fds === 'object') entries = Object.entries(fds);
  else throw typeError('"fds" argument', 'an array of { name, fd } or an object { name: fd }', fds);
  if (entries.length === 0) throw valueError('"fds" argument', 'must not be empty', fds);
  const names = [];
  const numbers = [];
  for (const [name, fd] of entries) {
    checkString(name, 'fd name');
    const n = typeof fd === 'number' ? fd : fd && fd._handle && fd._handle.fd;
    numbers.push(checkFd(n, `fd "${name}"`));
    names.push(name);
  }
  return [names, numbers];
}

/**
 * Offer `fds` (in order, each named) to one successor that connects to the
 * unix socket `path`; resolves once it has acknowledged. Runs on a worker
 * thread, so this process goes on serving meanwhile; on rejection (err.code
 * EADDRINUSE, ETIMEDOUT, ECONNABORTED, ...) it still holds everything.
 * options: timeout (seconds, default 30; Infinity: none), allowedUid.
 */
function handoffOffer(file, fds, options) {
  return new Promise((resolve, reject) => {
    const opts = checkOptions(options, ['timeout', 'allowedUid']);
    const [names, numbers] = namedFds(fds);
    const args = [cPath(file, '"path" argument'), numbers, names, numbers.length,
      handoffTimeout(opts.timeout, '"timeout" option'), handoffUid(opts.allowedUid, '"allowedUid" option')];
    handoffFn('sdfd_handoff_offer').async(...args, (err, rc) => {
      if (err) reject(err);
      else if (rc < 0) reject(errnoError('sdfd_handoff_offer', rc));
      else resolve();
    });
  });
}

/**
 * Receive the descriptors offered on `path` (blocking; call at start-up):
 * they become this process's activated sockets (fds 3.., LISTEN_* set), so
 * listenFdsWithNames()/collect()/listen() find them. Their number.
 * options: timeout (seconds, default 30), offererUid.
 */
function handoffReceive(file, options) {
  const opts = checkOptions(options, ['timeout', 'offererUid']);
  const rc = handoffFn('sdfd_handoff_receive')(cPath(file, '"path" argument'),
    handoffTimeout(opts.timeout, '"timeout" option'), handoffUid(opts.offererUid, '"offererUid" option'));
  return check('sdfd_handoff_receive', rc);
}

/**
 * Start `file` with `args` (argv[1..]) and `fds` passed the systemd way
 * (fds 3.. in the child only, LISTEN_PID of the child, LISTEN_FDS,
 * LISTEN_FDNAMES); its pid once it has exec'd. options: env (default
 * process.env), argv0.
 */
function handoffSpawn(file, args, fds, options) {
  const opts = checkOptions(options, ['env', 'argv0']);
  const f = cPath(checkString(file, '"file" argument'), '"file" argument');
  if (!Array.isArray(args)) throw typeError('"args" argument', 'an array of strings', args);
  args.forEach((a, i) => checkString(a, `args[${i}]`));
  const [names, numbers] = namedFds(fds);
  const env = opts.env === undefined ? process.env : opts.env;
  if (!env || typeof env !== 'object') throw typeError('"env" option', 'an object', env);
  const envp = Object.entries(env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  // A C string ends at the first NUL: refuse it rather than cut the entry short.
  envp.forEach((e) => { if (e.includes('\0')) throw valueError('"env" option', 'must not contain null bytes', e); });
  const argv = [opts.argv0 === undefined ? file : checkString(opts.argv0, '"argv0" option'), ...args];
  const rc = handoffFn('sdfd_handoff_spawn')(f, [...argv, null], [...envp, null], numbers, names, numbers.length);
  return check('sdfd_handoff_spawn', rc);
}

const handoff = { offer: handoffOffer, receive: handoffReceive, spawn: handoffSpawn };

// What index.js calls (the package's exports are index.js's).
module.exports = {
  check,
  handoff,
  listenFds,
  listenFdsWithNames,
  collect,
  findSocket,
  listenOptions,
  listen,
  isSocket,
  isSocketInet,
  isSocketUnix,
  isSocketSockaddr,
  isFifo,
  isSpecial,
  isMq,
  notify,
  notifyBarrier,
  watchdogEnabled,
  booted,
  libraryPath,
};
