//! Descriptor classification (`sd_is_fifo`, `sd_is_special`, `sd_is_socket*`,
//! `sd_is_mq`), with libsystemd 252's checks in libsystemd 252's order.
//!
//! Every function answers `Ok(true)` / `Ok(false)` or the errno libsystemd
//! returns. `listening` is `None` for "don't care", like a negative C value.

use core::ffi::{c_int, CStr};
use core::mem::{size_of, zeroed};

use crate::errno::{Errno, Result};
use crate::fd::RawFd;

#[cfg(any(target_os = "linux", target_os = "android"))]
use crate::sys::{fstat, stat_at};

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn fstat(fd: RawFd) -> Result<libc::stat> {
    // SAFETY: zeroed stat is a valid out-buffer.
    let mut st: libc::stat = unsafe { zeroed() };
    // SAFETY: as above.
    if unsafe { libc::fstat(fd, &mut st) } < 0 {
        return Err(Errno::last());
    }
    Ok(st)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn stat_at(path: &CStr, flags: c_int) -> Result<libc::stat> {
    // SAFETY: as in fstat; path is NUL-terminated.
    let mut st: libc::stat = unsafe { zeroed() };
    if unsafe { libc::fstatat(libc::AT_FDCWD, path.as_ptr(), &mut st, flags) } < 0 {
        return Err(Errno::last());
    }
    Ok(st)
}

/// `stat(path)`, where "does not exist" is an answer (`None`), not an error.
fn stat_existing(path: &CStr) -> Result<Option<libc::stat>> {
    match stat_at(path, 0) {
        Ok(st) => Ok(Some(st)),
        Err(e) if e.0 == libc::ENOENT || e.0 == libc::ENOTDIR => Ok(None),
        Err(e) => Err(e),
    }
}

fn file_type(st: &libc::stat) -> libc::mode_t {
    st.st_mode & libc::S_IFMT
}

fn same_inode(a: &libc::stat, b: &libc::stat) -> bool {
    a.st_dev == b.st_dev && a.st_ino == b.st_ino
}

fn check_fd(fd: RawFd) -> Result<()> {
    if fd < 0 {
        Err(Errno::EBADF)
    } else {
        Ok(())
    }
}

/// Is `fd` a FIFO (and, with `path`, the FIFO at that path)?
pub fn is_fifo(fd: RawFd, path: Option<&CStr>) -> Result<bool> {
    check_fd(fd)?;
    let st = fstat(fd)?;
    if file_type(&st) != libc::S_IFIFO {
        return Ok(false);
    }
    match path {
        None => Ok(true),
        Some(p) => Ok(stat_existing(p)?.is_some_and(|sp| same_inode(&sp, &st))),
    }
}

/// Is `fd` a regular file or character device (and, with `path`, that one)?
pub fn is_special(fd: RawFd, path: Option<&CStr>) -> Result<bool> {
    check_fd(fd)?;
    let st = fstat(fd)?;
    let t = file_type(&st);
    if t != libc::S_IFREG && t != libc::S_IFCHR {
        return Ok(false);
    }
    let Some(p) = path else { return Ok(true) };
    let Some(sp) = stat_existing(p)? else {
        return Ok(false);
    };
    Ok(match (t, file_type(&sp)) {
        (libc::S_IFREG, libc::S_IFREG) => same_inode(&sp, &st),
        (libc::S_IFCHR, libc::S_IFCHR) => sp.st_rdev == st.st_rdev,
        _ => false,
    })
}

fn sockopt_int(fd: RawFd, opt: c_int) -> Result<c_int> {
    let mut v: c_int = 0;
    let mut l = size_of::<c_int>() as libc::socklen_t;
    // SAFETY: v and l are valid out-buffers of the stated size.
    if unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, opt, &mut v as *mut c_int as *mut _, &mut l) } < 0 {
        return Err(Errno::last());
    }
    if l as usize != size_of::<c_int>() {
        return Err(Errno::EINVAL);
    }
    Ok(v)
}

/// libsystemd's `sd_is_socket_internal`: socket? of `type_` (0 = any)?
/// listening state as asked?
fn is_socket_internal(fd: RawFd, type_: c_int, listening: Option<bool>) -> Result<bool> {
    check_fd(fd)?;
    if type_ < 0 {
        return Err(Errno::EINVAL);
    }
    let st = fstat(fd)?;
    if file_type(&st) != libc::S_IFSOCK {
        return Ok(false);
    }
    if type_ != 0 && sockopt_int(fd, libc::SO_TYPE)? != type_ {
        return Ok(false);
    }
    if let Some(want) = listening {
        if (sockopt_int(fd, libc::SO_ACCEPTCONN)? != 0) != want {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A socket's own address as `getsockname` reports it, with its length.
struct LocalAddr {
    ss: libc::sockaddr_storage,
    len: usize,
}

impl LocalAddr {
    fn of(fd: RawFd) -> Result<LocalAddr> {
        // SAFETY: zeroed storage is valid; l is its size.
        let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
        let mut l = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        if unsafe { libc::getsockname(fd, &mut ss as *mut _ as *mut libc::sockaddr, &mut l) } < 0 {
            return Err(Errno::last());
        }
        if (l as usize) < size_of::<libc::sa_family_t>() {
            return Err(Errno::EINVAL);
        }
        Ok(LocalAddr { ss, len: l as usize })
    }

    fn family(&self) -> c_int {
        self.ss.ss_family as c_int
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: the storage is plain old data of this size.
        unsafe {
            core::slice::from_raw_parts(&self.ss as *const _ as *const u8, size_of::<libc::sockaddr_storage>())
        }
    }

    fn as_in(&self) -> libc::sockaddr_in {
        // SAFETY: storage is larger than and aligned for sockaddr_in.
        unsafe { *(&self.ss as *const _ as *const libc::sockaddr_in) }
    }

    fn as_in6(&self) -> libc::sockaddr_in6 {
        // SAFETY: as above.
        unsafe { *(&self.ss as *const _ as *const libc::sockaddr_in6) }
    }
}

/// Is `fd` a socket of `family` (0 = any), `type_` (0 = any), in the asked
/// listening state?
pub fn is_socket(fd: RawFd, family: c_int, type_: c_int, listening: Option<bool>) -> Result<bool> {
    check_fd(fd)?;
    if family < 0 {
        return Err(Errno::EINVAL);
    }
    if !is_socket_internal(fd, type_, listening)? {
        return Ok(false);
    }
    if family > 0 {
        return Ok(LocalAddr::of(fd)?.family() == family);
    }
    Ok(true)
}

/// Is `fd` an `AF_INET`/`AF_INET6` socket (of `family` if non-zero) bound to
/// `port` (if non-zero)?
pub fn is_socket_inet(fd: RawFd, family: c_int, type_: c_int, listening: Option<bool>, port: u16) -> Result<bool> {
    check_fd(fd)?;
    if !matches!(family, 0 | libc::AF_INET | libc::AF_INET6) {
        return Err(Errno::EINVAL);
    }
    if !is_socket_internal(fd, type_, listening)? {
        return Ok(false);
    }
    let a = LocalAddr::of(fd)?;
    let f = a.family();
    if f != libc::AF_INET && f != libc::AF_INET6 {
        return Ok(false);
    }
    if family != 0 && f != family {
        return Ok(false);
    }
    if port > 0 {
        let sa_port = if f == libc::AF_INET { a.as_in().sin_port } else { a.as_in6().sin6_port };
        return Ok(u16::from_be(sa_port) == port);
    }
    Ok(true)
}

fn read_at<T: Copy>(b: &[u8], off: usize) -> T {
    debug_assert!(off + size_of::<T>() <= b.len());
    // SAFETY: callers check the length first; unaligned read of POD.
    unsafe { core::ptr::read_unaligned(b.as_ptr().add(off) as *const T) }
}

/// Is `fd` an IP socket bound to the address in `addr` (raw `struct
/// sockaddr` bytes; port, flow info and scope 0 match anything)?
/// `None` stands for a NULL address (`EINVAL`).
pub fn is_socket_sockaddr(fd: RawFd, type_: c_int, addr: Option<&[u8]>, listening: Option<bool>) -> Result<bool> {
    check_fd(fd)?;
    let addr = addr.ok_or(Errno::EINVAL)?;
    if addr.len() < size_of::<libc::sa_family_t>() {
        return Err(Errno::ENOBUFS);
    }
    let want_family = read_at::<libc::sa_family_t>(addr, 0) as c_int;
    if want_family != libc::AF_INET && want_family != libc::AF_INET6 {
        return Err(Errno::EPFNOSUPPORT);
    }
    if !is_socket_internal(fd, type_, listening)? {
        return Ok(false);
    }
    let a = LocalAddr::of(fd)?;
    if a.family() != want_family {
        return Ok(false);
    }
    if want_family == libc::AF_INET {
        if a.len < size_of::<libc::sockaddr_in>() || addr.len() < size_of::<libc::sockaddr_in>() {
            return Err(Errno::EINVAL);
        }
        let want: libc::sockaddr_in = read_at(addr, 0);
        let have = a.as_in();
        if want.sin_port != 0 && have.sin_port != want.sin_port {
            return Ok(false);
        }
        Ok(have.sin_addr.s_addr == want.sin_addr.s_addr)
    } else {
        if a.len < size_of::<libc::sockaddr_in6>() || addr.len() < size_of::<libc::sockaddr_in6>() {
            return Err(Errno::EINVAL);
        }
        let want: libc::sockaddr_in6 = read_at(addr, 0);
        let have = a.as_in6();
        if want.sin6_port != 0 && have.sin6_port != want.sin6_port {
            return Ok(false);
        }
        if want.sin6_flowinfo != 0 && have.sin6_flowinfo != want.sin6_flowinfo {
            return Ok(false);
        }
        if want.sin6_scope_id != 0 && have.sin6_scope_id != want.sin6_scope_id {
            return Ok(false);
        }
        Ok(have.sin6_addr.s6_addr == want.sin6_addr.s6_addr)
    }
}

/// Is `fd` an `AF_UNIX` socket, optionally with the given name?
///
/// `path`: `None` matches any name. `Some(b"")` matches an unnamed socket.
/// A name starting with NUL is an abstract name, matched exactly. A
/// filesystem name is given **with its terminating NUL** (`b"/run/x\0"`) and
/// matches when the socket's path starts with those bytes — libsystemd's
/// comparison of `length + 1` bytes, which the C layer reproduces by passing
/// the caller's buffer up to and including byte `length`.
pub fn is_socket_unix(fd: RawFd, type_: c_int, listening: Option<bool>, path: Option<&[u8]>) -> Result<bool> {
    check_fd(fd)?;
    if !is_socket_internal(fd, type_, listening)? {
        return Ok(false);
    }
    let a = LocalAddr::of(fd)?;
    if a.family() != libc::AF_UNIX {
        return Ok(false);
    }
    let Some(path) = path else { return Ok(true) };
    let base = sun_path_offset();
    let sun_path = a.bytes().get(base..).unwrap_or_default();
    // (checked: a name too long to add up cannot match, and cannot panic)
    let want = base.checked_add(path.len());
    Ok(match path.first() {
        None => a.len == base,
        Some(0) => Some(a.len) == want && sun_path.get(..path.len()) == Some(path),
        Some(_) => want.is_some_and(|w| a.len >= w) && sun_path.get(..path.len()) == Some(path),
    })
}

fn sun_path_offset() -> usize {
    // SAFETY: only the field's address is taken, on a zeroed value.
    let un: libc::sockaddr_un = unsafe { zeroed() };
    (&un.sun_path as *const _ as usize) - (&un as *const _ as usize)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
use crate::sys::mq_getattr;

/// Is `fd` a POSIX message queue (and, with `path`, the queue `/dev/mqueue` +
/// `path`)? `path` must be absolute.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn is_mq(fd: RawFd, path: Option<&CStr>) -> Result<bool> {
    // libsystemd validates with fcntl(F_GETFD), not fd >= 0.
    // SAFETY: fcntl on any number is safe.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(Errno::last());
    }
    if let Err(e) = mq_getattr(fd) {
        return if e == Errno::EBADF { Ok(false) } else { Err(e) };
    }
    let Some(path) = path else { return Ok(true) };
    let p = path.to_bytes();
    if p.first() != Some(&b'/') {
        return Err(Errno::EINVAL);
    }
    let st = fstat(fd)?;
    // "/dev/mqueue" + path, NUL-terminated. The kernel refuses any path of
    // PATH_MAX bytes or more with ENAMETOOLONG, so a longer one needs no call.
    const DIR: &[u8] = b"/dev/mqueue";
    let mut buf = [0u8; libc::PATH_MAX as usize];
    if p.len() >= buf.len() - DIR.len() {
        return Err(Errno::ENAMETOOLONG);
    }
    for (d, s) in buf.iter_mut().zip(DIR.iter().chain(p)) {
        *d = *s;
    }
    // buf is NUL-terminated (zero-filled past the path).
    let path = buf.get(..=DIR.len() + p.len()).ok_or(Errno::ENAMETOOLONG)?;
    // SAFETY: `path` ends with the NUL byte after the copy (zero-filled, and
    // the length was checked above) and has no NUL before: `p` is a C string.
    let sp = stat_at(unsafe { CStr::from_bytes_with_nul_unchecked(path) }, 0)?;
    Ok(file_type(&st) != 0 && file_type(&st) == file_type(&sp) && same_inode(&st, &sp))
}

/// macOS has no POSIX message queue descriptors (no `mq_open` in libSystem,
/// no mqueue file system): every valid descriptor is "not a message queue".
/// As on Linux, the descriptor is validated with `fcntl(F_GETFD)` first, so
/// a closed or negative fd is `EBADF`; otherwise the answer is `Ok(false)`
/// whatever `path` is (libsystemd also answers 0 before looking at the path
/// when `mq_getattr` says the fd is not a queue).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn is_mq(fd: RawFd, path: Option<&CStr>) -> Result<bool> {
    let _ = path;
    // SAFETY: fcntl on any number is safe.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(Errno::last());
    }
    Ok(false)
}
