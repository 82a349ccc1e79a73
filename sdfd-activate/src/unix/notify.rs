//! The `NOTIFY_SOCKET` receiver: a datagram unix socket at a path inside a
//! directory made with `mkdtemp` (mode 0700, so no other user can reach it;
//! for a root launcher on Linux 0711 with the socket 0666, so that a child
//! that drops privileges can, see `Notify::open`); the directory is removed
//! when the receiver is dropped. On Linux `SO_PASSCRED` is set before the
//! socket is bound, so every message comes with the sender's pid (checked
//! against `--notify-access` by the supervisor); fds come as `SCM_RIGHTS`
//! and are received close-on-exec.

use super::{errno, RawFd};
use socket2::{Domain, Socket, Type};
use std::ffi::CString;
use std::mem::{size_of, zeroed};
use std::os::fd::IntoRawFd;
use std::os::unix::ffi::OsStrExt;

pub struct Notify {
    pub fd: RawFd,
    /// The value for `NOTIFY_SOCKET` (an absolute path).
    pub address: String,
    path: CString,
    dir: CString,
}

/// The longest notify message systemd 252's manager takes
/// (`NOTIFY_BUFFER_MAX`, `PIPE_BUF`): a longer one is ignored as a whole.
pub const MAX_MESSAGE: usize = 4096;

/// A message dropped as a whole, with why; its fds were closed.
pub struct Dropped {
    pub pid: Option<libc::pid_t>,
    pub why: &'static str,
    /// Its length in bytes (on Linux the datagram's full length, even when cut).
    pub size: usize,
    /// How many fds it carried (closed).
    pub fds: usize,
}

pub struct Message {
    /// The sender's pid from `SCM_CREDENTIALS` (Linux); `None` without credentials.
    pub pid: Option<libc::pid_t>,
    pub text: String,
    pub fds: Vec<RawFd>,
}

/// Directory for the private socket directory: `$TMPDIR` if it is an
/// absolute path (in UTF-8, as `NOTIFY_SOCKET` is text), else /tmp.
fn base_dir() -> Vec<u8> {
    match std::env::var_os("TMPDIR") {
        Some(t) if t.as_bytes().starts_with(b"/") && t.to_str().is_some() => t.as_bytes().to_vec(),
        _ => b"/tmp".to_vec(),
    }
}

impl Notify {
    pub fn open() -> Result<Notify, String> {
        let mut template = base_dir();
        while template.len() > 1 && template.ends_with(b"/") {
            template.pop();
        }
        template.extend_from_slice(b"/sdfd-activate.XXXXXX\0");
        if template.len() + b"/notify".len() >= sdfd::address::sun_path_max() {
            return Err("notify socket path too long (set TMPDIR to a shorter directory)".into());
        }
        // SAFETY: template is NUL-terminated and writable; mkdtemp creates the
        // directory with mode 0700 and fills in the X's.
        if unsafe { libc::mkdtemp(template.as_mut_ptr() as *mut libc::c_char) }.is_null() {
            return Err(format!("notify socket directory: {}", super::errno_str(errno())));
        }
        template.pop();
        let dir = CString::new(template.clone()).map_err(|_| "notify socket directory: NUL byte".to_string())?;
        let mut name = template;
        name.extend_from_slice(b"/notify");
        let path = CString::new(name.clone()).map_err(|_| "notify socket path: NUL byte".to_string())?;
        // (UTF-8: the directory is, see base_dir.)
        let address = String::from_utf8_lossy(&name).into_owned();
        // From here on, Drop removes the socket node and the directory.
        let mut n = Notify { fd: -1, address, path, dir };
        let fail = |what: &str, e: std::io::Error| {
            format!("{what}: {}", super::errno_str(e.raw_os_error().unwrap_or(libc::EIO)))
        };
        let s = Socket::new(Domain::UNIX, Type::DGRAM, None).map_err(|e| fail("notify socket", e))?;
        s.set_nonblocking(true).map_err(|e| fail("notify socket", e))?;
        // Set before bind, so no message can arrive without credentials.
        #[cfg(target_os = "linux")]
        s.set_passcred(true).map_err(|e| fail("notify socket: SO_PASSCRED", e))?;
        // (socket2 has no set_passcred for Android)
        #[cfg(target_os = "android")]
        {
            let one: libc::c_int = 1;
            let fd = std::os::unix::io::AsRawFd::as_raw_fd(&s);
            let len = core::mem::size_of::<libc::c_int>() as libc::socklen_t;
            // SAFETY: `one` is a readable int of `len` bytes.
            if unsafe { libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_PASSCRED, &one as *const _ as *const _, len) }
                < 0
            {
                return Err(fail("notify socket: SO_PASSCRED", std::io::Error::last_os_error()));
            }
        }
        let sa = super::sock::unix_addr(n.address.as_bytes()).map_err(|e| fail("notify socket address", e))?;
        s.bind(&sa).map_err(|e| fail("bind notify socket", e))?;
        n.fd = s.into_raw_fd();
        // A launcher running as root (Linux): let a child that drops its
        // privileges after exec (setpriv, a daemon's own User=) reach the
        // socket, as systemd's system manager lets User= services reach
        // /run/systemd/notify: the socket 0666, its directory 0711 (not
        // listable). The sender's kernel-checked pid (SCM_CREDENTIALS) is
        // then the gate, checked for every message by the supervisor: an
        // unprivileged process can only send its own pid. Not elsewhere:
        // without credentials the private directory is the only gate.
        // SAFETY: geteuid cannot fail.
        if cfg!(any(target_os = "linux", target_os = "android")) && unsafe { libc::geteuid() } == 0 {
            // The directory is still 0700 and ours: nobody can have put
            // anything else at the socket's path.
            // SAFETY: NUL-terminated paths.
            if unsafe { libc::chmod(n.path.as_ptr(), 0o666) } != 0 || unsafe { libc::chmod(n.dir.as_ptr(), 0o711) } != 0
            {
                return Err(format!("notify socket permissions: {}", super::errno_str(errno())));
            }
        }
        Ok(n)
    }

    /// The next message, or `None` when there is none waiting. A message
    /// systemd 252's manager would ignore as a whole (control data cut
    /// short, text over [`MAX_MESSAGE`] bytes, a NUL byte inside) comes back
    /// as `Err`, its fds already closed.
    pub fn recv(&self) -> Option<Result<Message, Dropped>> {
        // One byte more than a message may have, as systemd's buffer: with
        // MSG_TRUNC (Linux) recvmsg returns a longer datagram's full length.
        let mut data = vec![0u8; MAX_MESSAGE + 1];
        // Room for 253 fds (SCM_MAX_FD, the kernel's limit per message) and credentials.
        let mut control = vec![0u64; 512];
        let mut iov = libc::iovec { iov_base: data.as_mut_ptr() as *mut libc::c_void, iov_len: MAX_MESSAGE };
        loop {
            // SAFETY: zeroed msghdr is valid; fields point at live buffers.
            let mut mh: libc::msghdr = unsafe { zeroed() };
            mh.msg_iov = &mut iov;
            mh.msg_iovlen = 1;
            mh.msg_control = control.as_mut_ptr() as *mut libc::c_void;
            mh.msg_controllen = (control.len() * 8) as _;
            #[cfg(any(target_os = "linux", target_os = "android"))]
            let flags = libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC | libc::MSG_TRUNC;
            #[cfg(target_os = "freebsd")]
            let flags = libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC;
            #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
            let flags = libc::MSG_DONTWAIT;
            // SAFETY: as above.
            let n = unsafe { libc::recvmsg(self.fd, &mut mh, flags) };
            if n < 0 {
                match errno() {
                    libc::EINTR => continue,
                    _ => return None,
                }
            }
            let n = n as usize;
            // (only Linux and Android carry the sender's credentials)
            #[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(unused_mut))]
            let mut pid = None;
            let mut fds = Vec::new();
            // SAFETY: walking the control buffer the kernel filled in.
            unsafe {
                let mut c = libc::CMSG_FIRSTHDR(&mh);
                while !c.is_null() {
                    let h = &*c;
                    let payload = libc::CMSG_DATA(c);
                    let plen = h.cmsg_len as usize - (payload as usize - c as usize);
                    if h.cmsg_level == libc::SOL_SOCKET && h.cmsg_type == libc::SCM_RIGHTS {
                        for i in 0..plen / size_of::<RawFd>() {
                            let fd = std::ptr::read_unaligned((payload as *const RawFd).add(i));
                            #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
                            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                            fds.push(fd);
                        }
                    }
                    #[cfg(any(target_os = "linux", target_os = "android"))]
                    if h.cmsg_level == libc::SOL_SOCKET
                        && h.cmsg_type == libc::SCM_CREDENTIALS
                        && plen >= size_of::<libc::ucred>()
                    {
                        let cred: libc::ucred = std::ptr::read_unaligned(payload as *const libc::ucred);
                        pid = Some(cred.pid);
                    }
                    c = libc::CMSG_NXTHDR(&mh, c);
                }
            }
            // systemd 252's order (manager_dispatch_notify_fd): control data
            // cut short (fds lost: too many sent, or no room in our fd table),
            // then the size, then NUL bytes (one trailing NUL is allowed).
            let why = if mh.msg_flags & libc::MSG_CTRUNC != 0 {
                Some("truncated control data (too many fds sent?)")
            } else if n > MAX_MESSAGE || mh.msg_flags & libc::MSG_TRUNC != 0 {
                Some("exceeded maximum size")
            } else if n > 1 && data[..n - 1].contains(&0) {
                Some("embedded NUL bytes")
            } else {
                None
            };
            if let Some(why) = why {
                let n_fds = fds.len();
                for fd in fds {
                    super::close(fd);
                }
                return Some(Err(Dropped { pid, why, size: n, fds: n_fds }));
            }
            let len = if n > 0 && data[n - 1] == 0 { n - 1 } else { n };
            return Some(Ok(Message { pid, text: String::from_utf8_lossy(&data[..len]).into_owned(), fds }));
        }
    }
}

impl Drop for Notify {
    fn drop(&mut self) {
        if self.fd >= 0 {
            super::close(self.fd);
        }
        // SAFETY: NUL-terminated paths; failures (already gone) do not matter.
        unsafe {
            libc::unlink(self.path.as_ptr());
            libc::rmdir(self.dir.as_ptr());
        }
    }
}

/// `KEY=VALUE` lines of a notify message.
pub fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().rev().find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}
