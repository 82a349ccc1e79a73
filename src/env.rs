//! Process environment access through libc, so that C callers and the
//! library see the same environment (`getenv`/`unsetenv`, never a Rust copy).
//!
//! Like libsystemd, these calls are not safe against concurrent `setenv` /
//! `unsetenv` from other threads; see the README ("Threads").

use core::ffi::CStr;

/// The value of `name`, borrowed from the environment block.
///
/// The slice is valid until the environment is next modified; callers parse
/// or copy it before calling [`unset`] or anything else that may modify it.
pub(crate) fn get(name: &CStr) -> Option<&'static CStr> {
    // SAFETY: `name` is NUL-terminated; getenv returns NULL or a pointer to
    // a NUL-terminated string inside the environment block.
    unsafe {
        let p = libc::getenv(name.as_ptr());
        if p.is_null() {
            None
        } else {
            Some(CStr::from_ptr(p))
        }
    }
}

/// Remove `name` from the environment (absent is fine).
#[cfg(unix)]
pub(crate) fn unset(name: &CStr) {
    // SAFETY: `name` is NUL-terminated and contains no '=' (all callers pass
    // constant variable names).
    unsafe {
        libc::unsetenv(name.as_ptr());
    }
}

/// Remove `name` from the environment (absent is fine).
///
/// Windows: the C runtime's `_putenv_s(name, "")`, which removes the
/// variable from the CRT's environment (what `getenv` reads) and from the
/// process environment block (`GetEnvironmentVariableW`, child processes).
#[cfg(windows)]
pub(crate) fn unset(name: &CStr) {
    extern "C" {
        fn _putenv_s(name: *const core::ffi::c_char, value: *const core::ffi::c_char) -> core::ffi::c_int;
    }
    // SAFETY: both strings are NUL-terminated; `name` has no '='.
    unsafe {
        _putenv_s(name.as_ptr(), c"".as_ptr());
    }
}

#[cfg_attr(windows, allow(dead_code))]
pub(crate) const LISTEN_PID: &CStr = c"LISTEN_PID";
#[cfg_attr(windows, allow(dead_code))]
pub(crate) const LISTEN_PIDFDID: &CStr = c"LISTEN_PIDFDID";
#[cfg_attr(windows, allow(dead_code))]
pub(crate) const LISTEN_FDS: &CStr = c"LISTEN_FDS";
pub(crate) const LISTEN_FDNAMES: &CStr = c"LISTEN_FDNAMES";
pub(crate) const NOTIFY_SOCKET: &CStr = c"NOTIFY_SOCKET";
pub(crate) const WATCHDOG_USEC: &CStr = c"WATCHDOG_USEC";
pub(crate) const WATCHDOG_PID: &CStr = c"WATCHDOG_PID";
#[cfg(windows)]
pub(crate) const SYSTEMFD_SOCKET_SERVER: &CStr = c"SYSTEMFD_SOCKET_SERVER";
#[cfg(windows)]
pub(crate) const SYSTEMFD_SOCKET_SECRET: &CStr = c"SYSTEMFD_SOCKET_SECRET";
