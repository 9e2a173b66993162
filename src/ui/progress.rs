/*!
Progress for long work on a terminal (`batch`, `call --all`; the waits for the portal's
shared budget are still plain lines): items so far (of the total when known), their
rate and the time elapsed, redrawn at most ten times a second on stderr. Never on a pipe or a
file, nor over data on the same terminal, never under `-q`; plain text (no colour) when
`NO_COLOR` is set. Cleared when done, so what the run prints after it stands alone.
*/

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// One line of progress; a no-op when it must not show.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Counts `what` (e.g. "items"), of `total` when known; shows only when `visible`.
    pub fn new(visible: bool, what: &str, total: Option<u64>) -> Progress {
        if !visible {
            return Progress { bar: None };
        }
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr_with_hz(10));
        bar.set_style(style(what, total.is_some()));
        bar.enable_steady_tick(Duration::from_millis(250));
        Progress { bar: Some(bar) }
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
        if let Some(bar) = &self.bar {
            bar.set_length(total);
        }
    }

    pub fn set_position(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(n);
        }
    }

    pub fn add(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    /// Removes the line (also on failure: what was written stays written).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `1,250 of 10,000 items · 412/s · 3s`; `{msg}` carries a wait's note.
fn style(what: &str, known_total: bool) -> ProgressStyle {
    // An empty NO_COLOR counts as unset, as no-color.org says.
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    ProgressStyle::with_template(&template(what, known_total, no_color))
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn template(what: &str, known_total: bool, no_color: bool) -> String {
    let pos = match no_color {
        true => "{human_pos}",
        false => "{human_pos:.bold}",
    };
    let of = match known_total {
        true => " of {human_len}",
        false => "",
    };
    format!("{pos}{of} {what} · {{per_sec}} · {{elapsed}} {{msg}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_progress_does_nothing() {
        let p = Progress::new(false, "items", Some(10));
        p.add(3);
        p.finish();
        assert!(p.bar.is_none());
    }

    #[test]
    fn shown_progress_counts() {
        let p = Progress::new(true, "items", None);
        p.add(2);
        p.add(1);
        assert_eq!(p.bar.as_ref().map(ProgressBar::position), Some(3));
    }

    #[test]
    fn every_template_parses_and_no_color_has_no_style() {
        for known in [true, false] {
            for no_color in [true, false] {
                let t = template("items", known, no_color);
                assert!(ProgressStyle::with_template(&t).is_ok(), "{t}");
                assert_eq!(t.contains(".bold"), !no_color, "{t}");
                assert_eq!(t.contains("of {human_len}"), known, "{t}");
            }
        }
    }
}
