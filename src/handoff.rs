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

/// The names of the descriptors: a Rust slice (the only form a caller of
/// the Rust API can build) or the C API's array.
///
/// ```
/// use sdfd::handoff::Names;
/// let names = Names::Slice(&[c"web", c"state"]);
/// # let _ = names;
/// ```
///
/// A raw pointer cannot be passed in from safe code (`offer` is safe):
///
/// ```compile_fail,E0308
/// let names = sdfd::handoff::Names::Raw(core::ptr::null());
/// ```
///
/// ```compile_fail,E0624
/// // SAFETY: not even an unsafe block reaches the crate-private constructor.
/// let names = sdfd::handoff::Names::Raw(unsafe { sdfd::handoff::RawNames::new(core::ptr::null()) });
/// ```
#[derive(Clone, Copy)]
pub enum Names<'a> {
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

impl Names<'_> {
    /// Name `i`; `None` past the end or for a NULL entry.
    fn get(&self, i: usize, n: usize) -> Option<&CStr> {
        if i >= n {
            return None;
        }
        match *self {
            Names::Slice(s) => s.get(i).copied(),
            Names::Raw(RawNames(p, _)) => {
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

fn check_fds_and_names(fds: &[RawFd], names: Names<'_>) -> Result<()> {
    let n = fds.len();
    if n == 0 {
        return Err(Errno::EINVAL);
    }
    if n > HANDOFF_MAX_FDS {
        return Err(Errno::E2BIG);
    }
    if let Names::Slice(s) = names {
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

#[cfg(sdfd_linux)]
const SEND_FLAGS: c_int = libc::MSG_NOSIGNAL;
#[cfg(not(sdfd_linux))]
const SEND_FLAGS: c_int = 0;

/// A new close-on-exec, non-blocking `AF_UNIX` stream socket that never
/// raises `SIGPIPE`.
fn unix_socket() -> Result<Fd> {
    #[cfg(sdfd_linux)]
    {
        // SAFETY: plain socket(2).
        let s = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0) };
        if s < 0 {
            return Err(last());
        }
        Ok(Fd(s))
    }
    #[cfg(not(sdfd_linux))]
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
#[cfg(not(sdfd_linux))]
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
        if cfg!(not(sdfd_linux)) || p.len() < 2 {
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
    #[cfg(sdfd_linux)]
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
    #[cfg(not(sdfd_linux))]
    {
        let (mut uid, mut gid) = (0, 0);
        // SAFETY: both out-pointers are writable.
        if unsafe { libc::getpeereid(s, &mut uid, &mut gid) } < 0 {
            return Err(last());
        }
        Ok(uid)
    }
}

/// Send all of `buf` before the deadline.
fn send_all(s: c_int, mut buf: &[u8], deadline: Deadline) -> Result<()> {
    while !buf.is_empty() {
        wait(s, libc::POLLOUT, deadline)?;
        // SAFETY: buf is readable for its length.
        let r = unsafe { libc::send(s, buf.as_ptr() as *const c_void, buf.len(), SEND_FLAGS) };
        if r < 0 {
            let e = last();
            if e == Errno(libc::EAGAIN) || e == Errno(libc::EINTR) {
                continue;
            }
            return Err(broken(e));
        }
        buf = buf.get(r as usize..).unwrap_or(&[]);
    }
    Ok(())
}

/// Fill `buf` before the deadline; end of stream is `ECONNABORTED`.
fn recv_exact(s: c_int, buf: &mut [u8], deadline: Deadline) -> Result<()> {
    let mut got = 0usize;
    while got < buf.len() {
        wait(s, libc::POLLIN, deadline)?;
        let rest = buf.get_mut(got..).unwrap_or(&mut []);
        // SAFETY: rest is writable for its length.
        let r = unsafe { libc::recv(s, rest.as_mut_ptr() as *mut c_void, rest.len(), 0) };
        if r < 0 {
            let e = last();
            if e == Errno(libc::EAGAIN) || e == Errno(libc::EINTR) {
                continue;
            }
            return Err(broken(e));
        }
        if r == 0 {
            return Err(Errno(libc::ECONNABORTED));
        }
        got = got.wrapping_add(r as usize);
    }
    Ok(())
}

/// The peer went away: every flavour of it is `ECONNABORTED`.
fn broken(e: Errno) -> Errno {
    if e == Errno(libc::EPIPE) || e == Errno(libc::ECONNRESET) {
        Errno(libc::ECONNABORTED)
    } else {
        e
    }
}

fn header(status: u8, n: u32, names_len: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    for (d, s) in h.iter_mut().zip(MAGIC.iter().chain(&[HANDOFF_VERSION, status])) {
        *d = *s;
    }
    for (d, s) in h.iter_mut().skip(8).zip(n.to_le_bytes().iter().chain(&names_len.to_le_bytes())) {
        *d = *s;
    }
    h
}

/// Control-message buffer for [`FDS_PER_MSG`] descriptors (aligned).
#[repr(C, align(8))]
struct CmsgBuf([u8; 1088]);
const _: () = assert!(core::mem::size_of::<libc::cmsghdr>() + FDS_PER_MSG * 4 + 8 <= 1088);

/// Send `fds` (at most [`FDS_PER_MSG`]) with one data byte.
fn send_fds(s: c_int, fds: &[RawFd], deadline: Deadline) -> Result<()> {
    let mut cbuf = CmsgBuf([0; 1088]);
    let bytes = core::mem::size_of_val(fds) as u32;
    // SAFETY: CMSG_SPACE/LEN are pure arithmetic.
    let space = unsafe { libc::CMSG_SPACE(bytes) } as usize;
    if space > cbuf.0.len() {
        return Err(Errno::E2BIG);
    }
    let mut byte = [b'F'];
    let mut iov = libc::iovec { iov_base: byte.as_mut_ptr() as *mut c_void, iov_len: 1 };
    // SAFETY: msghdr is plain data; zero is a valid starting point.
    let mut msg: libc::msghdr = unsafe { core::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr() as *mut c_void;
    msg.msg_controllen = space as _;
    // SAFETY: the control buffer holds `space` bytes, enough for one header
    // and `fds`; CMSG_FIRSTHDR of a large-enough buffer is not NULL.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        if c.is_null() {
            return Err(Errno::EINVAL);
        }
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(bytes) as _;
        core::ptr::copy_nonoverlapping(fds.as_ptr() as *const u8, libc::CMSG_DATA(c), bytes as usize);
    }
    loop {
        wait(s, libc::POLLOUT, deadline)?;
        // SAFETY: msg points to live buffers set up above.
        let r = unsafe { libc::sendmsg(s, &msg, SEND_FLAGS) };
        if r == 1 {
            return Ok(());
        }
        let e = last();
        if r < 0 && (e == Errno(libc::EAGAIN) || e == Errno(libc::EINTR)) {
            continue;
        }
        return Err(if r < 0 { broken(e) } else { Errno::EIO });
    }
}

/// Receive one fd message (one data byte plus up to [`FDS_PER_MSG`]
/// descriptors), appending the descriptors to `out[*got..]`. Every
/// descriptor received is stored (so that the caller closes it on error)
/// or closed here.
fn recv_fds(s: c_int, out: &mut [RawFd], got: &mut usize, deadline: Deadline) -> Result<()> {
    let mut cbuf = CmsgBuf([0; 1088]);
    let mut byte = [0u8];
    let mut iov = libc::iovec { iov_base: byte.as_mut_ptr() as *mut c_void, iov_len: 1 };
    // SAFETY: msghdr is plain data.
    let mut msg: libc::msghdr = unsafe { core::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr() as *mut c_void;
    msg.msg_controllen = cbuf.0.len() as _;
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    let flags = libc::MSG_CMSG_CLOEXEC;
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    let flags = 0;
    let r = loop {
        wait(s, libc::POLLIN, deadline)?;
        // SAFETY: msg points to live, writable buffers.
        let r = unsafe { libc::recvmsg(s, &mut msg, flags) };
        if r < 0 {
            let e = last();
            if e == Errno(libc::EAGAIN) || e == Errno(libc::EINTR) {
                continue;
            }
            return Err(broken(e));
        }
        break r;
    };
    let mut result = if r == 0 {
        Err(Errno(libc::ECONNABORTED))
    } else if byte[0] != b'F' || msg.msg_flags & libc::MSG_CTRUNC != 0 {
        Err(Errno(libc::EPROTO))
    } else {
        Ok(())
    };
    let mut any = false;
    // SAFETY: walking the control messages the kernel wrote into cbuf.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(c);
                let len = ((*c).cmsg_len as usize).saturating_sub(data.offset_from(c as *const u8) as usize);
                let count = len / core::mem::size_of::<c_int>();
                for k in 0..count {
                    let fd = core::ptr::read_unaligned((data as *const c_int).add(k));
                    any = true;
                    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
                    libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                    match out.get_mut(*got) {
                        Some(slot) => {
                            *slot = fd;
                            *got = got.wrapping_add(1);
                        }
                        None => {
                            libc::close(fd);
                            result = Err(Errno(libc::EPROTO));
                        }
                    }
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    if result.is_ok() && !any {
        result = Err(Errno(libc::EPROTO));
    }
    result
}

// ---------------------------------------------------------------- offer

/// Offer `fds`, named `names` (one each, `LISTEN_FDNAMES` rules), to one
/// successor on the unix socket `path`, waiting up to `timeout_usec` µs
/// ([`INFINITY`]: no limit) for it to connect and acknowledge (0: one
/// look for a successor already waiting; the exchange with it then has 1 s).
///
/// Only a peer whose effective uid is this process's effective uid or
/// `allowed_uid` is served; any other is refused (it gets a refusal and
/// the offer goes on waiting). `path` is created (mode 0600, or 0666 when
/// `allowed_uid` is given: the peer check decides) and removed again
/// before the call returns, only while it is still our socket; an existing
/// file there is `EADDRINUSE` and is left alone. No other file's mode ever
/// changes (the socket is bound and its mode set in a private directory,
/// then linked to `path`). `@name` is a name in the abstract namespace
/// (Linux; no file, the peer check is the only gate). The descriptors are sent as duplicates: this process keeps
/// them open whatever happens, and on any error it can simply go on
/// serving.
///
/// Errors: `EINVAL` (no fds, a NULL or invalid name, an empty path),
/// `E2BIG` (more than [`HANDOFF_MAX_FDS`]), `EBADF` (an fd not open),
/// `ENAMETOOLONG` (path), `EADDRINUSE` (path exists), `EPERM` (the
/// private directory was tampered with), `ETIMEDOUT`,
/// `ECONNABORTED` (the successor went away before acknowledging),
/// `EPROTO` (it sent something else than the acknowledgement), or the
/// error of a system call (`EACCES` creating the path, ...).
pub fn offer(
    path: &CStr,
    fds: &[RawFd],
    names: Names<'_>,
    timeout_usec: u64,
    allowed_uid: Option<libc::uid_t>,
) -> Result<()> {
    check_fds_and_names(fds, names)?;
    let deadline = Deadline::after(timeout_usec);
    unix_addr(path)?;
    let listener = unix_socket()?;
    // The path (if any) is ours from here on: removed on every return, if
    // it is still our socket.
    let _placed = if is_abstract(path) {
        bind_to(listener.0, path)?;
        // SAFETY: our socket.
        if unsafe { libc::listen(listener.0, 8) } < 0 {
            return Err(last());
        }
        None
    } else {
        Some(bind_path(listener.0, path, if allowed_uid.is_some() { 0o666 } else { 0o600 })?)
    };
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    loop {
        wait(listener.0, libc::POLLIN, deadline)?;
        let conn = match accept(listener.0) {
            Ok(c) => c,
            Err(e) if e == Errno(libc::EAGAIN) || e == Errno(libc::EINTR) || e == Errno(libc::ECONNABORTED) => continue,
            Err(e) => return Err(e),
        };
        let uid = match peer_uid(conn.0) {
            Ok(u) => u,
            Err(_) => continue,
        };
        if uid != me && Some(uid) != allowed_uid {
            // Best effort: the refused peer learns why, without blocking us.
            let h = header(STATUS_REFUSED, 0, 0);
            // SAFETY: h is readable.
            unsafe { libc::send(conn.0, h.as_ptr() as *const c_void, h.len(), SEND_FLAGS) };
            continue;
        }
        return serve(conn.0, fds, names, exchange_deadline(timeout_usec, deadline));
    }
}

/// Where the offer's socket lives: a file-system path (created through a
/// private directory, see [`PlacedPath`]) or, for `@name` on Linux, a name
/// in the abstract namespace (no file at all).
fn is_abstract(path: &CStr) -> bool {
    path.to_bytes().first() == Some(&b'@')
}

/// `(dev, ino)` of `name` in the directory `dir`, not following a symlink.
fn id_at(dir: c_int, name: &CStr) -> Result<(libc::dev_t, libc::ino_t, libc::mode_t)> {
    // SAFETY: stat is plain data; zero is valid.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: NUL-terminated name, writable stat.
    if unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) } < 0 {
        return Err(last());
    }
    Ok((st.st_dev, st.st_ino, st.st_mode))
}

#[cfg(sdfd_linux)]
const DIR_OPEN_FLAGS: c_int = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
#[cfg(not(sdfd_linux))]
const DIR_OPEN_FLAGS: c_int = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;

/// A short NUL-terminated byte string on the stack (paths that fit
/// `sun_path`, so 108 bytes plus a little).
struct Short {
    buf: [u8; 160],
    len: usize,
}

impl Short {
    fn new() -> Short {
        Short { buf: [0; 160], len: 0 }
    }
    fn push(&mut self, b: &[u8]) -> Result<()> {
        for &c in b {
            // keep one byte for the NUL
            if self.len.wrapping_add(1) >= self.buf.len() {
                return Err(Errno::ENAMETOOLONG);
            }
            if let Some(d) = self.buf.get_mut(self.len) {
                *d = c;
            }
            self.len = self.len.wrapping_add(1);
        }
        if let Some(z) = self.buf.get_mut(self.len) {
            *z = 0;
        }
        Ok(())
    }
    fn num(&mut self, v: u64) -> Result<()> {
        let mut d = [0u8; 24];
        self.push(itoa(v, &mut d).to_bytes())
    }
    fn cstr(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.buf[..]).unwrap_or(c"")
    }
}

/// The offer's socket node at `path`, created so that no other file can
/// change: the socket is bound inside a fresh directory of ours (mode 0700,
/// checked by owner and mode through its descriptor, in the path's own
/// directory so that a hard link can move it), its mode set there, and
/// then hard-linked to the path (`linkat` never follows or replaces what
/// is there: an existing name is `EADDRINUSE`). The private directory is
/// gone before the offer waits. On drop the path is removed only while it
/// is still our socket node (same device and inode).
struct PlacedPath {
    dir: Fd,
    base: Short,
    id: Option<(libc::dev_t, libc::ino_t)>,
}

impl Drop for PlacedPath {
    fn drop(&mut self) {
        if let Some((dev, ino)) = self.id {
            if let Ok((d, i, _)) = id_at(self.dir.0, self.base.cstr()) {
                if d == dev && i == ino {
                    // SAFETY: NUL-terminated name relative to our directory descriptor.
                    unsafe { libc::unlinkat(self.dir.0, self.base.cstr().as_ptr(), 0) };
                }
            }
        }
    }
}

/// A private directory in `parent`: removed (with the socket `s` in it)
/// when dropped, if it is still ours.
struct PrivateDir<'a> {
    parent: &'a Fd,
    name: Short,
    fd: Fd,
    id: (libc::dev_t, libc::ino_t),
    ours: bool,
}

impl Drop for PrivateDir<'_> {
    fn drop(&mut self) {
        if !self.ours {
            return;
        }
        // SAFETY: NUL-terminated names relative to our directory descriptors;
        // only an entry of our own 0700 directory and that directory itself
        // (while it is still the one we created) are removed.
        unsafe {
            libc::unlinkat(self.fd.0, c"s".as_ptr(), 0);
            if let Ok((d, i, _)) = id_at(self.parent.0, self.name.cstr()) {
                if (d, i) == self.id {
                    libc::unlinkat(self.parent.0, self.name.cstr().as_ptr(), libc::AT_REMOVEDIR);
                }
            }
        }
    }
}

/// Bind `listener` at `path` with `mode` (see [`PlacedPath`]) and start
/// listening.
fn bind_path(listener: c_int, path: &CStr, mode: libc::mode_t) -> Result<PlacedPath> {
    let (dir_bytes, base_bytes) = split_path(path.to_bytes());
    if base_bytes.is_empty() {
        return Err(Errno::EINVAL);
    }
    let mut dir_name = Short::new();
    dir_name.push(dir_bytes)?;
    let mut base = Short::new();
    base.push(base_bytes)?;
    // SAFETY: NUL-terminated path.
    let parent = Fd(unsafe { libc::open(dir_name.cstr().as_ptr(), DIR_OPEN_FLAGS) });
    if parent.0 < 0 {
        return Err(last());
    }
    // Anything at the path (a stale socket, a symlink, ...) is left alone.
    match id_at(parent.0, base.cstr()) {
        Ok(_) => return Err(Errno(libc::EADDRINUSE)),
        Err(e) if e == Errno::ENOENT => {}
        Err(e) => return Err(e),
    }
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    let private = {
        let mut tries = 0u32;
        loop {
            let mut name = Short::new();
            name.push(b".sdfd-offer.")?;
            name.num(crate::sys::getpid() as u64)?;
            name.push(b".")?;
            name.num(now_usec() ^ u64::from(tries))?;
            // SAFETY: NUL-terminated name relative to our directory descriptor.
            if unsafe { libc::mkdirat(parent.0, name.cstr().as_ptr(), 0o700) } == 0 {
                break name;
            }
            let e = last();
            tries = tries.wrapping_add(1);
            if e != Errno(libc::EEXIST) || tries > 16 {
                return Err(e);
            }
        }
    };
    // SAFETY: NUL-terminated name relative to our directory descriptor.
    let tfd = Fd(unsafe { libc::openat(parent.0, private.cstr().as_ptr(), DIR_OPEN_FLAGS | libc::O_NOFOLLOW) });
    if tfd.0 < 0 {
        return Err(last());
    }
    // SAFETY: stat is plain data.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: our descriptor, writable stat.
    if unsafe { libc::fstat(tfd.0, &mut st) } < 0 {
        return Err(last());
    }
    // Someone swapped the directory between mkdirat and openat: not ours,
    // not touched (the one we made stays behind rather than risk it).
    let ours = st.st_mode & libc::S_IFMT == libc::S_IFDIR && st.st_uid == me && st.st_mode & 0o077 == 0;
    let tmp = PrivateDir { parent: &parent, name: private, fd: tfd, id: (st.st_dev, st.st_ino), ours };
    if !tmp.ours {
        return Err(Errno(libc::EPERM));
    }
    // Bind inside it: on Linux through /proc/self/fd (the directory we
    // checked, whatever happens to names), else by name, checked below.
    #[cfg(sdfd_linux)]
    let mut bound = {
        let mut via = Short::new();
        via.push(b"/proc/self/fd/")?;
        via.num(tmp.fd.0 as u64)?;
        via.push(b"/s")?;
        bind_to(listener, via.cstr())
    };
    #[cfg(not(sdfd_linux))]
    let mut bound = Err(Errno::ENOENT);
    if bound == Err(Errno::ENOENT) {
        let mut by_name = Short::new();
        by_name.push(dir_bytes)?;
        by_name.push(b"/")?;
        by_name.push(tmp.name.cstr().to_bytes())?;
        by_name.push(b"/s")?;
        bound = bind_to(listener, by_name.cstr());
    }
    bound?;
    // What is called "s" in our 0700 directory is the socket we bound
    // (nobody else can create it): anything else means the bind went
    // elsewhere.
    let (dev, ino, m) = id_at(tmp.fd.0, c"s")?;
    if m & libc::S_IFMT != libc::S_IFSOCK {
        return Err(Errno(libc::EPERM));
    }
    // SAFETY: NUL-terminated name in our private directory: the socket node.
    if unsafe { libc::fchmodat(tmp.fd.0, c"s".as_ptr(), mode, 0) } < 0 {
        return Err(last());
    }
    // SAFETY: our socket.
    if unsafe { libc::listen(listener, 8) } < 0 {
        return Err(last());
    }
    // SAFETY: NUL-terminated names relative to our directory descriptors;
    // linkat neither follows nor replaces an existing name.
    if unsafe { libc::linkat(tmp.fd.0, c"s".as_ptr(), parent.0, base.cstr().as_ptr(), 0) } < 0 {
        let e = last();
        return Err(if e == Errno(libc::EEXIST) { Errno(libc::EADDRINUSE) } else { e });
    }
    drop(tmp);
    Ok(PlacedPath { dir: parent, base, id: Some((dev, ino)) })
}

/// The directory part and the last component of `p` (`"."` for a bare name).
fn split_path(p: &[u8]) -> (&[u8], &[u8]) {
    match p.iter().rposition(|&c| c == b'/') {
        Some(0) => (&b"/"[..], p.get(1..).unwrap_or(&[])),
        Some(i) => (p.get(..i).unwrap_or(&[]), p.get(i.wrapping_add(1)..).unwrap_or(&[])),
        None => (&b"."[..], p),
    }
}

fn bind_to(s: c_int, path: &CStr) -> Result<()> {
    let (addr, len) = unix_addr(path)?;
    // SAFETY: addr is a valid sockaddr_un of `len` bytes.
    if unsafe { libc::bind(s, &addr as *const libc::sockaddr_un as *const libc::sockaddr, len) } < 0 {
        return Err(last());
    }
    Ok(())
}

fn accept(l: c_int) -> Result<Fd> {
    #[cfg(sdfd_linux)]
    {
        crate::sys::accept_cloexec_nonblock(l).map(Fd)
    }
    #[cfg(not(sdfd_linux))]
    {
        // SAFETY: NULL address pointers are allowed.
        let c = Fd(unsafe { libc::accept(l, core::ptr::null_mut(), core::ptr::null_mut()) });
        if c.0 < 0 {
            return Err(last());
        }
        prepare_socket(c.0)?;
        Ok(c)
    }
}

/// Send everything to the accepted successor and wait for its ack.
fn serve(conn: c_int, fds: &[RawFd], names: Names<'_>, deadline: Deadline) -> Result<()> {
    let n = fds.len();
    let mut names_len = 0usize;
    for i in 0..n {
        let name = names.get(i, n).ok_or(Errno::EINVAL)?;
        names_len = names_len.wrapping_add(name.to_bytes_with_nul().len());
    }
    send_all(conn, &header(STATUS_OK, n as u32, names_len as u32), deadline)?;
    for i in 0..n {
        let name = names.get(i, n).ok_or(Errno::EINVAL)?;
        send_all(conn, name.to_bytes_with_nul(), deadline)?;
    }
    for chunk in fds.chunks(FDS_PER_MSG) {
        send_fds(conn, chunk, deadline)?;
    }
    let mut ack = [0u8; 8];
    recv_exact(conn, &mut ack, deadline)?;
    if &ack != ACK {
        return Err(Errno(libc::EPROTO));
    }
    Ok(())
}

// ---------------------------------------------------------------- receive

/// Receive the descriptors offered on `path` and make them this process's
/// activated sockets; returns their number `n`.
///
/// Waits up to `timeout_usec` µs ([`INFINITY`]: no limit) for the offer to
/// appear (an absent path or one nobody listens on is retried every 1 ms
/// for the first 100 ms, then every 10 ms; at the deadline that error, `ENOENT` or `ECONNREFUSED`, is
/// returned) and for the whole exchange (0: one try, and the exchange with
/// an offer found then has 1 s). The offering process must run under this
/// process's effective uid, root, or `offerer_uid`.
///
/// On success the descriptors are at `3..3+n` (`FD_CLOEXEC` set, as after
/// `sd_listen_fds`), `LISTEN_PID` is this process, `LISTEN_FDS` is `n`,
/// `LISTEN_FDNAMES` their names (`LISTEN_PIDFDID` is removed), and the
/// offerer has been told. Call it before starting threads and before any
/// other activation call (`setenv` is not thread-safe, and `3..3+n` must be
/// free: `EBUSY` if another descriptor sits there — it is never replaced).
/// On failure nothing is left behind: every received descriptor is closed
/// and the environment is unchanged.
///
/// The commit point (docs/handoff.md): once every descriptor is in place,
/// they are kept even if the offerer is gone before reading the
/// acknowledgement (it may have died after sending them; this process is
/// then their only holder). A soft `RLIMIT_NOFILE` below `3 + 2n + 1` is
/// raised as far as needed (within the hard limit; kept on success).
///
/// # Safety
/// It calls `setenv`/`unsetenv`: no other thread may read or change the
/// environment meanwhile (call it at start-up, before starting threads),
/// and no other thread may rely on the numbers `3..3+n` being free.
///
/// Errors: `EINVAL`/`ENAMETOOLONG` (path), `ENOENT`/`ECONNREFUSED` (no
/// offer by the deadline), `ETIMEDOUT`, `EACCES` (refused by the offerer,
/// or the path's permissions), `EPERM` (the offerer's uid is not trusted),
/// `EPROTO` (not this wire format), `EPROTONOSUPPORT` (another version),
/// `ECONNABORTED` (the offerer went away), `EBUSY`, `EMFILE` (the hard
/// descriptor limit is below `3 + 2n + 1`), `ENOMEM`.
pub unsafe fn receive(path: &CStr, timeout_usec: u64, offerer_uid: Option<libc::uid_t>) -> Result<usize> {
    let deadline = Deadline::after(timeout_usec);
    let (addr, len) = unix_addr(path)?;
    let mut appear = Appearance::new();
    let conn = loop {
        let s = unix_socket()?;
        // SAFETY: addr is a valid sockaddr_un of `len` bytes.
        let r = unsafe { libc::connect(s.0, &addr as *const libc::sockaddr_un as *const libc::sockaddr, len) };
        if r == 0 {
            break s;
        }
        let e = last();
        if e == Errno(libc::EINPROGRESS) {
            wait(s.0, libc::POLLOUT, deadline)?;
            let mut err: c_int = 0;
            let mut l = core::mem::size_of::<c_int>() as libc::socklen_t;
            // SAFETY: err and l are writable.
            unsafe {
                libc::getsockopt(s.0, libc::SOL_SOCKET, libc::SO_ERROR, &mut err as *mut c_int as *mut c_void, &mut l)
            };
            if err == 0 {
                break s;
            }
            return Err(Errno(err));
        }
        let retry = e == Errno::ENOENT || e == Errno(libc::ECONNREFUSED) || e == Errno(libc::EAGAIN);
        if !retry || deadline.passed() || timeout_usec == 0 {
            return Err(e);
        }
        appear.wait(deadline);
    };
    let deadline = exchange_deadline(timeout_usec, deadline);
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    let uid = peer_uid(conn.0)?;
    if uid != me && uid != 0 && Some(uid) != offerer_uid {
        return Err(Errno(libc::EPERM));
    }
    let mut h = [0u8; HEADER_LEN];
    recv_exact(conn.0, &mut h, deadline)?;
    if h.get(..6) != Some(&MAGIC[..]) {
        return Err(Errno(libc::EPROTO));
    }
    if h[6] != HANDOFF_VERSION {
        return Err(Errno(libc::EPROTONOSUPPORT));
    }
    match h[7] {
        STATUS_OK => {}
        STATUS_REFUSED => return Err(Errno(libc::EACCES)),
        _ => return Err(Errno(libc::EPROTO)),
    }
    let le = |i: usize| u32::from_le_bytes([h[i], h[i.wrapping_add(1)], h[i.wrapping_add(2)], h[i.wrapping_add(3)]]);
    let n = le(8) as usize;
    let names_len = le(12) as usize;
    if n == 0
        || n > HANDOFF_MAX_FDS
        || names_len < n.wrapping_mul(2)
        || names_len > n.wrapping_mul(HANDOFF_MAX_NAME + 1)
    {
        return Err(Errno(libc::EPROTO));
    }
    // The name block, turned into the LISTEN_FDNAMES value in place
    // (NULs become ':', the last one stays).
    let names = CBuf::new(names_len)?;
    // SAFETY: names owns names_len writable bytes.
    let nb = unsafe { core::slice::from_raw_parts_mut(names.0 as *mut u8, names_len) };
    recv_exact(conn.0, nb, deadline)?;
    let mut count = 0usize;
    let mut start = 0usize;
    for i in 0..names_len {
        if nb[i] == 0 {
            if !valid_name(nb.get(start..i).unwrap_or(&[])) {
                return Err(Errno(libc::EPROTO));
            }
            count = count.wrapping_add(1);
            start = i.wrapping_add(1);
            if start < names_len {
                nb[i] = b':';
            }
        }
    }
    if count != n || start != names_len {
        return Err(Errno(libc::EPROTO));
    }
    // Room for n descriptors at 3..3+n and their n copies on the way in.
    let limit = nofile_for(n)?;
    // Keep our own connection out of 3..3+n.
    let conn = move_above(conn, (LISTEN_FDS_START as usize).wrapping_add(n) as c_int)?;
    let mut got_fds = [-1 as RawFd; HANDOFF_MAX_FDS];
    let mut got = 0usize;
    let received = (|| {
        while got < n {
            recv_fds(conn.0, got_fds.get_mut(..n).unwrap_or(&mut []), &mut got, deadline)?;
        }
        Ok(())
    })();
    let all = got_fds.get_mut(..got).unwrap_or(&mut []);
    let close_all = |fds: &[RawFd]| {
        for &fd in fds {
            // SAFETY: our descriptors.
            unsafe { libc::close(fd) };
        }
    };
    if let Err(e) = received {
        close_all(all);
        return Err(e);
    }
    place(all)?;
    // 3..3+n now hold the descriptors.
    let undo_fds = || {
        for i in 0..n {
            // SAFETY: 3..3+n are ours now.
            unsafe { libc::close(LISTEN_FDS_START.wrapping_add(i as c_int)) };
        }
    };
    if let Err(e) = set_listen_env(n, names.0) {
        undo_fds();
        return Err(e);
    }
    // The commit point: every descriptor is in place. From here on this
    // process keeps them, whether or not the offerer is still there to read
    // the acknowledgement (it may have died after sending: then we are the
    // only holder, and giving up would leave nobody serving).
    let _ = send_all(conn.0, ACK, deadline);
    limit.keep();
    Ok(n)
}

/// `RLIMIT_NOFILE` raised for receiving `n` descriptors, restored when
/// dropped unless kept.
struct NofileLimit(Option<libc::rlimit>);

impl NofileLimit {
    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for NofileLimit {
    fn drop(&mut self) {
        if let Some(old) = self.0 {
            // SAFETY: a valid rlimit read by getrlimit.
            unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &old) };
        }
    }
}

/// Receiving `n` descriptors needs numbers up to about `3 + 2n` (the
/// received ones, then their copies at 3..3+n). A soft limit below that is
/// raised, as far as needed plus 64 and never beyond the hard limit; a hard
/// limit below `3 + 2n + 1` is `EMFILE` before anything is received.
fn nofile_for(n: usize) -> Result<NofileLimit> {
    let top = (LISTEN_FDS_START as u64).wrapping_add(n as u64);
    let need = top.wrapping_add(n as u64).wrapping_add(1);
    let want = need.wrapping_add(64);
    // SAFETY: rlimit is plain data; zero is valid.
    let mut old: libc::rlimit = unsafe { core::mem::zeroed() };
    // SAFETY: writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut old) } < 0 {
        return Err(last());
    }
    let (cur, max) = (old.rlim_cur as u64, old.rlim_max as u64);
    if cur >= need {
        return Ok(NofileLimit(None));
    }
    if max < need {
        return Err(Errno(libc::EMFILE));
    }
    let new = libc::rlimit { rlim_cur: want.min(max) as libc::rlim_t, rlim_max: old.rlim_max };
    // SAFETY: a valid rlimit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) } < 0 {
        return Err(Errno(libc::EMFILE));
    }
    Ok(NofileLimit(Some(old)))
}

/// `F_DUPFD` at or above the descriptor limit is `EINVAL`: for the caller
/// it means too many descriptors.
fn dup_errno(e: Errno) -> Errno {
    if e == Errno::EINVAL {
        Errno(libc::EMFILE)
    } else {
        e
    }
}

/// Waiting for an offer to appear at a path: 1 ms between tries for the
/// first 100 ms, then 10 ms. (An inotify watch on the path's directory
/// would wake the successor at once, but closing an inotify descriptor
/// waits for an RCU grace period: 10-15 ms measured, more than the polling
/// it saves; bench/RESULTS.md.)
struct Appearance {
    tries: u32,
}

impl Appearance {
    fn new() -> Appearance {
        Appearance { tries: 0 }
    }

    /// Until the next try, or the deadline.
    fn wait(&mut self, deadline: Deadline) {
        let step = if self.tries < 100 { 1 } else { 10 };
        self.tries = self.tries.saturating_add(1);
        let left = deadline.poll_ms().unwrap_or(0);
        let ms = if left < 0 { step } else { left.min(step) };
        // SAFETY: poll with no descriptors is a sleep.
        unsafe { libc::poll(core::ptr::null_mut(), 0, ms) };
    }
}

/// `fd` moved to a number >= `min` (close-on-exec), if it is below.
fn move_above(fd: Fd, min: c_int) -> Result<Fd> {
    if fd.0 >= min {
        return Ok(fd);
    }
    // SAFETY: duplicating our own descriptor.
    let d = unsafe { libc::fcntl(fd.0, libc::F_DUPFD_CLOEXEC, min) };
    if d < 0 {
        return Err(dup_errno(last()));
    }
    Ok(Fd(d))
}

/// Move the received descriptors to `3..3+n` without ever replacing a
/// descriptor that is not ours: first out of the way (above `3+n`), then
/// each with `F_DUPFD` at its number, which must come back exactly.
/// Consumes `fds` (all closed on error, the originals closed on success).
fn place(fds: &mut [RawFd]) -> Result<()> {
    let n = fds.len();
    let top = LISTEN_FDS_START.wrapping_add(n as c_int);
    let close_all = |fds: &[RawFd]| {
        for &fd in fds {
            if fd >= 0 {
                // SAFETY: our descriptors.
                unsafe { libc::close(fd) };
            }
        }
    };
    for i in 0..n {
        let fd = fds[i];
        if fd < top {
            // SAFETY: duplicating our own descriptor.
            let d = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, top) };
            if d < 0 {
                let e = dup_errno(last());
                close_all(fds);
                return Err(e);
            }
            // SAFETY: the original is ours.
            unsafe { libc::close(fd) };
            fds[i] = d;
        }
    }
    for i in 0..n {
        let want = LISTEN_FDS_START.wrapping_add(i as c_int);
        // SAFETY: duplicating our own descriptor.
        let d = unsafe { libc::fcntl(fds[i], libc::F_DUPFD_CLOEXEC, want) };
        if d != want {
            let e = if d < 0 { dup_errno(last()) } else { Errno::EBUSY };
            if d >= 0 {
                // SAFETY: ours (a number above `want`).
                unsafe { libc::close(d) };
            }
            for j in 0..i {
                // SAFETY: placed by us above.
                unsafe { libc::close(LISTEN_FDS_START.wrapping_add(j as c_int)) };
            }
            close_all(fds);
            return Err(e);
        }
    }
    close_all(fds);
    Ok(())
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

fn set_listen_env(n: usize, names: *const c_char) -> Result<()> {
    let mut a = [0u8; 24];
    let mut b = [0u8; 24];
    // SAFETY: getpid cannot fail.
    let pid = itoa(unsafe { libc::getpid() } as u64, &mut a);
    let count = itoa(n as u64, &mut b);
    // SAFETY: NUL-terminated names and values.
    unsafe {
        if libc::setenv(c"LISTEN_FDNAMES".as_ptr(), names, 1) < 0
            || libc::setenv(c"LISTEN_FDS".as_ptr(), count.as_ptr(), 1) < 0
            || libc::setenv(c"LISTEN_PID".as_ptr(), pid.as_ptr(), 1) < 0
        {
            let e = last();
            unset_listen_env();
            return Err(e);
        }
        libc::unsetenv(c"LISTEN_PIDFDID".as_ptr());
    }
    Ok(())
}

fn unset_listen_env() {
    for v in [c"LISTEN_PID", c"LISTEN_FDS", c"LISTEN_FDNAMES"] {
        // SAFETY: NUL-terminated names.
        unsafe { libc::unsetenv(v.as_ptr()) };
    }
}

// ---------------------------------------------------------------- spawn

#[cfg(not(any(target_os = "macos", target_os = "ios")))]
fn process_environ() -> *const *const c_char {
    extern "C" {
        static environ: *const *const c_char;
    }
    // SAFETY: libc defines environ.
    unsafe { core::ptr::read_volatile(core::ptr::addr_of!(environ)) }
}

#[cfg(any(target_os = "macos", target_os = "ios"))]
fn process_environ() -> *const *const c_char {
    // SAFETY: always valid in a process.
    unsafe { *libc::_NSGetEnviron() as *const *const c_char }
}

fn is_listen_var(e: &[u8]) -> bool {
    [&b"LISTEN_PID="[..], b"LISTEN_FDS=", b"LISTEN_FDNAMES=", b"LISTEN_PIDFDID="].iter().any(|p| e.starts_with(p))
}

/// Start `path` with `argv` and `envp` (NULL: this process's environment)
/// and `fds`, named `names`, passed the systemd way: in the child only, the
/// descriptors are placed at `3..3+n` without `FD_CLOEXEC`, every other
/// descriptor above 2 is marked close-on-exec, every signal's disposition
/// is reset to the default and the signal mask is cleared, and `LISTEN_PID` (the child's pid, written after `fork`), `LISTEN_FDS`
/// and `LISTEN_FDNAMES` replace any `LISTEN_*` in `envp`. This process's
/// descriptors are not changed, so no other child inherits them.
///
/// Returns the child's pid once `execve` has succeeded; if it failed, the
/// child is reaped and its errno returned (`ENOENT`, `EACCES`, ...). Also
/// `EINVAL`/`E2BIG`/`EBADF` as [`offer`], `ENOMEM`, or `fork`'s error.
/// Safe to call from a multi-threaded process (the child only makes
/// async-signal-safe calls).
///
/// # Safety
/// `argv` is a NULL-terminated array of NUL-terminated strings; `envp` is
/// NULL or one too.
pub unsafe fn spawn(
    path: &CStr,
    argv: *const *const c_char,
    envp: *const *const c_char,
    fds: &[RawFd],
    names: Names<'_>,
) -> Result<libc::pid_t> {
    check_fds_and_names(fds, names)?;
    if argv.is_null() {
        return Err(Errno::EINVAL);
    }
    let n = fds.len();
    let envp = if envp.is_null() { process_environ() } else { envp };
    // Everything the child needs is prepared here: it must not allocate.
    let mut env_count = 0usize;
    if !envp.is_null() {
        while !(*envp.add(env_count)).is_null() {
            env_count = env_count.wrapping_add(1);
        }
    }
    let ptrs = CBuf::new(env_count.wrapping_add(4).wrapping_mul(core::mem::size_of::<*const c_char>()))?;
    let env = ptrs.0 as *mut *const c_char;
    let mut k = 0usize;
    for i in 0..env_count {
        let e = *envp.add(i);
        if !is_listen_var(CStr::from_ptr(e).to_bytes()) {
            *env.add(k) = e;
            k = k.wrapping_add(1);
        }
    }
    let mut names_len = 0usize;
    for i in 0..n {
        names_len = names_len.wrapping_add(names.get(i, n).ok_or(Errno::EINVAL)?.to_bytes().len().wrapping_add(1));
    }
    let prefix = b"LISTEN_FDNAMES=";
    let fdnames = CBuf::new(prefix.len().wrapping_add(names_len))?;
    {
        let out = core::slice::from_raw_parts_mut(fdnames.0 as *mut u8, prefix.len().wrapping_add(names_len));
        let mut w = 0usize;
        let mut put = |b: u8| {
            if let Some(d) = out.get_mut(w) {
                *d = b;
            }
            w = w.wrapping_add(1);
        };
        prefix.iter().for_each(|&b| put(b));
        for i in 0..n {
            if i > 0 {
                put(b':');
            }
            names.get(i, n).ok_or(Errno::EINVAL)?.to_bytes().iter().for_each(|&b| put(b));
        }
        put(0);
    }
    let mut count_buf = [0u8; 40];
    {
        let mut d = [0u8; 24];
        let digits = itoa(n as u64, &mut d).to_bytes_with_nul();
        for (o, s) in count_buf.iter_mut().zip(b"LISTEN_FDS=".iter().chain(digits)) {
            *o = *s;
        }
    }
    // LISTEN_PID= plus room for the digits, filled in by the child.
    let mut pid_buf = [0u8; 40];
    for (o, s) in pid_buf.iter_mut().zip(b"LISTEN_PID=") {
        *o = *s;
    }
    *env.add(k) = count_buf.as_ptr() as *const c_char;
    *env.add(k.wrapping_add(1)) = fdnames.0;
    *env.add(k.wrapping_add(2)) = pid_buf.as_ptr() as *const c_char;
    *env.add(k.wrapping_add(3)) = core::ptr::null();

    // The child reports an exec failure's errno through this pipe.
    let p = crate::sys::pipe_cloexec()?;
    let (rd, wr) = (Fd(p[0]), Fd(p[1]));
    let pid = libc::fork();
    if pid < 0 {
        return Err(last());
    }
    if pid == 0 {
        child(path, argv, env as *const *const c_char, fds, &mut pid_buf, wr.0);
    }
    drop(wr);
    let mut err: c_int = 0;
    let r = loop {
        let r = libc::read(rd.0, &mut err as *mut c_int as *mut c_void, core::mem::size_of::<c_int>());
        if r < 0 && last() == Errno(libc::EINTR) {
            continue;
        }
        break r;
    };
    if r == core::mem::size_of::<c_int>() as isize {
        let mut status = 0;
        while libc::waitpid(pid, &mut status, 0) < 0 && last() == Errno(libc::EINTR) {}
        return Err(Errno(err));
    }
    Ok(pid)
}

/// Signal numbers are below this (Linux: 64 signals with the real-time ones).
#[cfg(sdfd_linux)]
const SIGNAL_COUNT: c_int = 65;
#[cfg(not(sdfd_linux))]
const SIGNAL_COUNT: c_int = 32;

/// The forked child: async-signal-safe calls only, never returns.
unsafe fn child(
    path: &CStr,
    argv: *const *const c_char,
    env: *const *const c_char,
    fds: &[RawFd],
    pid_buf: &mut [u8; 40],
    report: c_int,
) -> ! {
    let fail = |e: Errno| -> ! {
        let v: c_int = e.0;
        libc::write(report, &v as *const c_int as *const c_void, core::mem::size_of::<c_int>());
        libc::_exit(127)
    };
    let n = fds.len();
    let top = LISTEN_FDS_START.wrapping_add(n as c_int);
    // Out of the way first (a source may sit in 3..3+n), then into place;
    // dup2 leaves FD_CLOEXEC clear on the new number.
    let mut tmp = [-1 as c_int; HANDOFF_MAX_FDS];
    let floor = top.max(report.wrapping_add(1));
    for (t, &fd) in tmp.iter_mut().zip(fds) {
        *t = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, floor);
        if *t < 0 {
            fail(dup_errno(last()));
        }
    }
    // The report pipe must survive the dup2s below.
    let report = if report < top {
        let r = libc::fcntl(report, libc::F_DUPFD_CLOEXEC, floor);
        if r < 0 {
            libc::_exit(127);
        }
        r
    } else {
        report
    };
    let fail = |e: Errno| -> ! {
        let v: c_int = e.0;
        libc::write(report, &v as *const c_int as *const c_void, core::mem::size_of::<c_int>());
        libc::_exit(127)
    };
    for (i, &t) in tmp.iter().take(n).enumerate() {
        if libc::dup2(t, LISTEN_FDS_START.wrapping_add(i as c_int)) < 0 {
            fail(last());
        }
    }
    // Nothing else of the parent's leaks into the successor.
    #[cfg(target_os = "linux")]
    {
        let _ = crate::sys::close_range(top as u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC);
    }
    // Default dispositions, then an empty mask, as systemd and Python's
    // subprocess start a child: an ignored SIGPIPE or SIGUSR1 (execve keeps
    // SIG_IGN) and a blocked signal must not pile up generation after
    // generation. Handlers are reset too (execve would anyway), so none of
    // the parent's runs in this child once the mask is empty.
    let mut dfl: libc::sigaction = core::mem::zeroed();
    dfl.sa_sigaction = libc::SIG_DFL;
    libc::sigemptyset(&mut dfl.sa_mask);
    for sig in 1..SIGNAL_COUNT {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            // EINVAL for the numbers the C library keeps for itself: ignored.
            libc::sigaction(sig, &dfl, core::ptr::null_mut());
        }
    }
    let mut set: libc::sigset_t = core::mem::zeroed();
    libc::sigemptyset(&mut set);
    libc::sigprocmask(libc::SIG_SETMASK, &set, core::ptr::null_mut());
    let mut d = [0u8; 24];
    let digits = itoa(libc::getpid() as u64, &mut d).to_bytes_with_nul();
    for (o, s) in pid_buf.iter_mut().skip(11).zip(digits) {
        *o = *s;
    }
    libc::execve(path.as_ptr(), argv, env);
    fail(last())
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
        assert_eq!(offer(p, &[], Names::Slice(&[]), 0, None), Err(Errno::EINVAL));
        assert_eq!(offer(p, &[0], Names::Slice(&[c"a:b"]), 0, None), Err(Errno::EINVAL));
        assert_eq!(offer(p, &[0], Names::Slice(&[]), 0, None), Err(Errno::EINVAL));
        assert_eq!(offer(p, &[987654], Names::Slice(&[c"a"]), 0, None), Err(Errno::EBADF));
        let long = c"/tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        assert_eq!(offer(long, &[0], Names::Slice(&[c"a"]), 0, None), Err(Errno::ENAMETOOLONG));
        assert_eq!(offer(p, &[0], Names::Slice(&[c"a"]), 0, None), Err(Errno::ENOENT));
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
            spawn(c"/bin/sh", argv.as_ptr(), env.as_ptr(), &[wr.as_raw_fd()], Names::Slice(&[c"report"])).unwrap()
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
        let e = unsafe { spawn(c"/nonexistent", argv.as_ptr(), env.as_ptr(), &[0], Names::Slice(&[c"x"])) };
        assert_eq!(e, Err(Errno::ENOENT));
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
