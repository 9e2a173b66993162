//! Runs the built `b24auth` in a fresh temp config dir, with no `B24AUTH_*` variable leaking in
//! from the developer's environment.

use std::fs;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use super::stand_in::{StandIn, CLIENT_ID, CLIENT_SECRET};

pub const BIN: &str = env!("CARGO_BIN_EXE_b24auth");

pub struct Env {
    pub tmp: tempfile::TempDir,
    pub dir: PathBuf,
}

/// A finished run: exit code and both streams as text.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Asserts the run failed with `code` and said why in exactly one `b24auth: error:` line.
    pub fn assert_error(&self, code: i32) -> &str {
        assert_eq!(self.code, code, "exit code; stderr: {}", self.stderr);
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr, got: {:?}", self.stderr);
        assert!(lines[0].starts_with("b24auth: error: "), "{:?}", lines[0]);
        lines[0]
    }

    /// Like [`Run::assert_error`] for commands that print progress first: the error is the
    /// last stderr line and the only error line.
    pub fn assert_final_error(&self, code: i32) -> &str {
        assert_eq!(self.code, code, "exit code; stderr: {}", self.stderr);
        let errors = self.stderr.lines().filter(|l| l.contains("error")).count();
        assert_eq!(errors, 1, "one error line: {}", self.stderr);
        let last = self.stderr.lines().last().unwrap_or("");
        assert!(last.starts_with("b24auth: error: "), "{}", self.stderr);
        last
    }

    pub fn assert_ok(&self) -> &Self {
        assert_eq!(self.code, 0, "stderr: {}", self.stderr);
        self
    }
}

/// A running `b24auth` whose stderr is read line by line as it comes.
pub struct Spawned {
    pub child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Spawned {
    /// Waits (by blocking on the next line, at most `secs` in all) for a stderr line that
    /// `pred` accepts and returns it.
    pub fn wait_line(&mut self, secs: u64, pred: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(_) => panic!("no such line on stderr; saw: {:#?}", self.seen),
            }
        }
    }

    /// Waits for `install-listen`'s "listening … on http://ADDR/…" line; returns `ADDR`.
    pub fn wait_listening(&mut self) -> String {
        self.wait_address("listening for the installation callback on ")
    }

    /// Waits for `authorize`'s printed authorize URL.
    pub fn wait_authorize_url(&mut self) -> String {
        self.wait_line(10, |l| {
            l.trim_start().starts_with("http") && l.contains("/oauth/authorize/")
        })
        .trim()
        .to_string()
    }

    pub fn stdin(&mut self, text: &str) {
        let stdin = self.child.stdin.as_mut().expect("spawned with piped stdin");
        std::io::Write::write_all(stdin, text.as_bytes()).unwrap();
    }

    /// Waits for the exit; stderr holds every line, including those already read.
    pub fn finish(mut self) -> Run {
        let status = self.child.wait().unwrap();
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            std::io::Read::read_to_string(&mut out, &mut stdout).unwrap();
        }
        self.seen.extend(self.lines.iter());
        Run {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr: self.seen.iter().map(|l| format!("{l}\n")).collect(),
        }
    }
}

impl Env {
    /// Starts `b24auth` with piped stdio; stderr lines arrive through [`Spawned::wait_line`].
    pub fn spawn(&self, cmd: &mut Command) -> Spawned {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)) {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Spawned {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    pub fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("config");
        Env { tmp, dir }
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        for (k, _) in std::env::vars() {
            if k.starts_with("B24AUTH_") {
                c.env_remove(k);
            }
        }
        c.env("B24AUTH_CONFIG_DIR", &self.dir)
            .env("B24AUTH_HTTP_TIMEOUT", "2s")
            .env("NO_COLOR", "1")
            .args(args)
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.cmd(args).output().unwrap())
    }

    pub fn run_cmd(cmd: &mut Command) -> Run {
        Run::from(cmd.output().unwrap())
    }

    /// Runs `cmd` with `input` written to its stdin, then waits for it.
    pub fn run_with_stdin(cmd: &mut Command, input: &str) -> Run {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        std::io::Write::write_all(&mut stdin, input.as_bytes()).unwrap();
        drop(stdin);
        Run::from(child.wait_with_output().unwrap())
    }

    /// A command with the app's credentials and the stand-in as the OAuth server.
    pub fn app_cmd(&self, s: &StandIn, args: &[&str]) -> Command {
        let mut c = self.cmd(args);
        c.env("B24AUTH_CLIENT_ID", CLIENT_ID)
            .env("B24AUTH_CLIENT_SECRET", CLIENT_SECRET)
            .env("B24AUTH_OAUTH_SERVER", &s.base);
        c
    }

    pub fn auth_path(&self) -> PathBuf {
        self.dir.join("auth.json")
    }

    pub fn auth_bytes(&self) -> Vec<u8> {
        fs::read(self.auth_path()).unwrap()
    }

    pub fn auth(&self) -> Value {
        serde_json::from_slice(&self.auth_bytes()).unwrap()
    }

    /// Writes `auth.json` (0600, dir 0700) as an earlier authorization against `s` would have:
    /// a pair the stand-in knows, the client credentials, the stand-in as the chosen server.
    /// `expires_in` moves the access token's expiry (negative: already expired).
    pub fn seed(&self, s: &StandIn, expires_in: i64) -> Value {
        let mut doc = s.issue_pair();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        doc["expires"] = (now + expires_in).into();
        doc["client_id"] = CLIENT_ID.into();
        doc["client_secret"] = CLIENT_SECRET.into();
        doc["b24auth"] = serde_json::json!({
            "version": 1, "source": "install", "saved_at": now,
            "refresh_token_issued_at": now, "portal": s.host(), "oauth_server": s.base,
        });
        self.write_auth(serde_json::to_vec_pretty(&doc).unwrap().as_slice());
        doc
    }

    /// A stand-in, and a config dir holding a pair it issued, fresh for an hour.
    pub fn seeded() -> (StandIn, Env) {
        let s = StandIn::start();
        let env = Env::new();
        env.seed(&s, 3600);
        (s, env)
    }

    pub fn write_auth(&self, bytes: &[u8]) {
        fs::create_dir_all(&self.dir).unwrap();
        fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700)).unwrap();
        let _ = fs::remove_file(self.auth_path());
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(self.auth_path())
            .unwrap();
        std::io::Write::write_all(&mut f, bytes).unwrap();
    }
}

pub fn mode(path: &std::path::Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Each line of `s` (a command's stdout) parsed as one JSON value.
pub fn json_lines(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Runs `cmd` (stdout and stderr captured) and returns its run; a command still running after
/// `limit` is killed and the test fails, so code that never ends fails instead of hanging.
pub fn run_within(mut cmd: Command, limit: std::time::Duration) -> Run {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(limit) {
        Ok(out) => {
            let out = out.unwrap();
            Run {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }
        }
        Err(_) => {
            // SAFETY: our own child's pid, not yet reaped (the waiting thread holds it).
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("{cmd:?} still ran after {limit:?}");
        }
    }
}
