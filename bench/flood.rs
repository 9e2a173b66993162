//! The listener under floods (issue 26, item 2): under `ulimit -n 1024`, how long a genuine
//! install callback (`install-listen`) and a genuine redirect (`authorize`) take to be answered
//! while 3,000 reconnecting idle sockets, or 1,000 keep-alive sockets trickling invalid
//! requests, hold the listener. Loopback only; every flood is bounded in sockets, rounds and
//! time. Run with `bench/run` or `cargo bench --bench flood [-- RUNS]` (7 runs by default).

#[path = "sockets.rs"]
mod sockets;
#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

use sockets::{Bounds, Flood, Kind};
use support::cli::{Env, Spawned};
use support::stand_in::StandIn;

const LIMIT: libc::rlim_t = 1024;
const PATH: &str = "/install/0123456789abcdef0123456789abcdef";
/// The longest a genuine request is waited for: past this it counts as lost.
const PATIENCE: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, PartialEq)]
enum Flow {
    InstallListen,
    Authorize,
}

fn main() {
    raise_own_limit();
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(7);
    let s = StandIn::start();
    println!("| measurement | median | max | answered and saved |");
    println!("|---|---|---|---|");
    for kind in [Kind::Idle, Kind::Trickle] {
        for flow in [Flow::InstallListen, Flow::Authorize] {
            let mut times = Vec::new();
            let mut good = 0;
            for _ in 0..runs {
                let (t, ok) = one_run(&s, kind, flow);
                times.push(t);
                good += usize::from(ok);
            }
            times.sort();
            let flood = match kind {
                Kind::Idle => "3,000 reconnecting idle sockets",
                Kind::Trickle => "1,000 keep-alive sockets trickling invalid requests",
            };
            let what = match flow {
                Flow::InstallListen => "install-listen: genuine callback",
                Flow::Authorize => "authorize: genuine redirect",
            };
            println!(
                "| {what} under {flood}, ulimit -n {LIMIT} ({runs} runs) | {} | {} | {good}/{runs} |",
                secs(times[times.len() / 2]),
                secs(times[times.len() - 1])
            );
        }
    }
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

/// One flood, one genuine request: its time to the answer, and whether it was answered 200
/// and the pair saved.
fn one_run(s: &StandIn, kind: Kind, flow: Flow) -> (Duration, bool) {
    let env = Env::new();
    let (mut p, addr, genuine) = start(&env, s, flow);
    let bounds = match kind {
        Kind::Idle => Bounds {
            sockets: 3000,
            rounds: 200,
            lifetime: Duration::from_secs(120),
        },
        Kind::Trickle => Bounds {
            sockets: 1000,
            rounds: 200,
            lifetime: Duration::from_secs(120),
        },
    };
    let path = match flow {
        Flow::InstallListen => PATH,
        Flow::Authorize => "/callback",
    };
    let flood = Flood::start(kind, &addr, path, bounds);
    flood.wait_all_started(30);
    if kind == Kind::Trickle {
        // Each socket has had about two answers: the trickle is at full swing.
        flood.wait_answered(2 * bounds.sockets, 60);
    }
    let unanswered = flood.counts.get(&flood.counts.unanswered);
    let sent = Instant::now();
    let answer = genuine(&addr);
    let took = sent.elapsed();
    let counts = flood.stop();
    let _ = p.child.kill();
    let run = p.finish();
    let saved = env.auth_path().exists();
    let ok = answer.starts_with("HTTP/1.1 200") && saved;
    if !ok {
        eprintln!(
            "not answered 200 and saved: {:?} (saved: {saved}); stderr: {}",
            answer.lines().next(),
            run.stderr
        );
    }
    eprintln!(
        // Requests closed unanswered once the flow ended (the process exits) do not count.
        "{kind:?} {}: {took:?}; flood: {} connects, {} closed, {} answered; {unanswered} \
         complete requests closed unanswered before the genuine one was sent",
        if flow == Flow::Authorize {
            "authorize"
        } else {
            "install-listen"
        },
        counts.get(&counts.connects),
        counts.get(&counts.closed),
        counts.get(&counts.answered),
    );
    (took, ok)
}

type Genuine = Box<dyn Fn(&str) -> String>;

/// Starts the flow under `ulimit -n 1024`; returns it, its address and its genuine request.
fn start(env: &Env, s: &StandIn, flow: Flow) -> (Spawned, String, Genuine) {
    match flow {
        Flow::InstallListen => {
            let mut cmd = env.app_cmd(
                s,
                &["install-listen", "--listen", "127.0.0.1:0", "--path", PATH],
            );
            // The product's own HTTP timeout, not the tests' short one.
            cmd.env_remove("B24AUTH_HTTP_TIMEOUT");
            let mut p = env.spawn(with_nofile(&mut cmd));
            let addr = p.wait_listening();
            let body = form(s);
            let genuine: Genuine = Box::new(move |addr| post(addr, &body));
            (p, addr, genuine)
        }
        Flow::Authorize => {
            let addr = format!("127.0.0.1:{}", support::http::free_port());
            let redirect = format!("http://{addr}/callback");
            s.set_redirect_uri(&redirect);
            let mut cmd = env.app_cmd(
                s,
                &[
                    "authorize",
                    "--domain",
                    &s.base,
                    "--redirect-uri",
                    &redirect,
                    "--no-browser",
                ],
            );
            cmd.env_remove("B24AUTH_HTTP_TIMEOUT");
            let mut p = env.spawn(with_nofile(&mut cmd));
            let url = p.wait_authorize_url();
            // The portal's answer (a redirect to the listener) is fetched before the clock starts.
            let location = support::http::get(&url)
                .header("location")
                .expect("the stand-in redirects")
                .to_string();
            let genuine: Genuine = Box::new(move |_| get(&location));
            (p, addr, genuine)
        }
    }
}

fn post(addr: &str, body: &str) -> String {
    let req = format!(
        "POST {PATH} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    send(addr, &req)
}

fn get(url: &str) -> String {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    send(
        host,
        &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
    )
}

/// One write on a fresh connection, then the answer (empty when closed unanswered).
fn send(addr: &str, req: &str) -> String {
    let Ok(mut c) = TcpStream::connect_timeout(&addr.parse().unwrap(), PATIENCE) else {
        return String::new();
    };
    c.set_read_timeout(Some(PATIENCE)).unwrap();
    c.set_nodelay(true).unwrap();
    let _ = c.write_all(req.as_bytes());
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn form(s: &StandIn) -> String {
    let mut pair = s.issue_pair();
    pair["domain"] = serde_json::Value::String(s.host());
    let mut f = url::form_urlencoded::Serializer::new(String::new());
    f.append_pair("event", "ONAPPINSTALL");
    for (k, v) in pair.as_object().unwrap() {
        let v = match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        f.append_pair(&format!("auth[{k}]"), &v);
    }
    f.finish()
}

fn with_nofile(cmd: &mut Command) -> &mut Command {
    let limit = libc::rlimit {
        rlim_cur: LIMIT,
        rlim_max: LIMIT,
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

/// This process holds every flood socket: its soft limit goes to the hard one.
fn raise_own_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read or write only the struct given.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
    assert!(
        limit.rlim_cur >= 4500,
        "the flood needs 4,500 descriptors; the hard limit is {} (raise it: ulimit -Hn)",
        limit.rlim_max
    );
}
