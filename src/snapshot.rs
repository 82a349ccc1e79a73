//! A thread-safe, read-once view of the activation state, and lookups on it.
//!
//! `sd_listen_fds(1)` from several threads races on `unsetenv`, in
//! libsystemd too. [`snapshot`] reads the state once per process (without
//! modifying the environment), keeps it for the process's lifetime, and
//! answers any thread any number of times. [`find_socket`] answers "which
//! activated fd is bound to this configured address?", so a daemon can keep
//! its configuration and use activation when present.

use core::ffi::{c_char, c_int, CStr};
use core::ptr;
use core::sync::atomic::{AtomicI32, AtomicPtr, Ordering};

use crate::address::SocketAddress;
use crate::check;
use crate::errno::{Errno, Result};
use crate::fd::RawFd;
use crate::listen::{self, LISTEN_FDS_START};
use crate::names::OwnedNames;

/// The activated descriptors as first seen by this process.
#[derive(Debug)]
pub struct Snapshot {
    names: OwnedNames,
}

impl Snapshot {
    /// Number of activated descriptors (0: not socket-activated).
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True if the process was not socket-activated.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Descriptor `i` (`LISTEN_FDS_START + i`), if `i < len()`.
    pub fn fd(&self, i: usize) -> Option<RawFd> {
        (i < self.len()).then(|| LISTEN_FDS_START.wrapping_add(i as RawFd))
    }

    /// Name of descriptor `i` (`"unknown"` when the manager gave none).
    pub fn name(&self, i: usize) -> Option<&CStr> {
        self.names.get(i)
    }

    /// `(fd, name)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (RawFd, &CStr)> + '_ {
        (0..self.len()).filter_map(move |i| Some((LISTEN_FDS_START.wrapping_add(i as RawFd), self.names.get(i)?)))
    }

    /// The descriptors named `name`, in order.
    pub fn named<'a>(&'a self, name: &'a CStr) -> impl Iterator<Item = RawFd> + 'a {
        self.iter().filter(move |(_, n)| *n == name).map(|(fd, _)| fd)
    }

    /// The first descriptor of socket type `type_` (0: any) bound to `addr`.
    pub fn find(&self, addr: &Address<'_>, type_: c_int) -> Option<RawFd> {
        self.iter().map(|(fd, _)| fd).find(|&fd| addr.matches(fd, type_))
    }
}

/// One process's snapshot: the pid that took it and its answer. After
/// `fork()` the child's `LISTEN_PID` names the parent, so the parent's
/// answer is not the child's: a process whose pid is not `pid` takes its own
/// (which is what `sd_listen_fds(0)` and [`crate::activate_socket`] say in
/// it: not activated, unless the child was given its own `LISTEN_PID`).
struct Entry {
    pid: i32,
    result: Result<Snapshot>,
    /// The entry it replaced (a parent's, inherited through `fork()`), kept
    /// reachable: leak checkers in a child see no lost memory.
    _prev: *mut Entry,
}

/// The current process's entry (`malloc`ed, never freed: a reference handed
/// out stays valid for the life of the process; an entry inherited through
/// `fork()` is left as it is).
static CURRENT: AtomicPtr<Entry> = AtomicPtr::new(ptr::null_mut());
/// 0, or the pid of the thread's process that is taking a snapshot. A value
/// from another process was inherited through `fork()` from a thread that
/// does not exist in this one, and is taken over.
static TAKER: AtomicI32 = AtomicI32::new(0);

fn current_pid() -> i32 {
    crate::sys::getpid()
}

fn answer(e: *const Entry) -> Result<&'static Snapshot> {
    // SAFETY: entries are written completely before being published with
    // release ordering and are never written or freed afterwards.
    match unsafe { &(*e).result } {
        Ok(s) => Ok(s),
        Err(e) => Err(*e),
    }
}

/// The process's activation state, read once per process (as
/// `sd_listen_fds_with_names(0)` would: the environment is left as it is,
/// `FD_CLOEXEC` is set) and the same answer — or the same error — for every
/// later call from any thread of that process. A child created by `fork()`
/// does not inherit its parent's answer: it reads its own on first use.
pub fn snapshot() -> Result<&'static Snapshot> {
    let pid = current_pid();
    loop {
        let e = CURRENT.load(Ordering::Acquire);
        // SAFETY: see `answer`.
        if !e.is_null() && unsafe { (*e).pid } == pid {
            return answer(e);
        }
        let holder = TAKER.load(Ordering::Acquire);
        if holder != pid && TAKER.compare_exchange(holder, pid, Ordering::Acquire, Ordering::Acquire).is_ok() {
            let e = CURRENT.load(Ordering::Acquire);
            // SAFETY: see `answer`.
            if !e.is_null() && unsafe { (*e).pid } == pid {
                TAKER.store(0, Ordering::Release);
                return answer(e);
            }
            let result = listen::listen_fds_with_names(false).map(|names| Snapshot { names });
            // SAFETY: malloc of one Entry (malloc's alignment suffices); NULL is handled.
            let fresh = unsafe { libc::malloc(core::mem::size_of::<Entry>()) } as *mut Entry;
            if fresh.is_null() {
                TAKER.store(0, Ordering::Release);
                return Err(Errno::ENOMEM);
            }
            // SAFETY: `fresh` is a new, writable, suitably aligned Entry.
            unsafe { fresh.write(Entry { pid, result, _prev: e }) };
            CURRENT.store(fresh, Ordering::Release);
            TAKER.store(0, Ordering::Release);
            return answer(fresh);
        }
        pause();
    }
}

fn pause() {
    core::hint::spin_loop();
    #[cfg(unix)]
    // SAFETY: sched_yield has no preconditions.
    unsafe {
        libc::sched_yield();
    }
}

/// A configured listening address, in the syntax of systemd's
/// `ListenStream=`: `PORT` (any IPv4/IPv6 address), `A.B.C.D:PORT`,
/// `[IPv6]:PORT`, `/path` (unix), `@name` (abstract unix). No host names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Address<'a> {
    /// Any IP socket on this port.
    Port(u16),
    /// An IPv4 or IPv6 socket address, as raw `sockaddr_in`/`sockaddr_in6` bytes.
    Inet(InetAddr),
    /// A filesystem socket path (without NUL).
    Path(&'a [u8]),
    /// An abstract socket name (without the leading `@`/NUL).
    Abstract(&'a [u8]),
}

/// An IP address and port (raw `sockaddr_in6`-sized storage).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InetAddr {
    bytes: [u8; 28],
    len: usize,
}

impl<'a> Address<'a> {
    /// Parse the `ListenStream=`-style syntax with the one parser of
    /// [`SocketAddress`](crate::SocketAddress) (systemd's, as
    /// `systemd-socket-activate -l` takes it); anything else is `EINVAL`.
    pub fn parse(s: &'a [u8]) -> Result<Address<'a>> {
        Ok(match SocketAddress::parse(s).map_err(|_| Errno::EINVAL)? {
            SocketAddress::Port(p) => Address::Port(p),
            SocketAddress::Inet4 { addr, port } => Address::Inet(inet4(addr, port)),
            SocketAddress::Inet6 { addr, port, scope_id } => Address::Inet(inet6(addr, port, scope_id)),
            SocketAddress::Path(p) => Address::Path(p),
            SocketAddress::Abstract(n) => Address::Abstract(n),
        })
    }

    /// Is `fd` a socket of `type_` (0: any) bound to this address?
    pub fn matches(&self, fd: RawFd, type_: c_int) -> bool {
        let r = match self {
            Address::Port(p) => check::is_socket_inet(fd, 0, type_, None, *p),
            Address::Inet(a) => check::is_socket_sockaddr(fd, type_, a.bytes.get(..a.len), None),
            Address::Path(p) => with_nul(p, |name| check::is_socket_unix(fd, type_, None, Some(name))),
            Address::Abstract(n) => with_nul_prefix(n, |name| check::is_socket_unix(fd, type_, None, Some(name))),
        };
        r == Ok(true)
    }
}

fn inet4(ip: [u8; 4], port: u16) -> InetAddr {
    let mut a = InetAddr { bytes: [0; 28], len: core::mem::size_of::<libc::sockaddr_in>() };
    // SAFETY: a zeroed sockaddr_in is valid; it is copied out as bytes and
    // fits in `bytes` (16 <= 28).
    unsafe {
        let mut sin: libc::sockaddr_in = core::mem::zeroed();
        sin.sin_family = libc::AF_INET as libc::sa_family_t;
        sin.sin_port = port.to_be();
        sin.sin_addr.s_addr = u32::from_ne_bytes(ip);
        core::ptr::copy_nonoverlapping(&sin as *const _ as *const u8, a.bytes.as_mut_ptr(), a.len);
    }
    a
}

fn inet6(ip: [u8; 16], port: u16, scope_id: u32) -> InetAddr {
    let mut a = InetAddr { bytes: [0; 28], len: core::mem::size_of::<libc::sockaddr_in6>() };
    // SAFETY: as in inet4 (28 <= 28).
    unsafe {
        let mut sin6: libc::sockaddr_in6 = core::mem::zeroed();
        sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
        sin6.sin6_port = port.to_be();
        sin6.sin6_addr.s6_addr = ip;
        sin6.sin6_scope_id = scope_id;
        core::ptr::copy_nonoverlapping(&sin6 as *const _ as *const u8, a.bytes.as_mut_ptr(), a.len);
    }
    a
}

/// Unix names longer than `sun_path` cannot be bound: they match nothing.
const SUN_PATH_MAX: usize = 108;

fn with_nul(p: &[u8], f: impl FnOnce(&[u8]) -> Result<bool>) -> Result<bool> {
    let mut buf = [0u8; SUN_PATH_MAX + 1];
    if p.contains(&0) {
        return Ok(false);
    }
    for (d, c) in buf.iter_mut().zip(p) {
        *d = *c;
    }
    buf.get(..p.len().saturating_add(1)).map_or(Ok(false), f)
}

fn with_nul_prefix(n: &[u8], f: impl FnOnce(&[u8]) -> Result<bool>) -> Result<bool> {
    let mut buf = [0u8; SUN_PATH_MAX];
    for (d, c) in buf.iter_mut().skip(1).zip(n) {
        *d = *c;
    }
    buf.get(..n.len().saturating_add(1)).map_or(Ok(false), f)
}

/// The activated socket of `type_` (0: any) bound to `address`
/// ([`Address::parse`] syntax): its fd; `ENOENT` if none is, `ESRCH` if the
/// process was not socket-activated, `EINVAL` for a malformed address or a
/// negative `type_`, or the activation's own error.
pub fn find_socket(address: &[u8], type_: c_int) -> Result<RawFd> {
    let addr = Address::parse(address)?;
    // As sd_is_socket*: a negative type is EINVAL, not "no such socket".
    if type_ < 0 {
        return Err(Errno::EINVAL);
    }
    let snap = snapshot()?;
    if snap.is_empty() {
        return Err(Errno::ESRCH);
    }
    snap.find(&addr, type_).ok_or(Errno::ENOENT)
}

/// A copy of the NULL-terminated `envp` without the activation variables,
/// for `execve`/`posix_spawn` of a child — no `unsetenv`, so no race with
/// other threads. One `malloc`ed array (free it with `free()`); the strings
/// are `envp`'s own. NULL `envp` gives an empty list.
///
/// # Safety
/// `envp` is NULL or a NULL-terminated array of NUL-terminated strings that
/// outlive the returned array.
pub unsafe fn environ_without_activation(envp: *const *const c_char) -> Result<*mut *mut c_char> {
    let mut n = 0usize;
    if !envp.is_null() {
        while !(*envp.add(n)).is_null() {
            n = n.wrapping_add(1);
        }
    }
    let out = libc::calloc(n.wrapping_add(1), core::mem::size_of::<*mut c_char>()) as *mut *mut c_char;
    if out.is_null() {
        return Err(Errno::ENOMEM);
    }
    let mut k = 0;
    for i in 0..n {
        let e = *envp.add(i);
        if !crate::env::is_activation_var(CStr::from_ptr(e).to_bytes()) {
            *out.add(k) = e as *mut c_char;
            k = k.wrapping_add(1);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_addresses() {
        assert_eq!(Address::parse(b"8080"), Ok(Address::Port(8080)));
        assert_eq!(Address::parse(b"/run/x.sock"), Ok(Address::Path(b"/run/x.sock")));
        assert_eq!(Address::parse(b"@abc"), Ok(Address::Abstract(b"abc")));
        assert!(matches!(Address::parse(b"127.0.0.1:80"), Ok(Address::Inet(a)) if a.len == 16));
        assert!(matches!(Address::parse(b"[::1]:80"), Ok(Address::Inet(a)) if a.len == 28));
        assert!(matches!(Address::parse(b"[::ffff:127.0.0.1]:80"), Ok(Address::Inet(_))));
        // The syntax itself is tested with the parser (src/address.rs).
        assert_eq!(Address::parse(b"+0x50"), Ok(Address::Port(80)));
        for bad in [
            &b""[..],
            b"@",
            b"0",
            b"65536",
            b"x",
            b"1.2.3:80",
            b"127.0.0.1:",
            b"127.0.0.1:0",
            b"[::1]",
            b"[::1]80",
            b"[::1:80",
            b"localhost:80",
            b"::1:80",
            b"-1",
            b" 80",
            b"123456",
        ] {
            assert_eq!(Address::parse(bad), Err(Errno::EINVAL), "{:?}", core::str::from_utf8(bad));
        }
    }

    #[test]
    fn filters_environment() {
        let vars = [
            c"PATH=/bin",
            c"LISTEN_PID=1",
            c"LISTEN_FDS=2",
            c"HOME=/",
            c"NOTIFY_SOCKET=/x",
            c"LISTEN_FDSX=1",
            c"WATCHDOG_USEC=5",
        ];
        let mut envp: std::vec::Vec<*const c_char> = vars.iter().map(|c| c.as_ptr()).collect();
        envp.push(core::ptr::null());
        // SAFETY: `envp` is a NULL-terminated array of NUL-terminated strings that outlives the calls.
        unsafe {
            let out = environ_without_activation(envp.as_ptr()).unwrap();
            let mut kept = std::vec::Vec::new();
            let mut i = 0;
            while !(*out.add(i)).is_null() {
                kept.push(CStr::from_ptr(*out.add(i)).to_str().unwrap());
                i += 1;
            }
            libc::free(out as *mut libc::c_void);
            assert_eq!(kept, ["PATH=/bin", "HOME=/", "LISTEN_FDSX=1"]);
            let empty = environ_without_activation(core::ptr::null()).unwrap();
            assert!((*empty).is_null());
            libc::free(empty as *mut libc::c_void);
        }
    }
}
