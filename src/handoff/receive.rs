//! The successor's side: finding the offer, the exchange, placing the
//! descriptors at 3.. and setting `LISTEN_*` (the commit point, docs/handoff.md).

use super::*;

/// Receive the descriptors offered on `path` and make them this process's
/// activated sockets; returns their number `n`.
///
/// Waits up to `timeout_usec` µs ([`INFINITY`]: no limit) for the offer to
/// appear (an absent path or one nobody listens on is retried every 1 ms
/// for the first 100 ms, then every 10 ms; at the deadline that error, `ENOENT` or `ECONNREFUSED`, is
/// returned) and for the whole exchange (0: one try, and the exchange with
/// an offer found then has 1 s). The offering process must run under this
/// process's effective uid, root, or `offerer_uid`.
///
/// On success the descriptors are at `3..3+n` (`FD_CLOEXEC` set, as after
/// `sd_listen_fds`), `LISTEN_PID` is this process, `LISTEN_FDS` is `n`,
/// `LISTEN_FDNAMES` their names (`LISTEN_PIDFDID` is removed), and the
/// offerer has been told. Call it before starting threads and before any
/// other activation call (`setenv` is not thread-safe, and `3..3+n` must be
/// free: `EBUSY` if another descriptor sits there — it is never replaced).
/// On failure nothing is left behind: every received descriptor is closed
/// and the environment is unchanged.
///
/// The commit point (docs/handoff.md): once every descriptor is in place,
/// they are kept even if the offerer is gone before reading the
/// acknowledgement (it may have died after sending them; this process is
/// then their only holder). A soft `RLIMIT_NOFILE` below `3 + 2n + 1` is
/// raised as far as needed (within the hard limit; kept on success).
///
/// # Safety
/// It calls `setenv`/`unsetenv`: no other thread may read or change the
/// environment meanwhile (call it at start-up, before starting threads),
/// and no other thread may rely on the numbers `3..3+n` being free.
///
/// Errors: `EINVAL`/`ENAMETOOLONG` (path), `ENOENT`/`ECONNREFUSED` (no
/// offer by the deadline), `ETIMEDOUT`, `EACCES` (refused by the offerer,
/// or the path's permissions), `EPERM` (the offerer's uid is not trusted),
/// `EPROTO` (not this wire format), `EPROTONOSUPPORT` (another version),
/// `ECONNABORTED` (the offerer went away), `EBUSY`, `EMFILE` (the hard
/// descriptor limit is below `3 + 2n + 1`), `ENOMEM`.
pub unsafe fn receive(path: &CStr, timeout_usec: u64, offerer_uid: Option<libc::uid_t>) -> Result<usize> {
    let deadline = Deadline::after(timeout_usec);
    let (addr, len) = unix_addr(path)?;
    let mut appear = Appearance::new();
    let conn = loop {
        let s = unix_socket()?;
        // SAFETY: addr is a valid sockaddr_un of `len` bytes.
        let r = unsafe { libc::connect(s.0, &addr as *const libc::sockaddr_un as *const libc::sockaddr, len) };
        if r == 0 {
            break s;
        }
        let e = last();
        if e == Errno(libc::EINPROGRESS) {
            wait(s.0, libc::POLLOUT, deadline)?;
            let mut err: c_int = 0;
            let mut l = core::mem::size_of::<c_int>() as libc::socklen_t;
            // SAFETY: err and l are writable.
            unsafe {
                libc::getsockopt(s.0, libc::SOL_SOCKET, libc::SO_ERROR, &mut err as *mut c_int as *mut c_void, &mut l)
            };
            if err == 0 {
                break s;
            }
            return Err(Errno(err));
        }
        let retry = e == Errno::ENOENT || e == Errno(libc::ECONNREFUSED) || e == Errno(libc::EAGAIN);
        if !retry || deadline.passed() || timeout_usec == 0 {
            return Err(e);
        }
        appear.wait(deadline);
    };
    let deadline = exchange_deadline(timeout_usec, deadline);
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    let uid = peer_uid(conn.0)?;
    if uid != me && uid != 0 && Some(uid) != offerer_uid {
        return Err(Errno(libc::EPERM));
    }
    let mut h = [0u8; HEADER_LEN];
    recv_exact(conn.0, &mut h, deadline)?;
    if h.get(..6) != Some(&MAGIC[..]) {
        return Err(Errno(libc::EPROTO));
    }
    if h[6] != HANDOFF_VERSION {
        return Err(Errno(libc::EPROTONOSUPPORT));
    }
    match h[7] {
        STATUS_OK => {}
        STATUS_REFUSED => return Err(Errno(libc::EACCES)),
        _ => return Err(Errno(libc::EPROTO)),
    }
    let le = |i: usize| u32::from_le_bytes([h[i], h[i.wrapping_add(1)], h[i.wrapping_add(2)], h[i.wrapping_add(3)]]);
    let n = le(8) as usize;
    let names_len = le(12) as usize;
    if n == 0
        || n > HANDOFF_MAX_FDS
        || names_len < n.wrapping_mul(2)
        || names_len > n.wrapping_mul(HANDOFF_MAX_NAME + 1)
    {
        return Err(Errno(libc::EPROTO));
    }
    // The name block, turned into the LISTEN_FDNAMES value in place
    // (NULs become ':', the last one stays).
    let names = CBuf::new(names_len)?;
    // SAFETY: names owns names_len writable bytes.
    let nb = unsafe { core::slice::from_raw_parts_mut(names.0.cast::<u8>(), names_len) };
    recv_exact(conn.0, nb, deadline)?;
    let mut count = 0usize;
    let mut start = 0usize;
    for i in 0..names_len {
        if nb[i] == 0 {
            if !valid_name(nb.get(start..i).unwrap_or(&[])) {
                return Err(Errno(libc::EPROTO));
            }
            count = count.wrapping_add(1);
            start = i.wrapping_add(1);
            if start < names_len {
                nb[i] = b':';
            }
        }
    }
    if count != n || start != names_len {
        return Err(Errno(libc::EPROTO));
    }
    // Room for n descriptors at 3..3+n and their n copies on the way in.
    let limit = nofile_for(n)?;
    // Keep our own connection out of 3..3+n.
    let conn = move_above(conn, (LISTEN_FDS_START as usize).wrapping_add(n) as c_int)?;
    let mut got_fds = [-1 as RawFd; HANDOFF_MAX_FDS];
    let mut got = 0usize;
    let received = (|| {
        while got < n {
            recv_fds(conn.0, got_fds.get_mut(..n).unwrap_or(&mut []), &mut got, deadline)?;
        }
        Ok(())
    })();
    let all = got_fds.get_mut(..got).unwrap_or(&mut []);
    let close_all = |fds: &[RawFd]| {
        for &fd in fds {
            // SAFETY: our descriptors.
            unsafe { libc::close(fd) };
        }
    };
    if let Err(e) = received {
        close_all(all);
        return Err(e);
    }
    place(all)?;
    // 3..3+n now hold the descriptors.
    let undo_fds = || {
        for i in 0..n {
            // SAFETY: 3..3+n are ours now.
            unsafe { libc::close(LISTEN_FDS_START.wrapping_add(i as c_int)) };
        }
    };
    if let Err(e) = set_listen_env(n, names.0) {
        undo_fds();
        return Err(e);
    }
    // The commit point: every descriptor is in place. From here on this
    // process keeps them, whether or not the offerer is still there to read
    // the acknowledgement (it may have died after sending: then we are the
    // only holder, and giving up would leave nobody serving).
    let _ = send_all(conn.0, ACK, deadline);
    limit.keep();
    Ok(n)
}

/// `RLIMIT_NOFILE` raised for receiving `n` descriptors, restored when
/// dropped unless kept.
pub(super) struct NofileLimit(Option<libc::rlimit>);

impl NofileLimit {
    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for NofileLimit {
    fn drop(&mut self) {
        if let Some(old) = self.0 {
            // SAFETY: a valid rlimit read by getrlimit.
            unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &old) };
        }
    }
}

/// Receiving `n` descriptors needs numbers up to about `3 + 2n` (the
/// received ones, then their copies at 3..3+n). A soft limit below that is
/// raised, as far as needed plus 64 and never beyond the hard limit; a hard
/// limit below `3 + 2n + 1` is `EMFILE` before anything is received.
pub(super) fn nofile_for(n: usize) -> Result<NofileLimit> {
    let top = (LISTEN_FDS_START as u64).wrapping_add(n as u64);
    let need = top.wrapping_add(n as u64).wrapping_add(1);
    let want = need.wrapping_add(64);
    // SAFETY: rlimit is plain data; zero is valid.
    let mut old: libc::rlimit = unsafe { core::mem::zeroed() };
    // SAFETY: writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut old) } < 0 {
        return Err(last());
    }
    let (cur, max) = (old.rlim_cur as u64, old.rlim_max as u64);
    if cur >= need {
        return Ok(NofileLimit(None));
    }
    if max < need {
        return Err(Errno(libc::EMFILE));
    }
    let new = libc::rlimit { rlim_cur: want.min(max) as libc::rlim_t, rlim_max: old.rlim_max };
    // SAFETY: a valid rlimit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) } < 0 {
        return Err(Errno(libc::EMFILE));
    }
    Ok(NofileLimit(Some(old)))
}

/// `F_DUPFD` at or above the descriptor limit is `EINVAL`: for the caller
/// it means too many descriptors.
pub(super) fn dup_errno(e: Errno) -> Errno {
    if e == Errno::EINVAL {
        Errno(libc::EMFILE)
    } else {
        e
    }
}

/// Waiting for an offer to appear at a path: 1 ms between tries for the
/// first 100 ms, then 10 ms. (An inotify watch on the path's directory
/// would wake the successor at once, but closing an inotify descriptor
/// waits for an RCU grace period: 10-15 ms measured, more than the polling
/// it saves; bench/RESULTS.md.)
pub(super) struct Appearance {
    tries: u32,
}

impl Appearance {
    fn new() -> Appearance {
        Appearance { tries: 0 }
    }

    /// Until the next try, or the deadline.
    fn wait(&mut self, deadline: Deadline) {
        let step = if self.tries < 100 { 1 } else { 10 };
        self.tries = self.tries.saturating_add(1);
        let left = deadline.poll_ms().unwrap_or(0);
        let ms = if left < 0 { step } else { left.min(step) };
        // SAFETY: poll with no descriptors is a sleep.
        unsafe { libc::poll(core::ptr::null_mut(), 0, ms) };
    }
}

/// `fd` moved to a number >= `min` (close-on-exec), if it is below.
pub(super) fn move_above(fd: Fd, min: c_int) -> Result<Fd> {
    if fd.0 >= min {
        return Ok(fd);
    }
    // SAFETY: duplicating our own descriptor.
    let d = unsafe { libc::fcntl(fd.0, libc::F_DUPFD_CLOEXEC, min) };
    if d < 0 {
        return Err(dup_errno(last()));
    }
    Ok(Fd(d))
}

/// Move the received descriptors to `3..3+n` without ever replacing a
/// descriptor that is not ours: first out of the way (above `3+n`), then
/// each with `F_DUPFD` at its number, which must come back exactly.
/// Consumes `fds` (all closed on error, the originals closed on success).
pub(super) fn place(fds: &mut [RawFd]) -> Result<()> {
    let n = fds.len();
    let top = LISTEN_FDS_START.wrapping_add(n as c_int);
    let close_all = |fds: &[RawFd]| {
        for &fd in fds {
            if fd >= 0 {
                // SAFETY: our descriptors.
                unsafe { libc::close(fd) };
            }
        }
    };
    for i in 0..n {
        let fd = fds[i];
        if fd < top {
            // SAFETY: duplicating our own descriptor.
            let d = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, top) };
            if d < 0 {
                let e = dup_errno(last());
                close_all(fds);
                return Err(e);
            }
            // SAFETY: the original is ours.
            unsafe { libc::close(fd) };
            fds[i] = d;
        }
    }
    for i in 0..n {
        let want = LISTEN_FDS_START.wrapping_add(i as c_int);
        // SAFETY: duplicating our own descriptor.
        let d = unsafe { libc::fcntl(fds[i], libc::F_DUPFD_CLOEXEC, want) };
        if d != want {
            let e = if d < 0 { dup_errno(last()) } else { Errno::EBUSY };
            if d >= 0 {
                // SAFETY: ours (a number above `want`).
                unsafe { libc::close(d) };
            }
            for j in 0..i {
                // SAFETY: placed by us above.
                unsafe { libc::close(LISTEN_FDS_START.wrapping_add(j as c_int)) };
            }
            close_all(fds);
            return Err(e);
        }
    }
    close_all(fds);
    Ok(())
}

pub(super) fn set_listen_env(n: usize, names: *const c_char) -> Result<()> {
    let mut a = [0u8; 24];
    let mut b = [0u8; 24];
    // SAFETY: getpid cannot fail.
    let pid = itoa(unsafe { libc::getpid() } as u64, &mut a);
    let count = itoa(n as u64, &mut b);
    // SAFETY: NUL-terminated names and values.
    unsafe {
        if libc::setenv(crate::env::LISTEN_FDNAMES.as_ptr(), names, 1) < 0
            || libc::setenv(crate::env::LISTEN_FDS.as_ptr(), count.as_ptr(), 1) < 0
            || libc::setenv(crate::env::LISTEN_PID.as_ptr(), pid.as_ptr(), 1) < 0
        {
            let e = last();
            unset_listen_env();
            return Err(e);
        }
        libc::unsetenv(crate::env::LISTEN_PIDFDID.as_ptr());
    }
    Ok(())
}

pub(super) fn unset_listen_env() {
    for v in crate::env::LISTEN_VARS {
        // SAFETY: NUL-terminated names.
        unsafe { libc::unsetenv(v.as_ptr()) };
    }
}
