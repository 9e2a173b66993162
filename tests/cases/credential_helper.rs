//! `token --json` for credential helpers, and a code exchange that answers without `expires`
//! or `user_id` (as the docs show it) still giving a pair with a known expiry.

use serde_json::Value;

use super::messages::Flow;
use crate::support::cli::Env;
use crate::support::stand_in::{StandIn, CLIENT_SECRET, MEMBER_ID};

#[test]
fn token_json_has_what_a_cache_needs_and_no_long_lived_secret() {
    let s = StandIn::start();
    let env = Env::new();
    let stored = env.seed(&s, 3600);
    let run = env.run(&["token", "--json"]);
    run.assert_ok();
    let v: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "access_token",
            "expires",
            "client_endpoint",
            "member_id",
            "domain"
        ]
    );
    assert_eq!(v["access_token"], stored["access_token"]);
    assert_eq!(v["expires"], stored["expires"]);
    assert_eq!(v["client_endpoint"], stored["client_endpoint"]);
    assert_eq!(v["member_id"], MEMBER_ID);
    assert_eq!(
        v["domain"],
        s.host(),
        "the portal's host, not the OAuth server"
    );
    for secret in [stored["refresh_token"].as_str().unwrap(), CLIENT_SECRET] {
        assert!(!run.stdout.contains(secret));
    }
    assert_eq!(run.stdout.lines().count(), 1);
}

#[test]
fn token_json_refreshes_an_expiring_token_first() {
    let s = StandIn::start();
    let env = Env::new();
    let stored = env.seed(&s, -10);
    let run = Env::run_cmd(&mut env.app_cmd(&s, &["token", "--json"]));
    run.assert_ok();
    let v: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_ne!(v["access_token"], stored["access_token"]);
    assert_eq!(v["access_token"], env.auth()["access_token"]);
    assert!(v["expires"].as_i64().unwrap() > stored["expires"].as_i64().unwrap());
}

#[test]
fn a_code_exchange_without_expires_or_user_id_is_saved_with_an_expiry() {
    let f = Flow::new();
    let (mut p, _) = f.start(&mut f.cmd(&[]));
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    p.stdin(&format!("{}\n", f.s.issue_code()));
    p.finish().assert_ok();
    let stored = f.env.auth();
    assert!(stored.get("user_id").is_none(), "the answer had none");
    let expires = stored["expires"].as_i64().unwrap();
    assert!(
        (before + 3600..=before + 3700).contains(&expires),
        "{expires}"
    );
    f.env.run(&["token"]).assert_ok();
}
