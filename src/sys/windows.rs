//! Winsock plumbing shared by the Windows backend and `sd_is_socket*`:
//! one-time `WSAStartup` and the mapping of `WSAGetLastError()` codes to
//! the CRT errno values the C API returns (`-errno`).

use core::sync::atomic::{AtomicI32, Ordering};

use windows_sys::Win32::Networking::WinSock as ws;

use crate::errno::{Errno, Result};

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
