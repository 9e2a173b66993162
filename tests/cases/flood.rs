//! A descriptor flood against the install listener, and a verification that fails for a local
//! reason: the one-shot callback is answered 200 and saved through the flood, and a callback
//! b24auth could not verify is answered 503 (retry), never refused as forged.

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::install_listen::{bitrix_form, PATH};
use crate::support::cli::{Env, Spawned};
use crate::support::http;
use crate::support::outage::Outage;
use crate::support::stand_in::StandIn;

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
    let mut cmd = env.app_cmd(
        s,
        &["install-listen", "--listen", "127.0.0.1:0", "--path", PATH],
    );
    let mut p = env.spawn(with_nofile(&mut cmd, soft, hard));
    let addr = p.wait_listening();
    (p, addr)
}

/// What the flood did.
#[derive(Default)]
struct Counts {
    /// Connections made, reconnections included.
    connects: AtomicUsize,
    /// Connections the listener closed while they had sent nothing.
    closed: AtomicUsize,
    /// Sockets connected at least once (the flood is in full swing at [`SOCKETS`]).
    started: Mutex<usize>,
    all_started: Condvar,
}

/// `SOCKETS` idle sockets to `addr` that reconnect as soon as they are closed, until `stop`
/// (or their bounds) end them.
struct Flood {
    counts: Arc<Counts>,
    stop: tokio::sync::watch::Sender<bool>,
    thread: std::thread::JoinHandle<()>,
}

impl Flood {
    fn start(addr: &str) -> Flood {
        let counts = Arc::new(Counts::default());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let (addr, shared) = (addr.to_string(), Arc::clone(&counts));
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let tasks: Vec<_> = (0..SOCKETS)
                    .map(|_| {
                        tokio::spawn(idle_socket(
                            addr.clone(),
                            Arc::clone(&shared),
                            stopped.clone(),
                        ))
                    })
                    .collect();
                for t in tasks {
                    let _ = t.await;
                }
            });
        });
        Flood {
            counts,
            stop,
            thread,
        }
    }

    /// Blocks until every socket has connected once (at most `secs`); true if they all did.
    fn wait_all_started(&self, secs: u64) -> bool {
        let started = self.counts.started.lock().unwrap();
        let (_started, timeout) = self
            .counts
            .all_started
            .wait_timeout_while(started, Duration::from_secs(secs), |n| *n < SOCKETS)
            .unwrap();
        !timeout.timed_out()
    }

    fn stop(self) -> (usize, usize) {
        self.stop.send_replace(true);
        self.thread.join().unwrap();
        let c = &self.counts;
        (
            c.connects.load(Ordering::Relaxed),
            c.closed.load(Ordering::Relaxed),
        )
    }
}

async fn idle_socket(
    addr: String,
    counts: Arc<Counts>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::io::AsyncReadExt;
    let deadline = tokio::time::Instant::now() + FLOOD_LIFETIME;
    let mut started = false;
    for _ in 0..ROUNDS {
        let connect = tokio::time::timeout_at(deadline, tokio::net::TcpStream::connect(&addr));
        let mut socket = tokio::select! {
            c = connect => match c {
                Ok(Ok(socket)) => socket,
                Ok(Err(_)) => continue,
                Err(_) => return,
            },
            _ = stop.wait_for(|s| *s) => return,
        };
        counts.connects.fetch_add(1, Ordering::Relaxed);
        if !started {
            started = true;
            let mut n = counts.started.lock().unwrap();
            *n += 1;
            if *n == SOCKETS {
                counts.all_started.notify_all();
            }
        }
        let mut byte = [0u8; 1];
        tokio::select! {
            _ = socket.read(&mut byte) => {
                counts.closed.fetch_add(1, Ordering::Relaxed);
            }
            _ = stop.wait_for(|s| *s) => return,
            _ = tokio::time::sleep_until(deadline) => return,
        }
    }
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
    let good = bitrix_form(&pair, &s.host());

    let flood = Flood::start(&addr);
    // Without room made, not every socket gets in: the callback is then sent into the flood
    // anyway, and the check that it was in full swing comes after the callback's.
    let full_swing = flood.wait_all_started(30);
    let before = flood.counts.connects.load(Ordering::Relaxed);
    let sent = Instant::now();
    let r = http::post(&addr, PATH, FORM, good.as_bytes());
    let latency = sent.elapsed();
    let during = flood.counts.connects.load(Ordering::Relaxed) - before;
    let (connects, closed) = flood.stop();

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
    let addr = format!("127.0.0.1:{}", http::free_port());
    let redirect = format!("http://{addr}/callback");
    s.set_redirect_uri(&redirect);
    let mut cmd = env.app_cmd(
        &s,
        &[
            "authorize",
            "--domain",
            &s.base,
            "--redirect-uri",
            &redirect,
            "--no-browser",
        ],
    );
    let mut p = env.spawn(with_nofile(&mut cmd, 1024, 1024));
    let url = p.wait_authorize_url();

    let flood = Flood::start(&addr);
    let full_swing = flood.wait_all_started(30);
    let sent = Instant::now();
    let r = http::follow(&url);
    let latency = sent.elapsed();
    let (_, closed) = flood.stop();

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
    let mut cmd = env.app_cmd(
        &s,
        &["install-listen", "--listen", "127.0.0.1:0", "--path", PATH],
    );
    cmd.env("B24AUTH_OAUTH_SERVER", &outage.base);
    let mut p = env.spawn(&mut cmd);
    let addr = p.wait_listening();
    let pair = s.issue_pair();
    let good = bitrix_form(&pair, &s.host());

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
