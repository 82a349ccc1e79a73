//! The systemfd protocol's pure part, platform-neutral (compiled, unit-tested
//! and fuzzed on every platform; `backend::systemfd` does the Winsock side):
//!
//! * `SYSTEMFD_SOCKET_SERVER`: `a.b.c.d:PORT` or `[v6]:PORT` (optionally
//!   `[v6%scope]:PORT`) — [`parse_server`](crate::systemfd_protocol::parse_server) splits and checks it, the address
//!   text itself is then converted by the OS (`inet_pton`);
//! * `SYSTEMFD_SOCKET_SECRET`: a UUID in any form the `uuid` crate parses,
//!   sent in its canonical form — [`parse_secret`](crate::systemfd_protocol::parse_secret);
//! * the request `<secret>|<pid>` — [`request`](crate::systemfd_protocol::request);
//! * the reply: one 628-byte `WSAPROTOCOL_INFOW` record per socket until
//!   EOF — [`next_record`](crate::systemfd_protocol::next_record) decides what each read means, [`count_records`](crate::systemfd_protocol::count_records)
//!   applies it to a whole reply.
//!
//! Every error is an errno, as the C API returns it: `EINVAL` for the
//! variables, `EPROTO` for a reply that is not whole records, `E2BIG` for
//! more than [`MAX_SOCKETS`](crate::systemfd_protocol::MAX_SOCKETS) records. Public (hidden) for the fuzz harness
//! only; not part of the API.

use crate::errno::{Errno, Result};
use crate::parse::decimal;

/// Size of one reply record (`sizeof(WSAPROTOCOL_INFOW)`, the same on
/// every Windows architecture).
pub const RECORD: usize = 628;

/// More sockets than this in one reply is refused (`E2BIG`).
pub const MAX_SOCKETS: usize = 65536;

/// Longest address text handed to `inet_pton` (bytes, without its NUL).
pub const MAX_HOST: usize = 63;

/// `SYSTEMFD_SOCKET_SERVER`, split and checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Server<'a> {
    /// The address text (without brackets and scope): at most
    /// [`MAX_HOST`] bytes, not empty for IPv4.
    pub host: &'a [u8],
    /// Bracketed: an IPv6 address.
    pub v6: bool,
    /// 1..=65535.
    pub port: u16,
    /// `%scope` of a bracketed address (0 when absent).
    pub scope_id: u32,
}

/// Digits only, at most 10 of them, at most `max`; anything else `EINVAL`.
fn number(s: &[u8], max: u32) -> Result<u32> {
    decimal(s, 10, max).map_err(|_| Errno::EINVAL)
}

/// The launcher's address: `host:port` split at the last `:`; the port
/// 1..=65535; a bracketed host is IPv6, with an optional decimal `%scope`.
/// `EINVAL` for anything else. (Whether the host text is an address is the
/// OS's `inet_pton`'s to say, afterwards.)
pub fn parse_server(s: &[u8]) -> Result<Server<'_>> {
    let colon = s.iter().rposition(|&c| c == b':').ok_or(Errno::EINVAL)?;
    let (host, port) = (s.get(..colon).unwrap_or_default(), s.get(colon + 1..).unwrap_or_default());
    let port = number(port, u16::MAX as u32)? as u16;
    if port == 0 {
        return Err(Errno::EINVAL);
    }
    let server = if let [b'[', inner @ .., b']'] = host {
        let (host, scope_id) = match inner.iter().position(|&c| c == b'%') {
            Some(p) => (inner.get(..p).unwrap_or_default(), number(inner.get(p + 1..).unwrap_or_default(), u32::MAX)?),
            None => (inner, 0),
        };
        Server { host, v6: true, port, scope_id }
    } else {
        if host.is_empty() {
            return Err(Errno::EINVAL);
        }
        Server { host, v6: false, port, scope_id: 0 }
    };
    if server.host.len() > MAX_HOST {
        return Err(Errno::EINVAL);
    }
    Ok(server)
}

/// Is byte `i` of a hyphenated UUID a hyphen?
fn hyphen_at(i: usize) -> bool {
    matches!(i, 8 | 13 | 18 | 23)
}

/// The secret as the canonical lower-case hyphenated UUID (what systemfd
/// generates and listenfd sends), from any form the `uuid` crate parses:
/// hyphenated, 32 hex digits, `{braced}`, or `urn:uuid:`-prefixed.
pub fn parse_secret(s: &[u8]) -> Result<[u8; 36]> {
    let s = match (s.len(), s.get(..9), s.get(9..)) {
        (45, Some(urn), Some(rest)) if urn.eq_ignore_ascii_case(b"urn:uuid:") => rest,
        _ => s,
    };
    let s = match s {
        [b'{', inner @ .., b'}'] if inner.len() == 36 => inner,
        _ => s,
    };
    let mut hex = [0u8; 32];
    match s.len() {
        32 => hex.copy_from_slice(s),
        36 => {
            let mut digits = hex.iter_mut();
            for (i, &c) in s.iter().enumerate() {
                if hyphen_at(i) {
                    if c != b'-' {
                        return Err(Errno::EINVAL);
                    }
                } else if let Some(d) = digits.next() {
                    *d = c;
                }
            }
        }
        _ => return Err(Errno::EINVAL),
    }
    let mut out = [0u8; 36];
    let mut digits = hex.iter();
    for (i, o) in out.iter_mut().enumerate() {
        if hyphen_at(i) {
            *o = b'-';
        } else {
            let c = digits.next().copied().unwrap_or(0);
            if !c.is_ascii_hexdigit() {
                return Err(Errno::EINVAL);
            }
            *o = c.to_ascii_lowercase();
        }
    }
    Ok(out)
}

/// The request `<secret>|<pid>` (pid in decimal): the buffer and how many
/// of its bytes to send.
pub fn request(secret: &[u8; 36], pid: u32) -> ([u8; 36 + 1 + 10], usize) {
    let mut msg = [0u8; 36 + 1 + 10];
    msg[..36].copy_from_slice(secret);
    msg[36] = b'|';
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    let mut v = pid;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let n = digits.len() - i;
    msg[37..37 + n].copy_from_slice(&digits[i..]);
    (msg, 37 + n)
}

/// One read of the reply: `got` bytes read into a record buffer (the reader
/// reads until the record is full or EOF), `received` records taken so far.
/// `Ok(false)`: EOF between records, the reply is complete. `Ok(true)`: a
/// whole record, take it. A partial record is `EPROTO`; one record more
/// than [`MAX_SOCKETS`] is `E2BIG`.
pub fn next_record(got: usize, received: usize) -> Result<bool> {
    if got == 0 {
        return Ok(false);
    }
    if got < RECORD {
        return Err(Errno(libc::EPROTO));
    }
    if received >= MAX_SOCKETS {
        return Err(Errno(libc::E2BIG));
    }
    Ok(true)
}

/// How many records a whole reply holds, by [`next_record`].
pub fn count_records(reply: &[u8]) -> Result<usize> {
    let mut n = 0;
    let mut chunks = reply.chunks(RECORD);
    loop {
        let got = chunks.next().map_or(0, <[u8]>::len);
        if !next_record(got, n)? {
            return Ok(n);
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers() {
        let s = |host: &'static str, v6, port, scope_id| Ok(Server { host: host.as_bytes(), v6, port, scope_id });
        assert_eq!(parse_server(b"127.0.0.1:8080"), s("127.0.0.1", false, 8080, 0));
        assert_eq!(parse_server(b"[::1]:1"), s("::1", true, 1, 0));
        assert_eq!(parse_server(b"[fe80::1%7]:65535"), s("fe80::1", true, 65535, 7));
        assert_eq!(parse_server(b"x:00080"), s("x", false, 80, 0)); // inet_pton refuses "x" later
        assert_eq!(parse_server(&[b"1:".as_slice(), &[b'9'; 0]].concat()).err(), Some(Errno::EINVAL));
        for bad in [
            "",
            "127.0.0.1",
            "127.0.0.1:",
            "127.0.0.1:0",
            "127.0.0.1:65536",
            "127.0.0.1:+1",
            "127.0.0.1: 1",
            ":80",
            "[::1%]:80",
            "[::1%x]:80",
            "[::1%4294967296]:80",
            "127.0.0.1:00000000080",
        ] {
            assert_eq!(parse_server(bad.as_bytes()).err(), Some(Errno::EINVAL), "{bad:?}");
        }
        let long = [b"[".as_slice(), &[b'1'; 64], b"]:1"].concat();
        assert_eq!(parse_server(&long).err(), Some(Errno::EINVAL));
        let just = [b"[".as_slice(), &[b'1'; 63], b"]:1"].concat();
        assert!(parse_server(&just).is_ok());
        let v4 = [&[b'1'; 64][..], b":1"].concat();
        assert_eq!(parse_server(&v4).err(), Some(Errno::EINVAL));
    }

    #[test]
    fn secrets() {
        let canon = *b"67e55044-10b1-426f-9247-bb680e5fe0c8";
        for form in [
            "67e55044-10b1-426f-9247-bb680e5fe0c8",
            "67E55044-10B1-426F-9247-BB680E5FE0C8",
            "67e5504410b1426f9247bb680e5fe0c8",
            "{67e55044-10b1-426f-9247-bb680e5fe0c8}",
            "urn:uuid:67e55044-10b1-426f-9247-bb680e5fe0c8",
            "URN:UUID:67e55044-10b1-426f-9247-bb680e5fe0c8",
        ] {
            assert_eq!(parse_secret(form.as_bytes()), Ok(canon), "{form}");
        }
        for bad in [
            "",
            "67e55044-10b1-426f-9247-bb680e5fe0c",
            "67e55044_10b1-426f-9247-bb680e5fe0c8",
            "g7e55044-10b1-426f-9247-bb680e5fe0c8",
            "{67e5504410b1426f9247bb680e5fe0c8}",
            "urn:uuid:67e5504410b1426f9247bb680e5fe0c8",
            "67e55044-10b1-426f-9247-bb680e5fe0c8 ",
        ] {
            assert_eq!(parse_secret(bad.as_bytes()).err(), Some(Errno::EINVAL), "{bad}");
        }
    }

    #[test]
    fn requests() {
        let secret = *b"67e55044-10b1-426f-9247-bb680e5fe0c8";
        for (pid, text) in [(0, "0"), (7, "7"), (4242, "4242"), (u32::MAX, "4294967295")] {
            let (msg, len) = request(&secret, pid);
            assert_eq!(&msg[..len], [&secret[..], b"|", text.as_bytes()].concat());
        }
    }

    #[test]
    fn records() {
        assert_eq!(count_records(&[]), Ok(0));
        assert_eq!(count_records(&[0; RECORD]), Ok(1));
        assert_eq!(count_records(&[0; 3 * RECORD]), Ok(3));
        assert_eq!(count_records(&[0; 1]).err(), Some(Errno(libc::EPROTO)));
        assert_eq!(count_records(&[0; 2 * RECORD + 5]).err(), Some(Errno(libc::EPROTO)));
        assert_eq!(next_record(RECORD, MAX_SOCKETS - 1), Ok(true));
        assert_eq!(next_record(RECORD, MAX_SOCKETS).err(), Some(Errno(libc::E2BIG)));
        assert_eq!(next_record(0, MAX_SOCKETS), Ok(false));
    }
}
