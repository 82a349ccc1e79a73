//! `--listen` addresses, with systemd's syntax (`socket_address_parse`):
//!
//! * `PORT` — every address, IPv6 dual-stack (`[::]:PORT`), or IPv4
//!   `0.0.0.0:PORT` when the machine has no IPv6;
//! * `A.B.C.D:PORT` — IPv4 (strict dotted quad);
//! * `[V6]:PORT`, `[V6]:PORT%IFACE` — IPv6, with an optional scope given
//!   as interface name or index (`A.B.C.D:PORT%IFACE` is accepted too);
//! * `/path` — a unix socket at an absolute path;
//! * `@name` — a Linux abstract unix socket.
//!
//! A port is 1–65535 in systemd's number syntax (see `parse_port`).

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
/// it is a number but not a valid port. systemd's `safe_atou16` syntax:
/// `0x`/`0X` hex, `0o`/`0O` octal, `0b`/`0B` binary, a leading `0` is
/// octal, an optional `+`; no white space; a `-` sign is out of range.
fn parse_port(s: &str) -> Result<Option<u16>, AddrError> {
    if s.starts_with('-') && s.len() > 1 {
        return Err(AddrError::PortRange);
    }
    let (digits, radix) = if let Some(r) = s.strip_prefix("0b").or_else(|| s.strip_prefix("0B")) {
        (r, 2)
    } else if let Some(r) = s.strip_prefix("0o").or_else(|| s.strip_prefix("0O")) {
        (r, 8)
    } else {
        let t = s.strip_prefix('+').unwrap_or(s);
        if let Some(r) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            (r, 16)
        } else if t.len() > 1 && t.starts_with('0') {
            (&t[1..], 8)
        } else {
            (t, 10)
        }
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Ok(None);
    }
    let digits = digits.trim_start_matches('0');
    if digits.len() > 17 {
        return Err(AddrError::PortRange);
    }
    match u64::from_str_radix(if digits.is_empty() { "0" } else { digits }, radix) {
        Ok(0) => Err(AddrError::Invalid("port 0")),
        Ok(p) if p <= 65535 => Ok(Some(p as u16)),
        _ => Err(AddrError::PortRange),
    }
}

/// `PORT` or `PORT%IFACE` after an address; the interface must exist
/// (systemd resolves it) and is used as the IPv6 scope.
fn port_and_iface(s: &str) -> Result<(u16, Option<u32>), AddrError> {
    let (p, scope) = match s.split_once('%') {
        Some((p, iface)) => (p, Some(scope_id(iface)?)),
        None => (s, None),
    };
    Ok((need_port(p)?, scope))
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
        if inside.contains('%') {
            return Err(AddrError::Invalid("the interface goes after the port: [ADDRESS]:PORT%IFACE"));
        }
        let ip: Ipv6Addr = inside.parse().map_err(|_| AddrError::Invalid("bad IPv6 address"))?;
        let port = after.strip_prefix(':').ok_or(AddrError::Invalid("missing port"))?;
        let (port, scope) = port_and_iface(port)?;
        return Ok(Addr::Inet6(SocketAddrV6::new(ip, port, 0, scope.unwrap_or(0))));
    }
    let (ip, port) = s.split_once(':').ok_or(AddrError::Invalid("expected PORT, IPV4:PORT, [IPV6]:PORT, /path or @name"))?;
    if port.contains(':') {
        return Err(AddrError::Invalid("IPv6 addresses need brackets: [ADDRESS]:PORT"));
    }
    let ip: Ipv4Addr = ip.parse().map_err(|_| AddrError::Invalid("bad IPv4 address"))?;
    let (port, _) = port_and_iface(port)?;
    Ok(Addr::Inet4(SocketAddrV4::new(ip, port)))
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
        assert_eq!(parse("+0120"), Ok(Addr::Any(80)));
        assert_eq!(parse("0x50"), Ok(Addr::Any(80)));
        assert_eq!(parse("0o120"), Ok(Addr::Any(80)));
        assert_eq!(parse("0B1010000"), Ok(Addr::Any(80)));
        assert_eq!(parse("127.0.0.1:99%1"), Ok(Addr::Inet4("127.0.0.1:99".parse().unwrap())));
        assert_eq!(parse("127.0.0.1:99"), Ok(Addr::Inet4("127.0.0.1:99".parse().unwrap())));
        assert_eq!(parse("[::1]:99"), Ok(Addr::Inet6("[::1]:99".parse().unwrap())));
        assert_eq!(parse("[::1]:99%1"), Ok(Addr::Inet6(SocketAddrV6::new(Ipv6Addr::LOCALHOST, 99, 0, 1))));
        assert_eq!(parse("/run/x.sock"), Ok(Addr::UnixPath(b"/run/x.sock".to_vec())));
        #[cfg(target_os = "linux")]
        assert_eq!(parse("@x"), Ok(Addr::UnixAbstract(b"x".to_vec())));
    }

    #[test]
    fn bad() {
        assert_eq!(parse("0"), Err(AddrError::Invalid("port 0")));
        assert_eq!(parse("65536"), Err(AddrError::PortRange));
        assert_eq!(parse("127.0.0.1:-5"), Err(AddrError::PortRange));
        assert_eq!(parse("99999999999999999999"), Err(AddrError::PortRange));
        for s in ["", "-1", "x", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:x", "1.2.3:4", "::1:80",
                  "[::1]", "[::1]:", "[::1:80", "[x]:80", "localhost:80", "relative/path", "vsock:1:2",
                  "[::1]:80%no-such-if0", "[::1%1]:80", " 80", "80 ", "127.0.0.1: 80",
                  "0x", "00", "08", "1_0", "127.0.0.1:80#x"] {
            assert!(parse(s).is_err(), "{s:?}");
        }
        assert!(parse(&format!("/{}", "a".repeat(SUN_PATH_MAX))).is_err());
    }
}
