//! The Rust entry points over the libsystemd-compatible core: safe functions
//! that leave the environment alone, `unsafe` `*_and_unset_env` variants that
//! remove the activation variables (as libsystemd's `unset_environment`
//! flag does), and notification with typed states.

use core::time::Duration;

use crate::errno::Result;
use crate::names::OwnedNames;
use crate::notify as core_notify;
use crate::{listen, watchdog};

/// How many descriptors were passed to this process (`sd_listen_fds(0)`).
///
/// They are [`LISTEN_FDS_START`](crate::LISTEN_FDS_START)` .. + n`, all with
/// `FD_CLOEXEC` set. `Ok(0)` means "not socket-activated". The environment is
/// left as it is, so the activation variables are inherited by children the
/// program starts (use [`environ_without_activation`](crate::environ_without_activation)
/// for theirs, or the `unsafe` [`listen_fds_and_unset_env`]).
pub fn listen_fds() -> Result<usize> {
    listen::listen_fds(false)
}

/// As [`listen_fds`], then removes `LISTEN_PID`, `LISTEN_PIDFDID`,
/// `LISTEN_FDS` and `LISTEN_FDNAMES` from the environment on every path
/// (`sd_listen_fds(1)`).
///
/// # Safety
/// Calls `unsetenv`: no other thread may read or write the environment at
/// the same time (in Rust or in C, e.g. `getenv` in a resolver), the same
/// contract as `std::env::remove_var` in Rust 2024. Call it first in
/// `main`, before any thread is started.
pub unsafe fn listen_fds_and_unset_env() -> Result<usize> {
    listen::listen_fds(true)
}

/// As [`listen_fds`], with one name per descriptor
/// (`sd_listen_fds_with_names(0)`): `FileDescriptorName=` or `unknown`.
/// An empty list means "not activated".
pub fn listen_fds_with_names() -> Result<OwnedNames> {
    listen::listen_fds_with_names(false)
}

/// As [`listen_fds_with_names`], then removes the activation variables as
/// [`listen_fds_and_unset_env`] does (`sd_listen_fds_with_names(1)`).
///
/// # Safety
/// As for [`listen_fds_and_unset_env`]: no other thread may use the environment
/// during the call.
pub unsafe fn listen_fds_with_names_and_unset_env() -> Result<OwnedNames> {
    listen::listen_fds_with_names(true)
}

/// The watchdog interval if the service manager expects keep-alive pings
/// ([`NotifyState::Watchdog`]) from this process, `None` if not
/// (`sd_watchdog_enabled(0)`).
pub fn watchdog_enabled() -> Result<Option<Duration>> {
    Ok(watchdog::watchdog_enabled(false)?.map(Duration::from_micros))
}

/// As [`watchdog_enabled`], then removes `WATCHDOG_USEC` and `WATCHDOG_PID`
/// (`sd_watchdog_enabled(1)`).
///
/// # Safety
/// As for [`listen_fds_and_unset_env`]: no other thread may use the environment
/// during the call.
pub unsafe fn watchdog_enabled_and_unset_env() -> Result<Option<Duration>> {
    Ok(watchdog::watchdog_enabled(true)?.map(Duration::from_micros))
}

/// Whether the system was booted with systemd (`sd_booted`).
pub fn booted() -> Result<bool> {
    core_notify::booted()
}

/// Send `state`, newline-separated `VAR=value` assignments, to the service
/// manager as it is (`sd_notify(0, state)`). `Ok(false)`: `NOTIFY_SOCKET` is
/// not set (not supervised), nothing sent; `Ok(true)`: sent. Prefer
/// [`notify`] with typed states where `std` is available.
pub fn notify_str(state: &str) -> Result<bool> {
    core_notify::notify(false, state)
}

/// As [`notify_str`], then removes `NOTIFY_SOCKET` (`sd_notify(1, state)`).
///
/// # Safety
/// As for [`listen_fds_and_unset_env`]: no other thread may use the environment
/// during the call.
pub unsafe fn notify_str_and_unset_env(state: &str) -> Result<bool> {
    core_notify::notify(true, state)
}

/// Wait until the service manager has processed every notification sent
/// before (`sd_notify_barrier(0, timeout)`; `BARRIER=1` with a pipe).
/// `Ok(false)`: not supervised. Timeout: `ETIMEDOUT`.
pub fn notify_barrier(timeout: Duration) -> Result<bool> {
    core_notify::notify_barrier(false, u64::try_from(timeout.as_micros()).unwrap_or(u64::MAX))
}

/// A notification the service manager understands (`sd_notify(3)`), one
/// `VAR=value` line each.
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotifyState<'a> {
    /// `READY=1`: start-up finished (`Type=notify`).
    Ready,
    /// `RELOADING=1` with `MONOTONIC_USEC=` now (as `Type=notify-reload`
    /// requires); send [`NotifyState::Ready`] when done.
    Reloading,
    /// `STOPPING=1`: shutting down.
    Stopping,
    /// `STATUS=…`: a one-line status for `systemctl status`.
    Status(&'a str),
    /// `ERRNO=…`: the errno-style reason of a failure.
    Errno(u32),
    /// `BUSERROR=…`: a D-Bus error name describing a failure.
    BusError(&'a str),
    /// `MAINPID=…`: the service's main process is this one.
    MainPid(u32),
    /// `WATCHDOG=1`: keep-alive ping (see [`watchdog_enabled`]).
    Watchdog,
    /// `WATCHDOG=trigger`: ask the manager to act as if the watchdog expired.
    WatchdogTrigger,
    /// `WATCHDOG_USEC=…`: change the watchdog interval.
    WatchdogUsec(u64),
    /// `EXTEND_TIMEOUT_USEC=…`: extend the current start/stop timeout.
    ExtendTimeoutUsec(u64),
    /// `FDSTORE=1` and `FDNAME=name`: keep the descriptors sent with this
    /// message ([`notify_with_fds`](crate::notify_with_fds)) in the
    /// manager's file-descriptor store under `name`.
    FdStore {
        /// The name they are passed back under (`LISTEN_FDNAMES`).
        name: &'a str,
    },
    /// `FDSTOREREMOVE=1` and `FDNAME=name`: drop them from the store.
    FdStoreRemove {
        /// The name they were stored under.
        name: &'a str,
    },
    /// Any other `VAR=value` assignment, sent as it is.
    Custom(&'a str),
}

#[cfg(feature = "std")]
impl NotifyState<'_> {
    /// Append this state's line(s) to `out`; `EINVAL` for a value that would
    /// break the message (a newline, a NUL) or an invalid descriptor name.
    fn render(&self, out: &mut std::string::String) -> Result<()> {
        use crate::errno::Errno;
        use core::fmt::Write;
        // (Byte searches: `str::contains` with a char pattern compiles
        // core's whole substring searcher into a debug build, issue 30.)
        fn one_line(s: &str) -> Result<&str> {
            if s.bytes().any(|b| b == b'\n' || b == 0) {
                return Err(Errno::EINVAL);
            }
            Ok(s)
        }
        // systemd's fdname_is_valid: 1..=255 printable ASCII bytes, no ':'.
        fn fd_name(s: &str) -> Result<&str> {
            let ok = !s.is_empty() && s.len() <= 255 && s.bytes().all(|b| (b' '..=b'~').contains(&b) && b != b':');
            if ok {
                Ok(s)
            } else {
                Err(Errno::EINVAL)
            }
        }
        let r = match *self {
            NotifyState::Ready => out.write_str("READY=1"),
            NotifyState::Reloading => {
                write!(out, "RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec())
            }
            NotifyState::Stopping => out.write_str("STOPPING=1"),
            NotifyState::Status(s) => write!(out, "STATUS={}", one_line(s)?),
            NotifyState::Errno(e) => write!(out, "ERRNO={e}"),
            NotifyState::BusError(s) => write!(out, "BUSERROR={}", one_line(s)?),
            NotifyState::MainPid(p) => write!(out, "MAINPID={p}"),
            NotifyState::Watchdog => out.write_str("WATCHDOG=1"),
            NotifyState::WatchdogTrigger => out.write_str("WATCHDOG=trigger"),
            NotifyState::WatchdogUsec(u) => write!(out, "WATCHDOG_USEC={u}"),
            NotifyState::ExtendTimeoutUsec(u) => write!(out, "EXTEND_TIMEOUT_USEC={u}"),
            NotifyState::FdStore { name } => write!(out, "FDSTORE=1\nFDNAME={}", fd_name(name)?),
            NotifyState::FdStoreRemove { name } => write!(out, "FDSTOREREMOVE=1\nFDNAME={}", fd_name(name)?),
            NotifyState::Custom(s) => {
                let s = one_line(s)?;
                if !s.as_bytes().contains(&b'=') {
                    return Err(Errno::EINVAL);
                }
                out.write_str(s)
            }
        };
        r.map_err(|_| Errno::ENOMEM)
    }
}

/// `CLOCK_MONOTONIC` in µs (what systemd compares `MONOTONIC_USEC=` with).
#[cfg(feature = "std")]
fn monotonic_usec() -> u64 {
    #[cfg(unix)]
    {
        crate::sys::monotonic_usec()
    }
    #[cfg(not(unix))]
    {
        0
    }
}

/// The message for `states`, one line each.
#[cfg(feature = "std")]
fn message(states: &[NotifyState<'_>]) -> Result<std::string::String> {
    let mut out = std::string::String::new();
    for (i, s) in states.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        s.render(&mut out)?;
    }
    Ok(out)
}

/// Tell the service manager about state changes (`sd_notify(0, …)`):
///
/// ```no_run
/// use sdfd::NotifyState;
/// sdfd::notify(&[NotifyState::Ready, NotifyState::Status("accepting connections")])?;
/// # Ok::<(), sdfd::Errno>(())
/// ```
///
/// `Ok(false)`: `NOTIFY_SOCKET` is not set (not supervised), nothing sent;
/// `Ok(true)`: sent. `EINVAL` for a value with a newline or NUL, a bad
/// descriptor name, or a [`NotifyState::Custom`] without `=`.
#[cfg(feature = "std")]
pub fn notify(states: &[NotifyState<'_>]) -> Result<bool> {
    core_notify::notify(false, &message(states)?)
}

/// As [`notify`], then removes `NOTIFY_SOCKET` from the environment on
/// every path (`sd_notify(1, …)`).
///
/// # Safety
/// As for [`listen_fds_and_unset_env`]: no other thread may use the environment
/// during the call.
#[cfg(feature = "std")]
pub unsafe fn notify_and_unset_env(states: &[NotifyState<'_>]) -> Result<bool> {
    core_notify::notify(true, &message(states)?)
}

/// As [`notify_str`], on behalf of process `pid` (`sd_pid_notify`; 0 is this
/// process). Sending for another process needs privileges; without them the
/// manager sees the sender's own credentials.
pub fn pid_notify(pid: u32, state: &str) -> Result<bool> {
    let pid = core_notify::Pid::try_from(pid).map_err(|_| crate::errno::Errno::EINVAL)?;
    core_notify::pid_notify(pid, false, state)
}

/// As [`notify`], passing `fds` along (`sd_pid_notify_with_fds`), e.g. to
/// the file-descriptor store:
///
/// ```no_run
/// # fn f(listener: &std::net::TcpListener) -> Result<(), sdfd::Errno> {
/// use std::os::fd::AsFd;
/// sdfd::notify_with_fds(&[sdfd::NotifyState::FdStore { name: "web" }], &[listener.as_fd()])?;
/// # Ok(()) }
/// ```
#[cfg(all(feature = "std", unix))]
pub fn notify_with_fds(states: &[NotifyState<'_>], fds: &[std::os::fd::BorrowedFd<'_>]) -> Result<bool> {
    use std::os::fd::AsRawFd;
    let raw: std::vec::Vec<crate::fd::RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
    core_notify::pid_notify_with_fds(0, false, &message(states)?, &raw)
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::errno::Errno;

    #[test]
    fn states_render_as_sd_notify_lines() {
        let m = message(&[
            NotifyState::Ready,
            NotifyState::Status("up: 3 fds"),
            NotifyState::Errno(2),
            NotifyState::MainPid(42),
            NotifyState::Watchdog,
            NotifyState::WatchdogTrigger,
            NotifyState::WatchdogUsec(5),
            NotifyState::ExtendTimeoutUsec(6),
            NotifyState::FdStore { name: "web" },
            NotifyState::FdStoreRemove { name: "old" },
            NotifyState::BusError("org.x.E"),
            NotifyState::Custom("X_FOO=bar"),
            NotifyState::Stopping,
        ])
        .unwrap();
        assert_eq!(
            m,
            "READY=1\nSTATUS=up: 3 fds\nERRNO=2\nMAINPID=42\nWATCHDOG=1\nWATCHDOG=trigger\nWATCHDOG_USEC=5\n\
             EXTEND_TIMEOUT_USEC=6\nFDSTORE=1\nFDNAME=web\nFDSTOREREMOVE=1\nFDNAME=old\nBUSERROR=org.x.E\nX_FOO=bar\n\
             STOPPING=1"
        );
        let r = message(&[NotifyState::Reloading]).unwrap();
        let usec: u64 = r.strip_prefix("RELOADING=1\nMONOTONIC_USEC=").unwrap().parse().unwrap();
        assert!(usec > 0);
    }

    #[test]
    fn values_that_would_break_the_message_are_einval() {
        for bad in [
            NotifyState::Status("a\nREADY=1"),
            NotifyState::Status("nul\0"),
            NotifyState::BusError("x\n"),
            NotifyState::Custom("no-assignment"),
            NotifyState::Custom("A=1\nB=2"),
            NotifyState::FdStore { name: "" },
            NotifyState::FdStore { name: "a:b" },
            NotifyState::FdStore { name: "tab\t" },
            NotifyState::FdStoreRemove { name: &"n".repeat(256) },
        ] {
            assert_eq!(message(&[NotifyState::Ready, bad]), Err(Errno::EINVAL), "{bad:?}");
        }
        assert!(message(&[NotifyState::FdStore { name: &"n".repeat(255) }]).is_ok());
    }
}
