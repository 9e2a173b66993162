//! Documentation people open: the man pages in `man/` are exactly what the binary writes.

use crate::support::cli::{Env, BIN};

#[test]
fn committed_man_pages_match_the_binary() {
    let env = Env::new();
    let dir = env.tmp.path().join("man");
    let run = env.run(&["man", "--dir", dir.to_str().unwrap()]);
    run.assert_ok();
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let names = |d: &std::path::Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .map(|r| {
                r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    assert_eq!(
        names(&dir),
        names(&committed),
        "man/ lists other pages than `b24auth man --dir`: run scripts/gen-man"
    );
    for name in names(&dir) {
        assert!(
            std::fs::read(dir.join(&name)).unwrap()
                == std::fs::read(committed.join(&name)).unwrap(),
            "man/{name} differs from `b24auth man --dir`: run scripts/gen-man"
        );
    }
    let stdout = std::process::Command::new(BIN).arg("man").output().unwrap();
    assert_eq!(
        stdout.stdout,
        std::fs::read(committed.join("b24auth.1")).unwrap()
    );
    let main = String::from_utf8(stdout.stdout).unwrap();
    for section in [
        ".SH \"EXIT STATUS\"",
        ".SH ENVIRONMENT",
        ".SH FILES",
        ".SH EXAMPLES",
    ] {
        assert!(main.contains(section), "{section}");
    }
    assert!(names(&dir).contains(&"b24auth-authorize.1".to_string()));
}

/// `-v` / `B24AUTH_LOG=debug` over a whole authorize + refresh + call run: a line per HTTP
/// exchange and per retry, and not one of the secrets the stand-in issued.
#[test]
fn the_debug_log_shows_every_exchange_and_no_secret() {
    use super::messages::Flow;
    use crate::support::http;
    let f = Flow::new();
    let (p, url) = f.start(&mut f.cmd(&["-v"]));
    http::follow(&url);
    let authorize = p.finish();
    authorize.assert_ok();
    let mut refresh = f.env.app_cmd(&f.s, &["refresh"]);
    refresh.env("B24AUTH_LOG", "debug");
    let refresh = Env::run_cmd(&mut refresh);
    refresh.assert_ok();
    f.s.expire_access_tokens();
    let call = Env::run_cmd(&mut f.env.app_cmd(&f.s, &["--verbose", "call", "user.current"]));
    call.assert_ok();
    let token = format!("POST {}/oauth/token/ -> 200, ", f.s.base);
    assert!(authorize.stderr.contains(&token), "{}", authorize.stderr);
    assert!(refresh.stderr.contains(&token), "{}", refresh.stderr);
    let rest = format!("POST {}/portal/rest/user.current -> 401, ", f.s.base);
    assert!(call.stderr.contains(&rest), "{}", call.stderr);
    assert!(call
        .stderr
        .contains("user.current: expired_token; refreshing, then retrying once"));
    assert!(call.stderr.contains(&token));
    assert!(call.stderr.contains(" ms\n") && call.stderr.contains(" bytes, "));
    let all = [&authorize.stderr, &refresh.stderr, &call.stderr];
    let secrets = f.s.issued_secrets();
    assert!(
        secrets.len() >= 7,
        "a code, three pairs and the client secret"
    );
    for secret in &secrets {
        for log in all {
            assert!(
                !log.contains(secret.as_str()),
                "a secret in the log:\n{log}"
            );
        }
    }
    // Without the switch, no log at all.
    let quiet = Env::run_cmd(&mut f.env.app_cmd(&f.s, &["call", "user.current"]));
    assert!(!quiet.stderr.contains("POST "), "{}", quiet.stderr);
}

/// A test whose tool (PostgreSQL, pgbouncer, Chromium) is missing says so in one line and
/// passes on a developer's machine, and fails in CI.
#[test]
fn a_missing_test_tool_skips_loudly_and_fails_in_ci() {
    use crate::support::deps::{decide, Dep};
    assert_eq!(decide(Dep::Postgres, true, true, "t"), Ok(true));
    assert_eq!(decide(Dep::Chromium, false, false, "t"), Ok(false));
    let e = decide(Dep::Pgbouncer, false, true, "pgbouncer::x").unwrap_err();
    assert!(
        e.starts_with(
            "SKIPPED pgbouncer::x: pgbouncer not found (install with scripts/install-test-deps)"
        ),
        "{e}"
    );
}

/// No skip hides behind `eprintln!`, which the harness captures: skips go through
/// `support::deps`, whose line reaches the terminal.
#[test]
fn no_test_skips_silently() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace(char::is_whitespace, "");
        assert!(
            !text.contains("eprintln!(\"SKIPPED"),
            "{} skips with eprintln!: use crate::support::deps",
            path.display()
        );
    }
}
