//! After authorization: `call`, `exec`, `list`, `forget`, `show --check`.

use std::process::Stdio;

use serde_json::{json, Value};

use crate::support::cli::{json_lines, Env};
use crate::support::stand_in::{Endpoint, Fault, StandIn, When, LEADS, MEMBER_ID};

#[test]
fn call_refreshes_once_on_expired_token_and_repeats() {
    let s = StandIn::start();
    let env = Env::new();
    let before = env.seed(&s, 3600);
    s.expire_access_tokens(); // the file still says fresh; the portal says expired
    let run = env.run(&["call", "user.current", "--result"]);
    run.assert_ok();
    assert_eq!(
        serde_json::from_str::<Value>(&run.stdout).unwrap(),
        json!({"ID": "1", "NAME": "Stand", "LAST_NAME": "In"})
    );
    assert_eq!(s.counters().refreshes, 1);
    assert_eq!(s.counters().rest_calls, 2, "the call, then its one repeat");
    assert_ne!(env.auth()["access_token"], before["access_token"]);
}

#[test]
fn eight_concurrent_calls_share_one_refresh() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    s.expire_access_tokens();
    let children: Vec<_> = (0..8)
        .map(|_| {
            env.cmd(&["call", "user.current"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["result"]["ID"], "1");
    }
    assert_eq!(s.counters().refreshes, 1);
}

#[test]
fn all_pages_arrive_once_in_order_through_a_503() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    s.fail(Endpoint::Rest, When::Request(2), Fault::QUERY_LIMIT); // the second page meets the rate limit once
    let run = env.run(&[
        "call",
        "crm.lead.list",
        "--all",
        "select[]=ID",
        "select[]=TITLE",
    ]);
    run.assert_ok();
    let ids: Vec<String> = json_lines(&run.stdout)
        .iter()
        .map(|v| v["ID"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = (1..=LEADS).map(|i| i.to_string()).collect();
    assert_eq!(ids, expected);
    assert_eq!(
        s.counters().rest_calls,
        3,
        "the first page, then one batch of the other two, retried once"
    );
    let log = s.rest_log();
    assert_eq!(log[0].2, json!({"select": ["ID", "TITLE"]}));
    assert_eq!((log[1].0.as_str(), log[2].0.as_str()), ("batch", "batch"));
    assert_eq!(
        log[2].2["cmd"],
        json!({"cmd0": "crm.lead.list?select[0]=ID&select[1]=TITLE&start=50",
               "cmd1": "crm.lead.list?select[0]=ID&select[1]=TITLE&start=100"})
    );

    let array = env.run(&["call", "crm.lead.list", "--all", "--array"]);
    let items: Vec<Value> = serde_json::from_str(&array.stdout).unwrap();
    assert_eq!(items.len(), LEADS);
}

#[test]
fn a_renamed_portal_gets_the_same_post_and_is_remembered() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    // Same scheme, host and port: the one rename a loopback test can show (another port is
    // refused: see trust.rs).
    let new_base = format!("{}/renamed", s.base);
    s.fail(
        Endpoint::Rest,
        When::Request(1),
        Fault::MovedTo(new_base.clone()),
    );
    let run = env.run(&[
        "call",
        "echo",
        "fields[TITLE]=Deal #1",
        "fields[OPPORTUNITY]:=1500",
        "select[]=ID",
    ]);
    run.assert_ok();
    let expected = json!({"fields": {"TITLE": "Deal #1", "OPPORTUNITY": 1500}, "select": ["ID"]});
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["result"], expected);
    let log = s.rest_log();
    let new_host = s.host();
    let new_host = new_host.as_str();
    assert_eq!(
        (log[1].1.as_str(), &log[1].2),
        (new_host, &expected),
        "the POST body arrived intact at the new address"
    );
    // Only the host of `Location` counts, as both official SDKs take it.
    assert_eq!(env.auth()["client_endpoint"], format!("{}/rest/", s.base));
    assert!(run.stderr.contains("moved"));
}

#[test]
fn bitrix24_errors_are_one_line_and_exit_1() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    let line = env
        .run(&["call", "crm.deal.fail"])
        .assert_error(1)
        .to_string();
    assert_eq!(
        line,
        "b24auth: error: ERROR_CORE: Something went wrong in the portal"
    );
    s.revoke_all();
    let line = env
        .run(&["call", "user.current"])
        .assert_error(3)
        .to_string();
    assert!(line.contains("b24auth authorize"), "{line}");
    assert_eq!(env.run(&["call", "../etc"]).code, 2);
    assert_eq!(env.run(&["call", "user.current", "novalue"]).code, 2);
}

#[test]
fn data_comes_from_an_argument_a_file_or_stdin() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    let file = env.tmp.path().join("params.json");
    std::fs::write(&file, r#"{"filter":{"ID":7}}"#).unwrap();
    let from_file = env.run(&[
        "call",
        "echo",
        "--result",
        "--data",
        &format!("@{}", file.display()),
    ]);
    assert_eq!(
        serde_json::from_str::<Value>(&from_file.stdout).unwrap(),
        json!({"filter": {"ID": 7}})
    );
    let mut cmd = env.cmd(&["call", "echo", "--result", "--data", "@-", "extra=1"]);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), br#"{"a":[1,2]}"#).unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        json!({"a": [1, 2], "extra": "1"})
    );
    assert_eq!(env.run(&["call", "echo", "--data", "[1]"]).code, 2);
}

#[test]
fn exec_passes_the_variables_and_the_status() {
    let s = StandIn::start();
    let env = Env::new();
    let doc = env.seed(&s, 3600);
    let run = env.run(&[
        "exec",
        "--",
        "sh",
        "-c",
        "echo \"$B24_ACCESS_TOKEN $B24_CLIENT_ENDPOINT $B24_MEMBER_ID\"; exit 7",
    ]);
    assert_eq!(run.code, 7);
    assert_eq!(
        run.stdout.trim(),
        format!(
            "{} {} {MEMBER_ID}",
            doc["access_token"].as_str().unwrap(),
            doc["client_endpoint"].as_str().unwrap()
        )
    );
    // An expiring token is refreshed before CMD starts.
    env.seed(&s, 10);
    let fresh = env.run(&["exec", "sh", "-c", "echo $B24_ACCESS_TOKEN"]);
    fresh.assert_ok();
    assert_eq!(
        fresh.stdout.trim(),
        env.auth()["access_token"].as_str().unwrap()
    );
}

#[test]
fn forget_removes_the_file_and_the_lock() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    env.run(&["refresh"]).assert_ok(); // leaves auth.json.lock behind
    let lock = env.dir.join("auth.json.lock");
    assert!(lock.exists());
    let before = env.auth_bytes();
    let line = env.run(&["forget"]).assert_error(2).to_string();
    assert!(line.contains("--yes"), "{line}");
    assert_eq!(env.auth_bytes(), before);
    env.run(&["forget", "--yes"]).assert_ok();
    assert!(!env.auth_path().exists() && !lock.exists());
    env.run(&["forget", "--yes"]).assert_error(3);
}

/// A profile holding only install candidates (no profile file): `list` names it though another
/// profile is selected, and `forget --yes` removes the candidates, saying how many.
#[test]
fn forget_removes_the_candidates_and_list_finds_every_profile_holding_some() {
    use crate::support::callbacks::{install_callback, post_install, INSTALL_PATH};
    let s = StandIn::start();
    s.app_info_without_identity();
    let env = Env::new();
    env.seed(&s, 3600);
    let args = ["--timeout", "2s", "--profile", "shop"];
    let (p, addr) = env.listen(&mut env.install_listen(&s, false, INSTALL_PATH, &args));
    let r = post_install(&addr, &install_callback(&s.issue_pair(), &s.base));
    assert_eq!(r.status, 200, "{r:?}");
    p.finish().assert_ok();
    let kept = env.dir.join("profiles/shop.candidates");
    // The candidates themselves (the folder also holds the lock that bounds them).
    let count = || {
        let json = |e: &std::io::Result<std::fs::DirEntry>| {
            let path = e.as_ref().unwrap().path();
            path.extension().is_some_and(|x| x == "json")
        };
        std::fs::read_dir(&kept).unwrap().filter(json).count()
    };
    assert_eq!(count(), 1);

    let listed = env.run(&["list"]);
    listed.assert_ok();
    assert!(
        listed
            .stdout
            .lines()
            .any(|l| l.starts_with("shop\t") && l.contains("candidate")),
        "{}",
        listed.stdout
    );
    let rows: Value = serde_json::from_str(&env.run(&["list", "--json"]).stdout).unwrap();
    let names: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["profile"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "shop"], "{rows}");
    assert_eq!(rows[1]["candidate"], true, "{rows}");

    let forget = env.run(&["--profile", "shop", "forget", "--yes"]);
    forget.assert_ok();
    assert!(
        forget.stderr.contains("1 install candidate(s)"),
        "{}",
        forget.stderr
    );
    assert_eq!(count(), 0, "the candidate is gone");
    assert!(env.auth_path().exists(), "the other profile stays");
    let rows: Value = serde_json::from_str(&env.run(&["list", "--json"]).stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    env.run(&["--profile", "shop", "forget", "--yes"])
        .assert_error(3);
}

#[test]
fn list_shows_zero_one_and_three_profiles() {
    let s = StandIn::start();
    let env = Env::new();
    let empty = env.run(&["list"]);
    empty.assert_ok();
    assert_eq!(empty.stdout, "");
    assert_eq!(env.run(&["list", "--json"]).stdout.trim(), "[]");

    let doc = env.seed(&s, 3600);
    let one = env.run(&["list"]);
    assert_eq!(one.stdout.lines().count(), 1);
    assert!(
        one.stdout.starts_with("default\t")
            && one.stdout.contains(&s.host())
            && one.stdout.contains(MEMBER_ID)
    );
    assert!(!one.stdout.contains(doc["access_token"].as_str().unwrap()));

    std::fs::create_dir_all(env.dir.join("profiles")).unwrap();
    for name in ["prod", "staging"] {
        std::fs::copy(
            env.auth_path(),
            env.dir.join(format!("profiles/{name}.json")),
        )
        .unwrap();
    }
    let three = env.run(&["list", "--json"]);
    let rows: Vec<Value> = serde_json::from_str(&three.stdout).unwrap();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["profile"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "prod", "staging"]);
    assert_eq!(rows[1]["portal"], s.host());
    assert!(!three
        .stdout
        .contains(doc["refresh_token"].as_str().unwrap()));
}

#[test]
fn show_check_tells_works_reauthorize_and_cannot_tell() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    let works = env.run(&["show", "--check"]);
    works.assert_ok();
    assert!(
        works.stdout.starts_with("works: portal"),
        "{}",
        works.stdout
    );
    assert!(works.stdout.contains("crm,user"));

    let mut down = env.cmd(&["show", "--check"]);
    down.env(
        "B24AUTH_OAUTH_SERVER",
        format!("http://127.0.0.1:{}", crate::support::http::free_port()),
    );
    Env::run_cmd(&mut down).assert_error(1);

    s.revoke_all();
    env.run(&["show", "--check"]).assert_error(3);
}
