//! A `batch` chunk whose request fails (issue 22's review): input stops being read, the chunks
//! in flight finish and print their lines, each command of the failed chunk gets an error line,
//! and the error names the chunk's input lines.

use std::io::Write;
use std::process::Stdio;

use serde_json::{json, Value};

use crate::support::cli::Env;
use crate::support::stand_in::{RestFault, StandIn};

/// Runs `b24auth batch ARGS` on 150 `echo` lines (three chunks) with REST call 2 failing.
fn run(args: &[&str]) -> (StandIn, Vec<Value>, String, Option<i32>) {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    s.fail_rest_call(2, RestFault::GatewayTimeout);
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
    let (s, lines, stderr, code) = run(&["--concurrency", "1"]);
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
    let (_s, lines, stderr, code) = run(&[]);
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
