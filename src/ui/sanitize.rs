/*!
Text from outside, safe for the terminal: a server's error text is shown only after every secret
b24auth sent is replaced by `…` and control characters (ANSI CSI and OSC escapes included) are
removed. The one sanitizer: every message that may carry outside text goes through it.
*/

/// `text` from a server, safe to print: each of `sent` (secrets, tokens, codes b24auth sent;
/// also in their form-encoded spelling) becomes `…`, and control characters are dropped (an
/// ANSI escape sequence whole).
pub fn redact(text: &str, sent: &[&str]) -> String {
    let mut out = text.to_string();
    for secret in sent.iter().filter(|s| s.len() >= 4) {
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        for spelling in [secret.to_string(), encoded] {
            out = out.replace(&spelling, "…");
        }
    }
    strip_controls(&out)
}

/// Removes ANSI escape sequences (`ESC [ … final`, `ESC ] … BEL/ST`, `ESC x`) and every other
/// control character; line breaks and tabs become spaces so the message stays one line.
pub fn strip_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// What a foreign party wrote (a redirect's `error_description`), made safe for one terminal
/// line and an HTML page (which escapes on its own): [`strip_controls`], runs of space
/// collapsed, and the text cut at `max` characters (marked `…`).
pub fn clipped(s: &str, max: usize) -> String {
    let cleaned = strip_controls(s);
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    let joined = words.join(" ");
    if joined.chars().count() <= max {
        return joined;
    }
    let mut cut: String = joined.chars().take(max).collect();
    cut.push('…');
    cut
}

fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.next() {
        // CSI: parameters and intermediates, then one final byte in @..~.
        Some('[') => {
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        }
        // OSC: up to BEL or ESC \.
        Some(']') => {
            while let Some(c) = chars.next() {
                if c == '\u{7}' {
                    break;
                }
                if c == '\u{1b}' {
                    chars.next_if_eq(&'\\');
                    break;
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_loses_secrets_and_escapes() {
        let echoed = "grant_type=refresh_token&client_secret=s3cr%2Bt%2Fx&refresh_token=rt123456\u{1b}[31m red\u{1b}[0m\u{7}\r\nnext\u{1b}]0;title\u{7}";
        let shown = redact(echoed, &["s3cr+t/x", "rt123456", ""]);
        assert_eq!(
            shown,
            "grant_type=refresh_token&client_secret=…&refresh_token=… red  next"
        );
        assert!(!shown.chars().any(char::is_control));
    }

    #[test]
    fn clipped_drops_csi_and_osc_and_cuts() {
        let foreign =
            "denied\u{1b}]8;;http://evil.example\u{7}click\u{1b}]8;;\u{1b}\\ \u{1b}[2J\r\n  now";
        assert_eq!(clipped(foreign, 100), "deniedclick now");
        assert_eq!(clipped("abcdef", 3), "abc…");
    }
}
