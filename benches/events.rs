//! Issue 29's bars, against the stand-in: `serve --exec true` accepting 20,000 events from 50
//! concurrent senders (accepted/s, p99 answer, RSS), and `events pull --exec true` draining
//! 10,000 offline events at the portal's bucket pace (requests, wall, RSS), and `serve` again
//! with its event queue in PostgreSQL (fsync on). `bench/run` runs it; timing is never a test.

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::callbacks::event_form;
use support::cli::Env;
use support::stand_in::{StandIn, MEMBER_ID};

const APP_TOKEN: &str = "51856fefc120afa4b628cc82d3935cce";
const PREFIX: &str = "/b24/0123456789abcdef0123456789abcdef";

fn seed(env: &Env, s: &StandIn) {
    let mut doc = env.seed(s, 3600);
    doc["application_token"] = APP_TOKEN.into();
    env.write_auth(&serde_json::to_vec_pretty(&doc).unwrap());
}

fn vm_hwm_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn post(addr: &str, body: &str) -> u16 {
    let mut s = TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST {PREFIX}/event HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    support::http::parse(&buf).status
}

/// `serve --exec true` with 8 handlers, its profiles (and queue) in `store` when given: the
/// process and the address it serves on.
fn serve(env: &Env, s: &StandIn, store: Option<&str>) -> (support::cli::Spawned, String) {
    let args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--path",
        PREFIX,
        "--concurrency",
        "8",
        "--exec",
        "true",
    ];
    let mut cmd = env.app_cmd(s, &args);
    if let Some(url) = store {
        cmd.env("B24AUTH_STORE", url);
    }
    let mut p = env.spawn(&mut cmd);
    let addr = p.wait_address("serving events on ");
    (p, addr)
}

fn serve_bench() -> Vec<String> {
    let (env, s) = (Env::new(), StandIn::start());
    seed(&env, &s);
    let (mut p, addr) = serve(&env, &s, None);
    let (lat, wall) = flood(&addr, 50, 400);
    let p99 = lat[lat.len() * 99 / 100];
    let rss = vm_hwm_kib(p.child.id());
    let _ = p.child.kill();
    let _ = p.child.wait();
    vec![
        format!("| serve --exec true, 20,000 events, 50 senders: accepted | {:.0} events/s | bar: at least 1,000/s |", lat.len() as f64 / wall.as_secs_f64()),
        format!("| serve: p99 answer (durable before 200) | {:.1} ms | bar: at most 20 ms |", p99.as_secs_f64() * 1000.0),
        format!("| serve: RSS (VmHWM) | {:.1} MiB | bar: at most 30 MiB |", rss as f64 / 1024.0),
    ]
}

fn pull_bench() -> Vec<String> {
    let (env, s) = (Env::new(), StandIn::start());
    seed(&env, &s);
    s.queue_offline(10_000);
    s.enable_rate_limit();
    let mut cmd = env.app_cmd(&s, &["events", "pull", "--exec", "true"]);
    cmd.env_remove("B24AUTH_HTTP_TIMEOUT");
    let before = s.counters().rest_calls;
    let started = Instant::now();
    let mut child = cmd.stderr(std::process::Stdio::piped()).spawn().unwrap();
    let pid = child.id();
    let mut hwm = 0;
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || std::io::BufReader::new(stderr).lines().count());
    while child.try_wait().unwrap().is_none() {
        hwm = hwm.max(vm_hwm_kib(pid));
        std::thread::sleep(Duration::from_millis(200));
    }
    let wall = started.elapsed();
    reader.join().unwrap();
    assert!(s.offline_rows().is_empty(), "drained");
    vec![
        format!("| events pull --exec true, 10,000 offline events (limit 50, bucket 2/s burst 50): requests | {} | one get and one clear a batch |", s.counters().rest_calls - before),
        format!("| events pull: wall | {:.1} s | the portal's bucket pace |", wall.as_secs_f64()),
        format!("| events pull: RSS (VmHWM) | {:.1} MiB | |", hwm as f64 / 1024.0),
    ]
}

/// `serve` with `--store postgres://…`: each 200 waits for the event's commit, on a real
/// cluster with `fsync` on; also how long the handlers take to empty the queue after the last
/// answer.
fn serve_pg_bench() -> Vec<String> {
    let (env, s) = (Env::new(), StandIn::start());
    seed(&env, &s);
    let cluster = support::postgres::Cluster::start();
    cluster.restart_durable();
    let url = cluster.database();
    support::cli::Env::run_cmd(&mut env.cmd(&["store", "copy", "--from", "file", "--to", &url]))
        .assert_ok();
    let (mut p, addr) = serve(&env, &s, Some(&url));
    let (lat, wall) = flood(&addr, 50, 400);
    let answered = Instant::now();
    let db = support::postgres::db_of(&url);
    let deadline = answered + Duration::from_secs(300);
    while cluster
        .psql(db, "SELECT count(*) FROM b24auth_events")
        .trim()
        != "0"
    {
        assert!(Instant::now() < deadline, "the queue did not empty");
        std::thread::sleep(Duration::from_millis(100));
    }
    let drained = answered.elapsed();
    let p99 = lat[lat.len() * 99 / 100];
    let rss = vm_hwm_kib(p.child.id());
    let _ = p.child.kill();
    let _ = p.child.wait();
    let n = lat.len();
    vec![
        format!("| serve, PostgreSQL queue (fsync on), 20,000 events, 50 senders: accepted | {:.0} events/s | bar: at least 1,000/s |", n as f64 / wall.as_secs_f64()),
        format!("| serve, PostgreSQL queue: p99 answer (committed before 200) | {:.1} ms | bar: at most 20 ms |", p99.as_secs_f64() * 1000.0),
        format!("| serve, PostgreSQL queue: RSS (VmHWM) | {:.1} MiB | bar: at most 30 MiB |", rss as f64 / 1024.0),
        format!("| serve, PostgreSQL queue: every handler run, queue empty | {:.1} s after the last answer ({:.0} events/s handled overall) | |", drained.as_secs_f64(), n as f64 / (wall + drained).as_secs_f64()),
    ]
}

/// `each` events from each of `senders` threads; every answer's latency (sorted), and the wall.
fn flood(addr: &str, senders: usize, each: usize) -> (Vec<Duration>, Duration) {
    let started = Instant::now();
    let threads: Vec<_> = (0..senders)
        .map(|t| {
            let addr = addr.to_string();
            std::thread::spawn(move || {
                (0..each)
                    .map(|i| {
                        let id = (t * each + i) as u64;
                        let body =
                            event_form("ONCRMDEALADD", id, MEMBER_ID, APP_TOKEN, "portal.example");
                        let at = Instant::now();
                        assert_eq!(post(&addr, &body), 200);
                        at.elapsed()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut lat: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let wall = started.elapsed();
    lat.sort();
    (lat, wall)
}

fn main() {
    let pg_only = std::env::var_os("B24AUTH_BENCH_SERVE_PG_ONLY").is_some();
    let mut rows = match pg_only {
        true => Vec::new(),
        false => serve_bench(),
    };
    if std::env::var_os("B24AUTH_BENCH_SERVE_ONLY").is_none() && !pg_only {
        rows.extend(pull_bench());
    }
    if std::env::var_os("B24AUTH_BENCH_SERVE_ONLY").is_none() {
        rows.extend(serve_pg_bench());
    }
    let mut out = String::from("\n| measurement | figure | comparison |\n|---|---|---|\n");
    for r in rows {
        out.push_str(&r);
        out.push('\n');
    }
    print!("{out}");
}
