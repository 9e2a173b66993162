/*!
Running an event's handler: `--exec CMD…` once per event, the event JSON on its stdin, the
`exec` variables (without `B24_APPLICATION_TOKEN`) plus `B24_EVENT` and `B24_EVENT_ID` in its
environment, b24auth's own secrets scrubbed from what it inherits. A handler that did not exit 0
is run again after a back-off, `--tries` times in all; what happens then (an
`event.offline.error`, a failed entry in the spool) is the caller's.

CMD runs as given (no shell), so nothing in an event reaches a command line; the event goes to
stdin, which never carries a token (see [`handler_json`]).
*/

use std::ffi::OsString;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::io::AsyncWriteExt;

/// The first pause between two runs of a failed handler; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The variables a handler must never see: the install's secret is the only proof of a sender.
const HIDDEN_VARS: [&str; 1] = ["B24_APPLICATION_TOKEN"];

/// The `auth` fields of an online event a handler may see (no token of any kind).
const SHOWN_AUTH: [&str; 7] = [
    "domain",
    "member_id",
    "user_id",
    "client_endpoint",
    "server_endpoint",
    "scope",
    "status",
];

/// The handler command and how often it is tried.
#[derive(Debug, Clone)]
pub(crate) struct HandlerCommand {
    pub command: Vec<OsString>,
    pub tries: u32,
    /// A run longer than this is killed and counts as failed.
    pub timeout: Option<Duration>,
}

/// One event as a handler gets it.
pub(crate) struct Delivery<'a> {
    pub name: &'a str,
    pub id: &'a str,
    pub json: &'a Value,
    /// The `exec` variables of the event's profile (empty when it has none any more).
    pub env: &'a [(String, String)],
}

impl HandlerCommand {
    /// Runs the handler until it exits 0, at most `tries` times with back-off; true when it did.
    pub async fn deliver(&self, d: &Delivery<'_>) -> bool {
        let env = || std::future::ready(Ok(d.env.to_vec()));
        self.deliver_fresh(d.name, d.id, d.json, env)
            .await
            .unwrap_or(false)
    }

    /// Like [`HandlerCommand::deliver`], with the `exec` variables asked before every run (`env`
    /// refreshes the token when due: a handler late in a long batch, or after back-offs, gets
    /// a live one). An `env` error ends the delivery with that error (nothing settled).
    pub async fn deliver_fresh<F, Fut>(
        &self,
        name: &str,
        id: &str,
        json: &Value,
        mut env: F,
    ) -> anyhow::Result<bool>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<Vec<(String, String)>>>,
    {
        let mut pause = FIRST_BACKOFF;
        for attempt in 1..=self.tries.max(1) {
            let vars = env().await?;
            let d = Delivery {
                name,
                id,
                json,
                env: &vars,
            };
            match self.run_once(&d).await {
                Ok(true) => return Ok(true),
                Ok(false) => {}
                Err(e) => crate::ui::log::note(format_args!(
                    "event {}: the handler did not start ({e})",
                    d.id
                )),
            }
            if attempt < self.tries {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_BACKOFF);
            }
        }
        Ok(false)
    }

    /// One run: true when it exited 0.
    async fn run_once(&self, d: &Delivery<'_>) -> std::io::Result<bool> {
        let (program, args) = self
            .command
            .split_first()
            .ok_or_else(|| std::io::Error::other("no command"))?;
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        crate::session::child_env::scrub_child_env(cmd.as_std_mut());
        for var in HIDDEN_VARS {
            cmd.env_remove(var);
        }
        for (k, v) in d
            .env
            .iter()
            .filter(|(k, _)| !HIDDEN_VARS.contains(&k.as_str()))
        {
            cmd.env(k, v);
        }
        cmd.env("B24_EVENT", d.name).env("B24_EVENT_ID", d.id);
        // fork/exec blocks the calling thread until the child has exec'd: off the runtime's
        // one thread, so accepting events never waits for a handler to start.
        // Its own process group: what the handler starts goes with it when it is stopped.
        cmd.process_group(0);
        let mut child = tokio::task::spawn_blocking(move || {
            below_the_receiver();
            cmd.spawn()
        })
        .await
        .map_err(std::io::Error::other)??;
        let group = ProcessGroup(child.id());
        let mut body = serde_json::to_vec(d.json).unwrap_or_default();
        body.push(b'\n');
        let mut stdin = child.stdin.take();
        // The timeout covers writing stdin too: a handler that reads nothing of a body larger
        // than the pipe holds is stopped like one that never exits.
        let run = async {
            if let Some(mut stdin) = stdin.take() {
                // A handler that does not read its stdin is no failure.
                let _ = stdin.write_all(&body).await;
            }
            child.wait().await
        };
        let status = match self.timeout {
            Some(t) => match tokio::time::timeout(t, run).await {
                Ok(s) => s?,
                // Dropped: the group is killed (then the child, `kill_on_drop`).
                Err(_) => return Ok(false),
            },
            None => run.await?,
        };
        group.finished();
        Ok(status.success())
    }
}

/// A handler's process group, killed whole when its run is stopped (a timeout, a lost claim,
/// a stop): a killed shell's children would otherwise run on beside the event's next run.
struct ProcessGroup(Option<u32>);

impl ProcessGroup {
    /// The handler exited by itself: what it left running is its own business.
    fn finished(mut self) {
        self.0 = None;
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if let Some(pid) = self.0.and_then(|p| libc::pid_t::try_from(p).ok()) {
            // SAFETY: a signal to the group this run made (its leader not yet reaped).
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
    }
}

/// How much lower than b24auth's a handler's CPU priority is (its nice value, added; 19 is the
/// lowest): on 2 cores, nice +10 still let 8 handlers take the CPU `serve` answers with (p99
/// 27-29 ms against 19 ms at 19, `B24AUTH_BENCH_SERVE_ONLY=1 cargo bench --bench events`).
const HANDLER_NICE: libc::c_int = 19;

/// Lowers the CPU priority of this (blocking-pool) thread once, so the handlers it starts
/// inherit it (Linux keeps a nice value per thread; a child takes its starter's): under a flood,
/// `serve` answers first and the handlers take the CPU left, their events waiting on disk.
fn below_the_receiver() {
    thread_local!(static LOWERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    if LOWERED.with(|l| l.replace(true)) {
        return;
    }
    // SAFETY: plain syscalls about this thread only.
    unsafe {
        let tid = libc::gettid() as libc::id_t;
        let now = libc::getpriority(libc::PRIO_PROCESS, tid);
        libc::setpriority(libc::PRIO_PROCESS, tid, (now + HANDLER_NICE).min(19));
    }
}

/// What a handler reads on stdin for an online event: the POST's fields with `auth` cut down
/// to [`SHOWN_AUTH`] (never `access_token`, `refresh_token` or `application_token`).
pub(crate) fn handler_json(post: &Map<String, Value>) -> Value {
    let mut shown = post.clone();
    if let Some(Value::Object(auth)) = post.get("auth") {
        let kept: Map<String, Value> = auth
            .iter()
            .filter(|(k, _)| SHOWN_AUTH.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        shown.insert("auth".into(), Value::Object(kept));
    }
    Value::Object(shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_token_reaches_the_handler_json() {
        let post = serde_json::json!({"event": "ONCRMDEALADD", "data": {"FIELDS": {"ID": "1"}},
            "auth": {"access_token": "AT", "refresh_token": "RT", "application_token": "APP",
                     "member_id": "m", "domain": "p.example"}});
        let shown = handler_json(post.as_object().unwrap()).to_string();
        for secret in ["AT", "RT", "APP"] {
            assert!(!shown.contains(&format!("\"{secret}\"")), "{shown}");
        }
        assert!(shown.contains("p.example") && shown.contains("ONCRMDEALADD"));
    }
}
