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

/// Makes every event of the queue fail once (`--tries 1`): they are the portal's failed
/// events then (`ERROR=1`, unreserved).
fn fail_all(env: &Env, s: &StandIn) {
    let args: Vec<String> = ["--tries", "1", "--exec", "false"]
        .map(String::from)
        .to_vec();
    Env::run_cmd(&mut pull(env, s, &args)).assert_ok();
    assert!(s.offline_rows().iter().all(|r| r.error));
}

/// A handler that ends its own `events pull` by SIGKILL: the batch stays reserved.
fn crashing_handler() -> Vec<String> {
    ["--exec", "sh", "-c", "kill -KILL $PPID"]
        .map(String::from)
        .to_vec()
}

#[test]
fn pull_looks_for_reserved_batches_with_a_filter_the_portal_accepts() {
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    s.queue_offline(3);
    Env::run_cmd(&mut pull(&env, &s, &[])).assert_ok();
    let lists: Vec<Value> = s
        .rest_log()
        .into_iter()
        .filter(|(m, _, _)| m == "event.offline.list")
        .map(|(_, _, p)| p)
        .collect();
    assert!(!lists.is_empty());
    for p in &lists {
        assert_eq!(p["filter"], serde_json::json!({">PROCESS_ID": ""}), "{p}");
    }
    assert!(s.offline_rows().is_empty());
}

#[test]
fn retried_events_are_resumed_with_error_1_whether_remembered_or_adopted() {
    for remembered in [true, false] {
        let (env, s) = (Env::new(), StandIn::start());
        seed_app(&env, &s);
        let ids = s.queue_offline(4);
        fail_all(&env, &s);
        env.run_cmd_app(&s, &["events", "retry", "--all"])
            .assert_ok();
        assert!(s.offline_rows().iter().all(|r| r.process_id.is_some()));
        if !remembered {
            fs::remove_file(env.dir.join("events/pull-default/pull.json")).unwrap();
        }
        let log = env.tmp.path().join("retried.log");
        Env::run_cmd(&mut pull(&env, &s, &logging_handler(&log))).assert_ok();
        let handled: HashSet<u64> = handled_ids(&log).into_iter().collect();
        assert_eq!(handled, ids.iter().copied().collect(), "{remembered}");
        assert!(s.offline_rows().is_empty(), "{:?}", s.offline_rows());
        let failed = env.run_cmd_app(&s, &["events", "failed", "--json"]);
        assert_eq!(failed.stdout.trim(), "[]");
    }
}

#[test]
fn retry_by_id_reserves_only_those_events() {
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    let ids = s.queue_offline(3);
    fail_all(&env, &s);
    let chosen = ids[1].to_string();
    let run = env.run_cmd_app(&s, &["events", "retry", &chosen, "not-a-portal-id"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("1 portal event(s) reserved"),
        "{}",
        run.stderr
    );
    for (_, _, p) in s.rest_log() {
        if let Some(f) = p.get("filter").and_then(Value::as_object) {
            assert!(f.values().all(|v| !v.is_array()), "{p}");
        }
    }
    let log = env.tmp.path().join("retried.log");
    Env::run_cmd(&mut pull(&env, &s, &logging_handler(&log))).assert_ok();
    assert_eq!(handled_ids(&log), vec![ids[1]]);
    let left: Vec<u64> = s.offline_rows().iter().map(|r| r.id).collect();
    assert_eq!(left, vec![ids[0], ids[2]]);
}

#[test]
fn a_reserved_batch_is_given_up_into_the_spool_when_the_portal_loses_the_feature() {
    for retried in [true, false] {
        let (env, s) = (Env::new(), StandIn::start());
        seed_app(&env, &s);
        let mut ids = s.queue_offline(3);
        match retried {
            true => {
                fail_all(&env, &s);
                env.run_cmd_app(&s, &["events", "retry", "--all"])
                    .assert_ok();
            }
            false => {
                let run = Env::run_cmd(&mut pull(&env, &s, &crashing_handler()));
                assert_ne!(run.code, 0);
            }
        }
        assert!(s.offline_rows().iter().all(|r| r.process_id.is_some()));
        s.without_offline_extended();
        ids.extend(s.queue_offline(2));
        let log = env.tmp.path().join("handled.log");
        let run = Env::run_cmd(&mut pull(&env, &s, &logging_handler(&log)));
        assert_eq!(run.code, 0, "retried={retried}: {}", run.stderr);
        let handled: HashSet<u64> = handled_ids(&log).into_iter().collect();
        assert_eq!(handled, ids.iter().copied().collect(), "retried={retried}");
        assert!(s.offline_rows().is_empty(), "{:?}", s.offline_rows());
        // The feature back: the next run reserves again (clear=0) instead of staying lossy.
        s.with_offline_extended();
        s.queue_offline(2);
        let run = Env::run_cmd(&mut pull(&env, &s, &logging_handler(&log)));
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stderr.contains("allows clear=0 again"),
            "{}",
            run.stderr
        );
        assert!(s.offline_rows().is_empty());
        assert!(s.event_calls().contains(&"event.offline.clear".to_string()));
    }
}

#[test]
fn a_stop_signal_while_the_portal_deletes_a_batch_waits_until_it_is_spooled() {
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    s.without_offline_extended();
    let log = env.tmp.path().join("handled.log");
    let mut all: Vec<u64> = Vec::new();
    for (signal, code) in [("HUP", 129), ("INT", 130), ("QUIT", 131), ("TERM", 143)] {
        all.extend(s.queue_offline(4));
        s.hold_cleared_get();
        let mut child = pull(&env, &s, &logging_handler(&log)).spawn().unwrap();
        assert!(s.wait_cleared_get_held(), "the portal deleted a batch");
        let pid = child.id().to_string();
        assert!(Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap()
            .success());
        s.release_cleared_get();
        assert_eq!(child.wait().unwrap().code(), Some(code), "SIG{signal}");
    }
    Env::run_cmd(&mut pull(&env, &s, &logging_handler(&log))).assert_ok();
    let handled: HashSet<u64> = handled_ids(&log).into_iter().collect();
    assert_eq!(handled, all.iter().copied().collect());
}

#[test]
fn an_event_whose_message_id_the_portal_cannot_clear_by_is_cleared_by_id() {
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    let ids = s.queue_offline(5);
    s.set_message_id(ids[2], "1");
    let log = env.tmp.path().join("handled.log");
    let run = Env::run_cmd(&mut pull(&env, &s, &logging_handler(&log)));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let handled: HashSet<u64> = handled_ids(&log).into_iter().collect();
    assert_eq!(handled, ids.iter().copied().collect());
    assert!(s.offline_rows().is_empty(), "{:?}", s.offline_rows());
}

#[test]
fn each_handler_run_gets_a_live_token() {
    let (env, s) = (Env::new(), StandIn::start());
    let mut doc = seed_app(&env, &s);
    let ids = s.queue_offline(2);
    // The first handler leaves the stored token a few seconds from its end (as an hour spent
    // on a long batch would): the second must get a refreshed one.
    doc["expires"] = (doc["expires"].as_i64().unwrap() - 3590).into();
    let late = env.tmp.path().join("late.json");
    fs::write(&late, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let log = env.tmp.path().join("tokens.log");
    let script = format!(
        "printf '%s %s\\n' \"$B24_EVENT_ID\" \"$B24_ACCESS_TOKEN\" >> '{}'; [ \"$B24_EVENT_ID\" = {} ] && cat '{}' > '{}'; true",
        log.display(),
        ids[0],
        late.display(),
        env.auth_path().display()
    );
    let args: Vec<String> = ["--exec", "sh", "-c", &script].map(String::from).to_vec();
    Env::run_cmd(&mut pull(&env, &s, &args)).assert_ok();
    let text = fs::read_to_string(&log).unwrap();
    let tokens: Vec<&str> = text
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap_or(""))
        .collect();
    assert_eq!(tokens.len(), 2, "{text}");
    assert_eq!(tokens[0], doc["access_token"].as_str().unwrap());
    assert_ne!(tokens[1], tokens[0], "the second run got a refreshed token");
}

/// `--follow` with a handler that says `handled ID` on stderr.
fn follow(env: &Env, s: &StandIn) -> crate::support::cli::Spawned {
    let args: Vec<String> = [
        "--follow",
        "--exec",
        "sh",
        "-c",
        "echo \"handled $B24_EVENT_ID\" >&2",
    ]
    .map(String::from)
    .to_vec();
    env.spawn(&mut pull(env, s, &args))
}

fn terminate(child: &mut std::process::Child) -> Option<i32> {
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    child.wait().unwrap().code()
}

#[test]
fn follow_waits_out_an_outage() {
    use crate::support::stand_in::{Endpoint, Fault, When};
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    let first = s.queue_offline(1)[0];
    let mut run = follow(&env, &s);
    run.wait_line(20, |l| l == format!("handled {first}"));
    s.fail(Endpoint::Rest, When::Next(3), Fault::CutBody);
    let second = s.queue_offline(1)[0];
    run.wait_line(30, |l| l.contains("trying again"));
    run.wait_line(60, |l| l == format!("handled {second}"));
    assert_eq!(terminate(&mut run.child), Some(143));
    assert!(s.offline_rows().is_empty());
}

#[test]
fn retry_during_a_follow_says_to_stop_it() {
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    let first = s.queue_offline(1)[0];
    let mut run = follow(&env, &s);
    run.wait_line(20, |l| l == format!("handled {first}"));
    let retry = env.run_cmd_app(&s, &["events", "retry", "--all"]);
    let line = retry.assert_error(4);
    assert!(
        line.contains("--follow") && line.contains("stop it"),
        "{line}"
    );
    assert_eq!(terminate(&mut run.child), Some(143));
}

#[test]
fn a_refused_request_of_b24auths_own_is_not_the_users_to_fix() {
    use crate::support::stand_in::{Endpoint, Fault, When};
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    s.queue_offline(1);
    let refused = (
        hyper::StatusCode::BAD_REQUEST,
        "ERROR_ARGUMENT",
        "Filter operation not allowed",
    );
    s.fail(Endpoint::Rest, When::Next(1), Fault::Error(refused));
    let run = Env::run_cmd(&mut pull(&env, &s, &[]));
    let line = run.assert_error(1);
    assert!(!line.contains("fix the call's parameters"), "{line}");
    assert!(line.contains("b24auth built"), "{line}");
}

#[test]
fn bind_refused_names_the_portal_to_authorize_again() {
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    s.not_admin();
    let run = env.run_cmd_app(&s, &["events", "bind", "ONCRMDEALADD", "--offline"]);
    let line = run.assert_error(1);
    assert!(line.contains("administrator"), "{line}");
    assert!(!line.contains("PORTAL"), "{line}");
    assert!(line.contains(&s.host()), "{line}");
    assert!(line.contains("--force"), "{line}");
}

#[test]
fn pull_with_a_shared_store_warns_that_its_lock_is_this_hosts() {
    use crate::support::postgres::shared;
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    let url = shared().database();
    let copy = &["store", "copy", "--from", "file", "--to", &url];
    Env::run_cmd(&mut env.cmd(copy)).assert_ok();
    fs::remove_file(env.auth_path()).unwrap();
    s.queue_offline(2);
    let mut cmd = pull(&env, &s, &[]);
    cmd.env("B24AUTH_STORE", &url);
    let run = Env::run_cmd(&mut cmd);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("on one host only"), "{}", run.stderr);
    assert!(s.offline_rows().is_empty());
}
