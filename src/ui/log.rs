/*!
The debug log (`-v` / `--verbose`, or `B24AUTH_LOG=debug`): one line per HTTP exchange on
stderr — method, URL, status, bytes, time — and one per retry, back-off and lock wait.

Built on `tracing`; only b24auth's own events are shown. What a line may hold is decided here:
never a body, and a URL only with its query values and userinfo replaced by `…`, so no token,
code or secret can reach the log (all of them travel in bodies; the redaction is a second
fence, for a URL someone else built).
*/

use std::time::{Duration, Instant};

use tracing::Level;
use tracing_subscriber::layer::SubscriberExt;

const TARGET: &str = "b24auth";

/// Turns the log on when asked (`-v`, or `B24AUTH_LOG=debug`/`trace`); otherwise nothing is
/// set up and every hook costs one disabled-event check.
pub fn init(verbose: bool) {
    let from_env = std::env::var("B24AUTH_LOG")
        .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "debug" | "trace"));
    if !(verbose || from_env) {
        return;
    }
    let subscriber = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .with_max_level(Level::DEBUG)
        .finish()
        .with(tracing_subscriber::filter::Targets::new().with_target(TARGET, Level::DEBUG));
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// One finished HTTP exchange.
pub fn exchange(method: &str, url: &url::Url, status: u16, bytes: usize, started: Instant) {
    tracing::debug!(
        target: TARGET,
        "{method} {} -> {status}, {bytes} bytes, {}",
        redact(url),
        millis(started.elapsed())
    );
}

/// An HTTP exchange that got no answer.
pub fn failed(method: &str, url: &url::Url, why: &str, started: Instant) {
    tracing::debug!(
        target: TARGET,
        "{method} {} -> no answer ({why}), {}",
        redact(url),
        millis(started.elapsed())
    );
}

/// A decision worth a line: a retry, a back-off, a lock wait.
pub fn note(what: std::fmt::Arguments<'_>) {
    tracing::debug!(target: TARGET, "{what}");
}

fn millis(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

/// The URL with every query value and any userinfo replaced by `…`.
pub fn redact(url: &url::Url) -> String {
    let mut u = url.clone();
    if !u.username().is_empty() {
        let _ = u.set_username("…");
    }
    if u.password().is_some() {
        let _ = u.set_password(Some("…"));
    }
    if u.query().is_some() {
        let keys: Vec<String> = u.query_pairs().map(|(k, _)| k.into_owned()).collect();
        let query: Vec<String> = keys.iter().map(|k| format!("{k}=…")).collect();
        u.set_query(Some(&query.join("&")));
    }
    u.set_fragment(None);
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_secrets() {
        let u =
            url::Url::parse("https://user:pw@p.bitrix24.com/rest/app.info?auth=SECRET&x=1#frag")
                .unwrap();
        let r = redact(&u);
        assert!(!r.contains("SECRET") && !r.contains("pw") && !r.contains("frag"));
        assert!(r.contains("p.bitrix24.com/rest/app.info?auth=") && r.contains("x="));
    }
}
