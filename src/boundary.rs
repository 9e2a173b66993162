/*!
Values that cross the trust boundary in either direction: the OAuth server b24auth will send the
client secret to, the text a server wants printed on the user's terminal, and the environment a
child process inherits.

Servers never choose where secrets go, nor what the terminal shows: an OAuth server must be
`https://` (plain `http://` only on a loopback address); a server's error text is shown only
after every secret b24auth sent is replaced by `…` and control characters (ANSI escapes
included) are removed; `exec`'s child gets none of b24auth's own secrets.
*/

use std::net::IpAddr;
use std::process::Command;

use anyhow::Result;
use url::Url;

/// The environment variables that carry b24auth's own secrets, never a child's business.
pub const SECRET_VARS: [&str; 3] = ["B24AUTH_CLIENT_SECRET", "B24AUTH_STORE_KEY", "PGPASSWORD"];

/// An OAuth server must be `https://`, or `http://` on a loopback address (a local stand-in).
pub fn check_oauth_server(url: &Url) -> Result<()> {
    if url.scheme() == "https" || (url.scheme() == "http" && is_loopback(url)) {
        return Ok(());
    }
    Err(anyhow::anyhow!(
        "the OAuth server {} is not https:// (plain http:// only on a loopback address): the client secret would cross the network in clear; use https://",
        url.origin().ascii_serialization()
    ))
}

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

/// Keeps b24auth's secrets out of `cmd`'s environment: the secret variables are removed, and a
/// password in `B24AUTH_STORE` is taken out of the URL (the nested b24auth still finds the
/// store; it needs its own way to the password).
pub fn scrub_child_env(cmd: &mut Command) {
    for var in SECRET_VARS {
        cmd.env_remove(var);
    }
    if let Some(store) = std::env::var_os("B24AUTH_STORE") {
        let store = store.to_string_lossy();
        match without_password(&store) {
            Some(clean) => cmd.env("B24AUTH_STORE", clean),
            None => cmd.env_remove("B24AUTH_STORE"),
        };
    }
}

/// `store` with any password removed (URL userinfo, `?password=`, or `password=` in a
/// key=value connection string); `None` when it cannot be parsed to tell.
pub fn without_password(store: &str) -> Option<String> {
    if let Ok(mut url) = Url::parse(store) {
        if url.scheme() == "postgres" || url.scheme() == "postgresql" {
            let _ = url.set_password(None);
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| k != "password")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            url.set_query(None);
            if !kept.is_empty() {
                url.query_pairs_mut().extend_pairs(kept);
            }
        }
        return Some(url.to_string());
    }
    if store == "file" {
        return Some(store.to_string());
    }
    if store.contains('=') {
        // A key=value connection string; a quoted password may hold spaces: drop it all then.
        if store.contains('\'') && store.contains("password") {
            return None;
        }
        let kept: Vec<&str> = store
            .split_whitespace()
            .filter(|kv| !kv.trim_start().starts_with("password"))
            .collect();
        return Some(kept.join(" "));
    }
    None
}

/// `127.0.0.0/8`, `::1` or `localhost`: a portal on this machine (the tests' stand-in).
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_servers_are_https_or_loopback() {
        let ok = |s: &str| check_oauth_server(&Url::parse(s).unwrap()).is_ok();
        assert!(ok("https://oauth.bitrix.info"));
        assert!(ok("http://127.0.0.1:8080"));
        assert!(ok("http://[::1]:8080"));
        assert!(ok("http://localhost:1"));
        assert!(!ok("http://oauth.example.com"));
        assert!(!ok("http://10.0.0.1"));
        assert!(!ok("ftp://oauth.bitrix.info"));
    }

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
    fn store_passwords_are_taken_out() {
        assert_eq!(
            without_password("postgres://u:pw@db.example/b24?sslmode=require&password=x").unwrap(),
            "postgres://u@db.example/b24?sslmode=require"
        );
        assert_eq!(without_password("file").unwrap(), "file");
        assert_eq!(
            without_password("host=db user=u password=pw dbname=b").unwrap(),
            "host=db user=u dbname=b"
        );
        assert_eq!(without_password("host=db password='a b'"), None);
    }
}
