//! The store's promise, written once and run against both backends (`file` and
//! `postgres://`): rotation, single-flight, fresh reads without the network, faults that leave
//! the stored pair as it was. File-only and PostgreSQL-only behaviour stays in `profiles.rs` and
//! `postgres.rs`.

use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::cli::{mode, Env, Run};
use crate::support::postgres::shared;
use crate::support::stand_in::{Endpoint, Fault, StandIn, When, CLIENT_SECRET};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Postgres,
}

/// A config dir, the stand-in and (for PostgreSQL) a fresh database as the store.
struct Fixture {
    s: StandIn,
    env: Env,
    store: Option<String>,
}

impl Fixture {
    fn empty(kind: Kind) -> Fixture {
        let store = (kind == Kind::Postgres).then(|| shared().database());
        Fixture {
            s: StandIn::start(),
            env: Env::new(),
            store,
        }
    }

    /// A stored pair whose access token expires in `expires_in` seconds; returns the document.
    fn seeded(kind: Kind, expires_in: i64) -> (Fixture, Value) {
        let f = Fixture::empty(kind);
        let doc = f.write(expires_in, |_| {});
        (f, doc)
    }

    /// Seeds a pair (changed by `edit`) into the file, then moves it into the database.
    fn write(&self, expires_in: i64, edit: impl FnOnce(&mut Value)) -> Value {
        self.env.seed(&self.s, expires_in);
        let mut doc = self.env.auth();
        edit(&mut doc);
        self.env.write_auth(&serde_json::to_vec(&doc).unwrap());
        if let Some(url) = &self.store {
            let mut copy = self
                .env
                .cmd(&["store", "copy", "--from", "file", "--to", url]);
            Env::run_cmd(&mut copy).assert_ok();
            std::fs::remove_file(self.env.auth_path()).unwrap();
        }
        doc
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.env.cmd(args);
        if let Some(url) = &self.store {
            c.env("B24AUTH_STORE", url);
        }
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        Env::run_cmd(&mut self.cmd(args))
    }

    /// What the store holds now, as `show --json` prints it.
    fn stored(&self) -> Value {
        let run = self.run(&["show", "--json"]);
        run.assert_ok();
        serde_json::from_str(&run.stdout).unwrap()
    }
}

/// Runs each behaviour as `NAME::file` and `NAME::postgres`.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn file() {
                super::$name(super::Kind::File)
            }
            #[test]
            fn postgres() {
                use crate::support::deps::{require, Dep};
                if !require(Dep::Postgres, concat!("stores::", stringify!($name), "::postgres")) {
                    return;
                }
                super::$name(super::Kind::Postgres)
            }
        }
    )*};
}

on_both_stores!(
    refresh_rotates_the_pair_and_keeps_every_field,
    refresh_if_older_than_skips_a_young_token,
    fresh_token_is_printed_without_calling_the_server,
    token_refreshes_within_min_ttl,
    thirty_two_token_processes_cause_one_refresh,
    server_faults_exit_1_and_leave_the_pair,
    a_hanging_server_times_out,
    invalid_grant_asks_for_authorize,
    nothing_stored_exits_3,
    forget_deletes_and_list_agrees,
);

fn refresh_rotates_the_pair_and_keeps_every_field(kind: Kind) {
    let f = Fixture::empty(kind);
    let old = f.write(3600, |doc| {
        doc["brand_new_field"] = "kept".into();
        doc["application_token"] = "app-token-123".into();
    });

    let run = f.run(&["refresh"]);
    run.assert_ok();
    assert!(
        run.stdout.is_empty(),
        "refresh prints nothing on stdout without --json"
    );
    let new = f.stored();
    let old_rt = old["refresh_token"].as_str().unwrap();
    assert_ne!(new["refresh_token"], old["refresh_token"]);
    assert_ne!(new["access_token"], old["access_token"]);
    assert!(
        !f.s.refresh_token_is_valid(old_rt),
        "the used refresh token is dead"
    );
    assert!(f
        .s
        .refresh_token_is_valid(new["refresh_token"].as_str().unwrap()));
    assert_eq!(new["brand_new_field"], "kept");
    assert_eq!(new["application_token"], "app-token-123");
    assert_eq!(new["b24auth"]["source"], "refresh");
    if kind == Kind::File {
        assert_eq!(mode(&f.env.auth_path()), 0o600);
        assert_eq!(mode(&f.env.dir), 0o700);
    }

    let second = f.run(&["refresh", "--json"]);
    second.assert_ok();
    let printed: Value = serde_json::from_str(&second.stdout).unwrap();
    assert_eq!(printed, f.stored());
    assert_ne!(printed["refresh_token"], new["refresh_token"]);
    assert_eq!(f.s.counters().refreshes, 2);
}

fn refresh_if_older_than_skips_a_young_token(kind: Kind) {
    let (f, _) = Fixture::seeded(kind, 3600);
    let before = f.stored();
    f.run(&["refresh", "--if-older-than", "1d"]).assert_ok();
    assert_eq!(f.s.counters().token_calls, 0);
    assert_eq!(f.stored(), before);
    f.run(&["refresh", "--if-older-than", "0s"]).assert_ok();
    assert_eq!(f.s.counters().refreshes, 1);
}

fn fresh_token_is_printed_without_calling_the_server(kind: Kind) {
    let (f, doc) = Fixture::seeded(kind, 3600);
    let run = f.run(&["token"]);
    run.assert_ok();
    assert_eq!(
        run.stdout,
        format!("{}\n", doc["access_token"].as_str().unwrap())
    );
    if kind == Kind::File {
        assert!(run.stderr.is_empty());
    }
    assert_eq!(f.s.counters(), Default::default());
}

fn token_refreshes_within_min_ttl(kind: Kind) {
    let (f, doc) = Fixture::seeded(kind, 30);
    let run = f.run(&["token", "--min-ttl", "60"]);
    run.assert_ok();
    assert_ne!(run.stdout.trim(), doc["access_token"].as_str().unwrap());
    assert_eq!(
        run.stdout.trim(),
        f.stored()["access_token"].as_str().unwrap()
    );
    assert_eq!(f.s.counters().refreshes, 1);
}

fn thirty_two_token_processes_cause_one_refresh(kind: Kind) {
    let (f, _) = Fixture::seeded(kind, -10);
    let children: Vec<_> = (0..32)
        .map(|_| {
            f.cmd(&["token"])
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
        f.stored()["access_token"].as_str().unwrap()
    );
    assert_eq!(f.s.counters().refreshes, 1);
}

/// `refresh` and `token` on an expired pair meet `fault` (None: nothing listens) and fail with
/// `code` and `text`, leaving the stored pair exactly as it was.
fn assert_fault_leaves_pair(kind: Kind, fault: Option<Fault>, code: i32, text: &str) {
    let (f, _) = Fixture::seeded(kind, -10);
    let before = f.stored();
    let file_before = (kind == Kind::File).then(|| f.env.auth_bytes());
    let mut server = f.s.base.clone();
    match &fault {
        Some(fault) => f.s.fail(Endpoint::Token, When::Next(1), fault.clone()),
        None => {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            server = format!("http://{}", l.local_addr().unwrap());
        }
    }
    for args in [["refresh"], ["token"]] {
        let run = Env::run_cmd(f.cmd(&args).env("B24AUTH_OAUTH_SERVER", &server));
        let line = run.assert_error(code).to_string();
        assert!(line.contains(text), "{fault:?}: {line}");
        assert!(!line.contains(CLIENT_SECRET));
        assert_eq!(f.stored(), before, "{fault:?}: the pair is unchanged");
        if let Some(bytes) = &file_before {
            assert_eq!(&f.env.auth_bytes(), bytes, "byte for byte");
        }
        if let Some(fault) = &fault {
            f.s.fail(Endpoint::Token, When::Next(1), fault.clone());
        }
    }
}

fn server_faults_exit_1_and_leave_the_pair(kind: Kind) {
    assert_fault_leaves_pair(kind, Some(Fault::Page(500)), 1, "HTTP 500");
    assert_fault_leaves_pair(kind, Some(Fault::CutBody), 1, "not JSON");
    assert_fault_leaves_pair(kind, None, 1, "cannot reach");
}

fn a_hanging_server_times_out(kind: Kind) {
    assert_fault_leaves_pair(kind, Some(Fault::Hang), 1, "cannot reach");
}

fn invalid_grant_asks_for_authorize(kind: Kind) {
    assert_fault_leaves_pair(kind, Some(Fault::INVALID_GRANT), 3, "authorize --domain");
}

fn nothing_stored_exits_3(kind: Kind) {
    let f = Fixture::empty(kind);
    for args in [&["token"][..], &["refresh"], &["show"], &["show", "--json"]] {
        let line = f.run(args).assert_error(3).to_string();
        assert!(line.contains("authorize --domain"), "{line}");
    }
    let path = f.run(&["show", "--path"]);
    path.assert_ok();
    match kind {
        Kind::File => assert_eq!(path.stdout.trim(), f.env.auth_path().to_str().unwrap()),
        Kind::Postgres => assert!(path.stdout.contains("postgres://"), "{}", path.stdout),
    }
    assert_eq!(f.s.counters(), Default::default());
}

fn forget_deletes_and_list_agrees(kind: Kind) {
    let (f, doc) = Fixture::seeded(kind, 3600);
    let listed = f.run(&["list", "--json"]);
    listed.assert_ok();
    let rows: Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(rows[0]["profile"], "default");
    assert_eq!(rows[0]["member_id"], doc["member_id"]);
    f.run(&["forget", "--yes"]).assert_ok();
    let listed = f.run(&["list", "--json"]);
    assert_eq!(listed.stdout.trim(), "[]");
    f.run(&["token"]).assert_error(3);
    f.run(&["forget", "--yes"]).assert_error(3);
}
