//! Raw OS access for `sd_listen_fds`' path: the system calls it makes and the
//! process environment block.
//!
//! On Linux x86_64 and aarch64 these are direct system calls (`asm!`), which
//! return `-errno` in the result register: no libc function, no `errno`, no
//! thread-local storage. That is what keeps a program start that calls
//! `sd_listen_fds` cheap: every libc function that the shared library calls
//! for the first time costs a dynamic-linker symbol lookup (lazy binding,
//! ~900 instructions each; see bench/RESULTS.md). The kernel does the same
//! thing either way: glibc's and musl's `getpid`, `fcntl(F_GETFD/F_SETFD)`
//! and `poll` are single system calls with the arguments passed through.
//! Elsewhere these wrap the libc functions and read `errno`.

#[cfg(target_os = "linux")]
use core::ffi::c_char;
use core::ffi::{c_int, c_uint};

use crate::errno::Result;
use crate::fd::RawFd;

#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
mod raw {
    use crate::errno::{Errno, Result};

    /// One system call with up to four arguments; the kernel's result,
    /// `-4095..=-1` being `-errno`.
    #[cfg(target_arch = "x86_64")]
    #[inline]
    pub(super) unsafe fn syscall4(n: libc::c_long, a: usize, b: usize, c: usize, d: usize) -> isize {
        let r: isize;
        // SAFETY (caller): the arguments are valid for system call `n`.
        // `syscall` clobbers rcx and r11; memory may be read and written
        // (asm! assumes so without `nomem`).
        core::arch::asm!("syscall", inlateout("rax") n as isize => r, in("rdi") a, in("rsi") b, in("rdx") c,
                         in("r10") d, lateout("rcx") _, lateout("r11") _, options(nostack));
        r
    }

    #[cfg(target_arch = "aarch64")]
    #[inline]
    pub(super) unsafe fn syscall4(n: libc::c_long, a: usize, b: usize, c: usize, d: usize) -> isize {
        let r: isize;
        // SAFETY (caller): as above; `svc 0` clobbers only x0.
        core::arch::asm!("svc 0", in("x8") n, inlateout("x0") a as isize => r, in("x1") b, in("x2") c,
                         in("x3") d, options(nostack));
        r
    }

    /// The result as `Ok(value)` or `Err(errno)`.
    #[inline]
    pub(super) fn check(r: isize) -> Result<isize> {
        if (-4095..0).contains(&r) {
            Err(Errno(-r as i32))
        } else {
            Ok(r)
        }
    }
}

/// The calling process's id (`getpid`, which cannot fail).
pub(crate) fn getpid() -> libc::pid_t {
    #[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
    // SAFETY: getpid takes no arguments and cannot fail.
    return unsafe { raw::syscall4(libc::SYS_getpid, 0, 0, 0, 0) } as libc::pid_t;
    #[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"))))]
    // SAFETY: as above.
    return unsafe { libc::getpid() };
}

/// `fcntl(fd, F_GETFD)`: the descriptor flags, or why `fd` has none
/// (`EBADF` when it is not open).
pub(crate) fn get_fd_flags(fd: RawFd) -> Result<c_int> {
    #[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
    // SAFETY: F_GETFD on any number reads nothing from memory.
    return raw::check(unsafe { raw::syscall4(libc::SYS_fcntl, fd as usize, libc::F_GETFD as usize, 0, 0) })
        .map(|v| v as c_int);
    #[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"))))]
    // SAFETY: as above; errors come back as -1 and errno.
    return match unsafe { libc::fcntl(fd, libc::F_GETFD) } {
        r if r < 0 => Err(crate::errno::Errno::last()),
        r => Ok(r),
    };
}

/// `fcntl(fd, F_SETFD, flags)`.
pub(crate) fn set_fd_flags(fd: RawFd, flags: c_int) -> Result<()> {
    #[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
    // SAFETY: F_SETFD on any number only changes that descriptor's flags.
    return raw::check(unsafe {
        raw::syscall4(libc::SYS_fcntl, fd as usize, libc::F_SETFD as usize, flags as c_uint as usize, 0)
    })
    .map(drop);
    #[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"))))]
    // SAFETY: as above.
    return match unsafe { libc::fcntl(fd, libc::F_SETFD, flags) } {
        r if r < 0 => Err(crate::errno::Errno::last()),
        _ => Ok(()),
    };
}

/// `poll(fds, fds.len(), 0)`: how many entries have `revents` set.
pub(crate) fn poll_now(fds: &mut [libc::pollfd]) -> Result<c_int> {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    // SAFETY: `fds` is a valid, writable array of `fds.len()` pollfds.
    return raw::check(unsafe { raw::syscall4(libc::SYS_poll, fds.as_mut_ptr() as usize, fds.len(), 0, 0) })
        .map(|v| v as c_int);
    // aarch64 has no poll system call; glibc and musl use ppoll, and so do we
    // (a zero timeout and no signal mask: exactly poll(.., 0)).
    #[cfg(all(target_os = "linux", target_arch = "aarch64"))]
    {
        let zero = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: as above; `zero` outlives the call; no signal mask.
        return raw::check(unsafe {
            raw::syscall4(libc::SYS_ppoll, fds.as_mut_ptr() as usize, fds.len(), &zero as *const _ as usize, 0)
        })
        .map(|v| v as c_int);
    }
    #[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"))))]
    // SAFETY: as above.
    return match unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 0) } {
        r if r < 0 => Err(crate::errno::Errno::last()),
        r => Ok(r),
    };
}

/// `close_range(first, last, flags)` (Linux 5.9+).
#[cfg(target_os = "linux")]
pub(crate) fn close_range(first: c_uint, last: c_uint, flags: c_uint) -> Result<()> {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    // SAFETY: close_range takes plain numbers.
    return raw::check(unsafe {
        raw::syscall4(libc::SYS_close_range, first as usize, last as usize, flags as usize, 0)
    })
    .map(drop);
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    // SAFETY: as above.
    return match unsafe { libc::syscall(libc::SYS_close_range, first, last, flags) } {
        r if r < 0 => Err(crate::errno::Errno::last()),
        _ => Ok(()),
    };
}

/// The process environment block (C `environ`): NULL or a NULL-terminated
/// array of `NAME=value` strings. glibc's and musl's `getenv` read it
/// without a lock, as [`crate::env::get`] does.
#[cfg(target_os = "linux")]
pub(crate) fn environ() -> *const *const c_char {
    extern "C" {
        static environ: *const *const c_char;
    }
    // SAFETY: libc defines `environ`; reading the pointer is what getenv does.
    unsafe { core::ptr::read_volatile(core::ptr::addr_of!(environ)) }
}
