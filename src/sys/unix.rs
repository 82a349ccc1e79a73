//! Every Unix but Linux on x86_64/aarch64: the primitives of `super::linux`
//! as calls to the libc functions, with failures read from `errno`.

#[cfg(target_os = "linux")]
use core::ffi::{c_char, c_uint};
use core::ffi::c_int;

use crate::errno::{Errno, Result};
use crate::fd::RawFd;

/// -1 and `errno` as `Err`, anything else as `Ok`.
fn check(r: c_int) -> Result<c_int> {
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(r)
    }
}

/// The calling process's id (`getpid`, which cannot fail).
pub(crate) fn getpid() -> libc::pid_t {
    // SAFETY: getpid takes no arguments and cannot fail.
    unsafe { libc::getpid() }
}

/// `fcntl(fd, F_GETFD)`: the descriptor flags, or why `fd` has none
/// (`EBADF` when it is not open).
pub(crate) fn get_fd_flags(fd: RawFd) -> Result<c_int> {
    // SAFETY: F_GETFD on any number reads nothing from memory.
    check(unsafe { libc::fcntl(fd, libc::F_GETFD) })
}

/// `fcntl(fd, F_SETFD, flags)`.
pub(crate) fn set_fd_flags(fd: RawFd, flags: c_int) -> Result<()> {
    // SAFETY: F_SETFD on any number only changes that descriptor's flags.
    check(unsafe { libc::fcntl(fd, libc::F_SETFD, flags) }).map(drop)
}

/// `poll(fds, fds.len(), 0)`: how many entries have `revents` set.
#[cfg(target_os = "linux")]
pub(crate) fn poll_now(fds: &mut [libc::pollfd]) -> Result<c_int> {
    // SAFETY: `fds` is a valid, writable array of `fds.len()` pollfds.
    check(unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 0) })
}

/// `close_range(first, last, flags)` (Linux 5.9+).
#[cfg(target_os = "linux")]
pub(crate) fn close_range(first: c_uint, last: c_uint, flags: c_uint) -> Result<()> {
    // SAFETY: close_range takes plain numbers.
    match unsafe { libc::syscall(libc::SYS_close_range, first, last, flags) } {
        r if r < 0 => Err(Errno::last()),
        _ => Ok(()),
    }
}

/// The process environment block (C `environ`), as in `super::linux`.
#[cfg(target_os = "linux")]
pub(crate) fn environ() -> *const *const c_char {
    extern "C" {
        static environ: *const *const c_char;
    }
    // SAFETY: libc defines `environ`; reading the pointer is what getenv does.
    unsafe { core::ptr::read_volatile(core::ptr::addr_of!(environ)) }
}

/// `fstat(fd)`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn fstat(fd: RawFd) -> Result<libc::stat> {
    let mut st = core::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` is a writable struct stat.
    check(unsafe { libc::fstat(fd, st.as_mut_ptr()) })?;
    // SAFETY: filled in by the successful call.
    Ok(unsafe { st.assume_init() })
}

/// `fstatat(AT_FDCWD, path, flags)`: `stat(path)` with `flags == 0`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn stat_at(path: &core::ffi::CStr, flags: c_int) -> Result<libc::stat> {
    let mut st = core::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `path` is NUL-terminated; `st` as in fstat.
    check(unsafe { libc::fstatat(libc::AT_FDCWD, path.as_ptr(), st.as_mut_ptr(), flags) })?;
    // SAFETY: filled in by the successful call.
    Ok(unsafe { st.assume_init() })
}

/// `faccessat(AT_FDCWD, path, F_OK, AT_SYMLINK_NOFOLLOW)`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn exists_nofollow(path: &core::ffi::CStr) -> Result<()> {
    // SAFETY: `path` is NUL-terminated.
    check(unsafe { libc::faccessat(libc::AT_FDCWD, path.as_ptr(), libc::F_OK, libc::AT_SYMLINK_NOFOLLOW) }).map(drop)
}

/// `mq_getattr(fd)`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn mq_getattr(fd: RawFd) -> Result<libc::mq_attr> {
    let mut attr = core::mem::MaybeUninit::<libc::mq_attr>::uninit();
    // SAFETY: `attr` is a writable mq_attr.
    check(unsafe { libc::mq_getattr(fd as libc::mqd_t, attr.as_mut_ptr()) })?;
    // SAFETY: filled in by the successful call.
    Ok(unsafe { attr.assume_init() })
}

/// `pipe2(O_CLOEXEC)`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn pipe_cloexec() -> Result<[c_int; 2]> {
    let mut p = [-1 as c_int; 2];
    // SAFETY: `p` is a writable int[2].
    check(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) })?;
    Ok(p)
}

/// `ppoll(pfd, 1, ts, NULL)`; `ts` NULL waits forever.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn ppoll_one(pfd: &mut libc::pollfd, ts: Option<libc::timespec>) -> Result<c_int> {
    let mut t = ts;
    let tp = t.as_mut().map_or(core::ptr::null_mut(), |t| t as *mut libc::timespec);
    // SAFETY: one valid pollfd; `tp` NULL or a writable timespec; no mask.
    check(unsafe { libc::ppoll(pfd, 1, tp, core::ptr::null()) })
}
