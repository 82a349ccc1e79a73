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
pub(crate) fn unset(name: &CStr) {
    // SAFETY: `name` is NUL-terminated and contains no '=' (all callers pass
    // constant variable names).
    unsafe {
        libc::unsetenv(name.as_ptr());
    }
}

pub(crate) const LISTEN_PID: &CStr = c"LISTEN_PID";
pub(crate) const LISTEN_PIDFDID: &CStr = c"LISTEN_PIDFDID";
pub(crate) const LISTEN_FDS: &CStr = c"LISTEN_FDS";
pub(crate) const LISTEN_FDNAMES: &CStr = c"LISTEN_FDNAMES";
pub(crate) const NOTIFY_SOCKET: &CStr = c"NOTIFY_SOCKET";
pub(crate) const WATCHDOG_USEC: &CStr = c"WATCHDOG_USEC";
pub(crate) const WATCHDOG_PID: &CStr = c"WATCHDOG_PID";
