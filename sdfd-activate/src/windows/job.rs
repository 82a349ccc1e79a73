//! Starting the command: inside a job object that ends every process in it
//! when its last handle closes (`JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`), so
//! neither the child nor anything it starts outlives the launcher, however
//! the launcher ends. The child is created suspended, put in the job, then
//! resumed: it cannot start a process outside the job first.

use super::console;
use crate::opts::Opts;
use std::ffi::{OsStr, OsString};
use std::os::windows::io::AsRawHandle;
use std::os::windows::process::CommandExt;
use std::process::Command;
use std::time::Duration;
use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, WAIT_OBJECT_0};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JobObjectExtendedLimitInformation, SetInformationJobObject,
    TerminateJobObject, JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
};
use windows_sys::Win32::System::Threading::{WaitForMultipleObjects, WaitForSingleObject, CREATE_SUSPENDED, INFINITE};

#[link(name = "ntdll")]
extern "system" {
    /// Resumes every thread of a process (ntdll; documented by its use
    /// since Windows XP, implemented by wine).
    fn NtResumeProcess(process: HANDLE) -> i32;
}

/// The variables a Windows program needs to run at all (Winsock fails
/// without `SystemRoot`): what the child gets from the launcher's
/// environment without `--inherit-env`, as TERM, PATH, USER and HOME on Unix.
const BASE_VARS: &[&str] = &[
    "SystemRoot",
    "SystemDrive",
    "windir",
    "ComSpec",
    "PATH",
    "PATHEXT",
    "TEMP",
    "TMP",
    "USERNAME",
    "USERPROFILE",
    "HOMEDRIVE",
    "HOMEPATH",
    "APPDATA",
    "LOCALAPPDATA",
    "ProgramData",
    "ProgramFiles",
    "ProgramFiles(x86)",
    "CommonProgramFiles",
    "NUMBER_OF_PROCESSORS",
    "PROCESSOR_ARCHITECTURE",
];

/// Set by a launcher for its child; never passed on from the launcher's own
/// environment: the library's one list (`sdfd::is_activation_var`).
fn is_activation_var(k: &OsStr) -> bool {
    sdfd::is_activation_var(format!("{}=", k.to_string_lossy()).as_bytes())
}

/// The child's environment before the activation variables: the base
/// variables (or, with `--inherit-env`, all but the activation ones), then
/// the `-E` entries.
pub fn child_env(o: &Opts) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(k, _)| {
            !is_activation_var(k)
                && (o.inherit_env || BASE_VARS.iter().any(|b| k.to_string_lossy().eq_ignore_ascii_case(b)))
        })
        .collect();
    for e in &o.setenv {
        let (k, v) = match e.iter().position(|&b| b == b'=') {
            Some(i) => (&e[..i], &e[i + 1..]),
            None => (&e[..], &b""[..]),
        };
        // SAFETY: the bytes came from an OsStr (the command line) split at an
        // ASCII '=', which keeps both halves valid encoded bytes.
        let (k, v) = unsafe { (OsStr::from_encoded_bytes_unchecked(k), OsStr::from_encoded_bytes_unchecked(v)) };
        env.push((k.into(), v.into()));
    }
    env
}

pub struct Job(HANDLE);

impl Job {
    pub fn new() -> Result<Job, String> {
        // SAFETY: an unnamed job with default security.
        let h = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
        if h.is_null() {
            return Err(format!("CreateJobObjectW failed: {}", std::io::Error::last_os_error()));
        }
        // SAFETY: plain data; zero is "no limits".
        let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
        info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        // SAFETY: info is the structure this class takes, of the given size.
        let ok = unsafe {
            SetInformationJobObject(
                h,
                JobObjectExtendedLimitInformation,
                &info as *const _ as *const _,
                std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
            )
        };
        if ok == 0 {
            let e = std::io::Error::last_os_error();
            // SAFETY: h is ours.
            unsafe { CloseHandle(h) };
            return Err(format!("cannot make the job object end its processes with the launcher: {e}"));
        }
        Ok(Job(h))
    }

    pub fn handle(&self) -> usize {
        self.0 as usize
    }

    /// Start `cmd` (program and arguments) with exactly `env`, in the job.
    pub fn spawn(&self, cmd: &[OsString], env: &[(OsString, OsString)]) -> Result<Child, String> {
        let mut c = Command::new(&cmd[0]);
        c.args(&cmd[1..]).env_clear().creation_flags(CREATE_SUSPENDED);
        for (k, v) in env {
            c.env(k, v);
        }
        let child = c.spawn().map_err(|e| e.to_string())?;
        let h = child.as_raw_handle() as HANDLE;
        // SAFETY: both handles are valid; a failure leaves the child outside
        // the job, which is refused below (it would outlive the launcher).
        let assigned = unsafe { AssignProcessToJobObject(self.0, h) } != 0;
        let mut child = Child(child);
        if !assigned {
            let e = std::io::Error::last_os_error();
            child.kill();
            return Err(format!("cannot put the child into the launcher's job object: {e}"));
        }
        // SAFETY: h is a process handle with PROCESS_ALL_ACCESS (CreateProcess).
        let st = unsafe { NtResumeProcess(h) };
        if st < 0 {
            child.kill();
            return Err(format!("cannot resume the child: NTSTATUS {st:#x}"));
        }
        Ok(child)
    }

    /// End every process still in the job.
    pub fn terminate(&self) {
        // SAFETY: self.0 is a job handle.
        unsafe { TerminateJobObject(self.0, console::STOPPED_EXIT as u32) };
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        // SAFETY: ours; closing it ends the processes still in it.
        unsafe { CloseHandle(self.0) };
    }
}

pub struct Child(std::process::Child);

pub enum Ended {
    /// The child exited by itself, with this status.
    Exited(i32),
    /// A stop was requested: the launcher's exit status.
    Stopped(i32),
}

impl Child {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    fn status(&mut self) -> i32 {
        self.0.wait().ok().and_then(|s| s.code()).unwrap_or(1)
    }

    /// Wait for the child to exit, or for a stop request; after a stop the
    /// child has `timeout` to exit (it got the console event itself) before
    /// it is terminated.
    pub fn wait_or_stop(mut self, timeout: Duration) -> Ended {
        let hs = [self.0.as_raw_handle() as HANDLE, console::event()];
        // SAFETY: two valid handles.
        let r = unsafe { WaitForMultipleObjects(2, hs.as_ptr(), 0, INFINITE) };
        if r == WAIT_OBJECT_0 {
            return Ended::Exited(self.status());
        }
        let ms = timeout.as_millis().min(u32::MAX as u128 - 1) as u32;
        // SAFETY: a valid process handle.
        if unsafe { WaitForSingleObject(hs[0], ms) } == WAIT_OBJECT_0 {
            return Ended::Stopped(self.status());
        }
        self.kill();
        Ended::Stopped(console::STOPPED_EXIT)
    }
}
