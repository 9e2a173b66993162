/*!
`events pull`: the portal's offline event queue, at least once.

Where the portal allows it, batches are fetched with `clear=0`: the portal reserves them under a
`process_id` (no lease: they stay hidden until cleared). The `process_id` is kept durably
(`pull.json` beside the spool) before any handler runs; an event is cleared by its `MESSAGE_ID`
only after its handler exited 0 (or, without `--exec`, after its line was written and flushed),
and marked `event.offline.error` after its `--tries`. A run stopped at any instant leaves the
batch reserved; the next run resumes it by the remembered `process_id`, and adopts any other
batch `event.offline.list` shows reserved (only a stopped consumer can have left one: one
`events pull` runs at a time per profile, under `pull.lock`).

Where the portal answers `WRONG_LICENSE` to `clear=0` (no `rest_offline_extended`), the fallback
is `clear=1`: the answer is the events' only copy, so each batch is written to the spool durably
before its first handler runs, and a failed one is kept in the spool's `failed/`. The window in
which a stop loses events is the portal's: between its deleting the batch and b24auth's fsync
(a SIGTERM waits for the batch boundary; SIGKILL, a crash or a lost answer do not).
*/

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::dispatch::{Delivery, Handler};
use super::queue::{new_id, Entry, Spool};
use crate::rest::Caller;
use crate::session::Session;

/// Pauses of `--follow` while the queue is empty: from 1 s, doubling, at most a minute.
const IDLE_FIRST: Duration = Duration::from_secs(1);
const IDLE_MAX: Duration = Duration::from_secs(60);
/// How long a second `events pull` waits for the first (then exit 4).
const LOCK_WAIT: Duration = Duration::from_secs(30);
/// Pages of `event.offline.list` read at start when looking for reserved batches.
const LIST_PAGES: usize = 40;

pub(crate) struct Options {
    pub handler: Option<Handler>,
    pub follow: bool,
    pub limit: u32,
}

/// What survives a run: the batch reserved and not yet settled, and whether the portal
/// refused `clear=0`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Kept {
    process_id: Option<String>,
    #[serde(default)]
    no_extended: bool,
    /// Batches of failed events `events retry` reserved for the next run.
    #[serde(default)]
    retry: Vec<String>,
}

struct Pull<'a> {
    session: &'a Session,
    caller: &'a Caller<'a>,
    opts: Options,
    spool: Spool,
    kept_path: PathBuf,
    kept: Kept,
}

/// The spool's queue name for a profile's pulled events.
pub(crate) fn queue_name(profile: &str) -> String {
    format!("pull-{profile}")
}

pub(crate) async fn run(session: &Session, caller: &Caller<'_>, opts: Options) -> Result<()> {
    let spool = Spool::open(&session.cfg.config_dir, &queue_name(session.profile_name()))?;
    let _lock = lock(&spool.dir().join("pull.lock")).await?;
    let kept_path = spool.dir().join("pull.json");
    let kept = read_kept(&kept_path);
    let mut pull = Pull {
        session,
        caller,
        opts,
        spool,
        kept_path,
        kept,
    };
    // A SIGTERM (a supervisor stopping a `--follow`) ends the run between batches, never
    // between the portal's answer and the spool (where `clear=1` would lose the batch).
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let _caught = crate::signals::catch_terminate();
    pull.recover().await?;
    pull.drain(&mut term).await
}

impl Pull<'_> {
    /// Whatever a stopped run left: spooled `clear=1` batches, the remembered batch, and every
    /// batch the portal still shows reserved.
    async fn recover(&mut self) -> Result<()> {
        for (file, entries) in self.spool.pending()? {
            self.settle_spooled(&file, &entries).await?;
        }
        if self.kept.no_extended {
            return Ok(());
        }
        let mut reserved: Vec<String> = self.kept.process_id.iter().cloned().collect();
        reserved.extend(self.kept.retry.drain(..).filter(|p| plain(p)));
        for id in self.reserved_batches().await? {
            if !reserved.contains(&id) {
                reserved.push(id);
            }
        }
        for process_id in reserved {
            crate::ui::log::note(format_args!("events pull: resuming batch {process_id}"));
            loop {
                let (_, events) = self.get(Some(&process_id), false).await?;
                if events.is_empty() {
                    break;
                }
                self.settle_reserved(&process_id, &events).await?;
            }
        }
        self.keep(None)
    }

    /// Fetches and handles batches until the queue is empty (or forever with `--follow`).
    async fn drain(&mut self, term: &mut tokio::signal::unix::Signal) -> Result<()> {
        use futures_util::FutureExt;
        let mut idle = IDLE_FIRST;
        loop {
            if term.recv().now_or_never().is_some() {
                return Ok(());
            }
            let handled = match self.kept.no_extended {
                true => self.one_cleared_batch().await?,
                false => self.one_reserved_batch().await?,
            };
            if handled > 0 {
                idle = IDLE_FIRST;
                continue;
            }
            if !self.opts.follow {
                return Ok(());
            }
            tokio::select! {
                () = tokio::time::sleep(idle) => {}
                _ = term.recv() => return Ok(()),
            }
            idle = (idle * 2).min(IDLE_MAX);
        }
    }

    async fn one_reserved_batch(&mut self) -> Result<usize> {
        let (process_id, events) = match self.get(None, false).await {
            Ok(batch) => batch,
            Err(e) if is_code(&e, "WRONG_LICENSE") => {
                self.session.cfg.ui.info(format_args!(
                    "b24auth: the portal lacks the extended offline events (WRONG_LICENSE to clear=0): each batch is deleted by the portal as it is fetched, and kept in the spool before its handlers run"
                ));
                self.kept.no_extended = true;
                self.keep(None)?;
                return Ok(1);
            }
            Err(e) => return Err(e),
        };
        let Some(process_id) = process_id.filter(|_| !events.is_empty()) else {
            return Ok(0);
        };
        self.keep(Some(process_id.clone()))?;
        self.settle_reserved(&process_id, &events).await?;
        self.keep(None)?;
        Ok(events.len())
    }

    async fn one_cleared_batch(&mut self) -> Result<usize> {
        let (_, events) = self.get(None, true).await?;
        if events.is_empty() {
            return Ok(0);
        }
        let profile = self.session.profile_name().to_string();
        let entries: Vec<Entry> = events
            .iter()
            .map(|e| Entry {
                id: e.id.clone(),
                event: e.name.clone(),
                profile: profile.clone(),
                received_at: crate::profile::now(),
                payload: e.json.clone(),
            })
            .collect();
        let file = format!("batch-{}", new_id());
        self.spool.put(&file, &entries)?;
        self.settle_spooled(&file, &entries).await?;
        Ok(entries.len())
    }

    /// Handles a reserved batch: clears what was handled, marks the rest failed.
    async fn settle_reserved(&mut self, process_id: &str, events: &[Offline]) -> Result<()> {
        let env = self.env().await?;
        let (mut done, mut failed) = (Vec::new(), Vec::new());
        match &self.opts.handler {
            None => {
                print_lines(events.iter().map(|e| &e.json))?;
                done.extend(events.iter().map(|e| e.message_id.clone()));
            }
            Some(handler) => {
                for e in events {
                    let d = Delivery {
                        name: &e.name,
                        id: &e.id,
                        json: &e.json,
                        env: &env,
                    };
                    match handler.deliver(&d).await {
                        true => done.push(e.message_id.clone()),
                        false => failed.push(e.message_id.clone()),
                    }
                }
            }
        }
        if !done.is_empty() {
            let params = json!({"process_id": process_id, "message_id": done});
            self.caller
                .call("event.offline.clear", &object(params))
                .await?;
        }
        if !failed.is_empty() {
            self.session.cfg.ui.info(format_args!(
                "b24auth: {} event(s) failed {} tries; marked failed on the portal (`b24auth events failed`)",
                failed.len(),
                self.opts.handler.as_ref().map_or(0, |h| h.tries)
            ));
            let params = json!({"process_id": process_id, "message_id": failed});
            self.caller
                .call("event.offline.error", &object(params))
                .await?;
        }
        Ok(())
    }

    /// Handles a spooled batch; failed entries go to `failed/`; then the file goes.
    async fn settle_spooled(&mut self, file: &str, entries: &[Entry]) -> Result<()> {
        match &self.opts.handler {
            None => print_lines(entries.iter().map(|e| &e.payload))?,
            Some(handler) => {
                let env = self.env().await?;
                for e in entries {
                    let d = Delivery {
                        name: &e.event,
                        id: &e.id,
                        json: &e.payload,
                        env: &env,
                    };
                    if !handler.deliver(&d).await {
                        self.spool.fail(e)?;
                    }
                }
            }
        }
        self.spool.done(file)
    }

    /// The `exec` variables of the profile (refreshed when due), for this batch's handlers.
    async fn env(&self) -> Result<Vec<(String, String)>> {
        if self.opts.handler.is_none() {
            return Ok(Vec::new());
        }
        let profile = self.session.valid_profile(60).await?;
        Ok(crate::session::child_env::exec_env(
            &profile,
            &self.session.cfg,
        ))
    }

    async fn get(
        &self,
        process_id: Option<&str>,
        clear: bool,
    ) -> Result<(Option<String>, Vec<Offline>)> {
        let mut params = json!({"limit": self.opts.limit, "clear": if clear { 1 } else { 0 }});
        if let Some(p) = process_id {
            params["process_id"] = p.into();
        }
        let answer = self
            .caller
            .call("event.offline.get", &object(params))
            .await?;
        parse_batch(&answer)
    }

    /// The `process_id`s `event.offline.list` shows (a bounded number of pages).
    async fn reserved_batches(&self) -> Result<Vec<String>> {
        let mut found: Vec<String> = Vec::new();
        let mut start = 0u64;
        for _ in 0..LIST_PAGES {
            let params = json!({"filter": {"!PROCESS_ID": ""}, "start": start});
            let answer = self
                .caller
                .call("event.offline.list", &object(params))
                .await?;
            let rows = list_rows(&answer);
            for row in &rows {
                if let Some(p) = row.get("PROCESS_ID").and_then(Value::as_str) {
                    if plain(p) && !found.iter().any(|f| f == p) {
                        found.push(p.to_string());
                    }
                }
            }
            match answer.get("next").and_then(Value::as_u64) {
                Some(next) if next > start && !rows.is_empty() => start = next,
                _ => break,
            }
        }
        Ok(found)
    }

    fn keep(&mut self, process_id: Option<String>) -> Result<()> {
        self.kept.process_id = process_id;
        let bytes = serde_json::to_vec(&self.kept).map_err(|e| anyhow!("{e}"))?;
        crate::store::disk::write_atomic(&self.kept_path, &bytes)
    }
}

/// One offline event as the portal gave it, checked.
struct Offline {
    id: String,
    name: String,
    message_id: String,
    json: Value,
}

/// `{"result": {"process_id", "events": [...]}}`, every field checked before use.
fn parse_batch(answer: &Map<String, Value>) -> Result<(Option<String>, Vec<Offline>)> {
    let result = answer
        .get("result")
        .and_then(Value::as_object)
        .ok_or_else(|| anyhow!("event.offline.get: the answer has no result object"))?;
    let process_id = match result.get("process_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if plain(p) => Some(p.clone()),
        Some(_) => {
            return Err(anyhow!(
                "event.offline.get: the answer's process_id is malformed"
            ))
        }
    };
    let events = match result.get("events") {
        Some(Value::Array(a)) => a,
        None | Some(Value::Null) => return Ok((process_id, Vec::new())),
        Some(_) => return Err(anyhow!("event.offline.get: `events` is not a list")),
    };
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let text = |k: &str| match e.get(k) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let (Some(id), Some(name), Some(message_id)) =
            (text("ID"), text("EVENT_NAME"), text("MESSAGE_ID"))
        else {
            return Err(anyhow!(
                "event.offline.get: an event lacks ID, EVENT_NAME or MESSAGE_ID"
            ));
        };
        if !plain(&id) || !plain(&name) || !plain(&message_id) {
            return Err(anyhow!("event.offline.get: an event's ID, EVENT_NAME or MESSAGE_ID holds characters no event has"));
        }
        out.push(Offline {
            id,
            name,
            message_id,
            json: e.clone(),
        });
    }
    Ok((process_id, out))
}

/// What an id or event name may hold (it becomes an environment value and a file name).
fn plain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

/// The rows of an `event.offline.list` page (`result`, a list).
fn list_rows(answer: &Map<String, Value>) -> Vec<Value> {
    match answer.get("result") {
        Some(Value::Array(rows)) => rows.clone(),
        _ => Vec::new(),
    }
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// True when `e` is the portal's error `code`.
fn is_code(e: &anyhow::Error, code: &str) -> bool {
    e.chain().any(|c| {
        c.to_string()
            .strip_prefix(code)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(':'))
    })
}

/// JSON lines on stdout, flushed before anything is cleared.
fn print_lines<'v>(values: impl Iterator<Item = &'v Value>) -> Result<()> {
    let mut out = std::io::stdout().lock();
    for v in values {
        writeln!(out, "{v}")?;
    }
    out.flush()?;
    Ok(())
}

fn read_kept(path: &Path) -> Kept {
    let Ok(Some(mut f)) = crate::store::guard::open_read(path) else {
        return Kept::default();
    };
    let mut bytes = Vec::new();
    let _ = std::io::Read::read_to_end(&mut std::io::Read::take(&mut f, 4096), &mut bytes);
    let mut kept: Kept = serde_json::from_slice(&bytes).unwrap_or_default();
    kept.process_id = kept.process_id.filter(|p| plain(p));
    kept
}

/// `events retry` for the portal's failed offline events (`ids`, or all): reserves them under
/// new `process_id`s kept for the next `events pull`, which runs their handlers again. The
/// number of events reserved.
pub(crate) async fn retry_failed(
    session: &Session,
    caller: &Caller<'_>,
    ids: Option<&[String]>,
) -> Result<usize> {
    let spool = Spool::open(&session.cfg.config_dir, &queue_name(session.profile_name()))?;
    let _lock = lock(&spool.dir().join("pull.lock")).await?;
    let kept_path = spool.dir().join("pull.json");
    let mut kept = read_kept(&kept_path);
    let mut count = 0;
    loop {
        let mut params = json!({"error": 1, "clear": 0, "limit": 50});
        if let Some(ids) = ids {
            params["filter"] = json!({"ID": ids});
        }
        let answer = caller.call("event.offline.get", &object(params)).await?;
        let (process_id, events) = parse_batch(&answer)?;
        let Some(process_id) = process_id.filter(|_| !events.is_empty()) else {
            return Ok(count);
        };
        count += events.len();
        kept.retry.push(process_id);
        let bytes = serde_json::to_vec(&kept).map_err(|e| anyhow!("{e}"))?;
        crate::store::disk::write_atomic(&kept_path, &bytes)?;
        if ids.is_some() {
            return Ok(count);
        }
    }
}

/// The portal's failed offline events (`event.offline.list`, `ERROR=1`), a bounded number of
/// pages.
pub(crate) async fn failed_on_portal(caller: &Caller<'_>) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut start = 0u64;
    for _ in 0..LIST_PAGES {
        let params = json!({"filter": {"ERROR": 1}, "start": start});
        let answer = caller.call("event.offline.list", &object(params)).await?;
        let rows = list_rows(&answer);
        let empty = rows.is_empty();
        out.extend(rows);
        match answer.get("next").and_then(Value::as_u64) {
            Some(next) if next > start && !empty => start = next,
            _ => break,
        }
    }
    Ok(out)
}

/// One `events pull` per profile: the lock on `path`, waited for at most [`LOCK_WAIT`].
async fn lock(path: &Path) -> Result<std::fs::File> {
    let file = crate::store::guard::open_lock(path)?;
    let deadline = tokio::time::Instant::now() + LOCK_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(crate::exit::Error::TimedOut(format!(
                    "another `b24auth events pull` for this profile held {} for {}s; one runs at a time",
                    path.display(),
                    LOCK_WAIT.as_secs()
                ))
                .into())
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(anyhow!("cannot lock {}: {e}", path.display()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_checked_before_use() {
        let ok = json!({"result": {"process_id": "ab12", "events": [
            {"ID": 1, "EVENT_NAME": "ONCRMDEALADD", "MESSAGE_ID": "f00", "EVENT_DATA": {}}]}});
        let (p, events) = parse_batch(ok.as_object().unwrap()).unwrap();
        assert_eq!(p.as_deref(), Some("ab12"));
        assert_eq!(events[0].id, "1");
        let bad = json!({"result": {"process_id": "../x", "events": []}});
        assert!(parse_batch(bad.as_object().unwrap()).is_err());
        let bad =
            json!({"result": {"events": [{"ID": "1", "EVENT_NAME": "A\nB", "MESSAGE_ID": "m"}]}});
        assert!(parse_batch(bad.as_object().unwrap()).is_err());
    }

    #[test]
    fn portal_codes_are_matched_whole() {
        assert!(is_code(&anyhow!("WRONG_LICENSE: no"), "WRONG_LICENSE"));
        assert!(!is_code(&anyhow!("WRONG_LICENSE_X: no"), "WRONG_LICENSE"));
    }
}
