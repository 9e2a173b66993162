//! Webhook profiles (issue 28): `import --webhook` reads the address from stdin, checks it with
//! one call and saves it; `call`, `batch`, `exec` use it under the shared budget; `token` and
//! `refresh` say why they do not apply; `show` masks the secret; a revoked webhook names the fix.

use crate::support::cli::Env;
use crate::support::stand_in::{StandIn, WEBHOOK};

/// The webhook's secret part, which must never show unmasked.
fn secret() -> &'static str {
    WEBHOOK.trim_end_matches('/').rsplit('/').next().unwrap()
}

fn imported(env: &Env, s: &StandIn) {
    let run = Env::run_with_stdin(
        &mut env.cmd(&["import", "--webhook"]),
        &format!("{}\n", s.webhook_url()),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("saved incoming webhook"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains(secret()),
        "the secret was printed: {}",
        run.stderr
    );
}

#[test]
fn a_webhook_is_imported_from_stdin_and_serves_call_batch_and_exec() {
    let s = StandIn::start();
    let env = Env::new();
    imported(&env, &s);
    assert_eq!(
        crate::support::cli::mode(&env.auth_path()) & 0o777,
        0o600,
        "the file rules hold"
    );

    let call = env.run(&["call", "profile", "--result"]);
    call.assert_ok();
    assert!(
        call.stdout.contains("\"NAME\":\"Stand\""),
        "{}",
        call.stdout
    );
    let budget = env.dir.join("budget");
    assert!(
        std::fs::read_dir(&budget).is_ok_and(|mut d| d.next().is_some()),
        "the call went through the shared budget"
    );

    let run = Env::run_with_stdin(
        &mut env.cmd(&["batch"]),
        "{\"method\":\"profile\",\"params\":{}}\n",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("Stand"), "{}", run.stdout);

    let exec = env.run(&[
        "exec",
        "--",
        "sh",
        "-c",
        "echo \"$B24_WEBHOOK_URL|$B24_DOMAIN|${B24_ACCESS_TOKEN-unset}\"",
    ]);
    exec.assert_ok();
    let host = s.base.trim_start_matches("http://");
    assert_eq!(
        exec.stdout.trim(),
        format!("{}|{host}|unset", s.webhook_url())
    );
}

#[test]
fn token_and_refresh_say_why_and_show_masks_the_secret() {
    let s = StandIn::start();
    let env = Env::new();
    imported(&env, &s);
    for cmd in [&["token"][..], &["refresh"][..]] {
        let run = env.run(cmd);
        let line = run.assert_error(2);
        assert!(line.contains("is an incoming webhook"), "{line}");
    }
    let show = env.run(&["show"]);
    show.assert_ok();
    assert!(show.stdout.contains("incoming webhook"), "{}", show.stdout);
    assert!(!show.stdout.contains(secret()), "{}", show.stdout);
    let reveal = env.run(&["show", "--reveal"]);
    assert!(reveal.stdout.contains(secret()), "{}", reveal.stdout);
}

#[test]
fn the_address_never_comes_from_argv_and_a_bad_one_is_refused() {
    let s = StandIn::start();
    let env = Env::new();
    let run = env.run(&["import", "--webhook", &s.webhook_url()]);
    let line = run.assert_error(2);
    assert!(line.contains("never from the command line"), "{line}");
    assert!(line.contains("now in your shell history"), "{line}");
    assert!(line.contains("create a new one"), "{line}");
    assert!(!line.contains(secret()), "{line}");
    let run = Env::run_with_stdin(&mut env.cmd(&["import", "--webhook"]), "");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("nothing on stdin"), "{}", run.stderr);
    let run = Env::run_with_stdin(
        &mut env.cmd(&["import", "--webhook"]),
        "https://portal.bitrix24.com/rest/crm.deal.list\n",
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("https://PORTAL/rest/USER_ID/SECRET/"),
        "{}",
        run.stderr
    );
    assert!(!env.auth_path().exists());
}

#[test]
fn a_revoked_webhook_names_the_fix() {
    let s = StandIn::start();
    let env = Env::new();
    imported(&env, &s);
    s.revoke_webhook();
    let run = env.run(&["call", "profile"]);
    let line = run.assert_error(3);
    assert!(line.contains("INVALID_CREDENTIALS"), "{line}");
    assert!(line.contains("b24auth import --webhook --force"), "{line}");
    assert!(!line.contains(secret()), "{line}");
    // A webhook the portal refuses at import time is not saved.
    let other = Env::new();
    let run = Env::run_with_stdin(
        &mut other.cmd(&["import", "--webhook"]),
        &format!("{}\n", s.webhook_url()),
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        !run.stderr.contains("--force"),
        "no profile to force over: {}",
        run.stderr
    );
    assert!(!other.auth_path().exists());
}

/// In PostgreSQL, a webhook profile is sealed like a pair: the row never holds the address.
#[test]
fn a_webhook_in_postgres_is_sealed() {
    use crate::support::deps::{require, Dep};
    use crate::support::postgres::{db_of, shared};
    if !require(Dep::Postgres, "webhooks::a_webhook_in_postgres_is_sealed") {
        return;
    }
    let s = StandIn::start();
    let env = Env::new();
    let url = shared().database();
    let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let pg = |args: &[&str]| {
        let mut c = env.cmd(args);
        c.env("B24AUTH_STORE", &url).env("B24AUTH_STORE_KEY", key);
        c
    };
    let run = Env::run_with_stdin(
        &mut pg(&["import", "--webhook"]),
        &format!("{}\n", s.webhook_url()),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let row = shared().psql(db_of(&url), "SELECT document FROM b24auth_profiles");
    assert!(row.contains("sealed-document:v2:"), "{row}");
    assert!(!row.contains(secret()), "{row}");
    let out = pg(&["call", "profile", "--result"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn list_names_a_webhook_profile_as_one_with_no_token_to_expire() {
    let s = StandIn::start();
    let env = Env::new();
    imported(&env, &s);
    let run = env.run(&["list"]);
    run.assert_ok();
    assert!(
        run.stdout.contains("incoming webhook (no token to expire)"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("expiry unknown"), "{}", run.stdout);
    assert!(!run.stdout.contains(secret()), "the secret was printed");
}
