//! Every input is bounded in size and time: a device or FIFO is refused at once, stdin past
//! its limit is refused, an answer's body that never ends or grows too large ends the call, and
//! a list whose `next` stops advancing stops `--all`.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::cli::{run_within, Env, Run};
use crate::support::http;
use crate::support::stand_in::StandIn;

/// Every input read into memory is bounded: a device or FIFO is refused at once, stdin beyond
/// its limit is refused, and nothing blocks or grows without end.
#[test]
fn endless_inputs_are_refused_quickly() {
    let s = StandIn::start();
    let env = Env::new();
    let fifo = env.tmp.path().join("pair.fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let fifo = fifo.to_str().unwrap();
    for args in [
        vec!["import", "/dev/zero"],
        vec!["import", fifo],
        vec!["call", "app.info", "--data", "@/dev/zero"],
        vec!["call", "app.info", "--data", &format!("@{fifo}")],
    ] {
        let run: Run = run_within(env.app_cmd(&s, &args), Duration::from_secs(20));
        let line = run.assert_error(2);
        assert!(line.contains("not a regular file"), "{args:?}: {line}");
    }
    env.seed(&s, 3600);
    for (args, limit) in [
        (vec!["import", "-"], "1 MiB"),
        (vec!["call", "app.info", "--data", "@-"], "64 MiB"),
        (vec!["batch", "--plan", "standard"], "1 MiB"),
    ] {
        let mut cmd = env.app_cmd(&s, &args);
        cmd.stdin(std::fs::File::open("/dev/zero").unwrap())
            .stdout(Stdio::piped());
        let run = run_within(cmd, Duration::from_secs(60));
        let line = run.assert_error(2);
        assert!(
            line.contains(&format!("larger than {limit}")),
            "{args:?}: {line}"
        );
    }
}

/// Seeds a profile whose portal is `endpoint` (e.g. a canned server).
fn seed_at(env: &Env, s: &StandIn, endpoint: &str) {
    let mut doc = env.seed(s, 3600);
    doc["client_endpoint"] = endpoint.into();
    env.write_auth(&serde_json::to_vec(&doc).unwrap());
}

#[test]
fn rest_http_timeout_bounds_a_body_that_never_ends() {
    let s = StandIn::start();
    let env = Env::new();
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"result\":";
    let portal = http::canned_server(head.to_vec(), false);
    seed_at(&env, &s, &format!("{portal}/rest/"));
    let mut p = env.spawn(&mut env.cmd(&["call", "echo", "--http-timeout", "1s"]));
    // Today's code waits 60 s; the error must come long before that.
    let line = p.wait_line(20, |l| l.starts_with("b24auth: error:"));
    assert!(
        line.contains("timed out") || line.contains("broke off"),
        "{line}"
    );
    assert_eq!(p.finish().code, 1);
}

#[test]
fn rest_and_token_answers_have_a_size_limit() {
    let s = StandIn::start();
    let env = Env::new();
    let huge =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{";
    let portal = http::canned_server(huge.to_vec(), false);
    seed_at(&env, &s, &format!("{portal}/rest/"));
    let line = env.run(&["call", "echo"]).assert_error(1).to_string();
    assert!(line.contains("more than 64 MiB"), "{line}");

    // A token endpoint that streams 100 KiB without declaring a length.
    let mut answer =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n".to_vec();
    answer.extend(std::iter::repeat_n(b' ', 100 * 1024));
    let server = http::canned_server(answer, true);
    env.seed(&s, 3600);
    let before = env.auth_bytes();
    let mut cmd = env.app_cmd(&s, &["refresh"]);
    cmd.env("B24AUTH_OAUTH_SERVER", &server);
    let line = Env::run_cmd(&mut cmd).assert_error(1).to_string();
    assert!(line.contains("more than 64 KiB"), "{line}");
    assert_eq!(env.auth_bytes(), before);
}

#[test]
fn call_all_stops_when_next_does_not_advance() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    let mut p = env.spawn(&mut env.cmd(&["call", "crm.stuck.list", "--all"]));
    let line = p.wait_line(20, |l| l.starts_with("b24auth: error:"));
    assert!(line.contains("does not advance"), "{line}");
    let run = p.finish();
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout.lines().count(), 2, "two pages were printed");
}
