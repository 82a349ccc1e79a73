//! Windows: activated sockets from a launcher speaking the systemfd
//! protocol (systemfd, and the listenfd crate on the receiving side).
//!
//! The launcher sets `SYSTEMFD_SOCKET_SERVER` (`127.0.0.1:PORT` or
//! `[v6]:PORT`) and `SYSTEMFD_SOCKET_SECRET` (a UUID). We connect, send
//! `<secret>|<pid>`, half-close, and read one 628-byte `WSAPROTOCOL_INFOW`
//! per socket until EOF; `WSASocketW(FROM_PROTOCOL_INFO, …)` turns each
//! into a `SOCKET` of this process. The exchange happens once per process
//! (the launcher hands out fresh duplicates per request, and the variables
//! may be consumed), and its result — sockets or error — is cached.
//!
//! Results (errno values are the CRT's, returned negated by the C API):
//! * neither variable set: 0 sockets (not activated);
//! * only one of them set, or either unparsable: `EINVAL`;
//! * launcher not listening: `ECONNREFUSED`; no complete answer within
//!   [`TIMEOUT_MS`] (connect, send and read together): `ETIMEDOUT`; other
//!   network errors: the matching errno (`ECONNRESET`, …);
//! * a reply that is not a whole number of records, or a record Winsock
//!   refuses (garbage, or duplicated for another process): `EPROTO`;
//! * a rejected secret: systemfd closes the connection without a byte,
//!   which is indistinguishable from a launcher with no sockets: 0.

use core::mem::{size_of, zeroed};
use core::ptr;

use windows_sys::Wdk::Storage::FileSystem::{
    FileReplaceCompletionInformation, NtSetInformationFile, FILE_COMPLETION_INFORMATION,
};
use windows_sys::Win32::Networking::WinSock as ws;
use windows_sys::Win32::System::SystemInformation::GetTickCount64;
use windows_sys::Win32::System::Threading::GetCurrentProcessId;
use windows_sys::Win32::System::IO::IO_STATUS_BLOCK;

use super::systemfd_protocol::{next_record, parse_secret, parse_server, request, Server, MAX_HOST, RECORD};
use crate::env;
use crate::errno::{Errno, Result};
use crate::fd::RawSocket;
use crate::names::OwnedNames;
use crate::once::Once;
use crate::sys::windows as wsa;

// The record is a WSAPROTOCOL_INFOW.
const _: () = assert!(size_of::<ws::WSAPROTOCOL_INFOW>() == RECORD);

/// Bound on the whole exchange with the launcher (connect + request + reply).
pub(crate) const TIMEOUT_MS: u32 = 5000;

/// The once-per-process result.
struct Activation {
    /// 0, or the positive errno of a failed activation.
    err: i32,
    n: usize,
    /// `n` sockets (malloc'd), or NULL.
    socks: *mut RawSocket,
    /// A malloc'd copy of `LISTEN_FDNAMES` (NUL-terminated), or NULL.
    names: *mut u8,
    names_len: usize,
}

// SAFETY: the pointers are owned by the one `Activation` in `CACHE`, which
// is written once and then only read (see crate::once).
unsafe impl Send for Activation {}
// SAFETY: as for Send; shared references only read.
unsafe impl Sync for Activation {}

static CACHE: Once<Activation> = Once::new();

fn activation() -> &'static Activation {
    CACHE.get_or_init(compute)
}

fn unset_all(unset_environment: bool) {
    if unset_environment {
        env::unset(env::SYSTEMFD_SOCKET_SERVER);
        env::unset(env::SYSTEMFD_SOCKET_SECRET);
        env::unset(env::LISTEN_FDNAMES);
    }
}

/// Number of sockets the launcher passed (0: not activated). The first call
/// does the exchange; later calls return the same result.
pub(crate) fn listen_fds(unset_environment: bool) -> Result<usize> {
    let a = activation();
    unset_all(unset_environment);
    if a.err != 0 {
        return Err(Errno(a.err));
    }
    Ok(a.n)
}

/// As [`listen_fds`], with names: `LISTEN_FDNAMES` as seen at the first
/// call (split like systemd's; its count must match: else `EINVAL`), or
/// `"unknown"` for each socket (the systemfd protocol carries no names).
pub(crate) fn listen_fds_with_names(unset_environment: bool) -> Result<OwnedNames> {
    let a = activation();
    unset_all(unset_environment);
    let listed = if a.names.is_null() {
        None
    } else {
        // SAFETY: names_len bytes were copied there by `compute`.
        Some(OwnedNames::split(unsafe { core::slice::from_raw_parts(a.names, a.names_len) })?)
    };
    if a.err != 0 {
        return Err(Errno(a.err));
    }
    if a.n == 0 {
        return Ok(OwnedNames::empty());
    }
    match listed {
        Some(names) if names.len() == a.n => Ok(names),
        Some(_) => Err(Errno::EINVAL),
        None => OwnedNames::repeat(c"unknown", a.n),
    }
}

/// Socket `index` as received (ownership as for fds 3+ on Unix: the
/// program's, closing it with `closesocket`).
pub(crate) fn socket(index: usize) -> Result<RawSocket> {
    let a = activation();
    if a.err != 0 {
        return Err(Errno(a.err));
    }
    if index >= a.n {
        return Err(Errno::ENXIO);
    }
    // SAFETY: index < n and socks holds n entries.
    Ok(unsafe { *a.socks.add(index) })
}

fn compute() -> Activation {
    let (names, names_len) = copy_names();
    let mut a = Activation { err: 0, n: 0, socks: ptr::null_mut(), names, names_len };
    match receive() {
        Ok((socks, n)) => {
            a.socks = socks;
            a.n = n;
        }
        Err(e) => a.err = e.0,
    }
    a
}

fn copy_names() -> (*mut u8, usize) {
    let Some(v) = env::get(env::LISTEN_FDNAMES) else {
        return (ptr::null_mut(), 0);
    };
    let b = v.to_bytes();
    // SAFETY: malloc of len+1; NULL is handled (names then count as unset,
    // which can only make with_names answer "unknown").
    let p = unsafe { libc::malloc(b.len() + 1) } as *mut u8;
    if p.is_null() {
        return (ptr::null_mut(), 0);
    }
    // SAFETY: p has len+1 bytes.
    unsafe {
        ptr::copy_nonoverlapping(b.as_ptr(), p, b.len());
        *p.add(b.len()) = 0;
    }
    (p, b.len())
}

/// The launcher's address ([`Server`], checked by the protocol's pure
/// part) as a `SOCKADDR_STORAGE`; `EINVAL` when `inet_pton` refuses the
/// host text.
fn to_sockaddr(server: &Server<'_>) -> Result<ws::SOCKADDR_STORAGE> {
    // SAFETY: SOCKADDR_STORAGE is plain old data.
    let mut ss: ws::SOCKADDR_STORAGE = unsafe { zeroed() };
    // The text, NUL-terminated (parse_server keeps it within MAX_HOST).
    let mut text = [0u8; MAX_HOST + 1];
    text.get_mut(..server.host.len()).ok_or(Errno::EINVAL)?.copy_from_slice(server.host);
    if server.v6 {
        // SAFETY: storage is larger than and aligned for SOCKADDR_IN6.
        let sin6 = unsafe { &mut *(&mut ss as *mut _ as *mut ws::SOCKADDR_IN6) };
        sin6.sin6_family = ws::AF_INET6;
        sin6.sin6_port = server.port.to_be();
        // SAFETY: text is NUL-terminated; the out-buffer is an IN6_ADDR.
        if unsafe { ws::inet_pton(ws::AF_INET6 as i32, text.as_ptr(), &mut sin6.sin6_addr as *mut _ as *mut _) } != 1 {
            return Err(Errno::EINVAL);
        }
        sin6.Anonymous.sin6_scope_id = server.scope_id;
    } else {
        // SAFETY: as above, for SOCKADDR_IN.
        let sin = unsafe { &mut *(&mut ss as *mut _ as *mut ws::SOCKADDR_IN) };
        sin.sin_family = ws::AF_INET;
        sin.sin_port = server.port.to_be();
        // SAFETY: as above, an IN_ADDR.
        if unsafe { ws::inet_pton(ws::AF_INET as i32, text.as_ptr(), &mut sin.sin_addr as *mut _ as *mut _) } != 1 {
            return Err(Errno::EINVAL);
        }
    }
    Ok(ss)
}

/// An owned SOCKET, closed on drop.
struct Sock(ws::SOCKET);

impl Drop for Sock {
    fn drop(&mut self) {
        // SAFETY: we own the handle.
        unsafe { ws::closesocket(self.0) };
    }
}

/// Sockets received so far (malloc'd array), closed on drop unless taken.
struct Received {
    p: *mut RawSocket,
    n: usize,
    cap: usize,
}

impl Received {
    fn push(&mut self, s: RawSocket) -> Result<()> {
        if self.n == self.cap {
            let cap = if self.cap == 0 { 8 } else { self.cap * 2 };
            // SAFETY: realloc of a malloc'd (or NULL) block; size is small
            // (cap <= 2 * systemfd_protocol::MAX_SOCKETS).
            let p = unsafe { libc::realloc(self.p as *mut _, cap * size_of::<RawSocket>()) } as *mut RawSocket;
            if p.is_null() {
                // SAFETY: s is ours.
                unsafe { ws::closesocket(s) };
                return Err(Errno::ENOMEM);
            }
            self.p = p;
            self.cap = cap;
        }
        // SAFETY: n < cap.
        unsafe { *self.p.add(self.n) = s };
        self.n += 1;
        Ok(())
    }

    fn take(mut self) -> (*mut RawSocket, usize) {
        let r = (self.p, self.n);
        self.p = ptr::null_mut();
        self.n = 0;
        r
    }
}

impl Drop for Received {
    fn drop(&mut self) {
        // SAFETY: the first n entries are sockets we own; p is malloc'd or NULL.
        unsafe {
            for i in 0..self.n {
                ws::closesocket(*self.p.add(i));
            }
            libc::free(self.p as *mut _);
        }
    }
}

fn receive() -> Result<(*mut RawSocket, usize)> {
    let server = env::get(env::SYSTEMFD_SOCKET_SERVER);
    let secret = env::get(env::SYSTEMFD_SOCKET_SECRET);
    let (server, secret) = match (server, secret) {
        (None, None) => return Ok((ptr::null_mut(), 0)),
        (Some(a), Some(b)) => (a, b),
        _ => return Err(Errno::EINVAL),
    };
    let addr = to_sockaddr(&parse_server(server.to_bytes())?)?;
    let secret = parse_secret(secret.to_bytes())?;
    wsa::startup()?;

    // SAFETY: no preconditions.
    let deadline = unsafe { GetTickCount64() } + TIMEOUT_MS as u64;
    let ctl = connect(&addr, deadline)?;

    // "<secret>|<pid>", then half-close: the server reads to EOF.
    // SAFETY: no preconditions.
    let (msg, len) = request(&secret, unsafe { GetCurrentProcessId() });
    send_all(&ctl, &msg[..len], deadline)?;
    // SAFETY: ctl is a connected socket.
    if unsafe { ws::shutdown(ctl.0, ws::SD_SEND) } != 0 {
        return Err(wsa::last());
    }

    let mut got = Received { p: ptr::null_mut(), n: 0, cap: 0 };
    let mut rec = [0u8; RECORD];
    loop {
        let n = recv_full(&ctl, &mut rec, deadline)?;
        if !next_record(n, got.n)? {
            break;
        }
        got.push(from_protocol_info(&rec)?)?;
    }
    Ok(got.take())
}

fn remaining_ms(deadline: u64) -> Result<u32> {
    // SAFETY: no preconditions.
    let now = unsafe { GetTickCount64() };
    if now >= deadline {
        return Err(Errno(libc::ETIMEDOUT));
    }
    Ok((deadline - now).min(TIMEOUT_MS as u64) as u32)
}

/// Wait until `s` is readable (`read`) or writable, before the deadline
/// (`select`: socket timeouts are not honoured by every Winsock, e.g. wine's).
fn wait_ready(s: &Sock, read: bool, deadline: u64) -> Result<()> {
    let ms = remaining_ms(deadline)?;
    let tv = ws::TIMEVAL { tv_sec: (ms / 1000) as i32, tv_usec: ((ms % 1000) * 1000) as i32 };
    // SAFETY: FD_SET is plain old data; one socket in the set.
    let mut set: ws::FD_SET = unsafe { zeroed() };
    set.fd_count = 1;
    set.fd_array[0] = s.0;
    let (r, w) = if read { (&mut set as *mut _, ptr::null_mut()) } else { (ptr::null_mut(), &mut set as *mut _) };
    // SAFETY: valid set and timeout.
    match unsafe { ws::select(0, r, w, ptr::null_mut(), &tv) } {
        n if n < 0 => Err(wsa::last()),
        0 => Err(Errno(libc::ETIMEDOUT)),
        _ => Ok(()),
    }
}

/// A non-inheritable TCP connection to the launcher, established before
/// the deadline (non-blocking connect + select), then blocking again.
fn connect(addr: &ws::SOCKADDR_STORAGE, deadline: u64) -> Result<Sock> {
    let family = addr.ss_family as i32;
    // SAFETY: plain socket creation.
    let s = unsafe {
        ws::WSASocketW(family, ws::SOCK_STREAM, ws::IPPROTO_TCP, ptr::null(), 0, ws::WSA_FLAG_NO_HANDLE_INHERIT)
    };
    if s == ws::INVALID_SOCKET {
        return Err(wsa::last());
    }
    let s = Sock(s);
    let len = if family == ws::AF_INET6 as i32 { size_of::<ws::SOCKADDR_IN6>() } else { size_of::<ws::SOCKADDR_IN>() };
    let mut on: u32 = 1;
    // SAFETY: FIONBIO takes a u32 flag.
    if unsafe { ws::ioctlsocket(s.0, ws::FIONBIO, &mut on) } != 0 {
        return Err(wsa::last());
    }
    // SAFETY: addr holds a sockaddr of `len` bytes.
    if unsafe { ws::connect(s.0, addr as *const _ as *const ws::SOCKADDR, len as i32) } != 0 {
        // SAFETY: WSAGetLastError reads this thread's last error.
        let e = unsafe { ws::WSAGetLastError() };
        if e != ws::WSAEWOULDBLOCK {
            return Err(wsa::from_wsa(e));
        }
        let ms = remaining_ms(deadline)?;
        let tv = ws::TIMEVAL { tv_sec: (ms / 1000) as i32, tv_usec: ((ms % 1000) * 1000) as i32 };
        // SAFETY: FD_SET is plain old data; one socket in each set.
        let mut wr: ws::FD_SET = unsafe { zeroed() };
        // SAFETY: as above.
        let mut ex: ws::FD_SET = unsafe { zeroed() };
        wr.fd_count = 1;
        wr.fd_array[0] = s.0;
        ex.fd_count = 1;
        ex.fd_array[0] = s.0;
        // SAFETY: valid sets and timeout.
        let r = unsafe { ws::select(0, ptr::null_mut(), &mut wr, &mut ex, &tv) };
        if r < 0 {
            return Err(wsa::last());
        }
        if r == 0 {
            return Err(Errno(libc::ETIMEDOUT));
        }
        let mut err: i32 = 0;
        let mut l = size_of::<i32>() as i32;
        // SAFETY: an int option value.
        if unsafe { ws::getsockopt(s.0, ws::SOL_SOCKET, ws::SO_ERROR, &mut err as *mut i32 as *mut u8, &mut l) } != 0 {
            return Err(wsa::last());
        }
        if err != 0 {
            return Err(wsa::from_wsa(err));
        }
        // SAFETY: as above.
        if ex.fd_count != 0 && unsafe { ws::__WSAFDIsSet(s.0, &mut ex) } != 0 {
            return Err(Errno(libc::ECONNREFUSED));
        }
    }
    let mut off: u32 = 0;
    // SAFETY: as above.
    if unsafe { ws::ioctlsocket(s.0, ws::FIONBIO, &mut off) } != 0 {
        return Err(wsa::last());
    }
    Ok(s)
}

fn send_all(s: &Sock, mut data: &[u8], deadline: u64) -> Result<()> {
    while !data.is_empty() {
        wait_ready(s, false, deadline)?;
        // SAFETY: data is readable for its length (< 64 bytes).
        let n = unsafe { ws::send(s.0, data.as_ptr(), data.len() as i32, 0) };
        if n <= 0 {
            return Err(wsa::last());
        }
        data = &data[n as usize..];
    }
    Ok(())
}

/// Fill `buf` or stop at EOF; returns the bytes read (0: clean EOF).
fn recv_full(s: &Sock, buf: &mut [u8; RECORD], deadline: u64) -> Result<usize> {
    let mut have = 0;
    while have < RECORD {
        wait_ready(s, true, deadline)?;
        // SAFETY: the rest of buf is writable.
        let n = unsafe { ws::recv(s.0, buf.as_mut_ptr().add(have), (RECORD - have) as i32, 0) };
        if n < 0 {
            return Err(wsa::last());
        }
        if n == 0 {
            break;
        }
        have += n as usize;
    }
    Ok(have)
}

/// One record → a SOCKET of this process: overlapped (as `socket()` makes
/// them), not inherited by child processes (the Windows counterpart of
/// `FD_CLOEXEC`), and detached from any I/O completion port of the
/// launcher (as listenfd does; Windows 8.1+, ignored where unsupported).
fn from_protocol_info(rec: &[u8; RECORD]) -> Result<RawSocket> {
    // SAFETY: WSAPROTOCOL_INFOW is plain old data of exactly RECORD bytes.
    let info: ws::WSAPROTOCOL_INFOW = unsafe { ptr::read_unaligned(rec.as_ptr() as *const ws::WSAPROTOCOL_INFOW) };
    let fpi = ws::FROM_PROTOCOL_INFO;
    let mut s =
        // SAFETY: `info` is a whole WSAPROTOCOL_INFOW read from the record; no other pointer.
        unsafe { ws::WSASocketW(fpi, fpi, fpi, &info, 0, ws::WSA_FLAG_OVERLAPPED | ws::WSA_FLAG_NO_HANDLE_INHERIT) };
    // SAFETY: WSAGetLastError reads this thread's last error.
    if s == ws::INVALID_SOCKET && unsafe { ws::WSAGetLastError() } == ws::WSAEINVAL {
        // Before Windows 7 SP1 the no-inherit flag is unknown.
        // SAFETY: as above.
        s = unsafe { ws::WSASocketW(fpi, fpi, fpi, &info, 0, ws::WSA_FLAG_OVERLAPPED) };
    }
    if s == ws::INVALID_SOCKET {
        // SAFETY: no preconditions.
        return Err(match unsafe { ws::WSAGetLastError() } {
            ws::WSAEMFILE => Errno(libc::EMFILE),
            ws::WSAENOBUFS => Errno::ENOBUFS,
            ws::WSANOTINITIALISED | ws::WSAENETDOWN => Errno(libc::ENETDOWN),
            _ => Errno(libc::EPROTO),
        });
    }
    // A SOCKET that is not one (wine hands back the raw handle value of a
    // record duplicated for another process) is refused. It is not closed:
    // that value may name an unrelated handle of this process.
    let mut ty: i32 = 0;
    let mut l = size_of::<i32>() as i32;
    // SAFETY: an int option value.
    if unsafe { ws::getsockopt(s, ws::SOL_SOCKET, ws::SO_TYPE, &mut ty as *mut i32 as *mut u8, &mut l) } != 0
        || ty != info.iSocketType
    {
        return Err(Errno(libc::EPROTO));
    }
    // SAFETY: IO_STATUS_BLOCK is plain old data; all-zero is valid.
    let mut iosb: IO_STATUS_BLOCK = unsafe { zeroed() };
    let fci = FILE_COMPLETION_INFORMATION { Port: ptr::null_mut(), Key: ptr::null_mut() };
    // SAFETY: valid handle, status block and information of the stated size.
    unsafe {
        NtSetInformationFile(
            s as _,
            &mut iosb,
            &fci as *const _ as *const _,
            size_of::<FILE_COMPLETION_INFORMATION>() as u32,
            FileReplaceCompletionInformation,
        );
    }
    Ok(s)
}

/// Which names [`activate_socket`] has handed out.
static TAKEN: crate::byname::Taken = crate::byname::Taken::new();

/// The received sockets named `name` (names from `LISTEN_FDNAMES`, else
/// `"unknown"`), once per name: as on Unix, `ESRCH` when nothing was
/// received, `ENOENT`/`EALREADY` from the shared lookup.
pub(crate) fn activate_socket(name: &core::ffi::CStr) -> Result<crate::byname::SocketArray> {
    let names = listen_fds_with_names(false)?;
    if names.is_empty() {
        return Err(Errno::ESRCH);
    }
    let mut found = crate::byname::sockets_named(&names, name, 0, &TAKEN)?;
    for slot in found.as_mut_slice() {
        *slot = socket(*slot)?;
    }
    Ok(found)
}
