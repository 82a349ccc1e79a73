//! Hand-off without a supervisor: a running daemon passes its named sockets
//! (and any other descriptors, e.g. a state memfd) to its successor.
//!
//! Two ways, both Unix only (docs/handoff.md is the full description):
//!
//! * [`offer`] / [`receive`]: the running instance offers its descriptors on
//!   a unix socket path; a successor started in any way (by hand, a script,
//!   a container runtime) connects, receives them, and from then on they are
//!   its activated sockets: `LISTEN_PID`/`LISTEN_FDS`/`LISTEN_FDNAMES` are set
//!   for it and the descriptors sit at `3..3+n`, so `sd_listen_fds*`,
//!   [`crate::listen_socket`] and the by-name [`crate::activate_socket`] work
//!   exactly as under systemd. [`offer`] returns only once the successor has
//!   acknowledged; on any failure the old instance still holds everything.
//! * [`spawn`]: start a successor program with the descriptors passed the
//!   systemd way (placed at `3..` and `LISTEN_PID` set in the child after
//!   `fork`; `FD_CLOEXEC` cleared only in the child).
//!
//! Wire format, version 1 (one `SOCK_STREAM` connection, offerer first):
//!
//! ```text
//! offerer -> successor  header, 16 bytes:
//!                         "SDFDHO" magic, u8 version (1), u8 status (0 ok, 1 refused),
//!                         u32 LE number of descriptors n, u32 LE length of the name block
//!                       name block: n names, each NUL-terminated, in descriptor order
//!                       ceil(n / 253) messages of one byte (b'F') each carrying up to
//!                         253 descriptors in one SCM_RIGHTS control message, in order
//! successor -> offerer  acknowledgement, 8 bytes: "SDFDACK" and u8 version (1), sent once
//!                         the descriptors are in place at 3.. and the environment is set
//! ```
//!
//! A refused peer gets a header with status 1 and n = 0, then the
//! connection is closed.
//!
//! No allocation beyond `malloc` for the spawn environment, no panics, no
//! `std`: this is part of the no_std C library.

use core::ffi::{c_char, c_int, c_void, CStr};

use crate::errno::{Errno, Result};
use crate::fd::RawFd;
use crate::listen::LISTEN_FDS_START;

mod offer;
mod receive;
mod spawn;
mod wire;

pub use offer::offer;
pub use receive::receive;
pub use spawn::spawn;
use wire::*;

/// Most descriptors one hand-off carries.
pub const HANDOFF_MAX_FDS: usize = 1024;
/// Longest name (as `LISTEN_FDNAMES` allows).
pub const HANDOFF_MAX_NAME: usize = 255;
/// Wire-format version.
pub const HANDOFF_VERSION: u8 = 1;
/// Descriptors per `SCM_RIGHTS` message (Linux's `SCM_MAX_FD`).
const FDS_PER_MSG: usize = 253;
const MAGIC: &[u8; 6] = b"SDFDHO";
const ACK: &[u8; 8] = b"SDFDACK\x01";
const HEADER_LEN: usize = 16;
const STATUS_OK: u8 = 0;
const STATUS_REFUSED: u8 = 1;

/// A timeout in microseconds meaning "no timeout".
pub const INFINITY: u64 = u64::MAX;

/// The names of the descriptors to hand off, borrowed for the call: a Rust
/// slice (the only form a caller of the Rust API can build) or the C API's
/// array. (Not the owned, `malloc`ed list [`crate::OwnedNames`] that
/// `listen_fds_with_names` returns.)
///
/// ```
/// use sdfd::handoff::BorrowedNames;
/// let names = BorrowedNames::Slice(&[c"web", c"state"]);
/// # let _ = names;
/// ```
///
/// A raw pointer cannot be passed in from safe code (`offer` is safe):
///
/// ```compile_fail,E0308
/// let names = sdfd::handoff::BorrowedNames::Raw(core::ptr::null());
/// ```
///
/// ```compile_fail,E0624
/// // SAFETY: not even an unsafe block reaches the crate-private constructor.
/// let names = sdfd::handoff::BorrowedNames::Raw(unsafe { sdfd::handoff::RawNames::new(core::ptr::null()) });
/// ```
#[derive(Clone, Copy)]
pub enum BorrowedNames<'a> {
    /// One name per descriptor.
    Slice(&'a [&'a CStr]),
    /// A C array of `n` NUL-terminated strings, only built inside the crate
    /// (by the C API, whose caller made the promise).
    Raw(RawNames<'a>),
}

/// The C API's `const char *const *names`: no safe way to build one.
#[derive(Clone, Copy)]
pub struct RawNames<'a>(*const *const c_char, core::marker::PhantomData<&'a CStr>);

impl RawNames<'_> {
    /// # Safety
    /// `p` is NULL or points to as many readable entries as descriptors are
    /// passed with it, each NULL or a NUL-terminated string, all valid for
    /// the call they are passed to.
    #[cfg_attr(not(feature = "capi"), allow(dead_code))]
    pub(crate) unsafe fn new(p: *const *const c_char) -> Self {
        RawNames(p, core::marker::PhantomData)
    }
}

impl BorrowedNames<'_> {
    /// Name `i`; `None` past the end or for a NULL entry.
    fn get(&self, i: usize, n: usize) -> Option<&CStr> {
        if i >= n {
            return None;
        }
        match *self {
            BorrowedNames::Slice(s) => s.get(i).copied(),
            BorrowedNames::Raw(RawNames(p, _)) => {
                if p.is_null() {
                    return None;
                }
                // SAFETY: the caller of the C API promised `n` readable entries.
                let e = unsafe { *p.add(i) };
                // SAFETY: a non-NULL entry is NUL-terminated (same promise).
                (!e.is_null()).then(|| unsafe { CStr::from_ptr(e) })
            }
        }
    }
}

/// Whether `name` may appear in `LISTEN_FDNAMES` (systemd's rule: 1 to 255
/// printable ASCII characters, no `:`).
pub fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.len() <= HANDOFF_MAX_NAME && name.iter().all(|&b| (0x20..0x7f).contains(&b) && b != b':')
}

fn check_fds_and_names(fds: &[RawFd], names: BorrowedNames<'_>) -> Result<()> {
    let n = fds.len();
    if n == 0 {
        return Err(Errno::EINVAL);
    }
    if n > HANDOFF_MAX_FDS {
        return Err(Errno::E2BIG);
    }
    if let BorrowedNames::Slice(s) = names {
        if s.len() != n {
            return Err(Errno::EINVAL);
        }
    }
    for (i, &fd) in fds.iter().enumerate() {
        let name = names.get(i, n).ok_or(Errno::EINVAL)?;
        if !valid_name(name.to_bytes()) {
            return Err(Errno::EINVAL);
        }
        // SAFETY: F_GETFD reads nothing from memory.
        if fd < 0 || unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            return Err(Errno::EBADF);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- helpers

/// A descriptor closed when dropped.
struct Fd(c_int);

impl Drop for Fd {
    fn drop(&mut self) {
        if self.0 >= 0 {
            // SAFETY: we own the descriptor.
            unsafe { libc::close(self.0) };
        }
    }
}

fn last() -> Errno {
    Errno::last()
}

fn now_usec() -> u64 {
    crate::sys::monotonic_usec()
}

/// An absolute deadline (monotonic µs), or none.
#[derive(Clone, Copy)]
struct Deadline(Option<u64>);

impl Deadline {
    fn after(timeout_usec: u64) -> Deadline {
        if timeout_usec == INFINITY {
            Deadline(None)
        } else {
            Deadline(Some(now_usec().saturating_add(timeout_usec)))
        }
    }

    /// Milliseconds left for poll (rounded up), -1 for none, `ETIMEDOUT` if over.
    fn poll_ms(&self) -> Result<c_int> {
        match self.0 {
            None => Ok(-1),
            Some(d) => {
                let now = now_usec();
                if now >= d {
                    return Err(Errno(libc::ETIMEDOUT));
                }
                let ms = (d - now).div_ceil(1000);
                Ok(ms.min(i32::MAX as u64) as c_int)
            }
        }
    }

    fn passed(&self) -> bool {
        matches!(self.0, Some(d) if now_usec() >= d)
    }
}

/// Wait until `fd` is ready for `events`, or the deadline passes.
/// Once the deadline has passed, one last look (poll with 0 ms) decides:
/// a timeout of 0 is one try, not an immediate failure.
fn wait(fd: c_int, events: libc::c_short, deadline: Deadline) -> Result<()> {
    loop {
        let (ms, last_try) = match deadline.poll_ms() {
            Ok(ms) => (ms, false),
            Err(_) => (0, true),
        };
        let mut p = libc::pollfd { fd, events, revents: 0 };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        if r > 0 {
            return Ok(());
        }
        if r < 0 && last() != Errno(libc::EINTR) {
            return Err(last());
        }
        if r == 0 && last_try {
            return Err(Errno(libc::ETIMEDOUT));
        }
    }
}

/// With a timeout of 0 ("one try": one look for a waiting peer), the
/// exchange with a peer found still gets this long (µs); any other timeout
/// covers the whole exchange.
const ONE_TRY_EXCHANGE_USEC: u64 = 1_000_000;

/// The deadline of the exchange once a peer is connected.
fn exchange_deadline(timeout_usec: u64, deadline: Deadline) -> Deadline {
    if timeout_usec == 0 {
        Deadline::after(ONE_TRY_EXCHANGE_USEC)
    } else {
        deadline
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
const SEND_FLAGS: c_int = libc::MSG_NOSIGNAL;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const SEND_FLAGS: c_int = 0;

/// A new close-on-exec, non-blocking `AF_UNIX` stream socket that never
/// raises `SIGPIPE`.
fn unix_socket() -> Result<Fd> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // SAFETY: plain socket(2).
        let s = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0) };
        if s < 0 {
            return Err(last());
        }
        Ok(Fd(s))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        // SAFETY: plain socket(2).
        let s = Fd(unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0) });
        if s.0 < 0 {
            return Err(last());
        }
        prepare_socket(s.0)?;
        Ok(s)
    }
}

/// Close-on-exec, non-blocking, no `SIGPIPE` (where flags at creation are
/// not available).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn prepare_socket(s: c_int) -> Result<()> {
    // SAFETY: fcntl/setsockopt on our own descriptor with valid arguments.
    unsafe {
        if libc::fcntl(s, libc::F_SETFD, libc::FD_CLOEXEC) < 0 {
            return Err(last());
        }
        let fl = libc::fcntl(s, libc::F_GETFL);
        if fl < 0 || libc::fcntl(s, libc::F_SETFL, fl | libc::O_NONBLOCK) < 0 {
            return Err(last());
        }
        #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
        {
            let one: c_int = 1;
            if libc::setsockopt(
                s,
                libc::SOL_SOCKET,
                libc::SO_NOSIGPIPE,
                &one as *const c_int as *const c_void,
                core::mem::size_of::<c_int>() as libc::socklen_t,
            ) < 0
            {
                return Err(last());
            }
        }
    }
    Ok(())
}

/// `sockaddr_un` for `path`; `ENAMETOOLONG` if it does not fit, `EINVAL`
/// if empty.
fn unix_addr(path: &CStr) -> Result<(libc::sockaddr_un, libc::socklen_t)> {
    // SAFETY: sockaddr_un is plain data; all zeroes is valid.
    let mut a: libc::sockaddr_un = unsafe { core::mem::zeroed() };
    a.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let p = path.to_bytes();
    if p.is_empty() {
        return Err(Errno::EINVAL);
    }
    if p.len() >= a.sun_path.len() {
        return Err(Errno::ENAMETOOLONG);
    }
    if p.first() == Some(&b'@') {
        // `@name`: the abstract namespace, as NOTIFY_SOCKET and systemd's
        // addresses have it (Linux only; the name is what follows the `@`,
        // without a trailing NUL).
        if cfg!(not(any(target_os = "linux", target_os = "android"))) || p.len() < 2 {
            return Err(Errno::EINVAL);
        }
        for (d, &s) in a.sun_path.iter_mut().skip(1).zip(p.iter().skip(1)) {
            *d = s as c_char;
        }
        let len = core::mem::size_of::<libc::sa_family_t>().wrapping_add(p.len());
        return Ok((a, len as libc::socklen_t));
    }
    for (d, &s) in a.sun_path.iter_mut().zip(p) {
        *d = s as c_char;
    }
    let len = core::mem::size_of::<libc::sa_family_t>().wrapping_add(p.len()).wrapping_add(1);
    Ok((a, len as libc::socklen_t))
}

/// The peer's effective uid.
fn peer_uid(s: c_int) -> Result<libc::uid_t> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let mut cred = libc::ucred { pid: 0, uid: 0, gid: 0 };
        let mut len = core::mem::size_of::<libc::ucred>() as libc::socklen_t;
        // SAFETY: cred and len are writable and sized.
        let r = unsafe {
            libc::getsockopt(
                s,
                libc::SOL_SOCKET,
                libc::SO_PEERCRED,
                &mut cred as *mut libc::ucred as *mut c_void,
                &mut len,
            )
        };
        if r < 0 {
            return Err(last());
        }
        Ok(cred.uid)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let (mut uid, mut gid) = (0, 0);
        // SAFETY: both out-pointers are writable.
        if unsafe { crate::sys::getpeereid(s, &mut uid, &mut gid) } < 0 {
            return Err(last());
        }
        Ok(uid)
    }
}

/// A `malloc`ed byte buffer, freed when dropped.
struct CBuf(*mut c_char);

impl CBuf {
    fn new(len: usize) -> Result<CBuf> {
        // SAFETY: calloc with a size; NULL handled.
        let p = unsafe { libc::calloc(len.wrapping_add(1), 1) } as *mut c_char;
        if p.is_null() {
            return Err(Errno::ENOMEM);
        }
        Ok(CBuf(p))
    }
}

impl Drop for CBuf {
    fn drop(&mut self) {
        // SAFETY: from calloc.
        unsafe { libc::free(self.0 as *mut c_void) };
    }
}

/// Decimal digits of `v` into `buf` (NUL-terminated); the string.
fn itoa(v: u64, buf: &mut [u8; 24]) -> &CStr {
    let mut tmp = [0u8; 20];
    let mut i = 0usize;
    let mut v = v;
    loop {
        if let Some(t) = tmp.get_mut(i) {
            *t = b'0'.wrapping_add((v % 10) as u8);
        }
        i = i.wrapping_add(1);
        v /= 10;
        if v == 0 || i >= tmp.len() {
            break;
        }
    }
    for k in 0..i {
        if let (Some(d), Some(s)) = (buf.get_mut(k), tmp.get(i.wrapping_sub(1).wrapping_sub(k))) {
            *d = *s;
        }
    }
    if let Some(z) = buf.get_mut(i) {
        *z = 0;
    }
    CStr::from_bytes_until_nul(&buf[..]).unwrap_or(c"0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_listen_fdnames_rules() {
        assert!(valid_name(b"web"));
        assert!(valid_name(b"a b"));
        assert!(!valid_name(b""));
        assert!(!valid_name(b"a:b"));
        assert!(!valid_name(b"tab\t"));
        assert!(!valid_name(&[b'x'; 256]));
        assert!(valid_name(&[b'x'; 255]));
    }

    #[test]
    fn header_layout() {
        let h = header(STATUS_OK, 3, 0x0102);
        assert_eq!(&h[..6], b"SDFDHO");
        assert_eq!(h[6], 1);
        assert_eq!(h[7], 0);
        assert_eq!(&h[8..12], &[3, 0, 0, 0]);
        assert_eq!(&h[12..16], &[2, 1, 0, 0]);
    }

    #[test]
    fn itoa_digits() {
        let mut b = [0u8; 24];
        assert_eq!(itoa(0, &mut b), c"0");
        assert_eq!(itoa(4194304, &mut b), c"4194304");
        assert_eq!(itoa(u64::MAX, &mut b), c"18446744073709551615");
    }

    #[test]
    fn offer_rejects_bad_input_before_touching_the_path() {
        let p = c"/nonexistent-dir/x.sock";
        assert_eq!(offer(p, &[], BorrowedNames::Slice(&[]), 0, None), Err(Errno::EINVAL));
        assert_eq!(offer(p, &[0], BorrowedNames::Slice(&[c"a:b"]), 0, None), Err(Errno::EINVAL));
        assert_eq!(offer(p, &[0], BorrowedNames::Slice(&[]), 0, None), Err(Errno::EINVAL));
        assert_eq!(offer(p, &[987654], BorrowedNames::Slice(&[c"a"]), 0, None), Err(Errno::EBADF));
        let long = c"/tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        assert_eq!(offer(long, &[0], BorrowedNames::Slice(&[c"a"]), 0, None), Err(Errno::ENAMETOOLONG));
        assert_eq!(offer(p, &[0], BorrowedNames::Slice(&[c"a"]), 0, None), Err(Errno::ENOENT));
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn spawn_passes_fds_the_systemd_way() {
        use std::io::Read;
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
        let mut p = [0; 2];
        // SAFETY: p is writable for two ints.
        assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: fresh descriptors, each wrapped once.
        let (mut rd, wr) = unsafe { (std::fs::File::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) };
        // The child's stdout would be ours: report through the passed pipe instead (fd 3).
        let script = c"[ \"$LISTEN_PID\" = $$ ] && echo \"$LISTEN_FDS $LISTEN_FDNAMES\" >&3";
        let argv = [c"sh".as_ptr(), c"-c".as_ptr(), script.as_ptr(), core::ptr::null()];
        let env = [c"PATH=/usr/bin:/bin".as_ptr(), c"LISTEN_FDS=7".as_ptr(), core::ptr::null()];
        // SAFETY: NULL-terminated arrays of NUL-terminated strings.
        let pid = unsafe {
            spawn(c"/bin/sh", argv.as_ptr(), env.as_ptr(), &[wr.as_raw_fd()], BorrowedNames::Slice(&[c"report"]))
                .unwrap()
        };
        drop(wr);
        let mut out = String::new();
        rd.read_to_string(&mut out).unwrap();
        let mut status = 0;
        // SAFETY: our child.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert_eq!(out, "1 report\n");
        assert_eq!(status, 0);
        // SAFETY: as above.
        let e = unsafe { spawn(c"/nonexistent", argv.as_ptr(), env.as_ptr(), &[0], BorrowedNames::Slice(&[c"x"])) };
        assert_eq!(e, Err(Errno::ENOENT));
    }

    #[test]
    #[cfg(feature = "std")]
    fn offer_places_and_removes_only_its_socket() {
        use std::os::unix::ffi::OsStrExt;
        let dir = std::env::temp_dir().join(format!("sdfd-offer-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = std::ffi::CString::new(dir.join("h.sock").as_os_str().as_bytes()).unwrap();
        // timeout 0: one look, nobody there; the socket was placed (linkat)
        // and is gone again, and so is the private directory
        assert_eq!(offer(&path, &[0], BorrowedNames::Slice(&[c"x"]), 0, None), Err(Errno(libc::ETIMEDOUT)));
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        // something at the path: EADDRINUSE, left alone
        std::fs::write(dir.join("h.sock"), b"mine").unwrap();
        assert_eq!(offer(&path, &[0], BorrowedNames::Slice(&[c"x"]), 0, None), Err(Errno(libc::EADDRINUSE)));
        assert_eq!(std::fs::read(dir.join("h.sock")).unwrap(), b"mine");
        // a path ending in '/' is no socket name
        let slash = std::ffi::CString::new(format!("{}/", dir.display())).unwrap();
        assert_eq!(offer(&slash, &[0], BorrowedNames::Slice(&[c"x"]), 0, None), Err(Errno::EINVAL));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn receive_without_offer() {
        // SAFETY: fails before touching the environment.
        unsafe {
            assert_eq!(receive(c"/nonexistent-dir/x.sock", 0, None), Err(Errno::ENOENT));
            assert_eq!(receive(c"/nonexistent-dir/x.sock", 30_000, None), Err(Errno::ENOENT));
        }
    }
}
