//! The portal's rate limits, shared by every b24auth on the host: one bucket per portal per
//! host through `<config-dir>/budget/<portal>.json`, under an OS lock that a dead holder does not
//! keep, in a file under the profiles' rules; the plan from `app.info`; requests in flight side
//! by side (`call --all`, `--all --by-id`, `batch`) still written in order; the operating-time
//! window waited out (silently under `--quiet`); the portal's numbers never trusted in
//! arithmetic nor kept when absurd.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::cli::{Env, Run};
use crate::support::stand_in::{StandIn, CALL_COST};

/// The budget directory, created private, and the portal's file in it.
fn budget_file(env: &Env, s: &StandIn) -> PathBuf {
    let dir = env.dir.join("budget");
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    dir.join(format!("{}.json", s.host().replace(':', "_")))
}

/// A second profile holding the same portal's pair.
fn second_profile(env: &Env) {
    let dir = env.dir.join("profiles");
    std::fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
    let to = dir.join("other.json");
    std::fs::copy(env.auth_path(), &to).unwrap();
    std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn two_processes_and_two_profiles_of_one_portal_share_one_bucket() {
    let (s, env) = Env::seeded();
    second_profile(&env);
    // A bucket of one that drains one request per 100 s: the first call takes the slot.
    let slow = ["--burst", "1", "--rate", "0.01/s"];
    let first = env.run(&[&["call", "profile"][..], &slow].concat());
    first.assert_ok();
    // The second process, another profile of the same portal, finds the slot taken.
    let mut args = vec!["--profile", "other", "call", "profile"];
    args.extend(slow);
    let mut second = env.spawn(&mut env.cmd(&args));
    let line = second.wait_line(20, |l| l.contains("request budget"));
    assert!(
        line.starts_with("b24auth: waiting 100 s for the portal's request budget (shared by every b24auth on this host)"),
        "{line}"
    );
    second.child.kill().unwrap();
    second.child.wait().unwrap();
    assert_eq!(s.counters().rest_calls, 1, "the second never went out");
    let files: Vec<_> = std::fs::read_dir(env.dir.join("budget"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        files,
        vec![format!("{}.json", s.host().replace(':', "_"))],
        "keyed by portal"
    );
    let path = budget_file(&env, &s);
    assert_eq!(crate::support::cli::mode(&path), 0o600);
    let state: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(state["level"].as_f64().unwrap() >= 1.0, "{state}");
}

#[test]
fn a_dead_processs_lock_holds_nobody_up() {
    let (s, env) = Env::seeded();
    let path = budget_file(&env, &s);
    // Another process takes the lock (as b24auth does: flock on the file) and says so, then
    // is killed while holding it.
    let mut holder = Command::new("python3")
        .args([
            "-c",
            "import fcntl, sys, time\n\
             f = open(sys.argv[1], 'a')\n\
             fcntl.flock(f, fcntl.LOCK_EX)\n\
             print('locked', flush=True)\n\
             time.sleep(600)",
        ])
        .arg(&path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = String::new();
    BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut said)
        .unwrap();
    assert_eq!(said, "locked\n");
    let mut caller = env.spawn(&mut env.cmd(&["call", "profile", "--result"]));
    let line = caller.wait_line(20, |l| l.contains("holds the portal's request budget"));
    assert!(
        line.starts_with("b24auth: waiting for another b24auth process"),
        "{line}"
    );
    holder.kill().unwrap();
    holder.wait().unwrap();
    let run = caller.finish();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let result: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(result["ID"], "1");
    assert_eq!(s.counters().rest_calls, 1);
}

#[test]
fn a_planted_bucket_file_is_refused_and_a_corrupt_one_is_replaced() {
    let (s, env) = Env::seeded();
    let path = budget_file(&env, &s);
    // A symlink planted where the state goes: never followed, nothing called.
    let target = env.tmp.path().join("elsewhere");
    std::fs::write(&target, b"keep").unwrap();
    std::os::unix::fs::symlink(&target, &path).unwrap();
    let run = env.run(&["call", "profile"]);
    let line = run.assert_error(1);
    assert!(
        line.contains("is a symlink; b24auth follows none"),
        "{line}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    assert_eq!(s.counters().rest_calls, 0);
    std::fs::remove_file(&path).unwrap();
    // A budget directory others may write into is refused with the fix.
    let dir = env.dir.join("budget");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let line = env.run(&["call", "profile"]).assert_error(1).to_string();
    assert!(
        line.contains(&format!("run `chmod 700 {}`", dir.display())),
        "{line}"
    );
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    // Garbage in the file (a crash mid-write, a planted text): the most cautious state, a
    // full bucket, and a valid file again afterwards.
    std::fs::write(&path, b"{\"level\": -1e308, \"at\": \"x\"").unwrap();
    env.run(&["call", "profile"]).assert_ok();
    let state: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(state["level"].as_f64().unwrap() > 40.0, "{state}");
    assert_eq!(s.counters().rest_calls, 1);
}

#[test]
fn the_plan_comes_from_app_info_when_none_is_given() {
    let (s, env) = Env::seeded();
    s.set_license_family("ent");
    let run = env.run(&["call", "crm.deal.list", "--all"]);
    run.assert_ok();
    assert!(
        run.stderr.contains(
            "b24auth: the portal's plan is enterprise (app.info LICENSE_FAMILY ent): 5/s, burst 250; --plan chooses another"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(s.counters().app_info_portal, 1);
    // Every process on the host knows it now: no second app.info, nothing said again.
    let run = env.run(&["call", "crm.deal.list", "--all"]);
    run.assert_ok();
    assert_eq!(run.stderr, "");
    assert_eq!(s.counters().app_info_portal, 1);
    let state: Value =
        serde_json::from_slice(&std::fs::read(budget_file(&env, &s)).unwrap()).unwrap();
    assert_eq!(state["family"][0], "ent");
    // A plan the user gives wins, and app.info is not asked.
    let (s, env) = Env::seeded();
    s.set_license_family("ent");
    env.run(&["call", "crm.deal.list", "--all", "--plan", "standard"])
        .assert_ok();
    assert_eq!(s.counters().app_info_portal, 0);
}

fn ready_with_deals(deals: usize) -> (StandIn, Env) {
    let (s, env) = Env::seeded();
    s.set_deals(deals);
    s.set_work(Duration::from_millis(1));
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
    let (s, env) = ready_with_deals(2_000);
    // The first batch after the first page answers last: the ones after it run ahead.
    s.slow_request(2, Duration::from_millis(400));
    let run = b24auth(&env, &["call", "crm.deal.list", "--all", "select[]=ID"]);
    run.assert_ok();
    assert!(run.stdout == ids(2_000), "the 2,000 IDs in order");
    assert!(s.max_in_flight() > 1, "side by side: {}", s.max_in_flight());
    assert!(s.max_in_flight() <= 8, "at most --concurrency's default");
    // --concurrency bounds what is in flight.
    let (s, env) = ready_with_deals(2_000);
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
    let (s, env) = ready_with_deals(2_000);
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
    let (s, env) = ready_with_deals(120);
    s.slow_request(1, Duration::from_millis(400));
    let input: String = (0..300)
        .map(|i| format!("{}\n", json!({"method": "echo", "params": {"n": i}})))
        .collect();
    let out = Env::run_with_stdin(&mut env.cmd(&["batch"]), &input);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<Value> = out
        .stdout
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
    let (_s, env) = ready_with_deals(120);
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

#[test]
fn quiet_silences_the_operating_wait() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    s.set_operating(
        "crm.deal.list",
        480.0 - CALL_COST / 2.0,
        Duration::from_secs(2),
    );
    let run = env.run(&["call", "crm.deal.list", "--all", "--quiet"]);
    run.assert_ok();
    assert_eq!(run.stdout.lines().count(), 120);
    assert_eq!(s.counters().operation_time_limits, 0, "it did wait");
    assert_eq!(run.stderr, "", "nothing said under --quiet");
}

#[test]
fn an_absurd_operating_reset_neither_crashes_nor_persists() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    s.claim_time(479.0, 1e20);
    for _ in 0..2 {
        let run = env.run(&["call", "profile", "--result"]);
        run.assert_ok();
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert!(!run.stderr.contains("waiting"), "{}", run.stderr);
    }
}
