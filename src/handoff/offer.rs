//! The offering side: the socket placed at the path without touching any
//! other file, the peer check, and the exchange up to the acknowledgement.

use super::*;

/// Offer `fds`, named `names` (one each, `LISTEN_FDNAMES` rules), to one
/// successor on the unix socket `path`, waiting up to `timeout_usec` µs
/// ([`INFINITY`]: no limit) for it to connect and acknowledge (0: one
/// look for a successor already waiting; the exchange with it then has 1 s).
///
/// Only a peer whose effective uid is this process's effective uid or
/// `allowed_uid` is served; any other is refused (it gets a refusal and
/// the offer goes on waiting). `path` is created (mode 0600, or 0666 when
/// `allowed_uid` is given: the peer check decides) and removed again
/// before the call returns, only while it is still our socket; an existing
/// file there is `EADDRINUSE` and is left alone. No other file's mode ever
/// changes (the socket is bound and its mode set in a private directory,
/// then linked to `path`). `@name` is a name in the abstract namespace
/// (Linux; no file, the peer check is the only gate). The descriptors are sent as duplicates: this process keeps
/// them open whatever happens, and on any error it can simply go on
/// serving.
///
/// Errors: `EINVAL` (no fds, a NULL or invalid name, an empty path),
/// `E2BIG` (more than [`HANDOFF_MAX_FDS`]), `EBADF` (an fd not open),
/// `ENAMETOOLONG` (path), `EADDRINUSE` (path exists), `EPERM` (the
/// private directory was tampered with), `ETIMEDOUT`,
/// `ECONNABORTED` (the successor went away before acknowledging),
/// `EPROTO` (it sent something else than the acknowledgement), or the
/// error of a system call (`EACCES` creating the path, ...).
pub fn offer(
    path: &CStr,
    fds: &[RawFd],
    names: BorrowedNames<'_>,
    timeout_usec: u64,
    allowed_uid: Option<libc::uid_t>,
) -> Result<()> {
    check_fds_and_names(fds, names)?;
    let deadline = Deadline::after(timeout_usec);
    unix_addr(path)?;
    let listener = unix_socket()?;
    // The path (if any) is ours from here on: removed on every return, if
    // it is still our socket.
    let _placed = if is_abstract(path) {
        bind_to(listener.0, path)?;
        // SAFETY: our socket.
        if unsafe { libc::listen(listener.0, 8) } < 0 {
            return Err(last());
        }
        None
    } else {
        Some(bind_path(listener.0, path, if allowed_uid.is_some() { 0o666 } else { 0o600 })?)
    };
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    loop {
        wait(listener.0, libc::POLLIN, deadline)?;
        let conn = match accept(listener.0) {
            Ok(c) => c,
            Err(e) if e == Errno(libc::EAGAIN) || e == Errno(libc::EINTR) || e == Errno(libc::ECONNABORTED) => continue,
            Err(e) => return Err(e),
        };
        let uid = match peer_uid(conn.0) {
            Ok(u) => u,
            Err(_) => continue,
        };
        if uid != me && Some(uid) != allowed_uid {
            // Best effort: the refused peer learns why, without blocking us.
            let h = header(STATUS_REFUSED, 0, 0);
            // SAFETY: h is readable.
            unsafe { libc::send(conn.0, h.as_ptr() as *const c_void, h.len(), SEND_FLAGS) };
            continue;
        }
        return serve(conn.0, fds, names, exchange_deadline(timeout_usec, deadline));
    }
}

/// Where the offer's socket lives: a file-system path (created through a
/// private directory, see [`PlacedPath`]) or, for `@name` on Linux, a name
/// in the abstract namespace (no file at all).
pub(super) fn is_abstract(path: &CStr) -> bool {
    path.to_bytes().first() == Some(&b'@')
}

/// A file's identity, `(dev, ino)`, widened to 64 bits: `fstat` and
/// `fstatat` answer in different `struct stat`s on 32-bit glibc.
type FileId = (u64, u64);

/// `(dev, ino)` of `name` in the directory `dir`, not following a symlink, and its mode.
pub(super) fn id_at(dir: c_int, name: &CStr) -> Result<(u64, u64, libc::mode_t)> {
    let st = crate::sys::stat_in(dir, name, libc::AT_SYMLINK_NOFOLLOW)?;
    // (already u64 on most targets)
    #[allow(clippy::unnecessary_cast)]
    Ok((st.st_dev as u64, st.st_ino as u64, st.st_mode))
}

#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) const DIR_OPEN_FLAGS: c_int = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(super) const DIR_OPEN_FLAGS: c_int = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;

/// A short NUL-terminated byte string on the stack (paths that fit
/// `sun_path`, so 108 bytes plus a little).
pub(super) struct Short {
    buf: [u8; 160],
    len: usize,
}

impl Short {
    fn new() -> Short {
        Short { buf: [0; 160], len: 0 }
    }
    fn push(&mut self, b: &[u8]) -> Result<()> {
        for &c in b {
            // keep one byte for the NUL
            if self.len.wrapping_add(1) >= self.buf.len() {
                return Err(Errno::ENAMETOOLONG);
            }
            if let Some(d) = self.buf.get_mut(self.len) {
                *d = c;
            }
            self.len = self.len.wrapping_add(1);
        }
        if let Some(z) = self.buf.get_mut(self.len) {
            *z = 0;
        }
        Ok(())
    }
    fn num(&mut self, v: u64) -> Result<()> {
        let mut d = [0u8; 24];
        self.push(itoa(v, &mut d).to_bytes())
    }
    fn cstr(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.buf[..]).unwrap_or(c"")
    }
}

/// The offer's socket node at `path`, created so that no other file can
/// change: the socket is bound inside a fresh directory of ours (mode 0700,
/// checked by owner and mode through its descriptor, in the path's own
/// directory so that a hard link can move it), its mode set there, and
/// then hard-linked to the path (`linkat` never follows or replaces what
/// is there: an existing name is `EADDRINUSE`). The private directory is
/// gone before the offer waits. On drop the path is removed only while it
/// is still our socket node (same device and inode).
pub(super) struct PlacedPath {
    dir: Fd,
    base: Short,
    id: Option<FileId>,
}

impl Drop for PlacedPath {
    fn drop(&mut self) {
        if let Some((dev, ino)) = self.id {
            if let Ok((d, i, _)) = id_at(self.dir.0, self.base.cstr()) {
                if d == dev && i == ino {
                    let _ = crate::sys::unlink_in(self.dir.0, self.base.cstr(), 0);
                }
            }
        }
    }
}

/// A private directory in `parent`: removed (with the socket `s` in it)
/// when dropped, if it is still ours.
pub(super) struct PrivateDir<'a> {
    parent: &'a Fd,
    name: Short,
    fd: Fd,
    id: FileId,
    ours: bool,
}

impl Drop for PrivateDir<'_> {
    fn drop(&mut self) {
        if !self.ours {
            return;
        }
        // Only an entry of our own 0700 directory and that directory itself
        // (while it is still the one we created) are removed.
        let _ = crate::sys::unlink_in(self.fd.0, c"s", 0);
        if let Ok((d, i, _)) = id_at(self.parent.0, self.name.cstr()) {
            if (d, i) == self.id {
                let _ = crate::sys::unlink_in(self.parent.0, self.name.cstr(), libc::AT_REMOVEDIR);
            }
        }
    }
}

/// Bind `listener` at `path` with `mode` (see [`PlacedPath`]) and start
/// listening.
pub(super) fn bind_path(listener: c_int, path: &CStr, mode: libc::mode_t) -> Result<PlacedPath> {
    let (dir_bytes, base_bytes) = split_path(path.to_bytes());
    if base_bytes.is_empty() {
        return Err(Errno::EINVAL);
    }
    let mut dir_name = Short::new();
    dir_name.push(dir_bytes)?;
    let mut base = Short::new();
    base.push(base_bytes)?;
    let parent = Fd(crate::sys::open_in(libc::AT_FDCWD, dir_name.cstr(), DIR_OPEN_FLAGS)?);
    // Anything at the path (a stale socket, a symlink, ...) is left alone.
    match id_at(parent.0, base.cstr()) {
        Ok(_) => return Err(Errno(libc::EADDRINUSE)),
        Err(e) if e == Errno::ENOENT => {}
        Err(e) => return Err(e),
    }
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    let private = {
        let mut tries = 0u32;
        loop {
            let mut name = Short::new();
            name.push(b".sdfd-offer.")?;
            name.num(crate::sys::getpid() as u64)?;
            name.push(b".")?;
            name.num(now_usec() ^ u64::from(tries))?;
            let e = match crate::sys::mkdir_in(parent.0, name.cstr(), 0o700) {
                Ok(()) => break name,
                Err(e) => e,
            };
            tries = tries.wrapping_add(1);
            if e != Errno(libc::EEXIST) || tries > 16 {
                return Err(e);
            }
        }
    };
    #[allow(clippy::unnecessary_cast)]
    let file_id = |st: &crate::sys::Stat| (st.st_dev as u64, st.st_ino as u64);
    let tfd = Fd(crate::sys::open_in(parent.0, private.cstr(), DIR_OPEN_FLAGS | libc::O_NOFOLLOW)?);
    let st = crate::sys::fstat(tfd.0)?;
    // Someone swapped the directory between mkdirat and openat: not ours,
    // not touched (the one we made stays behind rather than risk it).
    let ours = st.st_mode & libc::S_IFMT == libc::S_IFDIR && st.st_uid == me && st.st_mode & 0o077 == 0;
    let tmp = PrivateDir { parent: &parent, name: private, fd: tfd, id: file_id(&st), ours };
    if !tmp.ours {
        return Err(Errno(libc::EPERM));
    }
    // Bind inside it: on Linux through /proc/self/fd (the directory we
    // checked, whatever happens to names), else by name, checked below.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let mut bound = {
        let mut via = Short::new();
        via.push(b"/proc/self/fd/")?;
        via.num(tmp.fd.0 as u64)?;
        via.push(b"/s")?;
        bind_to(listener, via.cstr())
    };
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let mut bound = Err(Errno::ENOENT);
    if bound == Err(Errno::ENOENT) {
        let mut by_name = Short::new();
        by_name.push(dir_bytes)?;
        by_name.push(b"/")?;
        by_name.push(tmp.name.cstr().to_bytes())?;
        by_name.push(b"/s")?;
        bound = bind_to(listener, by_name.cstr());
    }
    bound?;
    // What is called "s" in our 0700 directory is the socket we bound
    // (nobody else can create it): anything else means the bind went
    // elsewhere.
    let (dev, ino, m) = id_at(tmp.fd.0, c"s")?;
    if m & libc::S_IFMT != libc::S_IFSOCK {
        return Err(Errno(libc::EPERM));
    }
    // The socket node, by name in our private directory.
    crate::sys::chmod_in(tmp.fd.0, c"s", mode)?;
    // SAFETY: our socket.
    if unsafe { libc::listen(listener, 8) } < 0 {
        return Err(last());
    }
    // linkat neither follows nor replaces an existing name.
    if let Err(e) = crate::sys::link_in(tmp.fd.0, c"s", parent.0, base.cstr()) {
        return Err(if e == Errno(libc::EEXIST) { Errno(libc::EADDRINUSE) } else { e });
    }
    drop(tmp);
    Ok(PlacedPath { dir: parent, base, id: Some((dev, ino)) })
}

/// The directory part and the last component of `p` (`"."` for a bare name).
pub(super) fn split_path(p: &[u8]) -> (&[u8], &[u8]) {
    match p.iter().rposition(|&c| c == b'/') {
        Some(0) => (&b"/"[..], p.get(1..).unwrap_or(&[])),
        Some(i) => (p.get(..i).unwrap_or(&[]), p.get(i.wrapping_add(1)..).unwrap_or(&[])),
        None => (&b"."[..], p),
    }
}

pub(super) fn bind_to(s: c_int, path: &CStr) -> Result<()> {
    let (addr, len) = unix_addr(path)?;
    // SAFETY: addr is a valid sockaddr_un of `len` bytes.
    if unsafe { libc::bind(s, &addr as *const libc::sockaddr_un as *const libc::sockaddr, len) } < 0 {
        return Err(last());
    }
    Ok(())
}

pub(super) fn accept(l: c_int) -> Result<Fd> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        crate::sys::accept_cloexec_nonblock(l).map(Fd)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        // SAFETY: NULL address pointers are allowed.
        let c = Fd(unsafe { libc::accept(l, core::ptr::null_mut(), core::ptr::null_mut()) });
        if c.0 < 0 {
            return Err(last());
        }
        prepare_socket(c.0)?;
        Ok(c)
    }
}

/// Send everything to the accepted successor and wait for its ack.
pub(super) fn serve(conn: c_int, fds: &[RawFd], names: BorrowedNames<'_>, deadline: Deadline) -> Result<()> {
    let n = fds.len();
    let mut names_len = 0usize;
    for i in 0..n {
        let name = names.get(i, n).ok_or(Errno::EINVAL)?;
        names_len = names_len.wrapping_add(name.to_bytes_with_nul().len());
    }
    send_all(conn, &header(STATUS_OK, n as u32, names_len as u32), deadline)?;
    for i in 0..n {
        let name = names.get(i, n).ok_or(Errno::EINVAL)?;
        send_all(conn, name.to_bytes_with_nul(), deadline)?;
    }
    for chunk in fds.chunks(FDS_PER_MSG) {
        send_fds(conn, chunk, deadline)?;
    }
    let mut ack = [0u8; 8];
    recv_exact(conn, &mut ack, deadline)?;
    if &ack != ACK {
        return Err(Errno(libc::EPROTO));
    }
    Ok(())
}
