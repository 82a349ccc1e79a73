//! sdfd: the socket-activation part of systemd's `sd-daemon` API, without
//! libsystemd, as a safe Rust API and a C ABI over it.
//!
//! ```no_run
//! let n = sdfd::listen_fds(true).unwrap_or(0);
//! for fd in sdfd::LISTEN_FDS_START..sdfd::LISTEN_FDS_START + n as i32 {
//!     if sdfd::is_socket(fd, libc::AF_INET, libc::SOCK_STREAM, Some(true)) == Ok(true) {
//!         // accept() on fd
//!     }
//! }
//! ```
//!
//! Results match libsystemd 252 exactly (values, errno codes, environment
//! and `FD_CLOEXEC` side effects); the README lists every difference from
//! newer systemd and how conformance is tested.
#![cfg_attr(all(not(feature = "std"), not(test)), no_std)]

pub mod byname;
mod backend;
#[doc(hidden)]
pub use backend::systemfd_protocol;
pub mod check;
mod env;
pub mod errno;
pub mod fd;
pub mod ffi;
#[cfg(unix)]
pub mod handoff;
pub mod listen;
pub mod names;
pub mod notify;
mod once;
pub mod parse;
pub mod watchdog;
#[cfg(unix)]
pub mod snapshot;
mod sys;

pub use byname::{activate_socket, RawSocket, Sockets};
pub use check::{is_fifo, is_mq, is_socket, is_socket_inet, is_socket_sockaddr, is_socket_unix, is_special};
pub use errno::{Errno, Result};
pub use fd::RawFd;
pub use listen::{listen_fds, listen_fds_with_names, listen_socket, LISTEN_FDS_START};
pub use names::Names;
#[cfg(unix)]
pub use snapshot::{environ_without_activation, find_socket, snapshot, Address, Snapshot};
pub use notify::{booted, notify, notify_barrier, pid_notify, pid_notify_barrier, pid_notify_with_fds, watchdog_enabled};

/// The C library is built without std and with `panic = "abort"`: a panic
/// (which the code is written never to reach) ends the process, it never
/// unwinds into C.
#[cfg(all(not(feature = "std"), not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // The `panic-check` build (tests/panic-check.sh) proves that no panic
    // path survives optimisation: the handler then calls a symbol that
    // exists nowhere, and the shared library is linked with `-z defs`, so
    // the link fails if anything can still reach this function.
    #[cfg(feature = "panic-check")]
    {
        extern "C" {
            fn sdfd_panic_path_reachable_from_c_abi() -> !;
        }
        // SAFETY: never called in a build that links.
        unsafe { sdfd_panic_path_reachable_from_c_abi() }
    }
    // SAFETY: abort never returns and is async-signal-safe.
    #[cfg(not(feature = "panic-check"))]
    unsafe {
        libc::abort()
    }
}

// A deliberate panic path, compiled only into the canary build of
// tests/panic-check.sh, which must fail to link: it shows the check can
// fail. Exported with the Rust ABI so that cbindgen leaves it out of the
// generated header.
#[cfg(feature = "panic-check-canary")]
#[export_name = "sdfd_panic_canary"]
pub fn panic_canary(i: usize) -> u8 {
    [1u8, 2, 3][i]
}
