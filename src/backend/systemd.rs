//! The systemd environment protocol, matching libsystemd 252's
//! `sd_listen_fds` / `sd_listen_fds_with_names` step for step.

use crate::env;
use crate::errno::{Errno, Result};
use crate::fd::{mark_cloexec_range, RawSocket};
use crate::listen::LISTEN_FDS_START;
use crate::names::Names;
use crate::parse::{parse_pid, safe_atoi};

/// libsystemd unsets the variables on every return path when asked to.
fn unset_all(unset_environment: bool) {
    if unset_environment {
        env::unset(env::LISTEN_PID);
        env::unset(env::LISTEN_FDS);
        env::unset(env::LISTEN_FDNAMES);
    }
}

/// Number of fds passed to this process, or 0 if none are for us.
pub(crate) fn listen_fds(unset_environment: bool) -> Result<usize> {
    let r = count_and_mark();
    unset_all(unset_environment);
    r
}

fn count_and_mark() -> Result<usize> {
    let Some(pid) = env::get(env::LISTEN_PID) else {
        return Ok(0);
    };
    // SAFETY: getpid cannot fail.
    if parse_pid(pid)? != unsafe { libc::getpid() } {
        return Ok(0);
    }
    let Some(fds) = env::get(env::LISTEN_FDS) else {
        return Ok(0);
    };
    let n = safe_atoi(fds)?;
    if n <= 0 || n > i32::MAX - LISTEN_FDS_START {
        return Err(Errno::EINVAL);
    }
    mark_cloexec_range(LISTEN_FDS_START, n)?;
    Ok(n as usize)
}

/// As [`listen_fds`], plus one name per fd from `LISTEN_FDNAMES`
/// (or `"unknown"` for each when it is absent).
pub(crate) fn listen_fds_with_names(unset_environment: bool) -> Result<Names> {
    // Split before sd_listen_fds, which may unset the variable.
    let listed = match env::get(env::LISTEN_FDNAMES) {
        None => None,
        Some(v) => match Names::split(v.to_bytes()) {
            Ok(names) => Some(names),
            Err(e) => {
                unset_all(unset_environment);
                return Err(e);
            }
        },
    };
    let n = listen_fds(unset_environment)?;
    if n == 0 {
        return Ok(Names::empty());
    }
    match listed {
        Some(names) if names.len() == n => Ok(names),
        Some(_) => Err(Errno::EINVAL),
        None => Names::repeat(c"unknown", n),
    }
}

/// Activated socket `index`: `LISTEN_FDS_START + index` once
/// `listen_fds(false)` says it exists, else `ENXIO`.
pub(crate) fn socket(index: usize) -> Result<RawSocket> {
    let n = listen_fds(false)?;
    if index >= n {
        return Err(Errno::ENXIO);
    }
    // n <= i32::MAX - LISTEN_FDS_START, so this cannot overflow.
    Ok(LISTEN_FDS_START + index as RawSocket)
}
