//! A gateway's answer leaves a write's outcome unknown (issue 22's review): b24auth repeats
//! only calls that read (any call on 503, the portal's own "not done"); a write that met a 502
//! or 504 ends with exit 1 saying to check before running it again. JSON without Bitrix24's
//! `error` on a failure status is no answer of the portal's.

use crate::support::cli::Env;
use crate::support::stand_in::StandIn;

fn ready() -> (StandIn, Env) {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    (s, env)
}

#[test]
fn a_write_behind_a_timed_out_gateway_is_not_repeated() {
    let (s, env) = ready();
    s.late_gateway_pages(1, 504);
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
    let (s, env) = ready();
    s.late_gateway_pages(1, 502);
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
    s.late_gateway_pages(1, 502);
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
fn a_503_is_repeated_even_for_a_write() {
    let (s, env) = ready();
    s.gateway_pages(1, 503);
    let run = env.run(&["call", "crm.deal.add", "fields[TITLE]=x", "--result"]);
    run.assert_ok();
    assert_eq!(run.stdout.trim(), "1");
    assert_eq!(s.commands_run(), 1);
}

#[test]
fn json_without_an_error_on_a_502_is_a_gateway_failure() {
    let (s, env) = ready();
    s.json_gateway_pages(usize::MAX, 502);
    let run = env.run(&["call", "crm.deal.list", "--all"]);
    let line = run.assert_final_error(1);
    assert!(line.contains("HTTP 502"), "{line}");
    assert!(
        line.contains("JSON that is not a Bitrix24 answer"),
        "{line}"
    );
    assert_eq!(run.stdout, "");
    let (s, env) = ready();
    s.json_gateway_pages(1, 502);
    let run = env.run(&["call", "profile", "--result"]);
    run.assert_ok();
    assert!(run.stdout.contains("\"ID\""), "{}", run.stdout);
}
