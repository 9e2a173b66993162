//! One budget per portal per host (issue 22): every b24auth process calling one portal shares
//! its bucket through `<config-dir>/budget/<portal>.json`, under an OS lock that a dead holder
//! does not keep, in a file under the profiles' rules.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::cli::Env;
use crate::support::stand_in::StandIn;

fn ready() -> (StandIn, Env) {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    (s, env)
}

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
    let (s, env) = ready();
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
    let (s, env) = ready();
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
    let (s, env) = ready();
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
    let (s, env) = ready();
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
    let (s, env) = ready();
    s.set_license_family("ent");
    env.run(&["call", "crm.deal.list", "--all", "--plan", "standard"])
        .assert_ok();
    assert_eq!(s.counters().app_info_portal, 0);
}
