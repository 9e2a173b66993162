//! REST exports at a real portal's pace (issues 14 and 22): the stand-in with Bitrix24's leaky
//! bucket (burst 50, 2/s, then 503) working 40 ms (then 200 ms) per list command, a `batch`
//! running its commands one after another while separate requests are served side by side;
//! 10,000 deals read by `b24auth call --all`, `--all --by-id` and fast-bitrix24's `get_all`
//! (installed from PyPI into a throwaway virtualenv), whole processes, interleaved round by
//! round; 100,000 deals for requests, wall time and peak RSS; then a host's crowd: 80 `call`s
//! and 3 exports started at once against one portal. Run with `bench/run` (or
//! `cargo bench --bench rest`).

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::cli::Env;
use support::stand_in::StandIn;

/// One whole process: wall time, peak RSS (KiB), and the lines it printed.
struct Measured {
    wall: Duration,
    rss_kib: u64,
    lines: usize,
}

/// Runs `cmd` under GNU time, whose own small fork is what execs the command: a child forked
/// from this bench would start its peak RSS from the bench's (the stand-in, the files read).
fn measure(cmd: &Command, out: &Path) -> Measured {
    let rss_file = out.with_extension("rss");
    let mut timed = Command::new("/usr/bin/time");
    timed
        .args(["-f", "%M", "-o"])
        .arg(&rss_file)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => timed.env(k, v),
            None => timed.env_remove(k),
        };
    }
    let start = Instant::now();
    let status = timed
        .stdout(std::fs::File::create(out).unwrap())
        .stderr(Stdio::inherit())
        .status()
        .expect("GNU time is needed: run scripts/install-test-deps");
    let wall = start.elapsed();
    assert!(status.success(), "{cmd:?} failed");
    let rss = std::fs::read_to_string(&rss_file).unwrap();
    Measured {
        wall,
        rss_kib: rss.trim().lines().last().unwrap().parse().unwrap(),
        lines: count_lines(out),
    }
}

fn count_lines(path: &Path) -> usize {
    let mut f = std::fs::File::open(path).unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut lines = 0;
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            return lines;
        }
        lines += buf[..n].iter().filter(|b| **b == b'\n').count();
    }
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

const FAST_BITRIX24: &str = r#"
import asyncio, json, sys, time
from fast_bitrix24 import BitrixAsync

async def main():
    endpoint, token, out = sys.argv[1], sys.argv[2], sys.argv[3]
    async def token_func():
        return token
    b = BitrixAsync(endpoint, token_func=token_func, verbose=False)
    start = time.perf_counter()
    deals = await b.get_all("crm.deal.list")
    with open(out, "w") as f:
        for d in deals:
            f.write(json.dumps(d) + "\n")
    with open(out + ".secs", "w") as f:
        f.write(str(time.perf_counter() - start))

asyncio.run(main())
"#;

/// A virtualenv with fast-bitrix24 from PyPI; returns its python.
fn fast_bitrix24(dir: &Path) -> std::path::PathBuf {
    let venv = dir.join("venv");
    let ok = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .expect("python3 is needed for the fast-bitrix24 comparison")
        .success();
    assert!(ok, "python3 -m venv failed");
    let ok = Command::new(venv.join("bin/pip"))
        .args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "fast-bitrix24",
        ])
        .status()
        .unwrap()
        .success();
    assert!(
        ok,
        "pip install fast-bitrix24 failed (PyPI must be reachable)"
    );
    std::fs::write(dir.join("get_all.py"), FAST_BITRIX24).unwrap();
    venv.join("bin/python")
}

struct Row(String, String, String);

type MakeCommand<'a> = Box<dyn Fn() -> Command + 'a>;

fn main() {
    let mut rows = Vec::new();
    let venv = tempfile::tempdir().unwrap();
    let python = fast_bitrix24(venv.path());
    compare(
        &mut rows,
        &python,
        10_000,
        Duration::from_millis(40),
        5,
        true,
    );
    compare(
        &mut rows,
        &python,
        10_000,
        Duration::from_millis(200),
        3,
        false,
    );
    compare(
        &mut rows,
        &python,
        100_000,
        Duration::from_millis(40),
        1,
        false,
    );
    crowd(&mut rows);
    let mut table = String::from("\n| measurement | figure | comparison |\n|---|---|---|\n");
    for Row(a, b, c) in rows {
        table.push_str(&format!("| {a} | {b} | {c} |\n"));
    }
    let mut out = std::io::stdout().lock();
    out.write_all(table.as_bytes()).unwrap();
    out.flush().unwrap();
}

/// Per client: (wall times, requests per run, 503s in all).
#[derive(Default)]
struct Runs {
    walls: Vec<Duration>,
    requests: Vec<usize>,
    limited: usize,
    rss_kib: u64,
}

/// `b24auth ARGS` with the default `--http-timeout` (30 s; the test runner's 2 s is for answers
/// that come at once, and a batch of 50 commands at 200 ms each takes the portal 10 s).
fn b24auth(env: &Env, args: &[&str]) -> Command {
    let mut c = env.cmd(args);
    c.env_remove("B24AUTH_HTTP_TIMEOUT");
    c
}

/// A fresh portal bucket and a fresh host budget for the next run: every client starts alike.
fn fresh_budget(s: &StandIn, env: &Env) {
    s.enable_rate_limit();
    let _ = std::fs::remove_dir_all(env.dir.join("budget"));
}

/// `deals` deals, the portal working `work` per command: the three clients, `rounds` rounds
/// interleaved; with `bars`, the issue's bars beside the figures.
fn compare(
    rows: &mut Vec<Row>,
    python: &Path,
    deals: usize,
    work: Duration,
    rounds: usize,
    bars: bool,
) {
    let s = StandIn::start();
    s.set_deals(deals);
    s.set_work(work);
    let env = Env::new();
    let pair = env.seed(&s, 3600);
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("get_all.py"), FAST_BITRIX24).unwrap();
    let out = tmp.path().join("out.jsonl");
    let endpoint = format!("{}/portal/rest/", s.base);
    let token = pair["access_token"].as_str().unwrap().to_string();
    let clients: Vec<(&str, MakeCommand)> = vec![
        (
            "b24auth call crm.deal.list --all",
            Box::new(|| b24auth(&env, &["call", "crm.deal.list", "--all"])),
        ),
        (
            "b24auth call crm.deal.list --all --by-id",
            Box::new(|| b24auth(&env, &["call", "crm.deal.list", "--all", "--by-id"])),
        ),
        (
            "fast-bitrix24 get_all (PyPI, whole process)",
            Box::new(|| {
                let mut c = Command::new(python);
                c.arg(tmp.path().join("get_all.py"))
                    .args([&endpoint, &token])
                    .arg(&out);
                c
            }),
        ),
    ];
    let mut runs: Vec<Runs> = clients.iter().map(|_| Runs::default()).collect();
    // fast-bitrix24's get_all alone, timed inside Python (without its start-up and imports).
    let mut inner = Vec::new();
    for _ in 0..rounds {
        for (i, (name, make)) in clients.iter().enumerate() {
            fresh_budget(&s, &env);
            let (calls, limited) = (s.counters().rest_calls, s.counters().query_limits);
            let m = measure(&make(), &out);
            assert_eq!(m.lines, deals, "{name} printed every deal");
            runs[i].walls.push(m.wall);
            runs[i].requests.push(s.counters().rest_calls - calls);
            runs[i].limited += s.counters().query_limits - limited;
            runs[i].rss_kib = runs[i].rss_kib.max(m.rss_kib);
            if i == 2 {
                let secs = std::fs::read_to_string(format!("{}.secs", out.display())).unwrap();
                inner.push(Duration::from_secs_f64(secs.trim().parse().unwrap()));
            }
        }
    }
    let theirs = median(&mut runs[2].walls.clone());
    let inside = median(&mut inner.clone());
    let setting = format!(
        "{deals} deals, bucket on, {} ms per command",
        work.as_millis()
    );
    for (i, (name, _)) in clients.iter().enumerate() {
        let r = &mut runs[i];
        let wall = median(&mut r.walls);
        let requests = r.requests.iter().max().unwrap();
        let bar = match (bars, i) {
            (true, 0) => " · bar: ≤ 1.0x, no 503",
            (true, 1) => " · bar: ≤ 1.25x, no 503",
            _ => "",
        };
        rows.push(Row(
            format!("{setting}: {name} (median of {rounds})"),
            format!(
                "{} · {requests} HTTP requests · {} × 503 · peak RSS {:.1} MiB",
                secs(wall),
                r.limited,
                r.rss_kib as f64 / 1024.0
            ),
            match i {
                2 => format!(
                    "the comparison; get_all alone (timed inside Python): {}",
                    secs(inside)
                ),
                _ => format!(
                    "{:.2}x fast-bitrix24's wall ({:.2}x its get_all alone){bar}",
                    wall.as_secs_f64() / theirs.as_secs_f64(),
                    wall.as_secs_f64() / inside.as_secs_f64()
                ),
            },
        ));
    }
}

/// One host's crowd against one portal: 80 `b24auth call profile` and 3 `call --all` exports
/// (10,000 deals each) started at once, sharing the portal's budget through the host's file.
fn crowd(rows: &mut Vec<Row>) {
    const DEALS: usize = 10_000;
    let s = StandIn::start();
    s.set_deals(DEALS);
    s.set_work(Duration::from_millis(40));
    let env = Env::new();
    env.seed(&s, 3600);
    fresh_budget(&s, &env);
    let tmp = tempfile::tempdir().unwrap();
    let (calls, limited) = (s.counters().rest_calls, s.counters().query_limits);
    let start = Instant::now();
    let mut children = Vec::new();
    for i in 0..83 {
        let mut cmd = match i % 28 {
            0 => b24auth(&env, &["call", "crm.deal.list", "--all"]),
            _ => b24auth(&env, &["call", "profile"]),
        };
        let out = tmp.path().join(format!("{i}.out"));
        cmd.stdout(std::fs::File::create(&out).unwrap())
            .stderr(Stdio::null());
        children.push((i % 28 == 0, out, cmd.spawn().unwrap()));
    }
    let mut failed = 0;
    let mut exports = 0;
    for (export, out, mut child) in children {
        let ok = child.wait().unwrap().success();
        failed += usize::from(!ok);
        if export {
            exports += 1;
            assert_eq!(count_lines(&out), DEALS, "an export printed every deal");
        }
    }
    let wall = start.elapsed();
    assert_eq!(exports, 3);
    rows.push(Row(
        "one host, one portal (bucket on, 40 ms per command): 80 `call profile` + 3 `call --all` of 10,000 deals, started at once".into(),
        format!(
            "{} wall for all · {} HTTP requests · {} × 503 · {failed} failed",
            secs(wall),
            s.counters().rest_calls - calls,
            s.counters().query_limits - limited
        ),
        "bar: every one exits 0, at most 2 × 503".into(),
    ));
}
