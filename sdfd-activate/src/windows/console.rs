//! Ctrl-C, Ctrl-Break and closing the console: a handler that sets the
//! stop event, which the main loop waits on beside the child. The child,
//! attached to the same console, receives the same event itself; the
//! launcher gives it `--stop-timeout` to exit, then ends the job. For a
//! console close, logoff or shutdown the handler does not return (Windows
//! would end the launcher when it does) until the launcher has exited.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use windows_sys::Win32::Foundation::{FALSE, HANDLE, TRUE, WAIT_OBJECT_0};
use windows_sys::Win32::System::Console::{SetConsoleCtrlHandler, CTRL_BREAK_EVENT, CTRL_C_EVENT};
use windows_sys::Win32::System::Threading::{CreateEventW, SetEvent, Sleep, WaitForSingleObject, INFINITE};

/// Exit status after a stop request whose child did not report its own:
/// `STATUS_CONTROL_C_EXIT`, what Windows gives a program ended by Ctrl-C.
pub const STOPPED_EXIT: i32 = 0xC000_013Au32 as i32;

static EVENT: AtomicUsize = AtomicUsize::new(0);
static STOP: AtomicBool = AtomicBool::new(false);

unsafe extern "system" fn handler(ctrl: u32) -> i32 {
    STOP.store(true, Ordering::SeqCst);
    // SAFETY: the event was created before the handler was installed.
    unsafe { SetEvent(EVENT.load(Ordering::SeqCst) as HANDLE) };
    if ctrl != CTRL_C_EVENT && ctrl != CTRL_BREAK_EVENT {
        // Close/logoff/shutdown: returning lets Windows end the process at
        // once; the main thread exits the process when the child is done.
        // SAFETY: plain sleep.
        unsafe { Sleep(INFINITE) };
    }
    TRUE
}

pub fn install() -> Result<(), String> {
    // SAFETY: an unnamed manual-reset event, initially unset.
    let ev = unsafe { CreateEventW(std::ptr::null(), TRUE, FALSE, std::ptr::null()) };
    if ev.is_null() {
        return Err(format!("CreateEventW failed: {}", std::io::Error::last_os_error()));
    }
    EVENT.store(ev as usize, Ordering::SeqCst);
    // SAFETY: handler is a valid PHANDLER_ROUTINE for the life of the process.
    if unsafe { SetConsoleCtrlHandler(Some(handler), TRUE) } == 0 {
        return Err(format!("SetConsoleCtrlHandler failed: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// The stop event (to wait on beside a child).
pub fn event() -> HANDLE {
    EVENT.load(Ordering::SeqCst) as HANDLE
}

pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Sleep for `d` unless a stop is requested first (then true).
pub fn wait_stop(d: Duration) -> bool {
    let ms = d.as_millis().min(u32::MAX as u128 - 1) as u32;
    // SAFETY: event() is a valid event handle.
    unsafe { WaitForSingleObject(event(), ms) == WAIT_OBJECT_0 }
}
