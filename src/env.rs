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
    let mut i = 0;
    while let Some(&b) = name.get(i) {
        if *e.add(i) != b {
            return None;
        }
        i = i.wrapping_add(1);
    }
    if *e.add(i) != b'=' {
        return None;
    }
    let value = e.add(i.wrapping_add(1));
    // Volatile reads, so that LLVM does not turn this loop into a call to
    // libc's strlen (a symbol lookup at its first use).
    let mut len = 0;
    while core::ptr::read_volatile(value.add(len)) != 0 {
        len = len.wrapping_add(1);
    }
    Some(CStr::from_bytes_with_nul_unchecked(core::slice::from_raw_parts(value, len.wrapping_add(1))))
}

/// The four variables of the systemd protocol ([`LISTEN_VARS`]), each as
/// [`get`] returns it, read together (`sd_listen_fds` needs them all: three
/// to check, four to unset).
#[cfg(unix)]
#[derive(Clone, Copy, Default)]
pub(crate) struct ListenVars {
    /// The values, in [`LISTEN_VARS`] order.
    pub(crate) values: [Option<&'static CStr>; 4],
}

#[cfg(unix)]
impl ListenVars {
    pub(crate) fn pid(&self) -> Option<&'static CStr> {
        self.values[0]
    }
    pub(crate) fn pidfdid(&self) -> Option<&'static CStr> {
        self.values[1]
    }
    pub(crate) fn fds(&self) -> Option<&'static CStr> {
        self.values[2]
    }
    pub(crate) fn fdnames(&self) -> Option<&'static CStr> {
        self.values[3]
    }
}

/// [`ListenVars`] from one pass over `environ` (each variable's first
/// `name=` entry, as four [`get`] calls would find): the entries that do
/// not start with `LISTEN_` are passed over after a byte or a few, instead
/// of four times. Valid until the environment is next modified.
#[cfg(target_os = "linux")]
pub(crate) fn listen_vars() -> ListenVars {
    const PREFIX: &[u8] = b"LISTEN_";
    let mut v = ListenVars::default();
    let mut entry = crate::sys::environ();
    if entry.is_null() {
        return v;
    }
    // SAFETY: as in `get`; `rest` is read only after the PREFIX bytes
    // matched (none is NUL), so it points into the same string.
    unsafe {
        while !(*entry).is_null() {
            let e = (*entry).cast::<u8>();
            if starts_with(e, PREFIX) {
                let rest = e.add(PREFIX.len());
                for (slot, var) in v.values.iter_mut().zip(LISTEN_VARS) {
                    // (every name in the list starts with PREFIX)
                    let name = var.to_bytes().get(PREFIX.len()..).unwrap_or_default();
                    if slot.is_none() {
                        if let Some(value) = value_after(rest, name) {
                            *slot = Some(value);
                            break;
                        }
                    }
                }
            }
            entry = entry.add(1);
        }
    }
    v
}

/// Whether `e` starts with `prefix` (which has no NUL).
///
/// # Safety
/// As [`value_after`].
#[cfg(target_os = "linux")]
unsafe fn starts_with(e: *const u8, prefix: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = prefix.get(i) {
        if *e.add(i) != b {
            return false;
        }
        i = i.wrapping_add(1);
    }
    true
}

#[cfg(all(unix, not(target_os = "linux")))]
pub(crate) fn listen_vars() -> ListenVars {
    ListenVars { values: LISTEN_VARS.map(get) }
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
/// This is libc's `unsetenv`, which takes the environment lock that
/// `setenv` in other threads takes too. When `name` is absent it would
/// change nothing, so it is not called (saving the libc call).
#[cfg(unix)]
pub(crate) fn unset(name: &CStr) {
    if get(name).is_none() {
        return;
    }
    remove(name);
}

/// Remove `name`, known to be set, from the environment: libc's
/// `unsetenv` (see [`unset`]).
#[cfg(unix)]
pub(crate) fn remove(name: &CStr) {
    // SAFETY: `name` is NUL-terminated and contains no '=' (all callers pass
    // constant variable names).
    unsafe {
        libc::unsetenv(name.as_ptr());
    }
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

#[cfg_attr(windows, allow(dead_code))]
pub(crate) const LISTEN_PID: &CStr = c"LISTEN_PID";
#[cfg_attr(windows, allow(dead_code))]
pub(crate) const LISTEN_PIDFDID: &CStr = c"LISTEN_PIDFDID";
#[cfg_attr(windows, allow(dead_code))]
pub(crate) const LISTEN_FDS: &CStr = c"LISTEN_FDS";
pub(crate) const LISTEN_FDNAMES: &CStr = c"LISTEN_FDNAMES";
pub(crate) const NOTIFY_SOCKET: &CStr = c"NOTIFY_SOCKET";
pub(crate) const WATCHDOG_USEC: &CStr = c"WATCHDOG_USEC";
pub(crate) const WATCHDOG_PID: &CStr = c"WATCHDOG_PID";

/// The variables of the `LISTEN_*` protocol, the ones `sd_listen_fds(1)`
/// and its siblings unset (`LISTEN_PIDFDID`: systemd 258), in
/// [`ListenVars`] order. The bindings keep copies (python/sdfd/daemon.py,
/// node/index.js) for their own environment; their test suites compare
/// them with this list.
#[cfg_attr(windows, allow(dead_code))]
pub(crate) const LISTEN_VARS: [&CStr; 4] = [LISTEN_PID, LISTEN_PIDFDID, LISTEN_FDS, LISTEN_FDNAMES];

/// Every variable that hands activation state to a process: [`LISTEN_VARS`]
/// first, then the service manager's own. `environ_without_activation`
/// leaves these out.
#[cfg_attr(windows, allow(dead_code))]
pub(crate) const ACTIVATION_VARS: [&CStr; 7] =
    [LISTEN_PID, LISTEN_PIDFDID, LISTEN_FDS, LISTEN_FDNAMES, NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID];
#[cfg(windows)]
pub(crate) const SYSTEMFD_SOCKET_SERVER: &CStr = c"SYSTEMFD_SOCKET_SERVER";
#[cfg(windows)]
pub(crate) const SYSTEMFD_SOCKET_SECRET: &CStr = c"SYSTEMFD_SOCKET_SECRET";

#[cfg(test)]
mod tests {
    #[test]
    fn activation_vars_start_with_the_listen_vars() {
        assert_eq!(super::ACTIVATION_VARS[..4], super::LISTEN_VARS);
    }
}
