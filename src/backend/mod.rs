//! Where activated descriptors come from. Each backend implements the same
//! functions (`listen_fds`, `listen_fds_with_names`, `socket`,
//! `activate_socket`); `crate::listen` and `crate::byname` call the platform's.
//!
//! * `listen_env`: the `LISTEN_PID`/`LISTEN_FDS`/`LISTEN_FDNAMES` environment
//!   protocol with fds from 3 (systemd, systemd-socket-activate, systemfd,
//!   sdfd-activate). Used on every Unix.
//! * `launchd`: macOS, `launch_activate_socket` by name, renumbered onto
//!   3.., after the systemd protocol. Also built for the tests on Linux,
//!   with the launchd call replaced by a test double.
//! * `systemfd`: the systemfd/listenfd protocol (`SYSTEMFD_SOCKET_SERVER`,
//!   `SYSTEMFD_SOCKET_SECRET`, one `WSAPROTOCOL_INFOW` per socket), over
//!   Winsock; its pure part (parsing, request, record framing) is
//!   `systemfd_protocol`, tested on every platform: compiled on Windows, and
//!   elsewhere for the tests and with `capi` (the fuzz harness), not into a
//!   Rust consumer's default build (issue 30: its cold build time).

#[cfg(unix)]
pub(crate) mod listen_env;

#[cfg(any(target_vendor = "apple", all(test, unix)))]
pub(crate) mod launchd;

#[cfg(all(unix, not(target_vendor = "apple")))]
pub(crate) use listen_env as platform;

#[cfg(target_vendor = "apple")]
pub(crate) use launchd as platform;

#[cfg(windows)]
pub(crate) mod systemfd;
/// cbindgen:ignore
#[cfg(any(windows, test, feature = "capi"))]
pub mod systemfd_protocol;

#[cfg(windows)]
pub(crate) use self::systemfd as platform;
