//! launchd (macOS): sockets declared under a job's `Sockets` key, fetched
//! by name with `launch_activate_socket` (macOS 10.10+), mapped onto the
//! sd-daemon contract.
//!
//! The launchd call is a seam ([`ActivateFn`], the exact C signature of
//! `launch_activate_socket`): the production instance calls libSystem, the
//! tests run this same code on Linux with a test double.
//!
//! `sd_listen_fds` / `sd_listen_fds_with_names` (the systemd environment
//! protocol takes precedence: see [`listen_fds_with_names`]):
//!
//! 1. Names to try: `SDFD_LAUNCHD_SOCKETS` (set by the job author in the
//!    plist's `EnvironmentVariables`), in `LISTEN_FDNAMES` format (`:`
//!    separated, `\` escapes); default `Listeners`. Repeated names are tried
//!    once.
//! 2. Each name is activated in order. `ENOENT` (not in the plist) skips the
//!    name; `ESRCH` before any fd was obtained means "not a launchd job"
//!    (result 0); any other failure is returned as `-errno` (`EALREADY`: the
//!    name was already activated in this process, e.g. by
//!    `sdfd_activate_socket`).
//! 3. The fds are renumbered onto `3, 4, …` in name order (each name's fds in
//!    launchd's order) with `fcntl(F_DUPFD_CLOEXEC)`, which never replaces an
//!    open descriptor: if one of those numbers is held by anything that is not
//!    an activated socket, the result is `-EBUSY`. Every fd has `FD_CLOEXEC`.
//!    Each fd is named after its plist key (a key with an IPv4 and an IPv6
//!    socket names two fds).
//! 4. The first outcome (fds, 0, or the error) is cached for the life of the
//!    process, since launchd hands each name out once; on an error every fd
//!    obtained is closed. With `unset_environment`, the result is returned
//!    once more, then later calls return 0 and `SDFD_LAUNCHD_SOCKETS` is
//!    removed.
//!
//! `sdfd_activate_socket(name)`: a name that is in the cache is served from
//! it (its renumbered fds, once); otherwise launchd is asked directly and its
//! fds are returned at the numbers launchd chose, with `FD_CLOEXEC` set.

use core::ffi::{c_char, c_int, CStr};
use core::sync::atomic::{AtomicBool, Ordering};

use crate::byname::{sockets_named, SocketArray, Taken};
use crate::env;
use crate::errno::{Errno, Result};
use crate::fd::RawFd;
use crate::names::OwnedNames;
use crate::once::Once;

/// `int launch_activate_socket(const char *name, int **fds, size_t *cnt)`:
/// 0 and a `malloc`ed array, or a positive errno.
pub(crate) type ActivateFn = unsafe extern "C" fn(name: *const c_char, fds: *mut *mut c_int, cnt: *mut usize) -> c_int;

/// The job author's list of socket names.
#[cfg_attr(not(target_vendor = "apple"), allow(dead_code))]
pub(crate) const SOCKETS_VAR: &CStr = c"SDFD_LAUNCHD_SOCKETS";
/// Used when `SDFD_LAUNCHD_SOCKETS` is not set (Apple's own convention).
pub(crate) const DEFAULT_NAME: &CStr = c"Listeners";

enum Cache {
    /// Not a launchd job, or none of the names is configured.
    Nothing,
    /// Renumbered fds `start ..`, one name each.
    Fds(OwnedNames),
    /// The first attempt failed (its fds were closed).
    Failed(Errno),
}

/// One launchd activation state: the production one is a static; tests make
/// their own with a fake call, a variable name and a first fd of their own.
pub(crate) struct Launchd {
    activate: ActivateFn,
    names_var: &'static CStr,
    start: RawFd,
    released: AtomicBool,
    cache: Once<Cache>,
    taken: Taken,
}

impl Launchd {
    pub(crate) const fn new(activate: ActivateFn, names_var: &'static CStr, start: RawFd) -> Launchd {
        Launchd {
            activate,
            names_var,
            start,
            released: AtomicBool::new(false),
            cache: Once::new(),
            taken: Taken::new(),
        }
    }

    /// The cached outcome, activating on first use (other threads wait).
    fn cache(&self) -> &Cache {
        self.cache.get_or_init(|| self.activate_all())
    }

    /// The cache if it has been filled, without activating.
    fn cache_if_ready(&self) -> Option<&Cache> {
        self.cache.get()
    }

    /// sd_listen_fds_with_names on launchd (without the systemd fallback).
    pub(crate) fn listen_fds_with_names(&self, unset_environment: bool) -> Result<OwnedNames> {
        let r = if self.released.load(Ordering::Acquire) {
            Ok(OwnedNames::empty())
        } else {
            match self.cache() {
                Cache::Nothing => Ok(OwnedNames::empty()),
                Cache::Fds(names) => names.try_clone(),
                Cache::Failed(e) => Err(*e),
            }
        };
        if unset_environment {
            self.released.store(true, Ordering::Release);
            env::unset(self.names_var);
        }
        r
    }

    /// sd_listen_fds on launchd (without the systemd fallback).
    pub(crate) fn listen_fds(&self, unset_environment: bool) -> Result<usize> {
        let r = if self.released.load(Ordering::Acquire) {
            Ok(0)
        } else {
            match self.cache() {
                Cache::Nothing => Ok(0),
                Cache::Fds(names) => Ok(names.len()),
                Cache::Failed(e) => Err(*e),
            }
        };
        if unset_environment {
            self.released.store(true, Ordering::Release);
            env::unset(self.names_var);
        }
        r
    }

    /// The sockets named `name`: from the cache if `sd_listen_fds` put them
    /// there (and has not released them), else straight from launchd.
    pub(crate) fn activate_socket(&self, name: &CStr) -> Result<SocketArray> {
        if !self.released.load(Ordering::Acquire) {
            if let Some(Cache::Fds(names)) = self.cache_if_ready() {
                if names.iter().any(|n| n == name) {
                    return sockets_named(names, name, self.start, &self.taken);
                }
            }
        }
        let mut s = self.call(name)?;
        for i in 0..s.len() {
            let fd = s.as_slice()[i];
            if let Err(e) = set_cloexec(fd) {
                close_all(s.as_mut_slice());
                return Err(e);
            }
        }
        Ok(s)
    }

    /// One `launch_activate_socket` call, its array adopted.
    fn call(&self, name: &CStr) -> Result<SocketArray> {
        let mut fds: *mut c_int = core::ptr::null_mut();
        let mut cnt: usize = 0;
        // SAFETY: NUL-terminated name and valid out-pointers.
        let rc = unsafe { (self.activate)(name.as_ptr(), &mut fds, &mut cnt) };
        if rc != 0 {
            // On failure the out-values are unspecified: not touched.
            return Err(if rc > 0 { Errno(rc) } else { Errno::EIO });
        }
        if fds.is_null() && cnt != 0 {
            return Err(Errno::EIO);
        }
        // SAFETY: launchd returns a malloc'ed array of cnt fds that is ours.
        Ok(unsafe { SocketArray::from_raw(fds, cnt) })
    }

    fn names_to_try(&self) -> Result<OwnedNames> {
        match env::get(self.names_var) {
            Some(v) => OwnedNames::split(v.to_bytes()),
            None => OwnedNames::repeat(DEFAULT_NAME, 1),
        }
    }

    /// Activate every listed name and renumber onto `start ..`.
    fn activate_all(&self) -> Cache {
        let list = match self.names_to_try() {
            Ok(l) => l,
            Err(e) => return Cache::Failed(e),
        };
        let mut counts = match Counts::new(list.len()) {
            Ok(c) => c,
            Err(e) => return Cache::Failed(e),
        };
        let mut total: usize = 0;
        let fail = |total: usize, e: Errno| {
            close_range(self.start, total);
            Cache::Failed(e)
        };
        for (k, name) in list.iter().enumerate() {
            if list.iter().take(k).any(|earlier| earlier == name) {
                continue;
            }
            let mut got = match self.call(name) {
                Ok(s) => s,
                Err(Errno::ENOENT) => continue,
                Err(Errno::ESRCH) if total == 0 => return Cache::Nothing,
                Err(e) => return fail(total, e),
            };
            let n = got.len();
            let fits = total.checked_add(n).is_some_and(|t| t <= (i32::MAX - self.start) as usize);
            if !fits {
                close_all(got.as_mut_slice());
                return fail(total, Errno::EINVAL);
            }
            if let Err(e) = place(got.as_mut_slice(), self.start + total as RawFd) {
                close_all(got.as_mut_slice());
                return fail(total, e);
            }
            counts.set(k, n);
            total += n;
        }
        if total == 0 {
            return Cache::Nothing;
        }
        // Fd i is named after the list entry whose run contains i.
        let names = OwnedNames::from_fn(total, |i| {
            let mut before = 0;
            for (k, n) in list.iter().enumerate() {
                let c = counts.get(k);
                if i < before + c {
                    return n.to_bytes();
                }
                before += c;
            }
            &[]
        });
        match names {
            Ok(n) => Cache::Fds(n),
            Err(e) => fail(total, e),
        }
    }
}

/// Move `fds[j]` onto `base + j` for every j, without ever replacing an open
/// descriptor that is not in `fds`. `fds` always lists exactly the
/// descriptors we own (also on error), each with `FD_CLOEXEC`.
fn place(fds: &mut [RawFd], base: RawFd) -> Result<()> {
    for j in 0..fds.len() {
        let t = base + j as RawFd;
        let fd = fds[j];
        if fd == t {
            set_cloexec(fd)?;
            continue;
        }
        if try_move(fds, j, t)? {
            continue;
        }
        // t is open. If it is one of our own later fds, move that one out of
        // the way (to any free number above t) and try again.
        let Some(k) = fds.iter().skip(j + 1).position(|&f| f == t).map(|p| p + j + 1) else {
            return Err(Errno::EBUSY);
        };
        // SAFETY: fcntl/close on a descriptor we own.
        let moved = unsafe { libc::fcntl(t, libc::F_DUPFD_CLOEXEC, t + 1) };
        if moved < 0 {
            return Err(Errno::last());
        }
        fds[k] = moved;
        // SAFETY: `t` is the temporary descriptor this function opened; nothing else uses it.
        unsafe { libc::close(t) };
        if !try_move(fds, j, t)? {
            // Another thread opened t in between.
            return Err(Errno::EBUSY);
        }
    }
    Ok(())
}

/// Duplicate `fds[j]` onto exactly `t` if `t` is free: `Ok(true)` and the
/// original closed; `Ok(false)` if `t` is open.
fn try_move(fds: &mut [RawFd], j: usize, t: RawFd) -> Result<bool> {
    // SAFETY: F_DUPFD_CLOEXEC returns the lowest free number >= t; it never
    // touches an open descriptor.
    let r = unsafe { libc::fcntl(fds[j], libc::F_DUPFD_CLOEXEC, t) };
    if r < 0 {
        return Err(Errno::last());
    }
    if r != t {
        // SAFETY: `r` was just returned by fcntl(F_DUPFD) to us and is not stored anywhere.
        unsafe { libc::close(r) };
        return Ok(false);
    }
    // SAFETY: `fds[j]` is one of launchd's descriptors, ours to close now that its copy is at `t`.
    unsafe { libc::close(fds[j]) };
    fds[j] = t;
    Ok(true)
}

fn set_cloexec(fd: RawFd) -> Result<()> {
    // SAFETY: fcntl on a descriptor we own.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    // SAFETY: F_SETFD on a descriptor we own only changes its flags.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) } < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

fn close_all(fds: &mut [RawFd]) {
    for fd in fds {
        // SAFETY: descriptors we own; each closed once.
        unsafe { libc::close(*fd) };
        *fd = -1;
    }
}

fn close_range(start: RawFd, n: usize) {
    for i in 0..n {
        // SAFETY: the renumbered descriptors we own.
        unsafe { libc::close(start + i as RawFd) };
    }
}

/// A zeroed `malloc`ed array of counts, one per listed name.
struct Counts {
    p: *mut usize,
    len: usize,
}

impl Counts {
    fn new(len: usize) -> Result<Counts> {
        // SAFETY: calloc checks the multiplication itself; NULL is handled.
        let p = unsafe { libc::calloc(len.max(1), core::mem::size_of::<usize>()) } as *mut usize;
        if p.is_null() {
            return Err(Errno::ENOMEM);
        }
        Ok(Counts { p, len })
    }

    fn get(&self, k: usize) -> usize {
        if k < self.len {
            // SAFETY: in bounds of a zero-initialised array.
            unsafe { *self.p.add(k) }
        } else {
            0
        }
    }

    fn set(&mut self, k: usize, v: usize) {
        if k < self.len {
            // SAFETY: in bounds.
            unsafe { *self.p.add(k) = v }
        }
    }
}

impl Drop for Counts {
    fn drop(&mut self) {
        // SAFETY: calloc'ed above.
        unsafe { libc::free(self.p as *mut libc::c_void) }
    }
}

#[cfg(target_vendor = "apple")]
mod sys {
    use core::ffi::{c_char, c_int};
    extern "C" {
        /// libSystem (libxpc), macOS 10.10+.
        pub(crate) fn launch_activate_socket(name: *const c_char, fds: *mut *mut c_int, cnt: *mut usize) -> c_int;
    }
}

#[cfg(target_vendor = "apple")]
static LAUNCHD: Launchd = Launchd::new(sys::launch_activate_socket, SOCKETS_VAR, crate::listen::LISTEN_FDS_START);

/// macOS `sd_listen_fds`: the systemd environment protocol when it applies
/// (`LISTEN_PID` is this process: its count or its error), else launchd.
#[cfg(target_vendor = "apple")]
pub(crate) fn listen_fds(unset_environment: bool) -> Result<usize> {
    match super::listen_env::listen_fds(unset_environment)? {
        0 => LAUNCHD.listen_fds(unset_environment),
        n => Ok(n),
    }
}

/// macOS `sd_listen_fds_with_names`, as [`listen_fds`].
#[cfg(target_vendor = "apple")]
pub(crate) fn listen_fds_with_names(unset_environment: bool) -> Result<OwnedNames> {
    let names = super::listen_env::listen_fds_with_names(unset_environment)?;
    if !names.is_empty() {
        return Ok(names);
    }
    LAUNCHD.listen_fds_with_names(unset_environment)
}

/// macOS by-name activation: the systemd protocol when `LISTEN_PID` is this
/// process, else launchd.
#[cfg(target_vendor = "apple")]
pub(crate) fn activate_socket(name: &CStr) -> Result<SocketArray> {
    match super::listen_env::activate_socket(name) {
        Err(Errno::ESRCH) => LAUNCHD.activate_socket(name),
        r => r,
    }
}

#[cfg(test)]
mod tests;

/// macOS `sdfd_listen_socket`: activated sockets are renumbered onto
/// `LISTEN_FDS_START..` by either protocol, so index `i` is fd `3 + i` once
/// [`listen_fds`] says it exists, else `ENXIO`.
#[cfg(target_vendor = "apple")]
pub(crate) fn socket(index: usize) -> Result<crate::fd::RawSocket> {
    let n = listen_fds(false)?;
    if index >= n {
        return Err(Errno::ENXIO);
    }
    Ok(crate::listen::LISTEN_FDS_START + index as crate::fd::RawSocket)
}
