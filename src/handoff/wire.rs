//! The hand-off wire format, version 1 (docs/handoff.md): sending and
//! receiving the header, the name block, the descriptor messages and the
//! acknowledgement, each bounded by a deadline.

use super::*;

/// Send all of `buf` before the deadline.
pub(super) fn send_all(s: c_int, mut buf: &[u8], deadline: Deadline) -> Result<()> {
    while !buf.is_empty() {
        wait(s, libc::POLLOUT, deadline)?;
        // SAFETY: buf is readable for its length.
        let r = unsafe { libc::send(s, buf.as_ptr() as *const c_void, buf.len(), SEND_FLAGS) };
        if r < 0 {
            let e = last();
            if e == Errno(libc::EAGAIN) || e == Errno(libc::EINTR) {
                continue;
            }
            return Err(broken(e));
        }
        buf = buf.get(r as usize..).unwrap_or(&[]);
    }
    Ok(())
}

/// Fill `buf` before the deadline; end of stream is `ECONNABORTED`.
pub(super) fn recv_exact(s: c_int, buf: &mut [u8], deadline: Deadline) -> Result<()> {
    let mut got = 0usize;
    while got < buf.len() {
        wait(s, libc::POLLIN, deadline)?;
        let rest = buf.get_mut(got..).unwrap_or(&mut []);
        // SAFETY: rest is writable for its length.
        let r = unsafe { libc::recv(s, rest.as_mut_ptr() as *mut c_void, rest.len(), 0) };
        if r < 0 {
            let e = last();
            if e == Errno(libc::EAGAIN) || e == Errno(libc::EINTR) {
                continue;
            }
            return Err(broken(e));
        }
        if r == 0 {
            return Err(Errno(libc::ECONNABORTED));
        }
        got = got.wrapping_add(r as usize);
    }
    Ok(())
}

/// The peer went away: every flavour of it is `ECONNABORTED`.
pub(super) fn broken(e: Errno) -> Errno {
    if e == Errno(libc::EPIPE) || e == Errno(libc::ECONNRESET) {
        Errno(libc::ECONNABORTED)
    } else {
        e
    }
}

pub(super) fn header(status: u8, n: u32, names_len: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    for (d, s) in h.iter_mut().zip(MAGIC.iter().chain(&[HANDOFF_VERSION, status])) {
        *d = *s;
    }
    for (d, s) in h.iter_mut().skip(8).zip(n.to_le_bytes().iter().chain(&names_len.to_le_bytes())) {
        *d = *s;
    }
    h
}

/// Control-message buffer for [`FDS_PER_MSG`] descriptors (aligned).
#[repr(C, align(8))]
pub(super) struct CmsgBuf([u8; 1088]);
const _: () = assert!(core::mem::size_of::<libc::cmsghdr>() + FDS_PER_MSG * 4 + 8 <= 1088);

/// Send `fds` (at most [`FDS_PER_MSG`]) with one data byte.
pub(super) fn send_fds(s: c_int, fds: &[RawFd], deadline: Deadline) -> Result<()> {
    let mut cbuf = CmsgBuf([0; 1088]);
    let bytes = core::mem::size_of_val(fds) as u32;
    // SAFETY: CMSG_SPACE/LEN are pure arithmetic.
    let space = unsafe { libc::CMSG_SPACE(bytes) } as usize;
    if space > cbuf.0.len() {
        return Err(Errno::E2BIG);
    }
    let mut byte = [b'F'];
    let mut iov = libc::iovec { iov_base: byte.as_mut_ptr() as *mut c_void, iov_len: 1 };
    // SAFETY: msghdr is plain data; zero is a valid starting point.
    let mut msg: libc::msghdr = unsafe { core::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr() as *mut c_void;
    msg.msg_controllen = space as _;
    // SAFETY: the control buffer holds `space` bytes, enough for one header
    // and `fds`; CMSG_FIRSTHDR of a large-enough buffer is not NULL.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        if c.is_null() {
            return Err(Errno::EINVAL);
        }
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(bytes) as _;
        core::ptr::copy_nonoverlapping(fds.as_ptr() as *const u8, libc::CMSG_DATA(c), bytes as usize);
    }
    loop {
        wait(s, libc::POLLOUT, deadline)?;
        // SAFETY: msg points to live buffers set up above.
        let r = unsafe { libc::sendmsg(s, &msg, SEND_FLAGS) };
        if r == 1 {
            return Ok(());
        }
        let e = last();
        if r < 0 && (e == Errno(libc::EAGAIN) || e == Errno(libc::EINTR)) {
            continue;
        }
        return Err(if r < 0 { broken(e) } else { Errno::EIO });
    }
}

/// Receive one fd message (one data byte plus up to [`FDS_PER_MSG`]
/// descriptors), appending the descriptors to `out[*got..]`. Every
/// descriptor received is stored (so that the caller closes it on error)
/// or closed here.
pub(super) fn recv_fds(s: c_int, out: &mut [RawFd], got: &mut usize, deadline: Deadline) -> Result<()> {
    let mut cbuf = CmsgBuf([0; 1088]);
    let mut byte = [0u8];
    let mut iov = libc::iovec { iov_base: byte.as_mut_ptr() as *mut c_void, iov_len: 1 };
    // SAFETY: msghdr is plain data.
    let mut msg: libc::msghdr = unsafe { core::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr() as *mut c_void;
    msg.msg_controllen = cbuf.0.len() as _;
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    let flags = libc::MSG_CMSG_CLOEXEC;
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    let flags = 0;
    let r = loop {
        wait(s, libc::POLLIN, deadline)?;
        // SAFETY: msg points to live, writable buffers.
        let r = unsafe { libc::recvmsg(s, &mut msg, flags) };
        if r < 0 {
            let e = last();
            if e == Errno(libc::EAGAIN) || e == Errno(libc::EINTR) {
                continue;
            }
            return Err(broken(e));
        }
        break r;
    };
    let mut result = if r == 0 {
        Err(Errno(libc::ECONNABORTED))
    } else if byte[0] != b'F' || msg.msg_flags & libc::MSG_CTRUNC != 0 {
        Err(Errno(libc::EPROTO))
    } else {
        Ok(())
    };
    let mut any = false;
    // SAFETY: walking the control messages the kernel wrote into cbuf.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(c);
                let len = ((*c).cmsg_len as usize).saturating_sub(data.offset_from(c as *const u8) as usize);
                let count = len / core::mem::size_of::<c_int>();
                for k in 0..count {
                    let fd = core::ptr::read_unaligned((data as *const c_int).add(k));
                    any = true;
                    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
                    libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                    match out.get_mut(*got) {
                        Some(slot) => {
                            *slot = fd;
                            *got = got.wrapping_add(1);
                        }
                        None => {
                            libc::close(fd);
                            result = Err(Errno(libc::EPROTO));
                        }
                    }
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    if result.is_ok() && !any {
        result = Err(Errno(libc::EPROTO));
    }
    result
}
