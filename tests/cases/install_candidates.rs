//! An install callback is never lost to b24auth's own doubt: when the trusted OAuth server
//! neither confirms nor contradicts it, it is kept durably as a candidate beside the profile
//! (never in `auth.json`), answered 200, proven by a refresh at the trusted server (at once
//! with the client credentials, else by the first command that has them), and only the
//! server's contradiction drops it. Candidates never displace one another. Each ordering of
//! arrival, verification and save that could lose a genuine callback has its test here.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::callbacks::{install_callback, post_install, INSTALL_PATH};
use crate::support::cli::{Env, Spawned};
use crate::support::hostile_server::answering;
use crate::support::stand_in::{
    Endpoint, Fault, StandIn, When, CLIENT_ID, CLIENT_SECRET, MEMBER_ID,
};

/// `install-listen` against the stand-in, with or without the app's client credentials.
fn listen(env: &Env, s: &StandIn, with_credentials: bool, timeout: &str) -> (Spawned, String) {
    let mut cmd = env.install_listen(s, with_credentials, INSTALL_PATH, &["--timeout", timeout]);
    // Longer than the stand-in's delayed token answers below.
    cmd.env("B24AUTH_HTTP_TIMEOUT", "10s");
    env.listen(&mut cmd)
}

/// Posts `callback` to the listener `p` at `addr`: answered success, and the listener ends
/// having kept it as a candidate; its run.
fn kept_as_candidate(p: Spawned, addr: &str, callback: &str) -> crate::support::cli::Run {
    let r = post_install(addr, callback);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, r#"{"status":"success"}"#);
    let run = p.finish();
    run.assert_ok();
    assert!(run.stderr.contains("CANDIDATE"), "{}", run.stderr);
    run
}

fn with_credentials(env: &Env, s: &StandIn, args: &[&str]) -> crate::support::cli::Run {
    Env::run_cmd(&mut env.app_cmd(s, args))
}

/// The candidates kept beside the default profile, oldest first; each file 0600 in a 0700
/// directory.
fn candidates(env: &Env) -> Vec<Value> {
    let dir = env.dir.join("auth.candidates");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let mut files: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            assert_eq!(mode(p), 0o600, "{}", p.display());
            serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
        })
        .collect()
}

/// The stored pair is the one the stand-in issued last, and nothing else is alive.
fn assert_rotated_pair_saved(env: &Env, s: &StandIn, sent: &Value) {
    let stored = env.auth();
    assert_ne!(stored["refresh_token"], sent["refresh_token"], "{stored}");
    assert!(s.refresh_token_is_valid(stored["refresh_token"].as_str().unwrap()));
    assert!(stored["b24auth"].get("unverified").is_none(), "{stored}");
}

/// A candidate holding `pair` as it was sent, still alive at the trusted server.
fn assert_kept(env: &Env, s: &StandIn, pair: &Value) {
    let kept = candidates(env);
    let found = kept
        .iter()
        .find(|c| c["refresh_token"] == pair["refresh_token"]);
    assert!(found.is_some(), "{pair} not among {kept:?}");
    assert!(s.refresh_token_is_valid(pair["refresh_token"].as_str().unwrap()));
}

#[test]
fn without_credentials_a_genuine_callback_is_kept_as_a_candidate_and_the_next_command_with_credentials_proves_it(
) {
    let s = StandIn::start();
    s.app_info_without_identity();
    let env = Env::new();
    let (p, addr) = listen(&env, &s, false, "2s");
    let pair = s.issue_pair();
    let run = kept_as_candidate(p, &addr, &install_callback(&pair, &s.base));
    assert!(run.stderr.contains("b24auth refresh"), "{}", run.stderr);
    assert!(
        !env.auth_path().exists(),
        "auth.json never holds an unproven claim"
    );
    let kept = candidates(&env);
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["access_token"], pair["access_token"]);
    assert_eq!(kept[0]["expires_in"], 3600, "string numbers are read");

    // Nothing hands out the unproven token or endpoint; show and list name the candidate.
    let show = env.run(&["show"]);
    show.assert_error(3);
    assert!(
        show.stdout.contains("candidate claiming portal"),
        "{}",
        show.stdout
    );
    assert!(show.stdout.contains(&s.host()), "{}", show.stdout);
    assert!(env.run(&["list"]).stdout.contains("candidate, arrived"));
    let listed: Value = serde_json::from_str(&env.run(&["list", "--json"]).stdout).unwrap();
    assert_eq!(listed[0]["candidate"], true, "{listed}");
    assert_eq!(listed[0]["portal"], s.host());
    let token = env.run(&["token"]);
    token.assert_error(3);
    assert!(
        token.stderr.contains("candidates not yet proven"),
        "{}",
        token.stderr
    );
    assert!(token.stderr.contains("b24auth refresh"), "{}", token.stderr);
    assert!(token.stdout.is_empty());
    for args in [
        &["show", "--field", "access_token"][..],
        &["show", "--field", "client_endpoint"],
        &["show", "--json"],
        &["show", "--format", "env"],
    ] {
        let r = env.run(args);
        r.assert_error(3);
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
    }
    let exec = env.run(&["exec", "--", "sh", "-c", "echo ran"]);
    exec.assert_error(3);
    assert!(exec.stdout.is_empty(), "the command never ran");
    assert_eq!(
        s.counters().rest_calls,
        0,
        "no REST call with the unproven pair"
    );

    // With the client credentials, the first command proves the pair and works.
    let call = with_credentials(&env, &s, &["call", "user.current", "--result"]);
    call.assert_ok();
    assert_eq!(
        serde_json::from_str::<Value>(&call.stdout).unwrap()["ID"],
        "1"
    );
    assert_eq!(s.counters().refreshes, 1);
    assert_rotated_pair_saved(&env, &s, &pair);
    assert!(
        candidates(&env).is_empty(),
        "the proven candidate is promoted"
    );
    let show = env.run(&["show"]).stdout;
    assert!(
        show.contains("verified") && !show.contains("candidate"),
        "{show}"
    );
    env.run(&["token"]).assert_ok();
}

#[test]
fn with_credentials_an_unconfirmed_callback_is_proven_by_a_refresh_at_once() {
    let s = StandIn::start();
    s.app_info_without_identity();
    let env = Env::new();
    let (p, addr) = listen(&env, &s, true, "2s");
    let pair = s.issue_pair();
    let r = post_install(&addr, &install_callback(&pair, &s.base));
    assert_eq!(r.status, 200, "{r:?}");
    p.finish().assert_ok();
    assert_eq!(s.counters().refreshes, 1, "proven by one refresh");
    assert_rotated_pair_saved(&env, &s, &pair);
    let stored = env.auth();
    assert!(
        stored.get("application_token").is_none(),
        "the unproven callback's application_token is not kept: {stored}"
    );
    assert_eq!(stored["domain"], s.host(), "domain is the proven host");
    assert!(candidates(&env).is_empty());
    env.run(&["call", "user.current"]).assert_ok();
}

#[test]
fn a_forged_client_endpoint_never_receives_a_request() {
    for credentials in [false, true] {
        let s = StandIn::start();
        s.app_info_without_identity();
        let env = Env::new();
        let (attacker, seen) = answering(200, &json!({"result": {"ID": "666"}}));
        let (p, addr) = listen(&env, &s, credentials, "2s");
        let pair = s.issue_pair();
        let r = post_install(&addr, &install_callback(&pair, &attacker));
        // With the credentials the proving refresh names the stand-in, not the claim: the
        // trusted server's contradiction (403). Without them it is kept as a candidate.
        assert_eq!(r.status, if credentials { 403 } else { 200 }, "{r:?}");
        // Nothing kept with the credentials: "nothing received" (4); else the candidate (0).
        let run = p.finish();
        assert_eq!(run.code, if credentials { 4 } else { 0 }, "{}", run.stderr);
        let call = with_credentials(&env, &s, &["call", "user.current", "--result"]);
        assert_eq!(call.code, 3, "{}", call.stderr);
        assert!(call.stdout.is_empty());
        assert_ne!(env.run(&["exec", "--", "true"]).code, 0);
        assert_eq!(
            seen.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "credentials at install: {credentials}"
        );
        assert!(!env.auth_path().exists());
        assert!(
            candidates(&env).is_empty(),
            "the contradicted claim is dropped"
        );
    }
}

#[test]
fn a_refresh_token_the_trusted_server_does_not_know_is_refused_and_the_listener_waits() {
    let s = StandIn::start();
    s.app_info_without_identity();
    let env = Env::new();
    let (p, addr) = listen(&env, &s, true, "2s");
    let mut forged = s.issue_pair();
    forged["refresh_token"] = "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0".into();
    let r = post_install(&addr, &install_callback(&forged, &s.base));
    assert_eq!(r.status, 403, "{r:?}");
    assert!(!env.auth_path().exists(), "nothing saved");
    assert!(
        candidates(&env).is_empty(),
        "the contradicted candidate is dropped"
    );
    let genuine = s.issue_pair();
    let r = post_install(&addr, &install_callback(&genuine, &s.base));
    assert_eq!(r.status, 200, "{r:?}");
    p.finish().assert_ok();
    assert_eq!(env.auth()["client_id"], CLIENT_ID);
    assert_eq!(env.auth()["client_secret"], CLIENT_SECRET);
}

#[test]
fn a_contradicting_app_info_is_still_refused() {
    let s = StandIn::start();
    let env = Env::new();
    let (p, addr) = listen(&env, &s, true, "2s");
    let pair = s.issue_pair();
    let body =
        install_callback(&pair, &s.base).replace(MEMBER_ID, "0000000000000000000000000000dead");
    let r = post_install(&addr, &body);
    assert_eq!(r.status, 403, "{r:?}");
    let r = post_install(&addr, &install_callback(&pair, &s.base));
    assert_eq!(r.status, 200, "{r:?}");
    p.finish().assert_ok();
    assert!(env.auth()["b24auth"].get("unverified").is_none());
}

#[test]
fn a_sender_that_hangs_up_during_the_proving_refresh_loses_no_pair() {
    let s = StandIn::start();
    s.app_info_without_identity();
    s.set_token_delay(Duration::from_secs(2));
    let env = Env::new();
    let (p, addr) = listen(&env, &s, true, "20s");
    let pair = s.issue_pair();
    let body = install_callback(&pair, &s.base);
    let mut raw = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        raw,
        "POST {INSTALL_PATH} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // The refresh request is out: the sender goes away before its answer.
    s.wait_token_calls(1, 10);
    drop(raw);
    let run = p.finish();
    run.assert_ok();
    assert_rotated_pair_saved(&env, &s, &pair);
}

#[test]
fn a_deadline_during_the_proving_refresh_waits_for_the_save() {
    let s = StandIn::start();
    s.app_info_without_identity();
    s.set_token_delay(Duration::from_secs(3));
    let env = Env::new();
    let (p, addr) = listen(&env, &s, true, "1s");
    let pair = s.issue_pair();
    let r = post_install(&addr, &install_callback(&pair, &s.base));
    assert_eq!(r.status, 200, "{r:?}");
    let run = p.finish();
    run.assert_ok();
    assert!(
        !run.stderr.contains("nothing was written"),
        "{}",
        run.stderr
    );
    assert_rotated_pair_saved(&env, &s, &pair);
}

/// Ordering 1: a forged candidate first, then the genuine callback: both kept (the genuine
/// one is not answered 409); the first command with the credentials proves the genuine one
/// and drops the forged claim.
#[test]
fn a_forged_candidate_first_does_not_cost_the_genuine_callback() {
    let s = StandIn::start();
    s.app_info_without_identity();
    let env = Env::new();
    let (p, addr) = listen(&env, &s, false, "2s");
    let attacker = s.issue_pair();
    let r = post_install(&addr, &install_callback(&attacker, "http://127.0.0.2:9"));
    assert_eq!(r.status, 200, "{r:?}");
    let genuine = s.issue_pair();
    let r = post_install(&addr, &install_callback(&genuine, &s.base));
    assert_eq!(
        r.status, 200,
        "the genuine callback is kept, not refused: {r:?}"
    );
    p.finish().assert_ok();
    assert_eq!(candidates(&env).len(), 2);
    assert_kept(&env, &s, &genuine);
    let refresh = with_credentials(&env, &s, &["refresh"]);
    refresh.assert_ok();
    assert!(refresh.stderr.contains("dropped"), "{}", refresh.stderr);
    assert_rotated_pair_saved(&env, &s, &genuine);
    assert_eq!(
        env.auth()["client_endpoint"],
        format!("{}/portal/rest/", s.base)
    );
    assert!(candidates(&env).is_empty());
}

/// Ordering 2 and the late callback: a genuine callback whose access token's hour is over
/// (`expired_token` at app.info) is kept as a candidate; a confirmed callback after it becomes
/// the profile and does not displace the candidate.
#[test]
fn a_confirmed_callback_does_not_displace_a_kept_late_one() {
    let s = StandIn::start();
    let env = Env::new();
    // Confirmation needs the client_id; the late one's proving refresh fails once.
    let (p, addr) = listen(&env, &s, true, "20s");
    let late = s.issue_pair();
    s.expire_access_tokens();
    s.fail(Endpoint::Token, When::Next(1), Fault::Page(500));
    let r = post_install(&addr, &install_callback(&late, &s.base));
    assert_eq!(r.status, 200, "a late callback is kept: {r:?}");
    assert_kept(&env, &s, &late);
    let confirmed = s.issue_pair();
    let r = post_install(&addr, &install_callback(&confirmed, &s.base));
    assert_eq!(r.status, 200, "{r:?}");
    p.finish().assert_ok();
    assert_eq!(env.auth()["access_token"], confirmed["access_token"]);
    assert_kept(&env, &s, &late);
    let show = env.run(&["show"]).stdout;
    assert!(show.contains("candidate claiming portal"), "{show}");
}

/// The late callback with the credentials at hand: proven by a refresh at once.
#[test]
fn a_late_callback_is_proven_by_a_refresh() {
    let s = StandIn::start();
    let env = Env::new();
    let (p, addr) = listen(&env, &s, true, "20s");
    let late = s.issue_pair();
    s.expire_access_tokens();
    let r = post_install(&addr, &install_callback(&late, &s.base));
    assert_eq!(r.status, 200, "{r:?}");
    p.finish().assert_ok();
    assert_rotated_pair_saved(&env, &s, &late);
    assert!(candidates(&env).is_empty());
}

/// Ordering 3: the proving refresh fails once (500); the callback stays a candidate, and a
/// later proven callback does not replace it.
#[test]
fn a_proving_refresh_that_fails_once_keeps_the_candidate_beside_a_later_proof() {
    let s = StandIn::start();
    s.app_info_without_identity();
    let env = Env::new();
    let (p, addr) = listen(&env, &s, true, "20s");
    s.fail(Endpoint::Token, When::Next(1), Fault::Page(500));
    let first = s.issue_pair();
    let r = post_install(&addr, &install_callback(&first, &s.base));
    assert_eq!(r.status, 200, "{r:?}");
    assert!(!env.auth_path().exists());
    assert_kept(&env, &s, &first);
    let second = s.issue_pair();
    let r = post_install(&addr, &install_callback(&second, &s.base));
    assert_eq!(r.status, 200, "{r:?}");
    p.finish().assert_ok();
    assert_rotated_pair_saved(&env, &s, &second);
    assert_kept(&env, &s, &first);
}

/// Ordering 4: a contradicted attacker, then the genuine callback while the token server
/// hiccups: the genuine one is kept (200, never 409 or 503) and proven later.
#[test]
fn a_genuine_callback_during_a_token_server_hiccup_is_kept() {
    let s = StandIn::start();
    s.app_info_without_identity();
    let env = Env::new();
    let (p, addr) = listen(&env, &s, true, "2s");
    let attacker = s.issue_pair();
    let r = post_install(&addr, &install_callback(&attacker, "http://127.0.0.2:9"));
    assert_eq!(r.status, 403, "{r:?}");
    s.fail(Endpoint::Token, When::Next(1), Fault::Page(500));
    let genuine = s.issue_pair();
    let r = post_install(&addr, &install_callback(&genuine, &s.base));
    assert_eq!(r.status, 200, "{r:?}");
    let run = p.finish();
    run.assert_ok();
    assert!(run.stderr.contains("b24auth refresh"), "{}", run.stderr);
    assert_kept(&env, &s, &genuine);
    with_credentials(&env, &s, &["refresh"]).assert_ok();
    assert_rotated_pair_saved(&env, &s, &genuine);
}

/// A profile an older b24auth saved `"unverified": true` is read as a candidate: never handed
/// out, proven by a refresh; the mark travels with `import`; `--no-verify` is its own state.
#[test]
fn an_older_unverified_profile_is_a_candidate_and_no_verify_is_its_own_state() {
    let s = StandIn::start();
    let env = Env::new();
    let mut doc = env.seed(&s, 3600);
    doc["b24auth"]["unverified"] = true.into();
    env.write_auth(&serde_json::to_vec(&doc).unwrap());
    for field in ["portal", "domain", "server_endpoint"] {
        let r = env.run(&["show", "--field", field]);
        r.assert_error(3);
        assert!(r.stdout.is_empty(), "{field}: {}", r.stdout);
    }
    let file = env.dir.join("exported.json");
    std::fs::write(&file, std::fs::read(env.auth_path()).unwrap()).unwrap();
    let other = Env::new();
    let mut import = other.cmd(&["import", "--no-verify", file.to_str().unwrap()]);
    import.env("B24AUTH_OAUTH_SERVER", &s.base);
    Env::run_cmd(&mut import).assert_ok();
    assert_eq!(other.auth()["b24auth"]["unverified"], true);
    assert!(other.run(&["show"]).stdout.contains("UNVERIFIED"));

    let third = Env::new();
    let (p, addr) =
        third.listen(&mut third.install_listen(&s, false, INSTALL_PATH, &["--no-verify"]));
    assert_eq!(
        post_install(&addr, &install_callback(&s.issue_pair(), &s.base)).status,
        200
    );
    p.finish().assert_ok();
    let show = third.run(&["show"]).stdout;
    assert!(show.contains("not checked (--no-verify)"), "{show}");
}

/// In a PostgreSQL store a candidate is a sealed row of its own, never the profile's row;
/// `list` names it and the first command with the credentials proves it.
#[test]
fn a_candidate_in_postgres_is_its_own_sealed_row_until_proven() {
    use crate::support::postgres::{db_of, shared};
    const KEY: &str = "q0K8gJ3yq1dO4mYl2o0v9m7Xw5b3c1e2f4a6b8d0e2c=";
    let s = StandIn::start();
    s.app_info_without_identity();
    let env = Env::new();
    let url = shared().database();
    let in_pg = |mut c: std::process::Command| {
        c.env("B24AUTH_STORE", &url).env("B24AUTH_STORE_KEY", KEY);
        c
    };
    let cmd = env.install_listen(&s, false, INSTALL_PATH, &["--timeout", "2s"]);
    let (p, addr) = env.listen(&mut in_pg(cmd));
    let pair = s.issue_pair();
    assert_eq!(
        post_install(&addr, &install_callback(&pair, &s.base)).status,
        200
    );
    p.finish().assert_ok();
    let count = |table: &str| shared().psql(db_of(&url), &format!("SELECT count(*) FROM {table}"));
    assert_eq!(count("b24auth_candidates").trim(), "1");
    let sealed = shared().psql(db_of(&url), "SELECT document FROM b24auth_candidates");
    assert!(
        !sealed.contains(pair["refresh_token"].as_str().unwrap()),
        "sealed: {sealed}"
    );
    let list = Env::run_cmd(&mut in_pg(env.cmd(&["list"])));
    assert!(
        list.stdout.contains("candidate, arrived"),
        "{}",
        list.stdout
    );
    Env::run_cmd(&mut in_pg(env.cmd(&["token"]))).assert_error(3);
    Env::run_cmd(&mut in_pg(env.app_cmd(&s, &["refresh"]))).assert_ok();
    assert_eq!(count("b24auth_candidates").trim(), "0");
    assert_eq!(count("b24auth_profiles").trim(), "1");
    Env::run_cmd(&mut in_pg(env.cmd(&["token"]))).assert_ok();
}

/// A reinstall under `--force` without the credentials: the candidate waits beside the old
/// profile (which keeps working), and the first command with the credentials proves it and
/// makes it the profile. A candidate older than the profile's last save is left alone.
#[test]
fn a_candidate_newer_than_the_profile_replaces_it_once_proven() {
    let s = StandIn::start();
    s.app_info_without_identity();
    let env = Env::new();
    let old = env.seed(&s, 3600);
    // The profile was saved a while ago (the candidate arrives after it).
    let mut doc = env.auth();
    doc["b24auth"]["saved_at"] = (doc["b24auth"]["saved_at"].as_i64().unwrap() - 10).into();
    env.write_auth(&serde_json::to_vec(&doc).unwrap());
    let args = ["--timeout", "2s", "--force"];
    let (p, addr) = env.listen(&mut env.install_listen(&s, false, INSTALL_PATH, &args));
    let genuine = s.issue_pair();
    assert_eq!(
        post_install(&addr, &install_callback(&genuine, &s.base)).status,
        200
    );
    p.finish().assert_ok();
    assert_eq!(
        env.auth()["refresh_token"],
        old["refresh_token"],
        "the old profile stays"
    );
    assert_kept(&env, &s, &genuine);
    env.run(&["token"]).assert_ok();
    // The fresh `token` path reads one file and nothing else; `refresh` looks at candidates.
    let refresh = with_credentials(&env, &s, &["refresh"]);
    refresh.assert_ok();
    assert!(
        refresh.stderr.contains("proved the install callback"),
        "{}",
        refresh.stderr
    );
    assert_rotated_pair_saved(&env, &s, &genuine);
    assert_ne!(env.auth()["refresh_token"], old["refresh_token"]);
    assert!(candidates(&env).is_empty());
}

/// Without the client credentials there is no client_id to tell the app by: an `app.info`
/// answer naming a portal (any app's token gets one) is no proof. The callback is a
/// candidate, the listener waits on, and a later callback is still taken.
#[test]
fn without_credentials_an_app_info_naming_a_portal_is_no_proof() {
    let s = StandIn::start();
    let env = Env::new();
    let (p, addr) = listen(&env, &s, false, "2s");
    let first = s.issue_pair();
    let r = post_install(&addr, &install_callback(&first, &s.base));
    assert_eq!(r.status, 200, "{r:?}");
    assert!(!env.auth_path().exists(), "no proof, no profile");
    let second = s.issue_pair();
    let r = post_install(&addr, &install_callback(&second, &s.base));
    assert_eq!(r.status, 200, "the listener still takes callbacks: {r:?}");
    let run = p.finish();
    run.assert_ok();
    assert!(run.stderr.contains("CANDIDATE"), "{}", run.stderr);
    assert_kept(&env, &s, &first);
    assert_kept(&env, &s, &second);
    assert!(!env.auth_path().exists());
}

/// A body under the request bound whose stored form is over the candidate bound (characters
/// JSON escapes) is refused 413 and leaves no file; a genuine callback after it is kept.
#[test]
fn a_callback_padded_past_the_stored_bound_is_refused_and_leaves_no_file() {
    let s = StandIn::start();
    s.app_info_without_identity();
    let env = Env::new();
    let (p, addr) = listen(&env, &s, false, "2s");
    let padded = format!(
        "{}&auth[scope]={}",
        install_callback(&s.issue_pair(), &s.base).replace("auth%5Bscope%5D=crm%2Cuser", ""),
        "\"".repeat(60_000)
    );
    assert!(padded.len() < 64 * 1024);
    let r = post_install(&addr, &padded);
    assert_eq!(r.status, 413, "{r:?}");
    assert!(candidates(&env).is_empty());
    let genuine = s.issue_pair();
    assert_eq!(
        post_install(&addr, &install_callback(&genuine, &s.base)).status,
        200
    );
    p.finish().assert_ok();
    assert_eq!(candidates(&env).len(), 1);
    assert_kept(&env, &s, &genuine);
}

/// One access token posted with many refresh tokens is one sender: at most a few of its
/// candidates are kept, and a genuine late callback after them is still kept.
#[test]
fn one_access_token_with_many_refresh_tokens_cannot_fill_the_bound() {
    let s = StandIn::start();
    let env = Env::new();
    let (p, addr) = listen(&env, &s, false, "5s");
    let mut forged = s.issue_pair();
    let genuine = s.issue_pair();
    s.expire_access_tokens();
    let mut kept = 0;
    for i in 0..8 {
        forged["refresh_token"] = format!("f0f0f0f0f0f0f0f0f0f0f0f0f0f0f{i:03}").into();
        kept += (post_install(&addr, &install_callback(&forged, &s.base)).status == 200) as usize;
    }
    assert_eq!(kept, 3, "at most three per access token");
    let r = post_install(&addr, &install_callback(&genuine, &s.base));
    assert_eq!(r.status, 200, "{r:?}");
    p.finish().assert_ok();
    assert_kept(&env, &s, &genuine);
    assert_eq!(candidates(&env).len(), 4);
}

/// The deadline comes while `app.info` is still being asked: the callback was kept as a
/// candidate before the question went out, so the run ends with it, not "nothing was written".
#[test]
fn a_deadline_while_app_info_is_asked_leaves_the_callback_kept() {
    let s = StandIn::start();
    s.hold_unknown_app_info();
    let env = Env::new();
    let (p, addr) = listen(&env, &s, false, "2s");
    let mut pair = s.issue_pair();
    // An access token app.info does not know is held at the gate; the refresh token is good.
    pair["access_token"] = "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0".into();
    let body = install_callback(&pair, &s.base);
    let sender = std::thread::spawn(move || {
        let _ = std::panic::catch_unwind(|| post_install(&addr, &body));
    });
    s.wait_held(1, 10);
    let run = p.finish();
    s.open_gate();
    let _ = sender.join();
    run.assert_ok();
    assert!(
        !run.stderr.contains("nothing was written"),
        "{}",
        run.stderr
    );
    assert_kept(&env, &s, &pair);
}

/// A profile saved while the listener waits (`refresh` in another terminal promoted a
/// candidate): a confirmed callback after it is kept as a candidate, not answered 500.
#[test]
fn a_confirmed_callback_after_a_profile_appeared_is_kept_as_a_candidate() {
    let s = StandIn::start();
    let env = Env::new();
    let (p, addr) = listen(&env, &s, true, "2s");
    let old = env.seed(&s, 3600);
    let genuine = s.issue_pair();
    let r = post_install(&addr, &install_callback(&genuine, &s.base));
    assert_eq!(r.status, 200, "{r:?}");
    let run = p.finish();
    run.assert_ok();
    assert!(run.stderr.contains("CANDIDATE"), "{}", run.stderr);
    assert_eq!(env.auth()["refresh_token"], old["refresh_token"]);
    assert_kept(&env, &s, &genuine);
}

/// Ctrl-C after a candidate was kept: not "nothing was written", but the candidates kept and
/// the command that proves them (exit 130 as for any Ctrl-C).
#[test]
fn ctrl_c_after_a_candidate_names_it_and_the_proving_command() {
    let s = StandIn::start();
    s.app_info_without_identity();
    let env = Env::new();
    let (p, addr) = listen(&env, &s, false, "60s");
    let pair = s.issue_pair();
    assert_eq!(
        post_install(&addr, &install_callback(&pair, &s.base)).status,
        200
    );
    // SAFETY: a plain kill(2) of our own child.
    assert_eq!(unsafe { libc::kill(p.child.id() as i32, libc::SIGINT) }, 0);
    let run = p.finish();
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(
        !run.stderr.contains("nothing was written"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("1 install callback(s) kept"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("`b24auth refresh`"), "{}", run.stderr);
    assert_kept(&env, &s, &pair);
}

/// An on-premise portal on plain http without `--allow-http`: the callback is kept as a
/// candidate (it is never sent again), and the run says what accepts such a portal.
#[test]
fn a_plain_http_portal_without_allow_http_is_kept_as_a_candidate() {
    let s = StandIn::start();
    s.app_info_without_identity();
    let env = Env::new();
    let (p, addr) = listen(&env, &s, false, "2s");
    let pair = s.issue_pair();
    let r = post_install(&addr, &install_callback(&pair, "http://portal.example.com"));
    assert_eq!(r.status, 200, "{r:?}");
    let run = p.finish();
    run.assert_ok();
    assert!(run.stderr.contains("--allow-http"), "{}", run.stderr);
    assert!(!env.auth_path().exists());
    assert_kept(&env, &s, &pair);
}

/// A callback naming an OAuth server outside Bitrix24's (an on-premise portal whose
/// administrator set one) is sent once: it is kept as a candidate without asking that server
/// anything, answered 200, and proven only once the user names the server.
#[test]
fn a_callback_naming_an_unknown_oauth_server_is_kept_unasked_and_proven_once_the_server_is_named() {
    let s = StandIn::start();
    let env = Env::new();
    let mut cmd = env.cmd(&[
        "install-listen",
        "--listen",
        "127.0.0.1:0",
        "--path",
        INSTALL_PATH,
        "--timeout",
        "2s",
    ]);
    cmd.env("B24AUTH_CLIENT_ID", crate::support::stand_in::CLIENT_ID)
        .env("B24AUTH_CLIENT_SECRET", CLIENT_SECRET);
    // No B24AUTH_OAUTH_SERVER: the trusted server is Bitrix24's own.
    let (p, addr) = env.listen(&mut cmd);
    let mut pair = s.issue_pair();
    pair["server_endpoint"] = "https://oauth.corp.example/rest/".into();
    let before = s.counters();
    let run = kept_as_candidate(p, &addr, &install_callback(&pair, &s.base));
    assert!(
        run.stderr
            .contains("--oauth-server https://oauth.corp.example"),
        "{}",
        run.stderr
    );
    assert_eq!(s.counters(), before, "nothing was asked of anyone");
    assert!(!env.auth_path().exists(), "no unproven pair as the profile");
    assert_kept(&env, &s, &pair);
    // Without the server named, a command refuses to guess and keeps the candidate.
    let mut guess = env.cmd(&["refresh"]);
    guess
        .env("B24AUTH_CLIENT_ID", crate::support::stand_in::CLIENT_ID)
        .env("B24AUTH_CLIENT_SECRET", CLIENT_SECRET);
    let run = Env::run_cmd(&mut guess);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert_eq!(candidates(&env).len(), 1);
    with_credentials(&env, &s, &["refresh"]).assert_ok();
    assert_rotated_pair_saved(&env, &s, &pair);
    assert!(candidates(&env).is_empty());
}
