//! The list of fd names handed to C: a NULL-terminated array of
//! NUL-terminated strings, all allocated with the C allocator so that the
//! caller releases them with `free()` (systemd's "strv").

use core::ffi::{c_char, CStr};
use core::ptr;

use crate::errno::{Errno, Result};

/// Owned list of names; element `i` names fd `SD_LISTEN_FDS_START + i`.
///
/// Memory is `malloc`ed. Dropping frees it; [`OwnedNames::into_raw`] hands it to
/// C, which frees every element and then the array with `free()`.
pub struct OwnedNames {
    strv: *mut *mut c_char,
    len: usize,
}

// SAFETY: the strings are exclusively owned and immutable once built.
unsafe impl Send for OwnedNames {}
// SAFETY: as for Send; `&OwnedNames` only reads.
unsafe impl Sync for OwnedNames {}

impl OwnedNames {
    /// No names (no fds).
    pub const fn empty() -> OwnedNames {
        OwnedNames { strv: ptr::null_mut(), len: 0 }
    }

    /// An array with room for `len` names and the terminating NULL, all NULL.
    fn with_len(len: usize) -> Result<OwnedNames> {
        let bytes =
            len.checked_add(1).and_then(|n| n.checked_mul(core::mem::size_of::<*mut c_char>())).ok_or(Errno::ENOMEM)?;
        // SAFETY: calloc with a checked size; NULL is handled.
        let strv = unsafe { libc::calloc(1, bytes) } as *mut *mut c_char;
        if strv.is_null() {
            return Err(Errno::ENOMEM);
        }
        Ok(OwnedNames { strv, len })
    }

    /// Fill slot `i` with a fresh NUL-terminated copy of the bytes `f` writes
    /// (`n` of them).
    fn set_with(&mut self, i: usize, n: usize, f: impl FnOnce(&mut [u8])) -> Result<()> {
        debug_assert!(i < self.len);
        let size = n.checked_add(1).ok_or(Errno::ENOMEM)?;
        // SAFETY: malloc of n+1 bytes; NULL is handled.
        let p = unsafe { libc::malloc(size) } as *mut u8;
        if p.is_null() {
            return Err(Errno::ENOMEM);
        }
        // SAFETY: p has n+1 writable bytes; slot i is inside the array.
        unsafe {
            f(core::slice::from_raw_parts_mut(p, n));
            *p.add(n) = 0;
            *self.strv.add(i) = p as *mut c_char;
        }
        Ok(())
    }

    /// `n` copies of `name` (systemd fills `"unknown"` this way).
    pub fn repeat(name: &CStr, n: usize) -> Result<OwnedNames> {
        let mut names = OwnedNames::with_len(n)?;
        let b = name.to_bytes();
        for i in 0..n {
            names.set_with(i, b.len(), |dst| dst.copy_from_slice(b))?;
        }
        Ok(names)
    }

    /// Split `LISTEN_FDNAMES` the way libsystemd 252 does
    /// (`strv_split_full(…, ":", EXTRACT_DONT_COALESCE_SEPARATORS)`):
    /// empty fields are kept, the empty string is one empty name, and a
    /// backslash takes the next byte literally (`a\:b` is one name `a:b`);
    /// a trailing lone backslash is `EINVAL`.
    pub fn split(value: &[u8]) -> Result<OwnedNames> {
        let count = Fields::new(value).try_fold(0usize, |n, f| f.map(|_| n.saturating_add(1)))?;
        let mut names = OwnedNames::with_len(count)?;
        // (a zip with a range, not `enumerate`, whose counter would bring an
        // overflow-check panic path into builds with overflow checks)
        for (i, field) in (0..count).zip(Fields::new(value)) {
            let raw = field?;
            names.set_with(i, raw.len().saturating_sub(escapes(raw)), |dst| unescape_into(raw, dst))?;
        }
        Ok(names)
    }

    /// Number of names.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if there are no names.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Name `i`, if `i < len()`.
    pub fn get(&self, i: usize) -> Option<&CStr> {
        if i >= self.len {
            return None;
        }
        // SAFETY: every slot below len holds a NUL-terminated malloc'd string.
        Some(unsafe { CStr::from_ptr(*self.strv.add(i)) })
    }

    /// All names in fd order.
    pub fn iter(&self) -> impl Iterator<Item = &CStr> + '_ {
        (0..self.len).filter_map(move |i| self.get(i))
    }

    /// Give the array to C (NULL-terminated; free each element, then the
    /// array, with `free()`). NULL for an empty list.
    pub fn into_raw(self) -> *mut *mut c_char {
        let p = self.strv;
        core::mem::forget(self);
        p
    }

    /// `n` names, name `i` being a copy of `f(i)`.
    #[cfg_attr(not(target_vendor = "apple"), allow(dead_code))] // launchd backend
    pub(crate) fn from_fn<'a>(n: usize, mut f: impl FnMut(usize) -> &'a [u8]) -> Result<OwnedNames> {
        let mut names = OwnedNames::with_len(n)?;
        for i in 0..n {
            let b = f(i);
            names.set_with(i, b.len(), |dst| dst.copy_from_slice(b))?;
        }
        Ok(names)
    }

    /// A copy of the list.
    #[cfg_attr(not(target_vendor = "apple"), allow(dead_code))] // launchd backend
    pub(crate) fn try_clone(&self) -> Result<OwnedNames> {
        OwnedNames::from_fn(self.len, |i| self.get(i).map_or(&[][..], |c| c.to_bytes()))
    }

    /// The names as Rust strings (lossy for non-UTF-8 names).
    #[cfg(any(feature = "std", test))]
    pub fn to_strings(&self) -> std::vec::Vec<std::string::String> {
        self.iter().map(|c| c.to_string_lossy().into_owned()).collect()
    }
}

impl Drop for OwnedNames {
    fn drop(&mut self) {
        if self.strv.is_null() {
            return;
        }
        // SAFETY: slots are NULL or malloc'd strings; the array is calloc'd.
        unsafe {
            for i in 0..self.len {
                libc::free(*self.strv.add(i) as *mut libc::c_void);
            }
            libc::free(self.strv as *mut libc::c_void);
        }
    }
}

impl core::fmt::Debug for OwnedNames {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Iterator over the raw (still escaped) `:`-separated fields.
struct Fields<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> Fields<'a> {
    fn new(s: &'a [u8]) -> Self {
        Fields { rest: Some(s) }
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<&'a [u8]>;

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.rest?;
        // Indices stay below s.len(), so `wrapping_add` never wraps; it and
        // `get` keep the C library free of panic paths (tests/panic-check.sh).
        let mut i = 0usize;
        while let Some(&c) = s.get(i) {
            match c {
                b'\\' if i.wrapping_add(1) == s.len() => {
                    self.rest = None;
                    return Some(Err(Errno::EINVAL));
                }
                b'\\' => i = i.wrapping_add(2),
                b':' => {
                    self.rest = s.get(i.wrapping_add(1)..);
                    return Some(Ok(s.get(..i).unwrap_or_default()));
                }
                _ => i = i.wrapping_add(1),
            }
        }
        self.rest = None;
        Some(Ok(s))
    }
}

/// How many escapes a field holds (unescaping removes one byte for each).
fn escapes(raw: &[u8]) -> usize {
    let (mut i, mut dropped) = (0usize, 0usize);
    while i < raw.len() {
        // (saturating: no overflow-panic path; the values stay below len)
        if raw[i] == b'\\' {
            dropped = dropped.saturating_add(1);
            i = i.saturating_add(2);
        } else {
            i = i.saturating_add(1);
        }
    }
    dropped
}

/// Copy `raw` into `dst` without its escaping backslashes. `dst` has room
/// for exactly that (`raw.len() - escapes(raw)`); written with iterators so
/// that the C library has no bounds-check panic here.
fn unescape_into(raw: &[u8], dst: &mut [u8]) {
    let mut src = raw.iter();
    for d in dst.iter_mut() {
        let Some(&c) = src.next() else { return };
        *d = if c == b'\\' { src.next().copied().unwrap_or(c) } else { c };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Result<std::vec::Vec<std::string::String>> {
        OwnedNames::split(s.as_bytes()).map(|n| n.to_strings())
    }

    #[test]
    fn split_keeps_empty_fields() {
        assert_eq!(split("").unwrap(), [""]);
        assert_eq!(split(":").unwrap(), ["", ""]);
        assert_eq!(split("a::b").unwrap(), ["a", "", "b"]);
        assert_eq!(split("a:").unwrap(), ["a", ""]);
        assert_eq!(split("http:https").unwrap(), ["http", "https"]);
    }

    #[test]
    fn split_backslash() {
        assert_eq!(split(r"a\:b").unwrap(), ["a:b"]);
        assert_eq!(split(r"a\\b:c").unwrap(), [r"a\b", "c"]);
        assert_eq!(split(r"\n").unwrap(), ["n"]);
        assert_eq!(split(r"a\").unwrap_err(), Errno::EINVAL);
        assert_eq!(split(r"a:\").unwrap_err(), Errno::EINVAL);
    }

    #[test]
    fn repeat_and_raw() {
        let n = OwnedNames::repeat(c"unknown", 3).unwrap();
        assert_eq!(n.to_strings(), ["unknown"; 3]);
        let p = n.into_raw();
        // SAFETY: `into_raw` returned the array of 3 names and its NULL terminator, now ours to read and free.
        unsafe {
            assert!((*p.add(3)).is_null());
            for i in 0..3 {
                libc::free(*p.add(i) as *mut libc::c_void);
            }
            libc::free(p as *mut libc::c_void);
        }
    }
}
