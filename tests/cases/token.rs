//! `b24auth token`: the fresh path is one read with no async runtime, no signal handlers, no
//! lock and no network; `--rejected` refreshes once for many clients. (The behaviours every store
//! shares — fresh, `--min-ttl`, 32 racing processes — run per store in `stores.rs`.)

use std::process::{Command, Stdio};

use crate::support::cli::{Env, BIN};
use crate::support::stand_in::StandIn;

#[test]
fn sixteen_clients_rejecting_one_token_cause_one_refresh() {
    let s = StandIn::start();
    let env = Env::new();
    let doc = env.seed(&s, 3600);
    let dead = doc["access_token"].as_str().unwrap().to_string();
    // The portal refuses the token although b24auth's clock says it has an hour left.
    s.expire_access_tokens();
    let children: Vec<_> = (0..16)
        .map(|i| {
            let mut c = if i % 2 == 0 {
                env.cmd(&["token", "--rejected", &dead])
            } else {
                env.cmd(&["token", "--rejected", "-"])
            };
            c.stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = c.spawn().unwrap();
            let mut stdin = child.stdin.take().unwrap();
            if i % 2 == 1 {
                std::io::Write::write_all(&mut stdin, format!("{dead}\n").as_bytes()).unwrap();
            }
            drop(stdin);
            child
        })
        .collect();
    let outputs: Vec<String> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{err}");
            String::from_utf8(out.stdout).unwrap()
        })
        .collect();
    assert_eq!(
        s.counters().refreshes,
        1,
        "one refresh for sixteen rejections"
    );
    let stored = env.auth()["access_token"].as_str().unwrap().to_string();
    assert_ne!(stored, dead);
    assert!(s.access_token_is_valid(&stored));
    for out in outputs {
        assert_eq!(
            out,
            format!("{stored}\n"),
            "every client gets the new token"
        );
    }
    // A late client rejecting the same dead token gets the stored one, with no refresh.
    let late = env.run(&["token", "--rejected", &dead]);
    assert_eq!(late.assert_ok().stdout, format!("{stored}\n"));
    assert_eq!(s.counters().refreshes, 1);
    let empty = env.run(&["token", "--rejected", "-"]);
    assert!(
        empty.assert_error(2).contains("--rejected"),
        "{}",
        empty.stderr
    );
}

/// What `strace` saw a fresh `token` do: the system calls a runtime, a signal handler, a lock
/// or a connection would make.
fn traced_token(env: &Env, args: &[&str]) -> (String, String) {
    let mut c = Command::new("strace");
    c.args([
        "-f",
        "-qq",
        "-e",
        "trace=epoll_create1,rt_sigaction,flock,connect,clone,clone3",
    ])
    .arg(BIN)
    .args(args)
    .stdin(Stdio::null());
    // The environment `Env::cmd` gives b24auth: its config dir, none of the developer's own.
    for (k, v) in env.cmd(&[]).get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    let out = c
        .output()
        .expect("strace is needed for this test: run scripts/install-test-deps");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_fresh_token_starts_no_runtime_no_handler_no_lock_no_network() {
    let s = StandIn::start();
    let env = Env::new();
    let doc = env.seed(&s, 3600);
    for args in [
        &["token"][..],
        &["token", "--min-ttl", "120", "--profile", "default"],
    ] {
        let (stdout, trace) = traced_token(&env, args);
        assert_eq!(stdout.trim(), doc["access_token"].as_str().unwrap());
        for call in ["epoll_create1", "flock", "connect", "clone"] {
            assert!(!trace.contains(call), "{args:?}: {call} in\n{trace}");
        }
        // The Rust runtime's own SIGSEGV/SIGBUS/SIGPIPE set-up, and nothing of b24auth's.
        for signal in ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT"] {
            assert!(!trace.contains(signal), "{args:?}: {signal} in\n{trace}");
        }
    }
    assert_eq!(s.counters().token_calls, 0);
    // The same trace sees them on the path that refreshes: the test can fail.
    let stale = Env::new();
    stale.seed(&s, 30);
    let (_, trace) = traced_token(&stale, &["token"]);
    assert!(
        trace.contains("epoll_create1") && trace.contains("SIGTERM"),
        "{trace}"
    );
    assert_eq!(s.counters().refreshes, 1);
}
