//! Unix through libc: the socket and file primitives of every Unix, and, on
//! every Unix but Linux on x86_64/aarch64 (where `super::linux` makes them
//! as raw system calls), the descriptor, `stat`, poll and pipe calls.
//! Failures are read from `errno`.

use core::ffi::{c_int, CStr};
use core::mem::{size_of, zeroed};

use super::{FileId, FileKind, SockAddr, SOCKADDR_STORAGE_SIZE};
use crate::errno::{Errno, Result};
use crate::fd::{RawFd, RawSocket};

/// -1 and `errno` as `Err`, anything else as `Ok`.
fn check(r: c_int) -> Result<c_int> {
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(r)
    }
}

// ---- Descriptors, files, poll and pipes (raw system calls in `linux`) ----

/// The calling process's id (`getpid`, which cannot fail).
#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls))))]
pub(crate) fn getpid() -> libc::pid_t {
    // SAFETY: getpid takes no arguments and cannot fail.
    unsafe { libc::getpid() }
}

/// `fcntl(fd, F_GETFD)`: the descriptor flags, or why `fd` has none
/// (`EBADF` when it is not open).
#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls))))]
pub(crate) fn get_fd_flags(fd: RawFd) -> Result<c_int> {
    // SAFETY: F_GETFD on any number reads nothing from memory.
    check(unsafe { libc::fcntl(fd, libc::F_GETFD) })
}

/// `fcntl(fd, F_SETFD, flags)`.
#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls))))]
pub(crate) fn set_fd_flags(fd: RawFd, flags: c_int) -> Result<()> {
    // SAFETY: F_SETFD on any number only changes that descriptor's flags.
    check(unsafe { libc::fcntl(fd, libc::F_SETFD, flags) }).map(drop)
}

/// `close_range(first, last, flags)` (Linux 5.9+).
#[cfg(all(
    target_os = "linux",
    not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls)))
))]
pub(crate) fn close_range(first: core::ffi::c_uint, last: core::ffi::c_uint, flags: core::ffi::c_uint) -> Result<()> {
    // SAFETY: close_range takes plain numbers.
    match unsafe { libc::syscall(libc::SYS_close_range, first, last, flags) } {
        r if r < 0 => Err(Errno::last()),
        _ => Ok(()),
    }
}

/// The process environment block (C `environ`), as in `super::linux`.
#[cfg(all(
    not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls))),
    not(any(target_os = "macos", target_os = "ios"))
))]
pub(crate) fn environ() -> *const *const core::ffi::c_char {
    extern "C" {
        static environ: *const *const core::ffi::c_char;
    }
    // SAFETY: libc defines `environ`; reading the pointer is what getenv does.
    unsafe { core::ptr::read_volatile(core::ptr::addr_of!(environ)) }
}

/// The `struct stat` that `fstat` and `stat_at` fill in. glibc on 32-bit
/// Linux (i686, armhf): `stat64` through `fstat64`/`fstatat64`, as
/// libsystemd (built with `_FILE_OFFSET_BITS=64`) calls them; the plain
/// `stat` there has a 32-bit `off_t` and `ino_t`, and `fstat` of a file past
/// 2 GiB (or with an inode number past 2^32) fails with `EOVERFLOW` where
/// libsystemd succeeds (tests/c/difftest.py, fd kind "bigfile", on i686).
/// Everywhere else `stat` is already the 64-bit one.
#[cfg(all(
    target_os = "linux",
    target_env = "gnu",
    not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls)))
))]
pub(crate) type Stat = libc::stat64;
#[cfg(not(all(
    target_os = "linux",
    target_env = "gnu",
    not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls)))
)))]
pub(crate) type Stat = libc::stat;

/// The inode number of a pidfd for process `pid` (this one) when pidfs gives pidfds
/// one (Linux 6.9+: `fstatfs` says `PID_FS_MAGIC`), else `None`.
#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls)))
))]
pub(crate) fn own_pidfd_inode(pid: libc::pid_t) -> Option<u64> {
    const PID_FS_MAGIC: i64 = 0x5049_4446;
    // SAFETY: plain syscalls on a descriptor we own and close.
    unsafe {
        let fd = libc::syscall(libc::SYS_pidfd_open, pid, 0) as libc::c_int;
        if fd < 0 {
            return None;
        }
        let mut sfs: libc::statfs = core::mem::zeroed();
        let st =
            if libc::fstatfs(fd, &mut sfs) == 0 && sfs.f_type as i64 == PID_FS_MAGIC { fstat(fd).ok() } else { None };
        libc::close(fd);
        // (ino_t is u32 on some 32-bit targets)
        #[allow(clippy::unnecessary_cast)]
        st.map(|st| st.st_ino as u64)
    }
}

/// The process environment block: on Apple systems a shared library reaches
/// it through `_NSGetEnviron` (`environ` is only linked into executables).
#[cfg(any(target_os = "macos", target_os = "ios"))]
pub(crate) fn environ() -> *const *const core::ffi::c_char {
    // SAFETY: always valid in a process.
    unsafe { *libc::_NSGetEnviron() as *const *const core::ffi::c_char }
}

/// `fstat(fd)`.
#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls))))]
pub(crate) fn fstat(fd: RawFd) -> Result<Stat> {
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    use libc::fstat;
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    use libc::fstat64 as fstat;
    let mut st = core::mem::MaybeUninit::<Stat>::uninit();
    // SAFETY: `st` is a writable struct stat of the function's type.
    check(unsafe { fstat(fd, st.as_mut_ptr()) })?;
    // SAFETY: filled in by the successful call.
    Ok(unsafe { st.assume_init() })
}

/// `fstatat(AT_FDCWD, path, flags)`: `stat(path)` with `flags == 0`.
#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls))))]
pub(crate) fn stat_at(path: &CStr, flags: c_int) -> Result<Stat> {
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    use libc::fstatat;
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    use libc::fstatat64 as fstatat;
    let mut st = core::mem::MaybeUninit::<Stat>::uninit();
    // SAFETY: `path` is NUL-terminated; `st` as in fstat.
    check(unsafe { fstatat(libc::AT_FDCWD, path.as_ptr(), st.as_mut_ptr(), flags) })?;
    // SAFETY: filled in by the successful call.
    Ok(unsafe { st.assume_init() })
}

/// `faccessat(AT_FDCWD, path, F_OK, AT_SYMLINK_NOFOLLOW)`.
#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls))))]
pub(crate) fn exists_nofollow(path: &CStr) -> Result<()> {
    // SAFETY: `path` is NUL-terminated.
    check(unsafe { libc::faccessat(libc::AT_FDCWD, path.as_ptr(), libc::F_OK, libc::AT_SYMLINK_NOFOLLOW) }).map(drop)
}

/// `mq_getattr(fd)`: the system call itself, as glibc makes it
/// (`mq_getsetattr(fd, NULL, attr)`): bionic has no message queue functions.
/// (The kernel's `struct mq_attr`: four `long`s and four reserved.)
#[cfg(target_os = "android")]
pub(crate) fn mq_getattr(fd: RawFd) -> Result<[libc::c_long; 8]> {
    let mut attr = [0 as libc::c_long; 8];
    // SAFETY: `attr` is a writable struct mq_attr; NULL: no new attributes.
    match unsafe { libc::syscall(libc::SYS_mq_getsetattr, fd, core::ptr::null::<u8>(), attr.as_mut_ptr()) } {
        r if r < 0 => Err(Errno::last()),
        _ => Ok(attr),
    }
}

/// `mq_getattr(fd)`.
#[cfg(all(
    target_os = "linux",
    not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls)))
))]
pub(crate) fn mq_getattr(fd: RawFd) -> Result<libc::mq_attr> {
    let mut attr = core::mem::MaybeUninit::<libc::mq_attr>::uninit();
    // SAFETY: `attr` is a writable mq_attr.
    check(unsafe { libc::mq_getattr(fd as libc::mqd_t, attr.as_mut_ptr()) })?;
    // SAFETY: filled in by the successful call.
    Ok(unsafe { attr.assume_init() })
}

/// `pipe2(O_CLOEXEC)`.
#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls)))
))]
pub(crate) fn pipe_cloexec() -> Result<[c_int; 2]> {
    let mut p = [-1 as c_int; 2];
    // SAFETY: `p` is a writable int[2].
    check(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) })?;
    Ok(p)
}

/// Without `pipe2` (macOS): `pipe`, then `FD_CLOEXEC` on both ends.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn pipe_cloexec() -> Result<[c_int; 2]> {
    let mut p = [0 as c_int; 2];
    // SAFETY: p has room for two fds.
    unsafe {
        if libc::pipe(p.as_mut_ptr()) < 0 {
            return Err(Errno::last());
        }
        libc::fcntl(p[0], libc::F_SETFD, libc::FD_CLOEXEC);
        libc::fcntl(p[1], libc::F_SETFD, libc::FD_CLOEXEC);
    }
    Ok(p)
}

/// `accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)`.
#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls)))
))]
pub(crate) fn accept_cloexec_nonblock(l: RawFd) -> Result<c_int> {
    // SAFETY: NULL address pointers are allowed.
    check(unsafe {
        libc::accept4(l, core::ptr::null_mut(), core::ptr::null_mut(), libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK)
    })
}

/// `CLOCK_MONOTONIC` in µs; 0 if the clock cannot be read.
#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls))))]
pub(crate) fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a writable timespec.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) } != 0 {
        return 0;
    }
    super::timespec_usec(&ts)
}

/// `ppoll(pfd, 1, ts, NULL)`; `ts` NULL waits forever.
#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls)))
))]
pub(crate) fn ppoll_one(pfd: &mut libc::pollfd, ts: Option<libc::timespec>) -> Result<c_int> {
    let mut t = ts;
    let tp = t.as_mut().map_or(core::ptr::null_mut(), |t| t as *mut libc::timespec);
    // SAFETY: one valid pollfd; `tp` NULL or a writable timespec; no mask.
    check(unsafe { libc::ppoll(pfd, 1, tp, core::ptr::null()) })
}

/// Without `ppoll` (macOS): `poll` with the timeout rounded up to ms.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
// (time_t and c_long are i64 on macOS, narrower on some 32-bit BSDs)
#[allow(clippy::unnecessary_cast)]
pub(crate) fn ppoll_one(pfd: &mut libc::pollfd, ts: Option<libc::timespec>) -> Result<c_int> {
    let ms = match ts {
        None => -1,
        // (timespec_store's "too far": ppoll's EINVAL)
        Some(t) if t.tv_sec < 0 => return Err(Errno(libc::EINVAL)),
        Some(t) => (t.tv_sec as i64 * 1000 + (t.tv_nsec as i64 + 999_999) / 1_000_000).min(c_int::MAX as i64) as c_int,
    };
    // SAFETY: one valid pollfd.
    check(unsafe { libc::poll(pfd, 1, ms) })
}

// ---- The barrier of `sd_pid_notify_barrier` (crate::notify) ----

/// One end of the barrier's pipe, closed on drop.
pub(crate) struct PipeEnd([RawFd; 1]);

impl PipeEnd {
    /// The descriptor, as the fd list sent with `BARRIER=1`.
    pub(crate) fn as_slice(&self) -> &[RawFd] {
        &self.0
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        // SAFETY: we own the descriptor.
        unsafe { libc::close(self.0[0]) };
    }
}

/// A close-on-exec pipe: (read end, write end).
pub(crate) fn barrier_pipe() -> Result<(PipeEnd, PipeEnd)> {
    let p = super::pipe_cloexec()?;
    Ok((PipeEnd([p[0]]), PipeEnd([p[1]])))
}

/// systemd's `timespec_store`: µs as a `timespec`; seconds that do not fit
/// `time_t` (32-bit `time_t`: i686, armhf) give `{-1, -1}`, which `ppoll`
/// refuses with `EINVAL`, as libsystemd's does. (Truncated instead, 2^32 s
/// + 0.1 s waited 0.1 s on i686: tests/c/difftest.py, barrier t=4294967296100000.)
// (time_t is i64 on 64-bit targets: the test never holds there; the libc
// crate marks musl's time_t deprecated, as it will change it on 32-bit musl,
// with its timespec: the two stay the same type)
#[allow(clippy::unnecessary_cast, deprecated)]
fn timespec_store(usec: u64) -> libc::timespec {
    let secs = usec / 1_000_000;
    if secs >= libc::time_t::MAX as u64 {
        return libc::timespec { tv_sec: -1, tv_nsec: -1 };
    }
    libc::timespec { tv_sec: secs as libc::time_t, tv_nsec: ((usec % 1_000_000) * 1000) as _ }
}

/// Wait (µs; `u64::MAX` = forever) for the peer to close its copy of the
/// pipe (POLLHUP). Timeout: `ETIMEDOUT`.
pub(crate) fn wait_hangup(rd: &PipeEnd, timeout_usec: u64) -> Result<bool> {
    let mut pfd = libc::pollfd { fd: rd.0[0], events: 0, revents: 0 };
    let deadline = (timeout_usec != u64::MAX).then(|| timespec_store(timeout_usec));
    let r = super::ppoll_one(&mut pfd, deadline)?;
    if r == 0 {
        return Err(Errno(libc::ETIMEDOUT));
    }
    if pfd.revents & libc::POLLNVAL != 0 {
        return Err(Errno::EBADF);
    }
    Ok(true)
}

// ---- The primitives of `sd_is_*` (crate::check) ----

pub(crate) const AF_INET: c_int = libc::AF_INET;
pub(crate) const AF_INET6: c_int = libc::AF_INET6;
pub(crate) const AF_UNIX: c_int = libc::AF_UNIX;

/// A socket number that can name no socket: any negative one.
pub(crate) fn socket_is_invalid(s: RawSocket) -> bool {
    s < 0
}

// (mode_t, dev_t and ino_t are different types on different Unixes)
#[allow(clippy::unnecessary_cast)]
fn file_id(st: &Stat) -> FileId {
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFIFO => FileKind::Fifo,
        libc::S_IFREG => FileKind::Regular,
        libc::S_IFCHR => FileKind::CharDevice,
        libc::S_IFSOCK => FileKind::Socket,
        other => FileKind::Other(other as u32),
    };
    FileId { kind, dev: st.st_dev as u64, ino: st.st_ino as u64, rdev: st.st_rdev as u64 }
}

/// `fstat(fd)`: type and identity.
pub(crate) fn fd_file_id(fd: RawFd) -> Result<FileId> {
    super::fstat(fd).map(|st| file_id(&st))
}

/// `stat(path)`: type and identity.
pub(crate) fn path_file_id(path: &CStr) -> Result<FileId> {
    super::stat_at(path, 0).map(|st| file_id(&st))
}

/// Is the open descriptor `s` a socket? (`fstat`, `S_IFSOCK`.)
pub(crate) fn is_socket_handle(s: RawSocket) -> Result<bool> {
    Ok(fd_file_id(s)?.kind == FileKind::Socket)
}

/// `getsockopt(SOL_SOCKET, opt)` of an `int` option.
fn sockopt_int(s: RawSocket, opt: c_int) -> Result<c_int> {
    let mut v: c_int = 0;
    let mut l = size_of::<c_int>() as libc::socklen_t;
    // SAFETY: v and l are valid out-buffers of the stated size.
    check(unsafe { libc::getsockopt(s, libc::SOL_SOCKET, opt, &mut v as *mut c_int as *mut _, &mut l) })?;
    if l as usize != size_of::<c_int>() {
        return Err(Errno::EINVAL);
    }
    Ok(v)
}

/// The socket's type (`SO_TYPE`).
pub(crate) fn socket_type(s: RawSocket) -> Result<c_int> {
    sockopt_int(s, libc::SO_TYPE)
}

/// Is the socket listening (`SO_ACCEPTCONN`)?
pub(crate) fn is_listening(s: RawSocket) -> Result<bool> {
    Ok(sockopt_int(s, libc::SO_ACCEPTCONN)? != 0)
}

/// `getsockname(s)`; shorter than a family: `EINVAL`.
pub(crate) fn local_addr(s: RawSocket) -> Result<SockAddr> {
    // SAFETY: zeroed storage is valid; l is its size.
    let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
    let mut l = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: as above.
    check(unsafe { libc::getsockname(s, &mut ss as *mut _ as *mut libc::sockaddr, &mut l) })?;
    if (l as usize) < size_of::<libc::sa_family_t>() {
        return Err(Errno::EINVAL);
    }
    let mut bytes = [0u8; SOCKADDR_STORAGE_SIZE];
    // SAFETY: sockaddr_storage is plain old data of at least this size.
    let raw = unsafe { core::slice::from_raw_parts(&ss as *const _ as *const u8, size_of::<libc::sockaddr_storage>()) };
    for (d, s) in bytes.iter_mut().zip(raw) {
        *d = *s;
    }
    Ok(SockAddr { bytes, len: l as usize, family: ss.ss_family as c_int })
}

/// The family of a caller's address (`sd_is_socket_sockaddr`), read as
/// libsystemd reads it: the `sa_family` field of `struct sockaddr` (offset
/// 0 on Linux; after the length byte `sa_len` on macOS and the BSDs).
/// `None`: too short to hold it.
pub(crate) fn sockaddr_family(addr: &[u8]) -> Option<c_int> {
    // SAFETY: only the field's address is taken, on a zeroed value.
    let sa: libc::sockaddr = unsafe { zeroed() };
    let at = (&sa.sa_family as *const _ as usize) - (&sa as *const _ as usize);
    let b = addr.get(at..at.checked_add(size_of::<libc::sa_family_t>())?)?;
    // SAFETY: `b` holds exactly one sa_family_t; unaligned read of POD.
    Some(unsafe { core::ptr::read_unaligned(b.as_ptr() as *const libc::sa_family_t) } as c_int)
}

/// Offset of `sun_path` in `struct sockaddr_un`.
pub(crate) fn sun_path_offset() -> usize {
    // SAFETY: only the field's address is taken, on a zeroed value.
    let un: libc::sockaddr_un = unsafe { zeroed() };
    (&un.sun_path as *const _ as usize) - (&un as *const _ as usize)
}

/// The peer's uid and gid of a Unix stream socket (`crate::handoff` off
/// Linux): libc's `getpeereid` on macOS and the BSDs.
#[cfg(not(any(any(target_os = "linux", target_os = "android"), target_os = "illumos", target_os = "solaris")))]
pub(crate) use libc::getpeereid;

/// illumos and Solaris have no `getpeereid`: `getpeerucred`, as their
/// libc's own compatibility code does.
///
/// # Safety
/// `uid` and `gid` must be writable.
#[cfg(any(target_os = "illumos", target_os = "solaris"))]
pub(crate) unsafe fn getpeereid(s: RawFd, uid: *mut libc::uid_t, gid: *mut libc::gid_t) -> c_int {
    let mut uc: *mut libc::ucred_t = core::ptr::null_mut();
    if libc::getpeerucred(s, &mut uc) < 0 {
        return -1;
    }
    *uid = libc::ucred_geteuid(uc);
    *gid = libc::ucred_getegid(uc);
    libc::ucred_free(uc);
    0
}

/// Is `fd` (open) a POSIX message queue? `mq_getattr`, `EBADF` meaning no.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn is_mq_handle(fd: RawFd) -> Result<bool> {
    match super::mq_getattr(fd) {
        Ok(_) => Ok(true),
        Err(Errno::EBADF) => Ok(false),
        Err(e) => Err(e),
    }
}

/// macOS has no POSIX message queue descriptors (no `mq_open` in
/// libSystem, no mqueue file system): no open descriptor is one.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn is_mq_handle(_fd: RawFd) -> Result<bool> {
    Ok(false)
}

// ---- Directory-relative file calls of the hand-off's offer (crate::handoff) ----

/// `fstatat(dir, name, flags)`.
#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls))))]
pub(crate) fn stat_in(dir: RawFd, name: &CStr, flags: c_int) -> Result<libc::stat> {
    let mut st = core::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `name` is NUL-terminated; `st` as in fstat.
    check(unsafe { libc::fstatat(dir, name.as_ptr(), st.as_mut_ptr(), flags) })?;
    // SAFETY: filled in by the successful call.
    Ok(unsafe { st.assume_init() })
}

/// `openat(dir, name, flags)` (no `O_CREAT`): the new descriptor.
#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls))))]
pub(crate) fn open_in(dir: RawFd, name: &CStr, flags: c_int) -> Result<c_int> {
    // SAFETY: `name` is NUL-terminated.
    check(unsafe { libc::openat(dir, name.as_ptr(), flags) })
}

/// `mkdirat(dir, name, mode)`.
#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls))))]
pub(crate) fn mkdir_in(dir: RawFd, name: &CStr, mode: libc::mode_t) -> Result<()> {
    // SAFETY: `name` is NUL-terminated.
    check(unsafe { libc::mkdirat(dir, name.as_ptr(), mode) }).map(drop)
}

/// `unlinkat(dir, name, flags)`.
#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls))))]
pub(crate) fn unlink_in(dir: RawFd, name: &CStr, flags: c_int) -> Result<()> {
    // SAFETY: `name` is NUL-terminated.
    check(unsafe { libc::unlinkat(dir, name.as_ptr(), flags) }).map(drop)
}

/// `fchmodat(dir, name, mode, 0)`.
#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls))))]
pub(crate) fn chmod_in(dir: RawFd, name: &CStr, mode: libc::mode_t) -> Result<()> {
    // SAFETY: `name` is NUL-terminated.
    check(unsafe { libc::fchmodat(dir, name.as_ptr(), mode, 0) }).map(drop)
}

/// `linkat(from_dir, from, to_dir, to, 0)`.
#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls))))]
pub(crate) fn link_in(from_dir: RawFd, from: &CStr, to_dir: RawFd, to: &CStr) -> Result<()> {
    // SAFETY: both names are NUL-terminated.
    check(unsafe { libc::linkat(from_dir, from.as_ptr(), to_dir, to.as_ptr(), 0) }).map(drop)
}
