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
/// `pull.json` holds a few ids; a larger file is no file b24auth wrote.
const KEPT_LIMIT: u64 = 1 << 20;
/// Batches `events retry` may reserve for the next run (far below [`KEPT_LIMIT`]).
const RETRY_LIMIT: usize = 1000;

pub(crate) struct PullOptions {
    pub handler: Option<Handler>,
    pub follow: bool,
    pub limit: u32,
}

/// What survives a run: the batch reserved and not yet settled, and whether the portal
/// refused `clear=0`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct PullState {
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
    opts: PullOptions,
    spool: Spool,
    kept_path: PathBuf,
    kept: PullState,
}

/// The spool's queue name for a profile's pulled events.
pub(crate) fn queue_name(profile: &str) -> String {
    format!("pull-{profile}")
}

pub(crate) async fn run(session: &Session, caller: &Caller<'_>, opts: PullOptions) -> Result<()> {
    let spool = Spool::open(&session.cfg.config_dir, &queue_name(session.profile_name()))?;
    let _lock = lock(&spool.dir().join("pull.lock")).await?;
    let kept_path = spool.dir().join("pull.json");
    let kept = read_kept(&kept_path)?;
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
                if self.settle_reserved(&process_id, &events).await? == 0 {
                    break;
                }
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
        let answer = match self.get_raw(None, false).await {
            Ok(answer) => answer,
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
        // The batch is reserved from the answer on: its id is kept before anything in it is
        // believed, so a batch that fails the checks is resumed, never forgotten.
        let Some(process_id) = batch_process_id(&answer)? else {
            return Ok(0);
        };
        self.keep(Some(process_id.clone()))?;
        let (_, events) = parse_batch(&answer)?;
        if events.is_empty() {
            self.keep(None)?;
            return Ok(0);
        }
        self.settle_reserved(&process_id, &events).await?;
        self.keep(None)?;
        Ok(events.len())
    }

    async fn one_cleared_batch(&mut self) -> Result<usize> {
        let answer = self.get_raw(None, true).await?;
        // The portal has deleted the batch: it goes to the spool as it came, before any check
        // can refuse it; an event that fails the checks is set aside there as failed.
        let entries = cleared_entries(&answer, self.session.profile_name());
        if entries.is_empty() {
            return Ok(0);
        }
        let file = format!("batch-{}", new_id());
        self.spool.put(&file, &entries)?;
        self.settle_spooled(&file, &entries).await?;
        Ok(entries.len())
    }

    /// Handles a reserved batch: clears what was handled, marks the rest (and every event that
    /// failed the checks) failed. The number of events settled either way.
    async fn settle_reserved(&mut self, process_id: &str, events: &[Offline]) -> Result<usize> {
        let env = self.env().await?;
        let (mut done, mut failed) = (Vec::new(), Vec::new());
        let (events, odd): (Vec<&Offline>, Vec<&Offline>) = events.iter().partition(|e| e.plain);
        set_aside(&odd, &mut failed);
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
        Ok(done.len() + failed.len())
    }

    /// Handles a spooled batch; failed entries go to `failed/`; then the file goes.
    async fn settle_spooled(&mut self, file: &str, entries: &[Entry]) -> Result<()> {
        match &self.opts.handler {
            None => {
                let (ok, odd): (Vec<&Entry>, Vec<&Entry>) = entries
                    .iter()
                    .partition(|e| plain(&e.id) && plain(&e.event));
                for e in odd {
                    self.spool.fail(&aside(e))?;
                }
                print_lines(ok.iter().map(|e| &e.payload))?
            }
            Some(handler) => {
                let env = self.env().await?;
                for e in entries {
                    // Never a name or id a check refused in a handler's env (nor a retried one).
                    if !plain(&e.id) || !plain(&e.event) {
                        self.spool.fail(&aside(e))?;
                        continue;
                    }
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
        parse_batch(&self.get_raw(process_id, clear).await?)
    }

    /// `event.offline.get`'s answer, unchecked.
    async fn get_raw(&self, process_id: Option<&str>, clear: bool) -> Result<Map<String, Value>> {
        let mut params = json!({"limit": self.opts.limit, "clear": if clear { 1 } else { 0 }});
        if let Some(p) = process_id {
            params["process_id"] = p.into();
        }
        self.caller.call("event.offline.get", &object(params)).await
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

/// One offline event as the portal gave it; `plain` when its ID, EVENT_NAME and MESSAGE_ID
/// passed the checks (otherwise they hold whatever text came, or nothing).
struct Offline {
    id: String,
    name: String,
    message_id: String,
    json: Value,
    plain: bool,
}

/// The odd events of a reserved batch go to the portal's failed list (`events failed`), by
/// whatever MESSAGE_ID they carry (it goes back only to the portal, never to a file or env).
fn set_aside(odd: &[&Offline], failed: &mut Vec<String>) {
    for e in odd {
        crate::ui::log::note(format_args!(
            "events pull: an event's ID, EVENT_NAME or MESSAGE_ID fails the checks; set aside as failed, never handled"
        ));
        if !e.message_id.is_empty() {
            failed.push(e.message_id.clone());
        }
    }
}

/// A spooled entry that failed the checks, as `failed/` keeps it: under an id of b24auth's.
fn aside(e: &Entry) -> Entry {
    let mut e = e.clone();
    if !plain(&e.id) {
        e.id = format!("odd-{}", new_id());
    }
    e
}

/// A `clear=1` answer as spool entries, refusing nothing: the portal kept no copy.
fn cleared_entries(answer: &Map<String, Value>, profile: &str) -> Vec<Entry> {
    let entry = |id: String, event: String, payload: Value| Entry {
        id,
        event,
        profile: profile.to_string(),
        received_at: crate::profile::now(),
        payload,
    };
    match parse_batch(answer) {
        Ok((_, events)) => events
            .into_iter()
            .map(|e| {
                let id = if e.plain {
                    e.id
                } else {
                    format!("odd-{}", new_id())
                };
                entry(id, e.name, e.json)
            })
            .collect(),
        // An answer of another shape is kept whole, as one failed entry to look at.
        Err(_) => match answer.get("result") {
            None | Some(Value::Null) => Vec::new(),
            Some(r) => vec![entry(format!("odd-{}", new_id()), String::new(), r.clone())],
        },
    }
}

/// The answer's `process_id`: none when absent or when the batch is empty.
fn batch_process_id(answer: &Map<String, Value>) -> Result<Option<String>> {
    let result = answer.get("result").and_then(Value::as_object);
    let empty = match result.and_then(|r| r.get("events")) {
        Some(Value::Array(a)) => a.is_empty(),
        _ => true,
    };
    match result.and_then(|r| r.get("process_id")) {
        None | Some(Value::Null) => Ok(None),
        Some(_) if empty => Ok(None),
        Some(Value::String(p)) if plain(p) => Ok(Some(p.clone())),
        Some(_) => Err(anyhow!(
            "event.offline.get: the answer's process_id is malformed"
        )),
    }
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
        // One odd event is set aside by the caller; it never costs the rest of the batch.
        let (id, name, message_id) = (text("ID"), text("EVENT_NAME"), text("MESSAGE_ID"));
        let ok = [&id, &name, &message_id]
            .iter()
            .all(|t| t.as_deref().is_some_and(plain));
        out.push(Offline {
            id: id.unwrap_or_default(),
            name: name.unwrap_or_default(),
            message_id: message_id.unwrap_or_default(),
            json: e.clone(),
            plain: ok,
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

/// `pull.json`, read whole; one b24auth cannot read is refused with its path, never replaced
/// by defaults (that would forget a reserved batch).
fn read_kept(path: &Path) -> Result<PullState> {
    let Some(f) = crate::store::guard::open_read(path)? else {
        return Ok(PullState::default());
    };
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(f, KEPT_LIMIT + 1), &mut bytes)
        .map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
    let fix = "move it away if no `events pull` batch is reserved (`b24auth events failed` lists the portal's side)";
    if bytes.len() as u64 > KEPT_LIMIT {
        return Err(anyhow!(
            "{} is larger than b24auth writes: {fix}",
            path.display()
        ));
    }
    let mut kept: PullState = serde_json::from_slice(&bytes)
        .map_err(|e| anyhow!("{} is not b24auth's ({e}): {fix}", path.display()))?;
    kept.process_id = kept.process_id.filter(|p| plain(p));
    kept.retry.retain(|p| plain(p));
    Ok(kept)
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
    let mut kept = read_kept(&kept_path)?;
    let mut count = 0;
    loop {
        if kept.retry.len() >= RETRY_LIMIT {
            return Err(anyhow!(
                "{RETRY_LIMIT} batches are already reserved for retry: run `b24auth events pull` first, then `b24auth events retry` again"
            ));
        }
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
        let odd = json!({"result": {"events": [
            {"ID": "1", "EVENT_NAME": "A\nB", "MESSAGE_ID": "m"},
            {"ID": "2", "EVENT_NAME": "ONCRMDEALADD", "MESSAGE_ID": "n"}]}});
        let (_, events) = parse_batch(odd.as_object().unwrap()).unwrap();
        assert!(!events[0].plain, "an odd event is marked, not believed");
        assert!(events[1].plain, "and costs the rest of the batch nothing");
    }

    #[test]
    fn a_cleared_batch_is_kept_whole() {
        let odd = json!({"result": {"events": [
            {"ID": "1", "EVENT_NAME": "ONCRM DEAL UPDATE", "MESSAGE_ID": "m"},
            {"ID": "2", "EVENT_NAME": "ONCRMDEALADD", "MESSAGE_ID": "n"}]}});
        let entries = cleared_entries(odd.as_object().unwrap(), "p");
        assert_eq!(entries.len(), 2);
        assert!(entries[0].id.starts_with("odd-"));
        assert_eq!(entries[1].id, "2");
        let shapeless = json!({"result": {"events": 7}});
        assert_eq!(
            cleared_entries(shapeless.as_object().unwrap(), "p").len(),
            1
        );
    }

    #[test]
    fn a_long_pull_json_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pull.json");
        let kept = PullState {
            process_id: Some("a".repeat(32)),
            no_extended: false,
            retry: (0..120).map(|i| format!("{i:032x}")).collect(),
        };
        std::fs::write(&path, serde_json::to_vec(&kept).unwrap()).unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() > 4096);
        let back = read_kept(&path).unwrap();
        assert_eq!(back.process_id, kept.process_id);
        assert_eq!(back.retry.len(), 120);
        std::fs::write(&path, b"{\"process_id\": \"ab").unwrap();
        let err = read_kept(&path).unwrap_err().to_string();
        assert!(err.contains("pull.json"), "{err}");
        std::fs::write(dir.path().join("real.json"), b"{}").unwrap();
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(dir.path().join("real.json"), &path).unwrap();
        assert!(
            read_kept(&path).is_err(),
            "a symlinked pull.json is refused"
        );
    }

    #[test]
    fn portal_codes_are_matched_whole() {
        assert!(is_code(&anyhow!("WRONG_LICENSE: no"), "WRONG_LICENSE"));
        assert!(!is_code(&anyhow!("WRONG_LICENSE_X: no"), "WRONG_LICENSE"));
    }
}
