//! File-descriptor primitives shared by the backends.

use core::ffi::c_int;
#[cfg(target_os = "linux")]
use core::ffi::c_uint;

#[cfg(target_os = "linux")]
use crate::errno::Errno;
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
/// libsystemd makes one or two `fcntl` calls per descriptor. On Linux this
/// reaches the same result with a constant number of system calls for up to
/// 256 descriptors (see [`mark_cloexec_range_fast`]); anywhere
/// else, or on a kernel without `close_range(CLOSE_RANGE_CLOEXEC)`, it is the
/// `fcntl` loop.
#[cfg(unix)]
pub fn mark_cloexec_range(start: RawFd, n: c_int) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        // One descriptor: the loop's one or two fcntl calls are already the
        // cheapest way.
        if n > 1 {
            if let Some(r) = mark_cloexec_range_fast(start, n) {
                return r;
            }
        }
    }
    mark_cloexec_loop(start, start.saturating_add(n.max(0)))
}

/// The reference algorithm (libsystemd's): for each fd in `from..to`,
/// `F_GETFD`, and `F_SETFD` when `FD_CLOEXEC` is not set yet.
#[cfg(unix)]
fn mark_cloexec_loop(from: RawFd, to: RawFd) -> Result<()> {
    for fd in from..to {
        let flags = sys::get_fd_flags(fd)?;
        if flags & libc::FD_CLOEXEC == 0 {
            sys::set_fd_flags(fd, flags | libc::FD_CLOEXEC)?;
        }
    }
    Ok(())
}

/// How many descriptors one `poll` call examines. The `pollfd` array lives on
/// the stack (256 × 8 bytes = 2 KiB; no allocation in the no_std core), so
/// more descriptors take one `poll` per chunk.
#[cfg(target_os = "linux")]
const POLL_CHUNK: usize = 256;

/// The Linux fast path. System calls, for `n` descriptors:
///
/// * all open: ⌈n / 256⌉ × `poll` + one `close_range(CLOSE_RANGE_CLOEXEC)`
///   (2 for n ≤ 256);
/// * the first closed one at index `k`: the `poll` calls up to its chunk,
///   one `fcntl(F_GETFD)` that confirms it and returns its errno (`EBADF`,
///   as libsystemd's first failing `fcntl` would), and, when `k > 0`, one
///   `close_range` over `start..start+k` (3 for n ≤ 256).
///
/// `poll` with no requested events and a zero timeout changes nothing and
/// reports `POLLNVAL` for a number that is not an open descriptor; it also
/// reports it for an `O_PATH` descriptor, which `fcntl` accepts, so every
/// `POLLNVAL` is confirmed with `fcntl(F_GETFD)` (an `O_PATH` descriptor
/// costs one extra call and is then treated as open). `close_range` with
/// `CLOSE_RANGE_CLOEXEC` sets only that flag, exactly as `F_SETFD` with the
/// old flags plus `FD_CLOEXEC` does.
///
/// Returns `None` when the caller must use the `fcntl` loop from the start:
/// `poll` failed (`nfds` above `RLIMIT_NOFILE`, `ENOMEM`, a seccomp filter)
/// before anything was changed, or `close_range` is missing (`ENOSYS`,
/// kernels before 5.9) or does not know `CLOSE_RANGE_CLOEXEC` (`EINVAL`,
/// before 5.11) or fails in any other way (a seccomp filter) — its failure
/// changes nothing, and the loop then gives the same result over the same
/// descriptors.
#[cfg(target_os = "linux")]
fn mark_cloexec_range_fast(start: RawFd, n: c_int) -> Option<Result<()>> {
    if start < 0 || n <= 0 {
        return None;
    }
    let end = start.checked_add(n)?;
    let mut pfds = [libc::pollfd { fd: -1, events: 0, revents: 0 }; POLL_CHUNK];
    let mut chunk_start = start;
    // The first descriptor that is not open, and its errno.
    let mut failure: Option<(RawFd, Errno)> = None;
    'chunks: while chunk_start < end {
        let len = (end.wrapping_sub(chunk_start) as usize).min(POLL_CHUNK);
        for (i, p) in pfds[..len].iter_mut().enumerate() {
            *p = libc::pollfd { fd: chunk_start.wrapping_add(i as RawFd), events: 0, revents: 0 };
        }
        // On error nothing has been changed yet: start over with the loop.
        let r = sys::poll_now(&mut pfds[..len]).ok()?;
        if r > 0 {
            for p in &pfds[..len] {
                if p.revents & libc::POLLNVAL == 0 {
                    continue;
                }
                if let Err(e) = sys::get_fd_flags(p.fd) {
                    failure = Some((p.fd, e));
                    break 'chunks;
                }
                // An O_PATH descriptor: open, close_range marks it.
            }
        }
        chunk_start = chunk_start.wrapping_add(len as RawFd);
    }
    let last_ok = match failure {
        Some((fd, _)) => fd.wrapping_sub(1),
        None => end.wrapping_sub(1),
    };
    if last_ok >= start {
        // ENOSYS or EINVAL (old kernel), or a seccomp filter's error:
        // nothing was marked.
        sys::close_range(start as c_uint, last_ok as c_uint, libc::CLOSE_RANGE_CLOEXEC as c_uint).ok()?;
    }
    Some(match failure {
        Some((_, e)) => Err(e),
        None => Ok(()),
    })
}
