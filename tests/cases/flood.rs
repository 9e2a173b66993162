//! A descriptor flood against the install listener, and a verification that fails for a local
//! reason: the one-shot callback is answered 200 and saved through the flood, and a callback
//! b24auth could not verify is answered 503 (retry), never refused as forged.

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

use super::install_listen::PATH;
use crate::support::callbacks::{install_form, INSTALL_APP_TOKEN};
use crate::support::cli::{Env, Spawned};
use crate::support::http;
use crate::support::outage::Outage;
use crate::support::stand_in::StandIn;

#[path = "../../bench/sockets.rs"]
mod sockets;
use sockets::{Bounds, Flood, Kind};

const FORM: &str = "application/x-www-form-urlencoded";
/// The flood: this many sockets, each reconnecting as soon as the listener closes it.
const SOCKETS: usize = 3000;
/// Bounds on the flood: reconnections per socket, and its whole duration.
const ROUNDS: usize = 200;
const FLOOD_LIFETIME: Duration = Duration::from_secs(120);

fn nofile() -> libc::rlimit {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    limit
}

/// Raises this test process's soft descriptor limit to its hard one: it holds the flood's
/// sockets and the stand-in's. Fails (never skips) when the hard limit is too low.
fn raise_own_limit(needed: usize) {
    let limit = nofile();
    let raised = libc::rlimit {
        rlim_cur: limit.rlim_max,
        rlim_max: limit.rlim_max,
    };
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) }, 0);
    assert!(
        usize::try_from(raised.rlim_cur).unwrap_or(usize::MAX) >= needed,
        "this test needs {needed} descriptors; the hard limit is {} (raise it: ulimit -Hn)",
        raised.rlim_max
    );
}

/// `cmd` runs with RLIMIT_NOFILE soft `soft` and hard `hard` (what `ulimit -n` sets).
fn with_nofile(cmd: &mut Command, soft: libc::rlim_t, hard: libc::rlim_t) -> &mut Command {
    let limit = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: setrlimit is async-signal-safe and only reads `limit`.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        })
    }
}

fn listen(env: &Env, s: &StandIn, soft: libc::rlim_t, hard: libc::rlim_t) -> (Spawned, String) {
    env.listen(with_nofile(
        &mut env.install_listen(s, true, PATH, &[]),
        soft,
        hard,
    ))
}

/// `authorize` redirected to a free loopback port, under a descriptor limit of `nofile`: the
/// process, the redirect's `host:port`, and the authorize URL it printed.
fn authorize(env: &Env, s: &StandIn, nofile: libc::rlim_t) -> (Spawned, String, String) {
    let (mut cmd, addr) = env.authorize(s, &["--no-browser"]);
    let mut p = env.spawn(with_nofile(&mut cmd, nofile, nofile));
    let url = p.wait_authorize_url();
    (p, addr, url)
}

/// `SOCKETS` idle sockets that reconnect as soon as they are closed.
fn idle_flood(addr: &str) -> Flood {
    let bounds = Bounds {
        sockets: SOCKETS,
        rounds: ROUNDS,
        lifetime: FLOOD_LIFETIME,
    };
    Flood::start(Kind::Idle, addr, "/", bounds)
}

/// The bar: under `ulimit -n 1024`, 3,000 reconnecting idle sockets, and the genuine callback
/// still answers 200 and is saved.
#[test]
fn the_callback_is_saved_through_a_descriptor_flood() {
    raise_own_limit(SOCKETS + 1000);
    let s = StandIn::start();
    let env = Env::new();
    let (p, addr) = listen(&env, &s, 1024, 1024);
    let pair = s.issue_pair();
    let good = install_form(&pair, &s.host(), INSTALL_APP_TOKEN);

    let flood = idle_flood(&addr);
    // Without room made, not every socket gets in: the callback is then sent into the flood
    // anyway, and the check that it was in full swing comes after the callback's.
    let full_swing = flood.wait_all_started(30);
    let before = flood.counts.get(&flood.counts.connects);
    let sent = Instant::now();
    let r = http::post(&addr, PATH, FORM, good.as_bytes());
    let latency = sent.elapsed();
    let during = flood.counts.get(&flood.counts.connects) - before;
    let counts = flood.stop();
    let (connects, closed) = (counts.get(&counts.connects), counts.get(&counts.closed));

    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, r#"{"status":"success"}"#);
    assert!(
        full_swing,
        "all {SOCKETS} sockets connected before the callback"
    );
    let run = p.finish();
    run.assert_ok();
    assert!(!run.stderr.contains("verif"), "{}", run.stderr);
    let auth = env.auth();
    assert_eq!(auth["refresh_token"], pair["refresh_token"]);
    assert_eq!(auth["b24auth"]["portal"], s.host());
    assert!(
        closed > SOCKETS / 2,
        "the listener made room by closing idle sockets ({closed} closed)"
    );
    eprintln!(
        "flood: {SOCKETS} reconnecting idle sockets, ulimit -n 1024: the callback answered 200 in \
         {latency:?} ({during} connections opened meanwhile); {connects} connections in all, \
         {closed} closed by the listener"
    );
}

/// The same flood against `authorize`'s listener: the browser's redirect still completes it.
#[test]
fn the_authorize_redirect_lands_through_a_descriptor_flood() {
    raise_own_limit(SOCKETS + 1000);
    let s = StandIn::start();
    let env = Env::new();
    let (p, addr, url) = authorize(&env, &s, 1024);

    let flood = idle_flood(&addr);
    let full_swing = flood.wait_all_started(30);
    let sent = Instant::now();
    let r = http::follow(&url);
    let latency = sent.elapsed();
    let counts = flood.stop();
    let closed = counts.get(&counts.closed);

    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        full_swing,
        "all {SOCKETS} sockets connected before the redirect"
    );
    p.finish().assert_ok();
    assert_eq!(s.counters().code_exchanges, 1);
    assert!(env.auth()["refresh_token"].is_string());
    assert!(closed > SOCKETS / 2, "{closed} closed");
    eprintln!("flood: authorize's redirect answered 200 in {latency:?}");
}

/// The soft limit is raised to the hard one before the listener tells anyone its address.
#[test]
fn the_listener_raises_its_soft_descriptor_limit() {
    let hard = nofile().rlim_max.min(4096);
    assert!(
        hard > 256,
        "the hard limit ({hard}) leaves nothing to raise to"
    );
    let s = StandIn::start();
    let env = Env::new();
    let (p, _addr) = listen(&env, &s, 256, hard);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", p.child.id())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let values: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
    assert_eq!(values, [hard.to_string(), hard.to_string()], "{line}");
    let mut p = p;
    p.child.kill().unwrap();
    let _ = p.finish();
}

/// The OAuth server refuses connections, then never answers: no verdict, so the callback is
/// kept as a candidate and answered 200 (never 503: Bitrix24 does not send it again), and the
/// listener keeps waiting; the retry once the server is back is verified and saved.
#[test]
fn a_verification_that_fails_locally_keeps_a_candidate_and_a_retry_is_saved() {
    let s = StandIn::start();
    let env = Env::new();
    let mut outage = Outage::refusing();
    let mut cmd = env.install_listen(&s, true, PATH, &[]);
    cmd.env("B24AUTH_OAUTH_SERVER", &outage.base);
    let (mut p, addr) = env.listen(&mut cmd);
    let pair = s.issue_pair();
    let good = install_form(&pair, &s.host(), INSTALL_APP_TOKEN);

    let r = http::post(&addr, PATH, FORM, good.as_bytes());
    assert_eq!(r.status, 200, "connection refused: {r:?}");
    let line = p.wait_line(5, |l| l.contains("CANDIDATE"));
    assert!(line.contains("still listening"), "{line}");
    assert!(line.contains("Connection refused"), "{line}");

    outage.hang();
    let r = http::post(&addr, PATH, FORM, good.as_bytes());
    assert_eq!(r.status, 200, "no answer in time: {r:?}");
    let line = p.wait_line(30, |l| l.contains("CANDIDATE"));
    assert!(line.contains("timed out"), "{line}");
    assert!(
        !env.auth_path().exists(),
        "no profile without a verification"
    );
    assert!(
        env.dir.join("auth.candidates").exists(),
        "kept as a candidate"
    );
    assert_eq!(s.counters().app_info_server, 0);

    outage.forward_to(&s.base);
    let r = http::post(&addr, PATH, FORM, good.as_bytes());
    assert_eq!(r.status, 200, "{r:?}");
    let run = p.finish();
    run.assert_ok();
    assert!(
        !run.stderr.contains("failed verification"),
        "{}",
        run.stderr
    );
    assert_eq!(s.counters().app_info_server, 1);
    let auth = env.auth();
    assert_eq!(auth["refresh_token"], pair["refresh_token"]);
    assert!(!run.stderr.contains(pair["access_token"].as_str().unwrap()));
    assert!(
        !env.run(&["show"]).stdout.contains("candidate"),
        "the candidate holding the saved pair is gone"
    );
}

/// Keep-alive sockets trickling invalid requests, more than the listener may hold under a
/// descriptor limit of 256: each is answered 400, and a connection whose requests were all
/// invalid makes way for the genuine redirect. Counted in the flood's own requests, not in
/// seconds: before, the genuine redirect waited until a trickler's connection reached its
/// 60 s lifetime (about 50 requests per held socket).
#[test]
fn trickled_invalid_requests_make_way_for_the_redirect() {
    const TRICKLERS: usize = 400;
    raise_own_limit(TRICKLERS + 500);
    let s = StandIn::start();
    let env = Env::new();
    let (p, addr, url) = authorize(&env, &s, 256);
    let location = http::get(&url)
        .header("location")
        .expect("the portal redirects")
        .to_string();
    let bounds = Bounds {
        sockets: TRICKLERS,
        rounds: 1000,
        lifetime: FLOOD_LIFETIME,
    };
    let flood = Flood::start(Kind::Trickle, &addr, "/callback", bounds);
    let full_swing = flood.wait_all_started(30);
    // Each socket has had about two answers: the flood is at full swing.
    let answering = flood.wait_answered(2 * TRICKLERS, 60);
    let c = &flood.counts;
    let before = (c.get(&c.answered), c.get(&c.unanswered));
    let r = http::get(&location);
    let during = c.get(&c.answered) - before.0;
    let counts = flood.stop();

    assert!(full_swing, "all {TRICKLERS} sockets connected");
    assert_eq!(r.status, 200, "{r:?}");
    p.finish().assert_ok();
    assert!(env.auth()["refresh_token"].is_string());
    assert!(answering, "the flood's requests were answered");
    assert_eq!(before.1, 0, "no complete request closed unanswered");
    assert!(
        during < 3 * TRICKLERS,
        "the redirect was answered only after {during} flood requests ({} in all)",
        counts.get(&counts.answered)
    );
}
