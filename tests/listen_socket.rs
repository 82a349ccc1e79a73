//! `listen_socket(i)` on Unix: `LISTEN_FDS_START + i` after the checks of
//! `listen_fds(false)`, `ENXIO` past the end or when not activated, and the
//! activation's own error otherwise. Runs in a forked child so that fds 3/4
//! and the environment are the child's alone.
#![cfg(unix)]

use sdfd::{listen_socket, Errno};

fn in_child(f: fn() -> bool) -> bool {
    // SAFETY: the child only calls async-signal-tolerant code of this
    // single-threaded test binary's own and exits with _exit.
    unsafe {
        match libc::fork() {
            0 => libc::_exit(if f() { 0 } else { 1 }),
            pid if pid > 0 => {
                let mut st = 0;
                libc::waitpid(pid, &mut st, 0);
                libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0
            }
            _ => false,
        }
    }
}

#[test]
fn index_maps_to_fd_and_checks() {
    // SAFETY: the closure runs in a forked, single-threaded child.
    assert!(in_child(|| unsafe {
        for fd in [3, 4] {
            let s = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
            if s < 0 || (s != fd && libc::dup2(s, fd) != fd) {
                return false;
            }
        }
        std::env::remove_var("LISTEN_FDNAMES");
        std::env::set_var("LISTEN_FDS", "2");
        std::env::set_var("LISTEN_PID", libc::getpid().to_string());
        let ok = listen_socket(0) == Ok(3)
            && listen_socket(1) == Ok(4)
            && listen_socket(2) == Err(Errno::ENXIO)
            && listen_socket(usize::MAX) == Err(Errno::ENXIO)
            && std::env::var("LISTEN_FDS").is_ok(); // never unsets
        std::env::set_var("LISTEN_FDS", "x");
        let bad = listen_socket(0) == Err(Errno::EINVAL);
        std::env::set_var("LISTEN_PID", "1");
        let other = listen_socket(0) == Err(Errno::ENXIO);
        std::env::remove_var("LISTEN_PID");
        let none = listen_socket(0) == Err(Errno::ENXIO);
        ok && bad && other && none
    }));
}
