/*!
Stop signals — SIGTERM, SIGINT, SIGHUP, SIGQUIT — for the whole process, and the critical section
that keeps a stop from costing the portal its pair.

Bitrix24 kills the old pair the moment it answers a refresh, and a code is spent the moment it is
exchanged. So from just before such a request is sent until the new pair is durably saved, the
process is in a [`critical`] section: a stop signal that arrives then is only remembered; the work
finishes (bounded by `--http-timeout`), the pair is saved, and the run ends with [`Stopped`] —
one line, exit 128+N, decided by `main` like every other exit. Outside a critical section a stop
signal ends the process at once, exactly as the default disposition did: the handler puts the
default back and sends the signal again, so a parent still sees a death by that signal (a shell's
`$?` is 128+N either way) and nothing is written.

Races, and why each is closed:
- A signal before [`install`]: the default disposition kills — right, nothing is in flight yet.
  `lib::start` installs before the runtime, while the process has one thread, with the four
  signals blocked, so no signal meets a half-installed handler.
- A signal racing the entry to a section: the handler records the signal *then* reads the depth;
  the entry raises the depth *then* reads the record (all `SeqCst`). One of them sees the other:
  either the handler defers, or the entry refuses to start (nothing sent) while the handler kills.
- A signal racing the end of a section: the depth drops *then* the record is read, so a signal in
  between is either reported by the closing code or kills at once — after the save, either way.
- Nested or concurrent sections: a depth counter; the last one to close reports.
- A signal ignored at start (`nohup`, a background job's SIGINT) stays ignored.

The handler shares signal-hook-registry with tokio, so a listener's Ctrl-C stream keeps working:
while a listener catches SIGINT ([`CatchInterrupt`]), a SIGINT outside a critical section is left
to it (exit 130, "interrupted; nothing was written").

SIGKILL cannot be caught: it is what remains of the window (from Bitrix24's answer to the save).
*/

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicUsize, Ordering::SeqCst};
use std::sync::Once;

use libc::c_int;

use crate::exit::ExitCode;

/// The signals a supervisor, a terminal or a dropped session sends to stop a process.
pub const STOP_SIGNALS: [c_int; 4] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT];

/// Open critical sections.
static DEPTH: AtomicUsize = AtomicUsize::new(0);
/// The first stop signal received, 0 for none.
static PENDING: AtomicI32 = AtomicI32::new(0);
/// Listeners catching SIGINT themselves.
static CAUGHT_INT: AtomicUsize = AtomicUsize::new(0);
/// Long-running servers (`serve`) catching SIGTERM themselves, to stop in order.
static CAUGHT_TERM: AtomicUsize = AtomicUsize::new(0);
/// A critical section has completed its save.
static SAVED: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

/// What the handler does with a stop signal.
#[derive(Debug, PartialEq, Eq)]
enum Disposition {
    /// Inside a critical section: remember it, act once the pair is saved.
    Defer,
    /// A SIGINT a listener is waiting for: its own stream reports it.
    LeaveToListener,
    /// Outside: die by the signal, as the default disposition would.
    StopNow,
}

fn verdict(signal: c_int, depth: usize, caught_int: usize) -> Disposition {
    if depth > 0 {
        Disposition::Defer
    } else if signal == libc::SIGINT && caught_int > 0 {
        Disposition::LeaveToListener
    } else {
        Disposition::StopNow
    }
}

/// Installs the handler for the four stop signals. Call before any thread exists (`lib::start`,
/// before the runtime; a fresh `token` never needs it); [`critical`] calls it too, for library
/// use. Idempotent.
pub fn install() {
    INSTALL.call_once(|| {
        // SAFETY: plain libc calls on a zeroed sigset and on stack-allocated arguments.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for sig in STOP_SIGNALS {
                libc::sigaddset(&mut set, sig);
            }
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
            for sig in STOP_SIGNALS {
                if !ignored(sig) {
                    // A failed registration leaves the default disposition: stop at once.
                    let _ = signal_hook_registry::register(sig, move || on_signal(sig));
                }
            }
            libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        }
    });
}

/// Whether `signal` was ignored when the process started (`nohup`, `&` in a script).
fn ignored(signal: c_int) -> bool {
    // SAFETY: a query (null new action) into a zeroed struct.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

/// A file and its directory to remove when a stop signal ends the process (the run's private
/// start page): the handler may only call `unlink` and `rmdir`, so the paths wait ready as C
/// strings. A registration is never freed — the handler may be reading it on another thread
/// while it is replaced — which costs two short strings per run.
static ON_STOP: AtomicPtr<[CString; 2]> = AtomicPtr::new(std::ptr::null_mut());

/// While held, a stop signal that ends the process removes the file and directory given to
/// [`remove_on_stop`] first.
#[must_use = "the removal is armed as long as the guard lives"]
pub struct RemoveOnStop(());

/// Arms the removal of `file`, then `dir` (if empty), on a stop signal; one at a time.
pub fn remove_on_stop(file: &Path, dir: &Path) -> RemoveOnStop {
    install();
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).ok();
    if let (Some(file), Some(dir)) = (c(file), c(dir)) {
        ON_STOP.store(Box::into_raw(Box::new([file, dir])), SeqCst);
    }
    RemoveOnStop(())
}

impl Drop for RemoveOnStop {
    fn drop(&mut self) {
        ON_STOP.store(std::ptr::null_mut(), SeqCst);
    }
}

/// Runs inside the signal handler: atomics, `signal`, `kill`, `unlink` and `rmdir` only
/// (async-signal-safe).
fn on_signal(signal: c_int) {
    let _ = PENDING.compare_exchange(0, signal, SeqCst, SeqCst);
    let left_to_server = signal == libc::SIGTERM && CAUGHT_TERM.load(SeqCst) > 0;
    if !left_to_server
        && verdict(signal, DEPTH.load(SeqCst), CAUGHT_INT.load(SeqCst)) == Disposition::StopNow
    {
        let paths = ON_STOP.load(SeqCst);
        // SAFETY: async-signal-safe calls; a registration is never freed, so `paths` is valid.
        // The signal is blocked while this handler runs, so it is delivered — now with the
        // default action — as soon as the handler returns.
        unsafe {
            if let Some([file, dir]) = paths.as_ref() {
                libc::unlink(file.as_ptr());
                libc::rmdir(dir.as_ptr());
            }
            libc::signal(signal, libc::SIG_DFL);
            libc::kill(libc::getpid(), signal);
        }
    }
}

/// An open critical section; dropping it without [`Critical::saved`] closes it unsaved (the work
/// failed and its error is on its way to `main`).
#[must_use = "the section lasts as long as the guard"]
pub struct Critical(());

/// Opens a critical section: call just before the request that rotates or spends the pair.
/// Refuses (nothing sent) when a stop signal has already come.
pub fn critical() -> Result<Critical, Stopped> {
    install();
    DEPTH.fetch_add(1, SeqCst);
    let section = Critical(());
    if let Some(signal) = pending() {
        drop(section);
        return Err(Stopped::now(signal));
    }
    Ok(section)
}

impl Critical {
    /// The new pair is durably saved: closes the section, and a stop signal that came meanwhile
    /// ends the run now, before the caller does anything more with the pair.
    pub fn saved(self) -> Result<(), Stopped> {
        self.saved_stop_later();
        checkpoint()
    }

    /// Like [`Critical::saved`] for a listener's flow, which first answers the browser or
    /// Bitrix24: the stop is reported by `main`'s [`checkpoint`] once the flow has returned.
    pub fn saved_stop_later(self) {
        SAVED.store(true, SeqCst);
    }
}

impl Drop for Critical {
    fn drop(&mut self) {
        DEPTH.fetch_sub(1, SeqCst);
    }
}

/// Whether a critical section is open (a listener must not abandon its work then).
pub fn in_critical() -> bool {
    DEPTH.load(SeqCst) > 0
}

/// The stop signal received and not yet acted on.
fn pending() -> Option<c_int> {
    match PENDING.load(SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// `Err` when a stop signal is waiting and no critical section is open: the run must end now.
/// `main` calls it after every command, so a stop deferred by a flow that had an answer to
/// send first still ends the run with 128+N.
pub fn checkpoint() -> Result<(), Stopped> {
    if in_critical() {
        return Ok(());
    }
    match pending() {
        Some(signal) => Err(Stopped::now(signal)),
        None => Ok(()),
    }
}

/// A listener's Ctrl-C: "interrupted; nothing was written", unless a pair was already saved.
pub fn interrupted() -> anyhow::Error {
    if SAVED.load(SeqCst) {
        return Stopped::now(libc::SIGINT).into();
    }
    crate::exit::Error::Interrupted.into()
}

/// While alive, a SIGINT outside a critical section is left to the listener that made it.
/// Make it after the listener's own signal stream exists, so no SIGINT falls between the two.
pub struct CatchInterrupt(());

pub fn catch_interrupt() -> CatchInterrupt {
    install();
    CAUGHT_INT.fetch_add(1, SeqCst);
    CatchInterrupt(())
}

impl Drop for CatchInterrupt {
    fn drop(&mut self) {
        CAUGHT_INT.fetch_sub(1, SeqCst);
    }
}

/// While alive, a SIGTERM is left to the server that made it (its own signal stream): it stops
/// accepting, finishes or keeps what is in flight, and the run ends 143 at the checkpoint.
pub struct CatchTerminate(());

pub fn catch_terminate() -> CatchTerminate {
    install();
    CAUGHT_TERM.fetch_add(1, SeqCst);
    CatchTerminate(())
}

impl Drop for CatchTerminate {
    fn drop(&mut self) {
        CAUGHT_TERM.fetch_sub(1, SeqCst);
    }
}

/// The run was ended by a stop signal: exit 128+N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    pub signal: c_int,
    /// A critical section saved its pair before the stop.
    pub saved: bool,
}

impl Stopped {
    fn now(signal: c_int) -> Stopped {
        Stopped {
            signal,
            saved: SAVED.load(SeqCst),
        }
    }

    pub fn code(&self) -> ExitCode {
        match self.signal {
            libc::SIGHUP => ExitCode::Hangup,
            libc::SIGINT => ExitCode::Interrupted,
            libc::SIGQUIT => ExitCode::Quit,
            _ => ExitCode::Terminated,
        }
    }
}

pub fn name(signal: c_int) -> &'static str {
    match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = name(self.signal);
        if self.saved {
            write!(f, "stopped by {name} after saving the new pair")
        } else {
            write!(f, "stopped by {name}; nothing was written")
        }
    }
}

impl std::error::Error for Stopped {}

/// Whether `err` is a stop rather than a failure (`main` prints it without "error:").
pub fn is_stop(err: &anyhow::Error) -> bool {
    err.chain().any(|c| c.is::<Stopped>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_defers_inside_and_stops_outside() {
        for sig in STOP_SIGNALS {
            assert_eq!(verdict(sig, 1, 0), Disposition::Defer);
            assert_eq!(verdict(sig, 2, 1), Disposition::Defer);
            assert_eq!(verdict(sig, 0, 0), Disposition::StopNow);
        }
        assert_eq!(verdict(libc::SIGINT, 0, 1), Disposition::LeaveToListener);
        assert_eq!(verdict(libc::SIGTERM, 0, 1), Disposition::StopNow);
    }

    /// The section's bookkeeping, driven by calling the handler's function directly (a real
    /// signal outside a section would end the test process). The only test touching the state.
    #[test]
    fn a_signal_inside_nested_sections_is_reported_by_the_last_save() {
        let outer = critical().unwrap();
        let inner = critical().unwrap();
        on_signal(libc::SIGTERM);
        on_signal(libc::SIGHUP);
        assert!(in_critical());
        assert_eq!(inner.saved(), Ok(()), "the outer section is still open");
        assert_eq!(checkpoint(), Ok(()));
        let stop = outer.saved().unwrap_err();
        assert_eq!(
            stop,
            Stopped {
                signal: libc::SIGTERM,
                saved: true
            }
        );
        assert_eq!(stop.code(), ExitCode::Terminated);
        assert_eq!(
            stop.to_string(),
            "stopped by SIGTERM after saving the new pair"
        );
        assert!(critical().is_err(), "no new section once a stop is due");
        assert!(!in_critical());
        PENDING.store(0, SeqCst);
        SAVED.store(false, SeqCst);
    }

    #[test]
    fn exit_codes_are_128_plus_n() {
        for sig in STOP_SIGNALS {
            let stop = Stopped {
                signal: sig,
                saved: true,
            };
            assert_eq!(stop.code() as i32, 128 + sig);
            assert!(stop.to_string().contains(name(sig)));
        }
    }
}
