//! Process environment access: the C environment block itself, so that C
//! callers and the library see the same environment (never a Rust copy).
//!
//! Like libsystemd, these calls are not safe against concurrent `setenv` /
//! `unsetenv` from other threads; see the README ("Threads").

use core::ffi::CStr;

/// The value of `name`, borrowed from the environment block.
///
/// The slice is valid until the environment is next modified; callers parse
/// or copy it before calling [`unset`] or anything else that may modify it.
///
/// On Linux this scans `environ` for the first `name=` entry, which is what
/// glibc's and musl's `getenv` do (without a lock either), without a libc
/// call (see `crate::sys`). Elsewhere it is `getenv`.
#[cfg(target_os = "linux")]
pub(crate) fn get(name: &CStr) -> Option<&'static CStr> {
    let name = name.to_bytes();
    let mut entry = crate::sys::environ();
    if entry.is_null() {
        return None;
    }
    // SAFETY: `environ` is a NULL-terminated array of pointers to
    // NUL-terminated strings (see `value_after`).
    unsafe {
        while !(*entry).is_null() {
            if let Some(value) = value_after((*entry).cast::<u8>(), name) {
                return Some(value);
            }
            entry = entry.add(1);
        }
    }
    None
}

/// The value of environment entry `e` if it is `name=value`.
///
/// # Safety
/// `e` points to a NUL-terminated string that stays valid as long as the
/// environment is not modified. It is read byte by byte up to its NUL at
/// most: `name` has no NUL, so a mismatch stops the comparison there.
#[cfg(target_os = "linux")]
unsafe fn value_after(e: *const u8, name: &[u8]) -> Option<&'static CStr> {
    let rest = after(e, name)?;
    if *rest != b'=' {
        return None;
    }
    Some(cstr_at(rest.add(1)))
}

/// The four variables of the systemd protocol ([`LISTEN_VARS`]), each as
/// [`get`] returns it, read together (`sd_listen_fds` needs them all: three
/// to check, four to unset). Kept as thin pointers to the values (null:
/// absent) and no tables of names: this is code every static program that
/// calls `sd_listen_fds` carries (bench/RESULTS.md, "Footprint").
#[cfg(unix)]
#[derive(Clone, Copy)]
pub(crate) struct ListenVars {
    /// The values' first bytes, in [`LISTEN_VARS`] order.
    values: [*const u8; 4],
}

#[cfg(unix)]
impl ListenVars {
    /// Value `i` as a NUL-terminated string in the environment block
    /// (valid until the environment is next modified), or `None`.
    fn value(&self, i: usize) -> Option<*const u8> {
        self.values.get(i).copied().filter(|p| !p.is_null())
    }
    pub(crate) fn pid(&self) -> Option<*const u8> {
        self.value(0)
    }
    pub(crate) fn pidfdid(&self) -> Option<*const u8> {
        self.value(1)
    }
    pub(crate) fn fds(&self) -> Option<*const u8> {
        self.value(2)
    }
    pub(crate) fn fdnames(&self) -> Option<&'static CStr> {
        // SAFETY: as `value` says.
        self.value(3).map(|p| unsafe { cstr_at(p) })
    }

    /// Remove the variables that were set, every entry of each (as
    /// `unsetenv` of each would): [`read_listen_vars`]'s removing pass.
    #[cfg(target_os = "linux")]
    pub(crate) fn unset(&self) {
        read_listen_vars(true);
    }

    /// After the values were used: nothing on Linux, where
    /// [`read_listen_vars`] removed the variables already.
    #[cfg(target_os = "linux")]
    pub(crate) fn unset_after(&self, _unset: bool) {}

    /// After the values were used: with `unset`, [`ListenVars::unset`]
    /// (not before: FreeBSD's `unsetenv` frees its copy of a value).
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn unset_after(&self, unset: bool) {
        if unset {
            self.unset();
        }
    }

    /// Remove the variables that were set ([`remove`] each: removing an
    /// absent one would change nothing).
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn unset(&self) {
        for (p, at) in self.values.iter().zip(LISTEN_AT) {
            if !p.is_null() {
                // SAFETY: `at` starts one of the NUL-terminated names in
                // LISTEN_NAMES, none with '='.
                unsafe { remove_raw(LISTEN_NAMES.as_ptr().add(at)) };
            }
        }
    }
}

/// [`LISTEN_VARS`] packed into one string, each name followed by its NUL,
/// for the loops of `sd_listen_fds`' path (a table of pointers would cost a
/// program linking libsdfd.a a relocation per entry).
#[cfg(unix)]
const LISTEN_NAMES: &[u8; 52] = b"LISTEN_PID\0LISTEN_PIDFDID\0LISTEN_FDS\0LISTEN_FDNAMES\0";

/// Where each name starts in [`LISTEN_NAMES`] (offsets, not pointers: no
/// relocation; computed once at compile time, never walked at run time).
#[cfg(unix)]
const LISTEN_AT: [usize; 4] = {
    let mut at = [0; 4];
    let (mut i, mut k) = (0, 1);
    while k < 4 {
        if LISTEN_NAMES[i] == 0 {
            at[k] = i + 1;
            k += 1;
        }
        i += 1;
    }
    at
};

/// [`ListenVars`] from one pass over `environ` (each variable's first
/// `name=` entry, as four [`get`] calls would find): the entries that do
/// not start with `LISTEN_` are passed over after a byte or a few, instead
/// of four times. Valid until the environment is next modified.
#[cfg(target_os = "linux")]
pub(crate) fn listen_vars() -> ListenVars {
    read_listen_vars(false)
}

/// [`listen_vars`]; with `unset`, the same pass removes every entry of the
/// four variables from `environ` (as `unsetenv` of each would: a variable
/// with an entry is set), moving the entries kept down over them
/// ([`remove_raw`] says why not `unsetenv`). The values stay valid: an
/// entry taken out of `environ` leaves its string where it is (nothing is
/// freed), so `sd_listen_fds` parses them after this one pass.
#[cfg(target_os = "linux")]
#[inline]
pub(crate) fn read_listen_vars(unset: bool) -> ListenVars {
    let mut v = ListenVars { values: [core::ptr::null(); 4] };
    read_listen_vars_into(&mut v, unset);
    v
}

/// [`read_listen_vars`] into `v` (all null), in place: a returned
/// [`ListenVars`] would be built here and copied out.
#[cfg(target_os = "linux")]
#[inline(never)]
fn read_listen_vars_into(v: &mut ListenVars, unset: bool) {
    let mut read = crate::sys::environ().cast_mut().cast::<*const u8>();
    if read.is_null() {
        return;
    }
    let mut write = read;
    // SAFETY: as in `get`; `listen_var` reads an entry only as far as it
    // agrees with a name (no NUL in a name). As in `remove_raw`: `write`
    // never passes `read`, and the NULL written last ends the block after
    // the entries kept. Nothing is written before an entry is removed (as
    // libc's `unsetenv`, which writes only when it finds the name: a block
    // in read-only memory without the variables stays untouched).
    unsafe {
        while !(*read).is_null() {
            let e = *read;
            let (k, value) = listen_var(e);
            if let Some(slot) = v.values.get_mut(k).filter(|slot| !value.is_null() && slot.is_null()) {
                *slot = value;
            }
            if !unset || value.is_null() {
                if write != read {
                    *write = e;
                }
                write = write.add(1);
            }
            read = read.add(1);
        }
        if write != read {
            *write = core::ptr::null();
        }
    }
}

/// Which of the four variables environment entry `e` sets (its index in
/// [`LISTEN_VARS`]) and the value, if it is `LISTEN_<name>=value` for one
/// of them; the value is null if not. The one test [`listen_vars`] and
/// [`ListenVars::unset`] share (a pair, not an `Option`: two registers).
///
/// # Safety
/// As [`value_after`].
#[cfg(target_os = "linux")]
#[inline(never)]
unsafe fn listen_var(e: *const u8) -> (usize, *const u8) {
    // (the shared "LISTEN_" first: one compare for most entries, then each
    // name from its eighth byte)
    if let Some(rest) = after(e, LISTEN_NAMES.get(..7).unwrap_or_default()) {
        for (k, tail) in LISTEN_TAIL.into_iter().enumerate() {
            if let Some(value) = value_at(rest, LISTEN_NAMES.as_ptr().add(usize::from(tail))) {
                return (k, value);
            }
        }
    }
    (0, core::ptr::null())
}

/// Where each name continues after its "LISTEN_" in [`LISTEN_NAMES`]
/// (bytes, computed at compile time: four bytes of data, and no loop that
/// LLVM would make a call to libc's `strlen`).
#[cfg(target_os = "linux")]
const LISTEN_TAIL: [u8; 4] = {
    let mut t = [0; 4];
    let mut k = 0;
    while k < 4 {
        t[k] = (LISTEN_AT[k] + 7) as u8;
        k += 1;
    }
    t
};

/// The value in environment entry `e` if it is `name=value` (`name`
/// NUL-terminated, without '=').
///
/// # Safety
/// As [`value_after`].
#[cfg(target_os = "linux")]
#[inline]
unsafe fn value_at(e: *const u8, name: *const u8) -> Option<*const u8> {
    let mut i = 0;
    while *name.add(i) != 0 {
        if *e.add(i) != *name.add(i) {
            return None;
        }
        i = i.wrapping_add(1);
    }
    (*e.add(i) == b'=').then(|| e.add(i.wrapping_add(1)))
}

/// The rest of `e` after `prefix` (which has no NUL), if `e` starts with it.
///
/// # Safety
/// As [`value_after`].
#[cfg(target_os = "linux")]
unsafe fn after(e: *const u8, prefix: &[u8]) -> Option<*const u8> {
    let mut i = 0;
    while let Some(&b) = prefix.get(i) {
        if *e.add(i) != b {
            return None;
        }
        i = i.wrapping_add(1);
    }
    Some(e.add(i))
}

/// The NUL-terminated string at `p`, measured with volatile reads, so that
/// LLVM does not turn the loop into a call to libc's `strlen` (a symbol
/// lookup at its first use).
///
/// # Safety
/// `p` points to a NUL-terminated string that stays valid as long as the
/// environment is not modified.
#[cfg(unix)]
unsafe fn cstr_at(p: *const u8) -> &'static CStr {
    let mut len = 0;
    while core::ptr::read_volatile(p.add(len)) != 0 {
        len = len.wrapping_add(1);
    }
    CStr::from_bytes_with_nul_unchecked(core::slice::from_raw_parts(p, len.wrapping_add(1)))
}

/// [`listen_vars`]; `unset` is for [`ListenVars::unset_after`] to do, after
/// the values were used.
#[cfg(all(unix, not(target_os = "linux")))]
pub(crate) fn read_listen_vars(_unset: bool) -> ListenVars {
    listen_vars()
}

#[cfg(all(unix, not(target_os = "linux")))]
pub(crate) fn listen_vars() -> ListenVars {
    ListenVars { values: LISTEN_VARS.map(|name| get(name).map_or(core::ptr::null(), |v| v.as_ptr().cast())) }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn get(name: &CStr) -> Option<&'static CStr> {
    // SAFETY: `name` is NUL-terminated; getenv returns NULL or a pointer to
    // a NUL-terminated string inside the environment block.
    unsafe {
        let p = libc::getenv(name.as_ptr());
        if p.is_null() {
            None
        } else {
            Some(CStr::from_ptr(p))
        }
    }
}

/// Remove `name` from the environment (absent is fine).
///
/// When `name` is absent this would change nothing, so nothing is called.
#[cfg(unix)]
pub(crate) fn unset(name: &CStr) {
    if get(name).is_none() {
        return;
    }
    remove(name);
}

/// Remove `name`, known to be set, from the environment (see [`remove_raw`]).
#[cfg(unix)]
pub(crate) fn remove(name: &CStr) {
    // SAFETY: `name` is NUL-terminated and contains no '=' (all callers pass
    // constant variable names).
    unsafe { remove_raw(name.as_ptr().cast()) }
}

/// Remove every `name=` entry from the environment block.
///
/// On Linux (glibc, musl) this is what their `unsetenv` does, done here:
/// each matching entry is dropped from `environ` by moving the rest of the
/// block down one place, entries without '=' and longer names stay. It
/// takes no lock (glibc's `unsetenv` takes its environment lock) and frees
/// nothing (musl's frees a string that its own `setenv` allocated; such a
/// string is then left allocated). The environment afterwards is the same as
/// after libsystemd's `unsetenv` (tests/c/difftest.py, "rawenv"), and a
/// program start that calls `sd_listen_fds(1)` no longer binds `unsetenv`
/// in libc (~1,700 instructions, bench/RESULTS.md). The contract is
/// unchanged: `unsetenv` is MT-Unsafe, so no other thread may read or
/// change the environment meanwhile, with libsystemd as with sdfd.
/// Elsewhere this is libc's `unsetenv` (FreeBSD, for one, keeps its own copy
/// of the variables).
///
/// # Safety
/// `name` is NUL-terminated and contains no '='; no other thread reads or
/// changes the environment during the call.
#[cfg(target_os = "linux")]
unsafe fn remove_raw(name: *const u8) {
    let mut entry = crate::sys::environ().cast_mut().cast::<*const u8>();
    if entry.is_null() {
        return;
    }
    // SAFETY: `environ` is a NULL-terminated array of pointers to
    // NUL-terminated strings, writable (libc's own `unsetenv` writes it the
    // same way); `value_at` reads an entry only as far as it agrees with
    // `name`. Each move copies the next slot, the last one moved is the
    // terminating NULL, so the block stays NULL-terminated and one shorter.
    while !(*entry).is_null() {
        if value_at(*entry, name).is_some() {
            let mut d = entry;
            loop {
                let next = *d.add(1);
                *d = next;
                if next.is_null() {
                    break;
                }
                d = d.add(1);
            }
        } else {
            entry = entry.add(1);
        }
    }
}

/// Remove `name` from the environment: libc's `unsetenv`.
///
/// # Safety
/// As the Linux [`remove_raw`].
#[cfg(all(unix, not(target_os = "linux")))]
unsafe fn remove_raw(name: *const u8) {
    libc::unsetenv(name.cast());
}

/// Remove `name` from the environment (absent is fine).
///
/// Windows: the C runtime's `_putenv_s(name, "")`, which removes the
/// variable from the CRT's environment (what `getenv` reads) and from the
/// process environment block (`GetEnvironmentVariableW`, child processes).
#[cfg(windows)]
pub(crate) fn unset(name: &CStr) {
    extern "C" {
        fn _putenv_s(name: *const core::ffi::c_char, value: *const core::ffi::c_char) -> core::ffi::c_int;
    }
    // SAFETY: both strings are NUL-terminated; `name` has no '='.
    unsafe {
        _putenv_s(name.as_ptr(), c"".as_ptr());
    }
}

pub(crate) const LISTEN_PID: &CStr = c"LISTEN_PID";
pub(crate) const LISTEN_PIDFDID: &CStr = c"LISTEN_PIDFDID";
pub(crate) const LISTEN_FDS: &CStr = c"LISTEN_FDS";
pub(crate) const LISTEN_FDNAMES: &CStr = c"LISTEN_FDNAMES";
pub(crate) const NOTIFY_SOCKET: &CStr = c"NOTIFY_SOCKET";
pub(crate) const WATCHDOG_USEC: &CStr = c"WATCHDOG_USEC";
pub(crate) const WATCHDOG_PID: &CStr = c"WATCHDOG_PID";

/// The variables of the `LISTEN_*` protocol, the ones `sd_listen_fds(1)`
/// and its siblings unset (`LISTEN_PIDFDID`: systemd 258), in
/// [`ListenVars`] and [`LISTEN_NAMES`] order. The bindings keep copies (python/sdfd/daemon.py,
/// node/api.js) for their own environment; their test suites compare
/// them with this list.
#[allow(dead_code)] // Linux reads LISTEN_NAMES; other Unix and the tests this
pub(crate) const LISTEN_VARS: [&CStr; 4] = [LISTEN_PID, LISTEN_PIDFDID, LISTEN_FDS, LISTEN_FDNAMES];

/// Every variable that hands activation state to a process: [`LISTEN_VARS`]
/// first, then the service manager's own. `environ_without_activation`
/// leaves these out.
pub(crate) const ACTIVATION_VARS: [&CStr; 7] =
    [LISTEN_PID, LISTEN_PIDFDID, LISTEN_FDS, LISTEN_FDNAMES, NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID];
#[cfg(windows)]
pub(crate) const SYSTEMFD_SOCKET_SERVER: &CStr = c"SYSTEMFD_SOCKET_SERVER";
#[cfg(windows)]
pub(crate) const SYSTEMFD_SOCKET_SECRET: &CStr = c"SYSTEMFD_SOCKET_SECRET";

/// Is this `NAME=value` entry one of the activation variables
/// (`LISTEN_PID`, `LISTEN_FDS` ... `WATCHDOG_PID`: the crate's one list;
/// on Windows also `SYSTEMFD_SOCKET_SERVER` and `SYSTEMFD_SOCKET_SECRET`,
/// and names compared without regard to ASCII case, as Windows does)?
pub fn is_activation_var(entry: &[u8]) -> bool {
    let Some(eq) = entry.iter().position(|&b| b == b'=') else {
        return false;
    };
    let name = &entry[..eq];
    #[cfg(not(windows))]
    let same = |v: &CStr| name == v.to_bytes();
    #[cfg(windows)]
    let same = |v: &CStr| name.eq_ignore_ascii_case(v.to_bytes());
    #[cfg(windows)]
    if [SYSTEMFD_SOCKET_SERVER, SYSTEMFD_SOCKET_SECRET].into_iter().any(same) {
        return true;
    }
    ACTIVATION_VARS.into_iter().any(same)
}

#[cfg(test)]
mod tests {
    #[test]
    fn is_activation_var_matches_whole_names_only() {
        use super::is_activation_var as is;
        for v in super::ACTIVATION_VARS {
            let mut e = v.to_bytes().to_vec();
            e.extend_from_slice(b"=1");
            assert!(is(&e), "{v:?}");
        }
        assert!(is(b"LISTEN_FDS="));
        for e in [&b"LISTEN_FDS"[..], b"LISTEN_FDSX=1", b"XLISTEN_FDS=1", b"LISTEN_FD=1", b"PATH=/bin", b"=LISTEN_FDS"]
        {
            assert!(!is(e), "{:?}", core::str::from_utf8(e));
        }
        // Windows compares names without regard to case, and also hands
        // the systemfd pair over; elsewhere both are ordinary variables.
        assert_eq!(is(b"listen_fds=1"), cfg!(windows));
        assert_eq!(is(b"SYSTEMFD_SOCKET_SERVER=127.0.0.1:1"), cfg!(windows));
    }

    #[test]
    fn activation_vars_start_with_the_listen_vars() {
        assert_eq!(super::ACTIVATION_VARS[..4], super::LISTEN_VARS);
    }

    #[test]
    fn listen_names_are_the_listen_vars() {
        let packed: Vec<u8> = super::LISTEN_VARS.iter().flat_map(|v| v.to_bytes_with_nul().iter().copied()).collect();
        assert_eq!(&packed[..], &super::LISTEN_NAMES[..]);
        for (name, at) in super::LISTEN_VARS.iter().zip(super::LISTEN_AT) {
            let bytes = name.to_bytes_with_nul();
            assert_eq!(&super::LISTEN_NAMES[at..at + bytes.len()], bytes);
        }
    }
}
