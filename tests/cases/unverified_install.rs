//! An install callback is never lost to b24auth's own doubt: when the OAuth server's `app.info`
//! neither confirms nor contradicts it (no `install` block), a refresh at the trusted server
//! proves it (client credentials at hand) or it is saved unverified, and nothing uses an
//! unverified pair's token or endpoint before such a refresh.

use serde_json::{json, Value};

use crate::support::cli::{Env, Spawned};
use crate::support::http;
use crate::support::record::answering;
use crate::support::stand_in::{StandIn, CLIENT_ID, CLIENT_SECRET, MEMBER_ID};

pub(super) const PATH: &str = "/install/00112233445566778899aabbccddeeff";

/// `install-listen` against the stand-in, with or without the app's client credentials.
fn listen(env: &Env, s: &StandIn, with_credentials: bool) -> (Spawned, String) {
    // An unverified save keeps listening for a confirmed callback until the deadline.
    let args = [
        "install-listen",
        "--listen",
        "127.0.0.1:0",
        "--path",
        PATH,
        "--timeout",
        "2s",
    ];
    let mut cmd = match with_credentials {
        true => env.app_cmd(s, &args),
        false => {
            let mut c = env.cmd(&args);
            c.env("B24AUTH_OAUTH_SERVER", &s.base);
            c
        }
    };
    let mut p = env.spawn(&mut cmd);
    let addr = p.wait_listening();
    (p, addr)
}

/// The callback as Bitrix24 posts it (numbers as strings), naming `portal` as its REST.
pub(super) fn callback(pair: &Value, portal: &str) -> String {
    let host = portal.trim_start_matches("http://");
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("event", "ONAPPINSTALL");
    for (k, v) in [
        ("access_token", pair["access_token"].as_str().unwrap()),
        ("refresh_token", pair["refresh_token"].as_str().unwrap()),
        ("expires_in", "3600"),
        ("user_id", "1"),
        ("scope", "crm,user"),
        ("domain", host),
        ("member_id", MEMBER_ID),
        ("client_endpoint", &format!("{portal}/portal/rest/")),
        ("server_endpoint", pair["server_endpoint"].as_str().unwrap()),
        ("application_token", "51856fefc120afa4b628cc82d3935cce"),
    ] {
        form.append_pair(&format!("auth[{k}]"), v);
    }
    form.finish()
}

fn post(addr: &str, body: &str) -> http::Response {
    http::post(
        addr,
        PATH,
        "application/x-www-form-urlencoded",
        body.as_bytes(),
    )
}

fn with_credentials(env: &Env, s: &StandIn, args: &[&str]) -> crate::support::cli::Run {
    Env::run_cmd(&mut env.app_cmd(s, args))
}

#[test]
fn without_credentials_a_genuine_callback_is_saved_unverified_and_the_next_call_works() {
    let s = StandIn::start();
    s.app_info_without_identity();
    let env = Env::new();
    let (p, addr) = listen(&env, &s, false);
    let pair = s.issue_pair();
    let r = post(&addr, &callback(&pair, &s.base));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, r#"{"status":"success"}"#);
    let run = p.finish();
    run.assert_ok();
    assert!(run.stderr.contains("UNVERIFIED"), "{}", run.stderr);
    let stored = env.auth();
    assert_eq!(stored["b24auth"]["unverified"], true);
    assert_eq!(stored["access_token"], pair["access_token"]);
    assert_eq!(stored["expires_in"], 3600, "string numbers are read");

    // Nothing hands out the unproven token or endpoint.
    let show = env.run(&["show"]);
    show.assert_ok();
    assert!(show.stdout.contains("UNVERIFIED"), "{}", show.stdout);
    assert!(env.run(&["list"]).stdout.contains("UNVERIFIED"));
    let listed: Value = serde_json::from_str(&env.run(&["list", "--json"]).stdout).unwrap();
    assert_eq!(listed[0]["unverified"], true);
    let token = env.run(&["token"]);
    token.assert_error(2);
    assert!(
        token.stderr.contains("has not confirmed"),
        "{}",
        token.stderr
    );
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
    exec.assert_error(2);
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
    assert!(env.auth()["b24auth"].get("unverified").is_none());
    let show = env.run(&["show"]).stdout;
    assert!(
        show.contains("verified") && !show.contains("UNVERIFIED"),
        "{show}"
    );
    assert!(!env.run(&["list"]).stdout.contains("UNVERIFIED"));
    env.run(&["token"]).assert_ok();
}

#[test]
fn with_credentials_an_unconfirmed_callback_is_proven_by_a_refresh_at_once() {
    let s = StandIn::start();
    s.app_info_without_identity();
    let env = Env::new();
    let (p, addr) = listen(&env, &s, true);
    let pair = s.issue_pair();
    let r = post(&addr, &callback(&pair, &s.base));
    assert_eq!(r.status, 200, "{r:?}");
    p.finish().assert_ok();
    assert_eq!(s.counters().refreshes, 1, "proven by one refresh");
    let stored = env.auth();
    assert!(stored["b24auth"].get("unverified").is_none(), "{stored}");
    assert_ne!(
        stored["refresh_token"], pair["refresh_token"],
        "the rotated pair is kept"
    );
    assert!(s.refresh_token_is_valid(stored["refresh_token"].as_str().unwrap()));
    assert!(
        stored.get("application_token").is_none(),
        "the unproven callback's application_token is not kept: {stored}"
    );
    env.run(&["call", "user.current"]).assert_ok();
}

#[test]
fn a_forged_client_endpoint_never_receives_a_request() {
    for credentials in [false, true] {
        let s = StandIn::start();
        s.app_info_without_identity();
        let env = Env::new();
        let (attacker, seen) = answering(200, &json!({"result": {"ID": "666"}}));
        let (p, addr) = listen(&env, &s, credentials);
        let pair = s.issue_pair();
        let r = post(&addr, &callback(&pair, &attacker));
        assert_eq!(r.status, 200, "{r:?}");
        p.finish().assert_ok();
        // The trusted server names another portal than the callback: a contradiction, so the
        // pair stays unverified and nothing uses it (install_proof.rs).
        let call = with_credentials(&env, &s, &["call", "user.current", "--result"]);
        assert_ne!(call.code, 0, "{}", call.stderr);
        assert!(call.stdout.is_empty());
        assert_ne!(env.run(&["exec", "--", "true"]).code, 0);
        assert_eq!(
            seen.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "credentials at install: {credentials}"
        );
        assert_eq!(env.auth()["b24auth"]["unverified"], true);
    }
}

#[test]
fn a_refresh_token_the_trusted_server_does_not_know_is_refused_and_the_listener_waits() {
    let s = StandIn::start();
    s.app_info_without_identity();
    let env = Env::new();
    let (p, addr) = listen(&env, &s, true);
    let mut forged = s.issue_pair();
    forged["refresh_token"] = "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0".into();
    let r = post(&addr, &callback(&forged, &s.base));
    assert_eq!(r.status, 403, "{r:?}");
    assert!(!env.auth_path().exists(), "nothing saved");
    let genuine = s.issue_pair();
    let r = post(&addr, &callback(&genuine, &s.base));
    assert_eq!(r.status, 200, "{r:?}");
    p.finish().assert_ok();
    assert_eq!(env.auth()["client_id"], CLIENT_ID);
    assert_eq!(env.auth()["client_secret"], CLIENT_SECRET);
}

#[test]
fn a_contradicting_app_info_is_still_refused() {
    let s = StandIn::start();
    let env = Env::new();
    let (p, addr) = listen(&env, &s, false);
    let pair = s.issue_pair();
    let body = callback(&pair, &s.base).replace(MEMBER_ID, "0000000000000000000000000000dead");
    let r = post(&addr, &body);
    assert_eq!(r.status, 403, "{r:?}");
    let r = post(&addr, &callback(&pair, &s.base));
    assert_eq!(r.status, 200, "{r:?}");
    p.finish().assert_ok();
    assert!(env.auth()["b24auth"].get("unverified").is_none());
}
