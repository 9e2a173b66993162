//! The PostgreSQL store: every command on it, cross-host single-flight, dead lock holders,
//! a database that goes away, sealing at rest, and `store copy`.

use std::process::{Command, Stdio};

use crate::support::cli::Env;
use crate::support::postgres::{db_of, shared, Cluster};
use crate::support::stand_in::{Endpoint, Fault, StandIn, When, CLIENT_SECRET};

const KEY: &str = "q0K8gJ3yq1dO4mYl2o0v9m7Xw5b3c1e2f4a6b8d0e2c="; // 32 bytes, base64

/// A file profile seeded against `s`, copied into a fresh database; returns the store URL.
fn seeded_database(
    env: &Env,
    s: &StandIn,
    expires_in: i64,
    key: Option<&str>,
) -> (String, serde_json::Value) {
    let url = shared().database();
    let doc = env.seed(s, expires_in);
    let mut copy = env.cmd(&["store", "copy", "--from", "file", "--to", &url]);
    if let Some(k) = key {
        copy.env("B24AUTH_STORE_KEY", k);
    }
    Env::run_cmd(&mut copy).assert_ok();
    std::fs::remove_file(env.auth_path()).unwrap();
    (url, doc)
}

fn pg(env: &Env, url: &str, key: Option<&str>, args: &[&str]) -> Command {
    let mut c = env.cmd(args);
    c.env("B24AUTH_STORE", url);
    if let Some(k) = key {
        c.env("B24AUTH_STORE_KEY", k);
    }
    c
}

fn every_command(key: Option<&str>) {
    let s = StandIn::start();
    let env = Env::new();
    let (url, doc) = seeded_database(&env, &s, 3600, key);
    let at = doc["access_token"].as_str().unwrap();

    let token = Env::run_cmd(&mut pg(&env, &url, key, &["token"]));
    token.assert_ok();
    assert_eq!(token.stdout.trim(), at);
    assert_eq!(s.counters().token_calls, 0, "fresh: no refresh");

    let shown = Env::run_cmd(&mut pg(&env, &url, key, &["show", "--json"]));
    let shown: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(shown, doc, "the copy kept every field");
    let human = Env::run_cmd(&mut pg(&env, &url, key, &["show"]));
    assert!(!human.stdout.contains(at) && human.stdout.contains("postgres://"));

    let refreshed = Env::run_cmd(&mut pg(&env, &url, key, &["refresh", "--json"]));
    refreshed.assert_ok();
    let new: serde_json::Value = serde_json::from_str(&refreshed.stdout).unwrap();
    assert_ne!(new["refresh_token"], doc["refresh_token"]);
    assert!(s.refresh_token_is_valid(new["refresh_token"].as_str().unwrap()));
    let field = Env::run_cmd(&mut pg(
        &env,
        &url,
        key,
        &["show", "--field", "refresh_token"],
    ));
    assert_eq!(field.stdout.trim(), new["refresh_token"].as_str().unwrap());

    let expired = Env::run_cmd(&mut pg(&env, &url, key, &["token", "--min-ttl", "7200"]));
    expired.assert_ok();
    assert_eq!(s.counters().refreshes, 2);

    // Back to a file store: every field survives the round trip.
    let mut back = pg(
        &env,
        &url,
        key,
        &["store", "copy", "--from", &url, "--to", "file"],
    );
    Env::run_cmd(&mut back).assert_ok();
    let from_db = Env::run_cmd(&mut pg(&env, &url, key, &["show", "--json"]));
    let from_db: serde_json::Value = serde_json::from_str(&from_db.stdout).unwrap();
    assert_eq!(env.auth(), from_db);
    let again = Env::run_cmd(&mut pg(
        &env,
        &url,
        key,
        &["store", "copy", "--from", &url, "--to", "file"],
    ));
    assert!(again.assert_final_error(2).contains("--force"));

    let db = shared().psql(db_of(&url), "SELECT document FROM b24auth_profiles");
    let sealed = key.is_some();
    for secret in [
        from_db["access_token"].as_str().unwrap(),
        from_db["refresh_token"].as_str().unwrap(),
        CLIENT_SECRET,
    ] {
        assert_eq!(
            !db.contains(secret),
            sealed,
            "plaintext {secret} in the table: {db}"
        );
    }
    let version = shared().psql(db_of(&url), "SELECT version FROM b24auth_schema");
    assert_eq!(version.trim(), "2");
}

#[test]
fn every_command_on_postgres_in_clear() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Postgres,
        "postgres::every_command_on_postgres_in_clear",
    ) {
        return;
    }
    every_command(None);
}

#[test]
fn every_command_on_postgres_sealed() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Postgres,
        "postgres::every_command_on_postgres_sealed",
    ) {
        return;
    }
    every_command(Some(KEY));
}

#[test]
fn a_wrong_or_missing_key_is_a_clear_error() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Postgres,
        "postgres::a_wrong_or_missing_key_is_a_clear_error",
    ) {
        return;
    }
    let s = StandIn::start();
    let env = Env::new();
    let (url, _) = seeded_database(&env, &s, 3600, Some(KEY));
    let other = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let wrong = Env::run_cmd(&mut pg(&env, &url, Some(other), &["token"]));
    assert!(wrong.assert_error(1).contains("wrong key"));
    let missing = Env::run_cmd(&mut pg(&env, &url, None, &["token"]));
    assert!(missing.assert_error(1).contains("B24AUTH_STORE_KEY"));
    let bad = Env::run_cmd(&mut pg(&env, &url, Some("short"), &["token"]));
    bad.assert_error(2);
}

#[test]
fn sixty_four_processes_on_eight_hosts_cause_one_refresh() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Postgres,
        "postgres::sixty_four_processes_on_eight_hosts_cause_one_refresh",
    ) {
        return;
    }
    let s = StandIn::start();
    let seed = Env::new();
    let (url, _) = seeded_database(&seed, &s, -10, None);
    let hosts: Vec<Env> = (0..8).map(|_| Env::new()).collect();
    let children: Vec<_> = hosts
        .iter()
        .flat_map(|h| (0..8).map(|_| pg(h, &url, None, &["token"])))
        .map(|mut c| {
            c.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for o in &outs {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert!(
        outs.iter().all(|o| o.stdout == outs[0].stdout),
        "all print the same token"
    );
    assert_eq!(s.counters().refreshes, 1);
    let stored = Env::run_cmd(&mut pg(
        &seed,
        &url,
        None,
        &["show", "--field", "access_token"],
    ));
    assert_eq!(stored.stdout, String::from_utf8_lossy(&outs[0].stdout));
}

#[test]
fn a_killed_lock_holder_does_not_block_the_next_caller() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Postgres,
        "postgres::a_killed_lock_holder_does_not_block_the_next_caller",
    ) {
        return;
    }
    let s = StandIn::start();
    let env = Env::new();
    let (url, _) = seeded_database(&env, &s, -10, None);
    s.fail(Endpoint::Token, When::Next(1), Fault::Hang);
    let mut holder = pg(&env, &url, None, &["token"])
        .env("B24AUTH_HTTP_TIMEOUT", "1h")
        .spawn()
        .unwrap();
    s.wait_token_calls(1, 30); // the holder is inside its transaction, row locked
    holder.kill().unwrap();
    holder.wait().unwrap();
    let next = Env::run_cmd(&mut pg(&env, &url, None, &["token"]));
    next.assert_ok();
    assert_eq!(
        s.counters().refreshes,
        1,
        "the hung call never reached the refresh logic"
    );
}

#[test]
fn postgres_stopping_during_a_refresh_exits_1_and_keeps_the_new_pair() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Postgres,
        "postgres::postgres_stopping_during_a_refresh_exits_1_and_keeps_the_new_pair",
    ) {
        return;
    }
    let cluster = Cluster::start();
    let s = StandIn::start();
    let env = Env::new();
    let url = cluster.database();
    let doc = env.seed(&s, -10);
    Env::run_cmd(&mut env.cmd(&["store", "copy", "--from", "file", "--to", &url])).assert_ok();
    std::fs::remove_file(env.auth_path()).unwrap();

    s.set_token_delay(std::time::Duration::from_secs(3));
    let refresher = pg(&env, &url, None, &["refresh"])
        .env("B24AUTH_HTTP_TIMEOUT", "30s")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    s.wait_token_calls(1, 30);
    cluster.stop();
    let out = refresher.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("b24auth: error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("store copy"),
        "says how to restore: {}",
        errors[0]
    );
    assert!(
        errors[0].contains("--to \"$B24AUTH_STORE\" --force`"),
        "names the store exactly: {}",
        errors[0]
    );

    cluster.restart();
    let stored = cluster.psql(db_of(&url), "SELECT document FROM b24auth_profiles");
    assert!(
        stored.contains(doc["refresh_token"].as_str().unwrap()),
        "the stored pair is unchanged"
    );
    // The rotated pair was not lost: it sits in the rescue dir, 0600.
    let rescue = std::fs::read_dir(&env.dir).unwrap().find_map(|e| {
        let p = e.unwrap().path();
        p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("rescue-")
            .then_some(p)
    });
    let rescued: serde_json::Value =
        serde_json::from_slice(&std::fs::read(rescue.unwrap().join("auth.json")).unwrap()).unwrap();
    assert!(s.refresh_token_is_valid(rescued["refresh_token"].as_str().unwrap()));
}

#[test]
fn postgres_unreachable_at_start_exits_1() {
    let env = Env::new();
    let nowhere = format!(
        "postgres:///x?user=postgres&host={}&port=1",
        env.tmp.path().display()
    );
    let run = Env::run_cmd(&mut pg(&env, &nowhere, None, &["token"]));
    assert!(run
        .assert_error(1)
        .contains("cannot connect to the PostgreSQL store"));
    assert!(!run.stderr.contains("password"));
}

/// The capture flows and the after-authorization commands speak to PostgreSQL the same way.
#[test]
fn install_listen_call_list_and_forget_on_postgres() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Postgres,
        "postgres::install_listen_call_list_and_forget_on_postgres",
    ) {
        return;
    }
    let s = StandIn::start();
    let env = Env::new();
    let url = shared().database();
    let (p, addr) = env.listen(
        env.install_listen(&s, true, "/i", &[])
            .env("B24AUTH_STORE", &url)
            .env("B24AUTH_STORE_KEY", KEY),
    );
    let mut auth = s.issue_pair();
    auth["domain"] = s.host().into();
    let body = serde_json::json!({"event": "ONAPPINSTALL", "auth": auth}).to_string();
    let r = crate::support::http::post(&addr, "/i", "application/json", body.as_bytes());
    assert_eq!(r.status, 200, "{r:?}");
    p.finish().assert_ok();
    assert!(
        !env.auth_path().exists(),
        "nothing written to the file store"
    );

    let key = Some(KEY);
    let call = Env::run_cmd(&mut pg(
        &env,
        &url,
        key,
        &["call", "user.current", "--result"],
    ));
    call.assert_ok();
    assert!(call.stdout.contains("Stand"));
    let exec = Env::run_cmd(&mut pg(
        &env,
        &url,
        key,
        &["exec", "sh", "-c", "echo $B24_MEMBER_ID"],
    ));
    assert_eq!(exec.stdout.trim(), crate::support::stand_in::MEMBER_ID);
    let list = Env::run_cmd(&mut pg(&env, &url, key, &["list"]));
    assert!(list.stdout.starts_with("default\t"), "{}", list.stdout);
    Env::run_cmd(&mut pg(&env, &url, key, &["forget", "--yes"])).assert_ok();
    Env::run_cmd(&mut pg(&env, &url, key, &["token"])).assert_error(3);
    assert_eq!(
        shared()
            .psql(db_of(&url), "SELECT count(*) FROM b24auth_profiles")
            .trim(),
        "0"
    );
}
