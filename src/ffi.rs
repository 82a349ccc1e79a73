//! The C ABI: `extern "C"` entry points with libsystemd's exact prototypes.
//!
//! This layer only converts (C ints to `bool`/`Option`, pointers to slices
//! and `&CStr`, `Result` to `-errno`); every decision is made in the safe
//! Rust API it calls. No panic can unwind out of here: the C library is
//! built with `panic = "abort"`, and tests/panic-check.sh proves that no
//! panic path is left in it at all (see README, "Reliability").

use core::ffi::{c_char, c_int, c_uint, CStr};

use crate::errno::{Errno, Result};
#[cfg(unix)]
use crate::snapshot;
use crate::{byname, check, listen, notify};

#[cfg(unix)]
use libc::{pid_t, sockaddr};
#[cfg(windows)]
use windows_sys::Win32::Networking::WinSock::SOCKADDR as sockaddr;
/// Windows: the C runtime's `pid_t` (`int`).
#[cfg(windows)]
#[allow(non_camel_case_types)]
type pid_t = c_int;

/// An activated socket in C (`sdfd_socket_t`, declared in the header):
/// `int` on Unix, `SOCKET` (`uintptr_t`) on Windows.
#[allow(non_camel_case_types)]
pub type sdfd_socket_t = crate::fd::RawSocket;

use crate::sys::SOCKADDR_STORAGE_SIZE;

/// First passed descriptor number.
pub const SD_LISTEN_FDS_START: c_int = 3;
const _: () = assert!(SD_LISTEN_FDS_START == listen::LISTEN_FDS_START);

/// `Ok(n)` → n, `Err(e)` → -e.
fn count(r: Result<usize>) -> c_int {
    match r {
        Ok(n) => n as c_int,
        Err(e) => e.negated(),
    }
}

/// `Ok(b)` → 0/1, `Err(e)` → -e.
fn truth(r: Result<bool>) -> c_int {
    match r {
        Ok(b) => b as c_int,
        Err(e) => e.negated(),
    }
}

/// A C `listening` argument: negative means "don't care".
fn listening_state(l: c_int) -> Option<bool> {
    (l >= 0).then_some(l != 0)
}

/// A nullable C string.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that outlives the call.
unsafe fn opt_cstr<'a>(p: *const c_char) -> Option<&'a CStr> {
    if p.is_null() {
        None
    } else {
        Some(CStr::from_ptr(p))
    }
}

/// Number of passed descriptors (from `SD_LISTEN_FDS_START`), 0 if not
/// socket-activated, or a negative errno. Sets `FD_CLOEXEC` on them; with
/// `unset_environment` non-zero removes `LISTEN_PID`, `LISTEN_PIDFDID`,
/// `LISTEN_FDS` and `LISTEN_FDNAMES` on every path. `LISTEN_PIDFDID`, as
/// systemd 258 reads it (libsystemd 252 ignores it): when set it must be an
/// unsigned 64-bit number (else `-EINVAL`/`-ERANGE`), and where pidfds have
/// an inode id (pidfs, Linux 6.9+) it must be this process's, else 0.
#[no_mangle]
pub extern "C" fn sd_listen_fds(unset_environment: c_int) -> c_int {
    count(listen::listen_fds(unset_environment != 0))
}

/// As `sd_listen_fds`; if the result is positive and `names` is not NULL,
/// stores a NULL-terminated array of that many names (free each and the
/// array with `free()`). `*names` is left untouched otherwise.
///
/// # Safety
/// `names` is NULL or points to writable storage for one pointer.
#[no_mangle]
pub unsafe extern "C" fn sd_listen_fds_with_names(unset_environment: c_int, names: *mut *mut *mut c_char) -> c_int {
    if names.is_null() {
        return sd_listen_fds(unset_environment);
    }
    match listen::listen_fds_with_names(unset_environment != 0) {
        Ok(list) if list.is_empty() => 0,
        Ok(list) => {
            let n = list.len() as c_int;
            *names = list.into_raw();
            n
        }
        Err(e) => e.negated(),
    }
}

/// Store activated socket `index` (0-based, in the order the launcher
/// passed them) in `*ret` and return 0. Unix: `SD_LISTEN_FDS_START + index`
/// after the checks of `sd_listen_fds(0)`; Windows: the `SOCKET` received
/// from the launcher. `-ENXIO` if `index` is not below the count (or the
/// process was not activated), `-EINVAL` if `ret` is NULL, otherwise the
/// error of the activation itself. `*ret` is untouched on error.
///
/// # Safety
/// `ret` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sdfd_listen_socket(index: c_uint, ret: *mut sdfd_socket_t) -> c_int {
    if ret.is_null() {
        return Errno::EINVAL.negated();
    }
    match listen::listen_socket(index as usize) {
        Ok(s) => {
            *ret = s;
            0
        }
        Err(e) => e.negated(),
    }
}

/// 1 if `fd` is a FIFO (at `path`, if not NULL), 0 if not, or a negative errno.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn sd_is_fifo(fd: c_int, path: *const c_char) -> c_int {
    truth(check::is_fifo(fd, opt_cstr(path)))
}

/// 1 if `fd` is a regular file or character device (at `path`, if not
/// NULL), 0 if not, or a negative errno.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn sd_is_special(fd: c_int, path: *const c_char) -> c_int {
    truth(check::is_special(fd, opt_cstr(path)))
}

/// 1 if `fd` is a socket of `family` (0: any), `type` (0: any) and
/// listening state (`listening` < 0: any), 0 if not, or a negative errno.
#[no_mangle]
pub extern "C" fn sd_is_socket(fd: sdfd_socket_t, family: c_int, r#type: c_int, listening: c_int) -> c_int {
    truth(check::is_socket(fd, family, r#type, listening_state(listening)))
}

/// 1 if `fd` is an IPv4/IPv6 socket of `family` (0: either), `type`,
/// listening state and `port` (0: any), 0 if not, or a negative errno.
#[no_mangle]
pub extern "C" fn sd_is_socket_inet(
    fd: sdfd_socket_t,
    family: c_int,
    r#type: c_int,
    listening: c_int,
    port: u16,
) -> c_int {
    truth(check::is_socket_inet(fd, family, r#type, listening_state(listening), port))
}

/// 1 if `fd` is an IP socket bound to `addr` (port/flowinfo/scope 0: any),
/// 0 if not, or a negative errno.
///
/// # Safety
/// `addr` is NULL or points to `addr_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn sd_is_socket_sockaddr(
    fd: sdfd_socket_t,
    r#type: c_int,
    addr: *const sockaddr,
    addr_len: c_uint,
    listening: c_int,
) -> c_int {
    // Only the first sizeof(sockaddr_in6) bytes are ever compared; a larger
    // addr_len matters only as "large enough", so the slice is capped.
    let len = (addr_len as usize).min(SOCKADDR_STORAGE_SIZE);
    let bytes = (!addr.is_null()).then(|| core::slice::from_raw_parts(addr as *const u8, len));
    truth(check::is_socket_sockaddr(fd, r#type, bytes, listening_state(listening)))
}

/// 1 if `fd` is an AF_UNIX socket of `type` and listening state, bound to
/// `path` (if not NULL; `length` 0 means `strlen(path)`; a leading NUL byte
/// means an abstract name of `length` bytes), 0 if not, or a negative errno.
///
/// # Safety
/// `path` is NULL, or readable for `length + 1` bytes (a path name) or
/// `length` bytes (an abstract name); with `length` 0 it is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sd_is_socket_unix(
    fd: sdfd_socket_t,
    r#type: c_int,
    listening: c_int,
    path: *const c_char,
    length: libc::size_t,
) -> c_int {
    // getsockname reports at most 111 bytes (sun_family, a 108-byte path and
    // the NUL the kernel appends), so no name of 110 bytes or more can match:
    // longer ones are cut to 110, which is looked at and matches nothing.
    const MAX: usize = 110;
    let name = if path.is_null() {
        None
    } else {
        let len = if length == 0 { libc::strlen(path) } else { length };
        let p = path.cast::<u8>();
        match len {
            0 => Some(&[][..]),
            _ if *p == 0 => Some(core::slice::from_raw_parts(p, len.min(MAX))),
            // libsystemd compares length + 1 bytes for path names; for
            // SIZE_MAX that wraps to 0 bytes, which any AF_UNIX socket matches.
            usize::MAX => None,
            _ => Some(core::slice::from_raw_parts(p, len.saturating_add(1).min(MAX))),
        }
    };
    truth(check::is_socket_unix(fd, r#type, listening_state(listening), name))
}

/// 1 if `fd` is a POSIX message queue (named `path` under /dev/mqueue, if
/// not NULL), 0 if not, or a negative errno.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn sd_is_mq(fd: c_int, path: *const c_char) -> c_int {
    truth(check::is_mq(fd, opt_cstr(path)))
}

/// A C fd array: NULL is only an error when `n` is not 0.
///
/// # Safety
/// `fds` is NULL or readable for `n` ints.
unsafe fn fd_array<'a>(fds: *const c_int, n: usize) -> Option<&'a [c_int]> {
    match (n, fds.is_null()) {
        (0, _) => Some(&[]),
        (_, true) => None,
        (_, false) => Some(core::slice::from_raw_parts(fds, n)),
    }
}

/// Send `state` (newline-separated `KEY=VALUE` lines) to the service
/// manager on behalf of `pid` (0: this process), passing `n_fds` fds.
/// 1 if sent, 0 if `NOTIFY_SOCKET` is unset, or a negative errno. With
/// `unset_environment`, `NOTIFY_SOCKET` is removed.
///
/// # Safety
/// `state` is NULL or NUL-terminated; `fds` is NULL or readable for `n_fds` ints.
#[no_mangle]
pub unsafe extern "C" fn sd_pid_notify_with_fds(
    pid: pid_t,
    unset_environment: c_int,
    state: *const c_char,
    fds: *const c_int,
    n_fds: c_uint,
) -> c_int {
    let state = opt_cstr(state).map(CStr::to_bytes);
    truth(notify::pid_notify_with_fds_raw(pid, unset_environment != 0, state, fd_array(fds, n_fds as usize)))
}

/// `sd_pid_notify_with_fds(pid, unset_environment, state, NULL, 0)`.
///
/// # Safety
/// `state` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sd_pid_notify(pid: pid_t, unset_environment: c_int, state: *const c_char) -> c_int {
    sd_pid_notify_with_fds(pid, unset_environment, state, core::ptr::null(), 0)
}

/// `sd_pid_notify_with_fds(0, unset_environment, state, NULL, 0)`.
///
/// # Safety
/// `state` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sd_notify(unset_environment: c_int, state: *const c_char) -> c_int {
    sd_pid_notify_with_fds(0, unset_environment, state, core::ptr::null(), 0)
}

/// Send `BARRIER=1` and wait up to `timeout` µs (`UINT64_MAX`: forever)
/// until the manager has processed all earlier messages. 1 when done, 0 if
/// `NOTIFY_SOCKET` is unset, `-ETIMEDOUT`, or another negative errno.
#[no_mangle]
pub extern "C" fn sd_pid_notify_barrier(pid: pid_t, unset_environment: c_int, timeout: u64) -> c_int {
    truth(notify::pid_notify_barrier(pid, unset_environment != 0, timeout))
}

/// `sd_pid_notify_barrier(0, unset_environment, timeout)`.
#[no_mangle]
pub extern "C" fn sd_notify_barrier(unset_environment: c_int, timeout: u64) -> c_int {
    truth(notify::notify_barrier(unset_environment != 0, timeout))
}

/// 1 if the system was booted with systemd (`/run/systemd/system/`
/// exists), 0 if not, or a negative errno.
#[no_mangle]
pub extern "C" fn sd_booted() -> c_int {
    truth(notify::booted())
}

/// 1 if the service manager expects watchdog pings from this process
/// (storing the interval in µs into `*usec` if not NULL), 0 if not, or a
/// negative errno. With `unset_environment`, removes `WATCHDOG_USEC` and
/// `WATCHDOG_PID`.
///
/// # Safety
/// `usec` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sd_watchdog_enabled(unset_environment: c_int, usec: *mut u64) -> c_int {
    match notify::watchdog_enabled(unset_environment != 0) {
        Ok(Some(u)) => {
            if !usec.is_null() {
                *usec = u;
            }
            1
        }
        Ok(None) => 0,
        Err(e) => e.negated(),
    }
}

/// The process's activation state, read once (thread-safe, environment
/// untouched): the number of activated fds, 0 if none, or the negative errno
/// of that first reading — the same answer on every call from any thread.
/// A child created by fork() reads its own on first use (its LISTEN_PID is
/// the parent's: 0, as sd_listen_fds(0) and sdfd_activate_socket say there).
#[cfg(unix)]
#[no_mangle]
pub extern "C" fn sdfd_snapshot() -> c_int {
    count(snapshot::snapshot().map(|s| s.len()))
}

/// Fd `index` of the snapshot (`SD_LISTEN_FDS_START + index`), `-ENXIO` if
/// `index` is out of range, or the snapshot's error.
#[cfg(unix)]
#[no_mangle]
pub extern "C" fn sdfd_snapshot_fd(index: c_uint) -> c_int {
    match snapshot::snapshot() {
        Ok(s) => s.fd(index as usize).unwrap_or(-libc::ENXIO),
        Err(e) => e.negated(),
    }
}

/// Name of fd `index` of the snapshot, valid for the life of the process;
/// NULL if out of range or not activated.
#[cfg(unix)]
#[no_mangle]
pub extern "C" fn sdfd_snapshot_name(index: c_uint) -> *const c_char {
    snapshot::snapshot().ok().and_then(|s| s.name(index as usize)).map_or(core::ptr::null(), CStr::as_ptr)
}

/// The activated socket of `type` (0: any) bound to `address` (`PORT`,
/// `A.B.C.D:PORT`, `[IPv6]:PORT`, `/path`, `@abstract`): its fd, `-ENOENT`
/// if none is, `-ESRCH` if not socket-activated, `-EINVAL` for a NULL or
/// malformed address or a negative `type`.
///
/// # Safety
/// `address` is NULL or NUL-terminated.
#[cfg(unix)]
#[no_mangle]
pub unsafe extern "C" fn sdfd_find_socket(address: *const c_char, r#type: c_int) -> c_int {
    match opt_cstr(address) {
        None => -libc::EINVAL,
        Some(a) => snapshot::find_socket(a.to_bytes(), r#type).unwrap_or_else(|e| e.negated()),
    }
}

/// `sdfd_address_parse` flag: python-systemd 235's address syntax (that of
/// its `is_socket_sockaddr()`) instead of systemd's `ListenStream=` syntax.
pub const SDFD_ADDRESS_PYTHON_SYSTEMD: c_int = 1;

/// Parse `address` into `*ret` (a `sockaddr_in`, `sockaddr_in6` or
/// `sockaddr_un`) and its length into `*ret_len`, for `bind()`, `connect()`
/// or `sd_is_socket_sockaddr()`. `flags` 0: systemd's `ListenStream=` syntax
/// as `sdfd_find_socket` and `sdfd-activate -l` take it (`PORT`,
/// `A.B.C.D:PORT`, `[IPv6]:PORT`, each with an optional `%IFACE`, `/path`,
/// `@abstract`; a bare port is `[::]:PORT`, or `0.0.0.0:PORT` where the
/// kernel has no IPv6). `SDFD_ADDRESS_PYTHON_SYSTEMD`: python-systemd 235's
/// syntax (port optional, `strtoul` numbers, `IFACE[:PORT]`; see
/// sdfd_address_parse(3)). 0 on success; `-EINVAL` for a NULL or malformed
/// address, a NULL `ret` or `ret_len` or other `flags`, `-ERANGE` for a
/// number out of range, `-ENODEV` for an unknown `%IFACE`.
///
/// # Safety
/// `address` is NULL or NUL-terminated; `ret` and `ret_len` are NULL or
/// writable.
#[cfg(unix)]
#[no_mangle]
pub unsafe extern "C" fn sdfd_address_parse(
    address: *const c_char,
    flags: c_int,
    ret: *mut libc::sockaddr_storage,
    ret_len: *mut c_uint,
) -> c_int {
    use crate::address::SocketAddress;
    let (Some(a), false, false) = (opt_cstr(address), ret.is_null(), ret_len.is_null()) else {
        return -libc::EINVAL;
    };
    let parsed = match flags {
        0 => SocketAddress::parse(a.to_bytes()).map_err(|e| e.errno()),
        SDFD_ADDRESS_PYTHON_SYSTEMD => SocketAddress::parse_python_systemd(a),
        _ => Err(Errno::EINVAL),
    };
    match parsed {
        Ok(sa) => {
            // SAFETY: both are writable (the caller's contract), not NULL (checked).
            unsafe { *ret_len = sa.to_sockaddr(&mut *ret) };
            0
        }
        Err(e) => e.negated(),
    }
}

/// A copy of `envp` without `LISTEN_*`, `NOTIFY_SOCKET` and `WATCHDOG_*`,
/// for starting a child without `unsetenv` (no race with other threads):
/// one array to release with `free()`; the strings are `envp`'s. NULL on
/// allocation failure.
///
/// # Safety
/// `envp` is NULL or a NULL-terminated array of strings outliving the result.
#[cfg(unix)]
#[no_mangle]
pub unsafe extern "C" fn sdfd_environ_without_activation(envp: *const *const c_char) -> *mut *mut c_char {
    snapshot::environ_without_activation(envp).unwrap_or(core::ptr::null_mut())
}

/// The activated sockets named `name` (a `LISTEN_FDNAMES` entry under
/// systemd, a `Sockets` key under launchd): 0 and, in `*sockets`, a
/// `malloc`ed array of `*count` (>= 1) sockets that the caller releases with
/// `free()` (the sockets are the caller's too); or a negative errno and no
/// write: -EINVAL a NULL argument, -ESRCH not socket-activated, -ENOENT no
/// socket with that name, -EALREADY that name was already returned by an
/// earlier call in this process, or the activation's own error (e.g.
/// -EINVAL for a bad LISTEN_FDS, -EBADF, -ENOMEM).
///
/// # Safety
/// `name` is NULL or NUL-terminated; `sockets` and `count` are NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn sdfd_activate_socket(
    name: *const c_char,
    sockets: *mut *mut sdfd_socket_t,
    count: *mut libc::size_t,
) -> c_int {
    if name.is_null() || sockets.is_null() || count.is_null() {
        return crate::errno::Errno::EINVAL.negated();
    }
    match byname::activate_socket(CStr::from_ptr(name)) {
        Ok(s) => {
            let (p, n) = s.into_raw();
            *sockets = p;
            *count = n;
            0
        }
        Err(e) => e.negated(),
    }
}

/// `uid_t` argument meaning "no other uid": `(uid_t)-1`.
#[cfg(unix)]
fn opt_uid(uid: libc::uid_t) -> Option<libc::uid_t> {
    (uid != libc::uid_t::MAX).then_some(uid)
}

/// A C fd array of `n` (>= 1) entries, or `EINVAL`.
///
/// # Safety
/// As [`fd_array`].
#[cfg(unix)]
unsafe fn handoff_fds<'a>(fds: *const c_int, n: libc::size_t) -> Result<&'a [c_int]> {
    match fd_array(fds, n) {
        Some(f) if !f.is_empty() => Ok(f),
        _ => Err(Errno::EINVAL),
    }
}

/// Hand-off (Unix only; docs/handoff.md): offer `n_fds` descriptors, fd `i`
/// named `names[i]` (`LISTEN_FDNAMES` rules), to one successor that
/// connects to the unix socket `path` (created here through a private
/// directory, so that no other file can change; removed before return if
/// still ours; `@name`: abstract, Linux), within `timeout_usec` µs
/// (`UINT64_MAX`: no limit; 0: one try). Only a peer
/// with this process's effective uid or `allowed_uid` (`(uid_t)-1`: none)
/// is served. 0 once the successor has acknowledged, or a negative errno
/// with this process still holding everything: -EINVAL, -E2BIG, -EBADF,
/// -ENAMETOOLONG, -EADDRINUSE (path exists), -EPERM (the private directory
/// was tampered with), -ETIMEDOUT, -ECONNABORTED (the successor went away
/// before acknowledging), -EPROTO, or a system error.
///
/// # Safety
/// `path` is NULL or NUL-terminated; `fds` and `names` are NULL or readable
/// for `n_fds` entries, each name NULL or NUL-terminated.
#[cfg(unix)]
#[no_mangle]
pub unsafe extern "C" fn sdfd_handoff_offer(
    path: *const c_char,
    fds: *const c_int,
    names: *const *const c_char,
    n_fds: libc::size_t,
    timeout_usec: u64,
    allowed_uid: libc::uid_t,
) -> c_int {
    let Some(path) = opt_cstr(path) else {
        return Errno::EINVAL.negated();
    };
    if names.is_null() {
        return Errno::EINVAL.negated();
    }
    // The C caller's promise: `names` readable for `n_fds` entries.
    let names = crate::handoff::BorrowedNames::Raw(crate::handoff::RawNames::new(names));
    let r = handoff_fds(fds, n_fds)
        .and_then(|fds| crate::handoff::offer(path, fds, names, timeout_usec, opt_uid(allowed_uid)));
    truth(r.map(|()| false))
}

/// Hand-off (Unix only): receive the descriptors offered on `path`
/// (waiting up to `timeout_usec` µs for the offer to appear and for the
/// exchange; 0: one try) from a process running as this process's effective uid, root,
/// or `offerer_uid` (`(uid_t)-1`: none). On success returns their number n:
/// they are at `SD_LISTEN_FDS_START..+n` and `LISTEN_PID`/`LISTEN_FDS`/
/// `LISTEN_FDNAMES` are set, so `sd_listen_fds*`, `sdfd_listen_socket` and
/// `sdfd_activate_socket` see them as activated sockets. Call it before
/// starting threads (it calls `setenv`). A negative errno leaves nothing
/// behind: -EINVAL, -ENAMETOOLONG, -ENOENT / -ECONNREFUSED (no offer by the
/// deadline), -ETIMEDOUT, -EACCES (refused), -EPERM (untrusted offerer),
/// -EPROTO, -EPROTONOSUPPORT, -ECONNABORTED, -EBUSY (an fd in 3..3+n is
/// already in use), -EMFILE (hard `RLIMIT_NOFILE` below 3+2n+1; a lower
/// soft limit is raised), -ENOMEM. Once every descriptor is in place they
/// are kept, even if the offerer is gone before reading the
/// acknowledgement (docs/handoff.md, the commit rule).
///
/// # Safety
/// `path` is NULL or NUL-terminated.
#[cfg(unix)]
#[no_mangle]
pub unsafe extern "C" fn sdfd_handoff_receive(
    path: *const c_char,
    timeout_usec: u64,
    offerer_uid: libc::uid_t,
) -> c_int {
    match opt_cstr(path) {
        None => Errno::EINVAL.negated(),
        // SAFETY: the C caller's contract (documented above): no concurrent
        // environment access.
        Some(p) => count(crate::handoff::receive(p, timeout_usec, opt_uid(offerer_uid))),
    }
}

/// Hand-off by re-exec (Unix only): start `path` with `argv` and `envp`
/// (NULL: this process's environment) and `n_fds` descriptors passed the
/// systemd way: in the child only they are placed at 3.. without
/// FD_CLOEXEC, other descriptors above 2 are marked close-on-exec,
/// `LISTEN_PID` is the child's pid (set after fork), `LISTEN_FDS` and
/// `LISTEN_FDNAMES` (`names[i]`) replace any `LISTEN_*` of `envp`. This
/// process's descriptors are untouched. The child's pid once it has
/// exec'd, or a negative errno: the exec's (-ENOENT, -EACCES, ...; the
/// child is reaped), -EINVAL, -E2BIG, -EBADF, -ENOMEM, fork's.
///
/// # Safety
/// `path` is NULL or NUL-terminated; `argv` is NULL or a NULL-terminated
/// string array; `envp` likewise; `fds`/`names` as in `sdfd_handoff_offer`.
#[cfg(unix)]
#[no_mangle]
pub unsafe extern "C" fn sdfd_handoff_spawn(
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
    fds: *const c_int,
    names: *const *const c_char,
    n_fds: libc::size_t,
) -> pid_t {
    let Some(path) = opt_cstr(path) else {
        return Errno::EINVAL.negated();
    };
    if names.is_null() || argv.is_null() {
        return Errno::EINVAL.negated();
    }
    // The C caller's promise: `names` readable for `n_fds` entries.
    let names = crate::handoff::BorrowedNames::Raw(crate::handoff::RawNames::new(names));
    let r = handoff_fds(fds, n_fds).and_then(|fds| crate::handoff::spawn(path, argv, envp, fds, names));
    match r {
        Ok(pid) => pid,
        Err(e) => e.negated(),
    }
}
