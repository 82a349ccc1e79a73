//! `--listen` addresses, with systemd's syntax (`socket_address_parse`):
//!
//! * `PORT` — every address, IPv6 dual-stack (`[::]:PORT`), or IPv4
//!   `0.0.0.0:PORT` when the machine has no IPv6;
//! * `A.B.C.D:PORT` — IPv4 (strict dotted quad);
//! * `[V6]:PORT`, `[V6%IFACE]:PORT`, `[V6]:PORT%IFACE` — IPv6, with an
//!   optional scope given as interface name or index;
//! * `/path` — a unix socket at an absolute path;
//! * `@name` — a Linux abstract unix socket.
//!
//! A port is decimal (leading white space and `+` allowed, as systemd's
//! `safe_atou16`), 1–65535.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

#[derive(Debug, Clone, PartialEq)]
pub enum Addr {
    Inet4(SocketAddrV4),
    Inet6(SocketAddrV6),
    /// Port only: `[::]:PORT`, or `0.0.0.0:PORT` without IPv6.
    Any(u16),
    UnixPath(Vec<u8>),
    UnixAbstract(Vec<u8>),
}

/// Longest unix socket name in bytes (sun_path less the NUL for paths).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub const SUN_PATH_MAX: usize = 108;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub const SUN_PATH_MAX: usize = 104;

#[derive(Debug, PartialEq)]
pub enum AddrError {
    Invalid(&'static str),
    PortRange,
    NoSuchInterface(String),
}

impl std::fmt::Display for AddrError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            AddrError::Invalid(why) => write!(f, "invalid address: {why}"),
            AddrError::PortRange => write!(f, "port out of range (1-65535)"),
            AddrError::NoSuchInterface(i) => write!(f, "no such network interface '{i}'"),
        }
    }
}

/// `Ok(Some(port))`, `Ok(None)` when `s` is not a number at all, `Err` when
/// it is a number but not a valid port.
fn parse_port(s: &str) -> Result<Option<u16>, AddrError> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let t = t.strip_prefix('+').unwrap_or(t);
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let t = t.trim_start_matches('0');
    if t.len() > 5 {
        return Err(AddrError::PortRange);
    }
    match t.parse::<u32>().unwrap_or(0) {
        0 => Err(AddrError::Invalid("port 0")),
        p if p > 65535 => Err(AddrError::PortRange),
        p => Ok(Some(p as u16)),
    }
}

fn need_port(s: &str) -> Result<u16, AddrError> {
    parse_port(s)?.ok_or(AddrError::Invalid("bad port"))
}

fn scope_id(iface: &str) -> Result<u32, AddrError> {
    if let Ok(n) = iface.parse::<u32>() {
        if n > 0 && n <= i32::MAX as u32 {
            return Ok(n);
        }
    }
    let c = std::ffi::CString::new(iface).map_err(|_| AddrError::NoSuchInterface(iface.into()))?;
    // SAFETY: c is a NUL-terminated string.
    match unsafe { libc::if_nametoindex(c.as_ptr()) } {
        0 => Err(AddrError::NoSuchInterface(iface.into())),
        n => Ok(n),
    }
}

pub fn parse(s: &str) -> Result<Addr, AddrError> {
    if s.starts_with('/') {
        if s.len() >= SUN_PATH_MAX {
            return Err(AddrError::Invalid("unix socket path too long"));
        }
        return Ok(Addr::UnixPath(s.as_bytes().to_vec()));
    }
    if let Some(name) = s.strip_prefix('@') {
        if !cfg!(any(target_os = "linux", target_os = "android")) {
            return Err(AddrError::Invalid("abstract unix sockets exist on Linux only"));
        }
        if name.len() >= SUN_PATH_MAX {
            return Err(AddrError::Invalid("abstract socket name too long"));
        }
        return Ok(Addr::UnixAbstract(name.as_bytes().to_vec()));
    }
    if s.starts_with("vsock:") {
        return Err(AddrError::Invalid("vsock addresses are not supported by sdfd-activate"));
    }
    if let Some(p) = parse_port(s)? {
        return Ok(Addr::Any(p));
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (inside, after) = rest.split_once(']').ok_or(AddrError::Invalid("missing ']'"))?;
        let (ip, mut scope) = match inside.split_once('%') {
            Some((ip, iface)) => (ip, Some(scope_id(iface)?)),
            None => (inside, None),
        };
        let ip: Ipv6Addr = ip.parse().map_err(|_| AddrError::Invalid("bad IPv6 address"))?;
        let port = after.strip_prefix(':').ok_or(AddrError::Invalid("missing port"))?;
        let port = match port.split_once('%') {
            Some((p, iface)) if scope.is_none() => {
                scope = Some(scope_id(iface)?);
                p
            }
            Some(_) => return Err(AddrError::Invalid("two interfaces given")),
            None => port,
        };
        return Ok(Addr::Inet6(SocketAddrV6::new(ip, need_port(port)?, 0, scope.unwrap_or(0))));
    }
    let (ip, port) = s.rsplit_once(':').ok_or(AddrError::Invalid("expected PORT, IPV4:PORT, [IPV6]:PORT, /path or @name"))?;
    if ip.contains(':') {
        return Err(AddrError::Invalid("IPv6 addresses need brackets: [ADDRESS]:PORT"));
    }
    let ip: Ipv4Addr = ip.parse().map_err(|_| AddrError::Invalid("bad IPv4 address"))?;
    Ok(Addr::Inet4(SocketAddrV4::new(ip, need_port(port)?)))
}

impl std::fmt::Display for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Addr::Inet4(a) => write!(f, "{a}"),
            Addr::Inet6(a) => write!(f, "{a}"),
            Addr::Any(p) => write!(f, "*:{p}"),
            Addr::UnixPath(p) => write!(f, "{}", String::from_utf8_lossy(p)),
            Addr::UnixAbstract(p) => write!(f, "@{}", String::from_utf8_lossy(p)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(parse("8080"), Ok(Addr::Any(8080)));
        assert_eq!(parse(" +080"), Ok(Addr::Any(80)));
        assert_eq!(parse("127.0.0.1:99"), Ok(Addr::Inet4("127.0.0.1:99".parse().unwrap())));
        assert_eq!(parse("[::1]:99"), Ok(Addr::Inet6("[::1]:99".parse().unwrap())));
        assert_eq!(parse("[::1%1]:99"), Ok(Addr::Inet6(SocketAddrV6::new(Ipv6Addr::LOCALHOST, 99, 0, 1))));
        assert_eq!(parse("[::1]:99%1"), Ok(Addr::Inet6(SocketAddrV6::new(Ipv6Addr::LOCALHOST, 99, 0, 1))));
        assert_eq!(parse("/run/x.sock"), Ok(Addr::UnixPath(b"/run/x.sock".to_vec())));
        #[cfg(target_os = "linux")]
        assert_eq!(parse("@x"), Ok(Addr::UnixAbstract(b"x".to_vec())));
    }

    #[test]
    fn bad() {
        assert_eq!(parse("0"), Err(AddrError::Invalid("port 0")));
        assert_eq!(parse("65536"), Err(AddrError::PortRange));
        assert_eq!(parse("99999999999999999999"), Err(AddrError::PortRange));
        for s in ["", "-1", "x", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:x", "1.2.3:4", "::1:80",
                  "[::1]", "[::1]:", "[::1:80", "[x]:80", "localhost:80", "relative/path", "vsock:1:2",
                  "[::1%no-such-if0]:80"] {
            assert!(parse(s).is_err(), "{s:?}");
        }
        assert!(parse(&format!("/{}", "a".repeat(SUN_PATH_MAX))).is_err());
    }
}
