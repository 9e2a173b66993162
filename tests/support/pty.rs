//! A real pseudo-terminal for the interactive flows: the child gets the slave side as stdin,
//! stdout, stderr and controlling terminal (so Ctrl-C typed on it is a real SIGINT from the line
//! discipline); the test reads everything the child draws and types into the master side.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The bytes the terminal showed and whether it closed, with a signal for each change.
type Screen = Arc<(Mutex<(Vec<u8>, bool)>, Condvar)>;

pub struct Pty {
    master: File,
    child: Child,
    /// Everything the terminal showed, and whether the child side has closed.
    seen: Screen,
    /// How much of `seen` earlier `expect`s consumed.
    mark: usize,
    /// Dropped (or sent on) when the test is done with the child; until then a watchdog kills
    /// it after [`LIFETIME`], so a flow stuck on a prompt fails the test instead of hanging it.
    _watchdog: std::sync::mpsc::Sender<()>,
}

const LIFETIME: Duration = Duration::from_secs(60);

/// Opens a pseudo-terminal pair: (master, slave).
fn open() -> (File, OwnedFd) {
    let (mut master, mut slave) = (0, 0);
    let size = libc::winsize {
        ws_row: 40,
        ws_col: 200,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors it opened into the two ints.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors are fresh and owned by nothing else.
    unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

impl Pty {
    /// Starts `cmd` on a new terminal; `typed_ahead` is in the terminal's input queue before
    /// the child even starts (keys pressed before any question).
    pub fn spawn(mut cmd: Command, typed_ahead: &str) -> Pty {
        let (mut master, slave) = open();
        if !typed_ahead.is_empty() {
            master.write_all(typed_ahead.as_bytes()).unwrap();
        }
        let io = |fd: &OwnedFd| Stdio::from(fd.try_clone().unwrap());
        cmd.stdin(io(&slave)).stdout(io(&slave)).stderr(io(&slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        // Only the child holds the slave now, so its exit closes the terminal.
        drop(cmd);
        drop(slave);
        let seen = Arc::new((Mutex::new((Vec::new(), false)), Condvar::new()));
        let mut reader = master.try_clone().unwrap();
        let sink = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // EIO once the child and every copy of the slave are gone.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.0.lock().unwrap().0.extend_from_slice(&buf[..n]);
                sink.1.notify_all();
            }
            sink.0.lock().unwrap().1 = true;
            sink.1.notify_all();
        });
        let (watchdog, done) = std::sync::mpsc::channel::<()>();
        let pid = child.id() as libc::pid_t;
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = done.recv_timeout(LIFETIME) {
                // SAFETY: kill on our own child's pid; it is not reaped until `finish` waits.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        });
        Pty {
            master,
            child,
            seen,
            mark: 0,
            _watchdog: watchdog,
        }
    }

    /// Waits (on the reader's signal, at most `secs`) until `text` appears after what earlier
    /// calls consumed; returns everything up to and including it.
    pub fn expect(&mut self, text: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let (lock, ready) = &*self.seen;
        let mut seen = lock.lock().unwrap();
        loop {
            let hay = String::from_utf8_lossy(&seen.0[self.mark..]).into_owned();
            if let Some(at) = hay.find(text) {
                let upto = hay[..at + text.len()].to_string();
                self.mark += upto.len();
                return upto;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero() && !seen.1,
                "no {text:?} on the terminal; it shows:\n{hay}"
            );
            seen = ready.wait_timeout(seen, left).unwrap().0;
        }
    }

    /// Waits until the terminal stops echoing (a hidden prompt is reading): keys typed before
    /// that would be flushed by the prompt's own `TCSAFLUSH`, as a person typing fast would see.
    pub fn wait_echo_off(&self, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            // SAFETY: tcgetattr fills the struct; on a master it reports the pair's settings.
            let mut t: libc::termios = unsafe { std::mem::zeroed() };
            let rc =
                unsafe { libc::tcgetattr(std::os::fd::AsRawFd::as_raw_fd(&self.master), &mut t) };
            if rc == 0 && t.c_lflag & libc::ECHO == 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the terminal never stopped echoing"
            );
            // A state poll with a deadline: the terminal's mode has no event to wait on.
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Types `keys` on the terminal.
    pub fn send(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }

    /// Waits for the exit; returns the code and everything the terminal showed after the last
    /// `expect` (read until the terminal closed).
    pub fn finish(mut self) -> (i32, String) {
        let status = self.child.wait().unwrap();
        let (lock, ready) = &*self.seen;
        let seen = lock.lock().unwrap();
        let (seen, _) = ready
            .wait_timeout_while(seen, Duration::from_secs(10), |s| !s.1)
            .unwrap();
        let rest = String::from_utf8_lossy(&seen.0[self.mark..]).into_owned();
        (status.code().unwrap_or(-1), rest)
    }
}
