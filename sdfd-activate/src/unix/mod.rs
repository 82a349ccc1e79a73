//! The launcher on Unix (Linux, macOS, BSD): open the sockets, start the
//! command with them, and supervise it. One module per concern:
//! `startup` (descriptors, sockets, then the supervisor), `signals` (a
//! self-pipe read by the main loop), `supervise` (children, replacement,
//! restarts, notify messages, the main loop), `spawn` (process creation),
//! `notify` (the `NOTIFY_SOCKET` receiver), `sock` (listening sockets).

mod notify;
mod signals;
mod sock;
mod spawn;
mod startup;
mod supervise;

pub use startup::run;

pub type RawFd = libc::c_int;

pub fn errno() -> i32 {
    sdfd::Errno::last().0
}

pub fn errno_str(e: i32) -> String {
    let s = std::io::Error::from_raw_os_error(e).to_string();
    // "No such file or directory (os error 2)" -> without the suffix.
    match s.rfind(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

pub fn close(fd: RawFd) {
    // SAFETY: closing an fd we own.
    unsafe { libc::close(fd) };
}

/// Closes the fd on drop unless taken.
pub struct FdGuard(pub RawFd);

impl Drop for FdGuard {
    fn drop(&mut self) {
        close(self.0);
    }
}

pub fn set_cloexec(fd: RawFd, on: bool) -> bool {
    // SAFETY: fcntl on an fd number; fails with EBADF if closed.
    unsafe {
        let f = libc::fcntl(fd, libc::F_GETFD);
        if f < 0 {
            return false;
        }
        let nf = if on { f | libc::FD_CLOEXEC } else { f & !libc::FD_CLOEXEC };
        nf == f || libc::fcntl(fd, libc::F_SETFD, nf) == 0
    }
}
