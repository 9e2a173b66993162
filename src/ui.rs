/*!
The terminal side: messages on stderr (silenced by `--quiet`), prompts, and human time formats.
*/

use std::io::IsTerminal;

use anyhow::Result;

use crate::exit;
use crate::secret::Secret;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Ui {
    quiet: bool,
}

impl Ui {
    pub fn new(quiet: bool) -> Ui {
        Ui { quiet }
    }

    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    pub fn info(&self, msg: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{msg}");
        }
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
        if !self.quiet && stderr_is_terminal() {
            eprint!("\r\x1b[2K");
        }
    }

    /// A yes/no question on the terminal; with no terminal the answer is no.
    pub fn confirm(&self, question: &str) -> Result<bool> {
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            return Ok(false);
        }
        Ok(dialoguer::Confirm::new()
            .with_prompt(question)
            .default(false)
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

/// A small self-contained HTML page for the browser at the end of `authorize`.
pub fn page(title: &str, lines: &[String]) -> String {
    let body: String = lines
        .iter()
        .map(|l| format!("<p>{}</p>", escape(l)))
        .collect();
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title>\
         <link rel=\"icon\" href=\"data:,\"></head><body style=\"font-family:sans-serif;\
         max-width:40em;margin:3em auto\"><h1>{t}</h1>{body}</body></html>",
        t = escape(title)
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
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

/// `in 59m 10s` or `3h 2m ago`.
pub fn relative(delta: i64) -> String {
    if delta >= 0 {
        format!("in {}", human_duration(delta))
    } else {
        format!("{} ago", human_duration(delta))
    }
}

/// A Unix time as `YYYY-MM-DD HH:MM:SS UTC` (no time-zone database needed).
pub fn utc(ts: i64) -> String {
    let days = ts.div_euclid(86400);
    let secs = ts.rem_euclid(86400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(utc(1728413297), "2024-10-08 18:48:17 UTC");
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(human_duration(3661), "1h 1m");
        assert_eq!(human_duration(45), "45s");
        assert_eq!(relative(-90061), "1d 1h ago");
        assert_eq!(relative(0), "in 0s");
    }
}
