//! The launcher on Unix (Linux, macOS, BSD): open the sockets, start the
//! command with them, and supervise it.

mod notify;
mod sock;
mod spawn;

use crate::opts::{fdname_is_valid, NotifyAccess, Opts};
use spawn::{EnvEntry, SigReset};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Instant;

pub type RawFd = libc::c_int;

pub fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

pub fn errno_str(e: i32) -> String {
    let s = std::io::Error::from_raw_os_error(e).to_string();
    // "No such file or directory (os error 2)" -> without the suffix.
    match s.rfind(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

pub fn close(fd: RawFd) {
    // SAFETY: closing an fd we own.
    unsafe { libc::close(fd) };
}

/// Closes the fd on drop unless taken.
pub struct FdGuard(pub RawFd);

impl FdGuard {
    pub fn take(self) -> RawFd {
        let fd = self.0;
        std::mem::forget(self);
        fd
    }
}

impl Drop for FdGuard {
    fn drop(&mut self) {
        close(self.0);
    }
}

fn set_cloexec(fd: RawFd, on: bool) -> bool {
    // SAFETY: fcntl on an fd number; fails with EBADF if closed.
    unsafe {
        let f = libc::fcntl(fd, libc::F_GETFD);
        if f < 0 {
            return false;
        }
        let nf = if on { f | libc::FD_CLOEXEC } else { f & !libc::FD_CLOEXEC };
        nf == f || libc::fcntl(fd, libc::F_SETFD, nf) == 0
    }
}

// ---- signals: a self-pipe, read in the main loop ----

static SIG_PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn write_signal_to_pipe(sig: libc::c_int) {
    let saved = errno();
    let b = sig as u8;
    let fd = SIG_PIPE.load(Ordering::Relaxed);
    // SAFETY: write is async-signal-safe; the pipe is non-blocking.
    unsafe { libc::write(fd, &b as *const u8 as *const libc::c_void, 1) };
    set_errno(saved);
}

fn set_errno(e: i32) {
    // SAFETY: writing this thread's errno.
    unsafe {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            *libc::__errno_location() = e;
        }
        #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
        {
            *libc::__error() = e;
        }
    }
}

const HANDLED: &[libc::c_int] = &[
    libc::SIGCHLD,
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGHUP,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
];

fn install_signals() -> Result<(RawFd, SigReset), String> {
    let mut p = [-1; 2];
    // SAFETY: p has room for two fds.
    if unsafe { libc::pipe(p.as_mut_ptr()) } < 0 {
        return Err(format!("pipe: {}", errno_str(errno())));
    }
    for fd in p {
        set_cloexec(fd, true);
        // SAFETY: valid fd.
        unsafe { libc::fcntl(fd, libc::F_SETFL, libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK) };
    }
    SIG_PIPE.store(p[1], Ordering::Relaxed);
    let mut reset = Vec::new();
    for &s in HANDLED.iter().chain([libc::SIGPIPE].iter()) {
        // SAFETY: zeroed sigaction is valid; handler is async-signal-safe.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = if s == libc::SIGPIPE { libc::SIG_IGN } else { write_signal_to_pipe as extern "C" fn(libc::c_int) as usize };
            sa.sa_flags = libc::SA_RESTART | if s == libc::SIGCHLD { libc::SA_NOCLDSTOP } else { 0 };
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(s, &sa, &mut old);
            // Rust's runtime ignores SIGPIPE before main(): what our parent
            // set is lost, so the child gets the default, as from a shell.
            reset.push((s, s != libc::SIGPIPE && old.sa_sigaction == libc::SIG_IGN));
        }
    }
    // Signals blocked by whoever started us would never reach the loop.
    // SAFETY: plain signal mask manipulation.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in HANDLED {
            libc::sigaddset(&mut set, s);
        }
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
    }
    Ok((p[0], SigReset { changed: reset, all: false }))
}

// ---- startup ----

/// Make sure 0, 1 and 2 are open, so no socket lands there.
fn ensure_stdio() {
    for fd in 0..3 {
        // SAFETY: F_GETFD probe and open of /dev/null.
        unsafe {
            if libc::fcntl(fd, libc::F_GETFD) < 0 {
                libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            }
        }
    }
}

/// Descriptors passed to us by a socket-activation manager (`LISTEN_PID`
/// is our pid and `LISTEN_FDS` a positive number): `3 .. 3+n`. The
/// variables are removed from our environment either way.
fn inherited_fds() -> usize {
    let pid = std::env::var("LISTEN_PID").ok();
    let n = std::env::var("LISTEN_FDS").ok();
    for v in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        std::env::remove_var(v);
    }
    // SAFETY: getpid cannot fail.
    let me = unsafe { libc::getpid() };
    match (pid.and_then(|p| p.trim().parse::<libc::pid_t>().ok()), n.and_then(|n| n.trim().parse::<usize>().ok())) {
        (Some(p), Some(n)) if p == me && n > 0 && n < 65536 => (0..n).filter(|&i| set_cloexec(3 + i as RawFd, true)).count(),
        _ => 0,
    }
}

/// Close every descriptor above 2 except `3 .. 3+keep` (what
/// systemd-socket-activate does before opening its sockets), so nothing the
/// launcher was given by accident reaches the command.
fn close_others(keep: usize) {
    let dir = if cfg!(any(target_os = "linux", target_os = "android")) { "/proc/self/fd" } else { "/dev/fd" };
    let keep_to = 3 + keep as RawFd;
    let fds: Vec<RawFd> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect(),
        Err(_) => {
            // SAFETY: getdtablesize cannot fail.
            let max = unsafe { libc::getdtablesize() }.min(65536);
            (3..max).collect()
        }
    };
    for fd in fds {
        if fd >= keep_to {
            close(fd);
        }
    }
}

// ---- supervision ----

/// Is `pid` a descendant of the launcher (its parent chain, read from
/// /proc, reaches us)? Orphans are re-parented to the launcher (subreaper),
/// so a daemon's helpers stay descendants.
fn is_descendant(pid: libc::pid_t) -> bool {
    // SAFETY: getpid cannot fail.
    let me = unsafe { libc::getpid() };
    let mut p = pid;
    for _ in 0..64 {
        let Ok(st) = std::fs::read_to_string(format!("/proc/{p}/stat")) else { return false };
        let Some(ppid) = st.rsplit_once(')').and_then(|(_, r)| r.split_whitespace().nth(1)).and_then(|x| x.parse::<libc::pid_t>().ok()) else {
            return false;
        };
        if ppid == me {
            return true;
        }
        if ppid <= 1 {
            return false;
        }
        p = ppid;
    }
    false
}

struct Child {
    pid: libc::pid_t,
    /// Being stopped (replaced, or the launcher is stopping).
    retiring: bool,
}

struct Stored {
    fd: RawFd,
    name: String,
    id: (u64, u64),
}

struct Supervisor {
    opts: Opts,
    path: std::ffi::CString,
    fds: Vec<RawFd>,
    sig: SigReset,
    sigfd: RawFd,
    notify: Option<notify::Notify>,
    store: Vec<Stored>,
    children: Vec<Child>,
    main: Option<libc::pid_t>,
    /// A replacement started by SIGHUP, waiting for READY=1, and when to give up.
    pending: Option<(libc::pid_t, Instant)>,
    started: bool,
    restart_at: Option<Instant>,
    stop_deadline: Option<Instant>,
    killed: bool,
    exit_code: Option<i32>,
}

fn status_code(st: libc::c_int) -> i32 {
    if libc::WIFEXITED(st) {
        libc::WEXITSTATUS(st)
    } else if libc::WIFSIGNALED(st) {
        128 + libc::WTERMSIG(st)
    } else {
        1
    }
}

fn signame(s: libc::c_int) -> String {
    match s {
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGINT => "SIGINT".into(),
        libc::SIGQUIT => "SIGQUIT".into(),
        libc::SIGHUP => "SIGHUP".into(),
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGUSR1 => "SIGUSR1".into(),
        libc::SIGUSR2 => "SIGUSR2".into(),
        libc::SIGWINCH => "SIGWINCH".into(),
        s => format!("signal {s}"),
    }
}

fn describe_status(st: libc::c_int) -> String {
    if libc::WIFEXITED(st) {
        format!("exited with status {}", libc::WEXITSTATUS(st))
    } else if libc::WIFSIGNALED(st) {
        format!("was killed by {}", signame(libc::WTERMSIG(st)))
    } else {
        "stopped".into()
    }
}

impl Supervisor {
    fn log(&self, msg: &str) {
        if !self.opts.quiet {
            eprintln!("sdfd-activate: {msg}");
        }
    }

    fn err(&self, msg: &str) {
        eprintln!("sdfd-activate: {msg}");
    }

    /// LISTEN_FDNAMES for a child given `n` listening fds (and the fd store
    /// in non-accept mode), as systemd-socket-activate forms it: one name is
    /// used for every fd; otherwise the names as given.
    fn fdnames(&self, n: usize, with_store: bool) -> Option<String> {
        let mut names = self.opts.fdnames.clone().map(|v| if v.len() == 1 { vec![v[0].clone(); n] } else { v });
        if with_store && !self.store.is_empty() {
            let mut l = names.unwrap_or_default();
            l.resize(n, "unknown".into());
            l.extend(self.store.iter().map(|s| s.name.clone()));
            names = Some(l);
        }
        names.map(|l| l.join(":"))
    }

    fn env(&self, n_fds: usize, names: Option<String>) -> Vec<EnvEntry> {
        let mut env: Vec<EnvEntry> = Vec::new();
        if self.opts.inherit_env {
            for (k, v) in std::env::vars_os() {
                let k = k.to_string_lossy();
                if !matches!(k.as_ref(), "LISTEN_PID" | "LISTEN_FDS" | "LISTEN_FDNAMES" | "NOTIFY_SOCKET") {
                    env.push(EnvEntry::Fixed(format!("{k}={}", v.to_string_lossy())));
                }
            }
        } else {
            for k in ["TERM", "PATH", "USER", "HOME"] {
                if let Some(v) = std::env::var_os(k) {
                    env.push(EnvEntry::Fixed(format!("{k}={}", v.to_string_lossy())));
                }
            }
        }
        if !self.opts.inetd {
            env.push(EnvEntry::Fixed(format!("LISTEN_FDS={n_fds}")));
            env.push(EnvEntry::ListenPid);
            if let Some(n) = names {
                env.push(EnvEntry::Fixed(format!("LISTEN_FDNAMES={n}")));
            }
        }
        if let Some(nt) = &self.notify {
            env.push(EnvEntry::Fixed(format!("NOTIFY_SOCKET={}", nt.address)));
        }
        for e in &self.opts.setenv {
            let name = e.split('=').next().unwrap_or("");
            match env.iter().position(|x| x.name() == name) {
                Some(i) => env[i] = EnvEntry::Fixed(e.clone()),
                None => env.push(EnvEntry::Fixed(e.clone())),
            }
        }
        env
    }

    /// Start the main child and make it current; on failure report it and
    /// return false (the caller exits 1).
    fn start_main_or_report(&mut self) -> bool {
        match self.start_main() {
            Ok(p) => {
                self.main = Some(p);
                true
            }
            Err(e) => {
                self.err(&e);
                false
            }
        }
    }

    /// Start the (non-accept) command with the listening fds and the store.
    fn start_main(&mut self) -> Result<libc::pid_t, String> {
        let mut fds = self.fds.clone();
        fds.extend(self.store.iter().map(|s| s.fd));
        let names = self.fdnames(self.fds.len(), true);
        let env = self.env(fds.len(), names);
        let pid = spawn::spawn(&self.path, &self.opts.command, &env, &fds, self.opts.inetd, &self.sig)?;
        self.log(&format!(
            "started {} as pid {pid} with {} fd(s){}",
            self.opts.command.join(" "),
            fds.len(),
            if self.store.is_empty() { String::new() } else { format!(" ({} from the fd store)", self.store.len()) }
        ));
        self.children.push(Child { pid, retiring: false });
        Ok(pid)
    }

    fn accept_on(&mut self, lfd: RawFd) {
        #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
        // SAFETY: valid listening fd; no address wanted.
        let c = unsafe { libc::accept4(lfd, std::ptr::null_mut(), std::ptr::null_mut(), libc::SOCK_CLOEXEC) };
        #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
        // SAFETY: as above.
        let c = unsafe {
            let c = libc::accept(lfd, std::ptr::null_mut(), std::ptr::null_mut());
            if c >= 0 {
                set_cloexec(c, true);
            }
            c
        };
        if c < 0 {
            let e = errno();
            if !matches!(e, libc::EAGAIN | libc::EINTR | libc::ECONNABORTED | libc::EPROTO) {
                self.err(&format!("accept on fd {lfd}: {}", errno_str(e)));
            }
            return;
        }
        let _g = FdGuard(c);
        let names = self.fdnames(1, false);
        let env = self.env(1, names);
        match spawn::spawn(&self.path, &self.opts.command, &env, &[c], self.opts.inetd, &self.sig) {
            Ok(pid) => {
                self.log(&format!("connection on fd {lfd} ({}): started pid {pid}", sock::describe(lfd)));
                self.children.push(Child { pid, retiring: false });
            }
            Err(e) => self.err(&e),
        }
    }

    fn kill(&self, pid: libc::pid_t, s: libc::c_int) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(pid, s) };
    }

    fn retire(&mut self, pid: libc::pid_t) {
        if let Some(c) = self.children.iter_mut().find(|c| c.pid == pid) {
            c.retiring = true;
        }
        self.log(&format!("stopping old pid {pid} (SIGTERM)"));
        self.kill(pid, libc::SIGTERM);
    }

    fn handle_signal(&mut self, s: libc::c_int) {
        match s {
            libc::SIGCHLD => self.reap(),
            libc::SIGTERM | libc::SIGINT | libc::SIGQUIT => {
                if self.children.is_empty() {
                    self.log(&format!("{}: exiting", signame(s)));
                    self.exit_code.get_or_insert(128 + s);
                    self.stop_deadline = Some(Instant::now());
                    return;
                }
                self.log(&format!("{}: passing it on to {} child(ren)", signame(s), self.children.len()));
                self.restart_at = None;
                if self.stop_deadline.is_none() {
                    self.stop_deadline = Some(Instant::now() + self.opts.stop_timeout);
                }
                for c in &mut self.children {
                    c.retiring = true;
                }
                for c in &self.children {
                    self.kill(c.pid, s);
                }
            }
            libc::SIGHUP => self.replace(),
            _ => {
                if let Some(m) = self.main {
                    self.kill(m, s);
                }
            }
        }
    }

    /// SIGHUP: start a new child with the same sockets, then stop the old one
    /// (at once, or when the new one has sent READY=1 with --wait-ready).
    fn replace(&mut self) {
        if self.stop_deadline.is_some() {
            return;
        }
        if self.opts.accept {
            self.log("SIGHUP: nothing to replace in --accept mode (every connection gets a new child)");
            return;
        }
        let Some(old) = self.main else {
            self.log("SIGHUP: no child running, nothing to replace");
            return;
        };
        if self.pending.is_some() {
            self.log("SIGHUP: a replacement is already waiting for READY=1");
            return;
        }
        self.log(&format!("SIGHUP: replacing pid {old}"));
        match self.start_main() {
            Ok(new) if self.opts.wait_ready => self.pending = Some((new, Instant::now() + self.opts.ready_timeout)),
            Ok(new) => {
                self.main = Some(new);
                self.retire(old);
            }
            Err(e) => self.err(&format!("replacement failed, keeping pid {old}: {e}")),
        }
    }

    fn reap(&mut self) {
        loop {
            let mut st = 0;
            // SAFETY: reaping any child, without blocking.
            let pid = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG) };
            if pid <= 0 {
                return;
            }
            let Some(i) = self.children.iter().position(|c| c.pid == pid) else {
                // An orphan re-parented to us (PID 1, or subreaper): reaped.
                continue;
            };
            let c = self.children.remove(i);
            if self.pending.map(|p| p.0) == Some(pid) {
                self.pending = None;
                self.err(&format!("replacement pid {pid} {} before READY=1; keeping the old one", describe_status(st)));
                continue;
            }
            if self.main != Some(pid) {
                // A replaced child, or a per-connection child.
                if !c.retiring && !self.opts.accept {
                    self.log(&format!("pid {pid} {}", describe_status(st)));
                }
                continue;
            }
            self.main = None;
            if self.stop_deadline.is_some() {
                self.exit_code = Some(status_code(st));
                continue;
            }
            if let Some((new, _)) = self.pending.take() {
                self.log(&format!("pid {pid} {}; its replacement {new} takes over", describe_status(st)));
                self.main = Some(new);
                continue;
            }
            if self.opts.restart {
                self.log(&format!("pid {pid} {}; restarting in {:?}", describe_status(st), self.opts.restart_delay));
                self.restart_at = Some(Instant::now() + self.opts.restart_delay);
                continue;
            }
            self.log(&format!("pid {pid} {}", describe_status(st)));
            self.exit_code = Some(status_code(st));
            for c in &self.children {
                self.kill(c.pid, libc::SIGTERM);
            }
            self.stop_deadline = Some(Instant::now());
            self.children.clear();
        }
    }

    /// May `pid` (the sender's, from its credentials) send notify messages,
    /// under `--notify-access`? `Err` says why not.
    fn notify_allowed(&self, pid: Option<libc::pid_t>) -> Result<(), &'static str> {
        let Some(pid) = pid else {
            // Credentials exist on Linux only; elsewhere the private
            // directory is the only gate.
            return if cfg!(any(target_os = "linux", target_os = "android")) { Err("no sender credentials") } else { Ok(()) };
        };
        let ours = |p: libc::pid_t| self.children.iter().any(|c| c.pid == p);
        match self.opts.notify_access {
            NotifyAccess::None => Err("--notify-access=none"),
            NotifyAccess::Main if self.main == Some(pid) || self.pending.map(|p| p.0) == Some(pid) => Ok(()),
            NotifyAccess::Main if self.opts.accept && ours(pid) => Ok(()),
            NotifyAccess::Main => Err("not the main child (--notify-access=main)"),
            NotifyAccess::Exec if ours(pid) => Ok(()),
            NotifyAccess::Exec => Err("not a child of the launcher (--notify-access=exec)"),
            NotifyAccess::All if ours(pid) || is_descendant(pid) => Ok(()),
            NotifyAccess::All => Err("not a descendant of the launcher (--notify-access=all)"),
        }
    }

    fn on_notify(&mut self, m: notify::Message) {
        if let Err(why) = self.notify_allowed(m.pid) {
            let first = m.text.lines().next().unwrap_or("");
            let from = m.pid.map_or("unknown".to_string(), |p| p.to_string());
            self.err(&format!(
                "notify message from pid {from} refused ({why}): {:?}{}{}",
                first,
                if m.text.lines().nth(1).is_some() { " ..." } else { "" },
                if m.fds.is_empty() { String::new() } else { format!(", {} fd(s) closed", m.fds.len()) }
            ));
            for fd in m.fds {
                close(fd);
            }
            return;
        }
        // The sender, or where the platform gives no credentials, the newest child.
        let who = m.pid.or_else(|| self.pending.map(|p| p.0)).or(self.main);
        let mut fds = m.fds;
        if notify::field(&m.text, "FDSTORE") == Some("1") && !fds.is_empty() {
            let name = notify::field(&m.text, "FDNAME").unwrap_or("stored").to_string();
            if self.opts.accept {
                self.log("FDSTORE=1 ignored in --accept mode");
            } else if !fdname_is_valid(&name) || name.is_empty() {
                self.err(&format!("FDSTORE=1 with an invalid FDNAME {:?}, ignored", name));
            } else {
                for fd in fds.drain(..) {
                    // SAFETY: zeroed stat is valid; fstat on a received fd.
                    let mut st: libc::stat = unsafe { std::mem::zeroed() };
                    // SAFETY: as above.
                    let id = if unsafe { libc::fstat(fd, &mut st) } == 0 { (st.st_dev as u64, st.st_ino as u64) } else { (0, 0) };
                    if self.store.iter().any(|s| s.id == id) {
                        close(fd);
                    } else if self.store.len() >= self.opts.fdstore_max {
                        self.err(&format!("fd store full ({} fds), fd named {name} dropped", self.opts.fdstore_max));
                        close(fd);
                    } else {
                        self.log(&format!("fd store: keeping fd named {name} (from pid {})", who.unwrap_or(0)));
                        self.store.push(Stored { fd, name: name.clone(), id });
                    }
                }
            }
        }
        if notify::field(&m.text, "FDSTOREREMOVE") == Some("1") {
            if let Some(name) = notify::field(&m.text, "FDNAME") {
                self.store.retain(|s| {
                    if s.name == name {
                        close(s.fd);
                        false
                    } else {
                        true
                    }
                });
            }
        }
        // Anything else (BARRIER=1's pipe, fds without FDSTORE=1) is closed.
        for fd in fds {
            close(fd);
        }
        if notify::field(&m.text, "READY") == Some("1") {
            if let (Some((new, _)), Some(w)) = (self.pending, who) {
                if new == w {
                    self.pending = None;
                    self.log(&format!("pid {new} is ready"));
                    if let Some(old) = self.main.replace(new) {
                        self.retire(old);
                    }
                    return;
                }
            }
            if let Some(w) = who {
                self.log(&format!("pid {w} is ready"));
            }
        }
        if let Some(s) = notify::field(&m.text, "STATUS") {
            self.log(&format!("status: {s}"));
        }
        if notify::field(&m.text, "STOPPING") == Some("1") {
            self.log(&format!("pid {} is stopping", who.unwrap_or(0)));
        }
    }

    fn run(&mut self) -> i32 {
        if self.opts.now && !self.opts.accept {
            self.started = true;
            if !self.start_main_or_report() {
                return 1;
            }
        }
        loop {
            let now = Instant::now();
            if let Some(d) = self.stop_deadline {
                if self.children.is_empty() {
                    return self.exit_code.unwrap_or(0);
                }
                if now >= d && !self.killed {
                    self.killed = true;
                    for c in &self.children {
                        self.err(&format!("pid {} still running after --stop-timeout: SIGKILL", c.pid));
                        self.kill(c.pid, libc::SIGKILL);
                    }
                }
            }
            if self.restart_at.is_some_and(|t| now >= t) {
                self.restart_at = None;
                if !self.start_main_or_report() {
                    return 1;
                }
            }
            if let Some((p, t)) = self.pending {
                if now >= t {
                    self.err(&format!("replacement pid {p} not ready after --ready-timeout; stopping it, keeping the old one"));
                    self.pending = None;
                    self.retire(p);
                }
            }
            let mut timeout: Option<Instant> = None;
            let mut consider = |t: Option<Instant>| {
                if let Some(t) = t {
                    timeout = Some(timeout.map_or(t, |x: Instant| x.min(t)));
                }
            };
            consider(self.restart_at);
            consider(self.pending.map(|p| p.1));
            consider(self.stop_deadline.filter(|_| !self.killed));
            let mut pfds = vec![libc::pollfd { fd: self.sigfd, events: libc::POLLIN, revents: 0 }];
            if let Some(n) = &self.notify {
                pfds.push(libc::pollfd { fd: n.fd, events: libc::POLLIN, revents: 0 });
            }
            let first_listen = pfds.len();
            let watch = self.stop_deadline.is_none() && (self.opts.accept || !self.started);
            if watch {
                for &fd in &self.fds {
                    pfds.push(libc::pollfd { fd, events: libc::POLLIN, revents: 0 });
                }
            }
            let ms = match timeout {
                None => -1,
                Some(t) => t.saturating_duration_since(Instant::now()).as_millis().min(i32::MAX as u128) as i32 + 1,
            };
            // SAFETY: pfds is a live array of pollfd.
            let r = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
            if r < 0 {
                if errno() == libc::EINTR {
                    continue;
                }
                self.err(&format!("poll: {}", errno_str(errno())));
                return 1;
            }
            if pfds[0].revents != 0 {
                let mut buf = [0u8; 64];
                loop {
                    // SAFETY: valid buffer; non-blocking pipe.
                    let n = unsafe { libc::read(self.sigfd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
                    if n <= 0 {
                        break;
                    }
                    for &s in &buf[..n as usize] {
                        self.handle_signal(s as libc::c_int);
                    }
                }
            }
            if self.notify.is_some() && pfds[1].revents != 0 {
                while let Some(m) = self.notify.as_ref().and_then(|n| n.recv()) {
                    self.on_notify(m);
                }
            }
            if watch && self.stop_deadline.is_none() {
                let ready: Vec<RawFd> = pfds[first_listen..].iter().filter(|p| p.revents != 0).map(|p| p.fd).collect();
                if !ready.is_empty() {
                    if self.opts.accept && self.opts.sock_type != libc::SOCK_DGRAM {
                        for fd in ready {
                            self.accept_on(fd);
                        }
                    } else if !self.started {
                        self.log(&format!("communication on fd {}: starting {}", ready[0], self.opts.command[0]));
                        self.started = true;
                        if !self.start_main_or_report() {
                            return 1;
                        }
                    }
                }
            }
        }
    }
}

pub fn run(opts: Opts) -> i32 {
    ensure_stdio();
    let inherited = inherited_fds();
    close_others(inherited);
    let mut fds: Vec<RawFd> = (0..inherited).map(|i| 3 + i as RawFd).collect();
    for a in &opts.listen {
        let addr = match crate::addr::parse(a) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("sdfd-activate: failed to parse address '{a}': {e}");
                return 2;
            }
        };
        match sock::listen(&addr, opts.sock_type) {
            Ok(fd) => fds.push(fd),
            Err(e) => {
                eprintln!("sdfd-activate: {e}");
                return 1;
            }
        }
    }
    if fds.is_empty() {
        eprintln!("sdfd-activate: no sockets to listen on specified or passed in (use -l ADDRESS)");
        return 2;
    }
    if opts.inetd && !opts.accept && fds.len() != 1 {
        eprintln!("sdfd-activate: --inetd without --accept passes exactly one socket (got {})", fds.len());
        return 2;
    }
    let path = match spawn::resolve(&opts.command[0]) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("sdfd-activate: {e}");
            return 1;
        }
    };
    if !opts.quiet {
        for &fd in &fds {
            eprintln!("sdfd-activate: listening on {} as fd {fd}", sock::describe(fd));
        }
    }
    if let Some(names) = &opts.fdnames {
        let n = if opts.accept { 1 } else { fds.len() };
        if names.len() != 1 && names.len() != n {
            eprintln!("sdfd-activate: warning: {} fd name(s) for {n} fd(s)", names.len());
        }
    }
    let (sigfd, sig) = match install_signals() {
        Ok((fd, mut sig)) => {
            sig.all = opts.accept;
            (fd, sig)
        }
        Err(e) => {
            eprintln!("sdfd-activate: {e}");
            return 1;
        }
    };
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: prctl with plain integer arguments.
    unsafe {
        if libc::getpid() != 1 {
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong);
        }
    }
    let notify = if opts.notify {
        match notify::Notify::open() {
            Ok(n) => Some(n),
            Err(e) => {
                eprintln!("sdfd-activate: {e}");
                return 1;
            }
        }
    } else {
        None
    };
    let mut s = Supervisor {
        opts,
        path,
        fds,
        sig,
        sigfd,
        notify,
        store: Vec::new(),
        children: Vec::new(),
        main: None,
        pending: None,
        started: false,
        restart_at: None,
        stop_deadline: None,
        killed: false,
        exit_code: None,
    };
    let code = s.run();
    drop(s.notify.take());
    code
}
