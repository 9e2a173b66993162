//! REST 3.0 (`call --v3`, `{"v3": true}` on a `batch` line) as the record shows it: a JSON POST
//! to `<portal>/rest/api/<method>` with `auth` in the body; errors `{"error":{"code","message",
//! "validation"}}` printed `CODE: message`; a write carries an `Idempotency-Key`, the same on a
//! repeat, so a write behind a gateway's page runs once; an access-denied answer while the stored
//! token is past its expiry leads to one refresh and one repeat. Also the classic REST's smaller
//! items: a read that got no answer in time is repeated (a write is not), and a self-hosted
//! portal has no cloud bucket.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::cli::Env;
use crate::support::stand_in::{Endpoint, Fault, StandIn, When};

#[test]
fn a_v3_read_is_a_json_post_to_rest_api_with_auth_in_the_body() {
    let (s, env) = Env::seeded();
    let run = env.run(&["call", "--v3", "tasks.task.get", "id:=7", "--result"]);
    run.assert_ok();
    let result: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(result["task"]["id"], 7, "{}", run.stdout);
    let (requests, writes, keys, bodies) = s.v3_seen();
    assert_eq!((requests, writes), (1, 0));
    assert_eq!(keys, vec![None], "a read carries no Idempotency-Key");
    assert_eq!(
        bodies,
        vec![json!({"id": 7})],
        "the parameters, auth taken out"
    );
    assert_eq!(
        s.counters().rest_calls,
        0,
        "nothing went to the classic REST"
    );
}

#[test]
fn v3_errors_are_printed_code_colon_message() {
    let (s, env) = Env::seeded();
    let run = env.run(&["call", "--v3", "tasks.task.add", "fields[X]=1"]);
    let line = run.assert_final_error(1);
    assert_eq!(
        line,
        "b24auth: error: BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION: Invalid request (fields.TITLE: Required)"
    );
    let run = env.run(&["call", "--v3", "nothing.here"]);
    let line = run.assert_final_error(1);
    assert!(
        line.contains(
            "BITRIX_REST_V3_EXCEPTION_UNKNOWNMETHODEXCEPTION: Unknown method nothing.here"
        ),
        "{line}"
    );
    assert_eq!(s.v3_seen().1, 0);
}

#[test]
fn a_v3_write_behind_a_gateway_page_is_repeated_under_the_same_key_and_runs_once() {
    let (s, env) = Env::seeded();
    s.fail(Endpoint::V3, When::Next(1), Fault::PageAfterRun(504));
    let run = env.run(&[
        "call",
        "--v3",
        "tasks.task.add",
        "fields[TITLE]=x",
        "--result",
    ]);
    run.assert_ok();
    let result: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(result["task"]["id"], 1);
    let (requests, writes, keys, _) = s.v3_seen();
    assert_eq!((requests, writes), (2, 1), "sent twice, run once");
    let key = keys[0].clone().expect("a write carries an Idempotency-Key");
    assert_eq!(key.len(), 32);
    assert_eq!(
        keys[1].as_deref(),
        Some(key.as_str()),
        "the same key on the repeat"
    );
    // Another write is another key.
    env.run(&["call", "--v3", "tasks.task.add", "fields[TITLE]=y"])
        .assert_ok();
    let keys = s.v3_seen().2;
    assert_ne!(keys[2].as_deref(), Some(key.as_str()));
}

#[test]
fn access_denied_past_the_stored_expiry_refreshes_once_and_repeats() {
    let s = StandIn::start();
    let env = Env::new();
    let doc = env.seed(&s, 2);
    s.v3_expire_tokens_at(doc["expires"].as_i64().unwrap());
    let run = env.run(&["call", "--v3", "tasks.task.get", "id:=1", "--result"]);
    run.assert_ok();
    assert_eq!(s.counters().refreshes, 1);
    assert_eq!(s.v3_seen().0, 2, "the request and one repeat");
}

#[test]
fn access_denied_with_an_unexpired_stored_token_is_not_refreshed() {
    let (s, env) = Env::seeded();
    s.expire_access_tokens();
    let run = env.run(&["call", "--v3", "tasks.task.get"]);
    let line = run.assert_final_error(1);
    assert_eq!(
        line,
        "b24auth: error: BITRIX_REST_V3_EXCEPTION_ACCESSDENIEDEXCEPTION: Access denied."
    );
    assert_eq!(s.counters().refreshes, 0);
    assert_eq!(s.v3_seen().0, 1);
}

#[test]
fn a_batch_line_marked_v3_is_answered_in_its_place() {
    let (s, env) = Env::seeded();
    let input = [
        json!({"method": "profile"}),
        json!({"method": "tasks.task.get", "params": {"id": 3}, "v3": true}),
        json!({"method": "tasks.task.add", "params": {}, "v3": true}),
        json!({"method": "user.current"}),
    ]
    .iter()
    .map(|l| format!("{l}\n"))
    .collect::<String>();
    let out = Env::run_with_stdin(&mut env.cmd(&["batch"]), &input);
    let lines: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0]["result"]["ID"], "1");
    assert_eq!(lines[1]["result"]["task"]["id"], 3);
    assert_eq!(
        lines[2]["error"],
        "BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION"
    );
    assert_eq!(
        lines[2]["error_description"],
        "Invalid request (fields.TITLE: Required)"
    );
    assert!(lines[3]["result"].is_object(), "{}", lines[3]);
    assert_eq!(out.code, 1, "one command failed");
    assert_eq!(s.v3_seen().0, 2);
}

#[test]
fn a_read_without_an_answer_in_time_is_repeated_and_a_write_is_not() {
    let (s, env) = Env::seeded();
    s.slow_request(1, Duration::from_secs(4));
    let run = Env::run_cmd(
        env.cmd(&["call", "profile", "--result"])
            .env("B24AUTH_HTTP_TIMEOUT", "1s"),
    );
    run.assert_ok();
    assert!(
        run.stderr
            .contains("b24auth: profile: no answer in time; retry 1 of 6 in 1 s"),
        "{}",
        run.stderr
    );
    let (s, env) = Env::seeded();
    s.slow_request(1, Duration::from_secs(4));
    let run = Env::run_cmd(
        env.cmd(&["call", "crm.deal.add", "fields[TITLE]=x"])
            .env("B24AUTH_HTTP_TIMEOUT", "1s"),
    );
    let line = run.assert_final_error(1);
    assert!(line.contains("cannot reach"), "{line}");
    assert!(!run.stderr.contains("retry"), "{}", run.stderr);
    assert_eq!(s.commands_run(), 1, "sent once");
}

#[test]
fn a_self_hosted_portal_has_no_cloud_bucket_unless_rate_says() {
    let (s, env) = Env::seeded();
    s.set_license_family("selfhosted");
    let run = env.run(&["call", "crm.deal.list", "--all"]);
    run.assert_ok();
    assert!(
        run.stderr.contains(
            "b24auth: the portal is self-hosted (app.info LICENSE de_selfhosted): it has no cloud request bucket, so none is kept; --rate sets one"
        ),
        "{}",
        run.stderr
    );
    // The host's bucket full to the brim: a self-hosted portal's calls do not wait for it.
    let file = env
        .dir
        .join("budget")
        .join(format!("{}.json", s.host().replace(':', "_")));
    let mut state: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    state["level"] = json!(100.0);
    state["at"] = json!(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64());
    std::fs::write(&file, state.to_string()).unwrap();
    let run = env.run(&["call", "profile"]);
    run.assert_ok();
    assert!(!run.stderr.contains("waiting"), "{}", run.stderr);
    let after: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(
        after["level"],
        json!(100.0),
        "no slot taken from the bucket"
    );
    // With --rate the bucket is kept, and this full one is waited for.
    let run = env.run(&["call", "profile", "--rate", "100"]);
    run.assert_ok();
    let after: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert!(after["level"].as_f64().unwrap() < 100.0, "{after}");
}
