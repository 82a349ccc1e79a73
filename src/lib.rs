//! sdfd: systemd socket activation and service notification without
//! libsystemd, for Rust programs, and (feature `capi`) the `sd-daemon` C ABI.
//!
//! Sockets by name, as checked std types, with a fallback when the program
//! was started by hand (feature `std`, Unix):
//!
//! ```no_run
//! # #[cfg(unix)] {
//! // The socket systemd passed as `FileDescriptorName=web`, else our own.
//! let listener = sdfd::tcp_listener_or_bind("web", "127.0.0.1:8080")?;
//! sdfd::notify(&[sdfd::NotifyState::Ready, sdfd::NotifyState::Status("serving")])?;
//! # }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Nothing here modifies the environment unless its name says so: the
//! `*_and_unset_env` variants, which remove the activation variables as
//! libsystemd's `unset_environment` flag does, are `unsafe` (`unsetenv`
//! races with any other thread reading the environment).
//!
//! Results match libsystemd 252 exactly (values, errno codes, environment
//! and `FD_CLOEXEC` side effects); the README lists every difference from
//! newer systemd and how conformance is tested.
//!
//! # Features
//! * `std` (default): the typed socket API, typed notify states,
//!   `std::io::Error` conversions. Without it the crate is `no_std` and
//!   depends on `libc` only (`windows-sys` on Windows).
//! * `capi`: the C ABI (`sd_listen_fds` … with `#[no_mangle]`, module
//!   `ffi`) for the C library that `make` builds. Do not enable it in a
//!   Rust program: its `sd_*` symbols would take the place of libsystemd's
//!   for every C library linked into the same program.
#![cfg_attr(all(not(feature = "std"), not(test)), no_std)]
#![deny(missing_docs)]

#[cfg(unix)]
pub mod address;
mod api;
#[cfg(all(feature = "std", unix))]
pub use api::notify_with_fds;
pub use api::{
    booted, listen_fds, listen_fds_and_unset_env, listen_fds_with_names, listen_fds_with_names_and_unset_env,
    notify_barrier, notify_str, notify_str_and_unset_env, pid_notify, watchdog_enabled, watchdog_enabled_and_unset_env,
};
#[cfg(feature = "std")]
pub use api::{notify, notify_and_unset_env, NotifyState};
mod backend;
mod byname;
#[cfg(any(windows, test, feature = "capi"))]
#[doc(hidden)]
pub use backend::systemfd_protocol;
mod check;
mod env;
mod errno;
mod fd;
#[cfg(feature = "capi")]
pub mod ffi;
// The hand-off (docs/handoff.md): feature `handoff` (the C ABI's `capi`
// enables it), not in a Rust consumer's default build (issue 30: its cold
// build time); its unit tests always run.
#[cfg(all(unix, any(feature = "handoff", test)))]
pub mod handoff;
mod listen;
mod names;
mod notify;
// Used by the launchd and systemfd backends (macOS, Windows); the snapshot
// keeps one answer per process instead (see snapshot.rs: fork).
#[cfg_attr(not(any(windows, target_vendor = "apple")), allow(dead_code))]
mod once;
mod parse;
#[cfg(unix)]
mod snapshot;
#[cfg(all(feature = "std", unix))]
mod std_sockets;
// Without the hand-off some primitives have no user (the directory-relative
// calls, `close_range`, `accept4` ...): allowed to be dead there, and
// checked in the builds that have it (tests, `capi`, `handoff`).
#[cfg_attr(not(any(feature = "handoff", test)), allow(dead_code, unused_imports))]
mod sys;
mod watchdog;

#[cfg(unix)]
pub use address::{AddressError, SocketAddress};
pub use byname::{activate_socket, SocketArray};
/// The name of [`SocketArray`] in sdfd 0.1.0.
#[deprecated(since = "0.2.0", note = "renamed to `SocketArray` (the malloc'ed C array of sockets)")]
pub type Sockets = SocketArray;
pub use check::{is_fifo, is_mq, is_socket, is_socket_inet, is_socket_sockaddr, is_socket_unix, is_special};
pub use errno::{Errno, Result};
pub use fd::{RawFd, RawSocket};
pub use listen::{listen_socket, LISTEN_FDS_START};
pub use names::OwnedNames;
/// The name of [`OwnedNames`] in sdfd 0.1.0.
#[deprecated(since = "0.2.0", note = "renamed to `OwnedNames` (the owned, malloc'ed list)")]
pub type Names = OwnedNames;
pub use env::is_activation_var;
#[cfg(unix)]
pub use snapshot::{environ_without_activation, find_socket, snapshot, Address, InetAddr, Snapshot};
#[cfg(all(feature = "std", unix))]
pub use std_sockets::{
    take, take_all, take_tcp_listener, take_udp_socket, take_unix_datagram, take_unix_listener, tcp_listener_or_bind,
    udp_socket_or_bind, unix_listener_or_bind, ActivatedSocket,
};

/// For the fuzz harness (fuzz/harness.rs) only: the `NOTIFY_SOCKET` parser.
/// Not part of the API.
#[cfg(all(feature = "capi", unix))]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::notify::{parse_target, Target};
}

/// The C library is built without std and with `panic = "abort"`: a panic
/// (which the code is written never to reach) ends the process, it never
/// unwinds into C.
#[cfg(all(feature = "capi", not(feature = "std"), not(test)))]
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

// 32-bit Arm (armhf): the prebuilt `core` is compiled with unwinding, and
// its ARM EHABI unwind tables (`.ARM.exidx`) name `rust_eh_personality`,
// which a `panic = "abort"` no_std library does not define: libsdfd.so was
// left with that symbol undefined and no program could link it
// (tests/arch/run.sh armhf: "undefined reference to `rust_eh_personality'").
// Nothing unwinds through this library, so the personality routine is
// never called: a hidden one that returns (`bx lr`), in assembly so that
// the shared library does not export it (rustc exports every `#[no_mangle]`
// function of a cdylib).
#[cfg(all(feature = "capi", not(feature = "std"), not(test), target_arch = "arm"))]
core::arch::global_asm!(
    ".text",
    ".p2align 2",
    ".globl rust_eh_personality",
    ".hidden rust_eh_personality",
    ".type rust_eh_personality, %function",
    "rust_eh_personality:",
    "bx lr",
    ".size rust_eh_personality, . - rust_eh_personality",
);

/// A deliberate panic path, compiled only into the canary build of
/// tests/panic-check.sh, which must fail to link: it shows the check can
/// fail. Exported with the Rust ABI so that cbindgen leaves it out of the
/// generated header.
#[cfg(feature = "panic-check-canary")]
#[doc(hidden)]
#[export_name = "sdfd_panic_canary"]
pub fn panic_canary(i: usize) -> u8 {
    [1u8, 2, 3][i]
}
