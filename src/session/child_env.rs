/*!
The variables b24auth hands to other programs: `exec`'s child, `show --format env` and the
`--on-refresh` hook all get exactly this list, so a script written for one works under the others.

The pair's public half (token, endpoints, expiry) plus where it lives (`B24AUTH_PROFILE`,
`B24AUTH_CONFIG_DIR`, `B24AUTH_STORE`), so a nested `b24auth token --rejected …` reaches the same
profile. Never the client secret, the store key or a store password: [`scrub_child_env`] takes
b24auth's own secrets out of every child's environment.
*/

use std::path::Path;
use std::process::Command;

use crate::profile::Profile;
use crate::session::config::RunConfig;

/// `(NAME, value)` for every variable, in a stable order; `B24_APPLICATION_TOKEN` only when stored.
pub fn exec_env(profile: &Profile, cfg: &RunConfig) -> Vec<(String, String)> {
    let mut vars = match profile.webhook() {
        // A webhook profile: its address and the portal, nothing else.
        Ok(hook) => vec![
            ("B24_WEBHOOK_URL", hook.base().expose().to_string()),
            ("B24_DOMAIN", hook.portal()),
        ],
        Err(_) => pair_vars(profile),
    };
    if let Some(t) = profile.application_token() {
        vars.push(("B24_APPLICATION_TOKEN", t.expose().to_string()));
    }
    vars.push(("B24AUTH_PROFILE", cfg.profile.clone()));
    vars.push(("B24AUTH_CONFIG_DIR", absolute(&cfg.config_dir)));
    // A store whose password cannot be cut out cleanly is not passed at all.
    if let Some(store) = crate::ui::password::without_password(&cfg.store_url) {
        vars.push(("B24AUTH_STORE", store));
    }
    vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// A token pair's variables.
fn pair_vars(profile: &Profile) -> Vec<(&'static str, String)> {
    let text = |v: Option<&str>| v.unwrap_or("").to_string();
    vec![
        (
            "B24_ACCESS_TOKEN",
            profile.access_token().expose().to_string(),
        ),
        ("B24_CLIENT_ENDPOINT", text(profile.client_endpoint())),
        ("B24_MEMBER_ID", text(profile.member_id())),
        (
            "B24_EXPIRES",
            profile.expires().map(|e| e.to_string()).unwrap_or_default(),
        ),
        ("B24_DOMAIN", profile.portal().unwrap_or_default()),
        ("B24_SERVER_ENDPOINT", text(profile.server_endpoint())),
    ]
}

/// `KEY=value` lines, one a variable, that a shell (`set -a; . FILE`) and systemd's
/// `EnvironmentFile=` read back as exactly these values: a value made only of
/// [`bare`] characters is written as it is (so `docker run --env-file`, which takes the rest of
/// the line literally, reads it too), any other in double quotes with `\`, `"`, `$` and `` ` ``
/// escaped by a backslash: the one quoting both read alike (systemd's parser, `env-file.c`,
/// keeps a quote that follows other text literally, so the shell's `'\''` would not survive
/// it). A value with
/// a control character (refused on entry; one stored by an older version) is not written at
/// all: the error names its variable.
pub fn env_file(vars: &[(String, String)]) -> Result<String, String> {
    let mut out = String::new();
    for (k, v) in vars {
        if v.chars().any(char::is_control) {
            return Err(format!(
                "{k} would hold a control character (a line break, an escape or a NUL)"
            ));
        }
        let value = match v.chars().all(bare) {
            true => v.clone(),
            false => format!("\"{}\"", escape_double_quoted(v)),
        };
        out.push_str(&format!("{k}={value}\n"));
    }
    Ok(out)
}

/// `v` for the inside of a POSIX double-quoted string (systemd reads the same escapes).
fn escape_double_quoted(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    for c in v.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Characters that mean nothing to a shell, to systemd or to docker in an assignment's value.
fn bare(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_-.,/:@%+=?".contains(c)
}

/// The first variable whose value no environment can carry (a NUL byte), for `exec`'s error.
pub fn unrepresentable(vars: &[(String, String)]) -> Option<&str> {
    vars.iter()
        .find(|(_, v)| v.contains('\0'))
        .map(|(k, _)| k.as_str())
}

/// A child may change directory before it runs `b24auth`: hand it an absolute path.
fn absolute(dir: &Path) -> String {
    std::path::absolute(dir)
        .unwrap_or_else(|_| dir.to_path_buf())
        .display()
        .to_string()
}

/// The environment variables that carry b24auth's own secrets, never a child's business.
pub const SECRET_VARS: [&str; 3] = ["B24AUTH_CLIENT_SECRET", "B24AUTH_STORE_KEY", "PGPASSWORD"];

/// Keeps b24auth's secrets out of `cmd`'s environment: the secret variables are removed, and a
/// password in `B24AUTH_STORE` is taken out of the URL (the nested b24auth still finds the
/// store; it needs its own way to the password).
pub fn scrub_child_env(cmd: &mut Command) {
    for var in SECRET_VARS {
        cmd.env_remove(var);
    }
    if let Some(store) = std::env::var_os("B24AUTH_STORE") {
        let store = store.to_string_lossy();
        match crate::ui::password::without_password(&store) {
            Some(clean) => cmd.env("B24AUTH_STORE", clean),
            None => cmd.env_remove("B24AUTH_STORE"),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_passwords_are_removed() {
        let cut = |s: &str| crate::ui::password::without_password(s).unwrap();
        assert_eq!(cut("file"), "file");
        assert_eq!(
            cut("postgres://u:hunter2@db:5432/x?sslmode=require&password=p2"),
            "postgres://u@db:5432/x?sslmode=require"
        );
        assert_eq!(cut("postgres://db/x?password=p2"), "postgres://db/x");
        assert_eq!(cut("postgresql://u@db/x"), "postgresql://u@db/x");
    }

    #[test]
    fn env_file_is_one_line_a_variable() {
        let vars = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            env_file(&vars(&[
                ("A", "1"),
                ("B", "x y"),
                ("C", "https://p.example/rest/"),
                ("D", "it's $HOME `id`"),
            ]))
            .unwrap(),
            "A=1\nB=\"x y\"\nC=https://p.example/rest/\nD=\"it's \\$HOME \\`id\\`\"\n"
        );
        let e = env_file(&vars(&[(
            "B24_APPLICATION_TOKEN",
            "x\nLD_PRELOAD=./evil.so",
        )]))
        .unwrap_err();
        assert!(e.contains("B24_APPLICATION_TOKEN"), "{e}");
        assert_eq!(
            unrepresentable(&vars(&[("A", "1"), ("B", "a\0b")])),
            Some("B")
        );
    }

    /// What a shell reads back from the file is exactly what was written.
    #[test]
    fn a_shell_reads_back_every_value() {
        for value in [
            "a'b\"c$d`e\\f g;h|i&j*k",
            "postgres://u@db/x?sslmode=require",
            "/tmp/it's ~ here",
        ] {
            let file = env_file(&[("V".to_string(), value.to_string())]).unwrap();
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("{file}printf %s \"$V\""))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), value, "{file}");
        }
    }
}
