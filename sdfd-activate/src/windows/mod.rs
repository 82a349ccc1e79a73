//! The launcher on Windows: the same options as on Unix where Windows has
//! the thing they name, with the sockets handed over by the systemfd
//! protocol instead of inherited descriptors. One module per concern:
//! `server` (the protocol server the child connects to), `job` (starting
//! the command inside a job object that dies with the launcher), `console`
//! (Ctrl-C, Ctrl-Break, console close).
//!
//! The child gets `SYSTEMFD_SOCKET_SERVER` and `SYSTEMFD_SOCKET_SECRET` (what
//! systemfd sets, so the listenfd crate works unchanged) and, with
//! `--fdname`, `LISTEN_FDNAMES` (the names, in `-l` order, read by sdfd's
//! Windows backend for `sd_listen_fds_with_names` and `sdfd_activate_socket`).

mod console;
mod job;
mod server;

use crate::opts::{Opts, SOCK_DGRAM, SOCK_SEQPACKET};
use socket2::{Domain, SockAddr, Socket, Type};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::os::windows::io::AsRawSocket;
use std::time::Duration;
use windows_sys::Win32::Networking::WinSock as ws;

/// Exit status of a usage error.
const USAGE: i32 = 2;

/// An option or address Windows cannot honour: the message for exit 2.
fn unsupported(o: &Opts) -> Option<String> {
    let why = |what: &str, reason: &str| Some(format!("{what} is not supported on Windows ({reason})"));
    if o.accept {
        return why("--accept", "a connection cannot be handed to a child as its standard input and output");
    }
    if o.inetd {
        return why("--inetd", "a socket cannot be a child's standard input and output");
    }
    if o.sock_type == SOCK_SEQPACKET {
        return why("--seqpacket", "Winsock has no SOCK_SEQPACKET for IP");
    }
    if o.notify || o.wait_ready {
        return why("--notify", "sd_notify needs a unix datagram socket; --wait-ready needs --notify");
    }
    for a in &o.listen {
        match a.first() {
            Some(b'/') | Some(b'@') => {
                return why(
                    &format!("-l {}", String::from_utf8_lossy(a)),
                    "unix sockets cannot be passed by the systemfd protocol; use PORT, IPV4:PORT or [IPV6]:PORT",
                );
            }
            _ => {}
        }
    }
    None
}

/// An `-l` address as systemd-socket-activate reads an IP one: `PORT`
/// (1-65535, the wildcard address), `A.B.C.D:PORT` or `[IPV6]:PORT`
/// (`[IPV6%SCOPE]:PORT` with a numeric scope).
enum Address {
    Port(u16),
    Ip(SocketAddr),
}

fn parse_address(a: &[u8]) -> Result<Address, String> {
    let s = std::str::from_utf8(a).map_err(|_| "not an address".to_string())?;
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return match s.parse::<u16>() {
            Ok(p) if p > 0 => Ok(Address::Port(p)),
            _ => Err("port out of range".into()),
        };
    }
    match s.parse::<SocketAddr>() {
        Ok(sa) if sa.port() > 0 => Ok(Address::Ip(sa)),
        Ok(_) => Err("port out of range".into()),
        Err(_) => Err("not PORT, IPV4:PORT or [IPV6]:PORT".into()),
    }
}

fn ipv6_supported() -> bool {
    Socket::new(Domain::IPV6, Type::DGRAM, None).is_ok()
}

/// Open, bind and (for stream sockets) listen on `a`. A bare port is the
/// IPv6 wildcard accepting IPv4 too (as on Linux), or IPv4's without IPv6.
/// No `SO_REUSEADDR`: on Windows it would let another program bind the same
/// port; Windows itself allows rebinding a port in TIME_WAIT.
fn listen(a: &Address, shown: &str, ty: i32) -> Result<Socket, String> {
    let fail = |what: &str, e: &std::io::Error| format!("failed to {what} {shown}: {e}");
    let (sa, dual): (SockAddr, bool) = match *a {
        Address::Port(p) if ipv6_supported() => (SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, p, 0, 0).into(), true),
        Address::Port(p) => (SocketAddr::from((Ipv4Addr::UNSPECIFIED, p)).into(), false),
        Address::Ip(sa) => (sa.into(), false),
    };
    let s = Socket::new(sa.domain(), Type::from(ty), None).map_err(|e| fail("create a socket for", &e))?;
    if dual {
        s.set_only_v6(false).map_err(|e| fail("accept IPv4 on", &e))?;
    }
    s.bind(&sa).map_err(|e| fail("bind", &e))?;
    if ty != SOCK_DGRAM {
        s.listen(i32::MAX).map_err(|e| fail("listen on", &e))?;
    }
    Ok(s)
}

/// The names for `n` sockets as systemd-socket-activate forms them: one
/// name is used for every socket; otherwise the names as given.
fn fdnames(o: &Opts, n: usize) -> Option<String> {
    o.fdnames.clone().map(|v| if v.len() == 1 { vec![v[0].clone(); n] } else { v }).map(|l| l.join(":"))
}

/// Wait until one of the sockets is readable (a connection or a datagram
/// is waiting): true, or false if a stop was requested first.
fn wait_first_use(socks: &[Socket]) -> Result<bool, String> {
    let mut fds: Vec<ws::WSAPOLLFD> = socks
        .iter()
        .map(|s| ws::WSAPOLLFD { fd: s.as_raw_socket() as ws::SOCKET, events: ws::POLLRDNORM, revents: 0 })
        .collect();
    loop {
        if console::stop_requested() {
            return Ok(false);
        }
        // SAFETY: fds points to fds.len() initialised entries.
        let r = unsafe { ws::WSAPoll(fds.as_mut_ptr(), fds.len() as u32, 200) };
        if r > 0 {
            return Ok(true);
        }
        if r < 0 {
            return Err(format!("WSAPoll failed: {}", std::io::Error::last_os_error()));
        }
    }
}

pub fn run(o: Opts) -> i32 {
    if let Some(msg) = unsupported(&o) {
        crate::say!("{msg}");
        return USAGE;
    }
    let mut socks = Vec::new();
    for a in &o.listen {
        let shown = String::from_utf8_lossy(a).into_owned();
        let parsed = match parse_address(a) {
            Ok(p) => p,
            Err(e) => {
                crate::say!("failed to parse address {shown}: {e}");
                return 1;
            }
        };
        match listen(&parsed, &shown, o.sock_type) {
            Ok(s) => {
                if !o.quiet {
                    let at = s.local_addr().ok().and_then(|a| a.as_socket()).map_or(shown.clone(), |a| a.to_string());
                    crate::say!("listening on {at}");
                }
                socks.push(s);
            }
            Err(e) => {
                crate::say!("{e}");
                return 1;
            }
        }
    }
    if let Some(names) = &o.fdnames {
        if names.len() != 1 && names.len() != socks.len() {
            crate::say!("warning: {} fd name(s) for {} socket(s)", names.len(), socks.len());
        }
    }
    if let Err(e) = console::install() {
        crate::say!("{e}");
        return 1;
    }
    let job = match job::Job::new() {
        Ok(j) => j,
        Err(e) => {
            crate::say!("{e}");
            return 1;
        }
    };
    let raw: Vec<ws::SOCKET> = socks.iter().map(|s| s.as_raw_socket() as ws::SOCKET).collect();
    let srv = match server::Server::start(raw, job.handle(), o.quiet) {
        Ok(s) => s,
        Err(e) => {
            crate::say!("{e}");
            return 1;
        }
    };
    let mut env = job::child_env(&o);
    env.push(("SYSTEMFD_SOCKET_SERVER".into(), srv.address().into()));
    env.push(("SYSTEMFD_SOCKET_SECRET".into(), srv.secret().into()));
    if let Some(n) = fdnames(&o, socks.len()) {
        env.push(("LISTEN_FDNAMES".into(), n.into()));
    }
    if !o.now {
        match wait_first_use(&socks) {
            Ok(true) => {}
            Ok(false) => return console::STOPPED_EXIT,
            Err(e) => {
                crate::say!("{e}");
                return 1;
            }
        }
    }
    loop {
        let child = match job.spawn(&o.command, &env) {
            Ok(c) => c,
            Err(e) => {
                crate::say!("failed to execute {}: {e}", o.command[0].to_string_lossy());
                return 1;
            }
        };
        srv.set_child(child.pid());
        if !o.quiet {
            crate::say!("started {} (pid {})", o.command[0].to_string_lossy(), child.pid());
        }
        let code = match child.wait_or_stop(o.stop_timeout) {
            job::Ended::Exited(c) => c,
            job::Ended::Stopped(c) => {
                job.terminate();
                return c;
            }
        };
        if !o.restart {
            return code;
        }
        if !o.quiet {
            crate::say!("{} exited with status {code:#x}, restarting", o.command[0].to_string_lossy());
        }
        if console::wait_stop(o.restart_delay.max(Duration::from_millis(0))) {
            job.terminate();
            return console::STOPPED_EXIT;
        }
    }
}
