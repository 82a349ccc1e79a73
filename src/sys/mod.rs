//! The operating-system primitives the fronts (`check`, `notify`, `fd`,
//! `env`, the backends) call, one file per OS family, chosen here once:
//!
//! * `unix`: every Unix, through libc;
//! * `linux`: Linux on x86_64 and aarch64, raw system calls in place of the
//!   libc calls of `unix` that lie on `sd_listen_fds`' path or need a newer
//!   glibc symbol version (`unix` leaves those out there);
//! * `notify_socket`: the `sd_notify` datagram protocol (Unix);
//! * `windows`: Winsock.
//!
//! The types below are the platform-neutral shapes the primitives answer in.

use core::ffi::c_int;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as imp;

#[cfg(sdfd_raw_syscalls)]
mod linux;
#[cfg(sdfd_raw_syscalls)]
pub(crate) use linux::*;

#[cfg(unix)]
pub(crate) mod notify_socket;
#[cfg(unix)]
pub(crate) use notify_socket::notify_send;

#[cfg(windows)]
pub(crate) mod windows;
#[cfg(windows)]
use windows as imp;

pub(crate) use imp::*;

/// A `CLOCK_MONOTONIC` reading in µs (`monotonic_usec`, either module).
#[cfg(unix)]
fn timespec_usec(ts: &libc::timespec) -> u64 {
    (ts.tv_sec as u64).wrapping_mul(1_000_000).wrapping_add(ts.tv_nsec as u64 / 1000)
}

/// A file's type as `fstat`/`stat` report it (`st_mode & S_IFMT`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Fifo,
    Regular,
    CharDevice,
    // (Windows examines no C runtime descriptor, so never reports one.)
    #[cfg_attr(windows, allow(dead_code))]
    Socket,
    /// Any other type, by its `S_IFMT` bits (0 when the kernel reports none).
    Other(u32),
}

/// What `sd_is_*` compares of a file: its type and identity.
#[derive(Clone, Copy)]
pub(crate) struct FileId {
    pub(crate) kind: FileKind,
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    pub(crate) rdev: u64,
}

/// `sizeof(struct sockaddr_storage)` on every supported platform.
pub(crate) const SOCKADDR_STORAGE_SIZE: usize = 128;

/// A socket's own address as `getsockname` reports it: the raw bytes (the
/// platform's `struct sockaddr_*` layout), their length and the family.
pub(crate) struct SockAddr {
    pub(crate) bytes: [u8; SOCKADDR_STORAGE_SIZE],
    pub(crate) len: usize,
    pub(crate) family: c_int,
}
