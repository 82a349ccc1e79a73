//! The one run-once cell: a value computed by the first caller and then
//! shared, read-only, by every caller from any thread. no_std, no
//! allocation, no panic path.
//!
//! Waiting: a caller that finds another thread computing the value waits
//! for it, with a spin-loop hint and then a yield of the processor
//! (`sched_yield` on Unix, `SwitchToThread` on Windows) per round, until
//! the value is published. The computation is not re-entrant: `init` must
//! not call back into the same cell (it would wait for itself).
//!
//! Used by `backend::launchd` (the sockets launchd handed over) and
//! `backend::systemfd` (the sockets the systemfd server sent). `snapshot`
//! keeps one answer per process instead, so that a child created by
//! `fork()` does not see its parent's.

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU8, Ordering};

const EMPTY: u8 = 0;
const BUSY: u8 = 1;
const READY: u8 = 2;

pub(crate) struct Once<T> {
    state: AtomicU8,
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: `value` is written once, by the thread that moved `state` from
// EMPTY to BUSY, and read (shared) only after `state` is READY
// (release/acquire); T crosses threads, hence Send + Sync.
unsafe impl<T: Send + Sync> Sync for Once<T> {}

impl<T> Once<T> {
    pub(crate) const fn new() -> Once<T> {
        Once { state: AtomicU8::new(EMPTY), value: UnsafeCell::new(MaybeUninit::uninit()) }
    }

    /// The value, computed with `init` by the first caller; the others wait
    /// for it (see the module comment).
    pub(crate) fn get_or_init(&self, init: impl FnOnce() -> T) -> &T {
        if self.state.compare_exchange(EMPTY, BUSY, Ordering::Acquire, Ordering::Acquire).is_ok() {
            let v = init();
            // SAFETY: only this thread got past the EMPTY -> BUSY exchange.
            unsafe { (*self.value.get()).write(v) };
            self.state.store(READY, Ordering::Release);
        } else {
            while self.state.load(Ordering::Acquire) != READY {
                pause();
            }
        }
        // SAFETY: READY: initialised, and never written again.
        unsafe { (*self.value.get()).assume_init_ref() }
    }

    /// The value if it has been computed, without computing it.
    // (Only the launchd backend asks, which is built for macOS and the tests.)
    #[cfg_attr(not(any(target_vendor = "apple", all(test, unix))), allow(dead_code))]
    pub(crate) fn get(&self) -> Option<&T> {
        if self.state.load(Ordering::Acquire) != READY {
            return None;
        }
        // SAFETY: as in `get_or_init`.
        Some(unsafe { (*self.value.get()).assume_init_ref() })
    }
}

impl<T> Drop for Once<T> {
    fn drop(&mut self) {
        if *self.state.get_mut() == READY {
            // SAFETY: READY: initialised; dropped once, here.
            unsafe { self.value.get_mut().assume_init_drop() };
        }
    }
}

/// One round of waiting for another thread.
fn pause() {
    core::hint::spin_loop();
    #[cfg(unix)]
    // SAFETY: sched_yield has no preconditions.
    unsafe {
        libc::sched_yield();
    }
    #[cfg(windows)]
    // SAFETY: no preconditions.
    unsafe {
        windows_sys::Win32::System::Threading::SwitchToThread();
    }
}
