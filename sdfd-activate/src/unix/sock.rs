//! Opening listening sockets the way systemd-socket-activate does
//! (`make_socket_fd` → `socket_address_listen`), with socket2:
//! `SO_REUSEADDR` on every socket, parent directories of a unix path
//! created (0755), the socket node created with mode 0644 (a stale node is
//! unlinked and the bind retried), `listen()` with an unbounded backlog
//! (the kernel caps it at `net.core.somaxconn`), and the node's timestamps
//! touched afterwards. Sockets are close-on-exec in the launcher (socket2
//! creates them so); children get copies.

use super::{errno_str, RawFd};
use sdfd::SocketAddress;
use socket2::{SockAddr, SockRef, Socket, Type};
use std::ffi::{CString, OsStr};
use std::os::fd::{BorrowedFd, IntoRawFd};
use std::os::unix::ffi::OsStrExt;

fn os_err(e: &std::io::Error) -> String {
    errno_str(e.raw_os_error().unwrap_or(libc::EIO))
}

/// A unix socket address for `name` (a path, or with a leading NUL an
/// abstract name: exactly its bytes, as systemd binds it).
pub fn unix_addr(name: &[u8]) -> std::io::Result<SockAddr> {
    SockAddr::unix(OsStr::from_bytes(name))
}

/// The library's conversion, so that a bare port is `[::]:PORT` or, where
/// the kernel has no IPv6 (`/proc/net/if_inet6` missing),
/// `0.0.0.0:PORT`, as systemd-socket-activate 252 decides it.
fn sockaddr(a: &SocketAddress) -> SockAddr {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = a.to_sockaddr(&mut ss);
    // SAFETY: to_sockaddr wrote an address of its family and `len` bytes.
    unsafe { SockAddr::new(ss, len) }
}

fn mkdir_parents(path: &[u8]) {
    for (i, _) in path.iter().enumerate().skip(1).filter(|(_, &b)| b == b'/') {
        if let Ok(c) = CString::new(&path[..i]) {
            // SAFETY: c is NUL-terminated; failure (exists, no permission) is
            // reported by bind later if it matters.
            unsafe { libc::mkdir(c.as_ptr(), 0o755) };
        }
    }
}

/// Open, bind and (for stream and seqpacket) listen on `a` (`shown`: the
/// address as given, for messages).
pub fn listen(a: &SocketAddress, shown: &str, ty: libc::c_int) -> Result<RawFd, String> {
    let fail = |what: &str, e: &std::io::Error| format!("failed to {what} {shown}: {}", os_err(e));
    let sa = sockaddr(a);
    let s = Socket::new(sa.domain(), Type::from(ty), None).map_err(|e| fail("create a socket for", &e))?;
    s.set_reuse_address(true).map_err(|e| fail("set SO_REUSEADDR on", &e))?;
    if let SocketAddress::Path(p) = a {
        mkdir_parents(p);
        // SAFETY: umask cannot fail; restored right after.
        let old = unsafe { libc::umask(0o133) };
        let mut r = s.bind(&sa);
        if r.as_ref().is_err_and(|e| e.raw_os_error() == Some(libc::EADDRINUSE))
            && std::fs::remove_file(OsStr::from_bytes(p)).is_ok()
        {
            r = s.bind(&sa);
        }
        // SAFETY: as above.
        unsafe { libc::umask(old) };
        r.map_err(|e| fail("bind", &e))?;
    } else {
        s.bind(&sa).map_err(|e| fail("bind", &e))?;
    }
    if ty != libc::SOCK_DGRAM {
        s.listen(libc::c_int::MAX).map_err(|e| fail("listen on", &e))?;
    }
    if let SocketAddress::Path(p) = a {
        if let Ok(c) = CString::new(*p) {
            // SAFETY: c is NUL-terminated; NULL times means "now".
            unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), std::ptr::null(), 0) };
        }
    }
    Ok(s.into_raw_fd())
}

/// What a listening fd is bound to, for log lines.
pub fn describe(fd: RawFd) -> String {
    // SAFETY: fd is open for the duration of the call.
    let b = unsafe { BorrowedFd::borrow_raw(fd) };
    let Ok(sa) = SockRef::from(&b).local_addr() else {
        return format!("fd {fd}");
    };
    if let Some(s) = sa.as_socket() {
        return s.to_string();
    }
    if let Some(p) = sa.as_pathname() {
        return p.to_string_lossy().into_owned();
    }
    if let Some(n) = sa.as_abstract_namespace() {
        return format!("@{}", String::from_utf8_lossy(n));
    }
    format!("fd {fd} (family {})", sa.family())
}
