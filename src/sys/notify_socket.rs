//! The `sd_notify` datagram protocol over Unix sockets, for
//! `crate::notify`: the `NOTIFY_SOCKET` grammar (`/path`, `@abstract`,
//! `vsock[-TYPE]:CID:PORT`), the socket, credentials and descriptors
//! passed with the message, and the send itself, as libsystemd 252 does
//! them (vsock from newer systemd).

use core::ffi::c_int;
use core::mem::{size_of, zeroed};
use core::ptr;

use crate::errno::{Errno, Result};
use crate::fd::RawFd;
use crate::notify::Pid;

/// Send buffer libsystemd asks for (8 MiB), so large messages fit.
const SNDBUF_SIZE: c_int = 8 * 1024 * 1024;

/// Where `NOTIFY_SOCKET` points. Public only so that the fuzz harness
/// (fuzz/harness.rs) can reach [`parse_target`]; not part of the API.
#[doc(hidden)]
pub enum Target {
    Unix(libc::sockaddr_un, libc::socklen_t),
    #[cfg(any(target_os = "linux", target_os = "android"))]
    Vsock {
        cid: u32,
        port: u32,
        ty: Option<c_int>,
    },
}

/// Parse `NOTIFY_SOCKET` as libsystemd 252 does for `/path` and `@abstract`
/// (shorter than 2 bytes or relative: `EINVAL`; not fitting `sun_path` with
/// its NUL: `ENAMETOOLONG` for a path, `EINVAL` for an abstract name), plus the `vsock[-TYPE]:CID:PORT` forms of newer
/// systemd. Public (hidden) for the fuzz harness only.
#[doc(hidden)]
pub fn parse_target(e: &[u8]) -> Result<Target> {
    if let Some(t) = parse_vsock(e)? {
        return Ok(t);
    }
    if !matches!(e.first(), Some(b'@' | b'/')) || e.len() < 2 {
        return Err(Errno::EINVAL);
    }
    // SAFETY: sockaddr_un is plain old data.
    let mut un: libc::sockaddr_un = unsafe { zeroed() };
    // Both forms need room for a trailing NUL; 252 reports an overlong
    // path as ENAMETOOLONG and an overlong abstract name as EINVAL.
    if e.len() > un.sun_path.len() - 1 {
        return Err(if e[0] == b'/' { Errno::ENAMETOOLONG } else { Errno::EINVAL });
    }
    un.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, s) in un.sun_path.iter_mut().zip(e) {
        *d = *s as libc::c_char;
    }
    let base = size_of::<libc::sa_family_t>();
    let len = if e[0] == b'@' {
        un.sun_path[0] = 0;
        base + e.len() // abstract: the trailing NUL is not part of the name
    } else {
        base + e.len() + 1
    };
    Ok(Target::Unix(un, len as libc::socklen_t))
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn parse_vsock(e: &[u8]) -> Result<Option<Target>> {
    let (ty, rest) = if let Some(r) = e.strip_prefix(b"vsock:") {
        (None, r)
    } else if let Some(r) = e.strip_prefix(b"vsock-stream:") {
        (Some(libc::SOCK_STREAM), r)
    } else if let Some(r) = e.strip_prefix(b"vsock-dgram:") {
        (Some(libc::SOCK_DGRAM), r)
    } else if let Some(r) = e.strip_prefix(b"vsock-seqpacket:") {
        (Some(libc::SOCK_SEQPACKET), r)
    } else {
        return Ok(None);
    };
    let colon = rest.iter().rposition(|&c| c == b':').ok_or(Errno::EINVAL)?;
    // (`get`: no bounds-check panic in the C library)
    let (cid, port) = (rest.get(..colon).unwrap_or_default(), rest.get(colon + 1..).unwrap_or_default());
    let cid = match cid {
        b"" => return Err(Errno::EINVAL), // a specific CID is required
        b"hypervisor" => 0,
        b"local" => 1,
        b"host" => 2,
        _ => decimal_u32(cid)?,
    };
    let port = decimal_u32(port)?;
    if port == u32::MAX {
        return Err(Errno::EINVAL);
    }
    Ok(Some(Target::Vsock { cid, port, ty }))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn parse_vsock(_e: &[u8]) -> Result<Option<Target>> {
    Ok(None)
}

/// Digits only, any number of them; above `u32::MAX`: `ERANGE`.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn decimal_u32(s: &[u8]) -> Result<u32> {
    crate::parse::decimal(s, usize::MAX, u32::MAX)
}

/// A socket closed on drop.
struct Fd(RawFd);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: we own the descriptor.
        unsafe { libc::close(self.0) };
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn socket(family: c_int, ty: c_int) -> Result<Fd> {
    // SAFETY: plain socket(2).
    let fd = unsafe { libc::socket(family, ty | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        Err(Errno::last())
    } else {
        Ok(Fd(fd))
    }
}

/// Without `SOCK_CLOEXEC` (macOS): set the flag right after creation, and
/// since there is no `MSG_NOSIGNAL` either, `SO_NOSIGPIPE` where it exists.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn socket(family: c_int, ty: c_int) -> Result<Fd> {
    // SAFETY: plain socket(2).
    let fd = unsafe { libc::socket(family, ty, 0) };
    if fd < 0 {
        return Err(Errno::last());
    }
    let fd = Fd(fd);
    // SAFETY: fcntl/setsockopt on a descriptor we own.
    unsafe {
        if libc::fcntl(fd.0, libc::F_SETFD, libc::FD_CLOEXEC) < 0 {
            return Err(Errno::last());
        }
        #[cfg(target_vendor = "apple")]
        {
            let one: c_int = 1;
            libc::setsockopt(
                fd.0,
                libc::SOL_SOCKET,
                libc::SO_NOSIGPIPE,
                &one as *const c_int as *const _,
                size_of::<c_int>() as _,
            );
        }
    }
    Ok(fd)
}

/// Best effort, as libsystemd: raise the send buffer, forcing it if allowed.
fn raise_sndbuf(fd: RawFd) {
    let setopt = |opt: c_int| {
        // SAFETY: an int option of the right size.
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                &SNDBUF_SIZE as *const c_int as *const _,
                size_of::<c_int>() as _,
            )
        }
    };
    let mut v: c_int = 0;
    let mut l = size_of::<c_int>() as libc::socklen_t;
    setopt(libc::SO_SNDBUF);
    // SAFETY: v and l are valid out-buffers.
    let r = unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, &mut v as *mut c_int as *mut _, &mut l) };
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if r < 0 || (v as i64) < 2 * SNDBUF_SIZE as i64 {
        setopt(libc::SO_SNDBUFFORCE);
    }
    let _ = r;
}

/// A socket connected (stream/seqpacket) or addressed (datagram) to the target.
struct Channel {
    fd: Fd,
    name: Option<(libc::sockaddr_storage, libc::socklen_t)>,
    stream: bool,
}

fn open_channel(t: &Target) -> Result<Channel> {
    match t {
        Target::Unix(un, len) => {
            let fd = socket(libc::AF_UNIX, libc::SOCK_DGRAM)?;
            // SAFETY: storage is larger than sockaddr_un.
            let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
            // SAFETY: `ss` is a sockaddr_storage, larger than the `len` bytes of `un` copied into it.
            unsafe {
                ptr::copy_nonoverlapping(
                    un as *const _ as *const u8,
                    &mut ss as *mut _ as *mut u8,
                    size_of::<libc::sockaddr_un>(),
                )
            };
            Ok(Channel { fd, name: Some((ss, *len)), stream: false })
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        Target::Vsock { cid, port, ty } => {
            // SAFETY: sockaddr_vm is plain old data.
            let mut vm: libc::sockaddr_vm = unsafe { zeroed() };
            vm.svm_family = libc::AF_VSOCK as libc::sa_family_t;
            vm.svm_cid = *cid;
            vm.svm_port = *port;
            let candidates: &[c_int] = match ty {
                Some(t) => core::slice::from_ref(t),
                None => &[libc::SOCK_DGRAM, libc::SOCK_SEQPACKET, libc::SOCK_STREAM],
            };
            let mut last = Errno::EAFNOSUPPORT;
            for &ty in candidates {
                let fd = match socket(libc::AF_VSOCK, ty) {
                    Ok(fd) => fd,
                    // Without an explicit type, fall back when a type is unsupported.
                    Err(e)
                        if ty != candidates[candidates.len() - 1]
                            && matches!(
                                e.0,
                                libc::EOPNOTSUPP | libc::EPROTONOSUPPORT | libc::ESOCKTNOSUPPORT | libc::ENODEV
                            ) =>
                    {
                        last = e;
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                // SAFETY: an all-zero sockaddr_storage is a valid value.
                let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
                // SAFETY: as above: `ss` has room for the `len` bytes of `un`.
                unsafe {
                    ptr::copy_nonoverlapping(
                        &vm as *const _ as *const u8,
                        &mut ss as *mut _ as *mut u8,
                        size_of::<libc::sockaddr_vm>(),
                    )
                };
                let len = size_of::<libc::sockaddr_vm>() as libc::socklen_t;
                if ty == libc::SOCK_DGRAM {
                    return Ok(Channel { fd, name: Some((ss, len)), stream: false });
                }
                // SAFETY: connect with a valid address of `len` bytes.
                if unsafe { libc::connect(fd.0, &ss as *const _ as *const libc::sockaddr, len) } < 0 {
                    return Err(Errno::last());
                }
                return Ok(Channel { fd, name: None, stream: ty == libc::SOCK_STREAM });
            }
            Err(last)
        }
    }
}

/// Should the message carry explicit credentials? (libsystemd's rule.)
fn wants_ucred(pid: libc::pid_t) -> bool {
    // SAFETY: these calls cannot fail.
    unsafe {
        (pid != 0 && pid != libc::getpid()) || libc::getuid() != libc::geteuid() || libc::getgid() != libc::getegid()
    }
}

/// Ancillary data buffer: SCM_RIGHTS then (Linux) SCM_CREDENTIALS.
struct Control {
    buf: *mut u8,
    len: usize,
    rights_len: usize,
}

impl Drop for Control {
    fn drop(&mut self) {
        // SAFETY: buf is NULL or calloc'd.
        unsafe { libc::free(self.buf as *mut libc::c_void) };
    }
}

fn cmsg_space(n: usize) -> Result<usize> {
    let n32 = u32::try_from(n).map_err(|_| Errno::ENOBUFS)?;
    // SAFETY: pure arithmetic macro.
    Ok(unsafe { libc::CMSG_SPACE(n32) } as usize)
}

fn build_control(pid: libc::pid_t, fds: &[RawFd], ucred: bool) -> Result<Control> {
    let fd_bytes = fds.len().checked_mul(size_of::<c_int>()).ok_or(Errno::ENOBUFS)?;
    let rights_len = if fds.is_empty() { 0 } else { cmsg_space(fd_bytes)? };
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let cred_len = if ucred { cmsg_space(size_of::<libc::ucred>())? } else { 0 };
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let cred_len = {
        let _ = (pid, ucred);
        0
    };
    let len = rights_len + cred_len;
    if len == 0 {
        return Ok(Control { buf: ptr::null_mut(), len: 0, rights_len: 0 });
    }
    // SAFETY: calloc; NULL handled. Zeroed, as CMSG_NXTHDR expects.
    let buf = unsafe { libc::calloc(1, len) } as *mut u8;
    if buf.is_null() {
        return Err(Errno::ENOMEM);
    }
    let c = Control { buf, len, rights_len };
    // SAFETY: the buffer holds both headers; CMSG_* stay inside it.
    unsafe {
        let mut mh: libc::msghdr = zeroed();
        mh.msg_control = buf as *mut _;
        mh.msg_controllen = len as _;
        let mut cm = libc::CMSG_FIRSTHDR(&mh);
        if !fds.is_empty() {
            (*cm).cmsg_level = libc::SOL_SOCKET;
            (*cm).cmsg_type = libc::SCM_RIGHTS;
            (*cm).cmsg_len = libc::CMSG_LEN(fd_bytes as u32) as _;
            ptr::copy_nonoverlapping(fds.as_ptr() as *const u8, libc::CMSG_DATA(cm), fd_bytes);
            cm = libc::CMSG_NXTHDR(&mh, cm);
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if ucred {
            (*cm).cmsg_level = libc::SOL_SOCKET;
            (*cm).cmsg_type = libc::SCM_CREDENTIALS;
            (*cm).cmsg_len = libc::CMSG_LEN(size_of::<libc::ucred>() as u32) as _;
            let uc = libc::ucred {
                pid: if pid != 0 { pid } else { libc::getpid() },
                uid: libc::getuid(),
                gid: libc::getgid(),
            };
            ptr::copy_nonoverlapping(&uc as *const _ as *const u8, libc::CMSG_DATA(cm), size_of::<libc::ucred>());
        }
        let _ = cm;
    }
    Ok(c)
}

fn sendmsg(ch: &Channel, data: &[u8], control: *mut u8, control_len: usize) -> core::result::Result<usize, Errno> {
    // SAFETY: every pointer in the header is valid for the stated length.
    unsafe {
        let mut iov = libc::iovec { iov_base: data.as_ptr() as *mut _, iov_len: data.len() };
        let mut mh: libc::msghdr = zeroed();
        if let Some((ss, len)) = &ch.name {
            mh.msg_name = ss as *const _ as *mut _;
            mh.msg_namelen = *len;
        }
        mh.msg_iov = &mut iov;
        mh.msg_iovlen = 1;
        if control_len > 0 {
            mh.msg_control = control as *mut _;
            mh.msg_controllen = control_len as _;
        }
        let n = libc::sendmsg(ch.fd.0, &mh, MSG_NOSIGNAL);
        if n < 0 {
            Err(Errno::last())
        } else {
            Ok(n as usize)
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
const MSG_NOSIGNAL: c_int = libc::MSG_NOSIGNAL;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const MSG_NOSIGNAL: c_int = 0;

/// Send the whole message; a stream socket may take it in several writes
/// (the ancillary data goes with the first).
fn send_all(ch: &Channel, data: &[u8], control: *mut u8, control_len: usize) -> Result<()> {
    let mut sent = sendmsg(ch, data, control, control_len)?;
    if !ch.stream {
        return Ok(());
    }
    // (`get`: a count larger than asked, which the kernel never reports,
    // ends the loop instead of panicking.)
    while let Some(rest) = data.get(sent..).filter(|r| !r.is_empty()) {
        sent = sent.saturating_add(sendmsg(ch, rest, ptr::null_mut(), 0)?);
    }
    Ok(())
}

/// Send `state` (with `fds`, on behalf of `pid`) to `NOTIFY_SOCKET`'s value
/// `target`.
pub(crate) fn notify_send(target: &[u8], pid: Pid, state: &[u8], fds: &[RawFd]) -> Result<()> {
    let target = parse_target(target)?;
    let ch = open_channel(&target)?;
    raise_sndbuf(ch.fd.0);
    let ucred = wants_ucred(pid);
    let control = build_control(pid, fds, ucred)?;
    match send_all(&ch, state, control.buf, control.len) {
        Ok(()) => return Ok(()),
        Err(e) if !ucred => return Err(e),
        Err(_) => {}
    }
    // The kernel refuses forged credentials to the unprivileged: send
    // again with only the fds; the receiver sees our real credentials.
    send_all(&ch, state, control.buf, control.rights_len)
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::*;

    fn vsock(s: &str) -> Result<(u32, u32, Option<c_int>)> {
        match parse_target(s.as_bytes())? {
            Target::Vsock { cid, port, ty } => Ok((cid, port, ty)),
            Target::Unix(..) => panic!("{s} parsed as unix"),
        }
    }

    #[test]
    fn unix_targets() {
        let Target::Unix(un, len) = parse_target(b"@abc").unwrap() else { panic!() };
        assert_eq!((un.sun_path[0], un.sun_path[1], len as usize), (0, b'a' as libc::c_char, 2 + 4));
        let Target::Unix(_, len) = parse_target(b"/run/x").unwrap() else { panic!() };
        assert_eq!(len as usize, 2 + 7);
        for bad in ["", "/", "@", "x", "unix:/x", "vsoc:1:2"] {
            assert_eq!(parse_target(bad.as_bytes()).err(), Some(Errno::EINVAL), "{bad}");
        }
        assert_eq!(parse_target(&[b'/'; 108]).err(), Some(Errno::ENAMETOOLONG));
        assert_eq!(parse_target(&[b'@'; 108]).err(), Some(Errno::EINVAL));
        assert!(parse_target(&[b'/'; 107]).is_ok());
    }

    #[test]
    fn vsock_targets() {
        assert_eq!(vsock("vsock:2:1234"), Ok((2, 1234, None)));
        assert_eq!(vsock("vsock:host:1"), Ok((2, 1, None)));
        assert_eq!(vsock("vsock:hypervisor:1"), Ok((0, 1, None)));
        assert_eq!(vsock("vsock:local:1"), Ok((1, 1, None)));
        assert_eq!(vsock("vsock-stream:3:7"), Ok((3, 7, Some(libc::SOCK_STREAM))));
        assert_eq!(vsock("vsock-dgram:3:7"), Ok((3, 7, Some(libc::SOCK_DGRAM))));
        assert_eq!(vsock("vsock-seqpacket:3:7"), Ok((3, 7, Some(libc::SOCK_SEQPACKET))));
        assert_eq!(vsock("vsock:4294967295:1"), Ok((u32::MAX, 1, None)));
        for bad in ["vsock::1234", "vsock:2", "vsock:2:", "vsock:x:1", "vsock:2:4294967295", "vsock:2:-1", "vsock:2: 1"]
        {
            assert_eq!(vsock(bad).err(), Some(Errno::EINVAL), "{bad}");
        }
        assert_eq!(vsock("vsock:2:4294967296").err(), Some(Errno::ERANGE));
    }
}
