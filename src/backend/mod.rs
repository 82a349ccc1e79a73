//! Where activated descriptors come from. Each backend implements the same
//! functions (`listen_fds`, `listen_fds_with_names`, `socket`);
//! `crate::listen` picks one per platform.
//!
//! * `systemd`: the `LISTEN_PID`/`LISTEN_FDS`/`LISTEN_FDNAMES` environment
//!   protocol with fds from 3 (systemd, systemd-socket-activate, systemfd,
//!   sdfd-activate). Used on every Unix.
//! * `windows`: the systemfd/listenfd protocol (`SYSTEMFD_SOCKET_SERVER`,
//!   `SYSTEMFD_SOCKET_SECRET`, one `WSAPROTOCOL_INFOW` per socket).

#[cfg(unix)]
pub(crate) mod systemd;

#[cfg(unix)]
pub(crate) use systemd as platform;

#[cfg(windows)]
pub(crate) mod windows;

#[cfg(windows)]
pub(crate) use self::windows as platform;
