//! A removed app, and the token endpoint's client and grant errors as Bitrix24 really gives
//! them: the right exit code, the next step, and the stored pair byte for byte unchanged.

use crate::support::cli::Env;
use crate::support::stand_in::record;
use crate::support::stand_in::{Endpoint, Fault, StandIn, When};

#[test]
fn a_removed_app_makes_call_exit_3_with_the_reinstall_step_and_no_refresh() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    let before = env.auth_bytes();
    s.remove_app();
    let run = Env::run_cmd(&mut env.app_cmd(&s, &["call", "user.current"]));
    let line = run.assert_error(3);
    assert!(line.contains("ERROR_OAUTH"), "{line}");
    assert!(line.contains("not installed on"), "{line}");
    assert!(line.contains("reinstall it in the portal"), "{line}");
    assert!(line.contains("`b24auth authorize --domain"), "{line}");
    assert_eq!(s.counters().refreshes, 0, "no refresh cures a removed app");
    assert_eq!(env.auth_bytes(), before, "the stored pair is unchanged");
}

#[test]
fn a_removed_app_makes_refresh_name_the_removal() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    let before = env.auth_bytes();
    s.remove_app();
    let run = Env::run_cmd(&mut env.app_cmd(&s, &["refresh"]));
    let line = run.assert_error(2);
    assert!(line.contains("invalid_client"), "{line}");
    assert!(
        line.contains("the app was removed from the portal"),
        "{line}"
    );
    assert!(
        line.contains("B24AUTH_CLIENT_ID / B24AUTH_CLIENT_SECRET"),
        "{line}"
    );
    assert!(line.contains("reinstall it"), "{line}");
    assert_eq!(env.auth_bytes(), before);
}

#[test]
fn a_removed_app_makes_show_check_exit_3() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    let before = env.auth_bytes();
    s.remove_app();
    let run = Env::run_cmd(&mut env.app_cmd(&s, &["show", "--check"]));
    let line = run.assert_error(3);
    assert!(line.contains("removed"), "{line}");
    assert_eq!(
        s.counters().token_calls,
        1,
        "the dead token at app.info led to one refresh attempt"
    );
    assert_eq!(env.auth_bytes(), before);
    assert!(run.stdout.is_empty());
}

#[test]
fn show_check_refreshes_a_token_dead_at_app_info_then_answers_0() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    // The file says fresh; the OAuth server no longer knows the token (rotated elsewhere).
    let stored = env.auth();
    let token = stored["access_token"].as_str().unwrap().to_string();
    s.expire_access_tokens();
    assert!(s.access_token_is_valid(&token));
    Env::run_cmd(&mut env.app_cmd(&s, &["show", "--check"])).assert_ok();
    assert_eq!(s.counters().refreshes, 1);
    assert_ne!(env.auth()["access_token"], stored["access_token"]);
}

#[test]
fn invalid_grant_in_upper_case_without_a_description_exits_3() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    let before = env.auth_bytes();
    s.fail(
        Endpoint::Token,
        When::Next(1),
        Fault::Recorded(record::invalid_grant_bare()),
    );
    let run = Env::run_cmd(&mut env.app_cmd(&s, &["refresh"]));
    let line = run.assert_error(3);
    assert!(line.contains("invalid_grant: no description"), "{line}");
    assert!(line.contains("`b24auth authorize --domain"), "{line}");
    assert_eq!(env.auth_bytes(), before);
}

#[test]
fn wrong_client_with_http_200_exits_2_and_keeps_the_pair() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, -10);
    let before = env.auth_bytes();
    s.fail(
        Endpoint::Token,
        When::Next(1),
        Fault::Recorded(record::wrong_client()),
    );
    let run = Env::run_cmd(&mut env.app_cmd(&s, &["token"]));
    let line = run.assert_error(2);
    assert!(line.contains("wrong_client"), "{line}");
    assert!(line.contains("or the app was removed"), "{line}");
    assert!(run.stdout.is_empty(), "no token printed");
    assert_eq!(env.auth_bytes(), before);
}
