//! Starting a child with passed descriptors: the one platform-specific piece
//! of process creation.
//!
//! The child gets `fds[i]` as descriptor `3 + i` (or, for `--inetd`,
//! `fds[0]` as stdin and stdout), each without `FD_CLOEXEC`, and nothing
//! else of the launcher: every other descriptor of the launcher is
//! close-on-exec. A descriptor already at its place only has `FD_CLOEXEC`
//! cleared; one in the way of another is moved above the range first, so
//! starting a child needs no descriptors beyond those it gets (systemd's
//! limit applies, not twice it). `LISTEN_PID` is written in the child with
//! its own pid, into a buffer prepared by the parent (nothing is allocated
//! in the child). Signal dispositions the launcher changed are put back
//! before the signal mask is restored.
//!
//! On Linux the child is created with `clone(CLONE_VM | CLONE_VFORK)` on a
//! stack of its own, as glibc's `posix_spawn` does: no page tables are
//! copied, the parent resumes as soon as the child has called `execve`, and
//! an exec failure comes back through the shared memory. All signals are
//! blocked around it, so no handler of the launcher runs in the child.
//! Elsewhere: `fork`, and a close-on-exec pipe for the exec failure.

use super::{errno, errno_str, RawFd};
use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicI32, Ordering};

/// One environment entry (`NAME=value` bytes); `ListenPid` is filled in by the child.
pub enum EnvEntry {
    Fixed(Vec<u8>),
    ListenPid,
}

impl EnvEntry {
    pub fn name(&self) -> &[u8] {
        match self {
            EnvEntry::Fixed(s) => s.split(|&b| b == b'=').next().unwrap_or(b""),
            EnvEntry::ListenPid => b"LISTEN_PID",
        }
    }
}

/// Find `cmd` like execvp: a name with a slash is used as is, otherwise the
/// first executable regular file of that name in `$PATH`.
pub fn resolve(cmd: &OsStr) -> Result<CString, String> {
    let shown = cmd.to_string_lossy();
    let cmd = cmd.as_bytes();
    if cmd.is_empty() {
        return Err("empty command".into());
    }
    if cmd.contains(&b'/') {
        let c = CString::new(cmd).map_err(|_| "command contains a NUL byte".to_string())?;
        // SAFETY: c is NUL-terminated.
        if unsafe { libc::access(c.as_ptr(), libc::X_OK) } < 0 {
            return Err(format!("cannot execute {shown}: {}", errno_str(errno())));
        }
        return Ok(c);
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/bin:/usr/bin".into());
    for dir in path.as_bytes().split(|&b| b == b':') {
        let dir = if dir.is_empty() { b"." as &[u8] } else { dir };
        let p = [dir, b"/", cmd].concat();
        let pp = std::path::Path::new(OsStr::from_bytes(&p));
        if let Ok(m) = std::fs::metadata(pp) {
            let c = CString::new(p).map_err(|_| "command contains a NUL byte".to_string())?;
            // SAFETY: c is NUL-terminated.
            if m.is_file() && unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0 {
                return Ok(c);
            }
        }
    }
    Err(format!("{shown}: command not found in PATH"))
}

/// Signals whose disposition the launcher changed, each with whether it was
/// ignored when the launcher started (then the child gets SIG_IGN back,
/// as after a plain exec). With `all`, every signal is reset to its default
/// and none is blocked, as systemd-socket-activate does for per-connection
/// children (`--accept`).
pub struct SigReset {
    pub changed: Vec<(libc::c_int, bool)>,
    /// Every signal ignored in the launcher after it set up its own.
    pub ignored: Vec<libc::c_int>,
    pub all: bool,
}

/// An environment as `execve` takes it: NUL-terminated entries and the
/// pointer array; the `LISTEN_PID` entry has room for any pid, written by
/// each child into this memory (its own copy after `fork`; shared, and
/// rewritten by the next child, with `CLONE_VM`, after the kernel copied it).
pub struct Env {
    bufs: Vec<Vec<u8>>,
    ptrs: Vec<*const libc::c_char>,
    pid_slot: Option<usize>,
}

impl Env {
    pub fn new(env: &[EnvEntry]) -> Result<Env, String> {
        let mut bufs: Vec<Vec<u8>> = Vec::with_capacity(env.len());
        let mut pid_slot = None;
        for e in env {
            match e {
                EnvEntry::Fixed(s) => {
                    if s.contains(&0) {
                        return Err("environment entry contains a NUL byte".into());
                    }
                    let mut b = Vec::with_capacity(s.len() + 1);
                    b.extend_from_slice(s);
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
        let mut ptrs: Vec<*const libc::c_char> = bufs.iter().map(|b| b.as_ptr() as *const libc::c_char).collect();
        ptrs.push(std::ptr::null());
        Ok(Env { bufs, ptrs, pid_slot })
    }
}

/// The command, prepared once, and what starting it needs.
pub struct Spawner {
    path: CString,
    name: String,
    _argv: Vec<CString>,
    argv_p: Vec<*const libc::c_char>,
    sig: SigReset,
    #[cfg(any(target_os = "linux", target_os = "android"))]
    stack: Vec<u64>,
}

/// What the child needs, all prepared by the parent.
struct Ctx<'a> {
    path: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    /// "LISTEN_PID=" followed by room for the digits, or null.
    pid_buf: *mut u8,
    fds: &'a [RawFd],
    tmp: &'a mut [RawFd],
    inetd: bool,
    sig: &'a SigReset,
    /// The signal mask the child starts the command with.
    mask: libc::sigset_t,
    /// The launcher's pid (the child checks it is still its parent, Linux).
    #[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
    parent: libc::pid_t,
    /// The errno of a failed set-up or exec (0: none): shared memory on Linux.
    err: AtomicI32,
}

/// Stack for the child on Linux (it runs only `child` and `execve`).
#[cfg(any(target_os = "linux", target_os = "android"))]
const STACK_WORDS: usize = 32 * 1024;

impl Spawner {
    pub fn new(path: CString, argv: &[OsString], sig: SigReset) -> Result<Spawner, String> {
        let argv_c: Vec<CString> = argv
            .iter()
            .map(|a| CString::new(a.as_bytes()).map_err(|_| "argument contains a NUL byte".to_string()))
            .collect::<Result<_, _>>()?;
        let mut argv_p: Vec<*const libc::c_char> = argv_c.iter().map(|c| c.as_ptr()).collect();
        argv_p.push(std::ptr::null());
        Ok(Spawner {
            path,
            name: argv.first().map(|a| a.to_string_lossy().into_owned()).unwrap_or_default(),
            _argv: argv_c,
            argv_p,
            sig,
            #[cfg(any(target_os = "linux", target_os = "android"))]
            stack: vec![0u64; STACK_WORDS],
        })
    }

    /// Start the command with `env` and `fds`; returns the pid once the
    /// child has executed the program, or why it could not.
    pub fn spawn(&mut self, env: &[EnvEntry], fds: &[RawFd], inetd: bool) -> Result<libc::pid_t, String> {
        let mut e = Env::new(env)?;
        self.spawn_env(&mut e, fds, inetd)
    }

    /// As `spawn`, with an environment prepared once (per-connection
    /// children all get the same one).
    pub fn spawn_env(&mut self, env: &mut Env, fds: &[RawFd], inetd: bool) -> Result<libc::pid_t, String> {
        let pid_buf: *mut u8 = match env.pid_slot {
            Some(i) => env.bufs[i].as_mut_ptr(),
            None => std::ptr::null_mut(),
        };
        let env_p = &env.ptrs;
        let mut tmp: Vec<RawFd> = vec![-1; fds.len()];
        let mut ctx = Ctx {
            path: self.path.as_ptr(),
            argv: self.argv_p.as_ptr(),
            envp: env_p.as_ptr(),
            pid_buf,
            fds,
            tmp: &mut tmp,
            inetd,
            sig: &self.sig,
            // SAFETY: an all-zero sigset_t is a valid value to fill in.
            mask: unsafe { std::mem::zeroed() },
            // SAFETY: getpid cannot fail.
            parent: unsafe { libc::getpid() },
            err: AtomicI32::new(0),
        };
        // Block every signal while the child shares our memory and until it
        // has put our handlers back to what the command should get.
        // SAFETY: plain signal-mask calls on local sets.
        let old = unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
            old
        };
        ctx.mask = old;
        if self.sig.all {
            // SAFETY: as above.
            unsafe { libc::sigemptyset(&mut ctx.mask) };
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let r = create(&mut self.stack, &mut ctx);
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let r = create(&mut ctx);
        // SAFETY: restoring the mask saved above.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
        let pid = r?;
        let e = ctx.err.load(Ordering::SeqCst);
        if e != 0 {
            let mut st = 0;
            // SAFETY: our own child, which has exited (or is about to).
            unsafe { libc::waitpid(pid, &mut st, 0) };
            return Err(format!("failed to execute {}: {}", self.name, errno_str(e)));
        }
        Ok(pid)
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn create(stack: &mut [u64], ctx: &mut Ctx) -> Result<libc::pid_t, String> {
    extern "C" fn entry(arg: *mut libc::c_void) -> libc::c_int {
        // SAFETY: arg is the parent's Ctx, alive (the parent is
        // suspended by CLONE_VFORK until we exec or exit).
        let ctx = unsafe { &mut *(arg as *mut Ctx) };
        // SAFETY: only system calls on memory prepared by the parent.
        let e = unsafe { child(ctx) };
        ctx.err.store(e, Ordering::SeqCst);
        // SAFETY: _exit never returns.
        unsafe { libc::_exit(127) }
    }
    // The stack grows down: pass its (16-byte aligned) top.
    let top = (stack.as_mut_ptr() as usize + stack.len() * 8) & !15;
    // SAFETY: a stack of our own for the child; ctx outlives the call
    // (CLONE_VFORK returns once the child has exec'd or exited).
    let pid = unsafe {
        libc::clone(
            entry,
            top as *mut libc::c_void,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            ctx as *mut Ctx as *mut libc::c_void,
        )
    };
    if pid < 0 {
        return Err(format!("clone: {}", errno_str(errno())));
    }
    Ok(pid)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn create(ctx: &mut Ctx) -> Result<libc::pid_t, String> {
    let mut p = [-1; 2];
    // SAFETY: p has room for two fds; fcntl on fresh fds.
    unsafe {
        if libc::pipe(p.as_mut_ptr()) < 0 {
            return Err(format!("pipe: {}", errno_str(errno())));
        }
        libc::fcntl(p[0], libc::F_SETFD, libc::FD_CLOEXEC);
        libc::fcntl(p[1], libc::F_SETFD, libc::FD_CLOEXEC);
    }
    let [err_r, err_w] = p;
    // The launcher is single-threaded: the child may run `child`.
    // SAFETY: fork in a single-threaded process.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: in the child, system calls on memory prepared above.
        unsafe {
            let e = child(ctx).to_ne_bytes();
            libc::write(err_w, e.as_ptr() as *const libc::c_void, 4);
            libc::_exit(127)
        }
    }
    let fork_err = errno();
    super::close(err_w);
    if pid < 0 {
        super::close(err_r);
        return Err(format!("fork: {}", errno_str(fork_err)));
    }
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
        ctx.err.store(i32::from_ne_bytes(code), Ordering::SeqCst);
    }
    Ok(pid)
}

/// In the child: signals, descriptors, LISTEN_PID, exec. Returns the errno
/// of what failed (exec does not return on success). No allocation, no
/// locks: system calls on memory the parent prepared.
unsafe fn child(ctx: &mut Ctx) -> i32 {
    let sig = ctx.sig;
    if sig.all {
        // Every signal to its default: exec resets caught ones anyway, so
        // only the launcher's handlers (before the mask is lifted) and the
        // ignored ones need it, not all 64.
        for &(s, _) in &sig.changed {
            libc::signal(s, libc::SIG_DFL);
        }
        for &s in &sig.ignored {
            libc::signal(s, libc::SIG_DFL);
        }
    } else {
        for &(s, ignored) in &sig.changed {
            libc::signal(s, if ignored { libc::SIG_IGN } else { libc::SIG_DFL });
        }
    }
    libc::pthread_sigmask(libc::SIG_SETMASK, &ctx.mask, std::ptr::null_mut());
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // Die with the launcher (as systemd-socket-activate's per-connection
        // children do), and not if it is already gone.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong);
        if libc::getppid() != ctx.parent {
            libc::_exit(1);
        }
    }
    let fds = ctx.fds;
    let n = fds.len();
    if ctx.inetd {
        if let Some(&fd) = fds.first() {
            if libc::dup2(fd, 0) < 0 || libc::dup2(fd, 1) < 0 {
                return errno();
            }
        }
    } else {
        // A source inside the target range but not at its own place would
        // be overwritten by an earlier dup2: move it above the range first.
        let end = 3 + n as RawFd;
        for (j, (&fd, t)) in fds.iter().zip(ctx.tmp.iter_mut()).enumerate() {
            *t = fd;
            if fd >= 3 && fd < end && fd != 3 + j as RawFd {
                let m = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, end);
                if m < 0 {
                    return errno();
                }
                *t = m;
            }
        }
        for (i, &fd) in ctx.tmp.iter().enumerate() {
            let target = 3 + i as RawFd;
            if fd == target {
                let f = libc::fcntl(fd, libc::F_GETFD);
                if f < 0 || libc::fcntl(fd, libc::F_SETFD, f & !libc::FD_CLOEXEC) < 0 {
                    return errno();
                }
            } else if libc::dup2(fd, target) < 0 {
                // dup2 leaves FD_CLOEXEC clear on the copy.
                return errno();
            }
        }
    }
    if !ctx.pid_buf.is_null() {
        let mut digits = [0u8; 20];
        let mut v = libc::getpid() as u64;
        let mut k = 0;
        loop {
            digits[k] = b'0' + (v % 10) as u8;
            k += 1;
            v /= 10;
            if v == 0 || k == digits.len() {
                break;
            }
        }
        let off = b"LISTEN_PID=".len();
        for j in 0..k {
            *ctx.pid_buf.add(off + j) = digits[k - 1 - j];
        }
        *ctx.pid_buf.add(off + k) = 0;
    }
    libc::execve(ctx.path, ctx.argv, ctx.envp);
    errno()
}
