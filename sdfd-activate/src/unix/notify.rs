//! The `NOTIFY_SOCKET` receiver: a datagram unix socket (an abstract name on
//! Linux, a path in the temporary directory elsewhere) that children send
//! `sd_notify()` messages to. On Linux the sender's pid comes with each
//! message (`SO_PASSCRED`); fds come as `SCM_RIGHTS` and are received
//! close-on-exec.

use super::{errno, RawFd};
use std::mem::{size_of, zeroed};

pub struct Notify {
    pub fd: RawFd,
    /// The value for `NOTIFY_SOCKET`.
    pub address: String,
    path: Option<std::ffi::CString>,
}

pub struct Message {
    pub pid: Option<libc::pid_t>,
    pub text: String,
    pub fds: Vec<RawFd>,
}

impl Notify {
    pub fn open() -> Result<Notify, String> {
        let fd = super::sock::socket(libc::AF_UNIX, libc::SOCK_DGRAM).map_err(|e| format!("notify socket: {}", super::errno_str(e)))?;
        let guard = super::FdGuard(fd);
        // SAFETY: valid fd.
        unsafe {
            let fl = libc::fcntl(fd, libc::F_GETFL);
            libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
        }
        // SAFETY: getpid cannot fail.
        let pid = unsafe { libc::getpid() };
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let (name, abstract_, path) = {
            let n = format!("sdfd-activate/{pid}/{nanos:08x}");
            (n.clone().into_bytes(), true, None)
        };
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let (name, abstract_, path) = {
            let p = std::env::temp_dir().join(format!("sdfd-activate.{pid}.{nanos:08x}.sock"));
            let b = p.to_string_lossy().into_owned().into_bytes();
            (b.clone(), false, std::ffi::CString::new(b).ok())
        };
        if name.len() + 1 >= crate::addr::SUN_PATH_MAX {
            return Err("notify socket path too long (set TMPDIR to a shorter directory)".into());
        }
        let sa = super::sock::SockAddr::unix(&name, abstract_);
        // SAFETY: valid fd and address.
        if unsafe { libc::bind(fd, sa.ptr(), sa.len) } < 0 {
            return Err(format!("bind notify socket: {}", super::errno_str(errno())));
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let one: libc::c_int = 1;
            // SAFETY: valid fd and option.
            unsafe {
                libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_PASSCRED, &one as *const _ as *const libc::c_void, size_of::<libc::c_int>() as libc::socklen_t);
            }
        }
        let address = if abstract_ {
            format!("@{}", String::from_utf8_lossy(&name))
        } else {
            String::from_utf8_lossy(&name).into_owned()
        };
        Ok(Notify { fd: guard.take(), address, path })
    }

    /// The next message, or `None` when there is none waiting.
    pub fn recv(&self) -> Option<Message> {
        let mut data = vec![0u8; 64 * 1024];
        // Room for 253 fds (systemd's limit per message) and credentials.
        let mut control = vec![0u64; 512];
        let mut iov = libc::iovec { iov_base: data.as_mut_ptr() as *mut libc::c_void, iov_len: data.len() };
        loop {
            // SAFETY: zeroed msghdr is valid; fields point at live buffers.
            let mut mh: libc::msghdr = unsafe { zeroed() };
            mh.msg_iov = &mut iov;
            mh.msg_iovlen = 1;
            mh.msg_control = control.as_mut_ptr() as *mut libc::c_void;
            mh.msg_controllen = (control.len() * 8) as _;
            #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
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
            let mut msg = Message { pid: None, text: String::from_utf8_lossy(&data[..n as usize]).into_owned(), fds: Vec::new() };
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
                            msg.fds.push(fd);
                        }
                    }
                    #[cfg(any(target_os = "linux", target_os = "android"))]
                    if h.cmsg_level == libc::SOL_SOCKET && h.cmsg_type == libc::SCM_CREDENTIALS && plen >= size_of::<libc::ucred>() {
                        let cred: libc::ucred = std::ptr::read_unaligned(payload as *const libc::ucred);
                        msg.pid = Some(cred.pid);
                    }
                    c = libc::CMSG_NXTHDR(&mh, c);
                }
            }
            return Some(msg);
        }
    }
}

impl Drop for Notify {
    fn drop(&mut self) {
        super::close(self.fd);
        if let Some(p) = &self.path {
            // SAFETY: p is NUL-terminated.
            unsafe { libc::unlink(p.as_ptr()) };
        }
    }
}

/// `KEY=VALUE` lines of a notify message.
pub fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().rev().find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}
