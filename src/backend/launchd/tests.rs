//! The launchd backend on Linux: the production code with
//! `launch_activate_socket` replaced by [`fake_activate`], a test double
//! that behaves as launchd documents (fresh fds in a `malloc`ed array, each
//! name once, `ENOENT`, `ESRCH`). Each test uses its own `Launchd`, its own
//! name-list variable and its own range of fd numbers (far above those the
//! test harness uses); the fake's plan is global, so tests take a lock.

use super::*;
use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use std::string::String;
use std::sync::{Mutex, MutexGuard};
use std::vec::Vec;

#[derive(Clone)]
enum Plan {
    /// This many fresh sockets at whatever numbers the kernel picks.
    Fds(usize),
    /// Fresh sockets at exactly these numbers.
    At(Vec<RawFd>),
    /// This return value.
    Fail(c_int),
}

#[derive(Default)]
struct Fake {
    not_launchd: bool,
    plan: HashMap<String, Plan>,
    handed: HashSet<String>,
    calls: Vec<String>,
    /// Inode of every socket handed out, per name, in order.
    inodes: HashMap<String, Vec<u64>>,
    /// Every fd number handed out.
    given: Vec<RawFd>,
}

static FAKE: Mutex<Option<Fake>> = Mutex::new(None);
static SERIAL: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn with_fake<R>(f: impl FnOnce(&mut Fake) -> R) -> R {
    let mut g = FAKE.lock().unwrap_or_else(|e| e.into_inner());
    f(g.get_or_insert_with(Fake::default))
}

fn reset(plan: &[(&str, Plan)]) {
    with_fake(|f| {
        *f = Fake::default();
        for (n, p) in plan {
            f.plan.insert((*n).into(), p.clone());
        }
    });
}

fn ino(fd: RawFd) -> u64 {
    // SAFETY: an all-zero `struct stat` is a valid value for fstat to fill in.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: `st` is a writable struct stat.
    assert_eq!(unsafe { libc::fstat(fd, &mut st) }, 0, "fd {fd} is open");
    st.st_ino as u64
}

fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD reads no memory, on any number.
    unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
}

fn cloexec(fd: RawFd) -> bool {
    // SAFETY: as in is_open.
    unsafe { libc::fcntl(fd, libc::F_GETFD) & libc::FD_CLOEXEC != 0 }
}

fn new_socket() -> RawFd {
    // No CLOEXEC, like a descriptor whose flag launchd leaves undefined.
    // SAFETY: socket takes plain numbers.
    let s = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM, 0) };
    assert!(s >= 0);
    s
}

/// Put a fresh socket at exactly `n`.
fn socket_at(n: RawFd) -> RawFd {
    assert!(!is_open(n), "fd {n} must be free for the test");
    let s = new_socket();
    // SAFETY: F_DUPFD on our own socket; `n` was checked to be free.
    let r = unsafe { libc::fcntl(s, libc::F_DUPFD, n) };
    assert_eq!(r, n);
    // SAFETY: `s` is ours and duplicated to `n`; no one else holds it.
    unsafe { libc::close(s) };
    r
}

/// The test double: `launch_activate_socket` as documented.
unsafe extern "C" fn fake_activate(name: *const c_char, fds: *mut *mut c_int, cnt: *mut usize) -> c_int {
    let name = CStr::from_ptr(name).to_string_lossy().into_owned();
    with_fake(|f| {
        f.calls.push(name.clone());
        if f.not_launchd {
            return libc::ESRCH;
        }
        let Some(plan) = f.plan.get(&name).cloned() else { return libc::ENOENT };
        if !f.handed.insert(name.clone()) {
            return libc::EALREADY;
        }
        let made: Vec<RawFd> = match plan {
            Plan::Fail(rc) => return rc,
            Plan::Fds(n) => (0..n).map(|_| new_socket()).collect(),
            Plan::At(at) => at.iter().map(|&n| socket_at(n)).collect(),
        };
        let arr = libc::malloc(made.len().max(1) * size_of::<c_int>()) as *mut c_int;
        for (i, &fd) in made.iter().enumerate() {
            *arr.add(i) = fd;
        }
        f.inodes.insert(name.clone(), made.iter().map(|&fd| ino(fd)).collect());
        f.given.extend(&made);
        *fds = arr;
        *cnt = made.len();
        0
    })
}

use core::mem::size_of;

fn set_list(var: &CStr, v: Option<&str>) {
    match v {
        Some(v) => {
            let v = CString::new(v).unwrap();
            // SAFETY: both strings are NUL-terminated; the launchd tests run one at a time under a lock.
            unsafe { libc::setenv(var.as_ptr(), v.as_ptr(), 1) };
        }
        // SAFETY: as setenv above.
        None => unsafe {
            libc::unsetenv(var.as_ptr());
        },
    }
}

fn calls() -> Vec<String> {
    with_fake(|f| f.calls.clone())
}

fn inodes(name: &str) -> Vec<u64> {
    with_fake(|f| f.inodes.get(name).cloned().unwrap_or_default())
}

fn given() -> Vec<RawFd> {
    with_fake(|f| f.given.clone())
}

fn close_from(start: RawFd, n: usize) {
    for i in 0..n {
        // SAFETY: the test's own descriptors, placed by socket_at.
        unsafe { libc::close(start + i as RawFd) };
    }
}

#[test]
fn not_a_launchd_job_is_zero_and_esrch() {
    let _g = lock();
    reset(&[]);
    with_fake(|f| f.not_launchd = true);
    let l = Launchd::new(fake_activate, c"SDFD_TEST_LD_ESRCH", 500);
    set_list(c"SDFD_TEST_LD_ESRCH", None);
    assert_eq!(l.listen_fds(false), Ok(0));
    assert!(l.listen_fds_with_names(false).unwrap().is_empty());
    assert_eq!(l.activate_socket(c"Listeners").unwrap_err(), Errno::ESRCH);
    // the outcome is cached: one call for the listing, one for the by-name
    assert_eq!(calls(), ["Listeners", "Listeners"]);
}

#[test]
fn default_name_two_fds_renumbered_named_and_cached() {
    let _g = lock();
    reset(&[("Listeners", Plan::Fds(2))]);
    let base = 510;
    let l = Launchd::new(fake_activate, c"SDFD_TEST_LD_DEFAULT", base);
    set_list(c"SDFD_TEST_LD_DEFAULT", None);
    assert_eq!(l.listen_fds(false), Ok(2));
    let want = inodes("Listeners");
    assert_eq!([ino(base), ino(base + 1)], want[..], "launchd's order kept");
    assert!(cloexec(base) && cloexec(base + 1));
    for fd in given() {
        assert!(!is_open(fd), "launchd's fd {fd} was closed after the move");
    }
    assert_eq!(l.listen_fds_with_names(false).unwrap().to_strings(), ["Listeners", "Listeners"]);
    assert_eq!(l.listen_fds(false), Ok(2));
    assert_eq!(calls(), ["Listeners"], "launchd asked once");
    // by name: served from the cache, once
    let s = l.activate_socket(c"Listeners").unwrap();
    assert_eq!(s.as_slice(), [base, base + 1]);
    assert_eq!(l.activate_socket(c"Listeners").unwrap_err(), Errno::EALREADY);
    // a name not in the cache goes to launchd, which does not know it
    assert_eq!(l.activate_socket(c"Other").unwrap_err(), Errno::ENOENT);
    assert_eq!(calls(), ["Listeners", "Other"]);
    close_from(base, 2);
}

#[test]
fn listed_names_in_order_missing_skipped_repeats_once() {
    let _g = lock();
    reset(&[("a", Plan::Fds(1)), ("b", Plan::Fds(2)), ("c:d", Plan::Fds(1))]);
    let base = 520;
    let l = Launchd::new(fake_activate, c"SDFD_TEST_LD_LIST", base);
    set_list(c"SDFD_TEST_LD_LIST", Some(r"a:missing:b:a:c\:d"));
    let names = l.listen_fds_with_names(false).unwrap();
    assert_eq!(names.to_strings(), ["a", "b", "b", "c:d"]);
    assert_eq!(calls(), ["a", "missing", "b", "c:d"]);
    let mut want = inodes("a");
    want.extend(inodes("b"));
    want.extend(inodes("c:d"));
    let have: Vec<u64> = (0..4).map(|i| ino(base + i)).collect();
    assert_eq!(have, want);
    assert_eq!(l.activate_socket(c"b").unwrap().as_slice(), [base + 1, base + 2]);
    assert_eq!(l.activate_socket(c"c:d").unwrap().as_slice(), [base + 3]);
    assert_eq!(l.activate_socket(c"b").unwrap_err(), Errno::EALREADY);
    assert_eq!(l.activate_socket(c"a").unwrap().as_slice(), [base]);
    close_from(base, 4);
}

#[test]
fn renumbering_untangles_our_own_fds() {
    let _g = lock();
    let base = 540;
    // launchd hands out base+1 then base: each target is held by the other.
    reset(&[("x", Plan::At(std::vec![base + 1, base])), ("y", Plan::At(std::vec![base + 3, base + 2]))]);
    let l = Launchd::new(fake_activate, c"SDFD_TEST_LD_SWAP", base);
    set_list(c"SDFD_TEST_LD_SWAP", Some("x:y"));
    assert_eq!(l.listen_fds(false), Ok(4));
    let mut want = inodes("x");
    want.extend(inodes("y"));
    let have: Vec<u64> = (0..4).map(|i| ino(base + i)).collect();
    assert_eq!(have, want);
    assert!((0..4).all(|i| cloexec(base + i)));
    assert!(!is_open(base + 4) && !is_open(base + 5), "temporaries closed");
    close_from(base, 4);
}

#[test]
fn a_foreign_fd_in_the_way_is_ebusy_never_clobbered() {
    let _g = lock();
    let base = 560;
    reset(&[("Listeners", Plan::Fds(2))]);
    let l = Launchd::new(fake_activate, c"SDFD_TEST_LD_BUSY", base);
    set_list(c"SDFD_TEST_LD_BUSY", None);
    let mine = socket_at(base + 1);
    let mine_ino = ino(mine);
    assert_eq!(l.listen_fds(false), Err(Errno::EBUSY));
    assert_eq!(ino(base + 1), mine_ino, "the foreign fd is untouched");
    assert!(!is_open(base), "the fd already moved is closed again");
    for fd in given() {
        assert!(!is_open(fd), "launchd's fd {fd} is closed");
    }
    // cached: same error, no second launchd call (it would say EALREADY)
    assert_eq!(l.listen_fds_with_names(false).unwrap_err(), Errno::EBUSY);
    assert_eq!(calls(), ["Listeners"]);
    // SAFETY: `mine` is the test's own socket.
    unsafe { libc::close(mine) };
}

#[test]
fn by_name_first_then_listing_is_ealready() {
    let _g = lock();
    reset(&[("Listeners", Plan::Fds(3))]);
    let base = 580;
    let l = Launchd::new(fake_activate, c"SDFD_TEST_LD_BYNAME", base);
    set_list(c"SDFD_TEST_LD_BYNAME", None);
    let s = l.activate_socket(c"Listeners").unwrap();
    assert_eq!(s.len(), 3);
    assert_eq!(s.as_slice(), &given()[..], "launchd's own numbers, not renumbered");
    assert!(s.as_slice().iter().all(|&fd| cloexec(fd)));
    assert_eq!(l.activate_socket(c"Listeners").unwrap_err(), Errno::EALREADY);
    assert_eq!(l.listen_fds(false), Err(Errno::EALREADY));
    // ownership: the array is C-allocated and handed over whole
    let (p, n) = s.into_raw();
    for i in 0..n {
        // SAFETY: `into_raw` gave `n` initialised handles at `p`, now ours.
        unsafe { libc::close(*p.add(i)) };
    }
    // SAFETY: `p` was allocated with the C allocator and is freed once.
    unsafe { libc::free(p as *mut libc::c_void) };
}

#[test]
fn other_launchd_errors_close_what_was_obtained() {
    let _g = lock();
    reset(&[("ok", Plan::Fds(1)), ("bad", Plan::Fail(libc::EPERM))]);
    let base = 600;
    let l = Launchd::new(fake_activate, c"SDFD_TEST_LD_EPERM", base);
    set_list(c"SDFD_TEST_LD_EPERM", Some("ok:bad"));
    assert_eq!(l.listen_fds(false), Err(Errno(libc::EPERM)));
    assert!(!is_open(base));
    for fd in given() {
        assert!(!is_open(fd));
    }
    // a negative (undocumented) return is EIO, never a wrong fd
    reset(&[("neg", Plan::Fail(-1))]);
    let l = Launchd::new(fake_activate, c"SDFD_TEST_LD_EPERM", base);
    assert_eq!(l.activate_socket(c"neg").unwrap_err(), Errno::EIO);
}

#[test]
fn nothing_configured_is_zero() {
    let _g = lock();
    reset(&[]);
    let l = Launchd::new(fake_activate, c"SDFD_TEST_LD_NONE", 620);
    set_list(c"SDFD_TEST_LD_NONE", Some("p:q"));
    assert_eq!(l.listen_fds(false), Ok(0));
    assert_eq!(calls(), ["p", "q"]);
}

#[test]
fn bad_name_list_is_einval() {
    let _g = lock();
    reset(&[("a", Plan::Fds(1))]);
    let l = Launchd::new(fake_activate, c"SDFD_TEST_LD_BAD", 640);
    set_list(c"SDFD_TEST_LD_BAD", Some(r"a\"));
    assert_eq!(l.listen_fds(false), Err(Errno::EINVAL));
    assert!(calls().is_empty());
}

#[test]
fn unset_environment_releases_the_fds() {
    let _g = lock();
    reset(&[("Listeners", Plan::Fds(1))]);
    let base = 660;
    let l = Launchd::new(fake_activate, c"SDFD_TEST_LD_UNSET", base);
    set_list(c"SDFD_TEST_LD_UNSET", Some("Listeners"));
    assert_eq!(l.listen_fds_with_names(true).unwrap().to_strings(), ["Listeners"]);
    assert!(env::get(c"SDFD_TEST_LD_UNSET").is_none(), "variable removed");
    assert_eq!(l.listen_fds(false), Ok(0));
    assert!(l.listen_fds_with_names(false).unwrap().is_empty());
    // released: by name goes to launchd, which handed the name out already
    assert_eq!(l.activate_socket(c"Listeners").unwrap_err(), Errno::EALREADY);
    assert!(is_open(base), "the caller's fd is left alone");
    close_from(base, 1);
}

#[test]
fn concurrent_first_calls_activate_once() {
    let _g = lock();
    reset(&[("Listeners", Plan::Fds(2))]);
    let base = 680;
    static L: Launchd = Launchd::new(fake_activate, c"SDFD_TEST_LD_THREADS", 680);
    set_list(c"SDFD_TEST_LD_THREADS", None);
    let results: Vec<Result<usize>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8).map(|_| s.spawn(|| L.listen_fds(false))).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(results.iter().all(|r| *r == Ok(2)), "{results:?}");
    assert_eq!(calls(), ["Listeners"]);
    let wins = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8).map(|_| s.spawn(|| L.activate_socket(c"Listeners").is_ok() as usize)).collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum::<usize>()
    });
    assert_eq!(wins, 1);
    close_from(base, 2);
}

/// The real numbers: in a fresh process (this test binary re-run for the
/// child half only), launchd's fds land on exactly 3, 4, ….
#[test]
fn renumbers_onto_3_in_a_fresh_process() {
    let _g = lock();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "backend::launchd::tests::child_half_onto_3", "--test-threads=1", "--nocapture"])
        .env("SDFD_LAUNCHD_TEST_CHILD", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("child: fds 3 4 5 ok"), "{text}");
    assert!(text.contains("1 passed"), "{text}");
}

/// Child half of `renumbers_onto_3_in_a_fresh_process`; returns at once
/// unless that test started this process.
#[test]
fn child_half_onto_3() {
    if std::env::var_os("SDFD_LAUNCHD_TEST_CHILD").is_none() {
        return;
    }
    for fd in 3..6 {
        assert!(!is_open(fd), "fd {fd} free in the child");
    }
    reset(&[("web", Plan::At(std::vec![40, 20])), ("ctl", Plan::At(std::vec![30]))]);
    let l = Launchd::new(fake_activate, c"SDFD_TEST_LD_CHILD", crate::listen::LISTEN_FDS_START);
    set_list(c"SDFD_TEST_LD_CHILD", Some("web:ctl"));
    assert_eq!(l.listen_fds(false), Ok(3));
    let mut want = inodes("web");
    want.extend(inodes("ctl"));
    assert_eq!([ino(3), ino(4), ino(5)], want[..]);
    assert!(!is_open(20) && !is_open(30) && !is_open(40));
    assert_eq!(l.listen_fds_with_names(false).unwrap().to_strings(), ["web", "web", "ctl"]);
    assert_eq!(l.activate_socket(c"ctl").unwrap().as_slice(), [5]);
    std::println!("child: fds 3 4 5 ok");
}
