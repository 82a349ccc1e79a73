//! Opening listening sockets the way systemd-socket-activate does
//! (`make_socket_fd` → `socket_address_listen`): `SO_REUSEADDR` on every
//! socket, parent directories of a unix path created (0755), the socket node
//! created with mode 0644 (a stale node is unlinked and the bind retried),
//! `listen()` with an unbounded backlog (the kernel caps it at
//! `net.core.somaxconn`), and the node's timestamps touched afterwards.
//! Sockets are kept close-on-exec in the launcher; children get copies.

use super::{errno_str, RawFd};
use crate::addr::Addr;
use std::mem::{size_of, zeroed};

/// A socket address in the C layout, ready for bind/connect.
pub struct SockAddr {
    storage: libc::sockaddr_storage,
    pub len: libc::socklen_t,
}

impl SockAddr {
    pub fn ptr(&self) -> *const libc::sockaddr {
        &self.storage as *const _ as *const libc::sockaddr
    }

    pub fn family(&self) -> libc::c_int {
        self.storage.ss_family as libc::c_int
    }

    /// A unix address: `abstract` puts a NUL first (Linux abstract name).
    pub fn unix(name: &[u8], abstract_: bool) -> SockAddr {
        // SAFETY: an all-zero sockaddr_storage is valid.
        let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
        // SAFETY: sockaddr_un fits in sockaddr_storage.
        let un = unsafe { &mut *(&mut ss as *mut _ as *mut libc::sockaddr_un) };
        un.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let off = usize::from(abstract_);
        let n = name.len().min(un.sun_path.len() - off);
        for (d, s) in un.sun_path[off..off + n].iter_mut().zip(name) {
            *d = *s as libc::c_char;
        }
        let base = size_of::<libc::sockaddr_un>() - un.sun_path.len();
        // Paths include the trailing NUL (as systemd's SocketAddress size);
        // abstract names are exactly their bytes.
        let len = base + off + n + usize::from(!abstract_);
        #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
        {
            un.sun_len = len as u8;
        }
        SockAddr { storage: ss, len: len as libc::socklen_t }
    }

    pub fn inet(a: &Addr, v6_ok: bool) -> SockAddr {
        // SAFETY: an all-zero sockaddr_storage is valid.
        let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
        let v4 = |ss: &mut libc::sockaddr_storage, ip: [u8; 4], port: u16| {
            // SAFETY: sockaddr_in fits in sockaddr_storage.
            let sin = unsafe { &mut *(ss as *mut _ as *mut libc::sockaddr_in) };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = port.to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(ip);
            #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
            {
                sin.sin_len = size_of::<libc::sockaddr_in>() as u8;
            }
            size_of::<libc::sockaddr_in>()
        };
        let v6 = |ss: &mut libc::sockaddr_storage, ip: [u8; 16], port: u16, scope: u32| {
            // SAFETY: sockaddr_in6 fits in sockaddr_storage.
            let sin6 = unsafe { &mut *(ss as *mut _ as *mut libc::sockaddr_in6) };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = port.to_be();
            sin6.sin6_addr.s6_addr = ip;
            sin6.sin6_scope_id = scope;
            #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
            {
                sin6.sin6_len = size_of::<libc::sockaddr_in6>() as u8;
            }
            size_of::<libc::sockaddr_in6>()
        };
        let len = match a {
            Addr::Inet4(s) => v4(&mut ss, s.ip().octets(), s.port()),
            Addr::Inet6(s) => v6(&mut ss, s.ip().octets(), s.port(), s.scope_id()),
            Addr::Any(p) if v6_ok => v6(&mut ss, [0; 16], *p, 0),
            Addr::Any(p) => v4(&mut ss, [0; 4], *p),
            Addr::UnixPath(_) | Addr::UnixAbstract(_) => 0,
        };
        SockAddr { storage: ss, len: len as libc::socklen_t }
    }
}

/// A socket with `FD_CLOEXEC` set (atomically where the OS can).
pub fn socket(family: libc::c_int, ty: libc::c_int) -> Result<RawFd, i32> {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    // SAFETY: plain syscall.
    let fd = unsafe { libc::socket(family, ty | libc::SOCK_CLOEXEC, 0) };
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    // SAFETY: plain syscalls.
    let fd = unsafe {
        let fd = libc::socket(family, ty, 0);
        if fd >= 0 {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
        fd
    };
    if fd < 0 {
        Err(super::errno())
    } else {
        Ok(fd)
    }
}

fn ipv6_supported() -> bool {
    match socket(libc::AF_INET6, libc::SOCK_DGRAM) {
        Ok(fd) => {
            super::close(fd);
            true
        }
        Err(e) => e != libc::EAFNOSUPPORT,
    }
}

fn mkdir_parents(path: &[u8]) {
    let mut i = 1;
    while let Some(pos) = path[i..].iter().position(|&b| b == b'/') {
        let p = &path[..i + pos];
        if let Ok(c) = std::ffi::CString::new(p) {
            // SAFETY: c is NUL-terminated; failure (exists, no permission) is
            // reported by bind later if it matters.
            unsafe { libc::mkdir(c.as_ptr(), 0o755) };
        }
        i += pos + 1;
    }
}

/// Open, bind and (for stream and seqpacket) listen on `a`.
pub fn listen(a: &Addr, ty: libc::c_int) -> Result<RawFd, String> {
    let fail = |what: &str, e: i32| format!("failed to {what} {a}: {}", errno_str(e));
    let sa = match a {
        Addr::UnixPath(p) => SockAddr::unix(p, false),
        Addr::UnixAbstract(n) => SockAddr::unix(n, true),
        _ => SockAddr::inet(a, ipv6_supported()),
    };
    let fd = socket(sa.family(), ty).map_err(|e| fail("create a socket for", e))?;
    let guard = super::FdGuard(fd);
    let one: libc::c_int = 1;
    // SAFETY: valid fd and option buffer.
    if unsafe {
        libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, &one as *const _ as *const libc::c_void, size_of::<libc::c_int>() as libc::socklen_t)
    } < 0
    {
        return Err(fail("set SO_REUSEADDR on", super::errno()));
    }
    // SAFETY: valid fd and address.
    let bind = || unsafe { libc::bind(fd, sa.ptr(), sa.len) };
    if let Addr::UnixPath(p) = a {
        mkdir_parents(p);
        // SAFETY: umask cannot fail; restored right after.
        let old = unsafe { libc::umask(0o133) };
        let mut r = bind();
        let mut e = super::errno();
        if r < 0 && e == libc::EADDRINUSE {
            let c = std::ffi::CString::new(p.clone()).unwrap_or_default();
            // SAFETY: c is NUL-terminated.
            if unsafe { libc::unlink(c.as_ptr()) } == 0 {
                r = bind();
                e = super::errno();
            }
        }
        // SAFETY: as above.
        unsafe { libc::umask(old) };
        if r < 0 {
            return Err(fail("bind", e));
        }
    } else if bind() < 0 {
        return Err(fail("bind", super::errno()));
    }
    // SAFETY: valid fd.
    if ty != libc::SOCK_DGRAM && unsafe { libc::listen(fd, libc::c_int::MAX) } < 0 {
        return Err(fail("listen on", super::errno()));
    }
    if let Addr::UnixPath(p) = a {
        if let Ok(c) = std::ffi::CString::new(p.clone()) {
            // SAFETY: c is NUL-terminated; NULL times means "now".
            unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), std::ptr::null(), 0) };
        }
    }
    Ok(guard.take())
}

/// What a listening fd is bound to, for log lines.
pub fn describe(fd: RawFd) -> String {
    // SAFETY: zeroed storage is valid; getsockname fills at most len bytes.
    let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: valid buffer and length.
    if unsafe { libc::getsockname(fd, &mut ss as *mut _ as *mut libc::sockaddr, &mut len) } < 0 {
        return format!("fd {fd}");
    }
    match ss.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: family says sockaddr_in.
            let s = unsafe { &*(&ss as *const _ as *const libc::sockaddr_in) };
            let ip = std::net::Ipv4Addr::from(s.sin_addr.s_addr.to_ne_bytes());
            format!("{ip}:{}", u16::from_be(s.sin_port))
        }
        libc::AF_INET6 => {
            // SAFETY: family says sockaddr_in6.
            let s = unsafe { &*(&ss as *const _ as *const libc::sockaddr_in6) };
            let ip = std::net::Ipv6Addr::from(s.sin6_addr.s6_addr);
            format!("[{ip}]:{}", u16::from_be(s.sin6_port))
        }
        libc::AF_UNIX => {
            // SAFETY: family says sockaddr_un.
            let s = unsafe { &*(&ss as *const _ as *const libc::sockaddr_un) };
            let base = size_of::<libc::sockaddr_un>() - s.sun_path.len();
            let n = (len as usize).saturating_sub(base).min(s.sun_path.len());
            let b: Vec<u8> = s.sun_path[..n].iter().map(|&c| c as u8).collect();
            match b.first() {
                Some(0) => format!("@{}", String::from_utf8_lossy(&b[1..])),
                _ => String::from_utf8_lossy(b.split(|&c| c == 0).next().unwrap_or(&[])).into_owned(),
            }
        }
        f => format!("fd {fd} (family {f})"),
    }
}
