//! Values from outside (a token answer, an install callback, an imported file, the environment,
//! a stored file or row) that would inject lines, escapes, a NUL or other client credentials:
//! refused where they enter, and never reaching the terminal or a new variable.

use std::process::Command;

use serde_json::{json, Value};

use crate::support::cli::Env;
use crate::support::hostile_server::oauth_answering;
use crate::support::http;
use crate::support::stand_in::{StandIn, CLIENT_ID, CLIENT_SECRET};

const OSC52: &str = "\u{1b}]52;c;ZXZpbA==\u{7}";

/// A fresh pair file as another tool keeps it, with `field` set to `value`.
fn pair_file(env: &Env, s: &StandIn, field: &str, value: &str) -> std::path::PathBuf {
    let mut doc = s.issue_pair();
    doc["expires"] = (4_000_000_000i64).into();
    doc["application_token"] = "51856fefc120afa4b628cc82d3935cce".into();
    doc[field] = value.into();
    let path = env.tmp.path().join("auth-in.json");
    std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
    path
}

/// Writes a stored profile as an older b24auth could have, with `field` set to `value`.
fn plant(env: &Env, s: &StandIn, field: &str, value: &str) {
    let mut doc = env.seed(s, 3600);
    doc[field] = value.into();
    env.write_auth(&serde_json::to_vec_pretty(&doc).unwrap());
}

/// Bar: `show --format env` after importing a value with a newline: refused at import, never a
/// new variable; a value already stored so is not written either.
#[test]
fn show_format_env_never_gets_a_new_variable() {
    let s = StandIn::start();
    let env = Env::new();
    let evil = "x\nLD_PRELOAD=./evil.so";
    let file = pair_file(&env, &s, "application_token", evil);
    let run =
        Env::run_cmd(&mut env.app_cmd(&s, &["import", "--no-verify", file.to_str().unwrap()]));
    let line = run.assert_error(2);
    assert!(
        line.contains("application_token") && line.contains("nothing was saved"),
        "{line}"
    );
    assert!(!env.auth_path().exists());

    plant(&env, &s, "application_token", evil);
    let shown = env.run(&["show", "--format", "env"]);
    assert_ne!(shown.code, 0);
    assert!(!shown.stdout.contains("LD_PRELOAD"), "{}", shown.stdout);
    assert!(
        shown.stderr.contains("B24_APPLICATION_TOKEN"),
        "{}",
        shown.stderr
    );

    // A value with shell syntax in it is one quoted assignment that reads back as it was.
    plant(
        &env,
        &s,
        "application_token",
        "51856fefc120afa4b628cc82d3935cce",
    );
    let odd = env.tmp.path().join("it's $HOME");
    std::fs::create_dir_all(&odd).unwrap();
    std::fs::rename(&env.dir, odd.join("config")).unwrap();
    let mut shown = env.cmd(&["show", "--format", "env"]);
    shown.env("B24AUTH_CONFIG_DIR", odd.join("config"));
    let shown = Env::run_cmd(&mut shown);
    shown.assert_ok();
    for line in shown.stdout.lines() {
        assert!(
            line.split_once('=')
                .is_some_and(|(k, _)| k.starts_with("B24")
                    && k.bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')),
            "{line}"
        );
    }
    let read_back = Command::new("sh")
        .arg("-c")
        .arg(format!("{}printf %s \"$B24AUTH_CONFIG_DIR\"", shown.stdout))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&read_back.stdout),
        odd.join("config").display().to_string()
    );
}

/// A token answer whose access token would break a line: the token is refused, never printed,
/// and the rotated refresh token kept (the server has already killed the stored one); one
/// naming other client credentials changes nothing but the pair.
#[test]
fn a_hostile_token_answer_is_refused_and_never_changes_the_client() {
    let s = StandIn::start();
    let env = Env::new();
    let stored = env.seed(&s, -10);
    let before = env.auth_bytes();
    let server = oauth_answering(json!({
        "access_token": "tok\nen", "refresh_token": "r1", "expires_in": 3600,
    }));
    let mut cmd = env.cmd(&["token"]);
    cmd.env("B24AUTH_OAUTH_SERVER", &server);
    let run = Env::run_cmd(&mut cmd);
    let line = run.assert_error(1);
    assert!(line.contains("access_token"), "{line}");
    assert!(run.stdout.is_empty(), "{:?}", run.stdout);
    assert_ne!(env.auth_bytes(), before);
    let kept = env.auth();
    assert_eq!(
        kept["refresh_token"], "r1",
        "the rotated refresh token is kept"
    );
    assert!(
        kept.get("access_token").is_none(),
        "the refused token is not stored"
    );

    let server = oauth_answering(json!({
        "access_token": "a2a2a2a2", "refresh_token": "r2r2r2r2", "expires_in": 3600,
        "client_id": "local.evil", "client_secret": "evil-secret",
    }));
    let mut cmd = env.cmd(&["refresh"]);
    cmd.env("B24AUTH_OAUTH_SERVER", &server);
    Env::run_cmd(&mut cmd).assert_ok();
    let auth = env.auth();
    assert_eq!(auth["access_token"], "a2a2a2a2");
    assert_eq!(auth["client_id"], stored["client_id"]);
    assert_eq!(auth["client_secret"], CLIENT_SECRET);
}

/// The installation callback is where its values enter: an escape in `member_id` is refused
/// (even with `--no-verify`), the listener keeps waiting, and a clean callback is saved.
#[test]
fn a_callback_with_control_characters_is_refused_and_the_listener_waits() {
    let s = StandIn::start();
    let env = Env::new();
    let path = "/install/0123456789abcdef0123456789abcdef";
    let (p, addr) = env.listen(&mut env.install_listen(&s, true, path, &["--no-verify"]));
    let pair = s.issue_pair();
    let form = |member: &str| {
        let host = s.host();
        let mut f = url::form_urlencoded::Serializer::new(String::new());
        f.append_pair("event", "ONAPPINSTALL");
        for (k, v) in [
            ("access_token", pair["access_token"].as_str().unwrap()),
            ("refresh_token", pair["refresh_token"].as_str().unwrap()),
            ("expires_in", "3600"),
            ("domain", host.as_str()),
            ("client_endpoint", &format!("http://{host}/portal/rest/")),
            ("member_id", member),
        ] {
            f.append_pair(&format!("auth[{k}]"), v);
        }
        f.finish()
    };
    let form_type = "application/x-www-form-urlencoded";
    let evil = http::post(
        &addr,
        path,
        form_type,
        form(&format!("m{OSC52}")).as_bytes(),
    );
    assert_eq!(evil.status, 400, "{evil:?}");
    assert!(!env.auth_path().exists());
    let good = http::post(&addr, path, form_type, form("m1").as_bytes());
    assert_eq!(good.status, 200, "{good:?}");
    let run = p.finish();
    run.assert_ok();
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
    assert_eq!(env.auth()["member_id"], "m1");
}

/// Text from the store reaches the terminal only through the sanitizer: no OSC 52 from `show`
/// or `list`, file store and PostgreSQL row names alike.
#[test]
fn stored_escapes_never_reach_the_terminal() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Postgres,
        "injected_values::stored_escapes_never_reach_the_terminal",
    ) {
        return;
    }
    let s = StandIn::start();
    let env = Env::new();
    plant(&env, &s, "member_id", &format!("m{OSC52}"));
    for args in [&["show"][..], &["show", "--field", "member_id"], &["list"]] {
        let run = env.run(args);
        run.assert_ok();
        assert!(!run.stdout.contains('\u{1b}'), "{args:?}: {:?}", run.stdout);
        assert!(!run.stdout.contains("52;c;"), "{args:?}: {:?}", run.stdout);
    }

    let pg = crate::support::postgres::shared();
    let url = pg.database();
    let mut copy = env.cmd(&["store", "copy", "--from", "file", "--to", &url]);
    Env::run_cmd(&mut copy).assert_ok();
    pg.psql(
        crate::support::postgres::db_of(&url),
        "INSERT INTO b24auth_profiles (name, document) SELECT E'ev\\x1b]52;c;ZXZpbA==\\x07il', document FROM b24auth_profiles WHERE name = 'default'",
    );
    let mut list = env.cmd(&["list"]);
    list.env("B24AUTH_STORE", &url);
    let run = Env::run_cmd(&mut list);
    assert!(run.stdout.contains("evil\t"), "{run:?}");
    assert!(
        !run.stdout.contains('\u{1b}') && !run.stderr.contains('\u{1b}'),
        "{run:?}"
    );
}

/// An access token with a line break is refused where it enters, and one stored by an older
/// version is not printed as several lines by `token`.
#[test]
fn token_never_prints_several_lines() {
    let s = StandIn::start();
    let env = Env::new();
    let file = pair_file(&env, &s, "access_token", "abc\ndef");
    let run =
        Env::run_cmd(&mut env.app_cmd(&s, &["import", "--no-verify", file.to_str().unwrap()]));
    assert!(run.assert_error(2).contains("access_token"));

    plant(&env, &s, "access_token", "abc\ndef");
    let run = env.run(&["token"]);
    assert!(run.assert_error(1).contains("access_token"));
    assert!(run.stdout.is_empty(), "{:?}", run.stdout);
}

/// A NUL in a stored value: `exec` names the variable and the real cause, not `chmod +x`.
#[test]
fn a_nul_in_a_stored_value_is_named_by_exec() {
    let s = StandIn::start();
    let env = Env::new();
    let file = pair_file(&env, &s, "application_token", "a\u{0}b");
    let run =
        Env::run_cmd(&mut env.app_cmd(&s, &["import", "--no-verify", file.to_str().unwrap()]));
    assert!(run.assert_error(2).contains("application_token"));

    plant(&env, &s, "application_token", "a\u{0}b");
    let run = env.run(&["exec", "--", "true"]);
    let line = run.assert_error(1);
    assert!(
        line.contains("B24_APPLICATION_TOKEN") && line.contains("NUL"),
        "{line}"
    );
    assert!(!line.contains("chmod"), "{line}");
}

/// An imported `client_id`/`client_secret` must be clean too.
#[test]
fn imported_client_credentials_are_checked() {
    let s = StandIn::start();
    let env = Env::new();
    let mut doc: Value =
        serde_json::from_slice(&std::fs::read(pair_file(&env, &s, "scope", "crm")).unwrap())
            .unwrap();
    doc["client_id"] = CLIENT_ID.into();
    doc["client_secret"] = format!("{CLIENT_SECRET}\r\nX=1").into();
    let file = env.tmp.path().join("b24auth.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let run = Env::run_cmd(&mut env.cmd(&["import", "--no-verify", file.to_str().unwrap()]));
    assert!(run.assert_error(2).contains("client_secret"));
    assert!(!run.stderr.contains(CLIENT_SECRET));
}

/// The client credentials given in the environment are stored with every new pair: checked too.
#[test]
fn client_credentials_from_the_environment_are_checked() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, -10);
    let before = env.auth_bytes();
    let mut cmd = env.app_cmd(&s, &["refresh"]);
    cmd.env("B24AUTH_CLIENT_SECRET", format!("{CLIENT_SECRET}\nX=1"));
    let run = Env::run_cmd(&mut cmd);
    let line = run.assert_error(2);
    assert!(line.contains("B24AUTH_CLIENT_SECRET"), "{line}");
    assert!(!line.contains(CLIENT_SECRET), "{line}");
    assert_eq!(env.auth_bytes(), before);
    assert_eq!(s.counters().token_calls, 0);
}
