//! The Rust API: sockets by name as checked std types, the bind fallback,
//! the environment left alone by the safe functions and removed by the
//! `unsafe` ones. Each case runs in a forked child, so that its fds 3.. and
//! environment are its own.
#![cfg(all(unix, feature = "std"))]

use std::io::ErrorKind;
use std::net::{TcpListener, UdpSocket};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::{UnixDatagram, UnixListener};

fn in_child(f: fn() -> Result<(), String>) {
    // SAFETY: the child runs the case and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let code = match f() {
            Ok(()) => 0,
            Err(e) => {
                // (the test harness's output capture does not reach the real fd 2)
                let m = format!("{e}\n");
                // SAFETY: writes `m.len()` readable bytes to fd 2.
                unsafe { libc::write(2, m.as_ptr().cast(), m.len()) };
                1
            }
        };
        // SAFETY: _exit ends the forked child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    let mut st = 0;
    // SAFETY: `st` is a writable int.
    unsafe { libc::waitpid(pid, &mut st, 0) };
    assert!(libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0, "child failed, status {st}");
}

fn check(cond: bool, what: &str) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(format!("failed: {what}"))
    }
}

/// Put `fds` at 3, 4, ... and set LISTEN_* for this process.
fn activate(fds: Vec<OwnedFd>, names: &str) {
    for (i, fd) in fds.iter().enumerate() {
        let target = 3 + i as i32;
        // SAFETY: dup2 of the test's own descriptor onto a number the test owns.
        assert_eq!(unsafe { libc::dup2(fd.as_raw_fd(), target) }, target);
    }
    std::env::set_var("LISTEN_FDS", fds.len().to_string());
    std::env::set_var("LISTEN_PID", std::process::id().to_string());
    std::env::set_var("LISTEN_FDNAMES", names);
    // the originals are above the passed range and closed here
    drop(fds);
}

fn tcp() -> OwnedFd {
    TcpListener::bind("127.0.0.1:0").unwrap().into()
}

fn udp() -> OwnedFd {
    UdpSocket::bind("127.0.0.1:0").unwrap().into()
}

fn unix_stream(dir: &std::path::Path, n: &str) -> OwnedFd {
    UnixListener::bind(dir.join(n)).unwrap().into()
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("sdfd-api-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn typed_sockets_by_name() {
    in_child(|| {
        // Reserve 3..=7 first so that the test's own sockets land above.
        let reserve: Vec<OwnedFd> = (0..5).map(|_| std::fs::File::open("/dev/null").unwrap().into()).collect();
        let d = tempdir();
        let fds = vec![tcp(), udp(), unix_stream(&d, "s"), UnixDatagram::bind(d.join("d")).unwrap().into(), tcp()];
        drop(reserve);
        activate(fds, "web:dns:ctl:log:web2");
        let r = (|| {
            let web = sdfd::take_tcp_listener("web").map_err(|e| e.to_string())?;
            check(web.as_ref().map(|l| l.as_raw_fd()) == Some(3), "web is a TcpListener on fd 3")?;
            let e = sdfd::take_tcp_listener("web").unwrap_err();
            check(e.raw_os_error() == Some(libc::EALREADY), "a name is taken once")?;
            // wrong type: InvalidInput, and the name stays available
            let e = sdfd::take_tcp_listener("dns").unwrap_err();
            check(
                e.kind() == ErrorKind::InvalidInput && e.to_string().contains("not a listening TCP"),
                "dns is no TCP listener",
            )?;
            check(
                sdfd::take_unix_listener("dns").unwrap_err().kind() == ErrorKind::InvalidInput,
                "dns is no unix listener",
            )?;
            // (taken sockets are kept open: every lookup re-checks all passed
            // fds, as sd_listen_fds does, and a closed one is EBADF)
            let dns = sdfd::take_udp_socket("dns").unwrap();
            check(dns.as_ref().map(|s| s.as_raw_fd()) == Some(4), "dns as UdpSocket")?;
            let e = sdfd::take_udp_socket("ctl").map(|_| ());
            check(
                matches!(&e, Err(e) if e.kind() == ErrorKind::InvalidInput),
                &format!("ctl is no UDP socket: {e:?}"),
            )?;
            check(
                sdfd::take_unix_datagram("ctl").unwrap_err().kind() == ErrorKind::InvalidInput,
                "ctl is no datagram",
            )?;
            let ctl = sdfd::take_unix_listener("ctl").unwrap();
            check(ctl.as_ref().map(|s| s.as_raw_fd()) == Some(5), "ctl as UnixListener")?;
            let log = sdfd::take_unix_datagram("log").unwrap();
            check(log.as_ref().map(|s| s.as_raw_fd()) == Some(6), "log as UnixDatagram")?;
            let web2 = sdfd::take::<OwnedFd>("web2").unwrap();
            check(web2.as_ref().map(|s| s.as_raw_fd()) == Some(7), "web2 as OwnedFd")?;
            check(sdfd::take_tcp_listener("nothing").unwrap().is_none(), "unknown name is None")?;
            check(sdfd::take_tcp_listener("a\0b").unwrap_err().kind() == ErrorKind::InvalidInput, "NUL in name")?;
            // the safe path leaves the environment alone
            check(std::env::var("LISTEN_FDS").as_deref() == Ok("5"), "LISTEN_FDS kept")?;
            // the taken listener works
            let l = web.unwrap();
            let addr = l.local_addr().unwrap();
            std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
            check(l.accept().is_ok(), "accept on the taken listener")
        })();
        std::fs::remove_dir_all(&d).ok();
        r
    });
}

#[test]
fn several_sockets_under_one_name() {
    in_child(|| {
        let reserve: Vec<OwnedFd> = (0..3).map(|_| std::fs::File::open("/dev/null").unwrap().into()).collect();
        let fds = vec![tcp(), udp(), tcp()];
        drop(reserve);
        activate(fds, "web:dns:web");
        let e = sdfd::take_tcp_listener("web").unwrap_err();
        check(e.kind() == ErrorKind::InvalidInput && e.to_string().contains("take_all"), "take with two 'web'")?;
        let all: Vec<TcpListener> = sdfd::take_all("web").map_err(|e| e.to_string())?;
        let fds: Vec<i32> = all.iter().map(|l| l.as_raw_fd()).collect();
        check(fds == [3, 5], "take_all gives fds 3 and 5")
    });
}

#[test]
fn fallback_binds_when_not_activated() {
    in_child(|| {
        std::env::remove_var("LISTEN_FDS");
        std::env::remove_var("LISTEN_PID");
        let l = sdfd::tcp_listener_or_bind("web", "127.0.0.1:0").map_err(|e| e.to_string())?;
        check(l.local_addr().unwrap().ip().is_loopback(), "bound to loopback")?;
        let u = sdfd::udp_socket_or_bind("dns", "127.0.0.1:0").map_err(|e| e.to_string())?;
        check(u.local_addr().is_ok(), "udp bound")?;
        let d = tempdir();
        let r = sdfd::unix_listener_or_bind("ctl", d.join("ctl")).map(|_| ()).map_err(|e| e.to_string());
        std::fs::remove_dir_all(&d).ok();
        r?;
        // activated for another process: also the fallback
        std::env::set_var("LISTEN_FDS", "1");
        std::env::set_var("LISTEN_PID", "1");
        check(sdfd::take_tcp_listener("web").unwrap().is_none(), "foreign LISTEN_PID is not activated")
    });
}

#[test]
fn fallback_uses_the_activated_socket() {
    in_child(|| {
        let reserve = std::fs::File::open("/dev/null").unwrap();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(reserve);
        activate(vec![l.into()], "web");
        let got = sdfd::tcp_listener_or_bind("web", "127.0.0.1:1").map_err(|e| e.to_string())?;
        check(got.as_raw_fd() == 3 && got.local_addr().unwrap().port() == port, "activated socket used")
    });
}

#[test]
fn activation_errors_are_reported() {
    in_child(|| {
        std::env::set_var("LISTEN_PID", std::process::id().to_string());
        std::env::set_var("LISTEN_FDS", "x");
        let e = sdfd::take_tcp_listener("web").unwrap_err();
        check(e.raw_os_error() == Some(libc::EINVAL), "malformed LISTEN_FDS is EINVAL")?;
        check(sdfd::listen_fds() == Err(sdfd::Errno::EINVAL), "listen_fds too")
    });
}

#[test]
fn unset_env_variants_remove_the_variables() {
    in_child(|| {
        std::env::set_var("LISTEN_PID", std::process::id().to_string());
        std::env::set_var("LISTEN_FDS", "0");
        std::env::set_var("WATCHDOG_USEC", "5000000");
        std::env::set_var("WATCHDOG_PID", std::process::id().to_string());
        let r = sdfd::listen_fds();
        check(r == Err(sdfd::Errno::EINVAL), &format!("LISTEN_FDS=0 is EINVAL (libsystemd 252): {r:?}"))?;
        check(std::env::var_os("LISTEN_FDS").is_some(), "safe variant keeps LISTEN_FDS")?;
        std::env::set_var("LISTEN_FDS", "1");
        std::env::set_var("LISTEN_PID", "1");
        check(sdfd::listen_fds() == Ok(0), "foreign LISTEN_PID: 0")?;
        check(std::env::var_os("LISTEN_FDS").is_some(), "safe variant keeps LISTEN_FDS")?;
        check(sdfd::watchdog_enabled() == Ok(Some(std::time::Duration::from_secs(5))), "watchdog 5 s")?;
        // SAFETY: this child is single-threaded.
        check(unsafe { sdfd::listen_fds_and_unset_env() } == Ok(0), "unset listen_fds")?;
        check(std::env::var_os("LISTEN_FDS").is_none() && std::env::var_os("LISTEN_PID").is_none(), "LISTEN_* gone")?;
        // SAFETY: this child is single-threaded.
        check(unsafe { sdfd::watchdog_enabled_and_unset_env() }.is_ok(), "unset watchdog")?;
        check(std::env::var_os("WATCHDOG_USEC").is_none(), "WATCHDOG_USEC gone")
    });
}

#[test]
fn notify_sends_typed_states() {
    in_child(|| {
        let d = tempdir();
        let path = d.join("notify");
        let rx = UnixDatagram::bind(&path).unwrap();
        std::env::set_var("NOTIFY_SOCKET", &path);
        let r = (|| {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            use sdfd::NotifyState::*;
            use std::os::fd::AsFd;
            check(sdfd::notify(&[Ready, Status("up")]) == Ok(true), "notify sent")?;
            let mut buf = [0u8; 256];
            let n = rx.recv(&mut buf).unwrap();
            check(&buf[..n] == b"READY=1\nSTATUS=up", "datagram content")?;
            check(sdfd::notify_with_fds(&[FdStore { name: "web" }], &[l.as_fd()]) == Ok(true), "fdstore sent")?;
            let n = rx.recv(&mut buf).unwrap();
            check(&buf[..n] == b"FDSTORE=1\nFDNAME=web", "fdstore content")?;
            check(sdfd::notify(&[Status("a\nb")]) == Err(sdfd::Errno::EINVAL), "newline refused")?;
            // SAFETY: single-threaded child.
            check(unsafe { sdfd::notify_and_unset_env(&[Stopping]) } == Ok(true), "unset notify")?;
            check(std::env::var_os("NOTIFY_SOCKET").is_none(), "NOTIFY_SOCKET gone")?;
            check(sdfd::notify(&[Ready]) == Ok(false), "not supervised any more")
        })();
        std::fs::remove_dir_all(&d).ok();
        r
    });
}
