//! Number parsing with systemd's `safe_ato*` semantics.
//!
//! libsystemd skips leading `" \t\n\r"`, recognises its own `0b`/`0o`
//! prefixes, and then hands the rest to C `strtol`/`strtoul`/`strtoull` with
//! base 0 (so `0x` is hex, a bare leading `0` is octal, a sign and further C
//! white space are accepted). To be bit-exact we do the same and call the C
//! library's own converters: no re-implementation of `strtol` to get wrong.

use core::ffi::{c_char, c_int, CStr};

use crate::errno::{set_errno, Errno, Result};

#[cfg(unix)]
use libc::pid_t;
/// Windows: the C runtime's `pid_t` (`int`; process ids are `DWORD`s that
/// stay below 2^31).
#[cfg(windows)]
#[allow(non_camel_case_types)]
type pid_t = c_int;

const WHITESPACE: &[u8] = b" \t\n\r";

/// The parts of a number string that `strto*` is handed: a pointer into `s`
/// past systemd's whitespace and base prefix, and the base to use.
fn prepare(s: &CStr) -> (*const c_char, c_int) {
    let b = s.to_bytes();
    let skip = b.iter().take_while(|c| WHITESPACE.contains(c)).count();
    // (`get` and patterns rather than indexing and arithmetic: no panic
    // path in the C library, see tests/panic-check.sh.)
    let Some(rest) = b.get(skip..) else { return (s.as_ptr(), 0) };
    let (digits, base) = match rest {
        [b'0', b'b' | b'B', tail @ ..] => (tail, 2),
        [b'0', b'o' | b'O', tail @ ..] => (tail, 8),
        _ => (rest, 0),
    };
    // `digits` is a suffix of the string's bytes (possibly empty, pointing
    // at the end), and the NUL follows them.
    (digits.as_ptr() as *const c_char, base)
}

/// The common case, answered without a libc call: 1 to 9 ASCII digits, the
/// first not `0`, nothing else (`"3"`, a pid). For exactly these strings
/// every `strto*` with base 0 reads all the digits as decimal (no white
/// space, sign or `0`/`0x`/`0b`/`0o` prefix to interpret), the value is below
/// 10^9 (no overflow in any C type), and `end` is the NUL: the same value
/// and no error. Anything else takes [`convert_libc`]. (The C library
/// calls `strto*` for its first use through a dynamic symbol lookup, which
/// costs a program start more than the whole parse; see bench/RESULTS.md.)
fn small_decimal(s: &CStr) -> Option<u32> {
    let b = s.to_bytes();
    if b.is_empty() || b.len() > 9 || b[0] == b'0' {
        return None;
    }
    let mut v: u32 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        // At most 9 digits: no overflow (wrapping ops keep the no-panic
        // proof of tests/panic-check.sh valid with overflow checks on).
        v = v.wrapping_mul(10).wrapping_add(u32::from(c.wrapping_sub(b'0')));
    }
    Some(v)
}

/// One `strto*` conversion with systemd's checks (see [`convert_libc`]),
/// through [`small_decimal`] when it applies.
fn convert<T: TryFrom<u32>>(
    s: &CStr,
    f: unsafe extern "C" fn(*const c_char, *mut *mut c_char, c_int) -> T,
) -> Result<(T, *const c_char)> {
    if let Some(v) = small_decimal(s).and_then(|v| T::try_from(v).ok()) {
        return Ok((v, s.as_ptr()));
    }
    convert_libc(s, f)
}

/// Run one `strto*` conversion with systemd's checks: errno from the
/// converter, then "no digits or trailing garbage" → `EINVAL`.
fn convert_libc<T>(
    s: &CStr,
    f: unsafe extern "C" fn(*const c_char, *mut *mut c_char, c_int) -> T,
) -> Result<(T, *const c_char)> {
    let (start, base) = prepare(s);
    let mut end: *mut c_char = core::ptr::null_mut();
    set_errno(0);
    // SAFETY: `start` points into a NUL-terminated string; `end` is a valid out-pointer.
    let v = unsafe { f(start, &mut end, base) };
    let e = Errno::last();
    if e.0 > 0 {
        return Err(e);
    }
    // SAFETY: strto* sets `end` to a position inside the same string.
    if end.is_null() || core::ptr::eq(end, start) || unsafe { *end } != 0 {
        return Err(Errno::EINVAL);
    }
    Ok((v, start))
}

/// Unsigned conversions refuse a negative number that parsed cleanly with
/// `ERANGE` (strtoul would silently wrap it).
fn refuse_minus(v_is_zero: bool, start: *const c_char) -> Result<()> {
    // SAFETY: `start` points at a valid byte (possibly the terminating NUL).
    if !v_is_zero && unsafe { *start } == b'-' as c_char {
        Err(Errno::ERANGE)
    } else {
        Ok(())
    }
}

/// systemd `safe_atoi`: a C `int`.
#[cfg_attr(windows, allow(dead_code))] // unused by the Windows backend
pub fn safe_atoi(s: &CStr) -> Result<i32> {
    let (l, _) = convert(s, libc::strtol)?;
    // (c_long is i32 on Windows: there the conversion cannot fail)
    #[allow(clippy::useless_conversion)]
    i32::try_from(l).map_err(|_| Errno::ERANGE)
}

/// systemd `safe_atolu`: a C `unsigned long`.
pub fn safe_atolu(s: &CStr) -> Result<libc::c_ulong> {
    let (l, start) = convert(s, libc::strtoul)?;
    refuse_minus(l == 0, start)?;
    Ok(l)
}

/// systemd `safe_atou64`: an unsigned 64-bit value.
pub fn safe_atou64(s: &CStr) -> Result<u64> {
    let (l, start) = convert(s, libc::strtoull)?;
    refuse_minus(l == 0, start)?;
    // (c_ulonglong is u64 everywhere Rust runs today, but named apart)
    #[allow(clippy::unnecessary_cast)]
    Ok(l as u64)
}

/// systemd `parse_pid`: an `unsigned long` that must be a positive `pid_t`.
pub fn parse_pid(s: &CStr) -> Result<pid_t> {
    let ul = safe_atolu(s)?;
    let pid = ul as pid_t;
    if pid as libc::c_ulong != ul || pid <= 0 {
        return Err(Errno::ERANGE);
    }
    Ok(pid)
}

/// The one parser of plain decimal numbers (ports, vsock CIDs, scope ids):
/// 1 to `max_len` ASCII digits, nothing else (no sign, space or prefix;
/// leading zeros allowed) → `EINVAL`; a value above `max` → `ERANGE`.
/// Not systemd's `safe_ato*` (above), which takes C `strto*` syntax.
pub(crate) fn decimal(s: &[u8], max_len: usize, max: u32) -> Result<u32> {
    if s.is_empty() || s.len() > max_len || !s.iter().all(u8::is_ascii_digit) {
        return Err(Errno::EINVAL);
    }
    // (saturating: no overflow, and no panic path for tests/panic-check.sh)
    let v = s.iter().fold(0u64, |n, &d| n.saturating_mul(10).saturating_add(u64::from(d.wrapping_sub(b'0'))));
    u32::try_from(v).ok().filter(|&v| v <= max).ok_or(Errno::ERANGE)
}

#[cfg(test)]
mod tests {
    #[test]
    fn decimal() {
        use super::decimal;
        use crate::errno::Errno;
        assert_eq!(decimal(b"0", 5, 9), Ok(0));
        assert_eq!(decimal(b"00080", 5, 65535), Ok(80));
        assert_eq!(decimal(b"65535", 5, 65535), Ok(65535));
        assert_eq!(decimal(b"65536", 5, 65535), Err(Errno::ERANGE));
        assert_eq!(decimal(b"000080", 5, 65535), Err(Errno::EINVAL));
        assert_eq!(decimal(b"4294967295", usize::MAX, u32::MAX), Ok(u32::MAX));
        assert_eq!(decimal(b"4294967296", usize::MAX, u32::MAX), Err(Errno::ERANGE));
        assert_eq!(decimal(b"99999999999999999999999", usize::MAX, u32::MAX), Err(Errno::ERANGE));
        assert_eq!(decimal(b"99999999999999999999999x", usize::MAX, u32::MAX), Err(Errno::EINVAL));
        for bad in ["", " 1", "1 ", "+1", "-1", "0x1", "1.0", "\u{661}"] {
            assert_eq!(decimal(bad.as_bytes(), usize::MAX, u32::MAX), Err(Errno::EINVAL), "{bad:?}");
        }
    }

    use super::*;

    fn i(s: &CStr) -> Result<i32> {
        safe_atoi(s)
    }

    #[test]
    fn atoi_accepts_systemd_syntax() {
        assert_eq!(i(c"2"), Ok(2));
        assert_eq!(i(c" \t\n\r2"), Ok(2));
        assert_eq!(i(c"+2"), Ok(2));
        assert_eq!(i(c"-1"), Ok(-1));
        assert_eq!(i(c"010"), Ok(8));
        assert_eq!(i(c"0x1f"), Ok(31));
        assert_eq!(i(c"0o17"), Ok(15));
        assert_eq!(i(c"0B101"), Ok(5));
        // strtol skips the rest of C white space after systemd's own set
        assert_eq!(i(c"\x0b7"), Ok(7));
    }

    #[test]
    fn atoi_rejects() {
        assert_eq!(i(c""), Err(Errno::EINVAL));
        assert_eq!(i(c"   "), Err(Errno::EINVAL));
        assert_eq!(i(c"abc"), Err(Errno::EINVAL));
        assert_eq!(i(c"2 "), Err(Errno::EINVAL));
        assert_eq!(i(c"0x"), Err(Errno::EINVAL));
        assert_eq!(i(c"0b"), Err(Errno::EINVAL));
        assert_eq!(i(c"0b2"), Err(Errno::EINVAL));
        assert_eq!(i(c"99999999999"), Err(Errno::ERANGE));
        assert_eq!(i(c"99999999999999999999999"), Err(Errno::ERANGE));
        assert_eq!(i(c"2147483647"), Ok(i32::MAX));
        assert_eq!(i(c"-2147483649"), Err(Errno::ERANGE));
    }

    /// The fast path and the C library agree on every string around the
    /// boundary between them (length, leading 0, non-digits, overflow).
    #[test]
    fn small_decimal_matches_strto() {
        let mut cases: Vec<Vec<u8>> = Vec::new();
        for len in 1..=12 {
            for lead in [b'0', b'1', b'9'] {
                for fill in [b'0', b'5', b'9'] {
                    let mut v = vec![fill; len];
                    v[0] = lead;
                    cases.push(v.clone());
                    for bad in [b' ', b'x', b'-', b'+', b'\n', b'a', 0xd9] {
                        let mut w = v.clone();
                        let at = len / 2;
                        w.insert(at, bad);
                        cases.push(w.clone());
                        w.remove(at);
                        w.push(bad);
                        cases.push(w);
                        let mut w = v.clone();
                        w.insert(0, bad);
                        cases.push(w);
                    }
                }
            }
        }
        for s in ["", "0", "00", "0x1", "0b1", "0o7", "08", "2147483647", "2147483648", "4294967295", "4294967296"] {
            cases.push(s.as_bytes().to_vec());
        }
        for mut c in cases {
            c.push(0);
            let s = CStr::from_bytes_with_nul(&c).unwrap();
            assert_eq!(convert(s, libc::strtol).map(|r| r.0), convert_libc(s, libc::strtol).map(|r| r.0), "{s:?}");
            assert_eq!(convert(s, libc::strtoul).map(|r| r.0), convert_libc(s, libc::strtoul).map(|r| r.0), "{s:?}");
            assert_eq!(convert(s, libc::strtoull).map(|r| r.0), convert_libc(s, libc::strtoull).map(|r| r.0), "{s:?}");
            assert_eq!(
                small_decimal(s).is_some(),
                c.len() >= 2 && c.len() <= 10 && c[0] != b'0' && c[..c.len() - 1].iter().all(u8::is_ascii_digit),
                "{s:?}"
            );
        }
    }

    #[test]
    fn pid_rules() {
        assert!(parse_pid(c"1").is_ok());
        assert_eq!(parse_pid(c"0"), Err(Errno::ERANGE));
        assert_eq!(parse_pid(c"-1"), Err(Errno::ERANGE));
        assert_eq!(parse_pid(c" -5"), Err(Errno::ERANGE));
        assert_eq!(parse_pid(c"-0"), Err(Errno::ERANGE));
        assert_eq!(parse_pid(c"abc"), Err(Errno::EINVAL));
        assert_eq!(parse_pid(c""), Err(Errno::EINVAL));
        assert_eq!(parse_pid(c"99999999999"), Err(Errno::ERANGE));
        assert_eq!(parse_pid(c"2147483647"), Ok(i32::MAX));
        assert_eq!(parse_pid(c"2147483648"), Err(Errno::ERANGE));
    }

    #[test]
    fn u64_rules() {
        assert_eq!(safe_atou64(c"18446744073709551615"), Ok(u64::MAX));
        assert_eq!(safe_atou64(c"18446744073709551616"), Err(Errno::ERANGE));
        assert_eq!(safe_atou64(c"-5"), Err(Errno::ERANGE));
        assert_eq!(safe_atou64(c"-0"), Ok(0));
        assert_eq!(safe_atou64(c"1 "), Err(Errno::EINVAL));
    }
}
