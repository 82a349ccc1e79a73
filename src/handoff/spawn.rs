//! Re-exec: a successor started with the descriptors passed the systemd
//! way (placed and `LISTEN_PID` set in the child only).

use super::receive::dup_errno;
use super::*;

/// Whether the environment entry `e` sets one of the `LISTEN_*` variables
/// (the one list, `crate::env::LISTEN_VARS`).
pub(super) fn is_listen_var(e: &[u8]) -> bool {
    crate::env::LISTEN_VARS.iter().any(|v| {
        let v = v.to_bytes();
        e.len() > v.len() && e.starts_with(v) && e.get(v.len()) == Some(&b'=')
    })
}

/// Start `path` with `argv` and `envp` (NULL: this process's environment)
/// and `fds`, named `names`, passed the systemd way: in the child only, the
/// descriptors are placed at `3..3+n` without `FD_CLOEXEC`, every other
/// descriptor above 2 is marked close-on-exec, every signal's disposition
/// is reset to the default and the signal mask is cleared, and `LISTEN_PID` (the child's pid, written after `fork`), `LISTEN_FDS`
/// and `LISTEN_FDNAMES` replace any `LISTEN_*` in `envp`. This process's
/// descriptors are not changed, so no other child inherits them.
///
/// Returns the child's pid once `execve` has succeeded; if it failed, the
/// child is reaped and its errno returned (`ENOENT`, `EACCES`, ...). Also
/// `EINVAL`/`E2BIG`/`EBADF` as [`offer`], `ENOMEM`, or `fork`'s error.
/// Safe to call from a multi-threaded process (the child only makes
/// async-signal-safe calls).
///
/// # Safety
/// `argv` is a NULL-terminated array of NUL-terminated strings; `envp` is
/// NULL or one too.
pub unsafe fn spawn(
    path: &CStr,
    argv: *const *const c_char,
    envp: *const *const c_char,
    fds: &[RawFd],
    names: BorrowedNames<'_>,
) -> Result<libc::pid_t> {
    check_fds_and_names(fds, names)?;
    if argv.is_null() {
        return Err(Errno::EINVAL);
    }
    let n = fds.len();
    let envp = if envp.is_null() { crate::sys::environ() } else { envp };
    // Everything the child needs is prepared here: it must not allocate.
    let mut env_count = 0usize;
    if !envp.is_null() {
        while !(*envp.add(env_count)).is_null() {
            env_count = env_count.wrapping_add(1);
        }
    }
    let ptrs = CBuf::new(env_count.wrapping_add(4).wrapping_mul(core::mem::size_of::<*const c_char>()))?;
    let env = ptrs.0 as *mut *const c_char;
    let mut k = 0usize;
    for i in 0..env_count {
        let e = *envp.add(i);
        if !is_listen_var(CStr::from_ptr(e).to_bytes()) {
            *env.add(k) = e;
            k = k.wrapping_add(1);
        }
    }
    let mut names_len = 0usize;
    for i in 0..n {
        names_len = names_len.wrapping_add(names.get(i, n).ok_or(Errno::EINVAL)?.to_bytes().len().wrapping_add(1));
    }
    let prefix = b"LISTEN_FDNAMES=";
    let fdnames = CBuf::new(prefix.len().wrapping_add(names_len))?;
    {
        let out = core::slice::from_raw_parts_mut(fdnames.0.cast::<u8>(), prefix.len().wrapping_add(names_len));
        let mut w = 0usize;
        let mut put = |b: u8| {
            if let Some(d) = out.get_mut(w) {
                *d = b;
            }
            w = w.wrapping_add(1);
        };
        prefix.iter().for_each(|&b| put(b));
        for i in 0..n {
            if i > 0 {
                put(b':');
            }
            names.get(i, n).ok_or(Errno::EINVAL)?.to_bytes().iter().for_each(|&b| put(b));
        }
        put(0);
    }
    let mut count_buf = [0u8; 40];
    {
        let mut d = [0u8; 24];
        let digits = itoa(n as u64, &mut d).to_bytes_with_nul();
        for (o, s) in count_buf.iter_mut().zip(b"LISTEN_FDS=".iter().chain(digits)) {
            *o = *s;
        }
    }
    // LISTEN_PID= plus room for the digits, filled in by the child.
    let mut pid_buf = [0u8; 40];
    for (o, s) in pid_buf.iter_mut().zip(b"LISTEN_PID=") {
        *o = *s;
    }
    *env.add(k) = count_buf.as_ptr() as *const c_char;
    *env.add(k.wrapping_add(1)) = fdnames.0;
    *env.add(k.wrapping_add(2)) = pid_buf.as_ptr() as *const c_char;
    *env.add(k.wrapping_add(3)) = core::ptr::null();

    // The child reports an exec failure's errno through this pipe.
    let p = crate::sys::pipe_cloexec()?;
    let (rd, wr) = (Fd(p[0]), Fd(p[1]));
    let pid = libc::fork();
    if pid < 0 {
        return Err(last());
    }
    if pid == 0 {
        child(path, argv, env as *const *const c_char, fds, &mut pid_buf, wr.0);
    }
    drop(wr);
    let mut err: c_int = 0;
    let r = loop {
        let r = libc::read(rd.0, &mut err as *mut c_int as *mut c_void, core::mem::size_of::<c_int>());
        if r < 0 && last() == Errno(libc::EINTR) {
            continue;
        }
        break r;
    };
    if r == core::mem::size_of::<c_int>() as isize {
        let mut status = 0;
        while libc::waitpid(pid, &mut status, 0) < 0 && last() == Errno(libc::EINTR) {}
        return Err(Errno(err));
    }
    Ok(pid)
}

/// Signal numbers are below this (Linux: 64 signals with the real-time ones).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) const SIGNAL_COUNT: c_int = 65;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(super) const SIGNAL_COUNT: c_int = 32;

/// The forked child: async-signal-safe calls only, never returns.
pub(super) unsafe fn child(
    path: &CStr,
    argv: *const *const c_char,
    env: *const *const c_char,
    fds: &[RawFd],
    pid_buf: &mut [u8; 40],
    report: c_int,
) -> ! {
    let fail = |e: Errno| -> ! {
        let v: c_int = e.0;
        libc::write(report, &v as *const c_int as *const c_void, core::mem::size_of::<c_int>());
        libc::_exit(127)
    };
    let n = fds.len();
    let top = LISTEN_FDS_START.wrapping_add(n as c_int);
    // Out of the way first (a source may sit in 3..3+n), then into place;
    // dup2 leaves FD_CLOEXEC clear on the new number.
    let mut tmp = [-1 as c_int; HANDOFF_MAX_FDS];
    let floor = top.max(report.wrapping_add(1));
    for (t, &fd) in tmp.iter_mut().zip(fds) {
        *t = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, floor);
        if *t < 0 {
            fail(dup_errno(last()));
        }
    }
    // The report pipe must survive the dup2s below.
    let report = if report < top {
        let r = libc::fcntl(report, libc::F_DUPFD_CLOEXEC, floor);
        if r < 0 {
            libc::_exit(127);
        }
        r
    } else {
        report
    };
    let fail = |e: Errno| -> ! {
        let v: c_int = e.0;
        libc::write(report, &v as *const c_int as *const c_void, core::mem::size_of::<c_int>());
        libc::_exit(127)
    };
    for (i, &t) in tmp.iter().take(n).enumerate() {
        if libc::dup2(t, LISTEN_FDS_START.wrapping_add(i as c_int)) < 0 {
            fail(last());
        }
    }
    // Nothing else of the parent's leaks into the successor.
    #[cfg(target_os = "linux")]
    {
        let _ = crate::sys::close_range(top as u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC);
    }
    // Default dispositions, then an empty mask, as systemd and Python's
    // subprocess start a child: an ignored SIGPIPE or SIGUSR1 (execve keeps
    // SIG_IGN) and a blocked signal must not pile up generation after
    // generation. Handlers are reset too (execve would anyway), so none of
    // the parent's runs in this child once the mask is empty.
    let mut dfl: libc::sigaction = core::mem::zeroed();
    dfl.sa_sigaction = libc::SIG_DFL;
    libc::sigemptyset(&mut dfl.sa_mask);
    for sig in 1..SIGNAL_COUNT {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            // EINVAL for the numbers the C library keeps for itself: ignored.
            libc::sigaction(sig, &dfl, core::ptr::null_mut());
        }
    }
    let mut set: libc::sigset_t = core::mem::zeroed();
    libc::sigemptyset(&mut set);
    libc::sigprocmask(libc::SIG_SETMASK, &set, core::ptr::null_mut());
    let mut d = [0u8; 24];
    let digits = itoa(libc::getpid() as u64, &mut d).to_bytes_with_nul();
    for (o, s) in pid_buf.iter_mut().skip(11).zip(digits) {
        *o = *s;
    }
    libc::execve(path.as_ptr(), argv, env);
    fail(last())
}
