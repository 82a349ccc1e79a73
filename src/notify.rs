//! Service-manager notification (`sd_notify` family), `sd_booted` and
//! `sd_watchdog_enabled`, with libsystemd 252's checks, messages and
//! environment side effects. On top of 252: `vsock:` notify addresses and
//! `sd_pid_notify_barrier` (systemd 254+); see the README for what differs.
//!
//! One front for every platform: the argument checks, `NOTIFY_SOCKET` and
//! the barrier's steps are here; the message goes out through
//! `crate::sys::notify_send` (Unix: the datagram protocol of
//! `sys/notify_socket.rs`).
//!
//! Windows has no `NOTIFY_SOCKET` protocol to speak (it is an `AF_UNIX`
//! datagram socket with credentials and fd passing), so there:
//! * with `NOTIFY_SOCKET` unset, every notify call returns `Ok(false)` (C:
//!   0), as on every platform — a program that is not supervised runs
//!   unchanged;
//! * with `NOTIFY_SOCKET` set, `EAFNOSUPPORT` (C: `-EAFNOSUPPORT`);
//! * argument checks come first and `unset_environment` removes
//!   `NOTIFY_SOCKET` on every path, as on Unix;
//! * `booted()` is `Ok(false)`; `watchdog_enabled()` reads
//!   `WATCHDOG_USEC`/`WATCHDOG_PID` exactly as on Unix.

use core::ffi::c_int;

use crate::env;
use crate::errno::{Errno, Result};
use crate::fd::RawFd;
use crate::sys;

// For the fuzz harness (`sdfd::fuzzing`, feature capi).
#[cfg(all(unix, feature = "capi"))]
#[doc(hidden)]
pub use crate::sys::notify_socket::{parse_target, Target};

/// A process id as the C API takes it (`pid_t`, an `int` on every
/// platform, Windows' C runtime included).
pub type Pid = c_int;

/// The core of every notify call (`sd_pid_notify_with_fds`).
///
/// `state` and `fds` are `None` where C passed NULL (→ `EINVAL`; a NULL fd
/// array is fine when the count is 0, which the C layer passes as an empty
/// slice). `Ok(false)`: `NOTIFY_SOCKET` is not set, nothing sent. `Ok(true)`:
/// the datagram was sent (not necessarily processed). With
/// `unset_environment`, `NOTIFY_SOCKET` is removed on every path.
pub fn pid_notify_with_fds_raw(
    pid: Pid,
    unset_environment: bool,
    state: Option<&[u8]>,
    fds: Option<&[RawFd]>,
) -> Result<bool> {
    let r = send_notification(pid, state, fds);
    if unset_environment {
        env::unset(env::NOTIFY_SOCKET);
    }
    r
}

fn send_notification(pid: Pid, state: Option<&[u8]>, fds: Option<&[RawFd]>) -> Result<bool> {
    let state = state.ok_or(Errno::EINVAL)?;
    let fds = fds.ok_or(Errno::EINVAL)?;
    let Some(e) = env::get(env::NOTIFY_SOCKET) else {
        return Ok(false);
    };
    sys::notify_send(e.to_bytes(), pid, state, fds)?;
    Ok(true)
}

/// `sd_notify(unset_environment, state)`.
pub fn notify(unset_environment: bool, state: &str) -> Result<bool> {
    pid_notify_with_fds_raw(0, unset_environment, Some(state.as_bytes()), Some(&[]))
}

/// `sd_pid_notify(pid, unset_environment, state)`: on behalf of `pid`.
pub fn pid_notify(pid: Pid, unset_environment: bool, state: &str) -> Result<bool> {
    pid_notify_with_fds_raw(pid, unset_environment, Some(state.as_bytes()), Some(&[]))
}

/// `sd_pid_notify_with_fds`: also pass `fds` (e.g. `FDSTORE=1`).
#[cfg_attr(any(not(feature = "std"), windows), allow(dead_code))] // notify_with_fds (Unix, std), the C ABI
pub fn pid_notify_with_fds(pid: Pid, unset_environment: bool, state: &str, fds: &[RawFd]) -> Result<bool> {
    pid_notify_with_fds_raw(pid, unset_environment, Some(state.as_bytes()), Some(fds))
}

/// `sd_pid_notify_barrier`: send `BARRIER=1` with a pipe and wait (µs;
/// `u64::MAX` = forever) until the manager has processed everything sent
/// before. `Ok(false)`: not supervised. Timeout: `ETIMEDOUT`.
pub fn pid_notify_barrier(pid: Pid, unset_environment: bool, timeout_usec: u64) -> Result<bool> {
    let (rd, wr) = sys::barrier_pipe()?;
    if !pid_notify_with_fds_raw(pid, unset_environment, Some(b"BARRIER=1"), Some(wr.as_slice()))? {
        return Ok(false);
    }
    drop(wr);
    sys::wait_hangup(&rd, timeout_usec)
}

/// `sd_notify_barrier`.
pub fn notify_barrier(unset_environment: bool, timeout_usec: u64) -> Result<bool> {
    pid_notify_barrier(0, unset_environment, timeout_usec)
}

/// `sd_booted()`: does `/run/systemd/system/` exist (PID 1 is systemd)?
pub fn booted() -> Result<bool> {
    match sys::exists_nofollow(c"/run/systemd/system/") {
        Ok(()) => Ok(true),
        Err(Errno::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(feature = "capi")]
pub use crate::watchdog::watchdog_enabled;
