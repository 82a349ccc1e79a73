//! The systemd environment protocol, matching libsystemd 252's
//! `sd_listen_fds` / `sd_listen_fds_with_names` step for step.

use core::ffi::CStr;

use crate::byname::{sockets_named, SocketArray, Taken};
use crate::env;
use crate::errno::{Errno, Result};
use crate::fd::{mark_cloexec_range, RawSocket};
use crate::listen::LISTEN_FDS_START;
use crate::names::OwnedNames;
use crate::parse::{parse_pid_at, safe_atoi_at, safe_atou64_at};

/// libsystemd unsets the variables on every return path when asked to
/// (`LISTEN_PIDFDID` too, as systemd 258 does; 252 never reads it).
/// `vars` says which are set (unsetting an absent one changes nothing).
fn unset_all(unset_environment: bool, vars: &env::ListenVars) {
    if unset_environment {
        vars.unset();
    }
}

/// Number of fds passed to this process, or 0 if none are for us.
/// (Inlined into its callers, `sd_listen_fds` first: the count or error
/// comes back from [`count_and_mark`] in one register, not through memory.)
#[inline]
pub(crate) fn listen_fds(unset_environment: bool) -> Result<usize> {
    let vars = env::read_listen_vars(unset_environment);
    let r = count_and_mark(&vars);
    vars.unset_after(unset_environment);
    if r < 0 {
        Err(Errno(r.wrapping_neg()))
    } else {
        Ok(r as usize)
    }
}

/// [`checked_count`] as C returns it: the count, or a negative errno.
#[inline(never)]
fn count_and_mark(vars: &env::ListenVars) -> i32 {
    match checked_count(vars) {
        Ok(n) => n,
        Err(e) => e.negated(),
    }
}

/// The checks of `sd_listen_fds` in libsystemd's order, `FD_CLOEXEC` set on
/// each passed fd: how many there are (0: not for us).
#[inline]
fn checked_count(vars: &env::ListenVars) -> Result<i32> {
    let Some(pid) = vars.pid() else {
        return Ok(0);
    };
    let own = crate::sys::getpid();
    // SAFETY: `LISTEN_PID`'s value is a NUL-terminated string in the
    // environment block, which nothing modifies before it is parsed.
    if unsafe { parse_pid_at(pid) }? != own {
        return Ok(0);
    }
    if !pidfd_id_matches(vars.pidfdid(), own)? {
        return Ok(0);
    }
    let Some(fds) = vars.fds() else {
        return Ok(0);
    };
    // SAFETY: as for `LISTEN_PID` above.
    let n = unsafe { safe_atoi_at(fds) }?;
    if n <= 0 || n > i32::MAX - LISTEN_FDS_START {
        return Err(Errno::EINVAL);
    }
    mark_cloexec_range(LISTEN_FDS_START, n)?;
    Ok(n)
}

/// As [`listen_fds`], plus one name per fd from `LISTEN_FDNAMES`
/// (or `"unknown"` for each when it is absent).
pub(crate) fn listen_fds_with_names(unset_environment: bool) -> Result<OwnedNames> {
    // Split before sd_listen_fds, which may unset the variable.
    let vars = env::listen_vars();
    let listed = match vars.fdnames() {
        None => None,
        Some(v) => match OwnedNames::split(v.to_bytes()) {
            Ok(names) => Some(names),
            Err(e) => {
                unset_all(unset_environment, &vars);
                return Err(e);
            }
        },
    };
    let n = listen_fds(unset_environment)?;
    if n == 0 {
        return Ok(OwnedNames::empty());
    }
    match listed {
        Some(names) if names.len() == n => Ok(names),
        Some(_) => Err(Errno::EINVAL),
        None => OwnedNames::repeat(c"unknown", n),
    }
}

/// systemd 258's `LISTEN_PIDFDID` check: when the variable is set it must
/// parse as an unsigned 64-bit number (else that error), and when this
/// kernel gives pidfds an inode id (pidfs, Linux 6.9+) it must be ours —
/// otherwise the fds are not for us (a recycled pid). Absent, or no pidfs:
/// no check, exactly as libsystemd 252.
fn pidfd_id_matches(pidfdid: Option<*const u8>, own: libc::pid_t) -> Result<bool> {
    let Some(v) = pidfdid else {
        return Ok(true);
    };
    // SAFETY: a NUL-terminated value in the environment block, which nothing
    // modifies before it is parsed.
    let want = unsafe { safe_atou64_at(v) }?;
    Ok(own_pidfd_id(own).map_or(true, |id| id == want))
}

/// The inode number of a pidfd for this process (`own`, its pid), if pidfs
/// provides one (`crate::sys`: raw system calls where it makes them).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn own_pidfd_id(own: libc::pid_t) -> Option<u64> {
    crate::sys::own_pidfd_inode(own)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn own_pidfd_id(_own: libc::pid_t) -> Option<u64> {
    None
}

/// Which passed names have been handed out by [`activate_socket`].
static TAKEN: Taken = Taken::new();

/// The passed fds named `name` (see `crate::activate`): the checks and
/// side effects of `sd_listen_fds_with_names(0)`, then a lookup; `ESRCH`
/// when nothing was passed to this process.
pub(crate) fn activate_socket(name: &CStr) -> Result<SocketArray> {
    let names = listen_fds_with_names(false)?;
    if names.is_empty() {
        return Err(Errno::ESRCH);
    }
    sockets_named(&names, name, LISTEN_FDS_START, &TAKEN)
}

/// Activated socket `index`: `LISTEN_FDS_START + index` once
/// `listen_fds(false)` says it exists, else `ENXIO`.
#[cfg_attr(target_vendor = "apple", allow(dead_code))]
pub(crate) fn socket(index: usize) -> Result<RawSocket> {
    let n = listen_fds(false)?;
    if index >= n {
        return Err(Errno::ENXIO);
    }
    // n <= i32::MAX - LISTEN_FDS_START, so this cannot overflow.
    Ok(LISTEN_FDS_START.wrapping_add(index as RawSocket))
}
