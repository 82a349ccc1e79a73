//! Activated descriptors: the platform-neutral API over the backends.

use crate::backend::platform;
use crate::errno::Result;
use crate::fd::{RawFd, RawSocket};
use crate::names::OwnedNames;

/// First passed descriptor (`SD_LISTEN_FDS_START`).
pub const LISTEN_FDS_START: RawFd = 3;

/// How many descriptors were passed to this process (`sd_listen_fds`).
///
/// They are `LISTEN_FDS_START .. LISTEN_FDS_START + n`, all with
/// `FD_CLOEXEC` set. `Ok(0)` means "not socket-activated". With
/// `unset_environment`, the `LISTEN_*` variables are removed on every path
/// (not thread-safe, as in libsystemd).
pub fn listen_fds(unset_environment: bool) -> Result<usize> {
    platform::listen_fds(unset_environment)
}

/// As [`listen_fds`], with one name per descriptor
/// (`sd_listen_fds_with_names`). An empty list means "not activated".
pub fn listen_fds_with_names(unset_environment: bool) -> Result<OwnedNames> {
    platform::listen_fds_with_names(unset_environment)
}

/// Activated socket `index` (0-based, in the order the launcher passed
/// them), the same way on every platform (`sdfd_listen_socket`).
///
/// Unix: `LISTEN_FDS_START + index` after the checks of
/// `listen_fds(false)`. Windows: the `SOCKET` received from the launcher.
/// `ENXIO` when `index` is not below the count (or nothing was passed);
/// otherwise the error of the activation itself.
pub fn listen_socket(index: usize) -> Result<RawSocket> {
    platform::socket(index)
}
