//! A refresh answer is read so that the rotated pair is never lost: what b24auth refuses in it
//! is left out and named, an answer too large or too deep to read gives up its tokens alone,
//! and an answer naming another portal is kept apart until the user accepts it.

use std::process::Stdio;

use serde_json::{json, Value};

use crate::support::cli::Env;
use crate::support::stand_in::StandIn;

/// The genuine rotated answer with `field` set to `value`.
fn with(field: &'static str, value: Value) -> impl FnOnce(Value) -> String + Send {
    move |mut answer| {
        answer[field] = value;
        answer.to_string()
    }
}

/// The stored refresh token is the one the stand-in rotated to, not the dead one.
fn assert_rotated_pair_kept(env: &Env, s: &StandIn, before: &Value) -> Value {
    let auth = env.auth();
    assert_ne!(auth["refresh_token"], before["refresh_token"]);
    let rt = auth["refresh_token"].as_str().unwrap();
    assert!(
        s.refresh_token_is_valid(rt),
        "the stored refresh token is the live one"
    );
    auth
}

#[test]
fn a_refused_field_is_left_out_named_and_the_pair_kept() {
    let s = StandIn::start();
    let env = Env::new();
    for (field, value) in [
        ("scope", json!("crm\u{1b}]0;owned\u{7}")),
        ("note", json!("line\nbreak")),
        (
            "client_endpoint",
            json!(format!("{}/portal/ rest/", s.base)),
        ),
    ] {
        let before = env.seed(&s, -10);
        s.answer_next_refresh(with(field, value));
        let run = Env::run_cmd(&mut env.app_cmd(&s, &["refresh"]));
        run.assert_ok();
        assert!(
            run.stderr.contains(&format!("`{field}`")) && run.stderr.contains("left out"),
            "{}",
            run.stderr
        );
        let auth = assert_rotated_pair_kept(&env, &s, &before);
        assert_eq!(
            auth.get(field),
            before.get(field),
            "the refused value is not stored"
        );
        assert!(s.access_token_is_valid(auth["access_token"].as_str().unwrap()));
        Env::run_cmd(&mut env.app_cmd(&s, &["refresh"])).assert_ok();
    }
}

#[test]
fn a_refused_access_token_leaves_the_refresh_token_kept() {
    let s = StandIn::start();
    let env = Env::new();
    let before = env.seed(&s, -10);
    s.answer_next_refresh(with("access_token", json!("a".repeat(3000))));
    let run = Env::run_cmd(&mut env.app_cmd(&s, &["refresh"]));
    let line = run.assert_error(1).to_string();
    assert!(line.contains("refresh token is saved"), "{line}");
    assert!(run.stderr.contains("`access_token`"), "{}", run.stderr);
    let auth = assert_rotated_pair_kept(&env, &s, &before);
    assert!(
        auth.get("access_token").is_none(),
        "a refused token is not stored"
    );
    // The next command gets an access token with the kept refresh token.
    let run = Env::run_cmd(&mut env.app_cmd(&s, &["token"]));
    run.assert_ok();
    assert!(s.access_token_is_valid(run.stdout.trim()));
}

#[test]
fn an_answer_too_large_or_too_deep_gives_up_its_tokens() {
    let s = StandIn::start();
    let env = Env::new();
    let rest = |answer: &Value| answer.to_string()[1..].to_string();
    let bodies: [Box<dyn Fn(Value) -> String + Send + Sync>; 2] = [
        Box::new(move |a| format!(r#"{{"padding":"{}",{}"#, "x".repeat(70_000), rest(&a))),
        Box::new(move |a| {
            let deep = "[".repeat(200) + &"]".repeat(200);
            format!(r#"{{"deep":{deep},{}"#, rest(&a))
        }),
    ];
    for body in bodies {
        let before = env.seed(&s, -10);
        s.answer_next_refresh(body);
        let run = Env::run_cmd(&mut env.app_cmd(&s, &["refresh"]));
        run.assert_ok();
        assert!(run.stderr.contains("only the tokens"), "{}", run.stderr);
        let auth = assert_rotated_pair_kept(&env, &s, &before);
        assert!(s.access_token_is_valid(auth["access_token"].as_str().unwrap()));
        // Nothing else of the answer was trusted: its access token counts as expired.
        let refreshes = s.counters().refreshes;
        Env::run_cmd(&mut env.app_cmd(&s, &["token"])).assert_ok();
        assert_eq!(s.counters().refreshes, refreshes + 1);
    }
}

#[test]
fn an_answer_naming_another_portal_is_kept_apart_until_accepted() {
    let s = StandIn::start();
    let env = Env::new();
    let cases = [
        (
            "client_endpoint",
            json!("http://evil.example/rest/"),
            "portal",
        ),
        ("member_id", json!("0000ffff0000ffff"), "member_id"),
        (
            "client_endpoint",
            json!(format!("https://{}/portal/rest/", s.host())),
            "scheme",
        ),
    ];
    for (field, value, named) in cases {
        let before = env.seed(&s, -10);
        s.answer_next_refresh(with(field, value.clone()));
        // Eight callers of an expired pair: one refresh decides, every one exits 3.
        let refreshes = s.counters().refreshes;
        let callers: Vec<_> = (0..8)
            .map(|_| {
                env.app_cmd(&s, &["token"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for caller in callers {
            let out = caller.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(3), "{err}");
            assert!(out.stdout.is_empty());
            assert!(
                err.contains(named) && err.contains("refresh --accept-change"),
                "{err}"
            );
        }
        assert_eq!(s.counters().refreshes, refreshes + 1);
        let auth = assert_rotated_pair_kept(&env, &s, &before);
        assert_eq!(auth[field], before[field], "the change is not applied");
        for args in [
            &["show"][..],
            &["call", "profile"],
            &["exec", "--", "true"],
            &["refresh"],
        ] {
            let line = Env::run_cmd(&mut env.app_cmd(&s, args))
                .assert_error(3)
                .to_string();
            assert!(line.contains("--accept-change"), "{args:?}: {line}");
        }
        assert_eq!(
            s.counters().refreshes,
            refreshes + 1,
            "no refresh after the decision"
        );
        Env::run_cmd(&mut env.app_cmd(&s, &["refresh", "--accept-change"])).assert_ok();
        let accepted = env.auth();
        assert_eq!(accepted[field], value);
        assert_eq!(accepted["refresh_token"], auth["refresh_token"]);
        // The kept pair is handed out as it is, without another refresh.
        let run = Env::run_cmd(&mut env.app_cmd(&s, &["token"]));
        run.assert_ok();
        assert_eq!(
            run.stdout.trim(),
            accepted["access_token"].as_str().unwrap()
        );
        assert_eq!(s.counters().refreshes, refreshes + 1);
    }
}

/// A refresh token b24auth cannot store in a profile (it breaks the rule for tokens) is still
/// the only live one: it is rescued to a private file, and the profile is left as it was.
#[test]
fn a_refresh_token_that_cannot_be_stored_is_rescued() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, -10);
    let before = env.auth_bytes();
    let odd = format!("{}\u{7f}", "r".repeat(40));
    s.answer_next_refresh(with("refresh_token", json!(odd.clone())));
    let tmp = env.tmp.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let run = Env::run_cmd(env.app_cmd(&s, &["refresh"]).env("TMPDIR", &tmp));
    let line = run.assert_error(1).to_string();
    assert!(
        line.contains("kept in") && line.contains("refresh_token"),
        "{line}"
    );
    let kept = std::fs::read_dir(&tmp)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("auth.json");
    assert_eq!(crate::support::cli::mode(&kept), 0o600);
    let rescued: Value = serde_json::from_slice(&std::fs::read(&kept).unwrap()).unwrap();
    assert_eq!(rescued["refresh_token"], odd.as_str());
    assert_eq!(
        env.auth_bytes(),
        before,
        "the profile holds no unstorable token"
    );
}

/// An unverified install callback whose proving refresh names another portal: one refresh
/// decides, later commands say why (exit 3) without refreshing again, and accepting the
/// trusted server's word proves the pair for the portal it named.
#[test]
fn a_contradicted_unverified_pair_is_refreshed_once() {
    let s = StandIn::start();
    let env = Env::new();
    let mut doc = env.seed(&s, 3600);
    doc["client_endpoint"] = "https://claimed.example/rest/".into();
    doc["domain"] = "claimed.example".into();
    doc["application_token"] = "51856fefc120afa4b628cc82d3935cce".into();
    doc["b24auth"]["unverified"] = true.into();
    env.write_auth(&serde_json::to_vec(&doc).unwrap());
    let line = Env::run_cmd(&mut env.app_cmd(&s, &["token"]))
        .assert_error(3)
        .to_string();
    assert!(
        line.contains("claimed.example") && line.contains("--accept-change"),
        "{line}"
    );
    let refreshes = s.counters().refreshes;
    assert_eq!(refreshes, 1);
    let callers: Vec<_> = (0..8)
        .map(|_| {
            env.app_cmd(&s, &["token"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut caller in callers {
        assert_eq!(caller.wait().unwrap().code(), Some(3));
    }
    assert_eq!(s.counters().refreshes, refreshes, "no refresh per command");
    assert_eq!(
        env.auth()["client_endpoint"],
        "https://claimed.example/rest/"
    );
    Env::run_cmd(&mut env.app_cmd(&s, &["refresh", "--accept-change"])).assert_ok();
    let accepted = env.auth();
    assert_eq!(
        accepted["client_endpoint"],
        format!("{}/portal/rest/", s.base)
    );
    assert!(
        accepted["b24auth"].get("unverified").is_none(),
        "{accepted}"
    );
    assert!(accepted.get("application_token").is_none());
    Env::run_cmd(&mut env.app_cmd(&s, &["call", "user.current"])).assert_ok();
}

/// `import` of an expired file: the file's portal is only its claim, so the identity the
/// trusted server's refresh names is the one saved, not kept apart.
#[test]
fn an_imported_expired_pair_takes_the_identity_its_refresh_names() {
    let s = StandIn::start();
    let env = Env::new();
    let mut doc = s.issue_pair();
    doc["expires"] = 1.into();
    doc["client_endpoint"] = "https://old-name.example/rest/".into();
    let file = env.tmp.path().join("php-auth.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    Env::run_cmd(&mut env.app_cmd(&s, &["import", "--no-verify", file.to_str().unwrap()]))
        .assert_ok();
    let stored = env.auth();
    assert_eq!(
        stored["client_endpoint"],
        format!("{}/portal/rest/", s.base)
    );
    assert!(stored["b24auth"].get("contradicted").is_none(), "{stored}");
    Env::run_cmd(&mut env.app_cmd(&s, &["token"])).assert_ok();
}

/// The install callback's proving refresh reads its answer the same way: the rotated pair is
/// kept (proven when the answer still names the portal, else as the candidate), never the
/// callback's dead one.
#[test]
fn the_proving_refresh_of_an_install_keeps_the_rotated_pair() {
    let writers: [Box<dyn FnOnce(Value) -> String + Send>; 2] = [
        Box::new(with("scope", json!("crm\u{1b}[2J"))),
        Box::new(|a: Value| {
            let deep = "[".repeat(200) + &"]".repeat(200);
            format!(r#"{{"deep":{deep},{}"#, &a.to_string()[1..])
        }),
    ];
    for (n, write) in writers.into_iter().enumerate() {
        let s = StandIn::start();
        s.app_info_without_identity();
        let env = Env::new();
        let path = crate::support::callbacks::INSTALL_PATH;
        let (p, addr) = env.listen(&mut env.install_listen(&s, true, path, &["--timeout", "2s"]));
        let pair = s.issue_pair();
        s.answer_next_refresh(write);
        let body = crate::support::callbacks::install_callback(&pair, &s.base);
        let form = "application/x-www-form-urlencoded";
        let r = crate::support::http::post(&addr, path, form, body.as_bytes());
        assert_eq!(r.status, 200, "{r:?}");
        p.finish().assert_ok();
        assert_eq!(s.counters().refreshes, 1);
        // Proven when the answer still names the portal; else kept as a candidate, rotated.
        let stored: Value = match n {
            0 => env.auth(),
            _ => {
                assert!(
                    !env.auth_path().exists(),
                    "only the tokens were read: no proof"
                );
                let dir = env.dir.join("auth.candidates");
                let mut kept = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path());
                let file = kept.find(|p| p.extension().is_some_and(|e| e == "json"));
                serde_json::from_slice(&std::fs::read(file.unwrap()).unwrap()).unwrap()
            }
        };
        assert_ne!(stored["refresh_token"], pair["refresh_token"], "case {n}");
        let rt = stored["refresh_token"].as_str().unwrap();
        assert!(
            s.refresh_token_is_valid(rt),
            "case {n}: the live pair is saved"
        );
    }
}
