//! `b24auth events pull | bind | failed | retry` against the stand-in's offline queue.

use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::support::cli::Env;
use crate::support::stand_in::StandIn;

pub(crate) const APP_TOKEN: &str = "51856fefc120afa4b628cc82d3935cce";

/// A stored pair of the app, with its install's `application_token`.
pub(crate) fn seed_app(env: &Env, s: &StandIn) -> Value {
    let mut doc = env.seed(s, 3600);
    doc["application_token"] = APP_TOKEN.into();
    env.write_auth(&serde_json::to_vec_pretty(&doc).unwrap());
    doc
}

/// A handler that appends `ID <B24_EVENT_ID> APP <token or none>` and its stdin to `log`.
fn logging_handler(log: &Path) -> Vec<String> {
    let script = format!(
        "printf 'ID %s %s APP %s\\n' \"$B24_EVENT_ID\" \"$B24_EVENT\" \"${{B24_APPLICATION_TOKEN:-none}}\" >> '{0}'; cat >> '{0}'",
        log.display()
    );
    vec!["--exec".into(), "sh".into(), "-c".into(), script]
}

fn handled_ids(log: &Path) -> Vec<u64> {
    fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("ID "))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

fn pull(env: &Env, s: &StandIn, extra: &[String]) -> Command {
    let mut args: Vec<&str> = vec!["events", "pull"];
    args.extend(extra.iter().map(String::as_str));
    env.app_cmd(s, &args)
}

#[test]
fn pull_runs_every_event_then_clears_it_and_no_token_reaches_the_handler() {
    let (env, s) = (Env::new(), StandIn::start());
    let doc = seed_app(&env, &s);
    let ids = s.queue_offline(120);
    let log = env.tmp.path().join("handled.log");
    Env::run_cmd(&mut pull(&env, &s, &logging_handler(&log))).assert_ok();
    let handled = handled_ids(&log);
    assert_eq!(
        handled.iter().copied().collect::<HashSet<_>>(),
        ids.iter().copied().collect()
    );
    assert!(s.offline_rows().is_empty(), "every event cleared");
    let text = fs::read_to_string(&log).unwrap();
    assert!(text.contains("ONCRMDEALUPDATE APP none"), "{text}");
    for secret in [&doc["access_token"], &doc["refresh_token"]] {
        assert!(!text.contains(secret.as_str().unwrap()));
    }
    assert!(!text.contains(APP_TOKEN));
    // A reserved batch is cleared only after its handlers ran: one get and one clear a batch.
    let calls = s.event_calls();
    let clears = calls.iter().filter(|c| *c == "event.offline.clear").count();
    assert_eq!(clears, 3, "{calls:?}");
}

#[test]
fn a_handler_that_keeps_failing_marks_its_events_failed_on_the_portal() {
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    s.queue_offline(3);
    let args: Vec<String> = ["--tries", "2", "--exec", "false"]
        .map(String::from)
        .to_vec();
    let run = Env::run_cmd(&mut pull(&env, &s, &args));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("failed 2 tries"), "{}", run.stderr);
    let rows = s.offline_rows();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.error && r.process_id.is_none()));
    let failed = env.run_cmd_app(&s, &["events", "failed", "--json"]);
    let listed: Value = serde_json::from_str(&failed.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 3, "{}", failed.stdout);
    // Retried: reserved for the next pull, which runs them again and clears them.
    env.run_cmd_app(&s, &["events", "retry", "--all"])
        .assert_ok();
    let log = env.tmp.path().join("retried.log");
    Env::run_cmd(&mut pull(&env, &s, &logging_handler(&log))).assert_ok();
    assert_eq!(handled_ids(&log).len(), 3);
    assert!(s.offline_rows().is_empty());
}

#[test]
fn without_the_extended_feature_each_batch_is_spooled_before_its_handlers_run() {
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    s.without_offline_extended();
    let ids = s.queue_offline(60);
    let log = env.tmp.path().join("handled.log");
    let run = Env::run_cmd(&mut pull(&env, &s, &logging_handler(&log)));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("WRONG_LICENSE"), "{}", run.stderr);
    let handled: HashSet<u64> = handled_ids(&log).into_iter().collect();
    assert_eq!(handled, ids.into_iter().collect());
    let pending = env.dir.join("events/pull-default/pending");
    assert_eq!(
        fs::read_dir(pending).unwrap().count(),
        0,
        "the spool emptied"
    );
}

#[test]
fn without_exec_events_are_json_lines_cleared_once_written() {
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    s.queue_offline(5);
    let run = Env::run_cmd(&mut pull(&env, &s, &[]));
    run.assert_ok();
    let lines: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["EVENT_NAME"], "ONCRMDEALUPDATE");
    assert!(s.offline_rows().is_empty());
}

/// Random instants (from the clock's nanoseconds) at which a run is killed.
pub(crate) fn instants(n: usize, max_ms: u64) -> Vec<Duration> {
    (0..n)
        .map(|i| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos() as u64;
            Duration::from_millis((nanos / 1000 + i as u64 * 7919) % max_ms)
        })
        .collect()
}

/// How many kill instants (`B24AUTH_TEST_KILLS`, default 10).
pub(crate) fn kills() -> usize {
    std::env::var("B24AUTH_TEST_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(10)
}

#[test]
fn pull_killed_at_random_instants_loses_no_event() {
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    let ids = s.queue_offline(300);
    let log = env.tmp.path().join("handled.log");
    let mut args: Vec<String> = ["--limit", "10"].map(String::from).to_vec();
    args.extend(logging_handler(&log));
    for at in instants(kills(), 400) {
        let mut child = pull(&env, &s, &args).spawn().unwrap();
        // The instant of the crash, not a synchronisation: any instant must be survivable.
        std::thread::sleep(at);
        let _ = child.kill();
        child.wait().unwrap();
    }
    Env::run_cmd(&mut pull(&env, &s, &args)).assert_ok();
    let handled: HashSet<u64> = handled_ids(&log).into_iter().collect();
    let missing: Vec<u64> = ids
        .iter()
        .filter(|i| !handled.contains(i))
        .copied()
        .collect();
    assert!(missing.is_empty(), "never handled: {missing:?}");
    assert!(s.offline_rows().is_empty(), "every event cleared at last");
}

#[test]
fn bind_names_the_administrator_requirement_when_refused() {
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    env.run_cmd_app(&s, &["events", "bind", "ONCRMDEALADD", "--offline"])
        .assert_ok();
    assert_eq!(
        s.bindings(),
        vec![("ONCRMDEALADD".into(), "".into(), "offline".into())]
    );
    s.not_admin();
    let run = env.run_cmd_app(
        &s,
        &[
            "events",
            "bind",
            "ONCRMDEALUPDATE",
            "--handler",
            "https://app.example.com/b24/x/event",
        ],
    );
    let line = run.assert_error(1);
    assert!(line.contains("administrator"), "{line}");
}

impl Env {
    fn run_cmd_app(&self, s: &StandIn, args: &[&str]) -> crate::support::cli::Run {
        Env::run_cmd(&mut self.app_cmd(s, args))
    }
}

#[test]
fn follow_ends_on_sigterm_between_batches_with_143() {
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    s.queue_offline(5);
    let args: Vec<String> = [
        "--follow",
        "--exec",
        "sh",
        "-c",
        "echo \"handled $B24_EVENT_ID\"",
    ]
    .map(String::from)
    .to_vec();
    let mut child = pull(&env, &s, &args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    for _ in 0..5 {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut out, &mut line).unwrap();
        assert!(line.starts_with("handled "), "{line}");
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    assert_eq!(child.wait().unwrap().code(), Some(143));
    assert!(s.offline_rows().is_empty(), "every handled event cleared");
}

#[test]
fn an_odd_event_is_set_aside_and_costs_its_batch_nothing() {
    for extended in [true, false] {
        let (env, s) = (Env::new(), StandIn::start());
        seed_app(&env, &s);
        if !extended {
            s.without_offline_extended();
        }
        let ids = s.queue_offline(20);
        s.rename_offline(ids[3], "ONCRM DEAL UPDATE");
        let log = env.tmp.path().join("handled.log");
        for _ in 0..2 {
            Env::run_cmd(&mut pull(&env, &s, &logging_handler(&log))).assert_ok();
        }
        let handled: HashSet<u64> = handled_ids(&log).into_iter().collect();
        let want: HashSet<u64> = ids.iter().copied().filter(|&i| i != ids[3]).collect();
        assert_eq!(
            handled, want,
            "extended={extended}: every other event handled"
        );
        assert!(!fs::read_to_string(&log).unwrap().contains("ONCRM DEAL"));
        let failed = env.run_cmd_app(&s, &["events", "failed", "--json"]);
        let listed: Value = serde_json::from_str(&failed.stdout).unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 1, "{}", failed.stdout);
        let rows = s.offline_rows();
        match extended {
            true => assert!(rows.len() == 1 && rows[0].error && rows[0].id == ids[3]),
            false => assert!(rows.is_empty()),
        }
    }
}
