//! `sd_is_*` on Windows, over Winsock `SOCKET` handles.
//!
//! The socket checks follow the Unix module's order and answers, with
//! Winsock in place of `fstat`/`getsockopt`/`getsockname`:
//! * `INVALID_SOCKET` is `EBADF` (the counterpart of a negative fd); a
//!   handle that is not open at all is `EBADF`; an open handle that is not
//!   a socket is "no" (`Ok(false)`).
//! * `type_` is compared with `SO_TYPE`, listening with `SO_ACCEPTCONN`
//!   (a socket type without that option, such as UDP, is not listening).
//! * The family comes from `getsockname`, or for a socket not bound yet
//!   from its protocol info (the address is then all zeros, as Linux
//!   reports it). Families and address layouts are Winsock's (`AF_INET6`
//!   is 23, `SOCKADDR_IN6`), i.e. what a Windows C program passes.
//!
//! `is_fifo`, `is_special` and `is_mq` take C runtime descriptors and have
//! no Windows counterpart here: a negative descriptor is `EBADF` (as on
//! Unix), any other is `ENOSYS`.

use core::ffi::{c_int, CStr};
use core::mem::{size_of, zeroed};

use windows_sys::Win32::Foundation::GetHandleInformation;
use windows_sys::Win32::Networking::WinSock as ws;

use crate::errno::{Errno, Result};
use crate::fd::{RawFd, RawSocket};
use crate::sys::windows as wsa;

fn not_supported(fd: RawFd) -> Result<bool> {
    if fd < 0 {
        Err(Errno::EBADF)
    } else {
        Err(Errno::ENOSYS)
    }
}

/// Windows: `EBADF` for a negative descriptor, else `ENOSYS`.
pub fn is_fifo(fd: RawFd, _path: Option<&CStr>) -> Result<bool> {
    not_supported(fd)
}

/// Windows: `EBADF` for a negative descriptor, else `ENOSYS`.
pub fn is_special(fd: RawFd, _path: Option<&CStr>) -> Result<bool> {
    not_supported(fd)
}

/// Windows has no POSIX message queues: `EBADF` for a negative
/// descriptor, else `ENOSYS`.
pub fn is_mq(fd: RawFd, _path: Option<&CStr>) -> Result<bool> {
    not_supported(fd)
}

fn check_fd(s: RawSocket) -> Result<()> {
    if s == ws::INVALID_SOCKET {
        Err(Errno::EBADF)
    } else {
        Ok(())
    }
}

/// `getsockopt(SOL_SOCKET, opt)` into a `T` of exactly its size.
fn sockopt<T: Copy>(s: RawSocket, opt: c_int) -> Result<T> {
    // SAFETY: T is a plain value type, used as the out-buffer of its size.
    let mut v: T = unsafe { zeroed() };
    let mut l = size_of::<T>() as i32;
    if unsafe { ws::getsockopt(s, ws::SOL_SOCKET, opt, &mut v as *mut T as *mut u8, &mut l) } != 0 {
        return Err(wsa::last());
    }
    if l as usize != size_of::<T>() {
        return Err(Errno::EINVAL);
    }
    Ok(v)
}

/// Is the handle open at all?
fn handle_open(s: RawSocket) -> bool {
    let mut flags = 0u32;
    // SAFETY: any handle value may be queried.
    unsafe { GetHandleInformation(s as _, &mut flags) != 0 }
}

/// Socket? of `type_` (0 = any)? listening state as asked?
fn is_socket_internal(s: RawSocket, type_: c_int, listening: Option<bool>) -> Result<bool> {
    check_fd(s)?;
    if type_ < 0 {
        return Err(Errno::EINVAL);
    }
    wsa::startup()?;
    let ty = match sockopt::<c_int>(s, ws::SO_TYPE) {
        Ok(t) => t,
        Err(e) if e.0 == libc::ENOTSOCK => {
            return if handle_open(s) { Ok(false) } else { Err(Errno::EBADF) };
        }
        Err(e) => return Err(e),
    };
    if type_ != 0 && ty != type_ {
        return Ok(false);
    }
    if let Some(want) = listening {
        let on = match sockopt::<c_int>(s, ws::SO_ACCEPTCONN) {
            Ok(v) => v != 0,
            Err(e) if e.0 == libc::ENOPROTOOPT || e.0 == libc::EINVAL => false,
            Err(e) => return Err(e),
        };
        if on != want {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A socket's own address, with its length.
struct LocalAddr {
    ss: ws::SOCKADDR_STORAGE,
    len: usize,
}

impl LocalAddr {
    fn of(s: RawSocket) -> Result<LocalAddr> {
        // SAFETY: zeroed storage is valid; l is its size.
        let mut ss: ws::SOCKADDR_STORAGE = unsafe { zeroed() };
        let mut l = size_of::<ws::SOCKADDR_STORAGE>() as i32;
        if unsafe { ws::getsockname(s, &mut ss as *mut _ as *mut ws::SOCKADDR, &mut l) } != 0 {
            // SAFETY: no preconditions.
            if unsafe { ws::WSAGetLastError() } != ws::WSAEINVAL {
                return Err(wsa::last());
            }
            // Not bound yet: the family from the protocol info, no address.
            let info: ws::WSAPROTOCOL_INFOW = sockopt(s, ws::SO_PROTOCOL_INFOW)?;
            // SAFETY: as above.
            let mut ss: ws::SOCKADDR_STORAGE = unsafe { zeroed() };
            ss.ss_family = info.iAddressFamily as u16;
            let len = match info.iAddressFamily as u16 {
                ws::AF_INET => size_of::<ws::SOCKADDR_IN>(),
                ws::AF_INET6 => size_of::<ws::SOCKADDR_IN6>(),
                _ => size_of::<u16>(),
            };
            return Ok(LocalAddr { ss, len });
        }
        if (l as usize) < size_of::<u16>() {
            return Err(Errno::EINVAL);
        }
        Ok(LocalAddr { ss, len: l as usize })
    }

    fn family(&self) -> c_int {
        self.ss.ss_family as c_int
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: plain old data of this size.
        unsafe { core::slice::from_raw_parts(&self.ss as *const _ as *const u8, size_of::<ws::SOCKADDR_STORAGE>()) }
    }

    fn as_in(&self) -> ws::SOCKADDR_IN {
        // SAFETY: storage is larger than and aligned for SOCKADDR_IN.
        unsafe { *(&self.ss as *const _ as *const ws::SOCKADDR_IN) }
    }

    fn as_in6(&self) -> ws::SOCKADDR_IN6 {
        // SAFETY: as above.
        unsafe { *(&self.ss as *const _ as *const ws::SOCKADDR_IN6) }
    }
}

const AF_INET: c_int = ws::AF_INET as c_int;
const AF_INET6: c_int = ws::AF_INET6 as c_int;
const AF_UNIX: c_int = ws::AF_UNIX as c_int;

/// Is `s` a socket of `family` (0 = any), `type_` (0 = any), in the asked
/// listening state?
pub fn is_socket(s: RawSocket, family: c_int, type_: c_int, listening: Option<bool>) -> Result<bool> {
    check_fd(s)?;
    if family < 0 {
        return Err(Errno::EINVAL);
    }
    if !is_socket_internal(s, type_, listening)? {
        return Ok(false);
    }
    if family > 0 {
        return Ok(LocalAddr::of(s)?.family() == family);
    }
    Ok(true)
}

/// Is `s` an `AF_INET`/`AF_INET6` socket (of `family` if non-zero) bound to
/// `port` (if non-zero)?
pub fn is_socket_inet(s: RawSocket, family: c_int, type_: c_int, listening: Option<bool>, port: u16) -> Result<bool> {
    check_fd(s)?;
    if !matches!(family, 0 | AF_INET | AF_INET6) {
        return Err(Errno::EINVAL);
    }
    if !is_socket_internal(s, type_, listening)? {
        return Ok(false);
    }
    let a = LocalAddr::of(s)?;
    let f = a.family();
    if f != AF_INET && f != AF_INET6 {
        return Ok(false);
    }
    if family != 0 && f != family {
        return Ok(false);
    }
    if port > 0 {
        let sa_port = if f == AF_INET { a.as_in().sin_port } else { a.as_in6().sin6_port };
        return Ok(u16::from_be(sa_port) == port);
    }
    Ok(true)
}

fn read_at<T: Copy>(b: &[u8], off: usize) -> T {
    debug_assert!(off + size_of::<T>() <= b.len());
    // SAFETY: callers check the length first; unaligned read of POD.
    unsafe { core::ptr::read_unaligned(b.as_ptr().add(off) as *const T) }
}

/// Is `s` an IP socket bound to the address in `addr` (raw `SOCKADDR`
/// bytes; port, flow info and scope 0 match anything)? `None`: `EINVAL`.
/// A family other than IPv4/IPv6 is `EAFNOSUPPORT` (the CRT has no
/// `EPFNOSUPPORT`).
pub fn is_socket_sockaddr(s: RawSocket, type_: c_int, addr: Option<&[u8]>, listening: Option<bool>) -> Result<bool> {
    check_fd(s)?;
    let addr = addr.ok_or(Errno::EINVAL)?;
    if addr.len() < size_of::<u16>() {
        return Err(Errno::ENOBUFS);
    }
    let want_family = read_at::<u16>(addr, 0) as c_int;
    if want_family != AF_INET && want_family != AF_INET6 {
        return Err(Errno::EPFNOSUPPORT);
    }
    if !is_socket_internal(s, type_, listening)? {
        return Ok(false);
    }
    let a = LocalAddr::of(s)?;
    if a.family() != want_family {
        return Ok(false);
    }
    if want_family == AF_INET {
        if a.len < size_of::<ws::SOCKADDR_IN>() || addr.len() < size_of::<ws::SOCKADDR_IN>() {
            return Err(Errno::EINVAL);
        }
        let want: ws::SOCKADDR_IN = read_at(addr, 0);
        let have = a.as_in();
        if want.sin_port != 0 && have.sin_port != want.sin_port {
            return Ok(false);
        }
        // SAFETY: reading the u32 view of IN_ADDR.
        Ok(unsafe { have.sin_addr.S_un.S_addr == want.sin_addr.S_un.S_addr })
    } else {
        if a.len < size_of::<ws::SOCKADDR_IN6>() || addr.len() < size_of::<ws::SOCKADDR_IN6>() {
            return Err(Errno::EINVAL);
        }
        let want: ws::SOCKADDR_IN6 = read_at(addr, 0);
        let have = a.as_in6();
        if want.sin6_port != 0 && have.sin6_port != want.sin6_port {
            return Ok(false);
        }
        if want.sin6_flowinfo != 0 && have.sin6_flowinfo != want.sin6_flowinfo {
            return Ok(false);
        }
        // SAFETY: reading the u32 views of the scope and the address bytes.
        unsafe {
            if want.Anonymous.sin6_scope_id != 0 && have.Anonymous.sin6_scope_id != want.Anonymous.sin6_scope_id {
                return Ok(false);
            }
            Ok(have.sin6_addr.u.Byte == want.sin6_addr.u.Byte)
        }
    }
}

/// Is `s` an `AF_UNIX` socket (Windows 10 1803+), optionally with the
/// given name? Same name rules as on Unix (`sun_path` at offset 2).
pub fn is_socket_unix(s: RawSocket, type_: c_int, listening: Option<bool>, path: Option<&[u8]>) -> Result<bool> {
    check_fd(s)?;
    if !is_socket_internal(s, type_, listening)? {
        return Ok(false);
    }
    let a = LocalAddr::of(s)?;
    if a.family() != AF_UNIX {
        return Ok(false);
    }
    let Some(path) = path else { return Ok(true) };
    let base = size_of::<u16>();
    let sun_path = &a.bytes()[base..];
    Ok(match path.first() {
        None => a.len == base,
        Some(0) => a.len == base + path.len() && sun_path.get(..path.len()) == Some(path),
        Some(_) => a.len >= base + path.len() && sun_path.get(..path.len()) == Some(path),
    })
}
