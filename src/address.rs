//! systemd's socket address syntax (`ListenStream=`, `socket_address_parse`
//! in systemd 252), as `systemd-socket-activate -l` takes it. One parser
//! serves [`find_socket`](crate::find_socket) and the `sdfd-activate`
//! launcher; the launcher's differential test checks it against
//! systemd-socket-activate 252.
//!
//! * `PORT`: every address (`[::]:PORT`, or `0.0.0.0:PORT` without IPv6);
//! * `A.B.C.D:PORT` and `[IPV6]:PORT`, each optionally followed by
//!   `%IFACE` (an interface name or index, which must exist; the IPv6
//!   scope);
//! * `/path`: a unix socket (shorter than `sun_path`; not `/` alone);
//! * `@name`: a Linux abstract unix socket (a name of at least one byte).
//!
//! A port is 1–65535 in systemd's number syntax: decimal, `0x` hex, `0o`
//! or a leading `0` octal, `0b` binary, an optional `+`; no white space.
//! No host names, no `vsock:`. Parsing never allocates and never panics.

use core::ffi::CStr;
use core::fmt;

use crate::errno::Errno;

/// A parsed listening address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketAddress<'a> {
    /// Port only: any address, IPv4 and IPv6.
    Port(u16),
    /// An IPv4 address and port.
    Inet4 {
        /// The address, octets in network order.
        addr: [u8; 4],
        /// The port.
        port: u16,
    },
    /// An IPv6 address, port, and scope.
    Inet6 {
        /// The address, octets in network order.
        addr: [u8; 16],
        /// The port.
        port: u16,
        /// The scope: an interface index, 0 for none.
        scope_id: u32,
    },
    /// A filesystem socket path (without NUL).
    Path(&'a [u8]),
    /// An abstract socket name (without the leading `@`).
    Abstract(&'a [u8]),
}

/// Why an address does not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressError {
    /// Not in the syntax (the reason).
    Invalid(&'static str),
    /// A number in the port's place, out of 1–65535.
    PortRange,
    /// `%IFACE` names no network interface.
    NoSuchInterface,
}

impl AddressError {
    /// As systemd reports it: `ERANGE` for a port out of range, `ENODEV`
    /// for an unknown interface, `EINVAL` otherwise.
    pub fn errno(self) -> Errno {
        match self {
            AddressError::Invalid(_) => Errno::EINVAL,
            AddressError::PortRange => Errno::ERANGE,
            AddressError::NoSuchInterface => Errno(libc::ENODEV),
        }
    }
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressError::Invalid(why) => write!(f, "invalid address: {why}"),
            AddressError::PortRange => write!(f, "port out of range (1-65535)"),
            AddressError::NoSuchInterface => write!(f, "no such network interface"),
        }
    }
}

/// The size of `sun_path`: a unix socket path is shorter, an abstract name
/// at least two bytes shorter (systemd's limits).
#[cfg(any(target_os = "linux", target_os = "android"))]
const SUN_PATH_MAX: usize = 108;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const SUN_PATH_MAX: usize = 104;

/// The size of `sun_path` on this platform (a path must be shorter).
pub const fn sun_path_max() -> usize {
    SUN_PATH_MAX
}

type R<T> = core::result::Result<T, AddressError>;

impl<'a> SocketAddress<'a> {
    /// Parse `s` in systemd's syntax (see the module documentation).
    pub fn parse(s: &'a [u8]) -> R<SocketAddress<'a>> {
        match s.split_first() {
            None => Err(AddressError::Invalid("empty address")),
            Some((b'/', [])) => Err(AddressError::Invalid("'/' is not a socket path")),
            Some((b'/', _)) if s.len() >= SUN_PATH_MAX => Err(AddressError::Invalid("unix socket path too long")),
            Some((b'/', _)) => Ok(SocketAddress::Path(s)),
            Some((b'@', _)) if !cfg!(any(target_os = "linux", target_os = "android")) => {
                Err(AddressError::Invalid("abstract unix sockets exist on Linux only"))
            }
            Some((b'@', [])) => Err(AddressError::Invalid("empty abstract socket name")),
            Some((b'@', name)) if name.len() >= SUN_PATH_MAX - 1 => {
                Err(AddressError::Invalid("abstract socket name too long"))
            }
            Some((b'@', name)) => Ok(SocketAddress::Abstract(name)),
            _ if s.starts_with(b"vsock:") => Err(AddressError::Invalid("vsock addresses are not supported")),
            Some((b'[', rest)) => {
                let close = rest.iter().position(|&c| c == b']').ok_or(AddressError::Invalid("missing ']'"))?;
                let (inside, after) = split(rest, close);
                if inside.contains(&b'%') {
                    return Err(AddressError::Invalid("the interface goes after the port: [ADDRESS]:PORT%IFACE"));
                }
                let mut addr = [0u8; 16];
                if !pton(libc::AF_INET6, inside, &mut addr) {
                    return Err(AddressError::Invalid("bad IPv6 address"));
                }
                let port =
                    after.get(1..).and_then(|a| a.strip_prefix(b":")).ok_or(AddressError::Invalid("missing port"))?;
                let (port, scope) = port_and_iface(port)?;
                Ok(SocketAddress::Inet6 { addr, port, scope_id: scope.unwrap_or(0) })
            }
            Some(_) => {
                if let Some(p) = parse_port(s)? {
                    return Ok(SocketAddress::Port(p));
                }
                let colon = s
                    .iter()
                    .position(|&c| c == b':')
                    .ok_or(AddressError::Invalid("expected PORT, IPV4:PORT, [IPV6]:PORT, /path or @name"))?;
                let (ip, port) = split(s, colon);
                let port = port.get(1..).unwrap_or_default();
                if port.contains(&b':') {
                    return Err(AddressError::Invalid("IPv6 addresses need brackets: [ADDRESS]:PORT"));
                }
                let mut addr = [0u8; 4];
                if !pton(libc::AF_INET, ip, &mut addr) {
                    return Err(AddressError::Invalid("bad IPv4 address"));
                }
                let (port, _) = port_and_iface(port)?;
                Ok(SocketAddress::Inet4 { addr, port })
            }
        }
    }

    /// Parse `s` in python-systemd 235's syntax (`is_socket_sockaddr()`; its
    /// `parse_sockaddr`, an older systemd's): `[IPV6]` or `[IPV6]:PORT`,
    /// `A.B.C.D` or `A.B.C.D:PORT`, `PORT` (every address), `IFACE` or
    /// `IFACE:PORT` (IPv6 `::` scoped to that interface); a port is C
    /// `strtoul(…, 0)`'s (leading white space, a sign, `0x` hex, `0` octal) and
    /// 0 when absent. Errors as python-systemd's: `-EINVAL`, `-ERANGE` for a
    /// number that does not fit. No unix sockets; never allocates.
    pub fn parse_python_systemd(s: &CStr) -> core::result::Result<SocketAddress<'static>, Errno> {
        fn port(s: &CStr) -> core::result::Result<u16, Errno> {
            match strtoul_uint(s)? {
                p @ 1..=65535 => Ok(p as u16),
                _ => Err(Errno::EINVAL),
            }
        }
        let b = s.to_bytes();
        if let Some(rest) = b.strip_prefix(b"[") {
            let close = rest.iter().position(|&c| c == b']').ok_or(Errno::EINVAL)?;
            let (inside, after) = split(rest, close);
            let mut addr = [0u8; 16];
            if !pton(libc::AF_INET6, inside, &mut addr) {
                return Err(Errno::EINVAL);
            }
            let port = match after.get(1..).unwrap_or_default() {
                [] => 0,
                // (after "[", the address, "]:")
                [b':', ..] => port(tail(s, close.wrapping_add(3)))?,
                _ => return Err(Errno::EINVAL),
            };
            return Ok(SocketAddress::Inet6 { addr, port, scope_id: 0 });
        }
        if let Some(colon) = b.iter().position(|&c| c == b':') {
            let (host, _) = split(b, colon);
            return inet_or_interface(host, port(tail(s, colon.wrapping_add(1)))?);
        }
        match strtoul_uint(s) {
            Err(_) => inet_or_interface(b, 0), // not a port: an address or interface alone
            Ok(p @ 1..=65535) => Ok(SocketAddress::Port(p as u16)),
            Ok(_) => Err(Errno::EINVAL),
        }
    }

    /// This address as a `sockaddr_in`, `sockaddr_in6` or `sockaddr_un` in
    /// `out`, and its length. A bare port is `[::]:PORT`, or `0.0.0.0:PORT`
    /// where the kernel has no IPv6 (`/proc/net/if_inet6` missing), as systemd
    /// and python-systemd decide it.
    pub fn to_sockaddr(&self, out: &mut libc::sockaddr_storage) -> libc::socklen_t {
        // SAFETY: all-zero is a valid sockaddr_storage.
        *out = unsafe { core::mem::zeroed() };
        let p: *mut libc::sockaddr_storage = out;
        match *self {
            SocketAddress::Port(port) if ipv6_supported() => inet6(p, [0; 16], port, 0),
            SocketAddress::Port(port) => inet4(p, [0; 4], port),
            SocketAddress::Inet4 { addr, port } => inet4(p, addr, port),
            SocketAddress::Inet6 { addr, port, scope_id } => inet6(p, addr, port, scope_id),
            SocketAddress::Path(path) => unix(p, 0, path),
            SocketAddress::Abstract(name) => unix(p, 1, name),
        }
    }
}

// sockaddr_storage is larger than, and aligned for, each of sockaddr_in,
// sockaddr_in6 and sockaddr_un (POSIX), and all-zero is a valid value of each.

fn inet4(p: *mut libc::sockaddr_storage, addr: [u8; 4], port: u16) -> libc::socklen_t {
    // SAFETY: see above; `p` is a live, exclusive sockaddr_storage.
    let a = unsafe { &mut *(p as *mut libc::sockaddr_in) };
    a.sin_family = libc::AF_INET as libc::sa_family_t;
    a.sin_port = port.to_be();
    a.sin_addr.s_addr = u32::from_ne_bytes(addr);
    core::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t
}

fn inet6(p: *mut libc::sockaddr_storage, addr: [u8; 16], port: u16, scope_id: u32) -> libc::socklen_t {
    // SAFETY: as for inet4.
    let a = unsafe { &mut *(p as *mut libc::sockaddr_in6) };
    a.sin6_family = libc::AF_INET6 as libc::sa_family_t;
    a.sin6_port = port.to_be();
    a.sin6_addr.s6_addr = addr;
    a.sin6_scope_id = scope_id;
    core::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t
}

/// A path (`at` 0: with its NUL counted, as systemd does) or an abstract
/// name (`at` 1: after the leading NUL, none counted).
fn unix(p: *mut libc::sockaddr_storage, at: usize, name: &[u8]) -> libc::socklen_t {
    // SAFETY: as for inet4.
    let a = unsafe { &mut *(p as *mut libc::sockaddr_un) };
    a.sun_family = libc::AF_UNIX as libc::sa_family_t;
    // The parser keeps paths and names shorter than sun_path.
    for (d, &c) in a.sun_path.iter_mut().skip(at).zip(name) {
        *d = c as libc::c_char;
    }
    let len = crate::sys::sun_path_offset().wrapping_add(at).wrapping_add(name.len());
    len.wrapping_add(usize::from(at == 0)) as libc::socklen_t
}

/// Whether the kernel has IPv6: on Linux, systemd 252's test
/// (`/proc/net/if_inet6` exists, whatever a socket call would say).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn ipv6_supported() -> bool {
    // SAFETY: the path is NUL-terminated.
    unsafe { libc::access(c"/proc/net/if_inet6".as_ptr(), libc::F_OK) == 0 }
}

/// Elsewhere (no `/proc`): whether an IPv6 socket can be created.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn ipv6_supported() -> bool {
    // SAFETY: plain socket calls; the socket is closed at once.
    unsafe {
        let fd = libc::socket(libc::AF_INET6, libc::SOCK_DGRAM, 0);
        if fd >= 0 {
            libc::close(fd);
        }
        fd >= 0 || Errno::last() != Errno(libc::EAFNOSUPPORT)
    }
}

/// An `A.B.C.D` address, or else a network interface's name (IPv6 `::` with
/// that scope): python-systemd's reading of a host part.
fn inet_or_interface(host: &[u8], port: u16) -> core::result::Result<SocketAddress<'static>, Errno> {
    let mut addr = [0u8; 4];
    if pton(libc::AF_INET, host, &mut addr) {
        return Ok(SocketAddress::Inet4 { addr, port });
    }
    if host.len() > 15 {
        return Err(Errno::EINVAL); // longer than IF_NAMESIZE allows
    }
    match if_index(host) {
        0 => Err(Errno::EINVAL),
        scope_id => Ok(SocketAddress::Inet6 { addr: [0; 16], port, scope_id }),
    }
}

/// python-systemd's `safe_atou`: C `strtoul(s, &end, 0)` that must use all
/// of `s` (the library's one C converter, [`crate::parse`]), then its own
/// checks: `ERANGE` for a string starting with `-` or a value beyond
/// `unsigned int`.
fn strtoul_uint(s: &CStr) -> core::result::Result<u32, Errno> {
    let v = crate::parse::strtoul_whole(s)?;
    if s.to_bytes().first() == Some(&b'-') {
        return Err(Errno::ERANGE);
    }
    // (c_ulong is u64 or, where it is 32 bits, already an unsigned int)
    #[allow(clippy::useless_conversion)]
    u32::try_from(v).map_err(|_| Errno::ERANGE)
}

/// The end of `s` from byte `i` on (empty past its end).
fn tail(s: &CStr, i: usize) -> &CStr {
    let b = s.to_bytes_with_nul();
    // SAFETY: a suffix of a NUL-terminated string without interior NUL is
    // one too; `i` is capped at the NUL's place.
    unsafe { CStr::from_bytes_with_nul_unchecked(b.get(i.min(b.len().wrapping_sub(1))..).unwrap_or_default()) }
}

/// `s[..i]`, `s[i..]` (without `split_at`'s panic path).
fn split(s: &[u8], i: usize) -> (&[u8], &[u8]) {
    (s.get(..i).unwrap_or_default(), s.get(i..).unwrap_or_default())
}

/// `Ok(Some(port))`, `Ok(None)` when `s` is not a number at all, `Err` when
/// it is a number but not a valid port (systemd's `parse_ip_port`).
fn parse_port(s: &[u8]) -> R<Option<u16>> {
    if s.len() > 1 && s.first() == Some(&b'-') {
        return Err(AddressError::PortRange);
    }
    let (digits, radix): (&[u8], u32) = if let Some(r) = s.strip_prefix(b"0b").or_else(|| s.strip_prefix(b"0B")) {
        (r, 2)
    } else if let Some(r) = s.strip_prefix(b"0o").or_else(|| s.strip_prefix(b"0O")) {
        (r, 8)
    } else {
        let t = s.strip_prefix(b"+").unwrap_or(s);
        if let Some(r) = t.strip_prefix(b"0x").or_else(|| t.strip_prefix(b"0X")) {
            (r, 16)
        } else if t.len() > 1 && t.first() == Some(&b'0') {
            (t.get(1..).unwrap_or_default(), 8)
        } else {
            (t, 10)
        }
    };
    if digits.is_empty() || !digits.iter().all(|&c| digit(c, radix).is_some()) {
        return Ok(None);
    }
    let mut v: u32 = 0;
    for &c in digits {
        let d = digit(c, radix).unwrap_or(0);
        v = match v.checked_mul(radix).and_then(|v| v.checked_add(d)) {
            Some(v) => v,
            _ => return Err(AddressError::PortRange),
        };
    }
    match v {
        0 => Err(AddressError::Invalid("port 0")),
        1..=65535 => Ok(Some(v as u16)),
        _ => Err(AddressError::PortRange),
    }
}

/// The value of digit `c` in `radix` (2, 8, 10 or 16). (Not
/// `char::to_digit`, whose panic path for a radix above 36 must not be
/// reachable from the C ABI: tests/panic-check.sh.)
fn digit(c: u8, radix: u32) -> Option<u32> {
    let d = match c {
        b'0'..=b'9' => u32::from(c.wrapping_sub(b'0')),
        b'a'..=b'f' => u32::from(c.wrapping_sub(b'a')).wrapping_add(10),
        b'A'..=b'F' => u32::from(c.wrapping_sub(b'A')).wrapping_add(10),
        _ => return None,
    };
    (d < radix).then_some(d)
}

fn need_port(s: &[u8]) -> R<u16> {
    parse_port(s)?.ok_or(AddressError::Invalid("bad port"))
}

/// `PORT` or `PORT%IFACE`; the interface must exist.
fn port_and_iface(s: &[u8]) -> R<(u16, Option<u32>)> {
    match s.iter().position(|&c| c == b'%') {
        Some(i) => {
            let (p, iface) = split(s, i);
            let port = need_port(p)?;
            Ok((port, Some(scope_id(iface.get(1..).unwrap_or_default())?)))
        }
        None => Ok((need_port(s)?, None)),
    }
}

fn scope_id(iface: &[u8]) -> R<u32> {
    if !iface.is_empty() && iface.len() <= 10 && iface.iter().all(u8::is_ascii_digit) {
        let n = iface.iter().fold(0u64, |n, &d| n.wrapping_mul(10).wrapping_add(u64::from(d.wrapping_sub(b'0'))));
        if n > 0 && n <= i32::MAX as u64 {
            return Ok(n as u32);
        }
    }
    match if_index(iface) {
        0 => Err(AddressError::NoSuchInterface),
        n => Ok(n),
    }
}

/// `if_nametoindex`: the interface's index, 0 if there is none of that name.
fn if_index(name: &[u8]) -> u32 {
    let mut buf = [0u8; 64];
    if name.is_empty() || name.len() >= buf.len() || name.contains(&0) {
        return 0;
    }
    for (d, c) in buf.iter_mut().zip(name) {
        *d = *c;
    }
    // SAFETY: buf is NUL-terminated.
    unsafe { libc::if_nametoindex(buf.as_ptr() as *const libc::c_char) }
}

extern "C" {
    // POSIX; not in the libc crate.
    fn inet_pton(af: libc::c_int, src: *const libc::c_char, dst: *mut libc::c_void) -> libc::c_int;
}

/// `inet_pton` (strict: dotted quad for IPv4) into `out` (4 or 16 bytes).
fn pton(af: libc::c_int, s: &[u8], out: &mut [u8]) -> bool {
    let mut buf = [0u8; 64];
    if s.is_empty() || s.len() >= buf.len() || s.contains(&0) {
        return false;
    }
    for (d, c) in buf.iter_mut().zip(s) {
        *d = *c;
    }
    // SAFETY: buf is NUL-terminated; out has room for the family's address.
    unsafe { inet_pton(af, buf.as_ptr() as *const libc::c_char, out.as_mut_ptr() as *mut libc::c_void) == 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> R<SocketAddress<'_>> {
        SocketAddress::parse(s.as_bytes())
    }

    #[test]
    fn forms() {
        assert_eq!(p("8080"), Ok(SocketAddress::Port(8080)));
        // systemd's number syntax for ports (checked against
        // systemd-socket-activate 252 by tests/launcher/launcher_difftest.py).
        for s in ["80", "+80", "0120", "+0120", "0x50", "0X50", "+0x50", "0o120", "0O120", "0b1010000", "0B1010000"] {
            assert_eq!(p(s), Ok(SocketAddress::Port(80)), "{s}");
        }
        assert_eq!(p("127.0.0.1:99"), Ok(SocketAddress::Inet4 { addr: [127, 0, 0, 1], port: 99 }));
        assert_eq!(p("127.0.0.1:0x63%1"), Ok(SocketAddress::Inet4 { addr: [127, 0, 0, 1], port: 99 }));
        let mut l6 = [0u8; 16];
        l6[15] = 1;
        assert_eq!(p("[::1]:99"), Ok(SocketAddress::Inet6 { addr: l6, port: 99, scope_id: 0 }));
        assert_eq!(p("[::1]:99%1"), Ok(SocketAddress::Inet6 { addr: l6, port: 99, scope_id: 1 }));
        assert!(matches!(p("[::ffff:127.0.0.1]:80"), Ok(SocketAddress::Inet6 { port: 80, .. })));
        assert_eq!(p("/run/x.sock"), Ok(SocketAddress::Path(b"/run/x.sock")));
        #[cfg(target_os = "linux")]
        {
            assert_eq!(p("@x"), Ok(SocketAddress::Abstract(b"x")));
            assert_eq!(p("[::1]:99%lo"), Ok(SocketAddress::Inet6 { addr: l6, port: 99, scope_id: 1 }));
        }
    }

    #[test]
    fn bad() {
        assert_eq!(p("0"), Err(AddressError::Invalid("port 0")));
        assert_eq!(p("65536"), Err(AddressError::PortRange));
        assert_eq!(p("127.0.0.1:-5"), Err(AddressError::PortRange));
        assert_eq!(p("99999999999999999999"), Err(AddressError::PortRange));
        assert_eq!(p("[::1]:80%no-such-if0"), Err(AddressError::NoSuchInterface));
        assert_eq!(p("65536").unwrap_err().errno(), Errno::ERANGE);
        for s in [
            "",
            "@",
            "/",
            "-1",
            "x",
            "127.0.0.1",
            "127.0.0.1:",
            "127.0.0.1:0",
            "127.0.0.1:x",
            "1.2.3:4",
            "1.2.3.4.5:80",
            "01.2.3.4:80",
            "127.0.0.1:080",
            "::1:80",
            "[::1]",
            "[::1]:",
            "[::1]80",
            "[::1:80",
            "[x]:80",
            "localhost:80",
            "relative/path",
            "vsock:1:2",
            "[::1%1]:80",
            " 80",
            "80 ",
            "127.0.0.1: 80",
            "0x",
            "00",
            "08",
            "1_0",
            "127.0.0.1:80#x",
            "123456",
        ] {
            assert!(p(s).is_err(), "{s:?}");
            assert_ne!(p(s).unwrap_err().errno(), Errno(0));
        }
        let long = [b'a'; SUN_PATH_MAX + 1];
        let mut path = long;
        path[0] = b'/';
        assert!(SocketAddress::parse(&path[..SUN_PATH_MAX]).is_err());
        assert!(SocketAddress::parse(&path[..SUN_PATH_MAX - 1]).is_ok());
        let mut abs = long;
        abs[0] = b'@';
        assert!(SocketAddress::parse(&abs[..SUN_PATH_MAX]).is_err());
    }

    #[test]
    fn python_systemd_syntax() {
        fn p(s: &str) -> core::result::Result<SocketAddress<'static>, Errno> {
            SocketAddress::parse_python_systemd(&std::ffi::CString::new(s).unwrap())
        }
        let mut l6 = [0u8; 16];
        l6[15] = 1;
        assert_eq!(p("127.0.0.1"), Ok(SocketAddress::Inet4 { addr: [127, 0, 0, 1], port: 0 }));
        assert_eq!(p("[::1]"), Ok(SocketAddress::Inet6 { addr: l6, port: 0, scope_id: 0 }));
        // strtoul(..., 0): white space, a sign, hex and octal.
        for s in ["127.0.0.1:80", "127.0.0.1: 80", "127.0.0.1:+80", "127.0.0.1:0x50", "127.0.0.1:0120"] {
            assert_eq!(p(s), Ok(SocketAddress::Inet4 { addr: [127, 0, 0, 1], port: 80 }), "{s}");
        }
        assert_eq!(p("80"), Ok(SocketAddress::Port(80)));
        #[cfg(target_os = "linux")]
        assert_eq!(p("lo:80"), Ok(SocketAddress::Inet6 { addr: [0; 16], port: 80, scope_id: 1 }));
        for (s, e) in [
            ("127.0.0.1:0", Errno::EINVAL),
            ("127.0.0.1:65536", Errno::EINVAL),
            ("127.0.0.1:-1", Errno::ERANGE),
            ("127.0.0.1:99999999999999999999", Errno::ERANGE),
            ("127.0.0.1:4294967296", Errno::ERANGE),
            ("127.0.0.1:80x", Errno::EINVAL),
            ("127.0.0.1:", Errno::EINVAL),
            ("[::1]:", Errno::EINVAL),
            ("[::1]x", Errno::EINVAL),
            ("[::1", Errno::EINVAL),
            ("[]", Errno::EINVAL),
            ("", Errno::EINVAL),
            ("0", Errno::EINVAL),
            ("65536", Errno::EINVAL),
            ("averyveryverylonginterfacename", Errno::EINVAL),
            ("nosuchinterface0:80", Errno::EINVAL),
        ] {
            assert_eq!(p(s), Err(e), "{s:?}");
        }
        // After white space the minus is strtoul's: -1 is ULONG_MAX, which
        // fits an unsigned int only where long is 32 bits (then port range).
        let wide = core::mem::size_of::<libc::c_ulong>() > 4;
        assert_eq!(p("127.0.0.1: -1"), Err(if wide { Errno::ERANGE } else { Errno::EINVAL }));
    }

    #[test]
    fn sockaddr() {
        // SAFETY: all-zero is a valid sockaddr_storage.
        let mut ss: libc::sockaddr_storage = unsafe { core::mem::zeroed() };
        let n = SocketAddress::Inet4 { addr: [127, 0, 0, 1], port: 80 }.to_sockaddr(&mut ss);
        assert_eq!(n as usize, core::mem::size_of::<libc::sockaddr_in>());
        // SAFETY: it now holds a sockaddr_in.
        let in4 = unsafe { &*(&ss as *const _ as *const libc::sockaddr_in) };
        assert_eq!((in4.sin_family as i32, u16::from_be(in4.sin_port)), (libc::AF_INET, 80));
        assert_eq!(in4.sin_addr.s_addr.to_ne_bytes(), [127, 0, 0, 1]);
        let off = crate::sys::sun_path_offset();
        assert_eq!(SocketAddress::Path(b"/x").to_sockaddr(&mut ss) as usize, off + 3);
        assert_eq!(SocketAddress::Abstract(b"x").to_sockaddr(&mut ss) as usize, off + 2);
    }
}
