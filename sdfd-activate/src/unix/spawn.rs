//! Starting a child with passed descriptors: the one platform-specific piece
//! of process creation (fork + exec on Unix; a Windows backend would create
//! the process and serve the systemfd protocol in its own module instead).
//!
//! The child gets `fds[i]` as descriptor `3 + i` (or, for `--inetd`,
//! `fds[0]` as stdin and stdout), each without `FD_CLOEXEC`, and nothing
//! else of the launcher: every other descriptor of the launcher is
//! close-on-exec. `LISTEN_PID` is written in the child, after fork, with its
//! own pid. Signal dispositions the launcher changed are put back.

use super::{errno, errno_str, RawFd};
use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;

/// One environment entry; `ListenPid` is filled in by the child.
pub enum EnvEntry {
    Fixed(String),
    ListenPid,
}

impl EnvEntry {
    pub fn name(&self) -> &str {
        match self {
            EnvEntry::Fixed(s) => s.split('=').next().unwrap_or(""),
            EnvEntry::ListenPid => "LISTEN_PID",
        }
    }
}

/// Find `cmd` like execvp: a name with a slash is used as is, otherwise the
/// first executable regular file of that name in `$PATH`.
pub fn resolve(cmd: &str) -> Result<CString, String> {
    if cmd.is_empty() {
        return Err("empty command".into());
    }
    if cmd.contains('/') {
        let c = CString::new(cmd).map_err(|_| "command contains a NUL byte".to_string())?;
        // SAFETY: c is NUL-terminated.
        if unsafe { libc::access(c.as_ptr(), libc::X_OK) } < 0 {
            return Err(format!("cannot execute {cmd}: {}", errno_str(errno())));
        }
        return Ok(c);
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/bin:/usr/bin".into());
    for dir in path.as_bytes().split(|&b| b == b':') {
        let dir = if dir.is_empty() { b"." as &[u8] } else { dir };
        let mut p = dir.to_vec();
        p.push(b'/');
        p.extend_from_slice(cmd.as_bytes());
        let pp = std::path::Path::new(OsStr::from_bytes(&p));
        if let Ok(m) = std::fs::metadata(pp) {
            let c = CString::new(p).map_err(|_| "command contains a NUL byte".to_string())?;
            // SAFETY: c is NUL-terminated.
            if m.is_file() && unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0 {
                return Ok(c);
            }
        }
    }
    Err(format!("{cmd}: command not found in PATH"))
}

/// Signals whose disposition the launcher changed, each with whether it was
/// ignored when the launcher started (then the child gets SIG_IGN back,
/// as after a plain exec). With `all`, every signal is reset to its default
/// and none is blocked, as systemd-socket-activate does for per-connection
/// children (`--accept`).
pub struct SigReset {
    pub changed: Vec<(libc::c_int, bool)>,
    pub all: bool,
}

fn cloexec_pipe() -> Result<[RawFd; 2], String> {
    let mut p = [-1; 2];
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    // SAFETY: p has room for two fds.
    let r = unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) };
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    // SAFETY: p has room for two fds; fcntl on fresh fds.
    let r = unsafe {
        let r = libc::pipe(p.as_mut_ptr());
        if r == 0 {
            libc::fcntl(p[0], libc::F_SETFD, libc::FD_CLOEXEC);
            libc::fcntl(p[1], libc::F_SETFD, libc::FD_CLOEXEC);
        }
        r
    };
    if r < 0 {
        return Err(format!("pipe: {}", errno_str(errno())));
    }
    Ok(p)
}

/// Start `argv` (resolved to `path`) with `env` and `fds`; returns the pid
/// once the child has executed the program, or why it could not.
pub fn spawn(path: &CString, argv: &[String], env: &[EnvEntry], fds: &[RawFd], inetd: bool, sig: &SigReset) -> Result<libc::pid_t, String> {
    let argv_c: Vec<CString> = argv
        .iter()
        .map(|a| CString::new(a.as_bytes()).map_err(|_| "argument contains a NUL byte".to_string()))
        .collect::<Result<_, _>>()?;
    let mut argv_p: Vec<*const libc::c_char> = argv_c.iter().map(|c| c.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    // Entries as NUL-terminated buffers; LISTEN_PID gets room for any pid.
    let mut bufs: Vec<Vec<u8>> = Vec::with_capacity(env.len());
    let mut pid_slot = None;
    for e in env {
        match e {
            EnvEntry::Fixed(s) => {
                if s.as_bytes().contains(&0) {
                    return Err("environment entry contains a NUL byte".into());
                }
                let mut b = s.as_bytes().to_vec();
                b.push(0);
                bufs.push(b);
            }
            EnvEntry::ListenPid => {
                pid_slot = Some(bufs.len());
                let mut b = b"LISTEN_PID=".to_vec();
                b.resize(b.len() + 24, 0);
                bufs.push(b);
            }
        }
    }
    let mut env_p: Vec<*const libc::c_char> = bufs.iter().map(|b| b.as_ptr() as *const libc::c_char).collect();
    env_p.push(std::ptr::null());
    let pid_buf: *mut u8 = match pid_slot {
        Some(i) => bufs[i].as_mut_ptr(),
        None => std::ptr::null_mut(),
    };
    let mut tmp: Vec<RawFd> = vec![-1; fds.len()];
    let [err_r, err_w] = cloexec_pipe()?;
    // SAFETY: getpid cannot fail.
    let parent = unsafe { libc::getpid() };
    // The launcher is single-threaded, so the child may run ordinary code;
    // it still only makes plain system calls and touches memory prepared
    // above.
    // SAFETY: fork in a single-threaded process.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let e = errno();
        super::close(err_r);
        super::close(err_w);
        return Err(format!("fork: {}", errno_str(e)));
    }
    if pid == 0 {
        // SAFETY: in the child, only system calls on memory owned above.
        unsafe { child(path, &argv_p, &env_p, pid_buf, fds, &mut tmp, inetd, sig, err_w, parent) }
    }
    super::close(err_w);
    let mut code = [0u8; 4];
    let n = loop {
        // SAFETY: valid buffer.
        let n = unsafe { libc::read(err_r, code.as_mut_ptr() as *mut libc::c_void, 4) };
        if n < 0 && errno() == libc::EINTR {
            continue;
        }
        break n;
    };
    super::close(err_r);
    if n == 4 {
        let mut st = 0;
        // SAFETY: our own child, which exits right after reporting.
        unsafe { libc::waitpid(pid, &mut st, 0) };
        let e = i32::from_ne_bytes(code);
        return Err(format!("failed to execute {}: {}", argv[0], errno_str(e)));
    }
    Ok(pid)
}

#[allow(clippy::too_many_arguments)]
unsafe fn child(
    path: &CString,
    argv: &[*const libc::c_char],
    env: &[*const libc::c_char],
    pid_buf: *mut u8,
    fds: &[RawFd],
    tmp: &mut [RawFd],
    inetd: bool,
    sig: &SigReset,
    err_w: RawFd,
    parent: libc::pid_t,
) -> ! {
    let fail = |err_w: RawFd| -> ! {
        let e = errno().to_ne_bytes();
        libc::write(err_w, e.as_ptr() as *const libc::c_void, 4);
        libc::_exit(127)
    };
    if sig.all {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let nsig = 65;
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let nsig = 32;
        for s in 1..nsig {
            if s != libc::SIGKILL && s != libc::SIGSTOP {
                libc::signal(s, libc::SIG_DFL);
            }
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    } else {
        for &(s, ignored) in &sig.changed {
            libc::signal(s, if ignored { libc::SIG_IGN } else { libc::SIG_DFL });
        }
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // Die with the launcher (as systemd-socket-activate's per-connection
        // children do), and not if it is already gone.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong);
        if libc::getppid() != parent {
            libc::_exit(1);
        }
    }
    let _ = parent;
    // Move everything out of the way above the target range first, then
    // into place: dup2 clears FD_CLOEXEC on the copy.
    let base = if inetd { 3 } else { 3 + fds.len() as RawFd };
    let err_w = match libc::fcntl(err_w, libc::F_DUPFD_CLOEXEC, base) {
        -1 => fail(err_w),
        fd => fd,
    };
    for (i, &fd) in fds.iter().enumerate() {
        let t = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, base);
        if t < 0 {
            fail(err_w);
        }
        tmp[i] = t;
    }
    for (i, &t) in tmp.iter().enumerate() {
        if inetd {
            if libc::dup2(t, 0) < 0 || libc::dup2(t, 1) < 0 {
                fail(err_w);
            }
        } else if libc::dup2(t, 3 + i as RawFd) < 0 {
            fail(err_w);
        }
    }
    if !pid_buf.is_null() {
        let mut digits = [0u8; 20];
        let mut n = libc::getpid() as u64;
        let mut k = 0;
        loop {
            digits[k] = b'0' + (n % 10) as u8;
            k += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let off = b"LISTEN_PID=".len();
        for j in 0..k {
            *pid_buf.add(off + j) = digits[k - 1 - j];
        }
        *pid_buf.add(off + k) = 0;
    }
    libc::execve(path.as_ptr(), argv.as_ptr(), env.as_ptr());
    fail(err_w)
}
