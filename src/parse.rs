//! Number parsing with systemd's `safe_ato*` semantics.
//!
//! libsystemd skips leading `" \t\n\r"`, recognises its own `0b`/`0o`
//! prefixes, and then hands the rest to C `strtol`/`strtoul`/`strtoull` with
//! base 0 (so `0x` is hex, a bare leading `0` is octal, a sign and further C
//! white space are accepted), or base 2/8 after its own prefix. [`strto`]
//! computes what those converters return in the C locale (glibc 2.36, the
//! oracle's), so that no C library converter is linked: musl's `strtol`
//! brings its stdio scanner into a static program (bench/RESULTS.md,
//! "Footprint"). The tests below compare it with the C library's on every
//! string around each boundary.

use core::ffi::CStr;

use crate::errno::{Errno, Result};

#[cfg(unix)]
use libc::pid_t;
/// Windows: the C runtime's `pid_t` (`int`; process ids are `DWORD`s that
/// stay below 2^31).
#[cfg(windows)]
#[allow(non_camel_case_types)]
type pid_t = core::ffi::c_int;

/// Which C converter systemd calls: `strtol` (a C `long`), or an unsigned
/// one with the type's maximum (`strtoul`: `c_ulong::MAX`, `strtoull`:
/// `u64::MAX`).
const STRTOL: u64 = 0;

/// systemd's `safe_ato*` over C `strto*`, in one pass over the string:
/// systemd skips `" \t\n\r"` and takes its own `0b`/`0o` prefix (base 2/8,
/// else base 0); the converter then skips C white space (`" \t\n\v\f\r"`)
/// and one sign, and in base 0 reads `0x`/`0X` as hex, a leading `0` as
/// octal, else decimal. systemd's checks, in its order: no digits →
/// `EINVAL`; a magnitude beyond the type → `ERANGE` (the converter's errno,
/// checked first); anything after the digits → `EINVAL`.
///
/// The C value, modulo 2^64 (a negative number negated, as the converters
/// do, within the type for the unsigned ones). The unsigned converters add
/// systemd's check: `ERANGE` for a nonzero value whose text starts with `-`
/// at the byte the converter starts at (systemd looks at that one byte
/// only: `" \v-1"` passes as the maximum). Pointer-walking and not generic:
/// this is the code a static program calling `sd_listen_fds` gains
/// (bench/RESULTS.md, "Footprint").
///
/// # Safety
/// `s` points to a NUL-terminated string.
#[inline]
unsafe fn safe_strto(s: *const u8, conv: u64) -> Result<u64> {
    let mut v = core::mem::MaybeUninit::uninit();
    match strto_into::<true>(s, conv, v.as_mut_ptr()) {
        // SAFETY: strto_into stores the value when it returns 0.
        0 => Ok(v.assume_init()),
        e => Err(Errno(e)),
    }
}

/// `conv`: [`STRTOL`] or an unsigned converter's maximum. `SYSTEMD`:
/// systemd's step first (its white space and prefixes, and its `-` check);
/// without it, the C converter alone (`strtoul(s, &end, 0)` that must use
/// the whole string: [`strtoul_whole`]). A constant, so that the copy on
/// `sd_listen_fds`' path has no test for it.
///
/// [`safe_strto`] with the value stored at `out` and the error returned as
/// a positive errno (0: none, and only then is `out` written): a
/// `Result<u64>` would go through memory at every call on `sd_listen_fds`'
/// path.
///
/// # Safety
/// As [`safe_strto`]; `out` is writable.
#[inline(never)]
unsafe fn strto_into<const SYSTEMD: bool>(s: *const u8, conv: u64, out: *mut u64) -> i32 {
    let long_max = libc::c_long::MAX as u64;
    let unsigned = conv != STRTOL;
    let (max_positive, max_negative) = if unsigned { (conv, conv) } else { (long_max, long_max.wrapping_add(1)) };
    let mut p = s;
    // SAFETY: `p` walks the NUL-terminated string and never past its NUL:
    // each step follows a test that the byte it skips is not NUL, and
    // `p.add(1)` is read only after `*p` was a digit or a letter.
    unsafe {
        let mut base = 0u64;
        if SYSTEMD {
            while matches!(*p, b' ' | b'\t' | b'\n' | b'\r') {
                p = p.add(1);
            }
            if *p == b'0' {
                match *p.add(1) | 0x20 {
                    b'b' => base = 2,
                    b'o' => base = 8,
                    _ => {}
                }
                if base != 0 {
                    p = p.add(2);
                }
            }
        }
        let minus = SYSTEMD && *p == b'-';
        while *p == b' ' || (b'\t'..=b'\r').contains(&*p) {
            p = p.add(1);
        }
        let negative = *p == b'-';
        if negative || *p == b'+' {
            p = p.add(1);
        }
        if base == 0 {
            base = 10;
            if *p == b'0' {
                base = 8;
                if *p.add(1) | 0x20 == b'x' {
                    base = 16;
                    p = p.add(2);
                }
            }
        }
        let max = if negative { max_negative } else { max_positive };
        let start = p;
        let mut magnitude = 0u64;
        let mut overflow = false;
        loop {
            let c = *p;
            let d = match c {
                b'0'..=b'9' => c.wrapping_sub(b'0'),
                _ if (c | 0x20).is_ascii_lowercase() => (c | 0x20).wrapping_sub(b'a' - 10),
                _ => break,
            };
            if u64::from(d) >= base {
                break;
            }
            // (checked: no overflow, no panic path for tests/panic-check.sh)
            match magnitude.checked_mul(base).and_then(|m| m.checked_add(u64::from(d))) {
                Some(m) if m <= max => magnitude = m,
                _ => overflow = true,
            }
            p = p.add(1);
        }
        if core::ptr::eq(p, start) {
            return Errno::EINVAL.0;
        }
        if overflow {
            return Errno::ERANGE.0;
        }
        if *p != 0 {
            return Errno::EINVAL.0;
        }
        let v = if negative { magnitude.wrapping_neg() } else { magnitude };
        let v = if unsigned { v & max_positive } else { v };
        if unsigned && v != 0 && minus {
            return Errno::ERANGE.0;
        }
        out.write(v);
        0
    }
}

/// systemd `safe_atoi`: `strtol` (a C `long`), then a C `int`.
#[cfg(test)]
pub fn safe_atoi(s: &CStr) -> Result<i32> {
    // SAFETY: a CStr is NUL-terminated.
    unsafe { safe_atoi_at(s.as_ptr().cast()) }
}

/// [`safe_atoi`] of the NUL-terminated string at `s`.
///
/// # Safety
/// `s` points to a NUL-terminated string.
#[cfg_attr(windows, allow(dead_code))]
pub(crate) unsafe fn safe_atoi_at(s: *const u8) -> Result<i32> {
    let v = safe_strto(s, STRTOL)?;
    // (a C long's value, two's complement: the same as i64)
    i32::try_from(v as i64).map_err(|_| Errno::ERANGE)
}

/// systemd `safe_atolu`: a C `unsigned long`.
#[cfg(test)]
pub fn safe_atolu(s: &CStr) -> Result<libc::c_ulong> {
    // SAFETY: a CStr is NUL-terminated.
    unsafe { safe_atolu_at(s.as_ptr().cast()) }
}

/// [`safe_atolu`] of the NUL-terminated string at `s`.
///
/// # Safety
/// `s` points to a NUL-terminated string.
unsafe fn safe_atolu_at(s: *const u8) -> Result<libc::c_ulong> {
    // (c_ulong is u64 or u32: the value fits)
    #[allow(clippy::unnecessary_cast)]
    safe_strto(s, libc::c_ulong::MAX as u64).map(|v| v as libc::c_ulong)
}

/// systemd `safe_atou64`: an unsigned 64-bit value (`strtoull`).
pub fn safe_atou64(s: &CStr) -> Result<u64> {
    // SAFETY: a CStr is NUL-terminated.
    unsafe { safe_atou64_at(s.as_ptr().cast()) }
}

/// [`safe_atou64`] of the NUL-terminated string at `s`.
///
/// # Safety
/// `s` points to a NUL-terminated string.
pub(crate) unsafe fn safe_atou64_at(s: *const u8) -> Result<u64> {
    safe_strto(s, u64::MAX)
}

/// C `strtoul(s, &end, 0)` (C locale) that must use all of `s`: no digits
/// or anything after them is `EINVAL`, a value beyond `unsigned long` is
/// `ERANGE` (before the rest is looked at, as a caller checking `errno`
/// first sees it). python-systemd's `safe_atou` is this and its own checks.
#[cfg_attr(windows, allow(dead_code))]
pub(crate) fn strtoul_whole(s: &CStr) -> Result<libc::c_ulong> {
    let mut v = core::mem::MaybeUninit::uninit();
    // (c_ulong is u64 or u32)
    #[allow(clippy::unnecessary_cast)]
    let max = libc::c_ulong::MAX as u64;
    // SAFETY: a CStr is NUL-terminated; strto_into stores the value when
    // it returns 0.
    unsafe {
        match strto_into::<false>(s.as_ptr().cast(), max, v.as_mut_ptr()) {
            // (c_ulong is u64 or u32: the value fits)
            #[allow(clippy::unnecessary_cast)]
            0 => Ok(v.assume_init() as libc::c_ulong),
            e => Err(Errno(e)),
        }
    }
}

/// systemd `parse_pid`: an `unsigned long` that must be a positive `pid_t`.
pub fn parse_pid(s: &CStr) -> Result<pid_t> {
    // SAFETY: a CStr is NUL-terminated.
    unsafe { parse_pid_at(s.as_ptr().cast()) }
}

/// [`parse_pid`] of the NUL-terminated string at `s`.
///
/// # Safety
/// `s` points to a NUL-terminated string.
#[inline]
pub(crate) unsafe fn parse_pid_at(s: *const u8) -> Result<pid_t> {
    let ul = safe_atolu_at(s)?;
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
/// (Its users: vsock addresses on a Linux kernel, the systemfd protocol on
/// Windows and with `capi`; elsewhere unused in a default build.)
#[cfg_attr(not(any(target_os = "linux", target_os = "android", windows, test, feature = "capi")), allow(dead_code))]
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

    /// systemd 252's `safe_atoi`/`safe_atolu`/`safe_atou64` written out
    /// over the C library's own converters (the code sdfd ran before
    /// [`strto`]): the reference the Rust conversion is compared with.
    fn reference<T: Copy + Default + PartialEq>(
        s: &CStr,
        f: unsafe extern "C" fn(*const libc::c_char, *mut *mut libc::c_char, libc::c_int) -> T,
        unsigned: bool,
    ) -> Result<T> {
        let b = s.to_bytes();
        let skip = b.iter().take_while(|c| b" \t\n\r".contains(c)).count();
        let (off, base) = match &b[skip..] {
            [b'0', b'b' | b'B', ..] => (skip + 2, 2),
            [b'0', b'o' | b'O', ..] => (skip + 2, 8),
            _ => (skip, 0),
        };
        // SAFETY: `off` is at most the length of `s`'s bytes before its NUL.
        let start = unsafe { s.as_ptr().add(off) };
        let mut end: *mut libc::c_char = core::ptr::null_mut();
        crate::errno::set_errno(0);
        // SAFETY: `start` points into the NUL-terminated `s`; `end` is writable.
        let v = unsafe { f(start, &mut end, base) };
        let e = Errno::last();
        if e.0 > 0 {
            return Err(e);
        }
        // SAFETY: the converter set `end` to a position within `s`, up to its NUL.
        if end.is_null() || core::ptr::eq(end, start) || unsafe { *end } != 0 {
            return Err(Errno::EINVAL);
        }
        // SAFETY: `start` is within `s` (at worst its NUL).
        if unsigned && v != T::default() && unsafe { *start } == b'-' as libc::c_char {
            return Err(Errno::ERANGE);
        }
        Ok(v)
    }

    /// Every string around each boundary of the syntax (white space of both
    /// kinds, signs, each prefix, digits of each base, each type's limits,
    /// trailing bytes): the Rust conversion returns what the C library's
    /// converters with systemd's checks return, value and error.
    #[test]
    fn strto_matches_the_c_library() {
        let heads: &[&str] = &["", " ", "\t", "\n\r", "\x0b", "\x0c", " \x0b", "\x0b ", "  "];
        let signs: &[&str] = &["", "-", "+", "--", "+-", " -", "- "];
        let prefixes: &[&str] =
            &["", "0", "00", "0x", "0X", "0b", "0B", "0o", "0O", "0x0x", "0b0b", "0o0o", "0b ", "0o-", "0b+", "0x-"];
        let bodies: &[&str] = &[
            "",
            "0",
            "1",
            "7",
            "8",
            "9",
            "10",
            "012",
            "19",
            "1a",
            "fF",
            "g",
            "z",
            "Z",
            "101",
            "2",
            "777",
            "2147483647",
            "2147483648",
            "2147483649",
            "4294967295",
            "4294967296",
            "9223372036854775807",
            "9223372036854775808",
            "9223372036854775809",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999999",
            "7fffffff",
            "80000000",
            "ffffffff",
            "100000000",
            "7fffffffffffffff",
            "8000000000000000",
            "ffffffffffffffff",
            "10000000000000000",
            "1777777777777777777777",
            "2000000000000000000000",
            "11111111111111111111111111111111111111111111111111111111111111111",
        ];
        let tails: &[&str] = &["", " ", "x", "\n", "9", "-", "\u{661}", "\u{a0}"];
        let mut n = 0;
        for h in heads {
            for sg in signs {
                for p in prefixes {
                    for b in bodies {
                        for t in tails {
                            let text = format!("{h}{sg}{p}{b}{t}");
                            let c = std::ffi::CString::new(text.clone()).unwrap();
                            let s = c.as_c_str();
                            // (long is i32 on 32-bit targets)
                            #[allow(clippy::useless_conversion)]
                            let want_l = reference(s, libc::strtol, false)
                                .and_then(|l| i32::try_from(l).map_err(|_| Errno::ERANGE));
                            assert_eq!(safe_atoi(s), want_l, "safe_atoi({text:?})");
                            assert_eq!(safe_atolu(s), reference(s, libc::strtoul, true), "safe_atolu({text:?})");
                            assert_eq!(safe_atou64(s), reference(s, libc::strtoull, true), "safe_atou64({text:?})");
                            n += 1;
                        }
                    }
                }
            }
        }
        assert!(n > 100_000, "{n} strings");
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
