//! `b24auth serve` with its event queue in PostgreSQL: crashes lose no accepted event, and a
//! claim is a short lease its live host renews (a dead host's events come free within one).

use std::collections::HashSet;
use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::events::{instants, seed_app, APP_TOKEN};
use crate::support::callbacks::event_form;
use crate::support::cli::{Env, Spawned};
use crate::support::postgres::{db_of, shared, Cluster};
use crate::support::stand_in::{StandIn, MEMBER_ID};

const PREFIX: &str = "/b24/0123456789abcdef0123456789abcdef";

struct Serving {
    p: Spawned,
    addr: String,
    /// The handler's stdout lines.
    out: mpsc::Receiver<String>,
}

/// A database holding the seeded app's profile, and its `--store` URL.
fn store_with_app(s: &StandIn) -> (Env, String) {
    store_with_app_on(s, shared())
}

/// [`store_with_app`] on `cluster`.
fn store_with_app_on(s: &StandIn, cluster: &Cluster) -> (Env, String) {
    let env = Env::new();
    seed_app(&env, s);
    let url = cluster.database();
    Env::run_cmd(&mut env.cmd(&["store", "copy", "--from", "file", "--to", &url])).assert_ok();
    (env, url)
}

/// `serve` on the store `url` with claims of `lease`, `script` as the handler.
fn start(env: &Env, s: &StandIn, url: &str, lease: &str, script: &str) -> Serving {
    start_with(env, s, url, lease, script, &[])
}

/// [`start`] with more options (`extra`, before `--exec`).
fn start_with(
    env: &Env,
    s: &StandIn,
    url: &str,
    lease: &str,
    script: &str,
    extra: &[&str],
) -> Serving {
    let mut args = vec!["serve"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[
        "--listen",
        "127.0.0.1:0",
        "--path",
        PREFIX,
        "--tries",
        "2",
        "--exec",
        "sh",
        "-c",
        script,
    ]);
    let mut cmd = env.app_cmd(s, &args);
    cmd.env("B24AUTH_STORE", url)
        .env("B24AUTH_EVENT_LEASE", lease);
    let mut p = env.spawn(&mut cmd);
    let line = p.wait_line(20, |l| l.starts_with("serving events on http://"));
    let addr = line
        .trim_start_matches("serving events on http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let stdout = p.child.stdout.take().unwrap();
    let (tx, out) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Serving { p, addr, out }
}

/// POSTs deal `id`; the status, or `None` when the connection failed.
fn send(addr: &str, id: u64) -> Option<u16> {
    let body = event_form("ONCRMDEALADD", id, MEMBER_ID, APP_TOKEN, "portal.example");
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let head = format!(
        "POST {PREFIX}/event HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body.as_bytes()).ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let r = crate::support::http::parse(&buf);
    (r.status != 0).then_some(r.status)
}

/// The handler's shell code that puts the deal's ID in `$id`.
const DEAL_ID: &str = "id=$(sed -n 's/.*\"FIELDS\":{\"ID\":\"\\([0-9]*\\)\"}.*/\\1/p')";

fn handled(log: &Path) -> HashSet<u64> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Polls `sql` (one value) until `done` holds for it; panics after `secs`.
fn wait_for_sql(db: &str, sql: &str, secs: u64, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let v = shared().psql(db, sql).trim().to_string();
        if done(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "{sql}: still {v:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serve_on_postgresql_killed_at_random_instants_runs_every_accepted_event() {
    let s = StandIn::start();
    let (env, url) = store_with_app(&s);
    let log = env.tmp.path().join("handled.log");
    let script = format!(
        "{DEAL_ID}; echo \"$id\" >> '{}'; echo \"$id\"",
        log.display()
    );
    let mut accepted: HashSet<u64> = HashSet::new();
    let mut next = 1u64;
    for at in instants(20, 300) {
        let mut sv = start(&env, &s, &url, "1s", &script);
        let first = next;
        // Four senders at once, so that events are inserted in groups.
        let senders: Vec<_> = (0..4u64)
            .map(|k| {
                let addr = sv.addr.clone();
                std::thread::spawn(move || {
                    let mut ok = Vec::new();
                    for id in (first + k * 50)..(first + k * 50 + 50) {
                        match send(&addr, id) {
                            Some(200) => ok.push(id),
                            Some(_) => {}
                            None => break,
                        }
                    }
                    ok
                })
            })
            .collect();
        // The instant of the crash, not a synchronisation: any instant must be survivable.
        std::thread::sleep(at);
        let _ = sv.p.child.kill();
        sv.p.child.wait().unwrap();
        for sender in senders {
            accepted.extend(sender.join().unwrap());
        }
        next += 200;
    }
    assert!(!accepted.is_empty(), "some events were accepted");
    // A last run takes what is still queued, the dead hosts' claims included once their
    // leases ran out.
    let mut sv = start(&env, &s, &url, "1s", &script);
    while !accepted.is_subset(&handled(&log)) {
        let missing = accepted.difference(&handled(&log)).count();
        sv.out
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("{missing} accepted events were never handled"));
    }
    // Handled ones are removed, none was kept as failed: the queue empties.
    wait_for_sql(
        db_of(&url),
        "SELECT count(*) FROM b24auth_events",
        30,
        |n| n == "0",
    );
    let _ = sv.p.child.kill();
    sv.p.child.wait().unwrap();
}

/// A handler that says `start ID HOST`, waits for the file `release` (at most 60 s), then says
/// `done ID HOST`; both lines also go to `log`.
fn slow_handler(log: &Path, release: &Path, host: &str) -> String {
    format!(
        "{DEAL_ID}; echo \"start $id {host}\" >> '{log}'; echo \"start $id {host}\"; \
         i=0; while [ ! -e '{release}' ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; \
         echo \"done $id {host}\" >> '{log}'; echo \"done $id {host}\"",
        log = log.display(),
        release = release.display()
    )
}

#[test]
fn a_slow_handlers_claim_is_renewed_while_its_host_lives_and_freed_when_it_dies() {
    let s = StandIn::start();
    let (seeded, url) = store_with_app(&s);
    let db = db_of(&url);
    let log = seeded.tmp.path().join("handled.log");
    let release = seeded.tmp.path().join("release");
    let (env_a, env_b) = (Env::new(), Env::new());
    let lease = 3;
    let mut a = start(&env_a, &s, &url, "3s", &slow_handler(&log, &release, "A"));
    let mut b = start(&env_b, &s, &url, "3s", &slow_handler(&log, &release, "B"));
    assert_eq!(send(&a.addr, 1), Some(200));
    let line = a
        .out
        .recv_timeout(Duration::from_secs(30))
        .expect("host A starts the handler");
    assert_eq!(line, "start 1 A");
    let epoch = "SELECT extract(epoch FROM claimed_until) FROM b24auth_events";
    let first: f64 = shared().psql(db, epoch).trim().parse().unwrap();
    let holder = "SELECT holder FROM b24auth_events";
    let a_holds = shared().psql(db, holder);
    // Two whole leases past the first claim's end, by the database's clock, while host B
    // keeps asking for work: only renewals keep the event from B.
    wait_for_sql(
        db,
        &format!("SELECT extract(epoch FROM now()) > {first} + {}", 2 * lease),
        30,
        |v| v == "t",
    );
    let renewed: f64 = shared().psql(db, epoch).trim().parse().unwrap();
    assert!(
        renewed > first + lease as f64,
        "renewed: {first} → {renewed}"
    );
    assert_eq!(shared().psql(db, holder), a_holds, "still host A's claim");
    assert!(b.out.try_recv().is_err(), "host B ran a live claim's event");
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "start 1 A\n");
    // Host A dies (its handler lives on, orphaned): B takes the event within about a lease.
    let _ = a.p.child.kill();
    a.p.child.wait().unwrap();
    let line = b
        .out
        .recv_timeout(Duration::from_secs(20))
        .expect("host B takes the dead host's event");
    assert_eq!(line, "start 1 B");
    std::fs::write(&release, "").unwrap();
    let line = b
        .out
        .recv_timeout(Duration::from_secs(20))
        .expect("host B's handler finishes");
    assert_eq!(line, "done 1 B");
    wait_for_sql(db, "SELECT count(*) FROM b24auth_events", 20, |n| n == "0");
    let _ = b.p.child.kill();
    b.p.child.wait().unwrap();
}

/// A queue an earlier b24auth made (no `holder` column), with an event waiting in it: upgraded
/// in place, and the event handled.
#[test]
fn a_queue_made_before_claims_were_renewed_is_upgraded_and_its_events_handled() {
    let s = StandIn::start();
    let (env, url) = store_with_app(&s);
    let db = db_of(&url);
    shared().psql(
        db,
        "CREATE TABLE b24auth_events (
            id text PRIMARY KEY, profile text NOT NULL, event text NOT NULL, payload text NOT NULL,
            received_at bigint NOT NULL, failed boolean NOT NULL DEFAULT false,
            claimed_until timestamptz)",
    );
    shared().psql(
        db,
        r#"INSERT INTO b24auth_events (id, profile, event, payload, received_at)
           VALUES ('00000000000000000001-abcd', 'default', 'ONCRMDEALADD',
                   '{"event":"ONCRMDEALADD","data":{"FIELDS":{"ID":"41"}}}', 0)"#,
    );
    let log = env.tmp.path().join("handled.log");
    let script = format!(
        "{DEAL_ID}; echo \"$id\" >> '{}'; echo \"$id\"",
        log.display()
    );
    let mut sv = start(&env, &s, &url, "30s", &script);
    let line = sv
        .out
        .recv_timeout(Duration::from_secs(30))
        .expect("the waiting event handled");
    assert_eq!(line, "41");
    assert_eq!(send(&sv.addr, 42), Some(200));
    let line = sv
        .out
        .recv_timeout(Duration::from_secs(30))
        .expect("a new event handled");
    assert_eq!(line, "42");
    wait_for_sql(db, "SELECT count(*) FROM b24auth_events", 20, |n| n == "0");
    let _ = sv.p.child.kill();
    sv.p.child.wait().unwrap();
}

/// Ends every connection to the database but the asking one, as a PostgreSQL restart, a
/// pgbouncer recycle or an idle timeout does; how many were ended.
fn terminate_backends(db: &str) -> usize {
    shared()
        .psql(
            db,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .lines()
        .filter(|l| l.trim() == "t")
        .count()
}

fn healthz(addr: &str) -> u16 {
    crate::support::http::get(&format!("http://{addr}{PREFIX}/healthz")).status
}

/// Sends events from `*next` on until one is answered 200 (at most `tries`): the ids answered
/// 200. Each other answer must be a 500 (not kept), never a 200 for an event not kept.
fn send_until_kept(addr: &str, next: &mut u64, tries: usize) -> Vec<u64> {
    for _ in 0..tries {
        let id = *next;
        *next += 1;
        match send(addr, id) {
            Some(200) => return vec![id],
            Some(500) => {}
            other => panic!("event {id}: {other:?}"),
        }
    }
    panic!("no event was kept in {tries} tries");
}

/// Waits until the handler has said every id of `accepted` (each line one id; `seen` the
/// ones said so far).
fn wait_handled(sv: &Serving, accepted: &HashSet<u64>, seen: &mut HashSet<u64>) {
    while !accepted.is_subset(seen) {
        let line = sv
            .out
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("handled {seen:?} of {accepted:?}"));
        seen.insert(line.trim().parse::<u64>().unwrap());
    }
}

#[test]
fn serve_connects_again_after_its_database_connections_are_ended() {
    let s = StandIn::start();
    let (env, url) = store_with_app(&s);
    let db = db_of(&url);
    let sv = start(&env, &s, &url, "30s", &format!("{DEAL_ID}; echo \"$id\""));
    let (mut accepted, mut seen) = (HashSet::new(), HashSet::new());
    assert_eq!(send(&sv.addr, 1), Some(200));
    accepted.insert(1);
    wait_handled(&sv, &accepted, &mut seen);
    let mut next = 2;
    for round in 0..3 {
        assert!(
            terminate_backends(db) > 0,
            "round {round}: serve had connections"
        );
        // The first event after may fail with its connection (a 500); then they are kept.
        accepted.extend(send_until_kept(&sv.addr, &mut next, 3));
        for _ in 0..3 {
            assert_eq!(send(&sv.addr, next), Some(200), "event {next}");
            accepted.insert(next);
            next += 1;
        }
        wait_handled(&sv, &accepted, &mut seen);
        // healthz on connections just ended: it connects again (an autocommitted SELECT 1).
        assert!(terminate_backends(db) > 0);
        assert_eq!(healthz(&sv.addr), 200, "round {round}");
    }
    // Handled ones are removed, none was kept as failed: the queue empties.
    wait_for_sql(db, "SELECT count(*) FROM b24auth_events", 30, |n| n == "0");
    let mut sv = sv;
    let _ = sv.p.child.kill();
    sv.p.child.wait().unwrap();
}

#[test]
fn healthz_answers_503_while_the_database_is_down_and_events_are_not_kept() {
    let cluster = Cluster::start();
    let s = StandIn::start();
    let (env, url) = store_with_app_on(&s, &cluster);
    let mut sv = start(&env, &s, &url, "30s", &format!("{DEAL_ID}; echo \"$id\""));
    assert_eq!(healthz(&sv.addr), 200);
    assert_eq!(send(&sv.addr, 1), Some(200));
    cluster.stop();
    assert_eq!(healthz(&sv.addr), 503);
    assert_eq!(send(&sv.addr, 2), Some(500), "an event not kept is no 200");
    assert_eq!(healthz(&sv.addr), 503);
    cluster.restart();
    assert_eq!(healthz(&sv.addr), 200);
    let mut next = 3;
    let mut accepted: HashSet<u64> = [1].into();
    let mut seen = HashSet::new();
    accepted.extend(send_until_kept(&sv.addr, &mut next, 3));
    assert_eq!(send(&sv.addr, next), Some(200));
    accepted.insert(next);
    wait_handled(&sv, &accepted, &mut seen);
    let _ = sv.p.child.kill();
    sv.p.child.wait().unwrap();
}

/// A claim whose lease has run out in the database (here: moved into the past) is not revived
/// by its holder's next renewal: the holder stops that handler at once.
#[test]
fn a_lapsed_claim_is_not_renewed() {
    let s = StandIn::start();
    let (env, url) = store_with_app(&s);
    let db = db_of(&url);
    let log = env.tmp.path().join("handled.log");
    let release = env.tmp.path().join("release");
    let handler = slow_handler(&log, &release, "A");
    // One handler at a time; event 2 waits claimed (renewed too) while event 1's runs, and no
    // new claim is asked while it waits.
    let mut sv = start_with(&env, &s, &url, "3s", &handler, &["--concurrency", "1"]);
    assert_eq!(send(&sv.addr, 1), Some(200));
    let line = sv.out.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(line, "start 1 A");
    assert_eq!(send(&sv.addr, 2), Some(200));
    wait_for_sql(
        db,
        "SELECT count(*) FROM b24auth_events WHERE claimed_until > now()",
        20,
        |n| n == "2",
    );
    shared().psql(
        db,
        r#"UPDATE b24auth_events SET claimed_until = now() - interval '1 second'
           WHERE payload LIKE '%"ID":"1"%'"#,
    );
    // The next renewal (within a third of the lease) renews event 2 only: event 1's handler
    // is stopped, and event 2's starts while event 1's would still be waiting for `release`.
    let line = sv
        .out
        .recv_timeout(Duration::from_secs(20))
        .expect("event 1's handler stopped, event 2's started");
    assert_eq!(line, "start 2 A");
    std::fs::write(&release, "").unwrap();
    wait_for_sql(db, "SELECT count(*) FROM b24auth_events", 20, |n| n == "0");
    let _ = sv.p.child.kill();
    sv.p.child.wait().unwrap();
}
