//! sdfd-activate: a socket-activation launcher for machines and containers
//! without systemd. It takes the options of `systemd-socket-activate` with
//! the same meaning, passes sockets exactly as systemd does (`LISTEN_FDS`,
//! `LISTEN_PID`, `LISTEN_FDNAMES`, fds from 3), and adds what a process
//! supervisor needs: restarts that keep the sockets, zero-downtime
//! replacement on SIGHUP, a `NOTIFY_SOCKET` receiver with an fd store, and
//! the duties of PID 1 in a container (reaping, passing signals on).
//!
//! Layout: `opts` is portable (addresses are parsed by the library's
//! `sdfd::SocketAddress`, shared with `sdfd_find_socket`); everything that creates sockets
//! and processes is in the platform module: `unix`, or `windows` (the
//! sockets handed over by the systemfd protocol, with names).

/// One line on stderr, prefixed "sdfd-activate: ". A failed write (the
/// reader of the log went away) is ignored: a supervisor must outlive its
/// log pipe.
#[macro_export]
macro_rules! say {
    ($($a:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "sdfd-activate: {}", format_args!($($a)*));
    }};
}

mod opts;
#[cfg(unix)]
mod unix;
#[cfg(windows)]
mod windows;

fn main() {
    use std::io::Write as _;
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let o = match opts::parse(&args) {
        Ok(opts::Parsed::Help) => {
            let _ = std::io::stdout().write_all(opts::HELP.as_bytes());
            return;
        }
        Ok(opts::Parsed::Version) => {
            let _ = writeln!(
                std::io::stdout(),
                "sdfd-activate {} (systemd-socket-activate 252 options)",
                env!("CARGO_PKG_VERSION")
            );
            return;
        }
        Ok(opts::Parsed::Run(o)) => o,
        Err(opts::Usage(msg)) => {
            say!("{msg}");
            let _ = writeln!(std::io::stderr(), "Try 'sdfd-activate --help' for more information.");
            std::process::exit(2);
        }
    };
    #[cfg(unix)]
    std::process::exit(unix::run(o));
    #[cfg(windows)]
    std::process::exit(windows::run(o));
    #[cfg(not(any(unix, windows)))]
    {
        let _ = o;
        say!("this platform is not supported");
        std::process::exit(1);
    }
}
