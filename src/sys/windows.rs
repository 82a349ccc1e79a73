//! Windows: Winsock plumbing shared by the systemfd backend and the fronts
//! (one-time `WSAStartup`, the mapping of `WSAGetLastError()` codes to the
//! CRT errno values the C API returns as `-errno`), and the primitives of
//! `crate::check` and `crate::notify`.

use core::ffi::{c_int, CStr};
use core::mem::{size_of, zeroed};
use core::sync::atomic::{AtomicI32, Ordering};

use windows_sys::Win32::Networking::WinSock as ws;

use super::{FileId, SockAddr, SOCKADDR_STORAGE_SIZE};
use crate::errno::{Errno, Result};
use crate::fd::{RawFd, RawSocket};

/// 0: not started yet; 1: started; negative: -errno of a failed start.
static STARTED: AtomicI32 = AtomicI32::new(0);

/// Initialise Winsock 2.2 for this process once (the library never calls
/// `WSACleanup`: the reference it holds lives as long as the process).
pub(crate) fn startup() -> Result<()> {
    match STARTED.load(Ordering::Acquire) {
        1 => return Ok(()),
        e if e < 0 => return Err(Errno(-e)),
        _ => {}
    }
    // SAFETY: WSADATA is plain old data; WSAStartup is thread-safe and
    // reference-counted, so a race between two first callers is harmless.
    let mut data: ws::WSADATA = unsafe { core::mem::zeroed() };
    // SAFETY: `data` is a writable WSADATA.
    let r = unsafe { ws::WSAStartup(0x0202, &mut data) };
    let v = if r == 0 { 1 } else { from_wsa(r).negated() };
    STARTED.store(v, Ordering::Release);
    if r == 0 {
        Ok(())
    } else {
        Err(from_wsa(r))
    }
}

/// The calling thread's last Winsock error as an errno.
pub(crate) fn last() -> Errno {
    // SAFETY: no preconditions.
    from_wsa(unsafe { ws::WSAGetLastError() })
}

/// A Winsock error code (`WSAE*`) as the CRT errno of the same meaning;
/// anything without a counterpart is `EIO`.
pub(crate) fn from_wsa(code: i32) -> Errno {
    Errno(match code {
        ws::WSAECONNREFUSED => libc::ECONNREFUSED,
        ws::WSAETIMEDOUT => libc::ETIMEDOUT,
        ws::WSAECONNRESET => libc::ECONNRESET,
        ws::WSAECONNABORTED => libc::ECONNABORTED,
        ws::WSAENETUNREACH => libc::ENETUNREACH,
        ws::WSAEHOSTUNREACH => libc::EHOSTUNREACH,
        ws::WSAENETDOWN | ws::WSASYSNOTREADY | ws::WSAVERNOTSUPPORTED | ws::WSANOTINITIALISED => libc::ENETDOWN,
        ws::WSAEADDRNOTAVAIL => libc::EADDRNOTAVAIL,
        ws::WSAEADDRINUSE => libc::EADDRINUSE,
        ws::WSAEMFILE | ws::WSAEPROCLIM => libc::EMFILE,
        ws::WSAENOBUFS => libc::ENOBUFS,
        ws::WSAEACCES => libc::EACCES,
        ws::WSAENOTSOCK => libc::ENOTSOCK,
        ws::WSAEBADF => libc::EBADF,
        ws::WSAEFAULT => libc::EFAULT,
        ws::WSAEINVAL => libc::EINVAL,
        ws::WSAEAFNOSUPPORT | ws::WSAEPFNOSUPPORT => libc::EAFNOSUPPORT,
        ws::WSAENOPROTOOPT => libc::ENOPROTOOPT,
        ws::WSAEOPNOTSUPP => libc::EOPNOTSUPP,
        ws::WSAEPROTONOSUPPORT | ws::WSAESOCKTNOSUPPORT => libc::EPROTONOSUPPORT,
        ws::WSAENOTCONN => libc::ENOTCONN,
        ws::WSAEINTR => libc::EINTR,
        ws::WSAEWOULDBLOCK => libc::EWOULDBLOCK,
        _ => libc::EIO,
    })
}

// ---- The primitives of `sd_is_*` (crate::check) ----
//
// Winsock `SOCKET` handles in place of descriptors: `SO_TYPE`,
// `SO_ACCEPTCONN` and `getsockname` as on Unix; the families and address
// layouts are Winsock's (`AF_INET6` is 23, `SOCKADDR_IN6`), i.e. what a
// Windows C program passes. `is_fifo`, `is_special` and `is_mq` take C
// runtime descriptors, which have no counterpart here: a negative one is
// `EBADF` (as on Unix), any other `ENOSYS`.

pub(crate) const AF_INET: c_int = ws::AF_INET as c_int;
pub(crate) const AF_INET6: c_int = ws::AF_INET6 as c_int;
pub(crate) const AF_UNIX: c_int = ws::AF_UNIX as c_int;

/// `INVALID_SOCKET` is the one handle that names no socket.
pub(crate) fn socket_is_invalid(s: RawSocket) -> bool {
    s == ws::INVALID_SOCKET
}

fn no_crt_descriptors(fd: RawFd) -> Errno {
    if fd < 0 {
        Errno::EBADF
    } else {
        Errno::ENOSYS
    }
}

/// C runtime descriptors are not examined: `EBADF` when negative, else
/// `ENOSYS`.
pub(crate) fn get_fd_flags(fd: RawFd) -> Result<c_int> {
    Err(no_crt_descriptors(fd))
}

/// Not on Windows: `EBADF` when negative, else `ENOSYS`.
pub(crate) fn fd_file_id(fd: RawFd) -> Result<FileId> {
    Err(no_crt_descriptors(fd))
}

/// Not on Windows: `ENOSYS`.
pub(crate) fn path_file_id(_path: &CStr) -> Result<FileId> {
    Err(Errno::ENOSYS)
}

/// Windows has no POSIX message queues.
pub(crate) fn is_mq_handle(_fd: RawFd) -> Result<bool> {
    Ok(false)
}

/// `getsockopt(SOL_SOCKET, opt)` into a `T` of exactly its size.
fn sockopt<T: Copy>(s: RawSocket, opt: c_int) -> Result<T> {
    // SAFETY: T is a plain value type, used as the out-buffer of its size.
    let mut v: T = unsafe { zeroed() };
    let mut l = size_of::<T>() as i32;
    // SAFETY: as above.
    if unsafe { ws::getsockopt(s, ws::SOL_SOCKET, opt, &mut v as *mut T as *mut u8, &mut l) } != 0 {
        return Err(last());
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
    unsafe { windows_sys::Win32::Foundation::GetHandleInformation(s as _, &mut flags) != 0 }
}

/// Is `s` a socket? (Starts Winsock; `SO_TYPE` answers: an open handle that
/// is not a socket is "no", one that is not open at all `EBADF`.)
pub(crate) fn is_socket_handle(s: RawSocket) -> Result<bool> {
    startup()?;
    match sockopt::<c_int>(s, ws::SO_TYPE) {
        Ok(_) => Ok(true),
        Err(e) if e.0 == libc::ENOTSOCK => {
            if handle_open(s) {
                Ok(false)
            } else {
                Err(Errno::EBADF)
            }
        }
        Err(e) => Err(e),
    }
}

/// The socket's type (`SO_TYPE`).
pub(crate) fn socket_type(s: RawSocket) -> Result<c_int> {
    sockopt::<c_int>(s, ws::SO_TYPE)
}

/// Is the socket listening (`SO_ACCEPTCONN`)? A socket type without that
/// option, such as UDP, is not.
pub(crate) fn is_listening(s: RawSocket) -> Result<bool> {
    match sockopt::<c_int>(s, ws::SO_ACCEPTCONN) {
        Ok(v) => Ok(v != 0),
        Err(e) if e.0 == libc::ENOPROTOOPT || e.0 == libc::EINVAL => Ok(false),
        Err(e) => Err(e),
    }
}

/// `getsockname(s)`, or for a socket not bound yet its family from the
/// protocol info with an all-zero address (as Linux reports it).
pub(crate) fn local_addr(s: RawSocket) -> Result<SockAddr> {
    // SAFETY: zeroed storage is valid; l is its size.
    let mut ss: ws::SOCKADDR_STORAGE = unsafe { zeroed() };
    let mut l = size_of::<ws::SOCKADDR_STORAGE>() as i32;
    let mut bytes = [0u8; SOCKADDR_STORAGE_SIZE];
    // SAFETY: as above.
    if unsafe { ws::getsockname(s, &mut ss as *mut _ as *mut ws::SOCKADDR, &mut l) } != 0 {
        // SAFETY: no preconditions.
        if unsafe { ws::WSAGetLastError() } != ws::WSAEINVAL {
            return Err(last());
        }
        // Not bound yet: the family from the protocol info, no address.
        let info: ws::WSAPROTOCOL_INFOW = sockopt(s, ws::SO_PROTOCOL_INFOW)?;
        let family = info.iAddressFamily as u16;
        let len = match family {
            ws::AF_INET => size_of::<ws::SOCKADDR_IN>(),
            ws::AF_INET6 => size_of::<ws::SOCKADDR_IN6>(),
            _ => size_of::<u16>(),
        };
        bytes[..2].copy_from_slice(&family.to_ne_bytes());
        return Ok(SockAddr { bytes, len, family: family as c_int });
    }
    if (l as usize) < size_of::<u16>() {
        return Err(Errno::EINVAL);
    }
    // SAFETY: plain old data of this size.
    let raw = unsafe { core::slice::from_raw_parts(&ss as *const _ as *const u8, size_of::<ws::SOCKADDR_STORAGE>()) };
    for (d, s) in bytes.iter_mut().zip(raw) {
        *d = *s;
    }
    Ok(SockAddr { bytes, len: l as usize, family: ss.ss_family as c_int })
}

/// The family of a caller's `SOCKADDR` (a `u16` at offset 0). `None`: too
/// short.
pub(crate) fn sockaddr_family(addr: &[u8]) -> Option<c_int> {
    let b = addr.get(..2)?;
    Some(u16::from_ne_bytes([b[0], b[1]]) as c_int)
}

/// Offset of `sun_path` in `SOCKADDR_UN` (after the `u16` family).
pub(crate) fn sun_path_offset() -> usize {
    size_of::<u16>()
}

// ---- The primitives of the notify calls (crate::notify) ----

/// There is no `NOTIFY_SOCKET` protocol to speak on Windows.
pub(crate) fn notify_send(_target: &[u8], _pid: crate::notify::Pid, _state: &[u8], _fds: &[RawFd]) -> Result<()> {
    Err(Errno::EAFNOSUPPORT)
}

/// Windows is not booted with systemd: `/run/systemd/system/` is never
/// there.
pub(crate) fn exists_nofollow(_path: &CStr) -> Result<()> {
    Err(Errno::ENOENT)
}

/// No pipe on Windows: no barrier message is ever sent there
/// (`notify_send` refuses), so there is no descriptor to pass or wait on.
pub(crate) struct PipeEnd;

impl PipeEnd {
    /// No descriptor.
    pub(crate) fn as_slice(&self) -> &[RawFd] {
        &[]
    }
}

impl Drop for PipeEnd {
    // Nothing to close; the front drops the write end before waiting, as
    // it must on Unix.
    fn drop(&mut self) {}
}

/// Two ends that hold nothing (see [`PipeEnd`]).
pub(crate) fn barrier_pipe() -> Result<(PipeEnd, PipeEnd)> {
    Ok((PipeEnd, PipeEnd))
}

/// Never reached (no barrier is sent): `ENOSYS`.
pub(crate) fn wait_hangup(_rd: &PipeEnd, _timeout_usec: u64) -> Result<bool> {
    Err(Errno::ENOSYS)
}
