//! sdfd-activate: a socket-activation launcher for machines and containers
//! without systemd. It takes the options of `systemd-socket-activate` with
//! the same meaning, passes sockets exactly as systemd does (`LISTEN_FDS`,
//! `LISTEN_PID`, `LISTEN_FDNAMES`, fds from 3), and adds what a process
//! supervisor needs: restarts that keep the sockets, zero-downtime
//! replacement on SIGHUP, a `NOTIFY_SOCKET` receiver with an fd store, and
//! the duties of PID 1 in a container (reaping, passing signals on).
//!
//! Layout: `opts` and `addr` are portable; everything that creates sockets
//! and processes is in the platform module (`unix`). A Windows backend
//! (the systemfd protocol) goes beside it as `windows`.

mod addr;
mod opts;
#[cfg(unix)]
mod unix;

fn main() {
    let args: Vec<String> = match std::env::args_os().skip(1).map(|a| a.into_string()).collect() {
        Ok(a) => a,
        Err(a) => {
            eprintln!("sdfd-activate: argument is not valid UTF-8: {}", a.to_string_lossy());
            std::process::exit(2);
        }
    };
    let o = match opts::parse(&args) {
        Ok(opts::Parsed::Help) => {
            print!("{}", opts::HELP);
            return;
        }
        Ok(opts::Parsed::Version) => {
            println!("sdfd-activate {} (systemd-socket-activate 252 options)", env!("CARGO_PKG_VERSION"));
            return;
        }
        Ok(opts::Parsed::Run(o)) => o,
        Err(opts::Usage(msg)) => {
            eprintln!("sdfd-activate: {msg}");
            eprintln!("Try 'sdfd-activate --help' for more information.");
            std::process::exit(2);
        }
    };
    #[cfg(unix)]
    std::process::exit(unix::run(o));
    #[cfg(not(unix))]
    {
        let _ = o;
        eprintln!("sdfd-activate: this platform is not supported yet (the Windows systemfd backend is separate work)");
        std::process::exit(1);
    }
}
