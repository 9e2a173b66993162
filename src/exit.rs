/*!
Exit codes (the contract's table) and the one place that maps an error to a code.

Library code raises [`Error`] for the failures a script must tell apart; anything else that
bubbles up (I/O, network, a server's error) is a plain failure, exit 1.
*/

use crate::oauth::ServerError;

/// The process exit codes of the command-line contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum ExitCode {
    /// Network, a server's error answer, I/O, a corrupt or insecure file.
    Failure = 1,
    /// Bad flags or values, missing credentials without a terminal, profile exists.
    Usage = 2,
    /// Nothing stored, or the refresh token / code was rejected: authorize again.
    AuthNeeded = 3,
    /// No callback in time, or the profile lock was held too long.
    TimedOut = 4,
    /// Ctrl-C; nothing was written.
    Interrupted = 130,
}

/// Failures whose exit code is not 1.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    AuthNeeded(String),
    #[error("{0}")]
    TimedOut(String),
    #[error("interrupted; nothing was written")]
    Interrupted,
}

impl Error {
    pub fn code(&self) -> ExitCode {
        match self {
            Error::Usage(_) => ExitCode::Usage,
            Error::AuthNeeded(_) => ExitCode::AuthNeeded,
            Error::TimedOut(_) => ExitCode::TimedOut,
            Error::Interrupted => ExitCode::Interrupted,
        }
    }
}

/// The exit code for an error: the first typed cause in its chain decides.
pub fn code_of(err: &anyhow::Error) -> ExitCode {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<Error>() {
            return e.code();
        }
        if let Some(e) = cause.downcast_ref::<ServerError>() {
            return if e.is_client_refusal() {
                ExitCode::Usage
            } else if e.needs_reauthorization() {
                ExitCode::AuthNeeded
            } else {
                ExitCode::Failure
            };
        }
    }
    ExitCode::Failure
}

/// An error and its causes as one line (`a: b: c`), for messages built from foreign errors
/// whose own formatting may span lines.
pub fn one_line(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s.replace('\n', " ")
}

pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    Error::Usage(msg.into()).into()
}

pub fn auth_needed(msg: impl Into<String>) -> anyhow::Error {
    Error::AuthNeeded(msg.into()).into()
}
