//! Activated sockets by name as checked std types (feature `std`, Unix).
//!
//! A name is what the service manager passed in `LISTEN_FDNAMES`
//! (`FileDescriptorName=` in a `.socket` unit, `--fdname` of
//! `systemd-socket-activate`; `unknown` when none was given). Each name is
//! handed out once per process, whichever function takes it (these,
//! [`activate_socket`](crate::activate_socket)), so a descriptor never gets
//! two owners. The environment is not modified.
//!
//! Before a socket is taken its type is checked, as listenfd's `take_*`
//! functions do: a name whose descriptors are not all of the requested
//! kind is an [`InvalidInput`](io::ErrorKind::InvalidInput) error and stays
//! available, so that a program can try another type. (Under launchd, which
//! hands a name's sockets out only once, they are checked after the hand-over
//! and closed on a mismatch.)

use std::ffi::CString;
use std::io;
use std::net::{TcpListener, ToSocketAddrs, UdpSocket};
use std::os::fd::OwnedFd;
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::Path;
use std::vec::Vec;

use crate::errno::Errno;
use crate::fd::RawFd;

mod sealed {
    pub trait Sealed {}
}

/// A type an activated socket can be taken as: [`TcpListener`],
/// [`UdpSocket`], [`UnixListener`], [`UnixDatagram`] or, unchecked,
/// [`OwnedFd`].
pub trait ActivatedSocket: sealed::Sealed + Sized {
    /// What the descriptor must be, for error messages ("a TCP listener").
    const KIND: &'static str;
    /// Whether `fd` is a socket of this kind.
    #[doc(hidden)]
    fn matches(fd: RawFd) -> crate::Result<bool>;
    /// Wrap the (checked, owned) descriptor.
    #[doc(hidden)]
    fn from_fd(fd: OwnedFd) -> Self;
}

macro_rules! activated {
    ($t:ty, $kind:literal, |$fd:ident| $check:expr) => {
        impl sealed::Sealed for $t {}
        impl ActivatedSocket for $t {
            const KIND: &'static str = $kind;
            fn matches($fd: RawFd) -> crate::Result<bool> {
                $check
            }
            fn from_fd(fd: OwnedFd) -> Self {
                Self::from(fd)
            }
        }
    };
}

// Family 0 for the inet checks: AF_INET or AF_INET6.
activated!(TcpListener, "a listening TCP socket", |fd| crate::is_socket_inet(fd, 0, libc::SOCK_STREAM, Some(true), 0));
activated!(UdpSocket, "a UDP socket", |fd| crate::is_socket_inet(fd, 0, libc::SOCK_DGRAM, None, 0));
activated!(UnixListener, "a listening Unix stream socket", |fd| crate::is_socket(
    fd,
    libc::AF_UNIX,
    libc::SOCK_STREAM,
    Some(true)
));
activated!(UnixDatagram, "a Unix datagram socket", |fd| crate::is_socket(fd, libc::AF_UNIX, libc::SOCK_DGRAM, None));
activated!(OwnedFd, "an open descriptor", |fd| crate::sys::get_fd_flags(fd).map(|_| true));

/// The errno as an `io::Error` (`raw_os_error()` keeps it matchable);
/// `what` is for the caller's context only.
fn err(e: Errno, _what: &str) -> io::Error {
    io::Error::from(e)
}

/// Every activated socket named `name`, as `T`, in descriptor order; empty
/// if the process was not socket-activated or has no socket of that name.
///
/// Errors: [`InvalidInput`](io::ErrorKind::InvalidInput) if one of them is
/// not a `T` (nothing is taken then), `EALREADY` if the name was taken
/// before in this process, the activation's own errors (`LISTEN_FDS`
/// malformed, a passed descriptor not open, …) as `sd_listen_fds` reports
/// them.
pub fn take_all<T: ActivatedSocket>(name: &str) -> io::Result<Vec<T>> {
    Ok(take_all_fds(name, &Kind::of::<T>())?.into_iter().map(T::from_fd).collect())
}

/// What [`take_all`] and [`take`] check, as values: the work is done once,
/// on descriptors, by [`take_all_fds`] and [`take_fd`] (not compiled again
/// for every socket type), and only the final `T::from(OwnedFd)` is generic.
struct Kind {
    what: &'static str,
    matches: fn(RawFd) -> crate::Result<bool>,
}

impl Kind {
    fn of<T: ActivatedSocket>() -> Kind {
        Kind { what: T::KIND, matches: T::matches }
    }
}

fn take_all_fds(name: &str, kind: &Kind) -> io::Result<Vec<OwnedFd>> {
    let cname = CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "socket name contains a NUL byte"))?;
    // Check the types before the name is claimed: a mismatch leaves it free.
    #[cfg(not(target_vendor = "apple"))]
    {
        let names = crate::listen::listen_fds_with_names(false).map_err(|e| err(e, "socket activation"))?;
        let mut any = false;
        for (i, n) in names.iter().enumerate() {
            if n != cname.as_c_str() {
                continue;
            }
            any = true;
            let fd = crate::LISTEN_FDS_START.wrapping_add(i as RawFd);
            check(kind, name, fd)?;
        }
        if !any {
            return Ok(Vec::new());
        }
    }
    let sockets = match crate::activate_socket(&cname) {
        Ok(s) => s,
        Err(Errno::ESRCH | Errno::ENOENT) => return Ok(Vec::new()),
        Err(e) => return Err(err(e, &format!("activated socket '{name}'"))),
    };
    // launchd (macOS): checked once handed over; a mismatch closes them.
    #[cfg(target_vendor = "apple")]
    for &fd in sockets.as_slice() {
        if let Err(e) = check(kind, name, fd) {
            drop(sockets.into_owned_fds());
            return Err(e);
        }
    }
    Ok(sockets.into_owned_fds())
}

fn check(kind: &Kind, name: &str, fd: RawFd) -> io::Result<()> {
    match (kind.matches)(fd) {
        Ok(true) => Ok(()),
        Ok(false) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("activated socket '{name}' (fd {fd}) is not {}", kind.what),
        )),
        Err(e) => Err(err(e, &format!("activated socket '{name}' (fd {fd})"))),
    }
}

/// The activated socket named `name` as `T`; `None` if the process was not
/// socket-activated or has no socket of that name. More than one socket
/// under the name is an [`InvalidInput`](io::ErrorKind::InvalidInput) error
/// (use [`take_all`]); otherwise the errors of [`take_all`].
///
/// ```no_run
/// let l: Option<std::net::TcpListener> = sdfd::take("web")?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn take<T: ActivatedSocket>(name: &str) -> io::Result<Option<T>> {
    Ok(take_fd(name, &Kind::of::<T>())?.map(T::from_fd))
}

fn take_fd(name: &str, kind: &Kind) -> io::Result<Option<OwnedFd>> {
    #[cfg(not(target_vendor = "apple"))]
    {
        let names = crate::listen::listen_fds_with_names(false).map_err(|e| err(e, "socket activation"))?;
        let n = names.iter().filter(|n| n.to_bytes() == name.as_bytes()).count();
        if n > 1 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{n} activated sockets are named '{name}' (take_all takes them all)"),
            ));
        }
    }
    let mut all = take_all_fds(name, kind)?;
    if all.len() > 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} activated sockets were named '{name}'", all.len()),
        ));
    }
    Ok(all.pop())
}

/// [`take`] as a [`TcpListener`] (`ListenStream=` with an IP address or port).
pub fn take_tcp_listener(name: &str) -> io::Result<Option<TcpListener>> {
    take(name)
}

/// [`take`] as a [`UdpSocket`] (`ListenDatagram=` with an IP address or port).
pub fn take_udp_socket(name: &str) -> io::Result<Option<UdpSocket>> {
    take(name)
}

/// [`take`] as a [`UnixListener`] (`ListenStream=/path` or `@abstract`).
pub fn take_unix_listener(name: &str) -> io::Result<Option<UnixListener>> {
    take(name)
}

/// [`take`] as a [`UnixDatagram`] (`ListenDatagram=/path`).
pub fn take_unix_datagram(name: &str) -> io::Result<Option<UnixDatagram>> {
    take(name)
}

/// The activated TCP listener named `name`, else a new one bound to `addr`:
/// the same program runs under systemd (or `systemd-socket-activate`) and
/// by hand.
///
/// ```no_run
/// let listener = sdfd::tcp_listener_or_bind("web", "[::1]:8080")?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn tcp_listener_or_bind<A: ToSocketAddrs>(name: &str, addr: A) -> io::Result<TcpListener> {
    match take_tcp_listener(name)? {
        Some(l) => Ok(l),
        None => TcpListener::bind(addr),
    }
}

/// The activated UDP socket named `name`, else a new one bound to `addr`.
pub fn udp_socket_or_bind<A: ToSocketAddrs>(name: &str, addr: A) -> io::Result<UdpSocket> {
    match take_udp_socket(name)? {
        Some(s) => Ok(s),
        None => UdpSocket::bind(addr),
    }
}

/// The activated Unix stream listener named `name`, else a new one bound
/// to `path` (which must not exist yet, as with [`UnixListener::bind`]).
pub fn unix_listener_or_bind<P: AsRef<Path>>(name: &str, path: P) -> io::Result<UnixListener> {
    match take_unix_listener(name)? {
        Some(l) => Ok(l),
        None => UnixListener::bind(path),
    }
}
