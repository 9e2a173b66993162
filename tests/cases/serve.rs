//! `b24auth serve`: the application_token check, durable acceptance, uninstalls, crashes.

use std::collections::HashSet;
use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use super::events::{instants, kills, seed_app, APP_TOKEN};
use crate::support::callbacks::{event_form, install_form, uninstall_form};
use crate::support::cli::{Env, Spawned};
use crate::support::stand_in::{StandIn, MEMBER_ID};

const PREFIX: &str = "/b24/0123456789abcdef0123456789abcdef";
const FORM: &str = "application/x-www-form-urlencoded";

struct Serving {
    p: Spawned,
    addr: String,
    /// The serve's stdout lines (the handler's output, or the events without --exec).
    out: mpsc::Receiver<String>,
}

/// A handler that prints the deal's ID and whether it saw the application_token, and logs the
/// ID to `log`.
fn handler(log: &std::path::Path) -> String {
    format!(
        "id=$(sed -n 's/.*\"FIELDS\":{{\"ID\":\"\\([0-9]*\\)\"}}.*/\\1/p'); echo \"$id\" >> '{}'; echo \"deal $id app ${{B24_APPLICATION_TOKEN:-none}} event $B24_EVENT\"",
        log.display()
    )
}

fn start(env: &Env, s: &StandIn, script: &str) -> Serving {
    start_on(env, s, script, &[])
}

/// [`start`] with more variables, e.g. `B24AUTH_STORE` (the profiles and the event queue).
fn start_on(env: &Env, s: &StandIn, script: &str, vars: &[(&str, &str)]) -> Serving {
    let args = [
        "serve",
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
    ];
    let mut cmd = env.app_cmd(s, &args);
    cmd.envs(vars.iter().copied());
    let mut p = env.spawn(&mut cmd);
    let addr = p.wait_address("serving events on ");
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

/// POSTs `body` to the event route; the status, or `None` when the connection failed.
fn send(addr: &str, body: &str) -> Option<u16> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let head = format!(
        "POST {PREFIX}/event HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {FORM}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body.as_bytes()).ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let r = crate::support::http::parse(&buf);
    (r.status != 0).then_some(r.status)
}

/// SIGTERM to the running serve.
fn terminate(sv: &Serving) {
    let pid = sv.p.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
}

/// Profile `name` (0600 in 0700) holding a pair of the portal for ANOTHER app
/// (`local.otherapp`): the document and its path.
fn another_apps_profile(
    env: &Env,
    s: &StandIn,
    name: &str,
) -> (serde_json::Value, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let mut other = env.seed(s, 3600);
    other["client_id"] = "local.otherapp".into();
    other["client_secret"] = "otherappsecret".into();
    let dir = env.dir.join("profiles");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(&other).unwrap()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    (other, path)
}

fn deal(s: &StandIn, id: u64, token: &str) -> String {
    event_form("ONCRMDEALADD", id, MEMBER_ID, token, &s.host())
}

#[test]
fn only_the_stored_application_token_is_believed() {
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    let log = env.tmp.path().join("handled.log");
    let mut sv = start(&env, &s, &handler(&log));
    assert_eq!(
        send(&sv.addr, &deal(&s, 1, "forged0forged0forged0forged0ffff")),
        Some(401)
    );
    let missing = deal(&s, 2, "").replace("&auth%5Bapplication_token%5D=", "");
    assert_eq!(send(&sv.addr, &missing), Some(401));
    let stranger = event_form(
        "ONCRMDEALADD",
        3,
        "0000aaaa0000aaaa0000aaaa0000aaaa",
        APP_TOKEN,
        &s.host(),
    );
    assert_eq!(send(&sv.addr, &stranger), Some(401));
    assert_eq!(send(&sv.addr, &deal(&s, 4, APP_TOKEN)), Some(200));
    let line = sv.out.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(line, "deal 4 app none event ONCRMDEALADD");
    let health = crate::support::http::get(&format!("http://{}{PREFIX}/healthz", sv.addr));
    assert_eq!(health.status, 200);
    let _ = sv.p.child.kill();
    sv.p.child.wait().unwrap();
    let handled = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        handled, "4\n",
        "no handler ran for a forged or missing token"
    );
}

#[test]
fn an_uninstall_marks_the_profile_and_every_command_exits_3_without_refreshing() {
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    let log = env.tmp.path().join("handled.log");
    let mut sv = start(&env, &s, &handler(&log));
    let forged = uninstall_form(MEMBER_ID, "forged0forged0forged0forged0ffff", &s.host());
    assert_eq!(send(&sv.addr, &forged), Some(401));
    let body = uninstall_form(MEMBER_ID, APP_TOKEN, &s.host());
    assert_eq!(send(&sv.addr, &body), Some(200));
    let line = sv.out.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(line.ends_with("event ONAPPUNINSTALL"), "{line}");
    // The uninstalled portal sends nothing any more: whatever claims to is no sender.
    assert_eq!(send(&sv.addr, &deal(&s, 5, APP_TOKEN)), Some(401));
    let _ = sv.p.child.kill();
    sv.p.child.wait().unwrap();
    let before = s.counters().refreshes;
    for args in [
        &["token", "--min-ttl", "999999"][..],
        &["refresh"],
        &["call", "profile"],
    ] {
        let run = Env::run_cmd(&mut env.app_cmd(&s, args));
        let line = run.assert_error(3);
        assert!(
            line.contains("uninstalled") && line.contains("UTC"),
            "{line}"
        );
    }
    assert_eq!(s.counters().refreshes, before, "nothing refreshed it");
}

#[test]
fn serve_killed_at_random_instants_runs_every_accepted_event() {
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    let log = env.tmp.path().join("handled.log");
    let script = handler(&log);
    let mut accepted: HashSet<u64> = HashSet::new();
    let mut next = 1u64;
    for at in instants(kills(), 300) {
        let mut sv = start(&env, &s, &script);
        let addr = sv.addr.clone();
        let first = next;
        // Four senders at once, so that events are written in groups.
        let senders: Vec<_> = (0..4u64)
            .map(|k| {
                let addr = addr.clone();
                std::thread::spawn(move || {
                    let mut ok = Vec::new();
                    for id in (first + k * 100)..(first + k * 100 + 100) {
                        let body =
                            event_form("ONCRMDEALADD", id, MEMBER_ID, APP_TOKEN, "portal.example");
                        match send(&addr, &body) {
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
        next += 400;
    }
    // A crash in the middle of a group's write leaves a torn frame: it ends the frames, and
    // loses none of the answered events before it.
    tear_the_journal_tail(&env);
    // A last run hands out what is still pending; the handler's output says when it is done.
    let mut sv = start(&env, &s, &script);
    let handled = |log: &std::path::Path| -> HashSet<u64> {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    };
    while !accepted.is_subset(&handled(&log)) {
        sv.out
            .recv_timeout(Duration::from_secs(30))
            .expect("the pending events were handled");
    }
    let _ = sv.p.child.kill();
    sv.p.child.wait().unwrap();
    assert!(!accepted.is_empty(), "some events were accepted");
}

/// Writes a torn frame (a length, a checksum, a few bytes of JSON) after the last frame of the
/// newest journal segment (frames: length u32 LE, CRC-32 u32 LE, JSON; the segment opens with
/// 8 bytes of magic and is zeros after its frames).
fn tear_the_journal_tail(env: &Env) {
    use std::os::unix::fs::FileExt;
    let dir = env.dir.join("events/serve/journal");
    let mut logs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    logs.sort();
    let newest = logs.last().expect("the events went to the journal");
    let bytes = std::fs::read(newest).unwrap();
    let mut at = 8;
    while at + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        if len == 0 {
            break;
        }
        at += 8 + len;
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(newest)
        .unwrap();
    file.write_all_at(&[200, 0, 0, 0, 1, 2, 3, 4, b'{', b'"'], at as u64)
        .unwrap();
}

#[test]
fn two_portals_make_two_profiles_and_each_portal_proves_only_its_own_events() {
    let (env, s) = (Env::new(), StandIn::start());
    let log = env.tmp.path().join("handled.log");
    let mut sv = start(&env, &s, &handler(&log));
    let other = s.second_address();
    let other_host = other.trim_start_matches("http://").to_string();
    let member2 = "b334d7c4821f96e033f0488e7d5f8664";
    let token2 = "62967f0fd231bfb5c739dd93e4a46ddf";
    let installs = [
        (s.issue_pair(), s.host(), APP_TOKEN),
        (
            s.issue_pair_for(&other_host, member2),
            other_host.clone(),
            token2,
        ),
    ];
    for (pair, host, app_token) in &installs {
        let r = crate::support::http::post(
            &sv.addr,
            &format!("{PREFIX}/install"),
            FORM,
            install_form(pair, host, app_token).as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    for (pair, host, _) in &installs {
        let name = host.replace(':', "-");
        let path = env.dir.join("profiles").join(format!("{name}.json"));
        let stored: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(stored["member_id"], pair["member_id"]);
    }
    // The second portal's member_id with the first portal's token: not its sender.
    let crossed = event_form("ONCRMDEALADD", 8, member2, APP_TOKEN, &other_host);
    assert_eq!(send(&sv.addr, &crossed), Some(401));
    let own = event_form("ONCRMDEALADD", 9, member2, token2, &other_host);
    assert_eq!(send(&sv.addr, &own), Some(200));
    let line = sv.out.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(line, "deal 9 app none event ONCRMDEALADD");
    let _ = sv.p.child.kill();
    sv.p.child.wait().unwrap();
}

#[test]
fn sigterm_stops_taking_events_and_finishes_the_handler_in_flight() {
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    let fifo = env.tmp.path().join("go");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let script = format!(
        "echo started; cat '{}' > /dev/null; echo finished",
        fifo.display()
    );
    let mut sv = start(&env, &s, &script);
    assert_eq!(send(&sv.addr, &deal(&s, 1, APP_TOKEN)), Some(200));
    assert_eq!(
        sv.out.recv_timeout(Duration::from_secs(30)).unwrap(),
        "started"
    );
    terminate(&sv);
    sv.p.wait_line(10, |l| l.contains("SIGTERM: taking no new request"));
    assert_eq!(send(&sv.addr, &deal(&s, 2, APP_TOKEN)), Some(503));
    // Let the handler in flight finish: it ends, then serve does.
    std::fs::write(&fifo, b"go\n").unwrap();
    assert_eq!(
        sv.out.recv_timeout(Duration::from_secs(30)).unwrap(),
        "finished"
    );
    let code = sv.p.child.wait().unwrap().code();
    assert_eq!(code, Some(143));
    let pending = env.dir.join("events/serve/pending");
    assert_eq!(
        std::fs::read_dir(pending).unwrap().count(),
        0,
        "handled, not left"
    );
}

/// Two `serve` hosts on one PostgreSQL store: 100 events sent to both in turn, each handled
/// exactly once.
fn two_hosts_handle_each_event_once(url_for: impl Fn(&str) -> String) {
    let s = StandIn::start();
    let seeded = Env::new();
    seed_app(&seeded, &s);
    let direct = crate::support::postgres::shared().database();
    Env::run_cmd(&mut seeded.cmd(&["store", "copy", "--from", "file", "--to", &direct]))
        .assert_ok();
    let url = url_for(&direct);
    let log = seeded.tmp.path().join("handled.log");
    let mut hosts: Vec<(Env, Serving)> = (0..2)
        .map(|_| {
            let env = Env::new();
            let sv = start_on(&env, &s, &handler(&log), &[("B24AUTH_STORE", &url)]);
            (env, sv)
        })
        .collect();
    for (_, sv) in &hosts {
        let forged = deal(&s, 0, "forged0forged0forged0forged0ffff");
        assert_eq!(send(&sv.addr, &forged), Some(401));
    }
    for id in 1..=100u64 {
        let (_, sv) = &hosts[id as usize % 2];
        assert_eq!(send(&sv.addr, &deal(&s, id, APP_TOKEN)), Some(200));
    }
    let (tx, lines) = mpsc::channel();
    for (_, sv) in &mut hosts {
        let out = std::mem::replace(&mut sv.out, mpsc::channel().1);
        let tx = tx.clone();
        std::thread::spawn(move || out.iter().for_each(|l| drop(tx.send(l))));
    }
    for _ in 0..100 {
        lines
            .recv_timeout(Duration::from_secs(60))
            .expect("every event handled");
    }
    for (_, sv) in &mut hosts {
        let _ = sv.p.child.kill();
        sv.p.child.wait().unwrap();
    }
    let mut handled: Vec<u64> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    handled.sort();
    assert_eq!(
        handled,
        (1..=100).collect::<Vec<_>>(),
        "each event handled once"
    );
    // They went through the shared queue, not each host's own spool: none is left unclaimed
    // (a row may still be there while its host, killed after the handler's line, was about
    // to delete it).
    let db = crate::support::postgres::db_of(&direct);
    let left = crate::support::postgres::shared().psql(
        db,
        "SELECT count(*) FROM b24auth_events WHERE claimed_until IS NULL OR failed",
    );
    assert_eq!(left.trim(), "0");
}

#[test]
fn two_serve_hosts_on_one_postgresql_handle_each_event_once() {
    two_hosts_handle_each_event_once(|direct| direct.to_string());
}

#[test]
fn two_serve_hosts_through_pgbouncer_handle_each_event_once() {
    static BOUNCER: std::sync::OnceLock<crate::support::pgbouncer::Bouncer> =
        std::sync::OnceLock::new();
    let bouncer = BOUNCER.get_or_init(|| {
        crate::support::pgbouncer::Bouncer::start(crate::support::postgres::shared(), 3)
    });
    two_hosts_handle_each_event_once(|direct| bouncer.url(crate::support::postgres::db_of(direct)));
}

#[test]
fn with_profile_serve_keeps_one_portal_and_refuses_another_with_403() {
    let (env, s) = (Env::new(), StandIn::start());
    let log = env.tmp.path().join("handled.log");
    let mut sv = start_on(&env, &s, &handler(&log), &[("B24AUTH_PROFILE", "shop")]);
    let other = s.second_address();
    let other_host = other.trim_start_matches("http://").to_string();
    let first = install_form(&s.issue_pair(), &s.host(), APP_TOKEN);
    let path = format!("{PREFIX}/install");
    let r = crate::support::http::post(&sv.addr, &path, FORM, first.as_bytes());
    assert_eq!(r.status, 200, "{}", r.body);
    let pair = s.issue_pair_for(&other_host, "b334d7c4821f96e033f0488e7d5f8664");
    let second = install_form(&pair, &other_host, "62967f0fd231bfb5c739dd93e4a46ddf");
    let r = crate::support::http::post(&sv.addr, &path, FORM, second.as_bytes());
    assert_eq!(r.status, 403, "{}", r.body);
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.dir.join("profiles/shop.json")).unwrap())
            .unwrap();
    assert_eq!(stored["member_id"], MEMBER_ID);
    assert_eq!(send(&sv.addr, &deal(&s, 3, APP_TOKEN)), Some(200));
    assert_eq!(
        sv.out.recv_timeout(Duration::from_secs(30)).unwrap(),
        "deal 3 app none event ONCRMDEALADD"
    );
    let _ = sv.p.child.kill();
    sv.p.child.wait().unwrap();
}

/// The URLs a `serve` without `--path` prints on stderr (waited for, then the serve is killed).
fn default_urls(env: &Env, s: &StandIn) -> (String, String) {
    let mut p = env.spawn(&mut env.app_cmd(s, &["serve", "--listen", "127.0.0.1:0"]));
    let event = p.wait_line(10, |l| l.starts_with("event handler URL to bind"));
    let install = p.wait_line(10, |l| l.starts_with("installation path: "));
    let _ = p.child.kill();
    p.child.wait().unwrap();
    // The port differs from run to run (`:0`); the path must not.
    let tail = |l: &str| l[l.find("/b24/").expect("a default path")..].to_string();
    (tail(&event), tail(&install))
}

#[test]
fn the_default_path_is_kept_so_a_restart_prints_the_same_urls() {
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    let first = default_urls(&env, &s);
    assert!(
        first.0.ends_with("/event") && first.1.ends_with("/install"),
        "{first:?}"
    );
    let kept = env.dir.join("serve-path");
    assert_eq!(crate::support::cli::mode(&kept), 0o600);
    assert_eq!(default_urls(&env, &s), first, "a restart keeps the path");
}

#[test]
fn a_second_install_with_another_application_token_is_only_a_candidate() {
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    let log = env.tmp.path().join("handled.log");
    let mut sv = start(&env, &s, &handler(&log));
    // A genuine access token (app.info confirms it) with an application_token of its own.
    let evil = "attacker0attacker0attacker0aaaaa";
    let form = install_form(&s.issue_pair(), &s.host(), evil);
    let r = crate::support::http::post(
        &sv.addr,
        &format!("{PREFIX}/install"),
        FORM,
        form.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    sv.p.wait_line(10, |l| l.contains("CANDIDATE") && l.contains("`default`"));
    assert_eq!(send(&sv.addr, &deal(&s, 6, evil)), Some(401));
    assert_eq!(send(&sv.addr, &deal(&s, 7, APP_TOKEN)), Some(200));
    let line = sv.out.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(line, "deal 7 app none event ONCRMDEALADD");
    let _ = sv.p.child.kill();
    sv.p.child.wait().unwrap();
    let name = s.host().replace(':', "-");
    assert!(
        !env.dir
            .join("profiles")
            .join(format!("{name}.json"))
            .exists(),
        "no profile made"
    );
    assert_eq!(env.auth()["application_token"], APP_TOKEN);
}

#[test]
fn an_uninstall_marks_every_profile_of_its_member_id() {
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    let log = env.tmp.path().join("handled.log");
    let mut sv = start(&env, &s, &handler(&log));
    // The same install again, into the profile named after the portal: two profiles, one member.
    let form = install_form(&s.issue_pair(), &s.host(), APP_TOKEN);
    let r = crate::support::http::post(
        &sv.addr,
        &format!("{PREFIX}/install"),
        FORM,
        form.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let body = uninstall_form(MEMBER_ID, APP_TOKEN, &s.host());
    assert_eq!(send(&sv.addr, &body), Some(200));
    let line = sv.out.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(line.ends_with("event ONAPPUNINSTALL"), "{line}");
    let _ = sv.p.child.kill();
    sv.p.child.wait().unwrap();
    let other = s.host().replace(':', "-");
    for p in ["default", other.as_str()] {
        let run =
            Env::run_cmd(&mut env.app_cmd(&s, &["--profile", p, "token", "--min-ttl", "999999"]));
        let line = run.assert_error(3);
        assert!(line.contains("uninstalled"), "{p}: {line}");
    }
}

#[test]
fn an_install_in_flight_at_sigterm_is_decided_and_answered() {
    let (env, s) = (Env::new(), StandIn::start());
    let log = env.tmp.path().join("handled.log");
    let mut sv = start(&env, &s, &handler(&log));
    let mut pair = s.issue_pair();
    pair["access_token"] =
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123".into();
    s.hold_unknown_app_info();
    let (addr, body) = (sv.addr.clone(), install_form(&pair, &s.host(), APP_TOKEN));
    let post = std::thread::spawn(move || {
        let r =
            crate::support::http::post(&addr, &format!("{PREFIX}/install"), FORM, body.as_bytes());
        (r.status, r.body)
    });
    s.wait_held(1, 20);
    terminate(&sv);
    sv.p.wait_line(10, |l| l.contains("SIGTERM"));
    s.open_gate();
    assert_eq!(sv.p.child.wait().unwrap().code(), Some(143));
    // Answered in the grace (this forged token with its verdict: 403), not dropped unanswered.
    let (status, body) = post.join().unwrap();
    assert_eq!(status, 403, "{body}");
}

/// The ids of the failed events kept in the spool, from `events failed --json`.
fn failed_in_spool(env: &Env, s: &StandIn) -> Vec<(String, String)> {
    let run = Env::run_cmd(&mut env.app_cmd(s, &["events", "failed", "--json"]));
    run.assert_ok();
    let rows: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["where"] == "spool")
        .map(|r| {
            let text = |k: &str| r[k].as_str().unwrap().to_string();
            (text("id"), text("event"))
        })
        .collect()
}

#[test]
fn a_failed_event_retried_while_serve_runs_is_handled_by_that_serve() {
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    let log = env.tmp.path().join("handled.log");
    let failing = env.tmp.path().join("failing");
    std::fs::write(&failing, b"").unwrap();
    let script = format!(
        "if [ -e '{}' ]; then exit 1; fi; {}",
        failing.display(),
        handler(&log)
    );
    let mut sv = start(&env, &s, &script);
    assert_eq!(send(&sv.addr, &deal(&s, 11, APP_TOKEN)), Some(200));
    sv.p.wait_line(30, |l| l.contains("kept as failed"));
    std::fs::remove_file(&failing).unwrap();
    let failed = failed_in_spool(&env, &s);
    assert_eq!(failed.len(), 1, "{failed:?}");
    Env::run_cmd(&mut env.app_cmd(&s, &["events", "retry", &failed[0].0])).assert_ok();
    let line = sv
        .out
        .recv_timeout(Duration::from_secs(30))
        .expect("the running serve took the retried event");
    assert_eq!(line, "deal 11 app none event ONCRMDEALADD");
    let _ = sv.p.child.kill();
    sv.p.child.wait().unwrap();
    assert!(failed_in_spool(&env, &s).is_empty());
}

#[test]
fn failed_events_are_listed_and_retried_after_the_portal_uninstalled_the_app() {
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    let mut sv = start(&env, &s, "cat > /dev/null; exit 1");
    assert_eq!(send(&sv.addr, &deal(&s, 12, APP_TOKEN)), Some(200));
    sv.p.wait_line(30, |l| l.contains("kept as failed"));
    let body = uninstall_form(MEMBER_ID, APP_TOKEN, &s.host());
    assert_eq!(send(&sv.addr, &body), Some(200));
    let _ = sv.p.child.kill();
    sv.p.child.wait().unwrap();
    // The profile is marked: a command that would use it exits 3...
    Env::run_cmd(&mut env.app_cmd(&s, &["token"])).assert_error(3);
    // ...but the events kept here are still there to list and retry.
    let failed = failed_in_spool(&env, &s);
    assert!(
        failed.iter().any(|(_, event)| event == "ONCRMDEALADD"),
        "{failed:?}"
    );
    Env::run_cmd(&mut env.app_cmd(&s, &["events", "retry", &failed[0].0])).assert_ok();
    assert_eq!(failed_in_spool(&env, &s).len(), failed.len() - 1);
}

/// A profile named after the portal that holds another app's pair is never replaced by this
/// app's install: the install goes to a profile beside it, and both pairs stay.
#[test]
fn an_install_never_replaces_another_apps_profile_of_the_same_portal() {
    let (env, s) = (Env::new(), StandIn::start());
    let name = s.host().replace(':', "-");
    let (other, path) = another_apps_profile(&env, &s, &name);
    std::fs::remove_file(env.auth_path()).unwrap();
    let dir = env.dir.join("profiles");
    let log = env.tmp.path().join("handled.log");
    let mut sv = start(&env, &s, &handler(&log));
    let pair = s.issue_pair();
    let r = crate::support::http::post(
        &sv.addr,
        &format!("{PREFIX}/install"),
        FORM,
        install_form(&pair, &s.host(), APP_TOKEN).as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let _ = sv.p.child.kill();
    sv.p.child.wait().unwrap();
    let read = |p: &std::path::Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let kept = read(&path);
    assert_eq!(kept["refresh_token"], other["refresh_token"], "{kept}");
    assert_eq!(kept["client_id"], "local.otherapp");
    let beside = dir.join(format!(
        "{name}-{}.json",
        crate::support::stand_in::CLIENT_ID
    ));
    let ours = read(&beside);
    assert_eq!(ours["access_token"], pair["access_token"], "{ours}");
}

#[test]
fn a_second_serve_on_one_config_dir_is_refused_before_it_touches_the_journal() {
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    let log = env.tmp.path().join("handled.log");
    let mut sv = start(&env, &s, &handler(&log));
    let args = ["serve", "--listen", "127.0.0.1:0", "--path", PREFIX];
    let second = Env::run_cmd(&mut env.app_cmd(&s, &args));
    let line = second.assert_error(1);
    assert!(
        line.contains("another `b24auth serve`") && line.contains("--config-dir"),
        "{line}"
    );
    // The first one still keeps and hands out events.
    assert_eq!(send(&sv.addr, &deal(&s, 13, APP_TOKEN)), Some(200));
    assert_eq!(
        sv.out.recv_timeout(Duration::from_secs(30)).unwrap(),
        "deal 13 app none event ONCRMDEALADD"
    );
    let _ = sv.p.child.kill();
    sv.p.child.wait().unwrap();
}

#[test]
fn a_handled_event_is_not_handed_out_again_after_a_restart() {
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    let log = env.tmp.path().join("handled.log");
    let mut sv = start(&env, &s, &handler(&log));
    assert_eq!(send(&sv.addr, &deal(&s, 21, APP_TOKEN)), Some(200));
    assert_eq!(
        sv.out.recv_timeout(Duration::from_secs(30)).unwrap(),
        "deal 21 app none event ONCRMDEALADD"
    );
    terminate(&sv);
    assert_eq!(sv.p.child.wait().unwrap().code(), Some(143));
    // What a run left is handed out before anything new: were 21 handed out again, its line
    // would come first.
    let mut sv = start(&env, &s, &handler(&log));
    assert_eq!(send(&sv.addr, &deal(&s, 22, APP_TOKEN)), Some(200));
    assert_eq!(
        sv.out.recv_timeout(Duration::from_secs(30)).unwrap(),
        "deal 22 app none event ONCRMDEALADD"
    );
    let _ = sv.p.child.kill();
    sv.p.child.wait().unwrap();
    let journal = env.dir.join("events/serve/journal");
    let logs = std::fs::read_dir(&journal)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "log")
        })
        .count();
    assert_eq!(logs, 1, "the first run's segment, all settled, went");
}

/// `member_id` names the portal, not the app: this app's uninstall leaves another app's
/// profile of the same portal alone.
#[test]
fn an_uninstall_leaves_another_apps_profile_of_the_portal_alone() {
    let (env, s) = (Env::new(), StandIn::start());
    let (other, _) = another_apps_profile(&env, &s, "appa");
    seed_app(&env, &s);
    let log = env.tmp.path().join("handled.log");
    let mut sv = start(&env, &s, &handler(&log));
    let body = uninstall_form(MEMBER_ID, APP_TOKEN, &s.host());
    assert_eq!(send(&sv.addr, &body), Some(200));
    let line = sv.out.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(line.ends_with("event ONAPPUNINSTALL"), "{line}");
    let _ = sv.p.child.kill();
    sv.p.child.wait().unwrap();
    let ours = Env::run_cmd(&mut env.app_cmd(&s, &["token", "--min-ttl", "999999"]));
    assert!(ours.assert_error(3).contains("uninstalled"));
    let theirs = Env::run_cmd(&mut env.cmd(&["--profile", "appa", "token"]));
    theirs.assert_ok();
    assert_eq!(
        theirs.stdout.trim(),
        other["access_token"].as_str().unwrap()
    );
}

/// A handler stopped at its timeout goes with everything it started (its process group): the
/// event's next run never has the last one's work beside it.
#[test]
fn a_handler_stopped_at_its_timeout_takes_what_it_started_with_it() {
    let (env, s) = (Env::new(), StandIn::start());
    seed_app(&env, &s);
    let pid_file = env.tmp.path().join("background.pid");
    let script = format!("sleep 60 & echo $! > '{}'; wait", pid_file.display());
    let args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--path",
        PREFIX,
        "--tries",
        "1",
        "--timeout-handler",
        "1s",
        "--exec",
        "sh",
        "-c",
        &script,
    ];
    let mut p = env.spawn(&mut env.app_cmd(&s, &args));
    let addr = p.wait_address("serving events on ");
    assert_eq!(send(&addr, &deal(&s, 1, APP_TOKEN)), Some(200));
    p.wait_line(30, |l| l.contains("failed its handler's tries"));
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let alive = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|st| {
            !st.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while alive() && std::time::Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert!(!alive(), "the handler's child {pid} outlived its stop");
    let _ = p.child.kill();
    p.child.wait().unwrap();
}
