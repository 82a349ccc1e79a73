//! The C ABI: `extern "C"` entry points with libsystemd's exact prototypes.
//!
//! This layer only converts (C ints to `bool`/`Option`, pointers to slices
//! and `&CStr`, `Result` to `-errno`); every decision is made in the safe
//! Rust API it calls. No panic can unwind out of here: the C library is
//! built with `panic = "abort"`, and tests/panic-check.sh proves that no
//! panic path is left in it at all (see README, "Reliability").

use core::ffi::{c_char, c_int, c_uint, CStr};

use crate::errno::Result;
use crate::{check, listen, notify};

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
/// `unset_environment` non-zero removes `LISTEN_PID`, `LISTEN_FDS` and
/// `LISTEN_FDNAMES` on every path.
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
pub extern "C" fn sd_is_socket(fd: c_int, family: c_int, r#type: c_int, listening: c_int) -> c_int {
    truth(check::is_socket(fd, family, r#type, listening_state(listening)))
}

/// 1 if `fd` is an IPv4/IPv6 socket of `family` (0: either), `type`,
/// listening state and `port` (0: any), 0 if not, or a negative errno.
#[no_mangle]
pub extern "C" fn sd_is_socket_inet(fd: c_int, family: c_int, r#type: c_int, listening: c_int, port: u16) -> c_int {
    truth(check::is_socket_inet(fd, family, r#type, listening_state(listening), port))
}

/// 1 if `fd` is an IP socket bound to `addr` (port/flowinfo/scope 0: any),
/// 0 if not, or a negative errno.
///
/// # Safety
/// `addr` is NULL or points to `addr_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn sd_is_socket_sockaddr(
    fd: c_int,
    r#type: c_int,
    addr: *const libc::sockaddr,
    addr_len: c_uint,
    listening: c_int,
) -> c_int {
    let bytes = (!addr.is_null()).then(|| core::slice::from_raw_parts(addr as *const u8, addr_len as usize));
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
    fd: c_int,
    r#type: c_int,
    listening: c_int,
    path: *const c_char,
    length: libc::size_t,
) -> c_int {
    let name = if path.is_null() {
        None
    } else {
        let len = if length == 0 { libc::strlen(path) } else { length };
        // No socket name is longer than a sockaddr_un, so a longer `length`
        // cannot match (libsystemd's length test fails the same way): capping
        // it keeps the slices below in bounds of any sane caller's buffer and
        // `len + 1` free of overflow.
        let len = len.min(core::mem::size_of::<libc::sockaddr_un>());
        let p = path as *const u8;
        Some(match len {
            0 => &[][..],
            _ if *p == 0 => core::slice::from_raw_parts(p, len),
            // libsystemd compares length + 1 bytes for path names.
            _ => core::slice::from_raw_parts(p, len + 1),
        })
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
    pid: libc::pid_t,
    unset_environment: c_int,
    state: *const c_char,
    fds: *const c_int,
    n_fds: c_uint,
) -> c_int {
    let state = notify::cstr_bytes(opt_cstr(state));
    truth(notify::pid_notify_with_fds_raw(pid, unset_environment != 0, state, fd_array(fds, n_fds as usize)))
}

/// `sd_pid_notify_with_fds(pid, unset_environment, state, NULL, 0)`.
///
/// # Safety
/// `state` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sd_pid_notify(pid: libc::pid_t, unset_environment: c_int, state: *const c_char) -> c_int {
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
pub extern "C" fn sd_pid_notify_barrier(pid: libc::pid_t, unset_environment: c_int, timeout: u64) -> c_int {
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
