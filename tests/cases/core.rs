//! The core: `refresh`, `token`, `show`, the file store's promises, completions.

use std::process::Stdio;

use crate::support::cli::{mode, Env, BIN};
use crate::support::stand_in::{Fault, StandIn, CLIENT_SECRET};

#[test]
fn refresh_rotates_the_pair_and_keeps_modes() {
    let s = StandIn::start();
    let env = Env::new();
    let old = env.seed(&s, 3600);
    let mut auth = env.auth();
    auth["brand_new_field"] = "kept".into();
    auth["application_token"] = "app-token-123".into();
    env.write_auth(&serde_json::to_vec(&auth).unwrap());

    let run = env.run(&["refresh"]);
    run.assert_ok();
    assert!(
        run.stdout.is_empty(),
        "refresh prints nothing on stdout without --json"
    );
    let new = env.auth();
    let old_rt = old["refresh_token"].as_str().unwrap();
    assert_ne!(new["refresh_token"], old["refresh_token"]);
    assert_ne!(new["access_token"], old["access_token"]);
    assert!(
        !s.refresh_token_is_valid(old_rt),
        "the used refresh token is dead"
    );
    assert!(s.refresh_token_is_valid(new["refresh_token"].as_str().unwrap()));
    assert_eq!(new["brand_new_field"], "kept");
    assert_eq!(new["application_token"], "app-token-123");
    assert_eq!(new["b24auth"]["source"], "refresh");
    assert_eq!(mode(&env.auth_path()), 0o600);
    assert_eq!(mode(&env.dir), 0o700);

    let second = env.run(&["refresh", "--json"]);
    second.assert_ok();
    let printed: serde_json::Value = serde_json::from_str(&second.stdout).unwrap();
    assert_eq!(printed, env.auth());
    assert_ne!(printed["refresh_token"], new["refresh_token"]);
    assert_eq!(s.counters().refreshes, 2);
}

#[test]
fn refresh_if_older_than_skips_a_young_token() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    let before = env.auth_bytes();
    env.run(&["refresh", "--if-older-than", "1d"]).assert_ok();
    assert_eq!(s.counters().token_calls, 0);
    assert_eq!(env.auth_bytes(), before);
    env.run(&["refresh", "--if-older-than", "0s"]).assert_ok();
    assert_eq!(s.counters().refreshes, 1);
}

#[test]
fn fresh_token_is_printed_without_calling_the_server() {
    let s = StandIn::start();
    let env = Env::new();
    let doc = env.seed(&s, 3600);
    let run = env.run(&["token"]);
    run.assert_ok();
    assert_eq!(
        run.stdout,
        format!("{}\n", doc["access_token"].as_str().unwrap())
    );
    assert!(run.stderr.is_empty());
    assert_eq!(s.counters(), Default::default());
}

#[test]
fn token_refreshes_within_min_ttl() {
    let s = StandIn::start();
    let env = Env::new();
    let doc = env.seed(&s, 30);
    let run = env.run(&["token", "--min-ttl", "60"]);
    run.assert_ok();
    assert_ne!(run.stdout.trim(), doc["access_token"].as_str().unwrap());
    assert_eq!(
        run.stdout.trim(),
        env.auth()["access_token"].as_str().unwrap()
    );
    assert_eq!(s.counters().refreshes, 1);
}

#[test]
fn thirty_two_token_processes_cause_one_refresh() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, -10);
    let children: Vec<_> = (0..32)
        .map(|_| {
            env.cmd(&["token"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for out in &outputs {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let first = &outputs[0].stdout;
    assert!(
        outputs.iter().all(|o| &o.stdout == first),
        "all print the same token"
    );
    assert_eq!(
        String::from_utf8_lossy(first).trim(),
        env.auth()["access_token"].as_str().unwrap()
    );
    assert_eq!(s.counters().refreshes, 1);
}

fn assert_fault_leaves_file(fault: Option<Fault>, expect_code: i32, expect_text: &str) {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, -10);
    let before = env.auth_bytes();
    let mut server = s.base.clone();
    match fault {
        Some(f) => s.fail_next(f),
        None => {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            server = format!("http://{}", l.local_addr().unwrap());
        }
    }
    for args in [["refresh"], ["token"]] {
        let run = Env::run_cmd(env.cmd(&args).env("B24AUTH_OAUTH_SERVER", &server));
        let line = run.assert_error(expect_code).to_string();
        assert!(line.contains(expect_text), "{fault:?}: {line}");
        assert!(!line.contains(CLIENT_SECRET));
        assert_eq!(
            env.auth_bytes(),
            before,
            "{fault:?}: the file is byte-for-byte unchanged"
        );
        if let Some(f) = fault {
            s.fail_next(f);
        }
    }
}

#[test]
fn server_faults_exit_1_and_leave_the_file() {
    assert_fault_leaves_file(Some(Fault::Http500Html), 1, "HTTP 500");
    assert_fault_leaves_file(Some(Fault::InvalidJson), 1, "not JSON");
    assert_fault_leaves_file(None, 1, "cannot reach");
}

#[test]
fn a_hanging_server_times_out() {
    assert_fault_leaves_file(Some(Fault::Hang), 1, "cannot reach");
}

#[test]
fn invalid_grant_asks_for_authorize() {
    assert_fault_leaves_file(Some(Fault::InvalidGrant), 3, "b24auth authorize");
}

#[test]
fn damaged_files_are_refused_untouched() {
    let s = StandIn::start();
    let cases: [(&str, &[u8]); 4] = [
        ("not valid JSON", b"{\"access_token\": \"abc"),
        ("empty", b""),
        ("`refresh_token` is missing", b"{\"access_token\":\"abc\"}"),
        ("not a JSON object", b"[]"),
    ];
    for (expect, bytes) in cases {
        let env = Env::new();
        env.write_auth(bytes);
        for args in [&["token"][..], &["refresh"], &["show"]] {
            let line = env.run(args).assert_error(1).to_string();
            assert!(
                line.contains(expect) && line.contains("auth.json"),
                "{line}"
            );
            assert_eq!(env.auth_bytes(), bytes);
        }
    }
    assert_eq!(s.counters(), Default::default());
}

#[test]
fn a_group_readable_file_is_refused_with_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    let before = env.auth_bytes();
    std::fs::set_permissions(env.auth_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    for args in [&["token"][..], &["refresh"], &["show"]] {
        let line = env.run(args).assert_error(1).to_string();
        assert!(line.contains("chmod 600"), "{line}");
    }
    assert_eq!(env.auth_bytes(), before);
    assert_eq!(mode(&env.auth_path()), 0o644);
}

#[test]
fn nothing_stored_exits_3() {
    let env = Env::new();
    for args in [&["token"][..], &["refresh"], &["show"], &["show", "--json"]] {
        let line = env.run(args).assert_error(3).to_string();
        assert!(line.contains("b24auth authorize"), "{line}");
    }
    let path = env.run(&["show", "--path"]);
    path.assert_ok();
    assert_eq!(path.stdout.trim(), env.auth_path().to_str().unwrap());
    let named = env.run(&["--profile", "prod", "show", "--path"]);
    assert!(named.stdout.trim().ends_with("/profiles/prod.json"));
}

#[test]
fn show_masks_secrets_unless_asked() {
    let s = StandIn::start();
    let env = Env::new();
    let doc = env.seed(&s, 3600);
    let at = doc["access_token"].as_str().unwrap();
    let rt = doc["refresh_token"].as_str().unwrap();

    let human = env.run(&["show"]);
    human.assert_ok();
    for secret in [at, rt, CLIENT_SECRET] {
        assert!(!human.stdout.contains(secret) && !human.stderr.contains(secret));
    }
    assert!(human.stdout.contains(&at[..4]) && human.stdout.contains(&s.host()));
    assert!(human.stdout.contains("expires") && human.stdout.contains(" (in "));

    let revealed = env.run(&["show", "--reveal"]);
    assert!(revealed.stdout.contains(at) && revealed.stdout.contains(rt));

    let json = env.run(&["show", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v, env.auth());

    let field = env.run(&["show", "--field", "access_token"]);
    assert_eq!(field.stdout, format!("{at}\n"));
    let portal = env.run(&["show", "--field", "portal"]);
    assert_eq!(portal.stdout.trim(), s.host());
    let user = env.run(&["show", "--field", "user_id"]);
    assert_eq!(user.stdout.trim(), "1");
    env.run(&["show", "--field", "no_such_field"])
        .assert_error(1);
}

#[test]
fn missing_client_secret_without_terminal_is_a_usage_error() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, -10);
    let mut auth = env.auth();
    auth.as_object_mut().unwrap().remove("client_secret");
    env.write_auth(&serde_json::to_vec(&auth).unwrap());
    let before = env.auth_bytes();
    let line = env.run(&["token"]).assert_error(2).to_string();
    assert!(line.contains("B24AUTH_CLIENT_SECRET"), "{line}");
    assert_eq!(env.auth_bytes(), before);
    assert_eq!(s.counters().token_calls, 0);

    // The secret from the environment works, is stored, and is never echoed.
    let mut cmd = env.cmd(&["refresh"]);
    cmd.env("B24AUTH_CLIENT_SECRET", CLIENT_SECRET);
    let run = Env::run_cmd(&mut cmd);
    run.assert_ok();
    assert!(!run.stderr.contains(CLIENT_SECRET));
    assert_eq!(env.auth()["client_secret"], CLIENT_SECRET);
}

#[test]
fn bad_values_are_usage_errors() {
    let env = Env::new();
    assert_eq!(env.run(&["--profile", "../x", "show"]).code, 2);
    assert_eq!(env.run(&["refresh", "--if-older-than", "soon"]).code, 2);
    assert_eq!(env.run(&["--store", "redis://x", "show"]).code, 2);
}

#[test]
fn named_profiles_live_under_profiles() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    std::fs::create_dir_all(env.dir.join("profiles")).unwrap();
    std::fs::rename(env.auth_path(), env.dir.join("profiles/prod.json")).unwrap();
    env.run(&["--profile", "prod", "refresh"]).assert_ok();
    assert_eq!(mode(&env.dir.join("profiles/prod.json")), 0o600);
    assert!(!env.auth_path().exists());
}

#[test]
fn committed_completions_match_the_binary() {
    let files = [
        ("bash", "b24auth.bash"),
        ("zsh", "_b24auth"),
        ("fish", "b24auth.fish"),
        ("powershell", "_b24auth.ps1"),
        ("elvish", "b24auth.elv"),
    ];
    for (shell, file) in files {
        let out = std::process::Command::new(BIN)
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/completions/").to_string() + file;
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == out.stdout,
            "{path} differs from `b24auth completions {shell}`: regenerate it"
        );
    }
    let man = std::process::Command::new(BIN).arg("man").output().unwrap();
    assert!(String::from_utf8_lossy(&man.stdout).contains(".TH b24auth"));
}
