//! The core on the file store: damaged and insecure files, `show`, named profiles,
//! completions. What every store promises is in `stores.rs`.

use crate::support::cli::{mode, Env, BIN};
use crate::support::stand_in::{StandIn, CLIENT_SECRET};

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
fn named_profiles_have_their_own_path() {
    let env = Env::new();
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
