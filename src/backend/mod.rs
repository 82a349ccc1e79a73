//! Where activated descriptors come from. Each backend implements the same
//! two functions; `crate::listen` picks one per platform.
//!
//! * `systemd`: the `LISTEN_PID`/`LISTEN_FDS`/`LISTEN_FDNAMES` environment
//!   protocol with fds from 3 (systemd, systemd-socket-activate, systemfd,
//!   sdfd-activate). Used on every Unix.

#[cfg(unix)]
pub(crate) mod systemd;

#[cfg(unix)]
pub(crate) use systemd as platform;
