//! A token renewed while a request is in flight is still kept off the terminal (issue 22's
//! review): the answer to a `batch` sent with the old token may echo it after another request
//! renewed the pair; every token the caller held is redacted, not only the current one.

use std::io::Write;
use std::process::Stdio;

use serde_json::json;

use crate::support::cli::Env;
use crate::support::stand_in::{RestFault, StandIn};

#[test]
fn an_old_token_echoed_after_a_renewal_is_redacted() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    // The first chunk's answer (echoing its token) comes back only after the second chunk met
    // `expired_token` and b24auth renewed the pair.
    s.hold_until_refresh(1);
    s.fail_rest_call(2, RestFault::ExpiredToken);
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
