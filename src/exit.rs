/*!
Exit codes (a distinct one for each failure a script must tell apart) and the typed errors that
carry them; `lib.rs` (`exit_code`) is the one place that maps an error to its code.

Library code raises [`Error`] for the failures a script must tell apart; anything else that
bubbles up (I/O, network, a server's error) is a plain failure, exit 1. This module imports
nothing from the crate: everything else may depend on it.
*/

/// The process exit codes; a script may rely on each one's meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub(crate) enum ExitCode {
    /// Network, a server's error answer, I/O, a corrupt or insecure file; also every answer a
    /// re-authorization cannot cure (a closed portal, an ended payment, a method awaiting an
    /// administrator), with its fix (`bitrix::errors::RULES`).
    Failure = 1,
    /// Bad flags or values, missing credentials without a terminal, profile exists.
    Usage = 2,
    /// Nothing stored, the refresh token / code was rejected, the token refused after its one
    /// refresh, or the app removed: authorize (or reinstall) again.
    AuthNeeded = 3,
    /// No callback in time, or the profile lock was held too long.
    TimedOut = 4,
    /// `exec`: the command was found but cannot be run.
    NotExecutable = 126,
    /// `exec`: no such command.
    CommandNotFound = 127,
    /// Stopped by SIGHUP (128+1).
    Hangup = 129,
    /// Ctrl-C (128+2): nothing was written, or a rotation already sent was saved first.
    Interrupted = 130,
    /// Stopped by SIGQUIT (128+3).
    Quit = 131,
    /// Stopped by SIGTERM (128+15).
    Terminated = 143,
}

/// Failures whose exit code is not 1.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    AuthNeeded(String),
    #[error("{0}")]
    TimedOut(String),
    #[error("interrupted; nothing was written")]
    Interrupted,
    /// Stopped by a signal after something was kept (what, and the signal's exit code).
    #[error("{0}")]
    StoppedAfter(String, i32),
    #[error("{0}")]
    NotExecutable(String),
    #[error("{0}")]
    CommandNotFound(String),
}

impl Error {
    pub(crate) fn code(&self) -> i32 {
        match self {
            Error::Usage(_) => ExitCode::Usage as i32,
            Error::AuthNeeded(_) => ExitCode::AuthNeeded as i32,
            Error::TimedOut(_) => ExitCode::TimedOut as i32,
            Error::Interrupted => ExitCode::Interrupted as i32,
            Error::StoppedAfter(_, code) => *code,
            Error::NotExecutable(_) => ExitCode::NotExecutable as i32,
            Error::CommandNotFound(_) => ExitCode::CommandNotFound as i32,
        }
    }
}

/// An error and its causes as one line (`a: b: c`), for messages built from foreign errors
/// whose own formatting may span lines.
pub(crate) fn one_line(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s.replace('\n', " ")
}

pub(crate) fn usage(msg: impl Into<String>) -> anyhow::Error {
    Error::Usage(msg.into()).into()
}

pub(crate) fn auth_needed(msg: impl Into<String>) -> anyhow::Error {
    Error::AuthNeeded(msg.into()).into()
}
