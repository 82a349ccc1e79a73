//! File-descriptor primitives shared by the backends.

use core::ffi::c_int;

#[cfg(unix)]
use crate::errno::{Errno, Result};

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
/// return that error; descriptors before it keep the flag (no rollback).
#[cfg(unix)]
pub fn mark_cloexec_range(start: RawFd, n: c_int) -> Result<()> {
    for fd in start..start.saturating_add(n) {
        // SAFETY: fcntl on an arbitrary number is safe; errors come back as -1.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags < 0 {
            return Err(Errno::last());
        }
        if flags & libc::FD_CLOEXEC != 0 {
            continue;
        }
        // SAFETY: as above.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) } < 0 {
            return Err(Errno::last());
        }
    }
    Ok(())
}
