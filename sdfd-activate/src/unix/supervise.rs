//! Supervision: the children (main, replacement waiting for READY=1,
//! retiring, per-connection), SIGHUP replacement, restarts, stopping with
//! SIGKILL after `--stop-timeout`, notify messages and the fd store, and
//! the main loop.

use super::signals::signame;
use super::spawn::{Env, EnvEntry, Spawner};
use super::{close, errno, errno_str, notify, sock, FdGuard, RawFd};
use crate::opts::{fdname_is_valid, NotifyAccess, Opts};
use std::time::{Duration, Instant};

/// `--accept` after `accept()` failed for want of a resource (descriptors,
/// memory): the listening sockets are not polled for a while, first
/// `ACCEPT_PAUSE_MIN`, doubling up to `ACCEPT_PAUSE_MAX` while it goes on.
const ACCEPT_PAUSE_MIN: Duration = Duration::from_millis(10);
const ACCEPT_PAUSE_MAX: Duration = Duration::from_secs(1);

/// What an `accept()` error means for the listening socket.
enum AcceptError {
    /// Nothing (more) to accept now.
    Drained,
    /// This one connection failed (aborted, or a network error Linux
    /// reports on accept): take the next.
    Connection,
    /// Out of descriptors or memory: pause (`ACCEPT_PAUSE_*`), then retry.
    Resource,
    /// The socket itself cannot accept (EBADF, EINVAL, ENOTSOCK ...).
    Fatal,
}

fn accept_error(e: i32) -> AcceptError {
    match e {
        libc::EAGAIN => AcceptError::Drained,
        #[allow(unreachable_patterns)] // EWOULDBLOCK is EAGAIN on Linux
        libc::EWOULDBLOCK => AcceptError::Drained,
        libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM => AcceptError::Resource,
        // accept(2): "Linux accept() passes already-pending network errors
        // on the new socket as an error code"; EPERM: firewall rules.
        libc::EINTR
        | libc::ECONNABORTED
        | libc::EPROTO
        | libc::ECONNRESET
        | libc::ENETDOWN
        | libc::ENOPROTOOPT
        | libc::EHOSTDOWN
        | libc::EHOSTUNREACH
        | libc::EOPNOTSUPP
        | libc::ENETUNREACH
        | libc::ETIMEDOUT
        | libc::EPERM => AcceptError::Connection,
        #[cfg(any(target_os = "linux", target_os = "android"))]
        libc::ENONET => AcceptError::Connection,
        _ => AcceptError::Fatal,
    }
}

/// A run of resource errors on `accept()` (one log line when it starts,
/// one when it ends).
struct AcceptPause {
    until: Instant,
    delay: Duration,
    since: Instant,
    failures: u64,
}

/// Is `pid` a descendant of the launcher (its parent chain, read from
/// /proc, reaches us)? Orphans are re-parented to the launcher (subreaper),
/// so a daemon's helpers stay descendants.
fn is_descendant(pid: libc::pid_t) -> bool {
    // SAFETY: getpid cannot fail.
    let me = unsafe { libc::getpid() };
    let mut p = pid;
    for _ in 0..64 {
        let Ok(st) = std::fs::read_to_string(format!("/proc/{p}/stat")) else { return false };
        let Some(ppid) = st
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().nth(1))
            .and_then(|x| x.parse::<libc::pid_t>().ok())
        else {
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
    /// When it gets SIGKILL if still running (`--stop-timeout` after the
    /// first signal that stops it), and whether it has.
    kill_at: Option<Instant>,
    killed: bool,
}

impl Child {
    fn new(pid: libc::pid_t) -> Child {
        Child { pid, retiring: false, kill_at: None, killed: false }
    }
}

struct Stored {
    fd: RawFd,
    name: String,
    id: (u64, u64),
}

pub struct Supervisor {
    opts: Opts,
    /// Kept for the life of the process: per-connection children may be
    /// reading it after their start has returned (see spawn.rs, `Slot`).
    spawner: &'static mut Spawner,
    fds: Vec<RawFd>,
    /// What each of `fds` is bound to, for log lines.
    descs: Vec<String>,
    sigfd: RawFd,
    notify: Option<notify::Notify>,
    store: Vec<Stored>,
    children: Vec<Child>,
    main: Option<libc::pid_t>,
    /// A replacement started by SIGHUP, waiting for READY=1, and when to give up.
    pending: Option<(libc::pid_t, Instant)>,
    started: bool,
    restart_at: Option<Instant>,
    /// The launcher is stopping: it exits once no child is left.
    stopping: bool,
    /// `--accept`: accept() is failing for want of a resource.
    accept_pause: Option<AcceptPause>,
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
    pub fn new(
        opts: Opts,
        spawner: &'static mut Spawner,
        fds: Vec<RawFd>,
        sigfd: RawFd,
        notify: Option<notify::Notify>,
    ) -> Supervisor {
        if opts.accept {
            for &fd in &fds {
                // SAFETY: fcntl on our listening fd; accept_on reads until EAGAIN.
                unsafe { libc::fcntl(fd, libc::F_SETFL, libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK) };
            }
        }
        Supervisor {
            descs: fds.iter().map(|&fd| sock::describe(fd)).collect(),
            opts,
            spawner,
            fds,
            sigfd,
            notify,
            store: Vec::new(),
            children: Vec::new(),
            main: None,
            pending: None,
            started: false,
            restart_at: None,
            stopping: false,
            accept_pause: None,
            exit_code: None,
        }
    }

    fn log(&self, msg: &str) {
        if !self.opts.quiet {
            crate::say!("{msg}");
        }
    }

    fn err(&self, msg: &str) {
        crate::say!("{msg}");
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

    /// The child's environment (bytes, passed through unchanged).
    fn env(&self, n_fds: usize, names: Option<String>) -> Vec<EnvEntry> {
        let entry = |k: &[u8], v: &[u8]| EnvEntry::Fixed([k, b"=", v].concat());
        let mut env: Vec<EnvEntry> = Vec::new();
        if self.opts.inherit_env {
            // Everything but the activation state handed to the launcher
            // itself (LISTEN_*, LISTEN_PIDFDID, NOTIFY_SOCKET, WATCHDOG_*).
            for (k, v) in std::env::vars_os() {
                let e = [k.as_encoded_bytes(), b"=", v.as_encoded_bytes()].concat();
                if !sdfd::is_activation_var(&e) {
                    env.push(EnvEntry::Fixed(e));
                }
            }
        } else {
            for k in ["TERM", "PATH", "USER", "HOME"] {
                if let Some(v) = std::env::var_os(k) {
                    env.push(entry(k.as_bytes(), v.as_encoded_bytes()));
                }
            }
        }
        if !self.opts.inetd {
            env.push(entry(b"LISTEN_FDS", n_fds.to_string().as_bytes()));
            env.push(EnvEntry::ListenPid);
            if let Some(n) = names {
                env.push(entry(b"LISTEN_FDNAMES", n.as_bytes()));
            }
        }
        if let Some(nt) = &self.notify {
            env.push(entry(b"NOTIFY_SOCKET", nt.address.as_bytes()));
        }
        for e in &self.opts.setenv {
            let name = e.split(|&b| b == b'=').next().unwrap_or(b"");
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
        let pid = self.spawner.spawn(&env, &fds, self.opts.inetd)?;
        self.log(&format!(
            "started {} as pid {pid} with {} fd(s){}",
            self.opts.command.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" "),
            fds.len(),
            if self.store.is_empty() { String::new() } else { format!(" ({} from the fd store)", self.store.len()) }
        ));
        self.children.push(Child::new(pid));
        Ok(pid)
    }

    /// `--accept`: start a child for each pending connection on `lfd` (a
    /// few per wake-up; the listening socket is non-blocking in this mode).
    fn accept_on(&mut self, lfd: RawFd) {
        // Per-connection errors in a row: as many as one wake-up's tries
        // means they are not per connection after all (a seccomp filter's
        // EPERM ...): pause as for a resource error rather than spin.
        let mut failed = 0;
        for _ in 0..16 {
            #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
            // SAFETY: valid listening fd; no address wanted.
            let c = unsafe { libc::accept4(lfd, std::ptr::null_mut(), std::ptr::null_mut(), libc::SOCK_CLOEXEC) };
            #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
            // SAFETY: as above.
            let c = unsafe {
                let c = libc::accept(lfd, std::ptr::null_mut(), std::ptr::null_mut());
                if c >= 0 {
                    super::set_cloexec(c, true);
                    // Blocking, as accept4 without SOCK_NONBLOCK gives it.
                    libc::fcntl(c, libc::F_SETFL, libc::fcntl(c, libc::F_GETFL) & !libc::O_NONBLOCK);
                }
                c
            };
            if c < 0 {
                let e = errno();
                match accept_error(e) {
                    AcceptError::Drained => return,
                    AcceptError::Connection => {
                        failed += 1;
                        if failed == 16 {
                            return self.pause_accepting(lfd, e);
                        }
                        continue;
                    }
                    AcceptError::Resource => return self.pause_accepting(lfd, e),
                    AcceptError::Fatal => {
                        // As systemd-socket-activate, which exits 1; the
                        // children are stopped first.
                        self.err(&format!(
                            "accept on fd {lfd}: {}: the socket cannot accept connections; stopping",
                            errno_str(e)
                        ));
                        self.exit_code.get_or_insert(1);
                        return self.stop_all(libc::SIGTERM);
                    }
                }
            }
            if let Some(p) = self.accept_pause.take() {
                self.err(&format!(
                    "accept on fd {lfd} works again, after {} failed tries in {:.1}s",
                    p.failures,
                    p.since.elapsed().as_secs_f64()
                ));
            }
            let _g = FdGuard(c);
            if !self.spawner.has_conn_env() {
                let names = self.fdnames(1, false);
                match Env::new(&self.env(1, names)) {
                    Ok(e) => self.spawner.set_conn_env(e),
                    Err(e) => return self.err(&e),
                }
            }
            match self.spawner.spawn_conn(c, self.opts.inetd) {
                Ok(pid) => {
                    if !self.opts.quiet {
                        let at = self
                            .fds
                            .iter()
                            .position(|&f| f == lfd)
                            .and_then(|i| self.descs.get(i))
                            .map_or("?", |d| d.as_str());
                        self.log(&format!("connection on fd {lfd} ({at}): started pid {pid}"));
                    }
                    self.children.push(Child::new(pid));
                }
                Err(e) => self.err(&e),
            }
        }
    }

    /// `accept()` failed with `e`, a resource error: stop polling the
    /// listening sockets for a while (growing while it lasts), so that the
    /// launcher neither spins nor floods its log; the connections wait in
    /// the backlog and are served when the resource is back. Logged once
    /// per run of failures.
    fn pause_accepting(&mut self, lfd: RawFd, e: i32) {
        let now = Instant::now();
        match &mut self.accept_pause {
            Some(p) => {
                p.failures += 1;
                p.delay = (p.delay * 2).min(ACCEPT_PAUSE_MAX);
                p.until = now + p.delay;
            }
            None => {
                self.err(&format!(
                    "accept on fd {lfd}: {}: connections wait in the backlog; retrying in {:?}, up to every {:?}",
                    errno_str(e),
                    ACCEPT_PAUSE_MIN,
                    ACCEPT_PAUSE_MAX
                ));
                self.accept_pause = Some(AcceptPause {
                    until: now + ACCEPT_PAUSE_MIN,
                    delay: ACCEPT_PAUSE_MIN,
                    since: now,
                    failures: 1,
                });
            }
        }
    }

    fn kill(&self, pid: libc::pid_t, s: libc::c_int) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(pid, s) };
    }

    /// Send `s` to child `pid` to stop it: it is retiring from now on and
    /// gets SIGKILL if still running `--stop-timeout` after the first such signal.
    fn stop_child(&mut self, pid: libc::pid_t, s: libc::c_int) {
        let deadline = Instant::now() + self.opts.stop_timeout;
        if let Some(c) = self.children.iter_mut().find(|c| c.pid == pid) {
            c.retiring = true;
            c.kill_at.get_or_insert(deadline);
        }
        self.kill(pid, s);
    }

    /// Stop every child with `s`; the launcher exits when they are gone.
    fn stop_all(&mut self, s: libc::c_int) {
        self.stopping = true;
        self.restart_at = None;
        let pids: Vec<libc::pid_t> = self.children.iter().map(|c| c.pid).collect();
        for pid in pids {
            self.stop_child(pid, s);
        }
    }

    fn retire(&mut self, pid: libc::pid_t) {
        self.log(&format!("stopping old pid {pid} (SIGTERM)"));
        self.stop_child(pid, libc::SIGTERM);
    }

    fn handle_signal(&mut self, s: libc::c_int) {
        match s {
            libc::SIGCHLD => self.reap(),
            libc::SIGTERM | libc::SIGINT | libc::SIGQUIT => {
                if self.children.is_empty() {
                    self.log(&format!("{}: exiting", signame(s)));
                    self.exit_code.get_or_insert(128 + s);
                } else {
                    self.log(&format!("{}: passing it on to {} child(ren)", signame(s), self.children.len()));
                }
                self.stop_all(s);
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
        if self.stopping {
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
            if self.opts.accept {
                // A per-connection child that could not execute the command
                // (told here: the launcher did not wait for its exec).
                if let Some(e) = self.spawner.conn_failed(pid) {
                    self.err(&e);
                }
            }
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
            if self.stopping {
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
            // Children still retiring are waited for (and SIGKILLed after
            // --stop-timeout), never left behind.
            self.stop_all(libc::SIGTERM);
        }
    }

    /// May `pid` (the sender's, from its credentials) send notify messages,
    /// under `--notify-access`? `Err` says why not.
    fn notify_allowed(&self, pid: Option<libc::pid_t>) -> Result<(), &'static str> {
        let Some(pid) = pid else {
            // Credentials exist on Linux only; elsewhere the private
            // directory is the only gate.
            return if cfg!(any(target_os = "linux", target_os = "android")) {
                Err("no sender credentials")
            } else {
                Ok(())
            };
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
                let mut full = 0;
                for fd in fds.drain(..) {
                    // SAFETY: zeroed stat is valid; fstat on a received fd.
                    let mut st: libc::stat = unsafe { std::mem::zeroed() };
                    // SAFETY: as above.
                    let id = if unsafe { libc::fstat(fd, &mut st) } == 0 {
                        (st.st_dev as u64, st.st_ino as u64)
                    } else {
                        (0, 0)
                    };
                    if self.store.iter().any(|s| s.id == id) {
                        close(fd);
                    } else if self.store.len() >= self.opts.fdstore_max {
                        full += 1;
                        close(fd);
                    } else {
                        self.log(&format!("fd store: keeping fd named {name} (from pid {})", who.unwrap_or(0)));
                        self.store.push(Stored { fd, name: name.clone(), id });
                    }
                }
                // One line per message, however many fds it carried.
                if full > 0 {
                    self.err(&format!(
                        "fd store full ({} fds): {full} fd(s) named {name} dropped",
                        self.opts.fdstore_max
                    ));
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

    pub fn run(&mut self) -> i32 {
        if self.opts.now && !self.opts.accept {
            self.started = true;
            if !self.start_main_or_report() {
                return 1;
            }
        }
        loop {
            let now = Instant::now();
            if self.stopping && self.children.is_empty() {
                return self.exit_code.unwrap_or(0);
            }
            for i in 0..self.children.len() {
                let c = &self.children[i];
                if !c.killed && c.kill_at.is_some_and(|t| now >= t) {
                    let pid = c.pid;
                    self.children[i].killed = true;
                    self.err(&format!("pid {pid} still running after --stop-timeout: SIGKILL"));
                    self.kill(pid, libc::SIGKILL);
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
                    self.err(&format!(
                        "replacement pid {p} not ready after --ready-timeout; stopping it, keeping the old one"
                    ));
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
            let paused = self.accept_pause.as_ref().is_some_and(|p| now < p.until);
            if paused {
                consider(self.accept_pause.as_ref().map(|p| p.until));
            }
            consider(self.pending.map(|p| p.1));
            for c in self.children.iter().filter(|c| !c.killed) {
                consider(c.kill_at);
            }
            let mut pfds = vec![libc::pollfd { fd: self.sigfd, events: libc::POLLIN, revents: 0 }];
            if let Some(n) = &self.notify {
                pfds.push(libc::pollfd { fd: n.fd, events: libc::POLLIN, revents: 0 });
            }
            let first_listen = pfds.len();
            let watch = !self.stopping && if self.opts.accept { !paused } else { !self.started };
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
            // Notify messages before signals, as systemd orders them: a
            // child's last message (FDSTORE=1, then exit) is queued before its
            // SIGCHLD, and must be judged while it is still the main child.
            if self.notify.is_some() && (pfds[1].revents != 0 || pfds[0].revents != 0) {
                while let Some(m) = self.notify.as_ref().and_then(|n| n.recv()) {
                    match m {
                        Ok(m) => self.on_notify(m),
                        Err(d) => self.err(&format!(
                            "notify message from pid {} ignored ({}): {} bytes{}",
                            d.pid.map_or("unknown".to_string(), |p| p.to_string()),
                            d.why,
                            d.size,
                            if d.fds == 0 { String::new() } else { format!(", {} fd(s) closed", d.fds) }
                        )),
                    }
                }
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
            if watch && !self.stopping {
                let ready: Vec<RawFd> = pfds[first_listen..].iter().filter(|p| p.revents != 0).map(|p| p.fd).collect();
                if !ready.is_empty() {
                    if self.opts.accept && self.opts.sock_type != libc::SOCK_DGRAM {
                        for fd in ready {
                            if self.stopping || self.accept_pause.as_ref().is_some_and(|p| Instant::now() < p.until) {
                                break;
                            }
                            self.accept_on(fd);
                        }
                    } else if !self.started {
                        self.log(&format!(
                            "communication on fd {}: starting {}",
                            ready[0],
                            self.opts.command[0].to_string_lossy()
                        ));
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
