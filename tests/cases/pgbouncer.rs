//! The PostgreSQL store through a real pgbouncer in transaction pooling (pool of 3): every
//! transaction may get another server connection, so nothing may rest on session state
//! (named prepared statements, session advisory locks, `SET`s) — and single-flight still holds.

use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use crate::support::cli::Env;
use crate::support::pgbouncer::Bouncer;
use crate::support::postgres::{db_of, shared};
use crate::support::stand_in::StandIn;

/// The pgbouncer these tests share, in front of the shared cluster.
fn bouncer() -> &'static Bouncer {
    static B: OnceLock<Bouncer> = OnceLock::new();
    B.get_or_init(|| Bouncer::start(shared(), 3))
}

/// A fresh database holding a pair seeded against `s` (expired: `expires_in` < 0), and its
/// URL through pgbouncer.
fn seeded(s: &StandIn, expires_in: i64) -> String {
    let env = Env::new();
    let direct = shared().database();
    env.seed(s, expires_in);
    Env::run_cmd(&mut env.cmd(&["store", "copy", "--from", "file", "--to", &direct])).assert_ok();
    bouncer().url(db_of(&direct))
}

fn token(env: &Env, url: &str) -> Command {
    let mut c = env.cmd(&["token"]);
    c.env("B24AUTH_STORE", url)
        .env("B24AUTH_HTTP_TIMEOUT", "30s")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn all_succeed_with_one_token(outs: &[Output], s: &StandIn) {
    for o in outs {
        assert!(
            o.status.success(),
            "{}\npgbouncer log:\n{}",
            String::from_utf8_lossy(&o.stderr),
            bouncer().log()
        );
    }
    assert!(
        outs.iter().all(|o| o.stdout == outs[0].stdout),
        "all print the same token"
    );
    assert_eq!(s.counters().refreshes, 1, "one refresh");
}

#[test]
fn sixteen_concurrent_tokens_through_pgbouncer_cause_one_refresh() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Pgbouncer,
        "pgbouncer::sixteen_concurrent_tokens_through_pgbouncer_cause_one_refresh",
    ) {
        return;
    }
    let s = StandIn::start();
    let url = seeded(&s, -10);
    let env = Env::new();
    let children: Vec<_> = (0..16)
        .map(|_| token(&env, &url).spawn().unwrap())
        .collect();
    let outs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    all_succeed_with_one_token(&outs, &s);
    // The stored pair is the one handed out, and a fresh `token` reads it without a refresh.
    let again = Env::run_cmd(&mut token(&env, &url));
    again.assert_ok();
    assert_eq!(again.stdout.as_bytes(), outs[0].stdout.as_slice());
    assert_eq!(s.counters().refreshes, 1);
}

#[test]
fn sixty_four_processes_on_eight_hosts_through_pgbouncer_cause_one_refresh() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Pgbouncer,
        "pgbouncer::sixty_four_processes_on_eight_hosts_through_pgbouncer_cause_one_refresh",
    ) {
        return;
    }
    let s = StandIn::start();
    let url = seeded(&s, -10);
    let hosts: Vec<Env> = (0..8).map(|_| Env::new()).collect();
    let children: Vec<_> = hosts
        .iter()
        .flat_map(|h| (0..8).map(|_| token(h, &url)))
        .map(|mut c| c.spawn().unwrap())
        .collect();
    let outs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    all_succeed_with_one_token(&outs, &s);
}

/// A pool of one server connection: every transaction of every run below goes over it, so
/// whatever session state b24auth left behind (a `SET` outside a transaction, a session
/// advisory lock, a named prepared statement) would still be on it afterwards.
#[test]
fn no_session_state_is_left_on_the_server_connection() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Pgbouncer,
        "pgbouncer::no_session_state_is_left_on_the_server_connection",
    ) {
        return;
    }
    let one = Bouncer::start(shared(), 1);
    let s = StandIn::start();
    let env = Env::new();
    let direct = shared().database();
    let db = db_of(&direct);
    env.seed(&s, -10);
    Env::run_cmd(&mut env.cmd(&["store", "copy", "--from", "file", "--to", &direct])).assert_ok();
    let url = one.url(db);
    let server = one.psql(db, "SELECT pg_backend_pid()");

    let children: Vec<_> = (0..8).map(|_| token(&env, &url).spawn().unwrap()).collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for args in [&["refresh"][..], &["call", "user.current"], &["list"]] {
        let mut c = env.app_cmd(&s, args);
        c.env("B24AUTH_STORE", &url);
        Env::run_cmd(&mut c).assert_ok();
    }
    assert_eq!(s.counters().refreshes, 2, "the tokens' one, and `refresh`");

    assert_eq!(
        one.psql(db, "SELECT pg_backend_pid()"),
        server,
        "the runs used the one server connection, and it is still open"
    );
    let fresh = shared().psql(db, "SHOW lock_timeout");
    assert_eq!(one.psql(db, "SHOW lock_timeout"), fresh.trim());
    assert_eq!(
        one.psql(db, "SELECT count(*) FROM pg_prepared_statements"),
        "0"
    );
    let advisory = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
                    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";
    assert_eq!(shared().psql(db, advisory).trim(), "0");
}

/// The other commands (refresh's save, call, list, forget) through the pooler too.
#[test]
fn every_command_works_through_pgbouncer() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Pgbouncer,
        "pgbouncer::every_command_works_through_pgbouncer",
    ) {
        return;
    }
    let s = StandIn::start();
    let url = seeded(&s, 3600);
    let env = Env::new();
    let run = |args: &[&str]| {
        let mut c = env.app_cmd(&s, args);
        c.env("B24AUTH_STORE", &url);
        Env::run_cmd(&mut c)
    };
    run(&["refresh"]).assert_ok();
    run(&["call", "user.current", "--result"]).assert_ok();
    assert!(run(&["list"]).stdout.starts_with("default\t"));
    run(&["forget", "--yes"]).assert_ok();
    run(&["token"]).assert_error(3);
    assert_eq!(s.counters().refreshes, 1);
}
