//! Descriptor classification (`sd_is_fifo`, `sd_is_special`, `sd_is_socket*`,
//! `sd_is_mq`), with libsystemd 252's checks in libsystemd 252's order, once
//! for every platform: the OS is asked only through the small primitives of
//! `crate::sys` (`fd_file_id`, `is_socket_handle`, `socket_type`,
//! `is_listening`, `local_addr` ...).
//!
//! Every function answers `Ok(true)` / `Ok(false)` or the errno libsystemd
//! returns. `listening` is `None` for "don't care", like a negative C value.
//!
//! Windows: the socket checks take Winsock `SOCKET` handles ([`RawSocket`]);
//! `INVALID_SOCKET` is `EBADF` (the counterpart of a negative fd), a handle
//! that is not open at all `EBADF`, an open handle that is not a socket
//! "no"; families and address layouts are Winsock's. `is_fifo`,
//! `is_special` and `is_mq` take C runtime descriptors, which have no
//! counterpart there: `EBADF` for a negative one, else `ENOSYS`. A family
//! other than IPv4/IPv6 in `is_socket_sockaddr` is `EAFNOSUPPORT` there
//! (the CRT has no `EPFNOSUPPORT`).

use core::ffi::{c_int, CStr};

use crate::errno::{Errno, Result};
use crate::fd::{RawFd, RawSocket};
use crate::sys::{self, FileId, FileKind, SockAddr, AF_INET, AF_INET6, AF_UNIX};

/// `sizeof(struct sockaddr_in)` and `sizeof(struct sockaddr_in6)`: the same
/// on Linux, the BSDs, macOS and Windows, as are the offsets below.
const SOCKADDR_IN_SIZE: usize = 16;
const SOCKADDR_IN6_SIZE: usize = 28;
/// `sin_port` / `sin6_port` (network byte order).
const PORT: core::ops::Range<usize> = 2..4;
/// `sin_addr`.
const IN_ADDR: core::ops::Range<usize> = 4..8;
/// `sin6_flowinfo`, `sin6_addr`, `sin6_scope_id`.
const IN6_FLOWINFO: core::ops::Range<usize> = 4..8;
const IN6_ADDR: core::ops::Range<usize> = 8..24;
const IN6_SCOPE_ID: core::ops::Range<usize> = 24..28;

/// `stat(path)`, where "does not exist" is an answer (`None`), not an error.
fn stat_existing(path: &CStr) -> Result<Option<FileId>> {
    match sys::path_file_id(path) {
        Ok(st) => Ok(Some(st)),
        Err(e) if e.0 == libc::ENOENT || e.0 == libc::ENOTDIR => Ok(None),
        Err(e) => Err(e),
    }
}

fn same_inode(a: &FileId, b: &FileId) -> bool {
    a.dev == b.dev && a.ino == b.ino
}

fn check_fd(fd: RawFd) -> Result<()> {
    if fd < 0 {
        Err(Errno::EBADF)
    } else {
        Ok(())
    }
}

fn check_socket(s: RawSocket) -> Result<()> {
    if sys::socket_is_invalid(s) {
        Err(Errno::EBADF)
    } else {
        Ok(())
    }
}

/// Is `fd` a FIFO (and, with `path`, the FIFO at that path)?
pub fn is_fifo(fd: RawFd, path: Option<&CStr>) -> Result<bool> {
    check_fd(fd)?;
    let st = sys::fd_file_id(fd)?;
    if st.kind != FileKind::Fifo {
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
    let st = sys::fd_file_id(fd)?;
    if st.kind != FileKind::Regular && st.kind != FileKind::CharDevice {
        return Ok(false);
    }
    let Some(p) = path else { return Ok(true) };
    let Some(sp) = stat_existing(p)? else {
        return Ok(false);
    };
    Ok(match (st.kind, sp.kind) {
        (FileKind::Regular, FileKind::Regular) => same_inode(&sp, &st),
        (FileKind::CharDevice, FileKind::CharDevice) => sp.rdev == st.rdev,
        _ => false,
    })
}

/// libsystemd's `sd_is_socket_internal`: socket? of `type_` (0 = any)?
/// listening state as asked?
fn is_socket_internal(s: RawSocket, type_: c_int, listening: Option<bool>) -> Result<bool> {
    check_socket(s)?;
    if type_ < 0 {
        return Err(Errno::EINVAL);
    }
    if !sys::is_socket_handle(s)? {
        return Ok(false);
    }
    if type_ != 0 && sys::socket_type(s)? != type_ {
        return Ok(false);
    }
    if let Some(want) = listening {
        if sys::is_listening(s)? != want {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Bytes `r` of a socket address (empty when out of range, which the
/// callers' length checks rule out).
fn field(b: &[u8], r: core::ops::Range<usize>) -> &[u8] {
    b.get(r).unwrap_or_default()
}

/// Is `s` a socket of `family` (0 = any), `type_` (0 = any), in the asked
/// listening state?
pub fn is_socket(s: RawSocket, family: c_int, type_: c_int, listening: Option<bool>) -> Result<bool> {
    check_socket(s)?;
    if family < 0 {
        return Err(Errno::EINVAL);
    }
    if !is_socket_internal(s, type_, listening)? {
        return Ok(false);
    }
    if family > 0 {
        return Ok(sys::local_addr(s)?.family == family);
    }
    Ok(true)
}

/// Is `s` an `AF_INET`/`AF_INET6` socket (of `family` if non-zero) bound to
/// `port` (if non-zero)?
pub fn is_socket_inet(s: RawSocket, family: c_int, type_: c_int, listening: Option<bool>, port: u16) -> Result<bool> {
    check_socket(s)?;
    if family != 0 && family != AF_INET && family != AF_INET6 {
        return Err(Errno::EINVAL);
    }
    if !is_socket_internal(s, type_, listening)? {
        return Ok(false);
    }
    let a = sys::local_addr(s)?;
    if a.family != AF_INET && a.family != AF_INET6 {
        return Ok(false);
    }
    if family != 0 && a.family != family {
        return Ok(false);
    }
    if port > 0 {
        return Ok(field(&a.bytes, PORT) == port.to_be_bytes());
    }
    Ok(true)
}

/// Is `s` an IP socket bound to the address in `addr` (raw `struct
/// sockaddr` bytes; port, flow info and scope 0 match anything)?
/// `None` stands for a NULL address (`EINVAL`).
pub fn is_socket_sockaddr(s: RawSocket, type_: c_int, addr: Option<&[u8]>, listening: Option<bool>) -> Result<bool> {
    check_socket(s)?;
    let addr = addr.ok_or(Errno::EINVAL)?;
    let want_family = sys::sockaddr_family(addr).ok_or(Errno::ENOBUFS)?;
    if want_family != AF_INET && want_family != AF_INET6 {
        return Err(Errno::EPFNOSUPPORT);
    }
    if !is_socket_internal(s, type_, listening)? {
        return Ok(false);
    }
    let a = sys::local_addr(s)?;
    if a.family != want_family {
        return Ok(false);
    }
    let have = &a.bytes[..];
    let zero = |r: core::ops::Range<usize>| field(addr, r).iter().all(|&b| b == 0);
    let same = |r: core::ops::Range<usize>| field(addr, r.clone()) == field(have, r);
    let size = if want_family == AF_INET { SOCKADDR_IN_SIZE } else { SOCKADDR_IN6_SIZE };
    if a.len < size || addr.len() < size {
        return Err(Errno::EINVAL);
    }
    if !zero(PORT) && !same(PORT) {
        return Ok(false);
    }
    if want_family == AF_INET {
        return Ok(same(IN_ADDR));
    }
    if !zero(IN6_FLOWINFO) && !same(IN6_FLOWINFO) {
        return Ok(false);
    }
    if !zero(IN6_SCOPE_ID) && !same(IN6_SCOPE_ID) {
        return Ok(false);
    }
    Ok(same(IN6_ADDR))
}

/// Is `s` an `AF_UNIX` socket, optionally with the given name?
///
/// `path`: `None` matches any name. `Some(b"")` matches an unnamed socket.
/// A name starting with NUL is an abstract name, matched exactly. A
/// filesystem name is given **with its terminating NUL** (`b"/run/x\0"`) and
/// matches when the socket's path starts with those bytes — libsystemd's
/// comparison of `length + 1` bytes, which the C layer reproduces by passing
/// the caller's buffer up to and including byte `length`.
pub fn is_socket_unix(s: RawSocket, type_: c_int, listening: Option<bool>, path: Option<&[u8]>) -> Result<bool> {
    check_socket(s)?;
    if !is_socket_internal(s, type_, listening)? {
        return Ok(false);
    }
    let a: SockAddr = sys::local_addr(s)?;
    if a.family != AF_UNIX {
        return Ok(false);
    }
    let Some(path) = path else { return Ok(true) };
    let base = sys::sun_path_offset();
    let sun_path = a.bytes.get(base..).unwrap_or_default();
    // (checked: a name too long to add up cannot match, and cannot panic)
    let want = base.checked_add(path.len());
    Ok(match path.first() {
        None => a.len == base,
        Some(0) => Some(a.len) == want && sun_path.get(..path.len()) == Some(path),
        Some(_) => want.is_some_and(|w| a.len >= w) && sun_path.get(..path.len()) == Some(path),
    })
}

/// Is `fd` a POSIX message queue (and, with `path`, the queue `/dev/mqueue` +
/// `path`)? `path` must be absolute.
///
/// macOS has no POSIX message queue descriptors: every valid descriptor is
/// "not a message queue" there, whatever `path` is (libsystemd also answers
/// 0 before looking at the path when `mq_getattr` says the fd is not a
/// queue). Windows: `EBADF` for a negative descriptor, else `ENOSYS`.
pub fn is_mq(fd: RawFd, path: Option<&CStr>) -> Result<bool> {
    // libsystemd validates with fcntl(F_GETFD), not fd >= 0.
    sys::get_fd_flags(fd)?;
    if !sys::is_mq_handle(fd)? {
        return Ok(false);
    }
    let Some(path) = path else { return Ok(true) };
    let p = path.to_bytes();
    if p.first() != Some(&b'/') {
        return Err(Errno::EINVAL);
    }
    let st = sys::fd_file_id(fd)?;
    // "/dev/mqueue" + path, NUL-terminated. The kernel refuses any path of
    // PATH_MAX bytes or more with ENAMETOOLONG, so a longer one needs no call.
    // (Linux's PATH_MAX: only Linux and Android have queue descriptors.)
    const DIR: &[u8] = b"/dev/mqueue";
    const PATH_MAX: usize = 4096;
    let mut buf = [0u8; PATH_MAX];
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
    let sp = sys::path_file_id(unsafe { CStr::from_bytes_with_nul_unchecked(path) })?;
    Ok(st.kind != FileKind::Other(0) && st.kind == sp.kind && same_inode(&st, &sp))
}
