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
(every stop signal waits until the batch is in the spool, see [`Pull::cleared_batch`]; SIGKILL,
a crash or a lost answer do not). A portal that loses the feature while a batch is reserved
(`WRONG_LICENSE` on resuming it) gives that batch up by its `process_id` with `clear=1`, into the
spool the same way; `clear=0` is tried again at each run's start and every [`PROBE_EVERY`] of a
`--follow`, so a feature regained is used again.

Only what the portal's module accepts is sent (its `sanitizeFilter`: no `!`, no list values;
`event.offline.clear` takes only 32-character `MESSAGE_ID`s). An event whose `MESSAGE_ID` is not
32 hex characters is cleared by its `ID` instead (`id[]`), so it never holds up its batch.

The lock is a file on this host: with a store shared by hosts (PostgreSQL), run `events pull`
for a profile on one host only (a warning says so).
*/

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::exec::HandlerCommand;
use super::spool::{new_id, Entry, Spool};
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
/// How often a `--follow` in the `clear=1` fallback asks again whether `clear=0` is allowed.
const PROBE_EVERY: Duration = Duration::from_secs(3600);
/// The `limit` of a `clear=1` get by `process_id`: the portal deletes the whole batch once it
/// answers, so the answer must hold all of it (no batch b24auth reserves is larger: `--limit`
/// is at most 1000).
const WHOLE_BATCH: u32 = 1000;
/// How long a `--follow` keeps trying through failing requests (an outage) before it gives up.
const OUTAGE_LIMIT: Duration = Duration::from_secs(15 * 60);
/// What the lock file says while a `--follow` holds it (`events retry` then refuses at once).
const FOLLOWING: &[u8] = b"follow\n";

pub(crate) struct PullOptions {
    pub handler: Option<HandlerCommand>,
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
    /// When the `clear=1` fallback next tries `clear=0` again.
    probe_at: tokio::time::Instant,
}

/// A batch reserved on the portal: its `process_id`, and whether it holds failed events
/// (reserved by `events retry` with `error=1`: the portal shows them only with `error=1`).
#[derive(Debug, Clone, PartialEq)]
struct Reserved {
    process_id: String,
    errors: bool,
}

/// The spool's queue name for a profile's pulled events.
pub(crate) fn queue_name(profile: &str) -> String {
    format!("pull-{profile}")
}

pub(crate) async fn run(session: &Session, caller: &Caller<'_>, opts: PullOptions) -> Result<()> {
    let spool = Spool::open(&session.cfg.config_dir, &queue_name(session.profile_name()))?;
    let _lock = lock(&spool.dir().join("pull.lock"), opts.follow).await?;
    if session.store.is_shared() {
        session.cfg.ui.info(format_args!(
            "b24auth: warning: the one-`events pull`-at-a-time lock is a file on this host; with a shared store run `events pull` for profile {} on one host only (two hosts would adopt each other's reserved batches)",
            crate::ui::sanitize::strip_controls(session.profile_name())
        ));
    }
    let kept_path = spool.dir().join("pull.json");
    let kept = read_kept(&kept_path)?;
    let mut pull = Pull {
        session,
        caller,
        opts,
        spool,
        kept_path,
        kept,
        probe_at: tokio::time::Instant::now(),
    };
    // A SIGTERM (a supervisor stopping a `--follow`) ends the run between batches; no stop
    // signal ends it between a `clear=1` answer and the spool (see `cleared_batch`).
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let _caught = crate::signals::catch_terminate();
    pull.drain(&mut term).await
}

impl Pull<'_> {
    /// Whatever a stopped run left: spooled `clear=1` batches, the remembered batches, and
    /// every batch the portal still shows reserved.
    async fn recover(&mut self) -> Result<()> {
        for (file, entries) in self.spool.pending()? {
            self.settle_spooled(&file, &entries).await?;
        }
        let mut reserved: Vec<Reserved> = Vec::new();
        let mut add = |r: Reserved| {
            if !reserved.iter().any(|k| k.process_id == r.process_id) {
                reserved.push(r);
            }
        };
        if let Some(p) = self.kept.process_id.clone() {
            add(Reserved {
                process_id: p,
                errors: false,
            });
        }
        for p in self.kept.retry.clone().into_iter().filter(|p| plain(p)) {
            add(Reserved {
                process_id: p,
                errors: true,
            });
        }
        for r in self.reserved_batches().await? {
            add(r);
        }
        for batch in reserved {
            crate::ui::log::note(format_args!(
                "events pull: resuming batch {}",
                batch.process_id
            ));
            self.resume(&batch).await?;
            self.kept.retry.retain(|p| p != &batch.process_id);
            if self.kept.process_id.as_deref() == Some(batch.process_id.as_str()) {
                self.kept.process_id = None;
            }
            self.keep(self.kept.process_id.clone())?;
        }
        Ok(())
    }

    /// Settles a reserved batch until the portal shows none of it: with `clear=0` while the
    /// portal allows it, else given up by its `process_id` with `clear=1` into the spool.
    async fn resume(&mut self, batch: &Reserved) -> Result<()> {
        // A batch holds failed or unfailed events, never both; asking for the other kind too
        // costs one request and leaves nothing behind if that ever changes.
        for errors in [batch.errors, !batch.errors] {
            loop {
                if self.kept.no_extended {
                    // The portal deletes the whole batch with this answer (either kind).
                    self.cleared_batch(Some(&batch.process_id), errors).await?;
                    return Ok(());
                }
                let answer = match self.get_raw(Some(&batch.process_id), false, errors).await {
                    Err(e) if is_code(&e, "WRONG_LICENSE") => {
                        self.lost_extended()?;
                        continue;
                    }
                    other => other?,
                };
                let (_, events) = parse_batch(&answer)?;
                if events.is_empty() || self.settle_reserved(&batch.process_id, &events).await? == 0
                {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Fetches and handles batches until the queue is empty (or forever with `--follow`,
    /// backing off through an outage of at most [`OUTAGE_LIMIT`]).
    async fn drain(&mut self, term: &mut tokio::signal::unix::Signal) -> Result<()> {
        use futures_util::FutureExt;
        let mut idle = IDLE_FIRST;
        let mut failing_since: Option<tokio::time::Instant> = None;
        // What a stopped run left is settled first, and again after any failure (a batch may
        // be reserved and half settled).
        let mut recover = true;
        loop {
            if term.recv().now_or_never().is_some() {
                return Ok(());
            }
            let step = match recover {
                true => self.recover().await.map(|()| 1),
                false => self.one_batch().await,
            };
            let handled = match step {
                Ok(n) => {
                    (failing_since, recover) = (None, false);
                    n
                }
                // An outage (exit 1) is waited out; what needs a person (exit 2, 3, 4) or a stop
                // ends the run at once.
                Err(e) if self.opts.follow && transient(&e) => {
                    let since = *failing_since.get_or_insert_with(tokio::time::Instant::now);
                    self.wait_out(e, since, idle)?;
                    recover = true;
                    0
                }
                Err(e) => return Err(e),
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

    /// A `--follow`'s failure `e` in an outage that began at `since`: said, and waited out
    /// (`idle`) unless the outage has lasted [`OUTAGE_LIMIT`] (then it ends the run).
    fn wait_out(
        &self,
        e: anyhow::Error,
        since: tokio::time::Instant,
        idle: Duration,
    ) -> Result<()> {
        if since.elapsed() >= OUTAGE_LIMIT {
            return Err(e.context(format!(
                "events pull --follow: failing for {} minutes",
                OUTAGE_LIMIT.as_secs() / 60
            )));
        }
        self.session.cfg.ui.info(format_args!(
            "b24auth: events pull: {}; trying again in {}s",
            crate::ui::sanitize::strip_controls(&format!("{e:#}")),
            idle.as_secs()
        ));
        Ok(())
    }

    /// One batch, in the mode the portal allows (re-probing `clear=0` when due).
    async fn one_batch(&mut self) -> Result<usize> {
        if self.kept.no_extended && tokio::time::Instant::now() < self.probe_at {
            return self.cleared_batch(None, false).await;
        }
        let was_lossy = self.kept.no_extended;
        let handled = self.one_reserved_batch().await?;
        if was_lossy && !self.kept.no_extended {
            self.session.cfg.ui.info(format_args!(
                "b24auth: the portal allows clear=0 again: batches are reserved until handled"
            ));
        }
        Ok(handled)
    }

    /// `WRONG_LICENSE` to `clear=0`: from now on `clear=1`, asked again after [`PROBE_EVERY`].
    fn lost_extended(&mut self) -> Result<()> {
        self.session.cfg.ui.info(format_args!(
            "b24auth: the portal lacks the extended offline events (WRONG_LICENSE to clear=0): each batch is deleted by the portal as it is fetched, and kept in the spool before its handlers run"
        ));
        self.kept.no_extended = true;
        self.probe_at = tokio::time::Instant::now() + PROBE_EVERY;
        self.keep(self.kept.process_id.clone())
    }

    async fn one_reserved_batch(&mut self) -> Result<usize> {
        let answer = match self.get_raw(None, false, false).await {
            Ok(answer) => answer,
            Err(e) if is_code(&e, "WRONG_LICENSE") => {
                self.lost_extended()?;
                return Ok(1);
            }
            Err(e) => return Err(e),
        };
        if self.kept.no_extended {
            self.kept.no_extended = false;
            self.keep(self.kept.process_id.clone())?;
        }
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

    /// A `clear=1` batch (the next one, or the reserved batch `process_id` given up): from the
    /// request until the batch is durably in the spool, a stop signal only waits — the portal
    /// deletes the batch as it answers, so the spool holds its only copy.
    async fn cleared_batch(&mut self, process_id: Option<&str>, errors: bool) -> Result<usize> {
        let section = crate::signals::critical()?;
        let fetched = self.fetch_cleared(process_id, errors).await;
        drop(section);
        // A stop that waited ends the run now, whatever the fetch gave.
        if let Err(stop) = crate::signals::checkpoint() {
            return Err(match fetched {
                Ok(Some(_)) => crate::exit::Error::StoppedAfter(
                    format!(
                        "stopped by {} after keeping the batch the portal had deleted in the spool; the next {} runs it",
                        crate::signals::name(stop.signal),
                        crate::ui::hint::cmd(&["events", "pull"])
                    ),
                    stop.code() as i32,
                )
                .into(),
                _ => stop.into(),
            });
        }
        let Some((file, entries)) = fetched? else {
            return Ok(0);
        };
        self.settle_spooled(&file, &entries).await?;
        Ok(entries.len())
    }

    /// The `clear=1` get and the spool's write of its answer (the spool file and its entries);
    /// `None` for an empty batch.
    async fn fetch_cleared(
        &self,
        process_id: Option<&str>,
        errors: bool,
    ) -> Result<Option<(String, Vec<Entry>)>> {
        let answer = self.get_raw(process_id, true, errors).await?;
        // The portal has deleted the batch: it goes to the spool as it came, before any check
        // can refuse it; an event that fails the checks is set aside there as failed.
        let entries = cleared_entries(&answer, self.session.profile_name());
        if entries.is_empty() {
            return Ok(None);
        }
        let file = format!("batch-{}", new_id());
        self.spool.put(&file, &entries)?;
        Ok(Some((file, entries)))
    }

    /// Handles a reserved batch: clears what was handled, marks the rest (and every event that
    /// failed the checks) failed. The number of events settled either way.
    async fn settle_reserved(&mut self, process_id: &str, events: &[Offline]) -> Result<usize> {
        let (mut done, mut failed) = (Vec::new(), Vec::new());
        let (events, odd): (Vec<&Offline>, Vec<&Offline>) = events.iter().partition(|e| e.plain);
        set_aside(&odd, &mut failed);
        match &self.opts.handler {
            None => {
                print_lines(events.iter().map(|e| &e.json))?;
                done.extend(events.iter().copied());
            }
            Some(handler) => {
                for e in events {
                    let env = || self.env();
                    match handler.deliver_fresh(&e.name, &e.id, &e.json, env).await? {
                        true => done.push(e),
                        false => failed.push(e.message_id.clone()),
                    }
                }
            }
        }
        let settled = done.len() + failed.len();
        self.clear(process_id, &done).await?;
        if !failed.is_empty() {
            self.session.cfg.ui.info(format_args!(
                "b24auth: {} event(s) failed {} tries; marked failed on the portal (`b24auth events failed`)",
                failed.len(),
                self.opts.handler.as_ref().map_or(0, |h| h.tries)
            ));
            let params = json!({"process_id": process_id, "message_id": failed});
            own_call(self.caller, "event.offline.error", params).await?;
        }
        Ok(settled)
    }

    /// `event.offline.clear` for handled events: by `message_id[]` where it is the portal's
    /// 32-hex id (the module refuses the whole call for any other), else by `id[]`.
    async fn clear(&self, process_id: &str, done: &[&Offline]) -> Result<()> {
        let (by_message, by_id): (Vec<&Offline>, Vec<&Offline>) =
            done.iter().partition(|e| clearable(&e.message_id));
        if !by_id.is_empty() {
            crate::ui::log::note(format_args!(
                "events pull: {} event(s) with a MESSAGE_ID the portal cannot clear by; cleared by ID",
                by_id.len()
            ));
        }
        let messages: Vec<&str> = by_message.iter().map(|e| e.message_id.as_str()).collect();
        if !messages.is_empty() {
            let params = json!({"process_id": process_id, "message_id": messages});
            own_call(self.caller, "event.offline.clear", params).await?;
        }
        let ids: Vec<u64> = by_id.iter().filter_map(|e| e.id.parse().ok()).collect();
        if !ids.is_empty() {
            let params = json!({"process_id": process_id, "id": ids});
            own_call(self.caller, "event.offline.clear", params).await?;
        }
        Ok(())
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
                for e in entries {
                    // Never a name or id a check refused in a handler's env (nor a retried one).
                    if !plain(&e.id) || !plain(&e.event) {
                        self.spool.fail(&aside(e))?;
                        continue;
                    }
                    let env = || self.env();
                    if !handler
                        .deliver_fresh(&e.event, &e.id, &e.payload, env)
                        .await?
                    {
                        self.spool.fail(e)?;
                    }
                }
            }
        }
        self.spool.done(file)
    }

    /// The `exec` variables of the profile (refreshed when due), for one run of a handler:
    /// asked before every run, so a handler late in a long batch gets a live token.
    async fn env(&self) -> Result<Vec<(String, String)>> {
        let profile = self.session.valid_profile(60).await?;
        Ok(crate::session::child_env::exec_env(
            &profile,
            &self.session.cfg,
        ))
    }

    /// `event.offline.get`'s answer, unchecked.
    async fn get_raw(
        &self,
        process_id: Option<&str>,
        clear: bool,
        errors: bool,
    ) -> Result<Map<String, Value>> {
        let limit = match (process_id, clear) {
            (Some(_), true) => WHOLE_BATCH,
            _ => self.opts.limit,
        };
        let mut params = json!({"limit": limit, "clear": u8::from(clear)});
        if let Some(p) = process_id {
            params["process_id"] = p.into();
        }
        if errors {
            params["error"] = 1.into();
        }
        own_call(self.caller, "event.offline.get", params).await
    }

    /// The batches `event.offline.list` shows reserved (a bounded number of pages).
    async fn reserved_batches(&self) -> Result<Vec<Reserved>> {
        let mut found: Vec<Reserved> = Vec::new();
        let mut start = 0u64;
        for _ in 0..LIST_PAGES {
            // `>PROCESS_ID: ''`: reserved rows (an unreserved row's PROCESS_ID is ''); the
            // module's filter knows no `!`.
            let params = json!({"filter": {">PROCESS_ID": ""}, "start": start});
            let answer = own_call(self.caller, "event.offline.list", params).await?;
            let rows = list_rows(&answer);
            for row in &rows {
                let Some(p) = row.get("PROCESS_ID").and_then(Value::as_str) else {
                    continue;
                };
                let errors = matches!(row.get("ERROR"), Some(Value::String(e)) if e == "1")
                    || row.get("ERROR").and_then(Value::as_i64) == Some(1);
                if plain(p) && !found.iter().any(|f| f.process_id == p) {
                    found.push(Reserved {
                        process_id: p.to_string(),
                        errors,
                    });
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

/// A call whose parameters b24auth built: a portal's ERROR_ARGUMENT is no parameter of the
/// user's to fix, so the table's "fix the call's parameters" is replaced by what to do.
async fn own_call(caller: &Caller<'_>, method: &str, params: Value) -> Result<Map<String, Value>> {
    caller
        .call(method, &object(params))
        .await
        .map_err(|e| own_request(method, e))
}

fn own_request(method: &str, e: anyhow::Error) -> anyhow::Error {
    use crate::bitrix::errors::{ErrorCode, Explained};
    match e.downcast_ref::<Explained>() {
        Some(x)
            if matches!(
                x.error.code,
                ErrorCode::ErrorArgument | ErrorCode::InvalidArgValue
            ) =>
        {
            anyhow!(
                "{method}: the portal refused a request b24auth built ({}); nothing was cleared or lost: report it to b24auth with this line and the portal's version",
                x.error
            )
        }
        _ => e,
    }
}

/// An error a `--follow` waits out: a plain failure (network, a server's answer), not a stop
/// nor one of the exits that need a person.
fn transient(e: &anyhow::Error) -> bool {
    !crate::signals::is_stop(e) && e.downcast_ref::<crate::exit::Error>().is_none()
}

/// A MESSAGE_ID `event.offline.clear` accepts: the portal's 32-hex md5.
fn clearable(message_id: &str) -> bool {
    message_id.len() == 32 && message_id.bytes().all(|b| b.is_ascii_hexdigit())
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
    let lock_path = spool.dir().join("pull.lock");
    if following(&lock_path) {
        return Err(crate::exit::Error::TimedOut(format!(
            "an `events pull --follow` for this profile is running (it holds {}): stop it, run {} again, then start the follow again",
            lock_path.display(),
            crate::ui::hint::cmd(&["events", "retry"])
        ))
        .into());
    }
    let _lock = lock(&lock_path, false).await?;
    let kept_path = spool.dir().join("pull.json");
    let mut kept = read_kept(&kept_path)?;
    // The module's filter takes one scalar a key (no list of IDs): one request an ID, and only
    // IDs that can be the portal's (positive integers).
    let filters: Vec<Option<Value>> = match ids {
        None => vec![None],
        Some(ids) => ids
            .iter()
            .filter_map(|id| id.parse::<u64>().ok().filter(|&n| n > 0))
            .map(|id| Some(json!({"=ID": id})))
            .collect(),
    };
    let mut count = 0;
    for filter in filters {
        loop {
            if kept.retry.len() >= RETRY_LIMIT {
                return Err(anyhow!(
                    "{RETRY_LIMIT} batches are already reserved for retry: run `b24auth events pull` first, then `b24auth events retry` again"
                ));
            }
            let mut params = json!({"error": 1, "clear": 0, "limit": 50});
            if let Some(f) = &filter {
                params["filter"] = f.clone();
            }
            let answer = own_call(caller, "event.offline.get", params).await?;
            let (process_id, events) = parse_batch(&answer)?;
            let Some(process_id) = process_id.filter(|_| !events.is_empty()) else {
                break;
            };
            count += events.len();
            kept.retry.push(process_id);
            let bytes = serde_json::to_vec(&kept).map_err(|e| anyhow!("{e}"))?;
            crate::store::disk::write_atomic(&kept_path, &bytes)?;
            if filter.is_some() {
                break;
            }
        }
    }
    Ok(count)
}

/// The portal's failed offline events (`event.offline.list`, `ERROR=1`), a bounded number of
/// pages.
pub(crate) async fn failed_on_portal(caller: &Caller<'_>) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut start = 0u64;
    for _ in 0..LIST_PAGES {
        let params = json!({"filter": {"ERROR": 1}, "start": start});
        let answer = own_call(caller, "event.offline.list", params).await?;
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

/// Whether a `--follow` holds the lock at `path` (held, and it says so in the file; a mark a
/// stopped follow left behind is no holder).
fn following(path: &Path) -> bool {
    let Ok(mut f) = crate::store::guard::open_lock(path) else {
        return false;
    };
    if f.try_lock().is_ok() {
        return false;
    }
    let mut head = Vec::new();
    let read = std::io::Read::read_to_end(&mut std::io::Read::take(&mut f, 64), &mut head);
    read.is_ok() && head == FOLLOWING
}

/// One `events pull` per profile: the lock on `path`, waited for at most [`LOCK_WAIT`]; a
/// `--follow` writes so in the file, for `events retry` to name it.
async fn lock(path: &Path, follow: bool) -> Result<std::fs::File> {
    let file = crate::store::guard::open_lock(path)?;
    let deadline = tokio::time::Instant::now() + LOCK_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => break,
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
    let mark: &[u8] = if follow { FOLLOWING } else { b"" };
    file.set_len(0)?;
    (&file).write_all(mark)?;
    Ok(file)
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
    fn only_the_portals_32_hex_message_ids_are_cleared_by_message_id() {
        assert!(clearable(&"0a".repeat(16)));
        for odd in ["1", "f00", &"0a".repeat(17), &"zz".repeat(16)] {
            assert!(!clearable(odd), "{odd}");
        }
    }

    #[test]
    fn a_follow_mark_left_by_a_stopped_run_is_no_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pull.lock");
        std::fs::write(&path, FOLLOWING).unwrap();
        assert!(!following(&path), "nobody holds the lock");
        let held = crate::store::guard::open_lock(&path).unwrap();
        held.try_lock().unwrap();
        assert!(following(&path));
    }

    #[test]
    fn portal_codes_are_matched_whole() {
        assert!(is_code(&anyhow!("WRONG_LICENSE: no"), "WRONG_LICENSE"));
        assert!(!is_code(&anyhow!("WRONG_LICENSE_X: no"), "WRONG_LICENSE"));
    }
}
