//! Signals: the handled ones write their number to a non-blocking
//! self-pipe, which the main loop reads; what the launcher changed is
//! recorded so that children get the dispositions back.

use super::spawn::SigReset;
use super::{errno, errno_str, set_cloexec, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};

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
        #[cfg(target_os = "linux")]
        {
            *libc::__errno_location() = e;
        }
        #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
        {
            *libc::__error() = e;
        }
        #[cfg(any(target_os = "netbsd", target_os = "openbsd", target_os = "android"))]
        {
            *libc::__errno() = e;
        }
        #[cfg(any(target_os = "illumos", target_os = "solaris"))]
        {
            *libc::___errno() = e;
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

pub fn install_signals() -> Result<(RawFd, SigReset), String> {
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
            sa.sa_sigaction = if s == libc::SIGPIPE {
                libc::SIG_IGN
            } else {
                write_signal_to_pipe as extern "C" fn(libc::c_int) as usize
            };
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
    // Signals ignored now (inherited SIG_IGN, or SIGPIPE): the only other
    // dispositions that survive exec, which `--accept` children get reset.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let nsig = 65;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let nsig = 32;
    let ignored = (1..nsig)
        .filter(|&s| {
            // SAFETY: querying a disposition into a zeroed sigaction.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                libc::sigaction(s, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
            }
        })
        .collect();
    Ok((p[0], SigReset { changed: reset, ignored, all: false }))
}

pub fn signame(s: libc::c_int) -> String {
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
