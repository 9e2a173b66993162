//! The proving refresh of an install callback can rotate the pair, so what it returns is saved
//! whatever happens to the connection that carried the callback or to the deadline; what the
//! refresh names must be what the callback claimed; an unverified save does not end the wait,
//! and nothing drops the unverified mark without a proof.

use std::io::Write;
use std::time::Duration;

use serde_json::Value;

use super::unverified_install::{callback, PATH};
use crate::support::cli::{Env, Spawned};
use crate::support::http;
use crate::support::stand_in::{Fault, StandIn};

fn listen(env: &Env, s: &StandIn, timeout: &str) -> (Spawned, String) {
    let args = [
        "install-listen",
        "--listen",
        "127.0.0.1:0",
        "--path",
        PATH,
        "--timeout",
        timeout,
    ];
    let mut cmd = env.app_cmd(s, &args);
    // Longer than the stand-in's delayed token answers below.
    cmd.env("B24AUTH_HTTP_TIMEOUT", "10s");
    let mut p = env.spawn(&mut cmd);
    let addr = p.wait_listening();
    (p, addr)
}

fn post(addr: &str, body: &str) -> http::Response {
    http::post(
        addr,
        PATH,
        "application/x-www-form-urlencoded",
        body.as_bytes(),
    )
}

/// The stored pair is the one the stand-in issued last, and nothing else is alive.
fn assert_rotated_pair_saved(env: &Env, s: &StandIn, sent: &Value) {
    let stored = env.auth();
    assert_ne!(stored["refresh_token"], sent["refresh_token"], "{stored}");
    assert!(s.refresh_token_is_valid(stored["refresh_token"].as_str().unwrap()));
}

#[test]
fn a_sender_that_hangs_up_during_the_proving_refresh_loses_no_pair() {
    let s = StandIn::start();
    s.app_info_without_identity();
    s.set_token_delay(Duration::from_secs(2));
    let env = Env::new();
    let (p, addr) = listen(&env, &s, "20s");
    let pair = s.issue_pair();
    let body = callback(&pair, &s.base);
    let mut raw = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        raw,
        "POST {PATH} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // The refresh request is out: the sender goes away before its answer.
    s.wait_token_calls(1, 10);
    drop(raw);
    let run = p.finish();
    run.assert_ok();
    assert_rotated_pair_saved(&env, &s, &pair);
    assert!(env.auth()["b24auth"].get("unverified").is_none());
}

#[test]
fn a_deadline_during_the_proving_refresh_waits_for_the_save() {
    let s = StandIn::start();
    s.app_info_without_identity();
    s.set_token_delay(Duration::from_secs(3));
    let env = Env::new();
    let (p, addr) = listen(&env, &s, "1s");
    let pair = s.issue_pair();
    let r = post(&addr, &callback(&pair, &s.base));
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

#[test]
fn an_unverified_save_keeps_listening_and_a_proven_callback_replaces_it() {
    let s = StandIn::start();
    s.app_info_without_identity();
    let env = Env::new();
    let (p, addr) = listen(&env, &s, "30s");
    // The proving refresh is refused (wrong_client, HTTP 200): saved unverified, still waiting.
    s.fail_next(Fault::WrongClient200);
    let first = s.issue_pair();
    let r = post(&addr, &callback(&first, &s.base));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(env.auth()["b24auth"]["unverified"], true);
    let second = s.issue_pair();
    let r = post(&addr, &callback(&second, &s.base));
    assert_eq!(r.status, 200, "{r:?}");
    let run = p.finish();
    run.assert_ok();
    assert!(
        run.stderr.contains("replaced the unverified one"),
        "{}",
        run.stderr
    );
    let stored = env.auth();
    assert!(stored["b24auth"].get("unverified").is_none(), "{stored}");
    assert_rotated_pair_saved(&env, &s, &second);
    assert!(
        stored.get("application_token").is_none(),
        "the callback's unproven application_token is dropped: {stored}"
    );
    assert_eq!(stored["domain"], s.host(), "domain is the proven host");
}

#[test]
fn a_refresh_naming_another_portal_keeps_the_rotated_pair_unverified() {
    let s = StandIn::start();
    s.app_info_without_identity();
    let env = Env::new();
    let (p, addr) = listen(&env, &s, "2s");
    let pair = s.issue_pair();
    let r = post(&addr, &callback(&pair, "http://127.0.0.2:9"));
    assert_eq!(r.status, 200, "{r:?}");
    let run = p.finish();
    run.assert_ok();
    assert!(run.stderr.contains("CONTRADICTION"), "{}", run.stderr);
    let stored = env.auth();
    assert_eq!(stored["b24auth"]["unverified"], true, "{stored}");
    assert_rotated_pair_saved(&env, &s, &pair);
    assert_eq!(stored["client_endpoint"], "http://127.0.0.2:9/portal/rest/");
    // A later refresh naming the other portal again proves nothing.
    Env::run_cmd(&mut env.app_cmd(&s, &["refresh"]));
    assert_eq!(env.auth()["b24auth"]["unverified"], true);
}

#[test]
fn the_unverified_mark_survives_import_and_no_verify_is_its_own_state() {
    let s = StandIn::start();
    s.app_info_without_identity();
    let env = Env::new();
    let args = [
        "install-listen",
        "--listen",
        "127.0.0.1:0",
        "--path",
        PATH,
        "--timeout",
        "1s",
    ];
    let mut cmd = env.cmd(&args);
    cmd.env("B24AUTH_OAUTH_SERVER", &s.base);
    let mut p = env.spawn(&mut cmd);
    let addr = p.wait_listening();
    let pair = s.issue_pair();
    assert_eq!(post(&addr, &callback(&pair, &s.base)).status, 200);
    p.finish().assert_ok();
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
    let mut cmd = third.cmd(&[
        "install-listen",
        "--listen",
        "127.0.0.1:0",
        "--path",
        PATH,
        "--no-verify",
    ]);
    cmd.env("B24AUTH_OAUTH_SERVER", &s.base);
    let mut p = third.spawn(&mut cmd);
    let addr = p.wait_listening();
    assert_eq!(post(&addr, &callback(&s.issue_pair(), &s.base)).status, 200);
    p.finish().assert_ok();
    let show = third.run(&["show"]).stdout;
    assert!(show.contains("not checked (--no-verify)"), "{show}");
}
