//! `b24auth batch` and `call --all` in Bitrix24's `batch`: pages in batches byte for byte as
//! paging printed them, `--all --by-id`, one answer line per input line in order, `--halt`, the
//! back-off errors and the operating-time budget; a chunk whose request fails (input stops being
//! read, the chunks in flight print their lines, each command of the failed chunk gets an error
//! line naming its input lines); and every token the caller held kept off the terminal, even
//! one echoed after another request renewed the pair.

use std::collections::HashMap;
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::cli::{json_lines, Env};
use crate::support::stand_in::batch::{
    deal_list, parse_php_query, php_json, resolve, ServerBucket,
};
use crate::support::stand_in::{Endpoint, Fault, StandIn, When, CALL_COST, LEADS};

fn ready(deals: usize) -> (StandIn, Env) {
    let (s, env) = Env::seeded();
    s.set_deals(deals);
    (s, env)
}

/// What the page-by-page `--all` printed: one `start=` call after another, each item a line.
fn page_by_page(env: &Env, method: &str, pairs: &[&str], count: usize) -> String {
    let mut out = String::new();
    for start in (0..count.max(1)).step_by(50) {
        let start = format!("start:={start}");
        let mut args = vec!["call", method, "--result"];
        args.extend(pairs);
        args.push(&start);
        let run = env.run(&args);
        run.assert_ok();
        let items: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
        for item in items {
            out.push_str(&format!("{item}\n"));
        }
    }
    out
}

#[test]
fn all_in_batches_prints_byte_for_byte_what_paging_printed() {
    let (s, env) = ready(120);
    for (method, count) in [("crm.deal.list", 120), ("crm.lead.list", LEADS)] {
        let expected = page_by_page(&env, method, &[], count);
        let before = s.counters().rest_calls;
        let run = env.run(&["call", method, "--all"]);
        run.assert_ok();
        assert_eq!(run.stdout, expected, "{method}");
        assert_eq!(
            s.counters().rest_calls - before,
            2,
            "{method}: the first page, then one batch"
        );
        let array = env.run(&["call", method, "--all", "--array"]);
        let lines: Vec<&str> = expected.lines().collect();
        assert_eq!(array.stdout, format!("[{}]\n", lines.join(",")));
    }
    let log = s.rest_log();
    let batch = log.iter().find(|(m, _, _)| m == "batch").unwrap();
    assert_eq!(
        batch.2,
        json!({"halt": 0, "cmd": {"cmd0": "crm.deal.list?start=50", "cmd1": "crm.deal.list?start=100"}})
    );
}

#[test]
fn by_id_reads_the_same_items_in_one_request() {
    let (s, env) = ready(120);
    let expected = page_by_page(&env, "crm.deal.list", &[], 120);
    let before = s.counters().rest_calls;
    let run = env.run(&["call", "crm.deal.list", "--all", "--by-id"]);
    run.assert_ok();
    assert_eq!(run.stdout, expected);
    assert_eq!(s.counters().rest_calls - before, 1);
    let cmd = s.rest_log().last().unwrap().2["cmd"].clone();
    assert_eq!(cmd["cmd0"], "crm.deal.list?order[ID]=ASC&start=-1");
    assert_eq!(
        cmd["cmd1"],
        "crm.deal.list?order[ID]=ASC&start=-1&filter[%3EID]=%24result%5Bcmd0%5D%5B49%5D%5BID%5D"
    );
}

#[test]
fn by_id_honours_filter_and_select_and_hides_only_the_id_it_added() {
    let (_s, env) = ready(1000);
    let won = ["filter[STAGE_ID]=WON", "select[]=TITLE"];
    let plain = env.run(&[&["call", "crm.deal.list", "--all"][..], &won].concat());
    let by_id = env.run(&[&["call", "crm.deal.list", "--all", "--by-id"][..], &won].concat());
    by_id.assert_ok();
    assert_eq!(by_id.stdout, plain.stdout);
    let items = json_lines(&by_id.stdout);
    assert_eq!(items.len(), 250, "every fourth deal is WON");
    assert_eq!(items[0], json!({"TITLE": "Deal 2"}));

    let asked = env.run(&[
        "call",
        "crm.deal.list",
        "--all",
        "--by-id",
        "select[]=TITLE",
        "select[]=ID",
        "filter[>ID]=990",
    ]);
    assert_eq!(
        json_lines(&asked.stdout)[0],
        json!({"ID": "991", "TITLE": "Deal 991"})
    );
    assert_eq!(json_lines(&asked.stdout).len(), 10);

    let line = env
        .run(&[
            "call",
            "crm.deal.list",
            "--all",
            "--by-id",
            "order[TITLE]=ASC",
        ])
        .assert_error(2)
        .to_string();
    assert!(line.contains("--by-id reads in ID order"), "{line}");
}

#[test]
fn ten_thousand_deals_take_five_requests_under_the_portals_bucket() {
    let (s, env) = ready(10_000);
    s.enable_rate_limit();
    let expected: String = (1..=10_000)
        .map(|i| format!("{}\n", json!({"ID": i.to_string()})))
        .collect();
    for by_id in [false, true] {
        let before = s.counters().rest_calls;
        // One request at a time: the fewest requests (in flight side by side they are split
        // into more, smaller ones: tests/cases/pace.rs).
        let mut args = vec![
            "call",
            "crm.deal.list",
            "--all",
            "select[]=ID",
            "--concurrency",
            "1",
        ];
        if by_id {
            args.push("--by-id");
        }
        let run = env.run(&args);
        run.assert_ok();
        assert!(
            run.stdout == expected,
            "by_id={by_id}: the 10,000 IDs in order"
        );
        assert_eq!(s.counters().rest_calls - before, 5, "by_id={by_id}");
    }
    assert_eq!(s.counters().query_limits, 0);
}

#[test]
fn a_429_and_operation_time_limit_are_waited_out() {
    let (s, env) = ready(120);
    s.fail(Endpoint::Rest, When::Request(1), Fault::Page(429));
    s.fail(
        Endpoint::Rest,
        When::Request(3),
        Fault::OPERATION_TIME_LIMIT,
    );
    let run = env.run(&["call", "crm.lead.list", "--all"]);
    run.assert_ok();
    assert_eq!(json_lines(&run.stdout).len(), LEADS);
    assert_eq!(
        s.counters().rest_calls,
        4,
        "two pages' requests, each once more"
    );
}

#[test]
fn the_operating_budget_waits_for_the_reset_instead_of_running_out() {
    let (s, env) = ready(120);
    // One more call puts crm.deal.list past 480 s; the window resets in about 2 s.
    s.set_operating(
        "crm.deal.list",
        480.0 - CALL_COST / 2.0,
        Duration::from_secs(2),
    );
    let run = env.run(&["call", "crm.deal.list", "--all"]);
    run.assert_ok();
    assert_eq!(json_lines(&run.stdout).len(), 120);
    assert_eq!(s.counters().operation_time_limits, 0, "never refused");
    let waits: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(waits.len(), 1, "{}", run.stderr);
    assert!(
        waits[0].starts_with(
            "b24auth: crm.deal.list has used 480 s of its 480 s per 10 min operating time; waiting"
        ),
        "{}",
        waits[0]
    );
}

#[test]
fn batch_answers_one_line_per_input_line_in_order() {
    let (s, env) = ready(120);
    let mut input = String::new();
    let mut expected = Vec::new();
    for i in 0..120 {
        match i % 4 {
            0 => {
                input.push_str("{\"method\": \"user.current\"}\n");
                expected.push(json!({"result": {"ID": "1", "NAME": "Stand", "LAST_NAME": "In"}}));
            }
            1 => {
                input.push_str(&format!(
                    "[\"echo\", {{\"n\": {i}, \"f\": {{\">ID\": \"a&b\"}}, \"s\": [\"x\", \"y\"]}}]\n"
                ));
                expected.push(
                    json!({"result": {"n": i.to_string(), "f": {">ID": "a&b"}, "s": ["x", "y"]}}),
                );
            }
            2 => {
                input.push_str("{\"method\": \"crm.deal.fail\", \"params\": {}}\n\n");
                expected.push(json!({"error": "ERROR_CORE", "error_description": "Something went wrong in the portal"}));
            }
            _ => {
                input.push_str("{\"method\": \"crm.deal.list\", \"params\": {\"start\": 100}}\n");
                let items: Vec<Value> = (101..=120)
                    .map(|d| serde_json::from_str(&page_item(d)).unwrap())
                    .collect();
                expected.push(json!({"result": items, "total": 120}));
            }
        }
    }
    input.push_str("not json\n");
    let run = Env::run_with_stdin(&mut env.cmd(&["batch"]), &input);
    let lines = json_lines(&run.stdout);
    assert_eq!(lines.len(), 121);
    assert_eq!(&lines[..120], &expected[..]);
    assert_eq!(lines[120]["error"], "INVALID_LINE");
    let line = run.assert_error(1).to_string();
    assert_eq!(
        line,
        "b24auth: error: 31 of 121 commands failed; their output lines say why"
    );
    assert_eq!(s.counters().rest_calls, 3, "50 + 50 + 20 commands");
}

fn page_item(id: usize) -> String {
    let d = crate::support::stand_in::batch::deal(id);
    Value::Object(d).to_string()
}

#[test]
fn batch_halt_stops_at_the_first_failure() {
    let (s, env) = ready(120);
    let mut input = String::from("[\"user.current\"]\n[\"crm.deal.fail\"]\n");
    for _ in 0..60 {
        input.push_str("[\"user.current\"]\n");
    }
    let run = Env::run_with_stdin(&mut env.cmd(&["batch", "--halt"]), &input);
    assert_eq!(
        json_lines(&run.stdout),
        vec![
            json!({"result": {"ID": "1", "NAME": "Stand", "LAST_NAME": "In"}}),
            json!({"error": "ERROR_CORE", "error_description": "Something went wrong in the portal"})
        ]
    );
    let line = run.assert_error(1).to_string();
    assert_eq!(line, "b24auth: error: line 2 failed: ERROR_CORE: Something went wrong in the portal; --halt stopped there");
    assert_eq!(s.counters().rest_calls, 1);
    assert_eq!(s.rest_log()[0].2["halt"], 1);

    let ok = Env::run_with_stdin(&mut env.cmd(&["batch", "--halt"]), "[\"user.current\"]\n");
    ok.assert_ok();
}

// The stand-in's own pieces, against what PHP and Bitrix24 do.

#[test]
fn queries_parse_as_php_does() {
    assert_eq!(
        parse_php_query("select[0]=ID&select[1]=TITLE&filter[%3EID]=5&a[]=x&a[]=y&t=a+b%26"),
        json!({"select": ["ID", "TITLE"], "filter": {">ID": "5"}, "a": ["x", "y"], "t": "a b&"})
    );
    assert_eq!(parse_php_query(""), json!({}));
}

#[test]
fn references_resolve_against_earlier_results() {
    let done = HashMap::from([("cmd0".to_string(), json!([{"ID": "7"}]))]);
    let mut p = json!({"filter": {">ID": "$result[cmd0][0][ID]"}, "x": "a$result[cmd0][0][ID]b",
        "gone": "$result[cmd0][49][ID]", "all": "$result[cmd0]"});
    resolve(&mut p, &done);
    assert_eq!(
        p,
        json!({"filter": {">ID": "7"}, "x": "a7b", "gone": "", "all": [{"ID": "7"}]})
    );
}

#[test]
fn answers_are_php_arrays() {
    assert_eq!(php_json(vec![]), json!([]));
    assert_eq!(
        php_json(vec![("0".into(), json!(1)), ("1".into(), json!(2))]),
        json!([1, 2])
    );
    assert_eq!(php_json(vec![("1".into(), json!(2))]), json!({"1": 2}));
}

#[test]
fn the_bucket_holds_fifty() {
    let mut b = ServerBucket::new(50.0, 2.0);
    assert!((0..50).all(|_| b.admit()));
    assert!(!b.admit());
}

#[test]
fn deal_lists_page_filter_and_skip_the_count() {
    let page = deal_list(120, &json!({"start": "100", "select": ["ID"]}));
    assert_eq!(page["total"], 120);
    assert_eq!(page.get("next"), None);
    assert_eq!(page["result"][0], json!({"ID": "101"}));
    let page = deal_list(120, &json!({"start": -1, "filter": {">ID": "60"}}));
    // `start=-1` skips the count: the portal says `"total": 0` (huge-data.md).
    assert_eq!(
        (page.get("total"), page["result"].as_array().unwrap().len()),
        (Some(&json!(0)), 50)
    );
    assert_eq!(page["result"][0]["ID"], "61");
}

#[test]
fn the_plan_sets_the_clients_bucket() {
    // 51 batch requests at once: the standard plan's bucket (burst 50) spaces the 51st, so the
    // portal never refuses; the enterprise plan's (burst 250) sends it at once into the
    // standard portal's full bucket, which answers 503 (then b24auth backs off and repeats).
    // The enterprise run sends 60 requests, so that even on a loaded machine (where the portal's
    // bucket drains a little while they go out) the burst overflows it.
    for (plan, requests, refused) in [("standard", 51, false), ("enterprise", 60, true)] {
        let input = "[\"user.current\"]\n".repeat(requests * 50);
        let (s, env) = ready(120);
        s.enable_rate_limit();
        let run = Env::run_with_stdin(&mut env.cmd(&["batch", "--plan", plan]), &input);
        run.assert_ok();
        assert_eq!(run.stdout.lines().count(), requests * 50);
        assert_eq!(s.counters().query_limits > 0, refused, "--plan {plan}");
    }
}

#[test]
fn by_id_stops_when_a_method_ignores_the_id_filter() {
    // The stand-in's crm.lead.list, like user.get on a real portal, ignores filter[>ID].
    let (_s, env) = ready(120);
    let run = env.run(&["call", "crm.lead.list", "--all", "--by-id"]);
    assert_eq!(run.stdout.lines().count(), 50, "the first page, once");
    let line = run.assert_error(1).to_string();
    assert_eq!(
        line,
        "b24auth: error: crm.lead.list does not honour filter[>ID]; use --all without --by-id"
    );
}

/// Runs `b24auth batch ARGS` on 150 `echo` lines (three chunks) with REST call 2 failing.
fn batch_with_a_failing_request(args: &[&str]) -> (StandIn, Vec<Value>, String, Option<i32>) {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    s.fail(Endpoint::Rest, When::Request(2), Fault::Page(504));
    let input: String = (0..150)
        .map(|i| format!("{}\n", json!({"method": "echo", "params": {"n": i}})))
        .collect();
    let mut cmd = env.cmd(&[&["batch"], args].concat());
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Input that is no longer read may meet a closed pipe.
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (s, lines, stderr, out.status.code())
}

fn failed(line: &Value) -> bool {
    line["error"] == "REQUEST_FAILED"
}

#[test]
fn one_at_a_time_a_failed_chunk_stops_the_input() {
    let (s, lines, stderr, code) = batch_with_a_failing_request(&["--concurrency", "1"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(lines.len(), 100, "chunk 3 never read: {stderr}");
    assert!(lines[..50].iter().all(|l| l["result"]["n"].is_string()));
    assert!(lines[50..].iter().all(failed), "{:?}", lines[50]);
    assert!(lines[50]["error_description"]
        .as_str()
        .unwrap()
        .contains("HTTP 504"));
    assert_eq!(s.counters().rest_calls, 2);
    let last = stderr.lines().last().unwrap_or("");
    assert!(last.contains("stdin lines 51-100"), "{last}");
}

#[test]
fn chunks_in_flight_still_print_their_lines() {
    let (_s, lines, stderr, code) = batch_with_a_failing_request(&[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(lines.len(), 150, "{stderr}");
    let bad: Vec<usize> = (0..150).filter(|&i| failed(&lines[i])).collect();
    assert_eq!(bad.len(), 50, "{stderr}");
    let first = bad[0];
    assert_eq!(first % 50, 0);
    assert_eq!(bad, (first..first + 50).collect::<Vec<_>>());
    for (i, line) in lines.iter().enumerate() {
        if !bad.contains(&i) {
            assert_eq!(line["result"]["n"], i.to_string(), "in input order");
        }
    }
    let range = format!("stdin lines {}-{}", first + 1, first + 50);
    assert!(
        stderr.lines().last().unwrap_or("").contains(&range),
        "{stderr}"
    );
}

#[test]
fn an_old_token_echoed_after_a_renewal_is_redacted() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    // The first chunk's answer (echoing its token) comes back only after the second chunk met
    // `expired_token` and b24auth renewed the pair.
    s.hold_until_refresh(1);
    s.fail(Endpoint::Rest, When::Request(2), Fault::EXPIRED_TOKEN);
    let mut input = format!("{}\n", json!({"method": "echo.fail", "params": {}}));
    for i in 1..60 {
        input += &format!("{}\n", json!({"method": "echo", "params": {"n": i}}));
    }
    let mut child = env
        .cmd(&["batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(s.counters().refreshes, 1, "{stderr}");
    let first = &s.rest_log()[0].2;
    assert!(
        first.to_string().contains("echo.fail"),
        "the held request is the echoing chunk: {first}"
    );
    let line = stdout.lines().next().unwrap();
    assert!(line.contains("cannot handle auth=…"), "{line}");
    for secret in s.issued_secrets() {
        assert!(!stdout.contains(&secret), "{stdout}");
        assert!(!stderr.contains(&secret), "{stderr}");
    }
    assert_eq!(stdout.lines().count(), 60);
}
