//! The operating-system primitives the fronts call, one file per OS family.

#[cfg(unix)]
mod linux;
#[cfg(unix)]
pub(crate) use linux::*;

#[cfg(windows)]
pub(crate) mod windows;
