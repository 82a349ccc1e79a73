//! Fuzz harness: one function per fuzz target, shared by the cargo-fuzz
//! targets (fuzz/fuzz_targets/*.rs, run by `make fuzz`) and by the corpus
//! replay test (tests/fuzz_replay.rs, run by `cargo test`).
//!
//! Every target feeds outside input to sdfd's C ABI (`sdfd::ffi`, the very
//! functions a daemon calls) and, where an oracle exists, to libsystemd 252's
//! function of the same name, loaded with `dlopen(RTLD_LOCAL)` so that the two
//! implementations cannot interpose on each other. Any difference in return
//! value, names, `usec`, environment side effects or `FD_CLOEXEC` side
//! effects panics (libFuzzer records a crash). Where no oracle exists
//! (`NOTIFY_SOCKET` forms libsystemd 252 does not parse without sending), an
//! independent model written here is the reference.
//!
//! Input formats are documented per target; every byte string is valid
//! input (nothing is rejected), so the fuzzer never wastes runs.

#![allow(clippy::missing_safety_doc)]

use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::sync::OnceLock;

use sdfd::ffi as sd;

// ---------------------------------------------------------------- oracle

type ListenFds = unsafe extern "C" fn(c_int) -> c_int;
type ListenFdsWithNames = unsafe extern "C" fn(c_int, *mut *mut *mut c_char) -> c_int;
type WatchdogEnabled = unsafe extern "C" fn(c_int, *mut u64) -> c_int;
type Notify = unsafe extern "C" fn(c_int, *const c_char) -> c_int;
type IsSockaddr = unsafe extern "C" fn(c_int, c_int, *const libc::sockaddr, c_uint, c_int) -> c_int;
type IsUnix = unsafe extern "C" fn(c_int, c_int, c_int, *const c_char, libc::size_t) -> c_int;
type IsPath = unsafe extern "C" fn(c_int, *const c_char) -> c_int;

/// libsystemd's functions.
pub struct Systemd {
    pub listen_fds: ListenFds,
    pub listen_fds_with_names: ListenFdsWithNames,
    pub watchdog_enabled: WatchdogEnabled,
    pub notify: Notify,
    pub is_socket_sockaddr: IsSockaddr,
    pub is_socket_unix: IsUnix,
    pub is_fifo: IsPath,
    pub is_special: IsPath,
    pub is_mq: IsPath,
}

unsafe fn sym<T: Copy>(h: *mut c_void, name: &CStr) -> T {
    let p = libc::dlsym(h, name.as_ptr());
    assert!(!p.is_null(), "libsystemd lacks {name:?}");
    std::mem::transmute_copy(&p)
}

/// libsystemd.so.0, loaded once.
pub fn systemd() -> &'static Systemd {
    static S: OnceLock<Systemd> = OnceLock::new();
    // SAFETY: dlopen/dlsym of libsystemd's sd_* functions, each transmuted to its own C prototype (`sym`).
    S.get_or_init(|| unsafe {
        // The harness binary must not export sdfd's sd_* symbols: libsystemd
        // calls its own sd_listen_fds through the PLT, and an exported
        // sd_listen_fds in the executable would take that call over.
        assert!(
            libc::dlsym(libc::RTLD_DEFAULT, c"sd_listen_fds".as_ptr()).is_null(),
            "the harness exports sd_listen_fds: the oracle would call sdfd"
        );
        let h = libc::dlopen(c"libsystemd.so.0".as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
        assert!(!h.is_null(), "cannot load libsystemd.so.0 (install libsystemd0)");
        let s = Systemd {
            listen_fds: sym(h, c"sd_listen_fds"),
            listen_fds_with_names: sym(h, c"sd_listen_fds_with_names"),
            watchdog_enabled: sym(h, c"sd_watchdog_enabled"),
            notify: sym(h, c"sd_notify"),
            is_socket_sockaddr: sym(h, c"sd_is_socket_sockaddr"),
            is_socket_unix: sym(h, c"sd_is_socket_unix"),
            is_fifo: sym(h, c"sd_is_fifo"),
            is_special: sym(h, c"sd_is_special"),
            is_mq: sym(h, c"sd_is_mq"),
        };
        assert_ne!(
            s.listen_fds as *const () as usize,
            sd::sd_listen_fds as *const () as usize,
            "the oracle is sdfd itself"
        );
        s
    })
}

// ---------------------------------------------------------------- helpers

/// Descriptors whose `FD_CLOEXEC` state is compared (the listen functions
/// mark `3 .. 3 + n`).
const FD_WINDOW: std::ops::Range<c_int> = 3..40;

fn fd_flags() -> Vec<c_int> {
    // SAFETY: F_GETFD reads no memory, on any number.
    FD_WINDOW.map(|fd| unsafe { libc::fcntl(fd, libc::F_GETFD) }).collect()
}

fn restore_fd_flags(saved: &[c_int]) {
    for (fd, &f) in FD_WINDOW.zip(saved) {
        if f >= 0 {
            // SAFETY: F_SETFD only restores the flags read before.
            unsafe { libc::fcntl(fd, libc::F_SETFD, f) };
        }
    }
}

/// Make sure descriptors 3..11 are open (filling only closed slots with
/// /dev/null), so that `LISTEN_FDS` counts up to 8 can succeed.
fn ensure_low_fds() {
    static ONCE: OnceLock<()> = OnceLock::new();
    // SAFETY: only closed slots are filled, with /dev/null; nothing else holds them.
    ONCE.get_or_init(|| unsafe {
        for fd in 3..11 {
            if libc::fcntl(fd, libc::F_GETFD) < 0 {
                let n = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
                if n >= 0 && n != fd {
                    libc::dup2(n, fd);
                    libc::close(n);
                }
            }
        }
    });
}

fn set_var(name: &CStr, value: Option<&[u8]>) {
    // SAFETY: NUL-terminated name and value; the fuzz targets run single-threaded.
    unsafe {
        match value {
            None => {
                libc::unsetenv(name.as_ptr());
            }
            Some(v) => {
                let v = CString::new(v).expect("values are split at NUL");
                libc::setenv(name.as_ptr(), v.as_ptr(), 1);
            }
        }
    }
}

fn get_var(name: &CStr) -> Option<Vec<u8>> {
    // SAFETY: getenv's result is copied before the environment changes.
    unsafe {
        let p = libc::getenv(name.as_ptr());
        (!p.is_null()).then(|| CStr::from_ptr(p).to_bytes().to_vec())
    }
}

/// Byte 0x01 in a fuzzed pid stands for this process's pid in decimal, so
/// that the "the fds are for us" path is reachable with any decoration.
fn expand_pid(v: &[u8]) -> Vec<u8> {
    let pid = std::process::id().to_string();
    let mut out = Vec::with_capacity(v.len() + 8);
    for &b in v {
        if b == 1 {
            out.extend_from_slice(pid.as_bytes());
        } else {
            out.push(b);
        }
    }
    out
}

/// `data` split at NUL bytes into at most `n` fields (missing ones empty).
fn fields(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut v: Vec<&[u8]> = data.splitn(n, |&b| b == 0).collect();
    while v.len() < n {
        v.push(b"");
    }
    // the last field may still hold NULs: cut it there
    if let Some(last) = v.last_mut() {
        if let Some(z) = last.iter().position(|&b| b == 0) {
            *last = &last[..z];
        }
    }
    v
}

/// Take a C strv (NULL-terminated, malloc'd) and free it.
unsafe fn take_strv(p: *mut *mut c_char) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let s = *p.add(i);
        if s.is_null() {
            break;
        }
        out.push(CStr::from_ptr(s).to_bytes().to_vec());
        libc::free(s as *mut c_void);
        i += 1;
    }
    libc::free(p as *mut c_void);
    out
}

// ---------------------------------------------------------------- LISTEN_*

const LISTEN_VARS: [&CStr; 3] = [c"LISTEN_PID", c"LISTEN_FDS", c"LISTEN_FDNAMES"];

#[derive(Debug, PartialEq)]
struct ListenOutcome {
    ret: c_int,
    names: Option<Vec<Vec<u8>>>,
    untouched: bool,
    env: Vec<Option<Vec<u8>>>,
    cloexec: Vec<c_int>,
}

/// Target `listen_env`: `LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES`.
///
/// Input: a flags byte, then the three values separated by NUL bytes.
/// Flags: bit 0/1/2 set LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES (else unset);
/// bit 3 `unset_environment`; bits 4-5 the call: `sd_listen_fds`,
/// `sd_listen_fds_with_names(&names)`, `sd_listen_fds_with_names(NULL)`;
/// bit 6: LISTEN_FDS is replaced by the number of `:`-separated fields of
/// LISTEN_FDNAMES (so that the names path succeeds often). In LISTEN_PID a
/// byte 0x01 stands for our pid.
pub fn listen_env(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else { return };
    ensure_low_fds();
    let f = fields(rest, 3);
    let pid = expand_pid(f[0]);
    let fds_auto;
    let fds: &[u8] = if flags & 0x40 != 0 {
        fds_auto = (f[2].iter().filter(|&&b| b == b':').count() + 1).to_string();
        fds_auto.as_bytes()
    } else {
        f[1]
    };
    let values =
        [(flags & 1 != 0).then_some(&pid[..]), (flags & 2 != 0).then_some(fds), (flags & 4 != 0).then_some(f[2])];
    let unset = (flags >> 3 & 1) as c_int;
    let op = (flags >> 4) & 3;
    let saved = fd_flags();
    let sys = systemd();

    let run = |which: usize| -> ListenOutcome {
        restore_fd_flags(&saved);
        for (name, v) in LISTEN_VARS.iter().zip(values) {
            set_var(name, v);
        }
        let sentinel: *mut *mut c_char = std::ptr::NonNull::dangling().as_ptr();
        let mut names = sentinel;
        // SAFETY: `names` is writable; the functions have these prototypes.
        let ret = unsafe {
            match (op, which) {
                (1, 0) => (sys.listen_fds_with_names)(unset, &mut names),
                (1, _) => sd::sd_listen_fds_with_names(unset, &mut names),
                (2, 0) => (sys.listen_fds_with_names)(unset, std::ptr::null_mut()),
                (2, _) => sd::sd_listen_fds_with_names(unset, std::ptr::null_mut()),
                (_, 0) => (sys.listen_fds)(unset),
                (_, _) => sd::sd_listen_fds(unset),
            }
        };
        let untouched = names == sentinel;
        // SAFETY: a successful call stored a malloc'ed strv there, now ours.
        let names = if untouched || names.is_null() { None } else { Some(unsafe { take_strv(names) }) };
        ListenOutcome {
            ret,
            names,
            untouched,
            env: LISTEN_VARS.iter().map(|n| get_var(n)).collect(),
            cloexec: fd_flags(),
        }
    };
    let want = run(0);
    let got = run(1);
    restore_fd_flags(&saved);
    for name in LISTEN_VARS {
        set_var(name, None);
    }
    assert_eq!(want, got, "libsystemd vs sdfd for {values:?} unset={unset} op={op}");
}

// ---------------------------------------------------------------- WATCHDOG_*

/// Target `watchdog_env`: `WATCHDOG_USEC`, `WATCHDOG_PID`.
///
/// Input: flags (bit 0/1 set WATCHDOG_USEC/WATCHDOG_PID, bit 2
/// `unset_environment`, bit 3 pass `usec` as NULL), then the two values
/// separated by NUL. In WATCHDOG_PID a byte 0x01 stands for our pid.
pub fn watchdog_env(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else { return };
    let f = fields(rest, 2);
    let pid = expand_pid(f[1]);
    let vars = [c"WATCHDOG_USEC", c"WATCHDOG_PID"];
    let values = [(flags & 1 != 0).then_some(f[0]), (flags & 2 != 0).then_some(&pid[..])];
    let unset = (flags >> 2 & 1) as c_int;
    let null = flags & 8 != 0;
    let sys = systemd();
    let run = |which: usize| {
        for (n, v) in vars.iter().zip(values) {
            set_var(n, v);
        }
        let mut usec: u64 = 0x5eed;
        let p = if null { std::ptr::null_mut() } else { &mut usec as *mut u64 };
        // SAFETY: `p` is NULL or points to a writable u64.
        let ret = unsafe {
            if which == 0 {
                (sys.watchdog_enabled)(unset, p)
            } else {
                sd::sd_watchdog_enabled(unset, p)
            }
        };
        (ret, usec, vars.iter().map(|n| get_var(n)).collect::<Vec<_>>())
    };
    let want = run(0);
    let got = run(1);
    for n in vars {
        set_var(n, None);
    }
    assert_eq!(want, got, "libsystemd vs sdfd for {values:?} unset={unset} null={null}");
}

// ---------------------------------------------------------------- NOTIFY_SOCKET

#[derive(Debug, PartialEq)]
enum ModelTarget {
    /// sockaddr_un bytes (family + sun_path) and the length passed to the kernel
    Unix(Vec<u8>, usize),
    Vsock(u32, u32, Option<c_int>),
}

/// An independent model of how sdfd documents `NOTIFY_SOCKET` (libsystemd
/// 252 for `/path` and `@abstract`, systemd 254+ for `vsock[-TYPE]:CID:PORT`).
fn model_notify_target(e: &[u8]) -> Result<ModelTarget, c_int> {
    let kinds: [(&[u8], Option<c_int>); 4] = [
        (b"vsock:", None),
        (b"vsock-stream:", Some(libc::SOCK_STREAM)),
        (b"vsock-dgram:", Some(libc::SOCK_DGRAM)),
        (b"vsock-seqpacket:", Some(libc::SOCK_SEQPACKET)),
    ];
    for (prefix, ty) in kinds {
        if e.len() >= prefix.len() && &e[..prefix.len()] == prefix {
            let rest = &e[prefix.len()..];
            // CID and port are split at the last ':'
            let Some(split) = (0..rest.len()).rev().find(|&i| rest[i] == b':') else { return Err(libc::EINVAL) };
            let number = |s: &[u8]| -> Result<u32, c_int> {
                if s.is_empty() || s.iter().any(|c| !c.is_ascii_digit()) {
                    return Err(libc::EINVAL);
                }
                // digits only: any value above u32::MAX is a range error
                let digits = std::str::from_utf8(s).unwrap().trim_start_matches('0');
                if digits.len() > 10 {
                    return Err(libc::ERANGE);
                }
                let v: u64 = if digits.is_empty() { 0 } else { digits.parse().unwrap() };
                u32::try_from(v).map_err(|_| libc::ERANGE)
            };
            let cid = match &rest[..split] {
                b"" => return Err(libc::EINVAL),
                b"hypervisor" => 0,
                b"local" => 1,
                b"host" => 2,
                other => number(other)?,
            };
            let port = number(&rest[split + 1..])?;
            if port == u32::MAX {
                return Err(libc::EINVAL);
            }
            return Ok(ModelTarget::Vsock(cid, port, ty));
        }
    }
    if e.len() < 2 || (e[0] != b'/' && e[0] != b'@') {
        return Err(libc::EINVAL);
    }
    const SUN_PATH: usize = 108;
    if e.len() >= SUN_PATH {
        return Err(if e[0] == b'/' { libc::ENAMETOOLONG } else { libc::EINVAL });
    }
    let mut addr = vec![0u8; 2 + SUN_PATH];
    addr[..2].copy_from_slice(&(libc::AF_UNIX as u16).to_ne_bytes());
    addr[2..2 + e.len()].copy_from_slice(e);
    let len = if e[0] == b'@' {
        addr[2] = 0;
        2 + e.len()
    } else {
        2 + e.len() + 1
    };
    Ok(ModelTarget::Unix(addr, len))
}

/// Target `notify_socket`: the whole input is the `NOTIFY_SOCKET` value (up
/// to the first NUL, as a C string would be).
///
/// sdfd's parser is compared with the model above. When sdfd refuses the
/// address (and it is not a vsock form, which 252 does not know), libsystemd
/// must refuse it with the same errno, and so must sdfd's `sd_notify`: no
/// message is ever sent, as both fail before opening a socket.
pub fn notify_socket(data: &[u8]) {
    let e = data.split(|&b| b == 0).next().unwrap_or(b"");
    let got = match sdfd::fuzzing::parse_target(e) {
        Ok(sdfd::fuzzing::Target::Unix(un, len)) => {
            // SAFETY: reads the bytes of a sockaddr_un, plain data.
            let bytes = unsafe {
                std::slice::from_raw_parts(&un as *const _ as *const u8, std::mem::size_of::<libc::sockaddr_un>())
            };
            Ok(ModelTarget::Unix(bytes.to_vec(), len as usize))
        }
        Ok(sdfd::fuzzing::Target::Vsock { cid, port, ty }) => Ok(ModelTarget::Vsock(cid, port, ty)),
        Err(err) => Err(err.0),
    };
    let want = model_notify_target(e);
    assert_eq!(want, got, "model vs sdfd for NOTIFY_SOCKET={:?}", String::from_utf8_lossy(e));
    if let Err(errno) = got {
        if !e.starts_with(b"vsock") {
            set_var(c"NOTIFY_SOCKET", Some(e));
            let sys = systemd();
            // SAFETY: a NUL-terminated state; NOTIFY_SOCKET was set above.
            let a = unsafe { (sys.notify)(0, c"READY=1".as_ptr()) };
            // SAFETY: as above.
            let b = unsafe { sd::sd_notify(0, c"READY=1".as_ptr()) };
            set_var(c"NOTIFY_SOCKET", None);
            assert_eq!(
                (a, b),
                (-errno, -errno),
                "libsystemd/sdfd sd_notify for NOTIFY_SOCKET={:?}",
                String::from_utf8_lossy(e)
            );
        }
    }
}

// ---------------------------------------------------------------- sockets

struct Fixtures {
    /// (fd, own address as getsockname reports it)
    socks: Vec<(c_int, Vec<u8>)>,
    /// fifo, regular file, /dev/null, message queue (if available): (fd, path, mq name)
    files: Vec<(c_int, CString)>,
    _dir: std::path::PathBuf,
}

impl Drop for Fixtures {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self._dir);
    }
}

fn sockname(fd: c_int) -> Vec<u8> {
    // SAFETY: `ss` is a writable sockaddr_storage of length `l`; getsockname wrote `l` bytes.
    unsafe {
        let mut ss: libc::sockaddr_storage = std::mem::zeroed();
        let mut l = std::mem::size_of_val(&ss) as libc::socklen_t;
        if libc::getsockname(fd, &mut ss as *mut _ as *mut libc::sockaddr, &mut l) < 0 {
            return Vec::new();
        }
        std::slice::from_raw_parts(&ss as *const _ as *const u8, l as usize).to_vec()
    }
}

fn high_fd(fd: c_int) -> c_int {
    // keep fixtures out of the 3..40 window the listen target watches
    // SAFETY: F_DUPFD_CLOEXEC of the caller's own descriptor.
    let h = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 100) };
    // SAFETY: `fd` is the caller's, replaced by its copy `h`.
    unsafe { libc::close(fd) };
    h
}

fn inet(family: c_int, ty: c_int, listen: bool) -> c_int {
    // SAFETY: socket calls on a new socket with local, correctly sized addresses.
    unsafe {
        let s = libc::socket(family, ty, 0);
        assert!(s >= 0);
        if family == libc::AF_INET {
            let mut a: libc::sockaddr_in = std::mem::zeroed();
            a.sin_family = libc::AF_INET as _;
            a.sin_addr.s_addr = u32::from_be_bytes([127, 0, 0, 1]).to_be();
            assert_eq!(libc::bind(s, &a as *const _ as *const _, std::mem::size_of_val(&a) as _), 0);
        } else {
            let one: c_int = 1;
            libc::setsockopt(s, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, &one as *const _ as *const _, 4);
            let mut a: libc::sockaddr_in6 = std::mem::zeroed();
            a.sin6_family = libc::AF_INET6 as _;
            a.sin6_addr.s6_addr[15] = 1;
            if libc::bind(s, &a as *const _ as *const _, std::mem::size_of_val(&a) as _) != 0 {
                libc::close(s); // no IPv6 loopback here: leave it unbound
                return high_fd(libc::socket(family, ty, 0));
            }
        }
        if listen {
            libc::listen(s, 1);
        }
        high_fd(s)
    }
}

fn unix(ty: c_int, name: Option<&[u8]>, abstract_: bool, listen: bool) -> c_int {
    // SAFETY: as in inet; the path is cut to fit sun_path.
    unsafe {
        let s = libc::socket(libc::AF_UNIX, ty, 0);
        assert!(s >= 0);
        if let Some(name) = name {
            let mut a: libc::sockaddr_un = std::mem::zeroed();
            a.sun_family = libc::AF_UNIX as _;
            let off = abstract_ as usize;
            for (d, &c) in a.sun_path[off..].iter_mut().zip(name) {
                *d = c as c_char;
            }
            let len = 2 + off + name.len() + (!abstract_) as usize;
            assert_eq!(libc::bind(s, &a as *const _ as *const _, len as _), 0, "bind {name:?}");
        }
        if listen {
            libc::listen(s, 1);
        }
        high_fd(s)
    }
}

static FIXTURES: OnceLock<Fixtures> = OnceLock::new();

fn fixtures() -> &'static Fixtures {
    FIXTURES.get_or_init(|| {
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("sdfd-fuzz-{pid}"));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s");
        let abs = format!("sdfd-fuzz-{pid}");
        let socks = [
            inet(libc::AF_INET, libc::SOCK_STREAM, true),
            inet(libc::AF_INET, libc::SOCK_DGRAM, false),
            inet(libc::AF_INET6, libc::SOCK_STREAM, true),
            inet(libc::AF_INET6, libc::SOCK_DGRAM, false),
            unix(libc::SOCK_STREAM, Some(path.as_os_str().as_bytes()), false, true),
            unix(libc::SOCK_DGRAM, Some(abs.as_bytes()), true, false),
            unix(libc::SOCK_SEQPACKET, None, false, false),
        ]
        .into_iter()
        .map(|fd| (fd, sockname(fd)))
        .collect();
        let fifo = CString::new(dir.join("fifo").as_os_str().as_bytes()).unwrap();
        let file = CString::new(dir.join("file").as_os_str().as_bytes()).unwrap();
        let mut files = Vec::new();
        // SAFETY: NUL-terminated paths in a private temporary directory.
        unsafe {
            libc::mkfifo(fifo.as_ptr(), 0o600);
            files.push((high_fd(libc::open(fifo.as_ptr(), libc::O_RDWR)), fifo));
            files.push((high_fd(libc::open(file.as_ptr(), libc::O_RDWR | libc::O_CREAT, 0o600)), file));
            files.push((high_fd(libc::open(c"/dev/null".as_ptr(), libc::O_RDWR)), c"/dev/null".to_owned()));
            let q = CString::new(format!("/sdfd-fuzz-{pid}")).unwrap();
            let mut attr: libc::mq_attr = std::mem::zeroed();
            attr.mq_maxmsg = 1;
            attr.mq_msgsize = 8;
            let m = libc::mq_open(q.as_ptr(), libc::O_RDWR | libc::O_CREAT, 0o600, &mut attr as *mut libc::mq_attr);
            if m >= 0 {
                libc::mq_unlink(q.as_ptr());
                files.push((high_fd(m), q));
            }
        }
        Fixtures { socks, files, _dir: dir }
    })
}

/// Remove the fixtures' temporary directory (the statics are never
/// dropped); for the replay test, which ends the process.
pub fn remove_fixture_dir() {
    if let Some(f) = FIXTURES.get() {
        let _ = std::fs::remove_dir_all(&f._dir);
    }
}

/// A descriptor chosen by one byte: a fixture, or -1, -100, stdin, a closed
/// number.
fn pick_fd(b: u8, list: &[c_int]) -> c_int {
    let extra = [-1, -100, 0, 999];
    let i = b as usize % (list.len() + extra.len());
    if i < list.len() {
        list[i]
    } else {
        extra[i - list.len()]
    }
}

fn pick_type(b: u8) -> c_int {
    const T: [c_int; 6] = [0, libc::SOCK_STREAM, libc::SOCK_DGRAM, libc::SOCK_SEQPACKET, -1, libc::SOCK_RAW];
    if b < 0xf0 {
        T[b as usize % T.len()]
    } else {
        (b as i8) as c_int
    }
}

fn pick_listening(b: u8) -> c_int {
    (b as i8 % 4) as c_int
}

/// Apply (offset, value) pairs from `edits` to `buf`.
fn patch(buf: &mut [u8], edits: &[u8]) {
    for pair in edits.chunks_exact(2) {
        let n = buf.len();
        buf[pair[0] as usize % n] = pair[1];
    }
}

/// Target `sockaddr`: `sd_is_socket_sockaddr` against libsystemd.
///
/// Input: fd selector, type, listening, flags (bit 0: start from the
/// socket's own address, bit 1: swap the family to the other IP family,
/// bit 2: NULL address), length, then (offset, byte) edits.
pub fn sockaddr(data: &[u8]) {
    if data.len() < 5 {
        return;
    }
    let fx = fixtures();
    let fds: Vec<c_int> = fx.socks.iter().map(|s| s.0).collect();
    let fd = pick_fd(data[0], &fds);
    let (ty, listening, flags, len) = (pick_type(data[1]), pick_listening(data[2]), data[3], data[4] as c_uint);
    let mut buf = vec![0u8; 256];
    if flags & 1 != 0 {
        if let Some((_, own)) = fx.socks.iter().find(|s| s.0 == fd) {
            buf[..own.len()].copy_from_slice(own);
        }
    }
    if flags & 2 != 0 {
        let fam = u16::from_ne_bytes([buf[0], buf[1]]) as c_int;
        let other = if fam == libc::AF_INET { libc::AF_INET6 } else { libc::AF_INET };
        buf[..2].copy_from_slice(&(other as u16).to_ne_bytes());
    }
    patch(&mut buf, &data[5..]);
    let addr = if flags & 4 != 0 { std::ptr::null() } else { buf.as_ptr() as *const libc::sockaddr };
    let sys = systemd();
    // SAFETY: `addr` is NULL or `buf` with `len` readable bytes.
    let want = unsafe { (sys.is_socket_sockaddr)(fd, ty, addr, len, listening) };
    // SAFETY: as above.
    let got = unsafe { sd::sd_is_socket_sockaddr(fd, ty, addr, len, listening) };
    assert_eq!(want, got, "sd_is_socket_sockaddr(fd={fd}, type={ty}, {:?}, {len}, {listening})", &buf[..32]);
}

/// Target `socket_unix`: `sd_is_socket_unix` against libsystemd.
///
/// Input: fd selector, type, listening, flags (bit 0: start from the
/// socket's own name, bit 1: NULL path, bits 2-3: length = 0 (strlen), the
/// own name's length, the next byte, or the next byte minus the own
/// length), length byte, then (offset, byte) edits. The buffer is 512
/// bytes, so `length + 1` bytes are always readable as the API requires.
pub fn socket_unix(data: &[u8]) {
    if data.len() < 5 {
        return;
    }
    let fx = fixtures();
    let fds: Vec<c_int> = fx.socks.iter().map(|s| s.0).collect();
    let fd = pick_fd(data[0], &fds);
    let (ty, listening, flags, lb) = (pick_type(data[1]), pick_listening(data[2]), data[3], data[4] as usize);
    let mut buf = vec![0u8; 512];
    let own = fx.socks.iter().find(|s| s.0 == fd).map(|s| s.1.get(2..).unwrap_or(&[]).to_vec()).unwrap_or_default();
    if flags & 1 != 0 {
        buf[..own.len()].copy_from_slice(&own);
    }
    patch(&mut buf, &data[5..]);
    let len = match (flags >> 2) & 3 {
        0 => 0,
        1 => own.len(),
        2 => lb,
        _ => own.len().saturating_sub(lb % 4),
    };
    let path = if flags & 2 != 0 { std::ptr::null() } else { buf.as_ptr() as *const c_char };
    let sys = systemd();
    // SAFETY: `path` is NULL or `buf` with `len` readable bytes.
    let want = unsafe { (sys.is_socket_unix)(fd, ty, listening, path, len) };
    // SAFETY: as above.
    let got = unsafe { sd::sd_is_socket_unix(fd, ty, listening, path, len) };
    assert_eq!(want, got, "sd_is_socket_unix(fd={fd}, type={ty}, {listening}, {:?}, {len})", &buf[..len.min(120)]);
}

/// Target `fd_paths`: `sd_is_fifo`, `sd_is_special`, `sd_is_mq` with a
/// fuzzed path, against libsystemd.
///
/// Input: fd selector, flags (bit 0: start from the fixture's own path,
/// bit 1: NULL path), then the path bytes (appended; up to the first NUL).
pub fn fd_paths(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let fx = fixtures();
    let mut fds: Vec<c_int> = fx.files.iter().map(|f| f.0).collect();
    fds.push(fx.socks[0].0);
    let fd = pick_fd(data[0], &fds);
    let mut p = Vec::new();
    if data[1] & 1 != 0 {
        if let Some((_, own)) = fx.files.iter().find(|f| f.0 == fd) {
            p.extend_from_slice(own.to_bytes());
        }
    }
    p.extend(data[2..].iter().take_while(|&&b| b != 0));
    let c = CString::new(p).unwrap();
    let path = if data[1] & 2 != 0 { std::ptr::null() } else { c.as_ptr() };
    let sys = systemd();
    let pairs: [(IsPath, unsafe extern "C" fn(c_int, *const c_char) -> c_int, &str); 3] = [
        (sys.is_fifo, sd::sd_is_fifo, "fifo"),
        (sys.is_special, sd::sd_is_special, "special"),
        (sys.is_mq, sd::sd_is_mq, "mq"),
    ];
    for (a, b, what) in pairs {
        // SAFETY: `path` is NULL or a NUL-terminated string.
        let want = unsafe { a(fd, path) };
        // SAFETY: as above.
        let got = unsafe { b(fd, path) };
        assert_eq!(want, got, "sd_is_{what}(fd={fd}, {c:?})");
    }
}

/// A fuzz target: one input, compared with the oracle (panics on a difference).
pub type Target = fn(&[u8]);

/// Every target by name (for the replay test and the corpus layout).
pub const TARGETS: [(&str, Target); 9] = [
    ("address", address),
    ("listen_env", listen_env),
    ("watchdog_env", watchdog_env),
    ("notify_socket", notify_socket),
    ("sockaddr", sockaddr),
    ("socket_unix", socket_unix),
    ("fd_paths", fd_paths),
    ("names_split", names_split),
    ("systemfd_protocol", systemfd_protocol),
];

/// Target `address`: `sdfd_address_parse`. Input: one byte choosing the
/// flags (low 2 bits: 0, `SDFD_ADDRESS_PYTHON_SYSTEMD`, or 2 and 3, which
/// are invalid) and whether the rest is put after `127.0.0.1:` (bit 2), then
/// the address (up to the first NUL). Checked: the result is 0 or one of the
/// documented errnos, a sockaddr of a family the syntax allows with its
/// exact length; and for python-systemd's syntax the port after
/// `127.0.0.1:` against the oracle, libc's `strtoul(…, 0)` with
/// python-systemd's `safe_atou` rules and its 1–65535 check.
pub fn address(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else { return };
    let flags = c_int::from(sel & 3);
    let tail = rest.split(|&b| b == 0).next().unwrap_or_default();
    let text = if sel & 4 != 0 { [&b"127.0.0.1:"[..], tail].concat() } else { tail.to_vec() };
    let c = CString::new(text.clone()).unwrap();
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len: c_uint = 0;
    // SAFETY: a NUL-terminated string and two writable outputs.
    let r = unsafe { sd::sdfd_address_parse(c.as_ptr(), flags, &mut ss, &mut len) };
    let show = String::from_utf8_lossy(&text);
    if flags > 1 {
        assert_eq!(r, -libc::EINVAL, "flags {flags}: {show:?}");
        return;
    }
    let allowed: &[c_int] =
        if flags == 0 { &[0, -libc::EINVAL, -libc::ERANGE, -libc::ENODEV] } else { &[0, -libc::EINVAL, -libc::ERANGE] };
    assert!(allowed.contains(&r), "{r} for {show:?} (flags {flags})");
    if r == 0 {
        let fam = c_int::from(ss.ss_family);
        let want = match fam {
            libc::AF_INET => std::mem::size_of::<libc::sockaddr_in>(),
            libc::AF_INET6 => std::mem::size_of::<libc::sockaddr_in6>(),
            libc::AF_UNIX if flags == 0 => {
                // a path counts its NUL, an abstract name (after '@') none
                2 + text.len() + usize::from(text.first() != Some(&b'@'))
            }
            _ => panic!("family {fam} for {show:?} (flags {flags})"),
        };
        assert_eq!(len as usize, want, "length for {show:?} (flags {flags})");
    }
    if flags == 1 && sel & 4 != 0 {
        let t = CString::new(tail.to_vec()).unwrap();
        let mut end: *mut c_char = std::ptr::null_mut();
        // SAFETY: errno is this thread's; `t` is NUL-terminated.
        let (v, e) = unsafe {
            *libc::__errno_location() = 0;
            let v = libc::strtoul(t.as_ptr(), &mut end, 0);
            (v, *libc::__errno_location())
        };
        let used = end as usize - t.as_ptr() as usize;
        let want = if e != 0 {
            -e
        } else if used == 0 || used != tail.len() {
            -libc::EINVAL
        } else if tail.first() == Some(&b'-') || u32::try_from(v).is_err() {
            -libc::ERANGE
        } else if (1..=65535).contains(&v) {
            0
        } else {
            -libc::EINVAL
        };
        assert_eq!(r, want, "port {:?}: strtoul gives {v} (errno {e}, {used} of {} bytes)", show, tail.len());
        if r == 0 {
            // SAFETY: a sockaddr_in (checked above: r == 0 and this text is IPv4).
            let sin = unsafe { &*(&ss as *const _ as *const libc::sockaddr_in) };
            assert_eq!(u64::from(u16::from_be(sin.sin_port)), v as u64, "port of {show:?}");
        }
    }
}

/// Target `names_split`: `LISTEN_FDNAMES` alone, against libsystemd, with
/// `LISTEN_FDS` set to the number of fields so that the names are returned.
/// The whole input (up to the first NUL) is the value.
pub fn names_split(data: &[u8]) {
    let v = data.split(|&b| b == 0).next().unwrap_or(b"");
    let mut input = vec![0x40 | 0x10 | 1 | 2 | 4, 1, 0, 0];
    input.extend_from_slice(v);
    listen_env(&input);
}

// ---------------------------------------------------------------- systemfd

/// The model of `SYSTEMFD_SOCKET_SERVER`: (host, v6, port, scope).
fn model_server(s: &[u8]) -> Option<(Vec<u8>, bool, u16, u32)> {
    fn digits(s: &[u8], max: u64) -> Option<u64> {
        if s.is_empty() || s.len() > 10 || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let v: u64 = std::str::from_utf8(s).ok()?.parse().ok()?;
        (v <= max).then_some(v)
    }
    let colon = s.iter().rposition(|&c| c == b':')?;
    let (host, port) = (&s[..colon], &s[colon + 1..]);
    let port = digits(port, 65535)? as u16;
    if port == 0 {
        return None;
    }
    let (host, v6, scope) = if host.len() >= 2 && host[0] == b'[' && host[host.len() - 1] == b']' {
        let inner = &host[1..host.len() - 1];
        match inner.iter().position(|&c| c == b'%') {
            Some(p) => (&inner[..p], true, digits(&inner[p + 1..], u32::MAX as u64)? as u32),
            None => (inner, true, 0),
        }
    } else if host.is_empty() {
        return None;
    } else {
        (host, false, 0)
    };
    (host.len() <= 63).then(|| (host.to_vec(), v6, port, scope))
}

/// The model of `SYSTEMFD_SOCKET_SECRET`: the canonical UUID text.
fn model_secret(s: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(s).ok()?;
    let s = match s.get(..9) {
        Some(p) if s.len() == 45 && p.eq_ignore_ascii_case("urn:uuid:") => &s[9..],
        _ => s,
    };
    let s = match s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
        Some(inner) if inner.len() == 36 => inner,
        _ => s,
    };
    let hex: String = match s.len() {
        32 => s.to_string(),
        36 => {
            let parts: Vec<&str> = s.split('-').collect();
            if parts.iter().map(|p| p.len()).collect::<Vec<_>>() != [8, 4, 4, 4, 12] {
                return None;
            }
            parts.concat()
        }
        _ => return None,
    };
    if hex.len() != 32 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let h = hex.to_ascii_lowercase();
    Some(format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..]))
}

/// Target `systemfd_protocol`: the pure part of the Windows activation
/// protocol (`sdfd::systemfd_protocol`, compiled on every platform).
/// Input: `SERVER \0 SECRET \0 REPLY` (missing parts are empty); the pid
/// of the request is derived from the input's length.
///
/// References: models written here for the server and secret grammars,
/// Rust's own `SocketAddr` parser (whatever it accepts with a non-zero
/// port, a host of at most 63 bytes and numbers of at most 10 digits, the
/// protocol part must accept with the same port, family and scope), `format!` for the request, and
/// "whole 628-byte records, else EPROTO" for the reply.
pub fn systemfd_protocol(data: &[u8]) {
    use sdfd::systemfd_protocol as p;
    let mut parts = data.splitn(3, |&b| b == 0);
    let (server, secret, reply) =
        (parts.next().unwrap_or(b""), parts.next().unwrap_or(b""), parts.next().unwrap_or(b""));
    let pid = (data.len() as u32).wrapping_mul(2_654_435_761);

    let got = p::parse_server(server).ok().map(|s| (s.host.to_vec(), s.v6, s.port, s.scope_id));
    assert_eq!(got, model_server(server), "server {:?}", String::from_utf8_lossy(server));
    if let Some(a) = std::str::from_utf8(server).ok().and_then(|t| t.parse::<std::net::SocketAddr>().ok()) {
        let text = std::str::from_utf8(server).unwrap();
        let host = &text[..text.rfind(':').unwrap()];
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let (host, scope_text) = host.split_once('%').unwrap_or((host, ""));
        let port_text = &text[text.rfind(':').unwrap() + 1..];
        // (SocketAddr takes any number of leading zeros; the protocol, like
        // systemfd's own `to_string` addresses, at most 10 digits a number)
        if a.port() != 0 && host.len() <= 63 && port_text.len() <= 10 && scope_text.len() <= 10 {
            let scope = match a {
                std::net::SocketAddr::V6(v6) => v6.scope_id(),
                std::net::SocketAddr::V4(_) => 0,
            };
            let (_, v6, port, scope_id) = got.expect("SocketAddr accepts it");
            assert_eq!((v6, port, scope_id), (a.is_ipv6(), a.port(), scope), "server {text:?}");
        }
    }

    let got = p::parse_secret(secret).ok();
    let want = model_secret(secret);
    assert_eq!(
        got.map(|s| String::from_utf8(s.to_vec()).unwrap()),
        want,
        "secret {:?}",
        String::from_utf8_lossy(secret)
    );
    if let Some(canon) = got {
        assert_eq!(p::parse_secret(&canon), Ok(canon), "canonical form parses to itself");
        let (msg, len) = p::request(&canon, pid);
        assert_eq!(msg[..len], *format!("{}|{pid}", String::from_utf8_lossy(&canon)).as_bytes());
    }

    let want = if reply.len() % p::RECORD == 0 { Ok(reply.len() / p::RECORD) } else { Err(libc::EPROTO) };
    assert_eq!(p::count_records(reply).map_err(|e| e.0), want, "reply of {} bytes", reply.len());
}
