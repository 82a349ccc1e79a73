//! The operating-system primitives the fronts (`check`, `notify`, `fd`,
//! `env`, the backends) call, one file per OS family, chosen here once:
//!
//! * `linux`: Linux on x86_64 and aarch64, raw system calls;
//! * `unix`: every other Unix, the same functions over libc;
//! * `windows`: Winsock.

#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
mod linux;
#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
use linux as imp;

#[cfg(all(unix, not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))))]
mod unix;
#[cfg(all(unix, not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))))]
use unix as imp;

#[cfg(windows)]
pub(crate) mod windows;

#[cfg(unix)]
pub(crate) use imp::*;
