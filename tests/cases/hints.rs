//! The "run `b24auth …`" hints: they repeat the run's options without a password (from the URL's
//! userinfo, its query or `PGPASSWORD`), every value in them pastes as one inert shell word,
//! `import`'s "authorize again" is the same hint as everyone's, and the README's migration
//! recipe works as written, down to the note that deletes the old copy.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::cli::{Env, BIN};
use crate::support::postgres;
use crate::support::stand_in::{Endpoint, Fault, StandIn, When};

/// The first `` `b24auth …` `` command in `line`.
fn first_hint(line: &str) -> &str {
    let start = line
        .find("`b24auth ")
        .unwrap_or_else(|| panic!("no hint in {line}"))
        + 1;
    let len = line[start..].find('`').unwrap();
    &line[start..start + len]
}

/// Pastes `hint` into `sh` in `dir` with `b24auth` standing for a function that prints its
/// arguments one a line: what the shell would hand the real one.
fn pasted_words(hint: &str, dir: &Path) -> Vec<String> {
    let script = format!("b24auth() {{ printf '%s\\n' \"$@\"; }}\n{hint}\n");
    let out = Command::new("sh")
        .args(["-c", &script])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn a_password_in_the_store_query_never_reaches_stderr() {
    let env = Env::new();
    let run = env.run(&[
        "--store",
        "postgres://u@127.0.0.1:1/x?password=SECRET",
        "token",
    ]);
    let line = run.assert_error(1);
    assert!(line.contains("postgres://u@127.0.0.1:1/x"), "{line}");
    assert!(!run.stderr.contains("SECRET"), "{}", run.stderr);
}

/// A store that answers, so the exit-3 hint with `--store` is printed: neither the URL's
/// passwords nor `PGPASSWORD` are in it, and the rest of the URL is as written.
#[test]
fn the_store_in_a_hint_has_no_password_from_anywhere() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Postgres,
        "hints::the_store_in_a_hint_has_no_password_from_anywhere",
    ) {
        return;
    }
    let env = Env::new();
    let url = postgres::shared().database();
    let with_passwords = format!("{url}&password=QUERYSECRET");
    let mut cmd = env.cmd(&["--store", &with_passwords, "--profile", "prod", "token"]);
    cmd.env("PGPASSWORD", "PGSECRET");
    let run = Env::run_cmd(&mut cmd);
    let line = run.assert_error(3).to_string();
    for secret in ["QUERYSECRET", "PGSECRET", "password"] {
        assert!(!run.stderr.contains(secret), "{secret}: {}", run.stderr);
    }
    let hint = first_hint(&line);
    let words = pasted_words(hint, env.tmp.path());
    assert_eq!(words[..4], ["--store", &url, "--profile", "prod"], "{hint}");
    assert_eq!(words[4..], ["authorize", "--domain", "PORTAL"], "{hint}");
}

/// A portal name and a config dir that hold shell syntax come back from the pasted hint as
/// the same one word each, and nothing runs.
#[test]
fn a_pasted_hint_runs_nothing_but_b24auth() {
    let s = StandIn::start();
    let env = Env::new();
    let evil_dir = env.tmp.path().join("d$(touch pwned-dir)'x");
    let evil_portal = "a$(touch pwned);touch pwned2;b.bitrix24.com";
    let mut doc = env.seed(&s, -10);
    doc.as_object_mut().unwrap().remove("client_endpoint");
    doc["b24auth"]["portal"] = Value::from(evil_portal);
    std::fs::create_dir_all(&evil_dir).unwrap();
    std::fs::rename(&env.dir, evil_dir.join("c")).unwrap();
    let dir = evil_dir.join("c");
    std::fs::write(dir.join("auth.json"), serde_json::to_vec(&doc).unwrap()).unwrap();
    s.fail(Endpoint::Token, When::Next(1), Fault::INVALID_GRANT);
    let mut cmd = env.cmd(&["--config-dir", dir.to_str().unwrap(), "token"]);
    cmd.env_remove("B24AUTH_CONFIG_DIR");
    let line = Env::run_cmd(&mut cmd).assert_error(3).to_string();
    let hint = first_hint(&line);
    let words = pasted_words(hint, env.tmp.path());
    assert_eq!(
        words,
        [
            "--config-dir",
            dir.to_str().unwrap(),
            "authorize",
            "--domain",
            evil_portal,
            "--force"
        ],
        "{hint}"
    );
    for gone in ["pwned", "pwned2", "pwned-dir"] {
        assert!(
            !env.tmp.path().join(gone).exists(),
            "{gone} ran from {hint}"
        );
    }
}

/// `import`'s dead pair is told the same "authorize again" as everyone: for this profile.
#[test]
fn imports_authorize_again_names_the_profile() {
    let s = StandIn::start();
    let env = Env::new();
    let doc = env.seed(&s, -10);
    let file = env.tmp.path().join("pair.json");
    std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
    std::fs::remove_file(env.auth_path()).unwrap();
    s.fail(Endpoint::Token, When::Next(1), Fault::INVALID_GRANT);
    let run = Env::run_cmd(
        &mut env.app_cmd(&s, &["--profile", "prod", "import", file.to_str().unwrap()]),
    );
    let line = run.assert_error(3).to_string();
    assert!(
        line.contains(&format!(
            "run `b24auth --profile prod authorize --domain {}` or `b24auth --profile prod install-listen`",
            s.base
        )),
        "{line}"
    );
    assert!(
        !env.dir.join("profiles/prod.json").exists(),
        "nothing saved"
    );
}

/// The README's "Running on several hosts" recipe, run by `sh` with `B24AUTH_STORE` exported
/// (only the URL and the key file changed for the test's database), then the closing note's
/// command: it deletes the file copy, not the database's.
#[test]
fn the_readmes_migration_recipe_works_with_the_store_exported() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Postgres,
        "hints::the_readmes_migration_recipe_works_with_the_store_exported",
    ) {
        return;
    }
    let s = StandIn::start();
    let env = Env::new();
    let seeded = env.seed(&s, 3600);
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/deployment.md"))
            .unwrap();
    let section = &readme[readme.find("## Running on several hosts").unwrap()..];
    let block = &section[section.find("```sh\n").unwrap() + 6..];
    let recipe = &block[..block.find("```").unwrap()];
    let url = postgres::shared().database();
    let key = env.tmp.path().join("key");
    std::fs::write(&key, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n").unwrap();
    let readme_url = "'postgres://b24auth@db.internal/integrations?sslmode=require'";
    assert!(
        recipe.contains(readme_url) && recipe.contains("/etc/b24auth/key"),
        "{recipe}"
    );
    let script = recipe
        .replace(readme_url, &format!("'{url}'"))
        .replace("/etc/b24auth/key", key.to_str().unwrap());
    let sh = |script: &str| {
        let mut c = Command::new("sh");
        c.args(["-ec", script]);
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("B24AUTH_")) {
            c.env_remove(k);
        }
        let bin_dir = Path::new(BIN).parent().unwrap();
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        c.env("PATH", path).env("B24AUTH_CONFIG_DIR", &env.dir);
        let out = c.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{script}: {stderr}");
        (String::from_utf8(out.stdout).unwrap(), stderr)
    };
    let (stdout, stderr) = sh(&script);
    assert_eq!(
        stdout.trim(),
        seeded["access_token"].as_str().unwrap(),
        "{stderr}"
    );
    let note = &stderr[stderr.find("delete the old copy with").expect(&stderr)..];
    let forget = first_hint(note);
    assert!(
        forget.starts_with("b24auth --store file forget"),
        "{forget}"
    );
    let exports: String = script
        .lines()
        .filter(|l| l.starts_with("export "))
        .map(|l| format!("{l}\n"))
        .collect();
    sh(&format!("{exports}{forget} --yes\n"));
    assert!(!env.auth_path().exists(), "the file copy is gone");
    let (stdout, stderr) = sh(&format!("{exports}b24auth token\n"));
    assert_eq!(
        stdout.trim(),
        seeded["access_token"].as_str().unwrap(),
        "{stderr}"
    );
}

/// The `--oauth-server` hint for a pair naming a server outside Bitrix24's two repeats the
/// run's profile, and a server path holding shell syntax pastes as one inert word.
#[test]
fn the_oauth_server_hint_pastes_as_the_server_named() {
    let s = StandIn::start();
    let env = Env::new();
    let mut doc = s.issue_pair();
    doc["expires"] = 0.into();
    doc["client_id"] = crate::support::stand_in::CLIENT_ID.into();
    doc["client_secret"] = crate::support::stand_in::CLIENT_SECRET.into();
    doc["server_endpoint"] = "https://oauth.corp.example/b24$(touch pwned);x/rest/".into();
    let profiles = env.dir.join("profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    std::fs::write(
        profiles.join("prod.json"),
        serde_json::to_vec(&doc).unwrap(),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path, m: u32| std::fs::set_permissions(p, PermissionsExt::from_mode(m));
    mode(&env.dir, 0o700).unwrap();
    mode(&profiles, 0o700).unwrap();
    mode(&profiles.join("prod.json"), 0o600).unwrap();
    let run = env.run(&["--profile", "prod", "token"]);
    let line = run.assert_error(2).to_string();
    assert!(line.contains("not one of Bitrix24's"), "{line}");
    let hint = first_hint(&line);
    let words = pasted_words(hint, env.tmp.path());
    assert_eq!(
        words,
        [
            "--profile",
            "prod",
            "--oauth-server",
            "https://oauth.corp.example/b24$(touch%20pwned);x",
            "refresh"
        ],
        "{hint}"
    );
    assert!(
        !env.tmp.path().join("pwned").exists(),
        "{hint} ran something"
    );
    assert_eq!(s.counters().token_calls, 0);
}
