//! Command-line options: those of `systemd-socket-activate` (252) with the
//! same meaning, plus the supervisor's own. Parsed like `getopt_long` with
//! a leading `+`: options stop at the first non-option (the command), `--`
//! ends them, short options can be bundled (`-da`), arguments can be
//! attached (`-l8080`, `--listen=8080`) or separate, and a long option can be
//! abbreviated to any unique prefix. Arguments are bytes (`OsString`): the
//! command, its arguments and `-E` values reach the child unchanged, as with
//! systemd-socket-activate.

use std::ffi::{OsStr, OsString};
use std::time::Duration;

#[cfg(unix)]
pub const SOCK_STREAM: i32 = libc::SOCK_STREAM;
#[cfg(unix)]
pub const SOCK_DGRAM: i32 = libc::SOCK_DGRAM;
#[cfg(unix)]
pub const SOCK_SEQPACKET: i32 = libc::SOCK_SEQPACKET;
// Winsock's values (libc has no socket constants for Windows).
#[cfg(windows)]
pub const SOCK_STREAM: i32 = 1;
#[cfg(windows)]
pub const SOCK_DGRAM: i32 = 2;
#[cfg(windows)]
pub const SOCK_SEQPACKET: i32 = 5;

/// Who may send notify messages (systemd's `NotifyAccess=`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NotifyAccess {
    /// No notify socket at all (`NOTIFY_SOCKET` is not set).
    None,
    /// The current main child, and the replacement waiting for `READY=1`
    /// during a SIGHUP hand-over (in `--accept` mode: each connection's child).
    Main,
    /// Any process the launcher started itself.
    Exec,
    /// Any descendant of the launcher (its children and their children).
    All,
}

#[derive(Debug)]
pub struct Opts {
    /// `-l` addresses, as given (bytes: a unix path need not be UTF-8).
    pub listen: Vec<Vec<u8>>,
    pub sock_type: i32,
    pub accept: bool,
    pub inetd: bool,
    /// `NAME=VALUE` entries (bytes), later ones replacing earlier ones of the same name.
    pub setenv: Vec<Vec<u8>>,
    /// `None` when no `--fdname` was given (then `LISTEN_FDNAMES` is not set).
    pub fdnames: Option<Vec<String>>,
    pub now: bool,
    pub restart: bool,
    pub restart_delay: Duration,
    pub notify: bool,
    pub notify_access: NotifyAccess,
    pub wait_ready: bool,
    pub ready_timeout: Duration,
    pub stop_timeout: Duration,
    pub fdstore_max: usize,
    pub inherit_env: bool,
    pub quiet: bool,
    pub command: Vec<OsString>,
}

pub enum Parsed {
    Run(Opts),
    Help,
    Version,
}

/// A usage error: the message is printed after "sdfd-activate: ".
#[derive(Debug)]
pub struct Usage(pub String);

#[derive(Clone, Copy, PartialEq)]
enum Id {
    Help,
    Version,
    Listen,
    Datagram,
    Seqpacket,
    Accept,
    Setenv,
    Fdname,
    Inetd,
    Now,
    Restart,
    RestartDelay,
    Notify,
    NotifyAccess,
    WaitReady,
    ReadyTimeout,
    StopTimeout,
    FdstoreMax,
    InheritEnv,
    Quiet,
}

/// (long name, takes an argument, short letter, id)
const LONG: &[(&str, bool, Option<char>, Id)] = &[
    ("help", false, Some('h'), Id::Help),
    ("version", false, None, Id::Version),
    ("listen", true, Some('l'), Id::Listen),
    ("datagram", false, Some('d'), Id::Datagram),
    ("seqpacket", false, None, Id::Seqpacket),
    ("accept", false, Some('a'), Id::Accept),
    ("setenv", true, Some('E'), Id::Setenv),
    ("environment", true, None, Id::Setenv), // systemd's legacy alias
    ("fdname", true, None, Id::Fdname),
    ("inetd", false, None, Id::Inetd),
    ("now", false, None, Id::Now),
    ("restart", false, None, Id::Restart),
    ("restart-delay", true, None, Id::RestartDelay),
    ("notify", false, None, Id::Notify),
    ("notify-access", true, None, Id::NotifyAccess),
    ("wait-ready", false, None, Id::WaitReady),
    ("ready-timeout", true, None, Id::ReadyTimeout),
    ("stop-timeout", true, None, Id::StopTimeout),
    ("fdstore-max", true, None, Id::FdstoreMax),
    ("inherit-env", false, None, Id::InheritEnv),
    ("quiet", false, Some('q'), Id::Quiet),
];

pub const HELP: &str = "\
sdfd-activate [OPTIONS...] COMMAND [ARGS...]

Listen on sockets and launch COMMAND with them (the systemd socket-activation
protocol: LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES, fds from 3).

Options of systemd-socket-activate (same meaning):
  -h --help                  Show this help and exit
     --version               Print version string and exit
  -l --listen=ADDR           Listen at ADDR: PORT, IPV4:PORT, [IPV6]:PORT,
                             /unix/path or @abstract-name (repeatable)
  -d --datagram              Listen on datagram instead of stream socket
     --seqpacket             Listen on SOCK_SEQPACKET instead of stream socket
  -a --accept                Spawn separate child for each connection
  -E --setenv=NAME[=VALUE]   Pass an environment variable to children
     --fdname=NAME[:NAME...] Specify names for file descriptors
     --inetd                 Enable inetd file descriptor passing protocol

Supervisor options (not in systemd-socket-activate):
     --now                   Start the command at once instead of on the
                             first connection (or datagram)
     --restart               Restart the command whenever it exits
     --restart-delay=SEC     Wait before restarting (default 0.1)
     --notify                Receive sd_notify() messages (sets NOTIFY_SOCKET)
                             and keep fds stored with FDSTORE=1 for the next
                             child, after the listening fds
     --notify-access=WHO     Who may send notify messages, as systemd's
                             NotifyAccess=: main (default: the current child,
                             and the replacement during a SIGHUP hand-over),
                             exec (any child the launcher started), all (any
                             descendant of the launcher), none (no notify
                             socket). Implies --notify unless none. Other
                             senders are refused with one log line and the
                             fds they sent are closed
     --wait-ready            On SIGHUP, wait for READY=1 from the new child
                             before stopping the old one (implies --notify)
     --ready-timeout=SEC     Give up on a new child not ready in time (30)
     --stop-timeout=SEC      SIGKILL children still running this long after
                             SIGTERM (default 10)
     --fdstore-max=N         Keep at most N stored fds (default 64)
     --inherit-env           Pass the whole environment to the command, not
                             only TERM, PATH, USER and HOME
  -q --quiet                 Log errors only

Notify messages honoured (systemd 252 honours more: MAINPID=, ERRNO=,
RELOADING=1, WATCHDOG_USEC=, EXTEND_TIMEOUT_USEC=, FDPOLL=0 ...; see
docs/launcher.md): READY=1 (ends a --wait-ready hand-over), STATUS= (logged),
FDSTORE=1 with FDNAME= (kept for the next child), FDSTOREREMOVE=1 with
FDNAME=, STOPPING=1 (logged), BARRIER=1 (its fd is closed). Other keys,
WATCHDOG=1 included, are accepted and ignored. The socket is a path inside
a private 0700 directory in $TMPDIR (or /tmp), removed on exit.

Signals: SIGHUP starts a new child with the same sockets and then stops the
old one (zero-downtime replacement); SIGTERM, SIGINT and SIGQUIT are passed
to the children and end the launcher once they have exited; SIGUSR1,
SIGUSR2 and SIGWINCH are passed to the current child. Orphaned processes
are reaped (PID 1 in a container, and a child subreaper on Linux).
Exit status: the command's (128+N if killed by signal N); 1 on a runtime
error (cannot bind, cannot execute), 2 on a usage error.

On Windows the sockets are handed over by the systemfd protocol
(SYSTEMFD_SOCKET_SERVER, SYSTEMFD_SOCKET_SECRET; names in LISTEN_FDNAMES),
the command runs in a job object that ends with the launcher, and Ctrl-C,
Ctrl-Break or closing the console stop it; --accept, --inetd, --seqpacket,
--notify, --wait-ready and unix socket addresses exit 2 there.
";

fn parse_seconds(opt: &str, v: &str) -> Result<Duration, Usage> {
    let bad = || Usage(format!("invalid value for --{opt}: '{v}' (seconds, e.g. 2.5)"));
    let f: f64 = v.trim().parse().map_err(|_| bad())?;
    if !f.is_finite() || !(0.0..=1e9).contains(&f) {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(f))
}

/// systemd's env_name_is_valid: non-empty, not starting with a digit,
/// only [A-Za-z0-9_].
fn env_name_is_valid(n: &[u8]) -> bool {
    !n.is_empty() && !n[0].is_ascii_digit() && n.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// systemd 252's env_value_is_valid for `-E NAME=VALUE`: valid UTF-8
/// (control characters are allowed). A value taken from our own environment
/// (`-E NAME`) is passed as it is.
fn env_value_is_valid(v: &[u8]) -> bool {
    std::str::from_utf8(v).is_ok()
}

/// `-E NAME=VALUE` or `-E NAME` (value taken from our environment, empty
/// if unset), replacing an earlier entry of the same name in place.
fn add_setenv(list: &mut Vec<Vec<u8>>, arg: &[u8]) -> Result<(), Usage> {
    let bad =
        || Usage(format!("cannot assign environment variable {}: invalid argument", String::from_utf8_lossy(arg)));
    let entry = match arg.iter().position(|&b| b == b'=') {
        Some(i) if env_name_is_valid(&arg[..i]) && env_value_is_valid(&arg[i + 1..]) => arg.to_vec(),
        Some(_) => return Err(bad()),
        None if env_name_is_valid(arg) => {
            // The name is ASCII (checked above).
            let v = std::env::var_os(OsStr::new(std::str::from_utf8(arg).unwrap_or_default())).unwrap_or_default();
            let mut e = arg.to_vec();
            e.push(b'=');
            e.extend_from_slice(v.as_encoded_bytes());
            e
        }
        None => return Err(bad()),
    };
    let name_len = entry.iter().position(|&b| b == b'=').unwrap_or(entry.len()) + 1;
    match list.iter().position(|e| e.starts_with(&entry[..name_len])) {
        Some(i) => list[i] = entry,
        None => list.push(entry),
    }
    Ok(())
}

/// `--fdname=` as systemd-socket-activate 252 splits it (`strv_split`):
/// empty fields are dropped, and an argument with no names at all is one
/// empty name.
fn split_fdnames(arg: &str) -> Vec<String> {
    let names: Vec<String> = arg.split(':').filter(|n| !n.is_empty()).map(str::to_string).collect();
    if names.is_empty() {
        vec![String::new()]
    } else {
        names
    }
}

/// systemd's fdname_is_valid: at most 255 printable ASCII characters, no ':'.
pub fn fdname_is_valid(n: &str) -> bool {
    n.len() <= 255 && n.bytes().all(|b| (b' '..=b'~').contains(&b) && b != b':')
}

pub fn parse(args: &[OsString]) -> Result<Parsed, Usage> {
    let mut o = Opts {
        listen: Vec::new(),
        sock_type: SOCK_STREAM,
        accept: false,
        inetd: false,
        setenv: Vec::new(),
        fdnames: None,
        now: false,
        restart: false,
        restart_delay: Duration::from_millis(100),
        notify: false,
        notify_access: NotifyAccess::Main,
        wait_ready: false,
        ready_timeout: Duration::from_secs(30),
        stop_timeout: Duration::from_secs(10),
        fdstore_max: 64,
        inherit_env: false,
        quiet: false,
        command: Vec::new(),
    };
    let mut i = 0;
    let bytes = |a: &OsString| a.as_encoded_bytes().to_vec();
    while i < args.len() {
        let a = args[i].as_encoded_bytes();
        i += 1;
        if a == b"--" {
            break;
        }
        // (id, name for messages, inline argument)
        let mut items: Vec<(Id, String, Option<Vec<u8>>)> = Vec::new();
        if let Some(long) = a.strip_prefix(b"--") {
            let (name, inline) = match long.iter().position(|&b| b == b'=') {
                Some(k) => (&long[..k], Some(long[k + 1..].to_vec())),
                None => (long, None),
            };
            let name = &*String::from_utf8_lossy(name);
            let exact = LONG.iter().find(|l| l.0 == name);
            let matches: Vec<_> = LONG.iter().filter(|l| l.0.starts_with(name)).collect();
            let ent = match exact {
                Some(e) => e,
                None if matches.len() == 1 => matches[0],
                None if matches.len() > 1 && matches.iter().all(|m| m.3 == matches[0].3) => matches[0],
                None if matches.len() > 1 => return Err(Usage(format!("option '--{name}' is ambiguous"))),
                None => return Err(Usage(format!("unrecognized option '--{name}'"))),
            };
            if !ent.1 && inline.is_some() {
                return Err(Usage(format!("option '--{}' doesn't allow an argument", ent.0)));
            }
            let arg = if ent.1 && inline.is_none() {
                let v = args
                    .get(i)
                    .map(bytes)
                    .ok_or_else(|| Usage(format!("option '--{}' requires an argument", ent.0)))?;
                i += 1;
                Some(v)
            } else {
                inline
            };
            items.push((ent.3, format!("--{}", ent.0), arg));
        } else if a.len() > 1 && a[0] == b'-' {
            let chars = &a[1..];
            let mut k = 0;
            while k < chars.len() {
                let c = char::from(chars[k]);
                k += 1;
                if !c.is_ascii() {
                    return Err(Usage(format!("invalid option -- '{}'", String::from_utf8_lossy(&chars[k - 1..]))));
                }
                let ent =
                    LONG.iter().find(|l| l.2 == Some(c)).ok_or_else(|| Usage(format!("invalid option -- '{c}'")))?;
                if ent.1 {
                    let rest = chars[k..].to_vec();
                    let v = if !rest.is_empty() {
                        rest
                    } else {
                        let v = args
                            .get(i)
                            .map(bytes)
                            .ok_or_else(|| Usage(format!("option requires an argument -- '{c}'")))?;
                        i += 1;
                        v
                    };
                    items.push((ent.3, format!("-{c}"), Some(v)));
                    break;
                }
                items.push((ent.3, format!("-{c}"), None));
            }
        } else {
            i -= 1; // the command
            break;
        }
        for (id, name, raw) in items {
            let raw = raw.unwrap_or_default();
            // Option arguments other than -E are text.
            let arg = String::from_utf8_lossy(&raw).into_owned();
            match id {
                Id::Help => return Ok(Parsed::Help),
                Id::Version => return Ok(Parsed::Version),
                Id::Listen => o.listen.push(raw.clone()),
                Id::Datagram => {
                    if o.sock_type == SOCK_SEQPACKET {
                        return Err(Usage("--datagram may not be combined with --seqpacket".into()));
                    }
                    o.sock_type = SOCK_DGRAM;
                }
                Id::Seqpacket => {
                    if o.sock_type == SOCK_DGRAM {
                        return Err(Usage("--seqpacket may not be combined with --datagram".into()));
                    }
                    o.sock_type = SOCK_SEQPACKET;
                }
                Id::Accept => o.accept = true,
                Id::Setenv => add_setenv(&mut o.setenv, &raw)?,
                Id::Fdname => {
                    let names = split_fdnames(&arg);
                    for n in &names {
                        if !fdname_is_valid(n) {
                            crate::say!("warning: file descriptor name \"{}\" is not valid", n.escape_debug());
                        }
                    }
                    o.fdnames.get_or_insert_with(Vec::new).extend(names);
                }
                Id::Inetd => o.inetd = true,
                Id::Now => o.now = true,
                Id::Restart => o.restart = true,
                Id::RestartDelay => o.restart_delay = parse_seconds(&name[2..], &arg)?,
                Id::Notify => o.notify = true,
                Id::NotifyAccess => {
                    o.notify_access = match arg.as_str() {
                        "none" => NotifyAccess::None,
                        "main" => NotifyAccess::Main,
                        "exec" => NotifyAccess::Exec,
                        "all" => NotifyAccess::All,
                        _ => {
                            return Err(Usage(format!(
                                "invalid value for --notify-access: '{arg}' (none, main, exec or all)"
                            )))
                        }
                    };
                    o.notify = o.notify_access != NotifyAccess::None;
                }
                Id::WaitReady => {
                    o.wait_ready = true;
                    o.notify = true;
                }
                Id::ReadyTimeout => o.ready_timeout = parse_seconds(&name[2..], &arg)?,
                Id::StopTimeout => o.stop_timeout = parse_seconds(&name[2..], &arg)?,
                Id::FdstoreMax => {
                    o.fdstore_max = arg
                        .parse()
                        .ok()
                        .filter(|n| *n <= 4096)
                        .ok_or_else(|| Usage(format!("invalid value for --fdstore-max: '{arg}' (0..4096)")))?
                }
                Id::InheritEnv => o.inherit_env = true,
                Id::Quiet => o.quiet = true,
            }
        }
    }
    o.command = args[i..].to_vec();
    if o.command.is_empty() {
        return Err(Usage("command to execute is missing".into()));
    }
    if o.sock_type == SOCK_DGRAM && o.accept {
        return Err(Usage(
            "datagram sockets do not accept connections: --datagram and --accept may not be combined".into(),
        ));
    }
    if o.wait_ready && o.notify_access == NotifyAccess::None {
        return Err(Usage(
            "--wait-ready needs notify messages: it may not be combined with --notify-access=none".into(),
        ));
    }
    if o.notify_access == NotifyAccess::None {
        o.notify = false;
    }
    if o.accept && o.restart {
        return Err(Usage("--restart may not be combined with --accept (every connection gets its own child)".into()));
    }
    Ok(Parsed::Run(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &[&str]) -> Result<Parsed, Usage> {
        parse(&a.iter().map(OsString::from).collect::<Vec<_>>())
    }
    fn run(a: &[&str]) -> Opts {
        match p(a) {
            Ok(Parsed::Run(o)) => o,
            _ => panic!("not a run: {a:?}"),
        }
    }

    #[test]
    fn getopt_forms() {
        let o = run(&["-l8080", "--listen", "127.0.0.1:1", "--list=@x", "-dq", "x", "-l", "y"]);
        assert_eq!(o.listen, [&b"8080"[..], b"127.0.0.1:1", b"@x"]);
        assert_eq!(o.sock_type, SOCK_DGRAM);
        assert!(o.quiet);
        assert_eq!(o.command, ["x", "-l", "y"]);
        let o = run(&["--", "-l"]);
        assert_eq!(o.command, ["-l"]);
        assert!(matches!(p(&["--vers"]), Ok(Parsed::Version)));
        assert!(matches!(p(&["-h", "--bogus"]), Ok(Parsed::Help)));
    }

    #[test]
    fn errors() {
        for bad in [
            &["--bogus", "x"][..],
            &["-x", "x"],
            &["-l"],
            &["--listen"],
            &["-d", "--seqpacket", "x"],
            &["--seqpacket", "-d", "x"],
            &["-d", "-a", "x"],
            &["-a", "--restart", "x"],
            &["-l", "1"],
            &[],
            &["-E", "1A=b", "x"],
            &["-E", "A-B", "x"],
            &["--inetd=1", "x"],
            &["--re", "x"],
            &["--stop-timeout=-1", "x"],
            &["--notify-access=some", "x"],
            &["--notify-access", "none", "--wait-ready", "x"],
        ] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn notify_access() {
        let o = run(&["x"]);
        assert!(!o.notify);
        assert_eq!(o.notify_access, NotifyAccess::Main);
        let o = run(&["--notify-access=all", "x"]);
        assert!(o.notify);
        assert_eq!(o.notify_access, NotifyAccess::All);
        let o = run(&["--notify", "--notify-access", "none", "x"]);
        assert!(!o.notify);
        assert_eq!(run(&["--notify-access=exec", "x"]).notify_access, NotifyAccess::Exec);
    }

    #[test]
    fn setenv_and_fdnames() {
        std::env::set_var("SDFD_ACTIVATE_T", "v");
        let o = run(&[
            "-E",
            "A=1",
            "-E",
            "SDFD_ACTIVATE_T",
            "-E",
            "SDFD_ACTIVATE_UNSET_X",
            "-E",
            "A=2",
            "--fdname=a:b",
            "--fdname=",
            "x",
        ]);
        assert_eq!(o.setenv, [&b"A=2"[..], b"SDFD_ACTIVATE_T=v", b"SDFD_ACTIVATE_UNSET_X="]);
        assert_eq!(o.fdnames.unwrap(), ["a", "b", ""]);
        for (arg, want) in [("a::b", &["a", "b"][..]), ("a:b:", &["a", "b"]), (":a", &["a"]), (":", &[""]), ("", &[""])]
        {
            assert_eq!(run(&[&format!("--fdname={arg}"), "x"]).fdnames.unwrap(), want, "{arg:?}");
        }
    }

    #[test]
    fn bytes_pass_through() {
        use std::os::unix::ffi::OsStringExt;
        let a = |b: &[u8]| OsString::from_vec(b.to_vec());
        let o = match parse(&[a(b"-E"), a(b"A=\x01\x1b"), a(b"cmd\xff"), a(b"arg\xfe")]) {
            Ok(Parsed::Run(o)) => o,
            _ => panic!("not a run"),
        };
        assert_eq!(o.setenv, [b"A=\x01\x1b".to_vec()]);
        assert_eq!(o.command, [a(b"cmd\xff"), a(b"arg\xfe")]);
        // An inline value must be UTF-8, as in systemd 252.
        assert!(parse(&[a(b"-E"), a(b"A=\xff"), a(b"x")]).is_err());
        std::env::set_var("SDFD_ACTIVATE_B", a(b"v\xff"));
        let o = match parse(&[a(b"-ESDFD_ACTIVATE_B"), a(b"x")]) {
            Ok(Parsed::Run(o)) => o,
            _ => panic!("not a run"),
        };
        assert_eq!(o.setenv, [b"SDFD_ACTIVATE_B=v\xff".to_vec()]);
    }
}
