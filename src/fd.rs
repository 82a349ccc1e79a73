//! File-descriptor primitives shared by the backends.

use core::ffi::c_int;

#[cfg(unix)]
use crate::errno::Result;
#[cfg(unix)]
use crate::sys;

/// A file descriptor number (C `int`).
pub type RawFd = c_int;

/// An activated socket as handed to the program: the descriptor number on
/// Unix (`LISTEN_FDS_START + i`), the Winsock `SOCKET` handle on Windows
/// (C: `sdfd_socket_t`).
#[cfg(not(windows))]
pub type RawSocket = RawFd;
/// An activated socket as handed to the program: the descriptor number on
/// Unix (`LISTEN_FDS_START + i`), the Winsock `SOCKET` handle on Windows
/// (C: `sdfd_socket_t`, = `SOCKET` = `uintptr_t`).
#[cfg(windows)]
pub type RawSocket = usize;

/// Set `FD_CLOEXEC` on `start..start+n` in ascending order, as libsystemd
/// does: stop at the first descriptor whose flags cannot be read or set and
/// return that error; descriptors before it keep the flag (no rollback),
/// descriptors after it are not touched.
///
/// The same system calls as libsystemd 252, one or two `fcntl` per
/// descriptor (`F_GETFD`, and `F_SETFD` when the flag is not set yet) and
/// nothing else, so that any system-call allow-list (seccomp) that
/// libsystemd's `sd_listen_fds` passes, sdfd's passes too (tests/c/seccomp.sh).
/// Fewer calls would need `poll` and `close_range`, which such a filter may
/// answer by killing the process.
#[cfg(unix)]
#[inline(always)]
pub fn mark_cloexec_range(start: RawFd, n: c_int) -> Result<()> {
    for fd in start..start.saturating_add(n.max(0)) {
        let flags = sys::get_fd_flags(fd)?;
        if flags & libc::FD_CLOEXEC == 0 {
            sys::set_fd_flags(fd, flags | libc::FD_CLOEXEC)?;
        }
    }
    Ok(())
}
