//! Start-up: make sure 0-2 are open, take inherited descriptors
//! (`sd_listen_fds`), close strays, open the `-l` sockets, install the
//! signal handlers, then hand over to the supervisor.

use super::signals::install_signals;
use super::spawn::{self, Spawner};
use super::supervise::Supervisor;
use super::{close, errno_str, notify, sock, RawFd};
use crate::opts::Opts;

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

/// Descriptors passed to us by a socket-activation manager: exactly
/// `sd_listen_fds(true)` (the library's): `LISTEN_PID` must be our pid,
/// `LISTEN_FDS` is read in systemd's number syntax, the fds get
/// `FD_CLOEXEC`, and the variables are removed on every path. A malformed
/// value is an error, as in systemd-socket-activate.
fn inherited_fds() -> Result<usize, String> {
    // SAFETY: the launcher is single-threaded; nothing else reads the
    // environment meanwhile.
    let r = unsafe { sdfd::listen_fds_and_unset_env() };
    r.map_err(|e| format!("failed to read listening file descriptors from environment: {}", errno_str(e.0)))
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
            // (sysconf rather than getdtablesize, which bionic lacks)
            // SAFETY: sysconf takes a plain number; -1 (no limit known) gives none.
            let max = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) }.min(65536) as RawFd;
            (3..max).collect()
        }
    };
    for fd in fds {
        if fd >= keep_to {
            close(fd);
        }
    }
}

pub fn run(opts: Opts) -> i32 {
    ensure_stdio();
    let inherited = match inherited_fds() {
        Ok(n) => n,
        Err(e) => {
            crate::say!("{e}");
            return 1;
        }
    };
    // As systemd-socket-activate: only when it opens sockets of its own.
    if !opts.listen.is_empty() {
        close_others(inherited);
    }
    let mut fds: Vec<RawFd> = (0..inherited).map(|i| 3 + i as RawFd).collect();
    for raw in &opts.listen {
        let a = String::from_utf8_lossy(raw);
        let addr = match sdfd::SocketAddress::parse(raw) {
            Ok(x) => x,
            Err(e) => {
                crate::say!("failed to parse address '{a}': {e}");
                return 2;
            }
        };
        match sock::listen(&addr, &a, opts.sock_type) {
            Ok(fd) => fds.push(fd),
            Err(e) => {
                crate::say!("{e}");
                return 1;
            }
        }
    }
    if fds.is_empty() {
        crate::say!("no sockets to listen on specified or passed in (use -l ADDRESS)");
        return 2;
    }
    if opts.inetd && !opts.accept && fds.len() != 1 {
        crate::say!("--inetd without --accept passes exactly one socket (got {})", fds.len());
        return 2;
    }
    let path = match spawn::resolve(&opts.command[0]) {
        Ok(p) => p,
        Err(e) => {
            crate::say!("{e}");
            return 1;
        }
    };
    if !opts.quiet {
        for &fd in &fds {
            crate::say!("listening on {} as fd {fd}", sock::describe(fd));
        }
    }
    if let Some(names) = &opts.fdnames {
        let n = if opts.accept { 1 } else { fds.len() };
        if names.len() != 1 && names.len() != n {
            crate::say!("warning: {} fd name(s) for {n} fd(s)", names.len());
        }
    }
    let (sigfd, sig) = match install_signals() {
        Ok((fd, mut sig)) => {
            sig.all = opts.accept;
            (fd, sig)
        }
        Err(e) => {
            crate::say!("{e}");
            return 1;
        }
    };
    let spawner = match Spawner::new(path, &opts.command, sig) {
        // Never freed: per-connection children read it (spawn.rs, `Slot`).
        Ok(s) => Box::leak(Box::new(s)),
        Err(e) => {
            crate::say!("{e}");
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
                crate::say!("{e}");
                return 1;
            }
        }
    } else {
        None
    };
    // The notify directory is removed when the supervisor is dropped.
    Supervisor::new(opts, spawner, fds, sigfd, notify).run()
}
