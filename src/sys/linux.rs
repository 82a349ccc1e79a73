//! Linux on x86_64 and aarch64: the primitives as direct system calls
//! (`asm!`), which return `-errno` in the result register: no libc function,
//! no `errno`, no thread-local storage.
//!
//! That is what keeps a program start that calls `sd_listen_fds` cheap:
//! every libc function that the shared library calls for the first time
//! costs a dynamic-linker symbol lookup (lazy binding, ~900 instructions
//! each; see bench/RESULTS.md). The kernel does the same thing either way:
//! glibc's and musl's `getpid` and `fcntl(F_GETFD/F_SETFD)` are single
//! system calls with the arguments passed through.
//!
//! The calls after `environ` are not on `sd_listen_fds`' path. They are raw
//! system calls because glibc has newer symbol versions for them
//! (`stat`/`fstat` GLIBC_2.33, `mq_getattr` GLIBC_2.34, `pipe2` 2.9, `ppoll`
//! and `faccessat` 2.4, `accept4` 2.10, `clock_gettime` 2.17): each version
//! the library needs is checked by the
//! dynamic linker at every program start (~250 instructions each), whether
//! the function is ever called or not. With these, libsdfd.so needs only
//! GLIBC_2.2.5. Each does what the glibc 2.36 wrapper does.
//!
//! `super::unix` has the same functions over libc, for every other Unix.

use core::ffi::{c_char, c_int, c_uint};

use crate::errno::{Errno, Result};
use crate::fd::RawFd;

/// One system call with up to four arguments; the kernel's result,
/// `-4095..=-1` being `-errno`.
#[cfg(target_arch = "x86_64")]
#[inline]
unsafe fn syscall4(n: libc::c_long, a: usize, b: usize, c: usize, d: usize) -> isize {
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
unsafe fn syscall4(n: libc::c_long, a: usize, b: usize, c: usize, d: usize) -> isize {
    let r: isize;
    // SAFETY (caller): as above; `svc 0` clobbers only x0.
    core::arch::asm!("svc 0", in("x8") n, inlateout("x0") a as isize => r, in("x1") b, in("x2") c,
                     in("x3") d, options(nostack));
    r
}

/// System calls with one, two and three arguments: the registers of the
/// arguments not passed are left alone (`sd_listen_fds`' path makes them;
/// each zeroed register is bytes in every static program that calls it).
#[cfg(target_arch = "x86_64")]
#[inline]
unsafe fn syscall1(n: libc::c_long, a: usize) -> isize {
    let r: isize;
    // SAFETY (caller): as in syscall4.
    core::arch::asm!("syscall", inlateout("rax") n as isize => r, in("rdi") a, lateout("rcx") _, lateout("r11") _,
                     options(nostack));
    r
}

#[cfg(target_arch = "x86_64")]
#[inline]
unsafe fn syscall2(n: libc::c_long, a: usize, b: usize) -> isize {
    let r: isize;
    // SAFETY (caller): as in syscall4.
    core::arch::asm!("syscall", inlateout("rax") n as isize => r, in("rdi") a, in("rsi") b, lateout("rcx") _,
                     lateout("r11") _, options(nostack));
    r
}

#[cfg(target_arch = "x86_64")]
#[inline]
unsafe fn syscall3(n: libc::c_long, a: usize, b: usize, c: usize) -> isize {
    let r: isize;
    // SAFETY (caller): as in syscall4.
    core::arch::asm!("syscall", inlateout("rax") n as isize => r, in("rdi") a, in("rsi") b, in("rdx") c,
                     lateout("rcx") _, lateout("r11") _, options(nostack));
    r
}

#[cfg(target_arch = "aarch64")]
#[inline]
unsafe fn syscall1(n: libc::c_long, a: usize) -> isize {
    let r: isize;
    // SAFETY (caller): as in syscall4.
    core::arch::asm!("svc 0", in("x8") n, inlateout("x0") a as isize => r, options(nostack));
    r
}

#[cfg(target_arch = "aarch64")]
#[inline]
unsafe fn syscall2(n: libc::c_long, a: usize, b: usize) -> isize {
    let r: isize;
    // SAFETY (caller): as in syscall4.
    core::arch::asm!("svc 0", in("x8") n, inlateout("x0") a as isize => r, in("x1") b, options(nostack));
    r
}

#[cfg(target_arch = "aarch64")]
#[inline]
unsafe fn syscall3(n: libc::c_long, a: usize, b: usize, c: usize) -> isize {
    let r: isize;
    // SAFETY (caller): as in syscall4.
    core::arch::asm!("svc 0", in("x8") n, inlateout("x0") a as isize => r, in("x1") b, in("x2") c, options(nostack));
    r
}

/// One system call with five arguments (`linkat`).
#[cfg(target_arch = "x86_64")]
#[inline]
unsafe fn syscall5(n: libc::c_long, a: usize, b: usize, c: usize, d: usize, e: usize) -> isize {
    let r: isize;
    // SAFETY (caller): as in syscall4; the fifth argument goes in r8.
    core::arch::asm!("syscall", inlateout("rax") n as isize => r, in("rdi") a, in("rsi") b, in("rdx") c,
                     in("r10") d, in("r8") e, lateout("rcx") _, lateout("r11") _, options(nostack));
    r
}

#[cfg(target_arch = "aarch64")]
#[inline]
unsafe fn syscall5(n: libc::c_long, a: usize, b: usize, c: usize, d: usize, e: usize) -> isize {
    let r: isize;
    // SAFETY (caller): as in syscall4; the fifth argument goes in x4.
    core::arch::asm!("svc 0", in("x8") n, inlateout("x0") a as isize => r, in("x1") b, in("x2") c,
                     in("x3") d, in("x4") e, options(nostack));
    r
}

/// The result as `Ok(value)` or `Err(errno)`.
#[inline]
fn check(r: isize) -> Result<isize> {
    if (-4095..0).contains(&r) {
        Err(Errno(-r as i32))
    } else {
        Ok(r)
    }
}

/// The calling process's id (`getpid`, which cannot fail).
pub(crate) fn getpid() -> libc::pid_t {
    // SAFETY: getpid takes no arguments and cannot fail.
    unsafe { syscall1(libc::SYS_getpid, 0) as libc::pid_t }
}

/// `fcntl(fd, F_GETFD)`: the descriptor flags, or why `fd` has none
/// (`EBADF` when it is not open).
pub(crate) fn get_fd_flags(fd: RawFd) -> Result<c_int> {
    // SAFETY: F_GETFD on any number reads nothing from memory.
    check(unsafe { syscall2(libc::SYS_fcntl, fd as usize, libc::F_GETFD as usize) }).map(|v| v as c_int)
}

/// `fcntl(fd, F_SETFD, flags)`.
pub(crate) fn set_fd_flags(fd: RawFd, flags: c_int) -> Result<()> {
    // SAFETY: F_SETFD on any number only changes that descriptor's flags.
    check(unsafe { syscall3(libc::SYS_fcntl, fd as usize, libc::F_SETFD as usize, flags as c_uint as usize) }).map(drop)
}

/// `close_range(first, last, flags)` (Linux 5.9+).
pub(crate) fn close_range(first: c_uint, last: c_uint, flags: c_uint) -> Result<()> {
    // SAFETY: close_range takes plain numbers.
    check(unsafe { syscall4(libc::SYS_close_range, first as usize, last as usize, flags as usize, 0) }).map(drop)
}

/// The process environment block (C `environ`): NULL or a NULL-terminated
/// array of `NAME=value` strings. glibc's and musl's `getenv` read it
/// without a lock, as [`crate::env::get`] does.
pub(crate) fn environ() -> *const *const c_char {
    extern "C" {
        static environ: *const *const c_char;
    }
    // SAFETY: libc defines `environ`; reading the pointer is what getenv does.
    unsafe { core::ptr::read_volatile(core::ptr::addr_of!(environ)) }
}

/// `fstat(fd)`.
pub(crate) fn fstat(fd: RawFd) -> Result<libc::stat> {
    let mut st = core::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` is a writable struct stat, the kernel's layout on these
    // architectures; it is initialised when the call succeeds.
    check(unsafe { syscall2(libc::SYS_fstat, fd as usize, st.as_mut_ptr() as usize) })?;
    // SAFETY: filled in by the successful call.
    Ok(unsafe { st.assume_init() })
}

/// The inode number of a pidfd for process `pid` (this one) when pidfs gives pidfds
/// one (Linux 6.9+: `fstatfs` says `PID_FS_MAGIC`), else `None`
/// (`pidfd_open`, `fstatfs`, `fstat`, `close`: what `super::unix` calls
/// through libc, whose `syscall`, `fstatfs` and `close` would otherwise come
/// into every static program that calls `sd_listen_fds`).
pub(crate) fn own_pidfd_inode(pid: libc::pid_t) -> Option<u64> {
    const PID_FS_MAGIC: i64 = 0x5049_4446;
    // SAFETY: pidfd_open takes plain numbers.
    let fd = check(unsafe { syscall2(libc::SYS_pidfd_open, pid as usize, 0) }).ok()? as RawFd;
    let mut sfs = core::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: `sfs` is a writable struct statfs, the kernel's layout on
    // these architectures; read only when the call succeeded.
    // (f_type is i64 with glibc, unsigned long with musl)
    #[allow(clippy::unnecessary_cast)]
    let pidfs = check(unsafe { syscall2(libc::SYS_fstatfs, fd as usize, sfs.as_mut_ptr() as usize) }).is_ok()
        && unsafe { sfs.assume_init_ref() }.f_type as i64 == PID_FS_MAGIC;
    let st = if pidfs { fstat(fd).ok() } else { None };
    // SAFETY: `fd` is ours, closed once.
    unsafe { syscall1(libc::SYS_close, fd as usize) };
    st.map(|st| st.st_ino)
}

/// `fstatat(AT_FDCWD, path, flags)`: `stat(path)` with `flags == 0`.
pub(crate) fn stat_at(path: &core::ffi::CStr, flags: c_int) -> Result<libc::stat> {
    let mut st = core::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `path` is NUL-terminated; `st` as in fstat.
    check(unsafe {
        syscall4(
            libc::SYS_newfstatat,
            libc::AT_FDCWD as usize,
            path.as_ptr() as usize,
            st.as_mut_ptr() as usize,
            flags as usize,
        )
    })?;
    // SAFETY: filled in by the successful call.
    Ok(unsafe { st.assume_init() })
}

/// `faccessat(AT_FDCWD, path, F_OK, AT_SYMLINK_NOFOLLOW)`: glibc calls
/// `faccessat2` and, on kernels without it (`ENOSYS`, before 5.8), answers
/// `F_OK` with `fstatat(.., AT_SYMLINK_NOFOLLOW)`.
pub(crate) fn exists_nofollow(path: &core::ffi::CStr) -> Result<()> {
    // SAFETY: `path` is NUL-terminated.
    let r = check(unsafe {
        syscall4(
            libc::SYS_faccessat2,
            libc::AT_FDCWD as usize,
            path.as_ptr() as usize,
            libc::F_OK as usize,
            libc::AT_SYMLINK_NOFOLLOW as usize,
        )
    });
    match r {
        Err(Errno::ENOSYS) => stat_at(path, libc::AT_SYMLINK_NOFOLLOW).map(drop),
        r => r.map(drop),
    }
}

/// `mq_getattr(fd)`.
pub(crate) fn mq_getattr(fd: RawFd) -> Result<libc::mq_attr> {
    let mut attr = core::mem::MaybeUninit::<libc::mq_attr>::uninit();
    // SAFETY: glibc's mq_getattr is mq_getsetattr(fd, NULL, attr).
    check(unsafe { syscall4(libc::SYS_mq_getsetattr, fd as usize, 0, attr.as_mut_ptr() as usize, 0) })?;
    // SAFETY: filled in by the successful call.
    Ok(unsafe { attr.assume_init() })
}

/// `pipe2(O_CLOEXEC)`.
pub(crate) fn pipe_cloexec() -> Result<[c_int; 2]> {
    let mut p = [-1 as c_int; 2];
    // SAFETY: `p` is a writable int[2].
    check(unsafe { syscall4(libc::SYS_pipe2, p.as_mut_ptr() as usize, libc::O_CLOEXEC as usize, 0, 0) })?;
    Ok(p)
}

/// `accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)`.
pub(crate) fn accept_cloexec_nonblock(l: RawFd) -> Result<c_int> {
    let flags = (libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK) as usize;
    // SAFETY: NULL address pointers are allowed.
    check(unsafe { syscall4(libc::SYS_accept4, l as usize, 0, 0, flags) }).map(|v| v as c_int)
}

/// `CLOCK_MONOTONIC` in µs; 0 if the clock cannot be read. (The system
/// call, not the vDSO: called per wait, not per packet.)
pub(crate) fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a writable timespec.
    let r = check(unsafe {
        syscall4(libc::SYS_clock_gettime, libc::CLOCK_MONOTONIC as usize, &mut ts as *mut _ as usize, 0, 0)
    });
    if r.is_err() {
        return 0;
    }
    super::timespec_usec(&ts)
}

/// `ppoll(pfd, 1, ts, NULL)`; `ts` NULL waits forever. (glibc passes a
/// copy of `ts`, which the kernel updates; ours is not used afterwards.)
pub(crate) fn ppoll_one(pfd: &mut libc::pollfd, ts: Option<libc::timespec>) -> Result<c_int> {
    let mut t = ts;
    let tp = t.as_mut().map_or(core::ptr::null_mut(), |t| t as *mut libc::timespec);
    // SAFETY: one valid pollfd; `tp` NULL or a writable timespec; no mask.
    check(unsafe { syscall4(libc::SYS_ppoll, pfd as *mut _ as usize, 1, tp as usize, 0) }).map(|v| v as c_int)
}

// ---- Directory-relative file calls of the hand-off's offer (crate::handoff) ----

/// `fstatat(dir, name, flags)`.
pub(crate) fn stat_in(dir: RawFd, name: &core::ffi::CStr, flags: c_int) -> Result<libc::stat> {
    let mut st = core::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `name` is NUL-terminated; `st` as in fstat.
    check(unsafe {
        syscall4(libc::SYS_newfstatat, dir as usize, name.as_ptr() as usize, st.as_mut_ptr() as usize, flags as usize)
    })?;
    // SAFETY: filled in by the successful call.
    Ok(unsafe { st.assume_init() })
}

/// `openat(dir, name, flags)` (no `O_CREAT`): the new descriptor.
pub(crate) fn open_in(dir: RawFd, name: &core::ffi::CStr, flags: c_int) -> Result<c_int> {
    // SAFETY: `name` is NUL-terminated.
    check(unsafe { syscall4(libc::SYS_openat, dir as usize, name.as_ptr() as usize, flags as usize, 0) })
        .map(|r| r as c_int)
}

/// `mkdirat(dir, name, mode)`.
pub(crate) fn mkdir_in(dir: RawFd, name: &core::ffi::CStr, mode: libc::mode_t) -> Result<()> {
    // SAFETY: `name` is NUL-terminated.
    check(unsafe { syscall4(libc::SYS_mkdirat, dir as usize, name.as_ptr() as usize, mode as usize, 0) }).map(drop)
}

/// `unlinkat(dir, name, flags)`.
pub(crate) fn unlink_in(dir: RawFd, name: &core::ffi::CStr, flags: c_int) -> Result<()> {
    // SAFETY: `name` is NUL-terminated.
    check(unsafe { syscall4(libc::SYS_unlinkat, dir as usize, name.as_ptr() as usize, flags as usize, 0) }).map(drop)
}

/// `fchmodat(dir, name, mode, 0)` (the system call has no flags).
pub(crate) fn chmod_in(dir: RawFd, name: &core::ffi::CStr, mode: libc::mode_t) -> Result<()> {
    // SAFETY: `name` is NUL-terminated.
    check(unsafe { syscall4(libc::SYS_fchmodat, dir as usize, name.as_ptr() as usize, mode as usize, 0) }).map(drop)
}

/// `linkat(from_dir, from, to_dir, to, 0)`.
pub(crate) fn link_in(from_dir: RawFd, from: &core::ffi::CStr, to_dir: RawFd, to: &core::ffi::CStr) -> Result<()> {
    // SAFETY: both names are NUL-terminated.
    check(unsafe {
        syscall5(libc::SYS_linkat, from_dir as usize, from.as_ptr() as usize, to_dir as usize, to.as_ptr() as usize, 0)
    })
    .map(drop)
}
