//! What b24auth repeats, and when: a gateway's HTML pages (non-JSON 502, 503, 504, HTML with any
//! 5xx) are retried with back-off, bounded, for calls that read; a dead gateway ends with exit 1
//! naming the status, never the page; `OPERATION_TIME_LIMIT` (HTTP 429) waits for the reset. A
//! gateway's answer (503 included) leaves a write's outcome unknown: a write is not repeated and ends with
//! exit 1 saying to check before running it again. JSON without Bitrix24's `error` on a failure
//! status is no answer of the portal's.

use std::time::Duration;

use serde_json::Value;

use crate::support::cli::Env;
use crate::support::stand_in::{Endpoint, Fault, When};

#[test]
fn a_gateways_html_pages_are_retried() {
    for status in [502, 504, 500] {
        let (s, env) = Env::seeded();
        s.fail(Endpoint::Rest, When::Next(2), Fault::Page(status));
        let run = env.run(&["call", "profile", "--result"]);
        run.assert_ok();
        let result: Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(result["ID"], "1");
        assert_eq!(s.gateway_served(), 2, "HTTP {status}");
        let retries: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(retries.len(), 2, "{}", run.stderr);
        assert!(
            retries[0].starts_with(&format!(
                "b24auth: profile: the portal's gateway answered HTTP {status} "
            )),
            "{}",
            retries[0]
        );
        assert!(!run.stderr.contains("<"), "no HTML on the terminal");
    }
}

#[test]
fn a_dead_gateway_ends_with_exit_1_naming_the_status() {
    let (s, env) = Env::seeded();
    s.fail(Endpoint::Rest, When::Always, Fault::Page(502));
    let run = env.run(&["call", "profile"]);
    let line = run.assert_final_error(1);
    assert!(
        line.starts_with("b24auth: error: profile: the portal's gateway answered HTTP 502 Bad Gateway with a page instead of the portal's JSON, 7 times in "),
        "{line}"
    );
    assert!(!run.stderr.contains("nginx") && !run.stderr.contains('<'));
    assert_eq!(s.gateway_served(), 7, "the first answer and 6 retries");
    assert_eq!(run.stdout, "");
}

#[test]
fn operation_time_limit_waits_until_the_window_resets() {
    let (s, env) = Env::seeded();
    // One more call puts `profile` past 480 s; the window resets in about 2 s.
    s.set_operating("profile", 480.0 - 0.0005, Duration::from_secs(2));
    env.run(&["call", "profile"]).assert_ok();
    // Told the portal has no limit, b24auth does not wait ahead: the portal refuses with 429,
    // and b24auth waits for the reset the last answer named, then the call goes through.
    let run = env.run(&["call", "profile", "--result", "--operating-limit", "0"]);
    run.assert_ok();
    assert_eq!(s.counters().operation_time_limits, 1);
    let waits: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(waits.len(), 1, "{}", run.stderr);
    assert!(
        waits[0].starts_with(
            "b24auth: profile: the portal's operating-time limit (OPERATION_TIME_LIMIT); waiting "
        ),
        "{}",
        waits[0]
    );
    assert_eq!(s.counters().rest_calls, 3);
}

#[test]
fn a_write_behind_a_timed_out_gateway_is_not_repeated() {
    let (s, env) = Env::seeded();
    s.fail(Endpoint::Rest, When::Next(1), Fault::PageAfterRun(504));
    let run = env.run(&["call", "crm.deal.add", "fields[TITLE]=x"]);
    let line = run.assert_final_error(1);
    assert!(line.contains("HTTP 504"), "{line}");
    assert!(line.contains("outcome is unknown"), "{line}");
    assert!(
        line.contains("check on the portal before running it again"),
        "{line}"
    );
    assert_eq!(s.commands_run(), 1, "run once, not repeated");
    assert_eq!(s.gateway_served(), 1);
    assert_eq!(run.stdout, "");
}

#[test]
fn a_batch_with_a_write_is_not_repeated_but_one_of_reads_is() {
    let (s, env) = Env::seeded();
    s.fail(Endpoint::Rest, When::Next(1), Fault::PageAfterRun(502));
    let write = [
        "call",
        "batch",
        "cmd[a]=crm.deal.list",
        "cmd[b]=crm.deal.add?fields[TITLE]=x",
    ];
    let run = env.run(&write);
    let line = run.assert_final_error(1);
    assert!(line.contains("outcome is unknown"), "{line}");
    assert_eq!(s.gateway_served(), 1);
    s.fail(Endpoint::Rest, When::Next(1), Fault::PageAfterRun(502));
    let reads = [
        "call",
        "batch",
        "cmd[a]=crm.deal.list",
        "cmd[b]=user.current",
    ];
    env.run(&reads).assert_ok();
    assert_eq!(s.gateway_served(), 2, "one page, then the portal's answer");
}

#[test]
fn a_503_page_is_not_repeated_for_a_write_but_a_query_limit_answer_is() {
    // A gateway may answer 503 after the portal ran the request: the write is sent once.
    let (s, env) = Env::seeded();
    s.fail(Endpoint::Rest, When::Next(1), Fault::Page(503));
    let run = env.run(&["call", "crm.deal.add", "fields[TITLE]=x", "--result"]);
    let line = run.assert_final_error(1);
    assert!(line.contains("HTTP 503"), "{line}");
    assert!(line.contains("outcome is unknown"), "{line}");
    assert_eq!(s.gateway_served(), 1, "sent once, not repeated");
    assert_eq!(run.stdout, "");
    // Bitrix24's own JSON QUERY_LIMIT_EXCEEDED proves the write did not run: repeated.
    let (s, env) = Env::seeded();
    s.fail(Endpoint::Rest, When::Request(1), Fault::QUERY_LIMIT);
    let run = env.run(&["call", "crm.deal.add", "fields[TITLE]=x", "--result"]);
    run.assert_ok();
    assert_eq!(run.stdout.trim(), "1");
    assert_eq!(s.commands_run(), 1);
}

#[test]
fn json_without_an_error_on_a_502_is_a_gateway_failure() {
    let (s, env) = Env::seeded();
    s.fail(Endpoint::Rest, When::Always, Fault::GatewayJson(502));
    let run = env.run(&["call", "crm.deal.list", "--all"]);
    let line = run.assert_final_error(1);
    assert!(line.contains("HTTP 502"), "{line}");
    assert!(
        line.contains("JSON that is not a Bitrix24 answer"),
        "{line}"
    );
    assert_eq!(run.stdout, "");
    let (s, env) = Env::seeded();
    s.fail(Endpoint::Rest, When::Next(1), Fault::GatewayJson(502));
    let run = env.run(&["call", "profile", "--result"]);
    run.assert_ok();
    assert!(run.stdout.contains("\"ID\""), "{}", run.stdout);
}
