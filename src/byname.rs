//! "Give me the activated sockets named X": one by-name call for every
//! activation protocol, modelled on launchd's `launch_activate_socket`.
//!
//! * systemd protocol (`LISTEN_PID`/`LISTEN_FDS`/`LISTEN_FDNAMES`, any Unix):
//!   the sockets named X are **all** passed fds whose `LISTEN_FDNAMES` entry
//!   equals X, in fd order (`3 + i` for entry `i`). They are the passed fds
//!   themselves, not duplicates. The environment is not modified, and
//!   `FD_CLOEXEC` is set on every passed fd, exactly as `sd_listen_fds(0)`
//!   does. Without `LISTEN_FDNAMES` every fd is named `unknown`.
//! * launchd (macOS): see `backend::launchd`.
//!
//! Each name is handed out once per process: a second call for the same name
//! is `EALREADY`, as launchd does. For the systemd protocol this is tracked
//! in a process-wide bitset ([`Taken`]) indexed by the position of the
//! name's *first* fd: claiming that one bit with an atomic `fetch_or` is the
//! whole claim, so two threads asking for the same name concurrently get the
//! sockets once and `EALREADY` once. No allocation, no locks, no panics.

use core::ffi::CStr;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::errno::{Errno, Result};
use crate::names::OwnedNames;

pub use crate::fd::RawSocket;

/// The sockets returned by [`activate_socket`]: a `malloc`ed array of
/// [`RawSocket`]s (C: `sdfd_socket_t *`).
///
/// Dropping it frees the array but does **not** close the sockets: they are
/// the caller's from the moment they are returned (wrap them, e.g. with
/// `OwnedFd::from_raw_fd`, or use [`SocketArray::into_owned_fds`]).
/// [`SocketArray::into_raw`] hands the array itself over (release it with `free`).
pub struct SocketArray {
    ptr: *mut RawSocket,
    len: usize,
}

// SAFETY: the array is exclusively owned; the handles are plain integers.
unsafe impl Send for SocketArray {}
// SAFETY: as for Send; `&SocketArray` only reads.
unsafe impl Sync for SocketArray {}

impl SocketArray {
    /// A zeroed `malloc`ed array for `len` sockets, which the caller fills
    /// before handing it out.
    pub(crate) fn with_len(len: usize) -> Result<SocketArray> {
        let bytes = len.max(1).checked_mul(core::mem::size_of::<RawSocket>()).ok_or(Errno::ENOMEM)?;
        // SAFETY: malloc with a checked size; NULL is handled.
        let ptr = unsafe { libc::calloc(1, bytes) } as *mut RawSocket;
        if ptr.is_null() {
            return Err(Errno::ENOMEM);
        }
        Ok(SocketArray { ptr, len })
    }

    /// Take ownership of a `malloc`ed array of `len` sockets (as returned by
    /// `launch_activate_socket` or [`SocketArray::into_raw`]).
    ///
    /// # Safety
    /// `ptr` was allocated with the C allocator, holds `len` initialised
    /// handles, and is not used or freed elsewhere afterwards. `ptr` may be
    /// NULL only if `len` is 0.
    pub unsafe fn from_raw(ptr: *mut RawSocket, len: usize) -> SocketArray {
        SocketArray { ptr, len }
    }

    /// Number of sockets (at least 1 for a successful activation).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The sockets in order.
    pub fn as_slice(&self) -> &[RawSocket] {
        if self.ptr.is_null() {
            return &[];
        }
        // SAFETY: ptr holds len initialised handles (constructor contracts).
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [RawSocket] {
        if self.ptr.is_null() {
            return &mut [];
        }
        // SAFETY: as in as_slice; &mut self gives exclusive access.
        unsafe { core::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    /// Give the array to C: `(pointer, count)`; release it with `free()`.
    pub fn into_raw(self) -> (*mut RawSocket, usize) {
        let r = (self.ptr, self.len);
        core::mem::forget(self);
        r
    }

    /// The sockets as owned descriptors (closed when dropped).
    #[cfg(all(feature = "std", unix))]
    pub fn into_owned_fds(self) -> std::vec::Vec<std::os::fd::OwnedFd> {
        use std::os::fd::FromRawFd;
        // SAFETY: the sockets were handed to us and are open; each is
        // wrapped once.
        self.as_slice().iter().map(|&fd| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }).collect()
    }
}

impl Drop for SocketArray {
    fn drop(&mut self) {
        // SAFETY: ptr is NULL or a C-allocated array we own.
        unsafe { libc::free(self.ptr as *mut libc::c_void) }
    }
}

impl core::fmt::Debug for SocketArray {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// Largest number of passed fds whose names can be tracked: a name whose
/// first fd has index `TAKEN_CAPACITY` or more (fd 4099 and up) cannot be
/// claimed and is refused with `E2BIG` (it is still reachable through
/// `sd_listen_fds_with_names`).
pub const TAKEN_CAPACITY: usize = 4096;
const WORD_BITS: usize = usize::BITS as usize;
const WORDS: usize = TAKEN_CAPACITY / WORD_BITS;

/// A process-wide set of claimed fd indices (512 bytes, no allocation).
#[cfg_attr(not(unix), allow(dead_code))]
pub(crate) struct Taken {
    bits: [AtomicUsize; WORDS],
}

#[cfg_attr(not(unix), allow(dead_code))]
impl Taken {
    pub(crate) const fn new() -> Taken {
        #[allow(clippy::declare_interior_mutable_const)]
        const ZERO: AtomicUsize = AtomicUsize::new(0);
        Taken { bits: [ZERO; WORDS] }
    }

    /// Claim index `i`: `Ok` the first time, `EALREADY` afterwards.
    pub(crate) fn claim(&self, i: usize) -> Result<()> {
        let word = self.bits.get(i / WORD_BITS).ok_or(Errno::E2BIG)?;
        let bit = 1usize << (i % WORD_BITS);
        if word.fetch_or(bit, Ordering::AcqRel) & bit != 0 {
            return Err(Errno::EALREADY);
        }
        Ok(())
    }

    /// Forget every claim (a new activation set, e.g. in tests).
    #[cfg(test)]
    pub(crate) fn clear(&self) {
        for w in &self.bits {
            w.store(0, Ordering::Release);
        }
    }
}

/// The sockets named `name` in a per-fd name list whose entry `i` names fd
/// `start + i`: all matching entries in order. `ENOENT` if none matches,
/// `EALREADY` if the name was claimed before in `taken`. Nothing is claimed
/// unless the result is `Ok`.
pub(crate) fn sockets_named(
    names: &OwnedNames,
    name: &CStr,
    start: RawSocketNum,
    taken: &Taken,
) -> Result<SocketArray> {
    // Index loops with wrapping counters rather than position/count/
    // enumerate, whose counters carry overflow checks into the panic-check
    // build; indices are bounded by the name list's length.
    let matching = || (0..names.len()).filter(move |&i| names.get(i) == Some(name));
    let first = matching().next().ok_or(Errno::ENOENT)?;
    let count = matching().fold(0usize, |c, _| c.wrapping_add(1));
    // Allocate before claiming, so that ENOMEM leaves the name available.
    let mut out = SocketArray::with_len(count)?;
    taken.claim(first)?;
    for (slot, i) in out.as_mut_slice().iter_mut().zip(matching()) {
        // i < names.len(), which the backends keep below i32::MAX - start.
        *slot = start.wrapping_add(i as RawSocketNum);
    }
    Ok(out)
}

#[cfg(unix)]
type RawSocketNum = crate::fd::RawFd;
/// On Windows the backend maps indices to `SOCKET`s afterwards.
#[cfg(windows)]
type RawSocketNum = usize;

/// The sockets this process was given under the name `name`.
///
/// * systemd protocol: every passed fd whose `LISTEN_FDNAMES` entry is
///   `name` (fd order; the fds themselves, `FD_CLOEXEC` set, environment
///   untouched — the same checks and errors as `sd_listen_fds_with_names(0)`).
/// * launchd (macOS): see the README ("macOS / launchd").
///
/// Errors: `ESRCH` not socket-activated (no or foreign `LISTEN_PID`, not a
/// launchd job), `ENOENT` no socket of that name, `EALREADY` already
/// returned by an earlier call in this process, plus the activation's own
/// errors (`EINVAL` for a bad `LISTEN_FDS` or a `LISTEN_FDNAMES` count
/// mismatch, `EBADF` for a passed fd that is not open, `E2BIG` past
/// 4096 fds, `ENOMEM`).
///
/// ```no_run
/// # #[cfg(unix)] {
/// match sdfd::activate_socket(c"web") {
///     Ok(sockets) => {
///         for fd in sockets.into_owned_fds() {
///             let listener = std::net::TcpListener::from(fd);
///             // serve on listener
///         }
///     }
///     Err(sdfd::Errno::ESRCH | sdfd::Errno::ENOENT) => { /* bind a socket yourself */ }
///     Err(e) => return Err(e.into()),
/// }
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn activate_socket(name: &CStr) -> Result<SocketArray> {
    crate::backend::platform::activate_socket(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &str) -> OwnedNames {
        OwnedNames::split(s.as_bytes()).unwrap()
    }

    #[test]
    fn lookup_all_fds_of_a_name_in_order() {
        let t = Taken::new();
        let n = names("http:ctl:http:udp");
        let s = sockets_named(&n, c"http", 3, &t).unwrap();
        assert_eq!(s.as_slice(), [3, 5]);
        assert_eq!(sockets_named(&n, c"udp", 3, &t).unwrap().as_slice(), [6]);
        assert_eq!(sockets_named(&n, c"ctl", 10, &t).unwrap().as_slice(), [11]);
    }

    #[test]
    fn lookup_errors() {
        let t = Taken::new();
        let n = names("a:b:a");
        assert_eq!(sockets_named(&n, c"c", 3, &t).unwrap_err(), Errno::ENOENT);
        assert_eq!(sockets_named(&n, c"A", 3, &t).unwrap_err(), Errno::ENOENT);
        assert_eq!(sockets_named(&n, c"a", 3, &t).unwrap().len(), 2);
        assert_eq!(sockets_named(&n, c"a", 3, &t).unwrap_err(), Errno::EALREADY);
        // ENOENT wins over nothing; b is untouched by a's claim
        assert_eq!(sockets_named(&n, c"b", 3, &t).unwrap().as_slice(), [4]);
        assert_eq!(sockets_named(&n, c"b", 3, &t).unwrap_err(), Errno::EALREADY);
        // an empty LISTEN_FDNAMES field is a name too
        let e = names("x::y");
        assert_eq!(sockets_named(&e, c"", 3, &Taken::new()).unwrap().as_slice(), [4]);
    }

    #[test]
    fn taken_is_one_claim_per_index_across_threads() {
        static T: Taken = Taken::new();
        let wins: usize = std::thread::scope(|s| {
            let hs: std::vec::Vec<_> = (0..8).map(|_| s.spawn(|| T.claim(77).is_ok() as usize)).collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(wins, 1);
        assert_eq!(T.claim(TAKEN_CAPACITY - 1), Ok(()));
        assert_eq!(T.claim(TAKEN_CAPACITY), Err(Errno::E2BIG));
        assert_eq!(T.claim(usize::MAX), Err(Errno::E2BIG));
        T.clear();
        assert_eq!(T.claim(77), Ok(()));
    }

    #[test]
    fn sockets_array_is_c_allocated_and_handed_over() {
        let t = Taken::new();
        let n = names("q:q:q");
        let (p, len) = sockets_named(&n, c"q", 3, &t).unwrap().into_raw();
        assert_eq!(len, 3);
        // SAFETY: the array came from into_raw.
        let back = unsafe { SocketArray::from_raw(p, len) };
        assert_eq!(back.as_slice(), [3, 4, 5]);
        drop(back); // frees with free(): valgrind/ASan would flag a mismatch
                    // SAFETY: a NULL array with length 0 is allowed.
        let empty = unsafe { SocketArray::from_raw(core::ptr::null_mut(), 0) };
        assert!(empty.is_empty() && empty.as_slice().is_empty());
    }
}
