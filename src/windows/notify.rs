//! Service-manager notification on Windows: there is no `NOTIFY_SOCKET`
//! protocol to speak (it is an `AF_UNIX` datagram socket with credentials
//! and fd passing), so:
//! * with `NOTIFY_SOCKET` unset, every notify call returns `Ok(false)` (C: 0),
//!   as on every platform — a program that is not supervised runs unchanged;
//! * with `NOTIFY_SOCKET` set, `EAFNOSUPPORT` (C: `-EAFNOSUPPORT`);
//! * argument checks (`state` NULL, `fds` NULL with a count) come first and
//!   give `EINVAL` as on Unix; `unset_environment` removes `NOTIFY_SOCKET`
//!   on every path.
//!
//! `booted()` is `Ok(false)` (Windows is not booted with systemd);
//! `watchdog_enabled()` reads `WATCHDOG_USEC`/`WATCHDOG_PID` exactly as on
//! Unix (the process id is `GetCurrentProcessId()`).

use core::ffi::c_int;


use crate::env;
use crate::errno::{Errno, Result};
use crate::fd::RawFd;

/// A process id as the C API takes it (`pid_t`, an `int`).
pub type Pid = c_int;

/// The core of every notify call (`sd_pid_notify_with_fds`).
pub fn pid_notify_with_fds_raw(
    _pid: Pid,
    unset_environment: bool,
    state: Option<&[u8]>,
    fds: Option<&[RawFd]>,
) -> Result<bool> {
    let r = check(state, fds);
    if unset_environment {
        env::unset(env::NOTIFY_SOCKET);
    }
    r
}

fn check(state: Option<&[u8]>, fds: Option<&[RawFd]>) -> Result<bool> {
    state.ok_or(Errno::EINVAL)?;
    fds.ok_or(Errno::EINVAL)?;
    match env::get(env::NOTIFY_SOCKET) {
        None => Ok(false),
        Some(_) => Err(Errno::EAFNOSUPPORT),
    }
}

/// `sd_notify(unset_environment, state)`.
pub fn notify(unset_environment: bool, state: &str) -> Result<bool> {
    pid_notify_with_fds_raw(0, unset_environment, Some(state.as_bytes()), Some(&[]))
}

/// `sd_pid_notify(pid, unset_environment, state)`.
#[allow(dead_code)] // the C ABI's (sd_pid_notify*), kept alike on every platform
pub fn pid_notify(pid: Pid, unset_environment: bool, state: &str) -> Result<bool> {
    pid_notify_with_fds_raw(pid, unset_environment, Some(state.as_bytes()), Some(&[]))
}

/// `sd_pid_notify_with_fds`.
#[allow(dead_code)] // the C ABI's (sd_pid_notify*), kept alike on every platform
pub fn pid_notify_with_fds(pid: Pid, unset_environment: bool, state: &str, fds: &[RawFd]) -> Result<bool> {
    pid_notify_with_fds_raw(pid, unset_environment, Some(state.as_bytes()), Some(fds))
}

/// `sd_pid_notify_barrier`: `Ok(false)` when not supervised, else
/// `EAFNOSUPPORT` like every notify call here.
pub fn pid_notify_barrier(pid: Pid, unset_environment: bool, _timeout_usec: u64) -> Result<bool> {
    pid_notify_with_fds_raw(pid, unset_environment, Some(b"BARRIER=1"), Some(&[]))
}

/// `sd_notify_barrier`.
pub fn notify_barrier(unset_environment: bool, timeout_usec: u64) -> Result<bool> {
    pid_notify_barrier(0, unset_environment, timeout_usec)
}

/// `sd_booted()`: never on Windows.
pub fn booted() -> Result<bool> {
    Ok(false)
}

#[cfg(feature = "capi")]
pub use crate::watchdog::watchdog_enabled;

