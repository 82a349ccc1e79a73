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

#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls)))]
mod linux;
#[cfg(unix)]
pub(crate) mod notify_socket;
#[cfg(unix)]
mod unix;
#[cfg(windows)]
pub(crate) mod windows;

// Which primitive comes from which file, per target. No glob imports: each
// name below is defined by the file named, for the targets named, and by no
// other file for them.

// Every Unix, through libc (`unix.rs`): sockets, file identity, the barrier
// pipe.
#[cfg(unix)]
pub(crate) use unix::{
    barrier_pipe, fd_file_id, is_listening, is_mq_handle, is_socket_handle, local_addr, path_file_id, sockaddr_family,
    socket_is_invalid, socket_type, sun_path_offset, wait_hangup, Stat, AF_INET, AF_INET6, AF_UNIX,
};
// Unix without `SO_PEERCRED` (BSDs, Apple: libc's; illumos: over
// `getpeerucred`).
#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
pub(crate) use unix::getpeereid;
// The `sd_notify` datagram protocol (every Unix: `notify_socket.rs`).
#[cfg(unix)]
pub(crate) use notify_socket::notify_send;

// Descriptors, `stat`, poll, pipes, the clock and the hand-off's
// directory-relative calls: raw system calls on Linux x86_64/aarch64
// (`linux.rs`) ...
#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls)))]
pub(crate) use linux::{
    accept_cloexec_nonblock, chmod_in, close_range, environ, exists_nofollow, fstat, get_fd_flags, getpid, link_in,
    mkdir_in, monotonic_usec, mq_getattr, open_in, own_pidfd_inode, pipe_cloexec, ppoll_one, set_fd_flags, stat_at,
    stat_in, unlink_in,
};
// ... and through libc (`unix.rs`) on every other Unix: Linux on i686, armhf,
// s390x, ppc64el ..., Android, the BSDs, illumos, Apple ...
#[cfg(all(
    unix,
    not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls)))
))]
pub(crate) use unix::{
    chmod_in, environ, exists_nofollow, fstat, get_fd_flags, getpid, link_in, mkdir_in, monotonic_usec, open_in,
    pipe_cloexec, ppoll_one, set_fd_flags, stat_at, stat_in, unlink_in,
};
// ... of which these only on a Linux kernel (Linux, Android) ...
#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls)))
))]
pub(crate) use unix::{accept_cloexec_nonblock, mq_getattr, own_pidfd_inode};
// ... and `close_range` only on Linux itself (the hand-off's spawn calls it).
#[cfg(all(
    target_os = "linux",
    not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(sdfd_no_raw_syscalls)))
))]
pub(crate) use unix::close_range;

// Windows, through Winsock (`windows.rs`).
#[cfg(windows)]
pub(crate) use windows::{
    barrier_pipe, exists_nofollow, fd_file_id, get_fd_flags, is_listening, is_mq_handle, is_socket_handle, local_addr,
    notify_send, path_file_id, sockaddr_family, socket_is_invalid, socket_type, sun_path_offset, wait_hangup, AF_INET,
    AF_INET6, AF_UNIX,
};

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
