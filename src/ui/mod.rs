/*!
The terminal side: messages on stderr (silenced by `--quiet`), prompts, and human time formats.
*/

pub(crate) mod hint;
pub(crate) mod input;
pub(crate) mod log;
pub(crate) mod password;
pub(crate) mod progress;
pub(crate) mod sanitize;
pub(crate) mod summary;

use std::io::IsTerminal;

use anyhow::Result;

use crate::exit;
use crate::secret::Secret;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Ui {
    quiet: bool,
}

/// The user may be typing on this terminal (the paste prompt): no animation then, since
/// redrawing the line would wipe what they typed. One terminal per process, so one flag.
static PROMPTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl Ui {
    pub fn new(quiet: bool) -> Ui {
        Ui { quiet }
    }

    /// Marks that stdin takes typed input while [`Ui::spinner`] runs.
    pub fn set_prompting(&self) {
        PROMPTING.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    fn is_prompting(&self) -> bool {
        PROMPTING.load(std::sync::atomic::Ordering::Relaxed) && std::io::stdin().is_terminal()
    }

    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    pub fn info(&self, msg: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }

    /// What the user must act on (an address to open or paste): on stderr even with
    /// `--quiet`, which silences only progress and notes.
    pub fn always(&self, msg: impl std::fmt::Display) {
        eprintln!("{msg}");
    }

    pub fn warn(&self, msg: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("b24auth: warning: {msg}");
        }
    }

    /// Draws `⠋ waiting for WHAT… 4m 59s left` on stderr until dropped; only on a terminal.
    pub async fn spinner(&self, what: &str, deadline: Option<tokio::time::Instant>) {
        if self.quiet || !stderr_is_terminal() {
            return std::future::pending().await;
        }
        if self.is_prompting() {
            // One still line instead of an animation: the cursor stays where the user types.
            let until = deadline
                .map(|d| {
                    let left = d.saturating_duration_since(tokio::time::Instant::now());
                    format!(" (up to {})", human_duration(left.as_secs() as i64))
                })
                .unwrap_or_default();
            eprintln!("waiting for {what}{until}; paste here and press Enter:");
            return std::future::pending().await;
        }
        const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
        for i in 0.. {
            tick.tick().await;
            let left = deadline
                .map(|d| {
                    let s = d
                        .saturating_duration_since(tokio::time::Instant::now())
                        .as_secs();
                    format!(" {} left", human_duration(s as i64))
                })
                .unwrap_or_default();
            eprint!(
                "\r\x1b[2K{} waiting for {what}…{left}",
                FRAMES[i % FRAMES.len()]
            );
        }
    }

    pub fn clear_spinner(&self) {
        if !self.quiet && stderr_is_terminal() && !self.is_prompting() {
            eprint!("\r\x1b[2K");
        }
    }

    /// A yes/no question on the terminal; with no terminal the answer is no. Only a line
    /// ended with Enter answers, and whatever was typed before the question is discarded, so
    /// keys pressed ahead (or a stray `y` in a paste) never answer it.
    pub fn confirm(&self, question: &str) -> Result<bool> {
        if !can_ask() {
            return Ok(false);
        }
        discard_typed_ahead();
        Ok(dialoguer::Confirm::new()
            .with_prompt(question)
            .default(false)
            .wait_for_newline(true)
            .interact()?)
    }

    /// Asks on the terminal; with no terminal, fails naming the variable to set.
    pub fn prompt(&self, what: &str, hidden: bool, env: &str) -> Result<Secret> {
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            return Err(exit::usage(format!(
                "no {what} given and no terminal to ask on: set {env} (or pass --{})",
                what.replace('_', "-")
            )));
        }
        let answer = if hidden {
            dialoguer::Password::new().with_prompt(what).interact()?
        } else {
            dialoguer::Input::<String>::new()
                .with_prompt(what)
                .interact_text()?
        };
        Ok(Secret::new(answer))
    }
}

/// Exit 2 for client credentials that are missing with nobody to ask: every missing one at
/// once, and where each can come from.
pub fn missing_credentials(id: bool, secret: bool) -> Option<anyhow::Error> {
    let missing: Vec<&str> = [
        (id, "the client_id (B24AUTH_CLIENT_ID or --client-id)"),
        (
            secret,
            "the client_secret (B24AUTH_CLIENT_SECRET; --client-secret shows it to `ps`)",
        ),
    ]
    .into_iter()
    .filter_map(|(gone, what)| gone.then_some(what))
    .collect();
    if missing.is_empty() || can_ask() {
        return None;
    }
    Some(exit::usage(format!(
        "missing {}, and no terminal to ask on: set them from the local app's form (Application ID, Application key), or run on a terminal to be asked",
        missing.join(" and ")
    )))
}

/// A person can be asked: stdin and stderr are a terminal.
pub fn can_ask() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Drops input the terminal holds that nobody has read yet.
fn discard_typed_ahead() {
    // SAFETY: tcflush on fd 0 only touches the terminal's input queue; an error (not a
    // terminal) is harmless and ignored.
    unsafe {
        libc::tcflush(0, libc::TCIFLUSH);
    }
}

pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Lines typed on stdin, read on a plain thread: a pending read must not keep the async
/// runtime from shutting down when the flow finishes another way.
pub fn stdin_lines() -> tokio::sync::mpsc::UnboundedReceiver<String> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// `3h 12m`, `45s`, `12d 3h`: the two largest units.
pub fn human_duration(secs: i64) -> String {
    let s = secs.unsigned_abs();
    let units = [(86400, "d"), (3600, "h"), (60, "m"), (1, "s")];
    let mut parts = Vec::new();
    let mut rest = s;
    for (size, name) in units {
        if rest >= size && parts.len() < 2 {
            parts.push(format!("{}{name}", rest / size));
            rest %= size;
        } else if !parts.is_empty() {
            break;
        }
    }
    if parts.is_empty() {
        "0s".into()
    } else {
        parts.join(" ")
    }
}

/// `in 59m 10s`, `3h 2m ago`, or `just now`.
pub fn relative(delta: i64) -> String {
    if delta == 0 {
        "just now".into()
    } else if delta > 0 {
        format!("in {}", human_duration(delta))
    } else {
        format!("{} ago", human_duration(delta))
    }
}

/// A Unix time as `YYYY-MM-DD HH:MM:SS UTC`; one outside the years -9999..=9999 (a number
/// read from a profile may be anything) as `Unix time N`.
pub fn utc(ts: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(ts) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => format!("Unix time {ts}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(utc(1728413297), "2024-10-08 18:48:17 UTC");
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951782400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(-1), "1969-12-31 23:59:59 UTC");
        assert_eq!(utc(i64::MAX), "Unix time 9223372036854775807");
        assert_eq!(utc(i64::MIN), "Unix time -9223372036854775808");
        assert_eq!(human_duration(3661), "1h 1m");
        assert_eq!(human_duration(45), "45s");
        assert_eq!(relative(-90061), "1d 1h ago");
        assert_eq!(relative(0), "just now");
        assert_eq!(relative(1), "in 1s");
    }
}
