//! The error type: a positive errno value, as sd-daemon reports it (negated)
//! through its C return values. No new error enum: every failure is an errno.

use core::fmt;

/// A positive `errno` value (`EINVAL`, `EBADF`, ...).
///
/// The C layer returns `-errno.0`; Rust callers match on the constants.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

impl Errno {
    /// `EINVAL`: Invalid argument (a malformed variable, a NULL pointer).
    pub const EINVAL: Errno = Errno(libc::EINVAL);
    /// `ERANGE`: A number out of range.
    pub const ERANGE: Errno = Errno(libc::ERANGE);
    /// `EBADF`: A descriptor that is not open.
    pub const EBADF: Errno = Errno(libc::EBADF);
    /// `ENOMEM`: Out of memory.
    pub const ENOMEM: Errno = Errno(libc::ENOMEM);
    /// `ENOENT`: No such name or file.
    pub const ENOENT: Errno = Errno(libc::ENOENT);
    /// `ENOBUFS`: No buffer space.
    pub const ENOBUFS: Errno = Errno(libc::ENOBUFS);
    /// `ENOSYS`: Not implemented on this platform.
    pub const ENOSYS: Errno = Errno(libc::ENOSYS);
    /// `EPFNOSUPPORT`: protocol family not supported.
    /// Windows' CRT has no `EPFNOSUPPORT`: `EAFNOSUPPORT` stands in there.
    #[cfg(unix)]
    pub const EPFNOSUPPORT: Errno = Errno(libc::EPFNOSUPPORT);
    #[cfg(windows)]
    /// `EPFNOSUPPORT` (`EAFNOSUPPORT` on Windows).
    pub const EPFNOSUPPORT: Errno = Errno(libc::EAFNOSUPPORT);
    /// `EAFNOSUPPORT`: Address family not supported.
    pub const EAFNOSUPPORT: Errno = Errno(libc::EAFNOSUPPORT);
    /// `ENAMETOOLONG`: A socket path too long for `sun_path`.
    pub const ENAMETOOLONG: Errno = Errno(libc::ENAMETOOLONG);
    /// `EALREADY`: Already handed out once in this process.
    pub const EALREADY: Errno = Errno(libc::EALREADY);
    /// `ESRCH`: Not socket-activated (no or a foreign `LISTEN_PID`).
    pub const ESRCH: Errno = Errno(libc::ESRCH);
    /// `E2BIG`: Too many descriptors or too large a value.
    pub const E2BIG: Errno = Errno(libc::E2BIG);
    /// `EBUSY`: Busy.
    pub const EBUSY: Errno = Errno(libc::EBUSY);
    /// `EIO`: An I/O error.
    pub const EIO: Errno = Errno(libc::EIO);
    /// `ENXIO`: No such activated socket (index past the count).
    pub const ENXIO: Errno = Errno(libc::ENXIO);

    /// The calling thread's current `errno`.
    #[inline]
    pub fn last() -> Errno {
        // SAFETY: the errno location is always a valid thread-local int.
        Errno(unsafe { *errno_location() })
    }

    /// The value as the C ABI returns it: `-errno`.
    #[inline]
    pub const fn negated(self) -> i32 {
        // errno values are small and positive; wrapping keeps the C library
        // free of an overflow-panic path (tests/panic-check.sh).
        self.0.wrapping_neg()
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Errno({})", self.0)
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "errno {}", self.0)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Errno {}

#[cfg(feature = "std")]
impl From<Errno> for std::io::Error {
    fn from(e: Errno) -> Self {
        std::io::Error::from_raw_os_error(e.0)
    }
}

/// Set the calling thread's `errno` (needed around `strtol`-style calls,
/// whose only overflow signal is `errno`: the parse tests' reference).
#[cfg(test)]
pub(crate) fn set_errno(v: i32) {
    // SAFETY: as in `Errno::last`.
    unsafe { *errno_location() = v }
}

#[cfg(any(target_os = "linux", target_os = "emscripten"))]
unsafe fn errno_location() -> *mut i32 {
    libc::__errno_location()
}

// (bionic's is `__errno`, as NetBSD's and OpenBSD's)
#[cfg(any(target_os = "netbsd", target_os = "openbsd", target_os = "android"))]
unsafe fn errno_location() -> *mut i32 {
    libc::__errno()
}

#[cfg(any(target_os = "illumos", target_os = "solaris"))]
unsafe fn errno_location() -> *mut i32 {
    libc::___errno()
}

#[cfg(any(target_vendor = "apple", target_os = "freebsd"))]
unsafe fn errno_location() -> *mut i32 {
    libc::__error()
}

#[cfg(windows)]
unsafe fn errno_location() -> *mut i32 {
    extern "C" {
        fn _errno() -> *mut i32;
    }
    _errno()
}

/// `Result` with an [`Errno`] error.
pub type Result<T> = core::result::Result<T, Errno>;
