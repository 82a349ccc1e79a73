//! The systemfd protocol, server side (what `systemfd` serves and the
//! listenfd crate and sdfd's Windows backend ask): the child connects to
//! `SYSTEMFD_SOCKET_SERVER` (a loopback port of the launcher), sends
//! `<secret>|<pid>` and half-closes; the launcher checks the secret (a
//! random UUID, `SYSTEMFD_SOCKET_SECRET`) and the pid (a process in the
//! launcher's job: its child or one of the child's descendants), answers
//! one `WSAPROTOCOL_INFOW` per socket, in `-l` order, made by
//! `WSADuplicateSocketW` for that pid, and closes. A refused request is
//! closed without a byte (as systemfd does) and logged. Each request has
//! its own thread and a 5-second bound, so a client that connects and says
//! nothing holds up no one.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
use windows_sys::Win32::Networking::WinSock as ws;
use windows_sys::Win32::Security::Cryptography::{BCryptGenRandom, BCRYPT_USE_SYSTEM_PREFERRED_RNG};
use windows_sys::Win32::System::JobObjects::IsProcessInJob;
use windows_sys::Win32::System::Threading::{OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION};

/// Longest request read: a braced UUID, '|' and a 10-digit pid fit easily.
const MAX_REQUEST: u64 = 128;
const TIMEOUT: Duration = Duration::from_secs(5);
const RECORD: usize = std::mem::size_of::<ws::WSAPROTOCOL_INFOW>();

pub struct Server {
    address: String,
    secret: String,
    child: Arc<AtomicU32>,
}

struct Shared {
    socks: Vec<ws::SOCKET>,
    secret: String,
    job: usize,
    child: Arc<AtomicU32>,
    quiet: bool,
}

/// A version 4 UUID from the system's random generator, lower case.
fn new_secret() -> Result<String, String> {
    let mut b = [0u8; 16];
    // SAFETY: b is writable for its length; no algorithm handle with this flag.
    let st =
        unsafe { BCryptGenRandom(std::mem::zeroed(), b.as_mut_ptr(), b.len() as u32, BCRYPT_USE_SYSTEM_PREFERRED_RNG) };
    if st < 0 {
        return Err(format!("BCryptGenRandom failed: NTSTATUS {st:#x}"));
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..]))
}

impl Server {
    /// Listen on a loopback port and serve `socks` (owned by the caller for
    /// the life of the process) from a thread.
    pub fn start(socks: Vec<ws::SOCKET>, job: usize, quiet: bool) -> Result<Server, String> {
        let l =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| format!("cannot open the socket server: {e}"))?;
        let address = l.local_addr().map_err(|e| format!("cannot open the socket server: {e}"))?.to_string();
        let secret = new_secret()?;
        let child = Arc::new(AtomicU32::new(0));
        let sh = Arc::new(Shared { socks, secret: secret.clone(), job, child: child.clone(), quiet });
        let spawned = std::thread::Builder::new().spawn(move || {
            for c in l.incoming() {
                let Ok(c) = c else {
                    // Out of handles or memory: try again later, not in a busy loop.
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                };
                let sh = sh.clone();
                // No thread (out of resources): the connection is dropped,
                // and the client sees it closed without a byte.
                let _ = std::thread::Builder::new().spawn(move || sh.serve(c));
            }
        });
        spawned.map_err(|e| format!("cannot start the socket server: {e}"))?;
        Ok(Server { address, secret, child })
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// The pid of the current child (always allowed, even if the job check
    /// cannot be made).
    pub fn set_child(&self, pid: u32) {
        self.child.store(pid, Ordering::SeqCst);
    }
}

impl Shared {
    fn refuse(&self, why: &str) {
        if !self.quiet {
            crate::say!("refused a socket request: {why}");
        }
    }

    fn pid_allowed(&self, pid: u32) -> bool {
        if pid != 0 && pid == self.child.load(Ordering::SeqCst) {
            return true;
        }
        // SAFETY: OpenProcess/IsProcessInJob/CloseHandle on handles we own.
        unsafe {
            let h: HANDLE = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
            if h.is_null() {
                return false;
            }
            let mut inside = 0;
            let ok = IsProcessInJob(h, self.job as HANDLE, &mut inside) != 0 && inside != 0;
            CloseHandle(h);
            ok
        }
    }

    fn serve(&self, mut c: TcpStream) {
        let _ = c.set_read_timeout(Some(TIMEOUT));
        let _ = c.set_write_timeout(Some(TIMEOUT));
        let mut req = Vec::new();
        if let Err(e) = (&mut c).take(MAX_REQUEST + 1).read_to_end(&mut req) {
            return self.refuse(&format!("no complete request ({e})"));
        }
        if req.len() as u64 > MAX_REQUEST {
            return self.refuse("request too long");
        }
        let req = String::from_utf8_lossy(&req);
        let Some((secret, pid)) = req.split_once('|') else {
            return self.refuse("not <secret>|<pid>");
        };
        if secret != self.secret {
            return self.refuse("wrong secret");
        }
        let Ok(pid) = pid.trim().parse::<u32>() else {
            return self.refuse(&format!("bad pid '{pid}'"));
        };
        if !self.pid_allowed(pid) {
            return self.refuse(&format!("pid {pid} is not the launcher's child or its descendant"));
        }
        let mut out = Vec::with_capacity(RECORD * self.socks.len());
        for &s in &self.socks {
            // SAFETY: plain data, filled by the call.
            let mut info: ws::WSAPROTOCOL_INFOW = unsafe { std::mem::zeroed() };
            // SAFETY: s is a socket open for the life of the process.
            if unsafe { ws::WSADuplicateSocketW(s, pid, &mut info) } != 0 {
                // SAFETY: no preconditions.
                let e = unsafe { ws::WSAGetLastError() };
                return self.refuse(&format!(
                    "WSADuplicateSocketW for pid {pid} failed: {}",
                    std::io::Error::from_raw_os_error(e)
                ));
            }
            // SAFETY: info is RECORD bytes of plain data.
            out.extend_from_slice(unsafe { std::slice::from_raw_parts(&info as *const _ as *const u8, RECORD) });
        }
        let _ = c.write_all(&out);
    }
}
