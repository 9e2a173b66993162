//! Requests in flight side by side (issue 22): `call --all`, `--all --by-id` and `batch` keep
//! several requests at the portal at once and still write in order; the portal's numbers are
//! never trusted in arithmetic.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::cli::{Env, Run};
use crate::support::stand_in::StandIn;

fn ready(deals: usize) -> (StandIn, Env) {
    let s = StandIn::start();
    s.set_deals(deals);
    s.set_work(Duration::from_millis(1));
    let env = Env::new();
    env.seed(&s, 3600);
    (s, env)
}

/// `b24auth ARGS` with room for a loaded machine: the portal's work is what is measured here,
/// not how fast a debug build answers under other tests.
fn b24auth(env: &Env, args: &[&str]) -> Run {
    Env::run_cmd(env.cmd(args).env("B24AUTH_HTTP_TIMEOUT", "60s"))
}

fn ids(count: usize) -> String {
    (1..=count)
        .map(|i| format!("{}\n", json!({"ID": i.to_string()})))
        .collect()
}

#[test]
fn start_pages_in_flight_side_by_side_come_out_in_order() {
    let (s, env) = ready(2_000);
    // The first batch after the first page answers last: the ones after it run ahead.
    s.slow_request(2, Duration::from_millis(400));
    let run = b24auth(&env, &["call", "crm.deal.list", "--all", "select[]=ID"]);
    run.assert_ok();
    assert!(run.stdout == ids(2_000), "the 2,000 IDs in order");
    assert!(s.max_in_flight() > 1, "side by side: {}", s.max_in_flight());
    assert!(s.max_in_flight() <= 8, "at most --concurrency's default");
    // --concurrency bounds what is in flight.
    let (s, env) = ready(2_000);
    s.slow_request(2, Duration::from_millis(400));
    let run = b24auth(
        &env,
        &[
            "call",
            "crm.deal.list",
            "--all",
            "select[]=ID",
            "--concurrency",
            "2",
        ],
    );
    run.assert_ok();
    assert!(run.stdout == ids(2_000));
    assert_eq!(s.max_in_flight(), 2);
}

#[test]
fn id_ranges_read_side_by_side_come_out_in_id_order() {
    let (s, env) = ready(2_000);
    // Request 2 is the first range's: every other range runs ahead of it and spills.
    s.slow_request(2, Duration::from_millis(400));
    let run = b24auth(
        &env,
        &[
            "call",
            "crm.deal.list",
            "--all",
            "--by-id",
            "select[]=TITLE",
        ],
    );
    run.assert_ok();
    let expected: String = (1..=2_000)
        .map(|i| format!("{}\n", json!({"TITLE": format!("Deal {i}")})))
        .collect();
    assert!(
        run.stdout == expected,
        "every deal once, in ID order, ID hidden"
    );
    assert!(s.max_in_flight() > 1, "side by side: {}", s.max_in_flight());
    // The ranges read what the user's filter matches, nothing twice.
    let run = b24auth(
        &env,
        &[
            "call",
            "crm.deal.list",
            "--all",
            "--by-id",
            "select[]=ID",
            "filter[STAGE_ID]=WON",
            "filter[>ID]=100",
        ],
    );
    run.assert_ok();
    let expected: String = (101..=2_000)
        .filter(|i| i % 4 == 2)
        .map(|i| format!("{}\n", json!({"ID": i.to_string()})))
        .collect();
    assert!(run.stdout == expected, "the WON deals after 100, in order");
}

#[test]
fn batch_lines_in_flight_come_out_in_input_order() {
    let (s, env) = ready(120);
    s.slow_request(1, Duration::from_millis(400));
    let input: String = (0..300)
        .map(|i| format!("{}\n", json!({"method": "echo", "params": {"n": i}})))
        .collect();
    let mut child = env
        .cmd(&["batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 300);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["result"]["n"], json!(i.to_string()), "line {i}");
    }
    assert!(s.max_in_flight() > 1, "side by side: {}", s.max_in_flight());
}

/// Runs `args` under GNU time; returns the run and its peak RSS in KiB.
fn with_rss(env: &Env, args: &[&str]) -> (Run, u64) {
    let cmd = env.cmd(args);
    let rss = env.tmp.path().join("rss");
    let mut timed = Command::new("/usr/bin/time");
    timed
        .args(["-f", "%M", "-o"])
        .arg(&rss)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => timed.env(k, v),
            None => timed.env_remove(k),
        };
    }
    let run = Env::run_cmd(timed.stdin(Stdio::null()));
    let text = std::fs::read_to_string(&rss).unwrap();
    let kib = text.trim().lines().last().unwrap().parse().unwrap();
    (run, kib)
}

#[test]
fn the_largest_numbers_a_portal_can_send_end_the_export_at_once() {
    let (_s, env) = ready(120);
    // total = u64::MAX, next = i64::MAX: no page after it can be computed without wrapping.
    let (run, kib) = with_rss(&env, &["call", "crm.huge.list", "--all"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 50, "the first page");
    let last = run.stderr.lines().last().unwrap();
    assert!(
        last.starts_with("b24auth: error: the portal's `next` (9223372036854775807) after start=0 is not the next page"),
        "{last}"
    );
    assert!(kib < 30 * 1024, "peak RSS {kib} KiB");
    // total = u64::MAX with an honest next: more pages than any export follows.
    let (run, kib) = with_rss(&env, &["call", "crm.endless.list", "--all"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("total=18446744073709551615: more than 100000 pages"),
        "{}",
        run.stderr
    );
    assert!(kib < 30 * 1024, "peak RSS {kib} KiB");
}
