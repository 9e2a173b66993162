/*!
Progress for long work on a terminal (`batch`, `call --all`; the waits for the portal's
shared budget are still plain lines): items so far (of the total when known), their
rate and the time elapsed, redrawn four times a second on stderr. Never on a pipe or a
file, nor over data on the same terminal, never under `-q`; plain text (no bold) when
`NO_COLOR` is set. Cleared when done, so what the run prints after it stands alone.

Written here rather than with indicatif: indicatif's rate estimator pulls in the maths library,
which every `b24auth token` would then load at start (about 50,000 more instructions on the
fresh-token path, measured with callgrind), for one line of text.
*/

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One line of progress; a no-op when it must not show.
pub(crate) struct Progress {
    shown: Option<Arc<Shown>>,
}

/// What the drawing thread reads; counters only, so the work never waits for the terminal.
struct Shown {
    what: String,
    bold: bool,
    start: Instant,
    done: AtomicU64,
    /// `u64::MAX` while unknown.
    total: AtomicU64,
    /// Held while the line is drawn or cleared, so no draw lands after the clear.
    finished: Mutex<bool>,
}

impl Progress {
    /// Counts `what` (e.g. "items"), of `total` when known; shows only when `visible`.
    pub fn new(visible: bool, what: &str, total: Option<u64>) -> Progress {
        if !visible {
            return Progress { shown: None };
        }
        // An empty NO_COLOR counts as unset, as no-color.org says.
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let shown = Arc::new(Shown {
            what: what.to_string(),
            bold: !no_color,
            start: Instant::now(),
            done: AtomicU64::new(0),
            total: AtomicU64::new(total.unwrap_or(u64::MAX)),
            finished: Mutex::new(false),
        });
        // Drawn at once, so even a short run shows what it does; then redrawn by a thread.
        draw(&shown);
        let drawn = Arc::clone(&shown);
        std::thread::spawn(move || draw_until_finished(&drawn));
        Progress { shown: Some(shown) }
    }

    /// Progress for this run's terminal: stderr is one, stdout is not (data on the same screen
    /// shows itself, and a redrawn line would tear it), `-q` was not given.
    pub fn on_terminal(ui: &super::Ui, what: &str, total: Option<u64>) -> Progress {
        use std::io::IsTerminal;
        let visible =
            !ui.is_quiet() && super::stderr_is_terminal() && !std::io::stdout().is_terminal();
        Progress::new(visible, what, total)
    }

    pub fn set_total(&self, total: u64) {
        if let Some(s) = &self.shown {
            s.total.store(total, Ordering::Relaxed);
        }
    }

    pub fn set_position(&self, n: u64) {
        if let Some(s) = &self.shown {
            s.done.store(n, Ordering::Relaxed);
        }
    }

    pub fn add(&self, n: u64) {
        if let Some(s) = &self.shown {
            s.done.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Removes the line (also on failure: what was written stays written).
    pub fn finish(&self) {
        if let Some(s) = &self.shown {
            let mut finished = s.finished.lock().unwrap_or_else(|e| e.into_inner());
            if !*finished {
                *finished = true;
                let _ = write!(std::io::stderr(), "\r\x1b[2K");
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

fn draw_until_finished(s: &Shown) {
    while draw(s) {
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Draws the line unless the progress finished; says whether it drew.
fn draw(s: &Shown) -> bool {
    let finished = s.finished.lock().unwrap_or_else(|e| e.into_inner());
    if *finished {
        return false;
    }
    let line = line(s, s.start.elapsed());
    let _ = write!(std::io::stderr(), "\r\x1b[2K{line}");
    true
}

/// `1,250 of 10,000 items · 412/s · 3s`.
fn line(s: &Shown, elapsed: Duration) -> String {
    let done = s.done.load(Ordering::Relaxed);
    let count = match s.bold {
        true => format!("\x1b[1m{}\x1b[0m", grouped(done)),
        false => grouped(done),
    };
    let of = match s.total.load(Ordering::Relaxed) {
        u64::MAX => String::new(),
        total => format!(" of {}", grouped(total)),
    };
    let millis = elapsed.as_millis().max(1) as u64;
    let rate = done.saturating_mul(1000) / millis;
    let what = &s.what;
    format!("{count}{of} {what} · {rate}/s · {}s", elapsed.as_secs())
}

/// `12345` → `12,345`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(bold: bool, total: u64) -> Shown {
        Shown {
            what: "items".into(),
            bold,
            start: Instant::now(),
            done: AtomicU64::new(0),
            total: AtomicU64::new(total),
            finished: Mutex::new(false),
        }
    }

    #[test]
    fn hidden_progress_does_nothing() {
        let p = Progress::new(false, "items", Some(10));
        p.add(3);
        p.finish();
        assert!(p.shown.is_none());
    }

    #[test]
    fn shown_progress_counts() {
        let p = Progress::new(true, "items", None);
        p.add(2);
        p.add(1);
        let done = p.shown.as_ref().map(|s| s.done.load(Ordering::Relaxed));
        assert_eq!(done, Some(3));
        p.finish();
    }

    #[test]
    fn the_line_has_count_total_rate_and_time_and_no_style_without_colour() {
        let s = shown(false, 10_000);
        s.done.store(1_250, Ordering::Relaxed);
        assert_eq!(
            line(&s, Duration::from_secs(3)),
            "1,250 of 10,000 items · 416/s · 3s"
        );
        let unknown = shown(true, u64::MAX);
        let l = line(&unknown, Duration::from_millis(10));
        assert!(l.contains("\x1b[1m0\x1b[0m items"), "{l}");
        assert!(!l.contains(" of "), "{l}");
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1234567), "1,234,567");
    }
}
