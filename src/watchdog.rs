//! `sd_watchdog_enabled`: the same on every platform (only "this process's
//! id" differs).

use crate::env;
use crate::errno::{Errno, Result};
use crate::parse::{parse_pid, safe_atou64};

/// `sd_watchdog_enabled`: the watchdog interval in µs if the service
/// manager expects keep-alive pings from this process, `None` if not.
/// With `unset_environment`, `WATCHDOG_USEC` and `WATCHDOG_PID` are removed
/// on every path (libsystemd 252's net effect).
pub fn watchdog_enabled(unset_environment: bool) -> Result<Option<u64>> {
    let r = watchdog_interval();
    if unset_environment {
        env::unset(env::WATCHDOG_USEC);
        env::unset(env::WATCHDOG_PID);
    }
    r
}

fn watchdog_interval() -> Result<Option<u64>> {
    let Some(s) = env::get(env::WATCHDOG_USEC) else {
        return Ok(None);
    };
    let u = safe_atou64(s)?;
    // 0 and USEC_INFINITY are not intervals.
    if u == 0 || u == u64::MAX {
        return Err(Errno::EINVAL);
    }
    if let Some(p) = env::get(env::WATCHDOG_PID) {
        if i64::from(parse_pid(p)?) != own_pid() {
            return Ok(None);
        }
    }
    Ok(Some(u))
}

#[cfg(unix)]
fn own_pid() -> i64 {
    // SAFETY: getpid cannot fail.
    i64::from(unsafe { libc::getpid() })
}

#[cfg(windows)]
fn own_pid() -> i64 {
    // SAFETY: no preconditions.
    i64::from(unsafe { windows_sys::Win32::System::Threading::GetCurrentProcessId() })
}
