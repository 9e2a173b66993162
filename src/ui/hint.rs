/*!
The "run `b24auth …`" hints in messages and pages, exact for this run: they repeat the options
that pick the same profile (`--profile` when not default, `--store` when not `file`,
`--config-dir` when it was given on the command line), so the hint works when pasted as is.

The prefix is set once from the parsed options ([`set`]); [`cmd`] is what messages call, and
[`authorize_again`] the one "authorize again" hint. Every word of a hint goes through [`quote`],
so a value from outside cannot make the pasted line do anything else. The builder ([`prefix`]) is
a pure function.
*/

use std::path::Path;
use std::sync::OnceLock;

use url::Url;

use super::password;

static PREFIX: OnceLock<String> = OnceLock::new();
static CONFIG_DIR_FLAG: OnceLock<Option<std::path::PathBuf>> = OnceLock::new();
static STORE_ARG: OnceLock<String> = OnceLock::new();

/// Where the options of this run came from, as far as a hint needs to know.
pub struct Origin<'a> {
    pub profile: &'a str,
    /// `Some` when `--config-dir` was given on the command line (not through the environment).
    pub config_dir_flag: Option<&'a Path>,
    pub store: &'a str,
    /// True when the store URL came from `B24AUTH_STORE` (the hint then names the variable:
    /// a URL may hold a password that must not be printed).
    pub store_from_env: bool,
}

/// Records this run's options for every later hint; the first call wins.
pub fn set(origin: &Origin<'_>) {
    let _ = PREFIX.set(prefix(origin));
    let _ = CONFIG_DIR_FLAG.set(origin.config_dir_flag.map(Path::to_path_buf));
    let _ = STORE_ARG.set(store_arg(origin));
}

/// This run's `--store` value as a hint may print it (`file` when not set).
pub fn store() -> String {
    STORE_ARG.get().cloned().unwrap_or_else(|| "file".into())
}

/// `--store`'s value for a hint: the variable's name when the URL came from `B24AUTH_STORE`,
/// else the URL through the one password stripper ([`password::without_password`]), or a
/// placeholder when that cannot tell.
fn store_arg(o: &Origin<'_>) -> String {
    if o.store_from_env && o.store != "file" {
        return "\"$B24AUTH_STORE\"".to_string();
    }
    match password::without_password(o.store) {
        Some(url) => quote(&url),
        None => "STORE_URL".into(),
    }
}

/// Like [`cmd`], for the same profile in another store, which is always named (`--store file`
/// too: a `B24AUTH_STORE` in the environment would otherwise pick the store the hint is not
/// about).
pub fn cmd_in_store(profile: &str, store: &str, words: &[&str]) -> String {
    let dir = CONFIG_DIR_FLAG.get().cloned().flatten();
    let origin = Origin {
        profile,
        config_dir_flag: dir.as_deref(),
        store,
        store_from_env: false,
    };
    let mut prefix = prefix(&origin);
    if store == "file" {
        prefix = format!("--store file {prefix}");
    }
    format!("`b24auth {prefix}{}`", words_of(words))
}

/// `` `b24auth [options] WORDS…` `` with this run's options; every word is quoted for the
/// shell ([`quote`]), so a value from outside (a portal, a URL) is pasted as one inert word.
pub fn cmd(words: &[&str]) -> String {
    let prefix = PREFIX.get().map(String::as_str).unwrap_or("");
    format!("`b24auth {prefix}{}`", words_of(words))
}

/// The one "authorize again" hint: `run `b24auth … authorize --domain DOMAIN` or `b24auth …
/// install-listen``, with `--force` on both when the profile exists.
pub fn authorize_again(domain: &str, force: bool) -> String {
    let force: &[&str] = if force { &["--force"] } else { &[] };
    format!(
        "run {} or {}",
        cmd(&[&["authorize", "--domain", domain][..], force].concat()),
        cmd(&[&["install-listen"][..], force].concat())
    )
}

fn words_of(words: &[&str]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| quote(w)).collect();
    quoted.join(" ")
}

/// The global options a hint must repeat, each followed by a space.
pub fn prefix(o: &Origin<'_>) -> String {
    let mut out = String::new();
    if let Some(dir) = o.config_dir_flag {
        out.push_str(&format!("--config-dir {} ", quote(&dir.to_string_lossy())));
    }
    if o.store != "file" {
        out.push_str(&format!("--store {} ", store_arg(o)));
    }
    if o.profile != "default" {
        out.push_str(&format!("--profile {} ", quote(o.profile)));
    }
    out
}

/// The `--domain` value that names `portal` (`host[:port]`) reached by `scheme`: the bare host
/// for https (the default), the full origin otherwise.
pub fn domain_arg(portal: &str, scheme: &str) -> String {
    if scheme == "https" || portal.is_empty() {
        portal.to_string()
    } else {
        format!("{scheme}://{portal}")
    }
}

/// The `--domain` value for a stored profile: its portal, with the scheme of its
/// `client_endpoint` when that is not https.
pub fn domain_of(portal: Option<String>, client_endpoint: Option<&str>) -> String {
    let scheme = client_endpoint
        .and_then(|e| Url::parse(e).ok())
        .map(|u| u.scheme().to_string())
        .unwrap_or_else(|| "https".into());
    match portal {
        Some(p) if !p.is_empty() => domain_arg(&p, &scheme),
        _ => "PORTAL".into(),
    }
}

/// Single-quotes a word for a POSIX shell when it holds anything but safe characters.
pub fn quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:@=,+%".contains(&b));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin<'a>(
        profile: &'a str,
        dir: Option<&'a Path>,
        store: &'a str,
        env: bool,
    ) -> Origin<'a> {
        Origin {
            profile,
            config_dir_flag: dir,
            store,
            store_from_env: env,
        }
    }

    #[test]
    fn defaults_add_nothing() {
        assert_eq!(prefix(&origin("default", None, "file", false)), "");
    }

    #[test]
    fn every_option_that_matters_is_repeated() {
        let dir = Path::new("/tmp/my dir");
        assert_eq!(
            prefix(&origin("prod", Some(dir), "file", false)),
            "--config-dir '/tmp/my dir' --profile prod "
        );
        assert_eq!(
            prefix(&origin(
                "default",
                None,
                "postgres://b24:s3cret@db.example/b24",
                false
            )),
            "--store postgres://b24@db.example/b24 "
        );
        assert_eq!(
            prefix(&origin("default", None, "postgres://x:y@h/d", true)),
            "--store \"$B24AUTH_STORE\" "
        );
    }

    #[test]
    fn the_portal_keeps_a_scheme_that_is_not_https() {
        assert_eq!(domain_arg("p.bitrix24.com", "https"), "p.bitrix24.com");
        assert_eq!(
            domain_arg("127.0.0.1:8080", "http"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            domain_of(Some("127.0.0.1:9".into()), Some("http://127.0.0.1:9/rest/")),
            "http://127.0.0.1:9"
        );
        assert_eq!(domain_of(None, None), "PORTAL");
    }

    #[test]
    fn every_word_of_a_hint_is_quoted() {
        assert_eq!(
            authorize_again("a$(touch x);b", true),
            "run `b24auth authorize --domain 'a$(touch x);b' --force` or `b24auth install-listen --force`"
        );
        assert_eq!(
            authorize_again("PORTAL", false),
            "run `b24auth authorize --domain PORTAL` or `b24auth install-listen`"
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("a.b-c_1"), "a.b-c_1");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote(""), "''");
    }
}
