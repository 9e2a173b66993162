//! Stop signals never cost the portal its pair: SIGTERM, SIGINT, SIGHUP and SIGQUIT at random
//! instants of `refresh` and `token`, during `authorize`'s code exchange, and `exec` handing
//! the signal to its command.

use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::cli::{mode, Env};
use crate::support::http::{self, free_port};
use crate::support::random;
use crate::support::stand_in::StandIn;

/// The stand-in's token endpoint answers this late: the window a signal is aimed at.
const TOKEN_DELAY: Duration = Duration::from_millis(150);

/// The early instants are drawn from the first this many microseconds of a run.
const EARLY: u64 = 5_000;

/// Kills per signal: 10 in `cargo test`, more when `.ci/run`'s longer pass sets the variable.
fn kills() -> usize {
    std::env::var("B24AUTH_SIGNAL_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
}

fn name(sig: i32) -> &'static str {
    match sig {
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGHUP => "SIGHUP",
        libc::SIGQUIT => "SIGQUIT",
        _ => "?",
    }
}

fn send(pid: u32, sig: i32) {
    // SAFETY: a plain kill(2) of our own child.
    assert_eq!(unsafe { libc::kill(pid as i32, sig) }, 0);
}

/// The four stop signals at their default disposition in the child, whatever the test runner
/// inherited (a background job's SIGINT is ignored, and an ignored signal stays ignored); no
/// core file from a SIGQUIT.
fn default_signals(cmd: &mut Command) -> &mut Command {
    // SAFETY: signal(2) and setrlimit(2) are async-signal-safe, as pre_exec requires.
    unsafe {
        cmd.pre_exec(|| {
            for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT] {
                libc::signal(sig, libc::SIG_DFL);
            }
            let no_core = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &no_core);
            Ok(())
        })
    }
}

/// Marks the stored access token expired, keeping the pair, so `token` must refresh.
fn expire(env: &Env) {
    let mut doc = env.auth();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    doc["expires"] = (now - 10).into();
    env.write_auth(&serde_json::to_vec_pretty(&doc).unwrap());
}

/// The file parses, holds a whole pair, is 0600; returns it.
fn assert_whole(env: &Env) -> Value {
    let doc: Value = serde_json::from_slice(&env.auth_bytes()).expect("auth.json parses");
    for key in ["access_token", "refresh_token"] {
        assert!(doc[key].as_str().is_some_and(|s| !s.is_empty()), "{key}");
    }
    assert_eq!(mode(&env.auth_path()), 0o600);
    doc
}

/// How a signalled run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ending {
    /// Exit 128+N after the save: the signal landed inside the critical section.
    SavedThenStopped,
    /// Died by the signal at once: it landed outside (before the request, or after the save).
    StoppedAtOnce,
    /// Exit 128+N, nothing sent: the signal came just as a section was about to open.
    RefusedToStart,
    /// Exit 0: the run was over before the signal arrived.
    FinishedFirst,
}

fn ending(sig: i32, status: ExitStatus, stderr: &str, before: &Value, after: &Value) -> Ending {
    let rotated = after["refresh_token"] != before["refresh_token"];
    if status.signal() == Some(sig) {
        return Ending::StoppedAtOnce;
    }
    let line = stderr.lines().last().unwrap_or("");
    match status.code() {
        Some(0) => {
            assert!(rotated, "a finished run saved its pair");
            Ending::FinishedFirst
        }
        Some(code) if code == 128 + sig => {
            assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
            if line.ends_with("after saving the new pair") {
                assert_eq!(
                    line,
                    format!(
                        "b24auth: stopped by {} after saving the new pair",
                        name(sig)
                    )
                );
                assert!(rotated, "stopped after the save, so the new pair is stored");
                Ending::SavedThenStopped
            } else {
                assert!(!rotated && line.contains("nothing was written"), "{line}");
                Ending::RefusedToStart
            }
        }
        _ => panic!("{} ended with {status}: {stderr}", name(sig)),
    }
}

/// `kills()` runs of `refresh` and of `token` on an expired pair, each sent `sig` at a random
/// instant: half early in the run, half once the token request has reached the stand-in.
/// After every one, the next `refresh` must succeed: no pair is ever lost.
fn stop_signal_never_loses_the_pair(sig: i32) {
    let s = StandIn::start();
    s.set_token_delay(TOKEN_DELAY);
    let env = Env::new();
    env.seed(&s, 3600);
    let delay = TOKEN_DELAY.as_micros() as u64;
    let mut endings: BTreeMap<Ending, usize> = BTreeMap::new();
    let mut codes: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..kills() {
        let args: &[&str] = if i % 2 == 0 {
            &["refresh"]
        } else {
            expire(&env);
            &["token"]
        };
        let before = env.auth();
        let calls = s.counters().token_calls;
        let mut child = default_signals(&mut env.cmd(args))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if i % 4 < 2 {
            // Early: before the handler exists, before the request, or just after it.
            std::thread::sleep(Duration::from_micros(random::below(EARLY)));
        } else {
            s.wait_token_calls(calls + 1, 10);
            std::thread::sleep(Duration::from_micros(random::below(delay + 5_000)));
        }
        send(child.id(), sig);
        let status = child.wait().unwrap();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let after = assert_whole(&env);
        let end = ending(sig, status, &stderr, &before, &after);
        *endings.entry(end).or_default() += 1;
        let code = match status.signal() {
            Some(n) => format!("killed by {}", name(n)),
            None => format!("exit {}", status.code().unwrap()),
        };
        *codes.entry(code).or_default() += 1;
        if end == Ending::StoppedAtOnce && after == before {
            // Stopped at once with nothing saved: the request had not been sent.
            assert_eq!(
                s.counters().token_calls,
                calls,
                "a request was sent, then abandoned"
            );
            assert!(s.refresh_token_is_valid(before["refresh_token"].as_str().unwrap()));
        }
        env.run(&["refresh"]).assert_ok();
        let next = assert_whole(&env);
        assert!(s.refresh_token_is_valid(next["refresh_token"].as_str().unwrap()));
    }
    eprintln!(
        "{}: {} kills, 0 lost pairs; endings {endings:?}; statuses {codes:?}",
        name(sig),
        kills()
    );
}

#[test]
fn sigterm_during_a_rotation_never_loses_the_pair() {
    stop_signal_never_loses_the_pair(libc::SIGTERM);
}

#[test]
fn sigint_during_a_rotation_never_loses_the_pair() {
    stop_signal_never_loses_the_pair(libc::SIGINT);
}

#[test]
fn sighup_during_a_rotation_never_loses_the_pair() {
    stop_signal_never_loses_the_pair(libc::SIGHUP);
}

#[test]
fn sigquit_during_a_rotation_never_loses_the_pair() {
    stop_signal_never_loses_the_pair(libc::SIGQUIT);
}

/// Once the request has reached the stand-in, the run always finishes and saves: exit 128+N.
#[test]
fn a_signal_during_the_request_is_deferred_until_the_save() {
    let s = StandIn::start();
    s.set_token_delay(Duration::from_millis(300));
    let env = Env::new();
    env.seed(&s, -10);
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT] {
        let before = env.auth();
        let calls = s.counters().token_calls;
        let p = default_signals(&mut env.cmd(&["refresh"]))
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        s.wait_token_calls(calls + 1, 10);
        send(p.id(), sig);
        let out = p.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(128 + sig), "{stderr}");
        assert_eq!(
            stderr.trim_end(),
            format!(
                "b24auth: stopped by {} after saving the new pair",
                name(sig)
            )
        );
        let after = assert_whole(&env);
        assert_ne!(after["refresh_token"], before["refresh_token"]);
        assert!(s.refresh_token_is_valid(after["refresh_token"].as_str().unwrap()));
    }
}

/// The PostgreSQL store's save too: the signal waits for the commit.
#[test]
fn a_signal_during_a_postgres_refresh_waits_for_the_commit() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Postgres,
        "signals::a_signal_during_a_postgres_refresh_waits_for_the_commit",
    ) {
        return;
    }
    let s = StandIn::start();
    s.set_token_delay(Duration::from_millis(300));
    let env = Env::new();
    let url = crate::support::postgres::shared().database();
    let before = env.seed(&s, -10);
    Env::run_cmd(&mut env.cmd(&["store", "copy", "--from", "file", "--to", &url])).assert_ok();
    std::fs::remove_file(env.auth_path()).unwrap();
    let p = default_signals(env.cmd(&["token"]).env("B24AUTH_STORE", &url))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    s.wait_token_calls(1, 10);
    send(p.id(), libc::SIGTERM);
    let out = p.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("after saving the new pair"), "{stderr}");
    let shown = Env::run_cmd(env.cmd(&["show", "--json"]).env("B24AUTH_STORE", &url));
    let after: Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_ne!(after["refresh_token"], before["refresh_token"]);
    assert!(s.refresh_token_is_valid(after["refresh_token"].as_str().unwrap()));
}

/// `nohup` semantics survive: a signal ignored at start is still ignored.
#[test]
fn an_ignored_sighup_stays_ignored() {
    let s = StandIn::start();
    s.set_token_delay(Duration::from_millis(200));
    let env = Env::new();
    env.seed(&s, -10);
    let mut cmd = env.cmd(&["refresh"]);
    // SAFETY: signal(2) is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            Ok(())
        });
    }
    let p = cmd.stderr(Stdio::piped()).spawn().unwrap();
    s.wait_token_calls(1, 10);
    send(p.id(), libc::SIGHUP);
    let out = p.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(s.refresh_token_is_valid(assert_whole(&env)["refresh_token"].as_str().unwrap()));
}

/// SIGTERM and Ctrl-C while `authorize` exchanges the code: the exchange finishes, the pair is
/// saved, the browser is told so, then the run stops with 128+N.
#[test]
fn a_signal_during_the_code_exchange_saves_first() {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let s = StandIn::start();
        let listen = format!("127.0.0.1:{}", free_port());
        let redirect = format!("http://{listen}/callback");
        s.set_redirect_uri(&redirect);
        s.set_token_delay(Duration::from_millis(300));
        let env = Env::new();
        let domain = s.base.clone();
        let mut cmd = env.app_cmd(
            &s,
            &[
                "authorize",
                "--domain",
                &domain,
                "--redirect-uri",
                &redirect,
                "--no-browser",
            ],
        );
        let mut p = env.spawn(default_signals(&mut cmd));
        let url = p.wait_authorize_url();
        let browser = std::thread::spawn(move || http::follow(&url));
        s.wait_token_calls(1, 10);
        send(p.child.id(), sig);
        let page = browser.join().unwrap();
        assert_eq!(page.status, 200, "{}", page.body);
        let run = p.finish();
        assert_eq!(run.code, 128 + sig, "{}", run.stderr);
        assert_eq!(
            run.stderr.lines().last().unwrap(),
            format!(
                "b24auth: stopped by {} after saving the new pair",
                name(sig)
            )
        );
        let doc = assert_whole(&env);
        assert!(s.refresh_token_is_valid(doc["refresh_token"].as_str().unwrap()));
    }
}

/// `exec` becomes the command: same pid, SIGTERM reaches the command's trap, its status is the
/// process's own.
#[test]
fn exec_hands_sigterm_to_the_command() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    let marker = env.tmp.path().join("marker");
    // Bounded (30 s), so a failing run leaves nothing behind for long.
    let script = r#"trap 'echo TERM > "$0"; exit 7' TERM; echo "ready $$"; i=0; while [ $i -lt 30 ]; do sleep 1 >/dev/null & wait $!; i=$((i+1)); done"#;
    let mut child = default_signals(&mut env.cmd(&["exec", "--", "sh", "-c", script]))
        .arg(&marker)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let shell_pid: u32 = line.trim().strip_prefix("ready ").unwrap().parse().unwrap();
    assert_eq!(
        shell_pid,
        child.id(),
        "no b24auth left between us and the command"
    );
    send(child.id(), libc::SIGTERM);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(7), "the command's own status");
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "TERM\n");
}

/// A stop during `exec`'s refresh: the pair is saved and the command never runs.
#[test]
fn exec_stopped_during_its_refresh_saves_and_runs_nothing() {
    let s = StandIn::start();
    s.set_token_delay(Duration::from_millis(300));
    let env = Env::new();
    env.seed(&s, -10);
    let marker = env.tmp.path().join("ran");
    let p = default_signals(&mut env.cmd(&["exec", "--", "touch"]))
        .arg(&marker)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    s.wait_token_calls(1, 10);
    send(p.id(), libc::SIGTERM);
    let out = p.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143));
    assert!(!marker.exists(), "the command did not run");
    let doc = assert_whole(&env);
    assert!(s.refresh_token_is_valid(doc["refresh_token"].as_str().unwrap()));
}

#[test]
fn exec_of_a_missing_command_exits_127_and_a_non_executable_one_126() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    let line = env
        .run(&["exec", "--", "b24auth-no-such-command"])
        .assert_error(127)
        .to_string();
    assert!(line.contains("b24auth-no-such-command"), "{line}");
    let file = env.tmp.path().join("not-executable");
    std::fs::write(&file, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let line = env
        .run(&["exec", "--", file.to_str().unwrap()])
        .assert_error(126)
        .to_string();
    assert!(line.contains("chmod +x"), "{line}");
}
