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
//! Per-connection children (`--accept`) on x86_64 and aarch64 Linux are not
//! waited for: each runs on a `Slot` of its own (`CLONE_VM |
//! CLONE_CHILD_CLEARTID`, direct system calls), so several can be on their
//! way to `execve` while the launcher accepts the next connection.
//! Elsewhere: `fork`, and a close-on-exec pipe for the exec failure.

use super::{errno, errno_str, RawFd};
use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

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

/// The command, prepared once, and what starting it needs. Per-connection
/// children (`--accept`) may still be reading it after `spawn_conn` has
/// returned (see `Slot`), so the supervisor keeps its `Spawner` for the
/// life of the process (`Box::leak`): nothing a child reads is freed.
pub struct Spawner {
    path: CString,
    name: String,
    _argv: Vec<CString>,
    argv_p: Vec<*const libc::c_char>,
    sig: SigReset,
    #[cfg(any(target_os = "linux", target_os = "android"))]
    stack: Vec<u64>,
    /// The per-connection environment and the slots of children in flight.
    conn: Option<Conns>,
}

/// What the child needs, all prepared by the parent. Raw pointers: it is
/// read by a child that may outlive the call that made it (a `Slot`'s).
struct Ctx {
    path: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    /// "LISTEN_PID=" followed by room for the digits, or null.
    pid_buf: *mut u8,
    fds: *const RawFd,
    /// Room for `n` descriptors: where each of `fds` is before its dup2.
    tmp: *mut RawFd,
    n: usize,
    inetd: bool,
    sig: *const SigReset,
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

/// Per-connection children in flight at once, at most; beyond that a
/// connection's child is started as the main one is (waiting for its exec).
const SLOTS: usize = 64;

/// The per-connection children of `--accept`.
struct Conns {
    /// Their environment, made once; only a child started through `create`
    /// writes its `LISTEN_PID` buffer (the slots have their own).
    env: Env,
    /// Boxed: a child in flight holds its slot's address, which must not
    /// move when the vector grows.
    #[allow(clippy::vec_box)]
    slots: Vec<Box<Slot>>,
    /// Starting children without waiting for their exec works here (it
    /// does not under qemu-user, which refuses `CLONE_VM` without
    /// `CLONE_VFORK` with EINVAL).
    overlap: bool,
}

/// One per-connection child started without waiting for its `execve`
/// (Linux on x86_64 and aarch64): `clone(CLONE_VM | CLONE_CHILD_CLEARTID)`
/// on the slot's stack. The child shares the launcher's memory until it has
/// called `execve` or exited, while the launcher goes on accepting; it
/// touches only this slot (stack, context, environment pointers, its
/// `LISTEN_PID`) and reads the `Spawner`, which is never freed or changed.
/// It makes system calls directly (`kern`), so it never writes the
/// launcher's `errno`, and takes no lock. The kernel zeroes `busy` when
/// the child leaves the shared memory (exec or exit): only then is the slot
/// used again. The connection's descriptor is the child's own copy (no
/// `CLONE_FILES`), so the launcher closes its own at once.
#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
struct Slot {
    busy: AtomicU32,
    /// The child started from this slot and not yet seen done (0: none).
    pid: libc::pid_t,
    ctx: Ctx,
    fd: [RawFd; 1],
    tmp: [RawFd; 1],
    listen_pid: [u8; 32],
    envp: Vec<*const libc::c_char>,
    stack: Vec<u64>,
}

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
            conn: None,
        })
    }

    /// Start the command with `env` and `fds`; returns the pid once the
    /// child has executed the program, or why it could not.
    pub fn spawn(&mut self, env: &[EnvEntry], fds: &[RawFd], inetd: bool) -> Result<libc::pid_t, String> {
        let mut e = Env::new(env)?;
        self.spawn_env(&mut e, fds, inetd)
    }

    /// Has the per-connection environment been set?
    pub fn has_conn_env(&self) -> bool {
        self.conn.is_some()
    }

    /// Set the environment of every per-connection child (once).
    pub fn set_conn_env(&mut self, env: Env) {
        if self.conn.is_none() {
            self.conn = Some(Conns { env, slots: Vec::new(), overlap: kern::OVERLAP });
        }
    }

    /// Start a per-connection child with the descriptor `fd` (the
    /// environment set by `set_conn_env`). Where it can, it returns once
    /// the child exists, without waiting for its `execve`: a failed exec
    /// is then told by `conn_failed` when the child is reaped.
    pub fn spawn_conn(&mut self, fd: RawFd, inetd: bool) -> Result<libc::pid_t, String> {
        let Some(mut conns) = self.conn.take() else { return Err("no per-connection environment".into()) };
        let r = self.spawn_conn_in(&mut conns, fd, inetd);
        self.conn = Some(conns);
        r
    }

    fn spawn_conn_in(&mut self, conns: &mut Conns, fd: RawFd, inetd: bool) -> Result<libc::pid_t, String> {
        if conns.overlap {
            let free = conns.slots.iter_mut().position(|s| s.reusable());
            let i = match free {
                Some(i) => Some(i),
                None if conns.slots.len() < SLOTS => {
                    conns.slots.push(Slot::new(&conns.env));
                    Some(conns.slots.len() - 1)
                }
                None => None,
            };
            if let Some(i) = i {
                match self.start_in_slot(&mut conns.slots[i], fd, inetd) {
                    Ok(pid) => return Ok(pid),
                    Err(libc::EINVAL) => conns.overlap = false,
                    Err(e) => return Err(format!("clone: {}", errno_str(e))),
                }
            }
        }
        self.spawn_env(&mut conns.env, &[fd], inetd)
    }

    /// The errno with which per-connection child `pid` (just reaped) failed
    /// to execute the command, if it did; its slot is free from now on.
    pub fn conn_failed(&mut self, pid: libc::pid_t) -> Option<String> {
        let conns = self.conn.as_mut()?;
        let slot = conns.slots.iter_mut().find(|s| s.pid == pid)?;
        slot.pid = 0;
        // The child has exited (it was reaped), so the kernel has zeroed
        // `busy` and `err` is final.
        match slot.ctx.err.load(Ordering::Acquire) {
            0 => None,
            e => Some(format!("failed to execute {}: {}", self.name, errno_str(e))),
        }
    }

    fn ctx(
        &self,
        env: *const *const libc::c_char,
        pid_buf: *mut u8,
        fds: &[RawFd],
        tmp: *mut RawFd,
        inetd: bool,
    ) -> Ctx {
        Ctx {
            path: self.path.as_ptr(),
            argv: self.argv_p.as_ptr(),
            envp: env,
            pid_buf,
            fds: fds.as_ptr(),
            tmp,
            n: fds.len(),
            inetd,
            sig: &self.sig,
            // SAFETY: an all-zero sigset_t is a valid value to fill in.
            mask: unsafe { std::mem::zeroed() },
            // SAFETY: getpid cannot fail.
            parent: unsafe { libc::getpid() },
            err: AtomicI32::new(0),
        }
    }

    /// As `spawn`, with an environment prepared once (per-connection
    /// children all get the same one).
    pub fn spawn_env(&mut self, env: &mut Env, fds: &[RawFd], inetd: bool) -> Result<libc::pid_t, String> {
        let pid_buf: *mut u8 = match env.pid_slot {
            Some(i) => env.bufs[i].as_mut_ptr(),
            None => std::ptr::null_mut(),
        };
        let mut tmp: Vec<RawFd> = vec![-1; fds.len()];
        let mut ctx = self.ctx(env.ptrs.as_ptr(), pid_buf, fds, tmp.as_mut_ptr(), inetd);
        let old = block_all(&mut ctx.mask, self.sig.all);
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let r = create(&mut self.stack, &mut ctx);
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let r = create(&mut ctx);
        unblock(&old);
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

    /// Start a child from `slot` without waiting for its exec; `Err(errno)`
    /// of `clone`.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn start_in_slot(&self, slot: &mut Slot, fd: RawFd, inetd: bool) -> Result<libc::pid_t, i32> {
        extern "C" fn entry(arg: *mut libc::c_void) -> libc::c_int {
            // SAFETY: arg is a slot's Ctx, which the launcher neither
            // changes nor frees until the kernel has zeroed the slot's
            // `busy` (after our exec or exit).
            let ctx = unsafe { &*(arg as *const Ctx) };
            // SAFETY: only system calls on memory prepared by the parent.
            let e = unsafe { child(ctx) };
            ctx.err.store(e, Ordering::Release);
            // SAFETY: exits this child only.
            unsafe { kern::exit(127) }
        }
        slot.fd[0] = fd;
        let (pid_buf, envp) = (slot.listen_pid.as_mut_ptr(), slot.envp.as_ptr());
        slot.ctx = self.ctx(envp, pid_buf, &slot.fd, slot.tmp.as_mut_ptr(), inetd);
        let old = block_all(&mut slot.ctx.mask, self.sig.all);
        slot.busy.store(1, Ordering::Release);
        let top = (slot.stack.as_mut_ptr() as usize + slot.stack.len() * 8) & !15;
        // SAFETY: the child runs on the slot's own stack with the slot's
        // context, both left alone by the launcher until `busy` is zero
        // again; `busy` is the word the kernel clears (CLONE_CHILD_CLEARTID).
        let pid = unsafe {
            libc::clone(
                entry,
                top as *mut libc::c_void,
                libc::CLONE_VM | libc::CLONE_CHILD_CLEARTID | libc::SIGCHLD,
                &mut slot.ctx as *mut Ctx as *mut libc::c_void,
                std::ptr::null_mut::<libc::pid_t>(),
                std::ptr::null_mut::<libc::c_void>(),
                slot.busy.as_ptr(),
            )
        };
        let e = errno();
        unblock(&old);
        if pid < 0 {
            slot.busy.store(0, Ordering::Release);
            return Err(e);
        }
        slot.pid = pid;
        Ok(pid)
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn start_in_slot(&self, _slot: &mut Slot, _fd: RawFd, _inetd: bool) -> Result<libc::pid_t, i32> {
        Err(libc::EINVAL)
    }
}

impl Slot {
    fn new(env: &Env) -> Box<Slot> {
        let mut s = Box::new(Slot {
            busy: AtomicU32::new(0),
            pid: 0,
            ctx: Ctx {
                path: std::ptr::null(),
                argv: std::ptr::null(),
                envp: std::ptr::null(),
                pid_buf: std::ptr::null_mut(),
                fds: std::ptr::null(),
                tmp: std::ptr::null_mut(),
                n: 0,
                inetd: false,
                sig: std::ptr::null(),
                // SAFETY: an all-zero sigset_t is a valid value.
                mask: unsafe { std::mem::zeroed() },
                parent: 0,
                err: AtomicI32::new(0),
            },
            fd: [-1],
            tmp: [-1],
            listen_pid: [0; 32],
            envp: env.ptrs.clone(),
            #[cfg(any(target_os = "linux", target_os = "android"))]
            stack: vec![0u64; STACK_WORDS],
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            stack: Vec::new(),
        });
        if let Some(i) = env.pid_slot {
            s.listen_pid[..11].copy_from_slice(b"LISTEN_PID=");
            s.envp[i] = s.listen_pid.as_ptr() as *const libc::c_char;
        }
        s
    }

    /// Free for a new child: none started, or its child has executed the
    /// command (`busy` zeroed with no error; a failed one waits for
    /// `conn_failed` to be told). The kernel's store is the child's last
    /// touch of the slot.
    fn reusable(&mut self) -> bool {
        if self.pid == 0 {
            return self.busy.load(Ordering::Acquire) == 0;
        }
        if self.busy.load(Ordering::Acquire) == 0 && self.ctx.err.load(Ordering::Acquire) == 0 {
            self.pid = 0;
            return true;
        }
        false
    }
}

/// Block every signal while a child shares our memory and until it has
/// put our handlers back to what the command should get; `mask` (the
/// child's) becomes the mask we had, or empty with `all`. Returns ours.
fn block_all(mask: &mut libc::sigset_t, all: bool) -> libc::sigset_t {
    // SAFETY: plain signal-mask calls on local sets.
    unsafe {
        let mut full: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut full);
        libc::pthread_sigmask(libc::SIG_SETMASK, &full, &mut old);
        *mask = old;
        if all {
            libc::sigemptyset(mask);
        }
        old
    }
}

fn unblock(old: &libc::sigset_t) {
    // SAFETY: restoring the mask saved by block_all.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, old, std::ptr::null_mut()) };
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn create(stack: &mut [u64], ctx: &mut Ctx) -> Result<libc::pid_t, String> {
    extern "C" fn entry(arg: *mut libc::c_void) -> libc::c_int {
        // SAFETY: arg is the parent's Ctx, alive (the parent is
        // suspended by CLONE_VFORK until we exec or exit).
        let ctx = unsafe { &*(arg as *const Ctx) };
        // SAFETY: only system calls on memory prepared by the parent.
        let e = unsafe { child(ctx) };
        ctx.err.store(e, Ordering::SeqCst);
        // SAFETY: exits this child only.
        unsafe { kern::exit(127) }
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

/// What the child calls, each returning `Err(errno)`. On Linux x86_64 and
/// aarch64 these are direct system calls: a child sharing the launcher's
/// memory must not write `errno` (the launcher's thread-local variable,
/// which it may be reading at that moment). Elsewhere the libc functions,
/// in a child that has memory of its own (fork) or a suspended parent
/// (vfork).
#[cfg(all(any(target_os = "linux", target_os = "android"), any(target_arch = "x86_64", target_arch = "aarch64")))]
mod kern {
    use super::RawFd;

    /// Children can be started without waiting for their exec.
    pub const OVERLAP: bool = true;

    #[cfg(target_arch = "x86_64")]
    unsafe fn sys(n: libc::c_long, a: usize, b: usize, c: usize, d: usize) -> isize {
        let r: isize;
        // SAFETY (caller): the arguments are valid for system call `n`;
        // `syscall` clobbers rcx and r11.
        core::arch::asm!("syscall", inlateout("rax") n as isize => r, in("rdi") a, in("rsi") b, in("rdx") c,
                         in("r10") d, lateout("rcx") _, lateout("r11") _, options(nostack));
        r
    }

    #[cfg(target_arch = "aarch64")]
    unsafe fn sys(n: libc::c_long, a: usize, b: usize, c: usize, d: usize) -> isize {
        let r: isize;
        // SAFETY (caller): as above; `svc 0` clobbers only x0.
        core::arch::asm!("svc 0", in("x8") n, inlateout("x0") a as isize => r, in("x1") b, in("x2") c,
                         in("x3") d, options(nostack));
        r
    }

    unsafe fn call(n: libc::c_long, a: usize, b: usize, c: usize, d: usize) -> Result<usize, i32> {
        let r = sys(n, a, b, c, d);
        if (-4095..0).contains(&r) {
            Err(-r as i32)
        } else {
            Ok(r as usize)
        }
    }

    /// The kernel's `struct sigaction` on both (they have `sa_restorer`).
    #[repr(C)]
    struct KSigaction {
        handler: usize,
        flags: usize,
        restorer: usize,
        mask: u64,
    }

    /// `signal(s, SIG_IGN or SIG_DFL)`.
    pub unsafe fn set_signal(s: libc::c_int, ignore: bool) -> Result<(), i32> {
        let act = KSigaction { handler: if ignore { 1 } else { 0 }, flags: 0, restorer: 0, mask: 0 };
        call(libc::SYS_rt_sigaction, s as usize, &act as *const KSigaction as usize, 0, 8).map(drop)
    }

    /// `sigprocmask(SIG_SETMASK, mask, NULL)` (the kernel reads 64 bits).
    pub unsafe fn set_mask(mask: &libc::sigset_t) -> Result<(), i32> {
        call(libc::SYS_rt_sigprocmask, libc::SIG_SETMASK as usize, mask as *const libc::sigset_t as usize, 0, 8)
            .map(drop)
    }

    pub unsafe fn die_with_parent() -> Result<(), i32> {
        call(libc::SYS_prctl, libc::PR_SET_PDEATHSIG as usize, libc::SIGTERM as usize, 0, 0).map(drop)
    }

    pub unsafe fn getppid() -> libc::pid_t {
        call(libc::SYS_getppid, 0, 0, 0, 0).unwrap_or(0) as libc::pid_t
    }

    pub unsafe fn getpid() -> libc::pid_t {
        call(libc::SYS_getpid, 0, 0, 0, 0).unwrap_or(0) as libc::pid_t
    }

    pub unsafe fn fcntl(fd: RawFd, cmd: libc::c_int, arg: libc::c_int) -> Result<libc::c_int, i32> {
        call(libc::SYS_fcntl, fd as usize, cmd as usize, arg as usize, 0).map(|r| r as libc::c_int)
    }

    /// `dup2(fd, to)` for `fd != to` (then it is `dup3(fd, to, 0)`, which
    /// aarch64 has instead of `dup2`).
    pub unsafe fn dup2(fd: RawFd, to: RawFd) -> Result<(), i32> {
        call(libc::SYS_dup3, fd as usize, to as usize, 0, 0).map(drop)
    }

    /// Returns only on failure.
    pub unsafe fn execve(
        path: *const libc::c_char,
        argv: *const *const libc::c_char,
        envp: *const *const libc::c_char,
    ) -> i32 {
        call(libc::SYS_execve, path as usize, argv as usize, envp as usize, 0).err().unwrap_or(libc::EINVAL)
    }

    pub unsafe fn exit(code: libc::c_int) -> ! {
        loop {
            let _ = sys(libc::SYS_exit_group, code as usize, 0, 0, 0);
        }
    }
}

#[cfg(not(all(
    any(target_os = "linux", target_os = "android"),
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
mod kern {
    use super::{errno, RawFd};

    /// Every child is waited for until its exec (vfork or a pipe).
    pub const OVERLAP: bool = true;

    fn ok(r: libc::c_int) -> Result<libc::c_int, i32> {
        if r < 0 {
            Err(errno())
        } else {
            Ok(r)
        }
    }

    pub unsafe fn set_signal(s: libc::c_int, ignore: bool) -> Result<(), i32> {
        if libc::signal(s, if ignore { libc::SIG_IGN } else { libc::SIG_DFL }) == libc::SIG_ERR {
            return Err(errno());
        }
        Ok(())
    }

    pub unsafe fn set_mask(mask: &libc::sigset_t) -> Result<(), i32> {
        match libc::pthread_sigmask(libc::SIG_SETMASK, mask, std::ptr::null_mut()) {
            0 => Ok(()),
            e => Err(e),
        }
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub unsafe fn die_with_parent() -> Result<(), i32> {
        ok(libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong)).map(drop)
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub unsafe fn getppid() -> libc::pid_t {
        libc::getppid()
    }

    pub unsafe fn getpid() -> libc::pid_t {
        libc::getpid()
    }

    pub unsafe fn fcntl(fd: RawFd, cmd: libc::c_int, arg: libc::c_int) -> Result<libc::c_int, i32> {
        ok(libc::fcntl(fd, cmd, arg))
    }

    pub unsafe fn dup2(fd: RawFd, to: RawFd) -> Result<(), i32> {
        ok(libc::dup2(fd, to)).map(drop)
    }

    pub unsafe fn execve(
        path: *const libc::c_char,
        argv: *const *const libc::c_char,
        envp: *const *const libc::c_char,
    ) -> i32 {
        libc::execve(path, argv, envp);
        errno()
    }

    #[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
    pub unsafe fn exit(code: libc::c_int) -> ! {
        libc::_exit(code)
    }
}

/// In the child: signals, descriptors, LISTEN_PID, exec. Returns the errno
/// of what failed (exec does not return on success). No allocation, no
/// locks, no `errno` where the memory is shared: system calls (`kern`) on
/// memory the parent prepared.
unsafe fn child(ctx: &Ctx) -> i32 {
    let sig = &*ctx.sig;
    // A disposition that cannot be set is an invalid signal number: it
    // cannot have been changed either, so it is passed over.
    if sig.all {
        // Every signal to its default: exec resets caught ones anyway, so
        // only the launcher's handlers (before the mask is lifted) and the
        // ignored ones need it, not all 64.
        for &(s, _) in &sig.changed {
            let _ = kern::set_signal(s, false);
        }
        for &s in &sig.ignored {
            let _ = kern::set_signal(s, false);
        }
    } else {
        for &(s, ignored) in &sig.changed {
            let _ = kern::set_signal(s, ignored);
        }
    }
    if let Err(e) = kern::set_mask(&ctx.mask) {
        return e;
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // Die with the launcher (as systemd-socket-activate's per-connection
        // children do), and not if it is already gone.
        let _ = kern::die_with_parent();
        if kern::getppid() != ctx.parent {
            kern::exit(1);
        }
    }
    let fds = std::slice::from_raw_parts(ctx.fds, ctx.n);
    let tmp = std::slice::from_raw_parts_mut(ctx.tmp, ctx.n);
    if ctx.inetd {
        if let Some(&fd) = fds.first() {
            for to in [0, 1] {
                if fd != to {
                    if let Err(e) = kern::dup2(fd, to) {
                        return e;
                    }
                } else if let Err(e) = clear_cloexec(fd) {
                    return e;
                }
            }
        }
    } else {
        // A source inside the target range but not at its own place would
        // be overwritten by an earlier dup2: move it above the range first.
        let end = 3 + ctx.n as RawFd;
        for (j, (&fd, t)) in fds.iter().zip(tmp.iter_mut()).enumerate() {
            *t = fd;
            if fd >= 3 && fd < end && fd != 3 + j as RawFd {
                match kern::fcntl(fd, libc::F_DUPFD_CLOEXEC, end) {
                    Ok(m) => *t = m,
                    Err(e) => return e,
                }
            }
        }
        for (i, &fd) in tmp.iter().enumerate() {
            let target = 3 + i as RawFd;
            // dup2 leaves FD_CLOEXEC clear on the copy.
            let r = if fd == target { clear_cloexec(fd) } else { kern::dup2(fd, target) };
            if let Err(e) = r {
                return e;
            }
        }
    }
    if !ctx.pid_buf.is_null() {
        let mut digits = [0u8; 20];
        let mut v = kern::getpid() as u64;
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
    kern::execve(ctx.path, ctx.argv, ctx.envp)
}

/// Clear `FD_CLOEXEC` on a descriptor that is already where the command gets it.
unsafe fn clear_cloexec(fd: RawFd) -> Result<(), i32> {
    let f = kern::fcntl(fd, libc::F_GETFD, 0)?;
    kern::fcntl(fd, libc::F_SETFD, f & !libc::FD_CLOEXEC).map(drop)
}
