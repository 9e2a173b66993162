/*!
The event spool: events b24auth holds and has not handled yet, kept on disk under the config
dir with the profile files' rules (directories 0700, files 0600 from creation, no symlink
followed, temp → fsync → rename → fsync directory), so an event accepted or fetched survives
any stop of the process.

`<config-dir>/events/<queue>/pending/<file>.json` holds one or more entries (one per event
`serve` accepted; a whole `clear=1` batch for `events pull`), removed (and the directory synced)
once every entry in it is done; `failed/<id>.json` holds an entry whose handler failed for good,
until `events retry` moves it back to `pending/` (where a running `serve` finds it within a
second: [`PendingFiles`]). `serve` itself appends what it accepts to its journal
([`journal`](super::journal)); the pending files it still reads are earlier versions' and
`events retry`'s.
*/

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::disk::{create_private_dir, write_atomic};
use crate::store::guard;

/// A spool file larger than this is no file b24auth wrote.
const FILE_LIMIT: u64 = 64 << 20;

/// One event held in the spool.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// `serve`'s id for the event, or the portal's `ID` of an offline event.
    pub id: String,
    /// The event's name (`ONCRMDEALADD`).
    pub event: String,
    /// The profile whose variables the handler gets.
    pub profile: String,
    pub received_at: i64,
    /// What the handler reads on stdin (no token: see `dispatch::handler_json`).
    pub payload: Value,
}

/// One queue's directory.
#[derive(Debug, Clone)]
pub(crate) struct Spool {
    dir: PathBuf,
}

impl Spool {
    /// The spool `queue` under `config_dir`, its directories created 0700 and checked.
    pub fn open(config_dir: &Path, queue: &str) -> Result<Spool> {
        let dir = config_dir.join("events").join(queue);
        for d in [
            config_dir.to_path_buf(),
            config_dir.join("events"),
            dir.clone(),
            dir.join("pending"),
            dir.join("failed"),
        ] {
            guard::check_dir(&d)?;
            create_private_dir(&d)?;
        }
        Ok(Spool { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Keeps `entries` durably as one pending file; returns when it is on disk.
    pub fn put(&self, file: &str, entries: &[Entry]) -> Result<()> {
        let bytes = serde_json::to_vec(entries).map_err(|e| anyhow!("cannot encode ({e})"))?;
        write_atomic(&self.pending_path(file), &bytes)
    }

    /// Every pending file, oldest name first, with its entries. A file that cannot be read is
    /// named in a warning and left where it is.
    pub fn pending(&self) -> Result<Vec<(String, Vec<Entry>)>> {
        let mut out = Vec::new();
        for name in names(&self.dir.join("pending"))? {
            match read_entries(&self.pending_path(&name)) {
                Ok(entries) => out.push((name, entries)),
                Err(e) => crate::ui::log::note(format_args!("event spool: skipped {name}: {e:#}")),
            }
        }
        Ok(out)
    }

    /// The pending file `file` is handled: removed, and the removal made durable.
    pub fn done(&self, file: &str) -> Result<()> {
        remove_durably(&self.pending_path(file))
    }

    /// The pending file `file` is handled: removed, the directory not synced (a removal a
    /// crash undoes only runs its handlers again: at least once still holds).
    pub fn done_lazily(&self, file: &str) -> Result<()> {
        match fs::remove_file(self.pending_path(file)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("cannot remove the handled spool file {file}"))
            }
            _ => Ok(()),
        }
    }

    /// Keeps `entry` as failed for good.
    /// Named by b24auth, not by the event's id: a portal's id may be no file name, and two
    /// events may share one (each is kept).
    pub fn fail(&self, entry: &Entry) -> Result<()> {
        let bytes = serde_json::to_vec(&[entry]).map_err(|e| anyhow!("cannot encode ({e})"))?;
        write_atomic(&self.failed_path(&new_id()), &bytes)
    }

    /// Every failed entry, oldest first.
    pub fn failed(&self) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        for name in names(&self.dir.join("failed"))? {
            out.extend(read_entries(&self.failed_path(&name))?);
        }
        Ok(out)
    }

    /// Moves the oldest failed entry `id` back to pending; false when there is none.
    pub fn retry(&self, id: &str) -> Result<bool> {
        let found = names(&self.dir.join("failed"))?.into_iter().find(|name| {
            read_entries(&self.failed_path(name)).is_ok_and(|es| es.iter().any(|e| e.id == id))
        });
        let Some(name) = found else {
            return Ok(false);
        };
        let from = self.failed_path(&name);
        let to = self.pending_path(&format!("retry-{name}"));
        fs::rename(&from, &to).with_context(|| format!("cannot move {}", from.display()))?;
        for d in ["pending", "failed"] {
            File::open(self.dir.join(d))?.sync_all()?;
        }
        Ok(true)
    }

    fn pending_path(&self, file: &str) -> PathBuf {
        self.dir.join("pending").join(format!("{file}.json"))
    }

    fn failed_path(&self, id: &str) -> PathBuf {
        self.dir.join("failed").join(format!("{id}.json"))
    }
}

/// How often `serve` looks for new pending files (`events retry` moves failed events there
/// while it runs).
const RESCAN: Duration = Duration::from_secs(1);

/// `serve`'s pending files (an earlier version's spool, `events retry`), handed out one file at
/// a time: a file goes once every event in it is settled.
pub(crate) struct PendingFiles {
    spool: Spool,
    /// Files read and not yet done (or unreadable), never read again in this run.
    known: HashSet<String>,
    unread: VecDeque<String>,
    waiting: VecDeque<(String, Entry)>,
    remaining: HashMap<String, usize>,
    scanned_at: Option<Instant>,
}

impl PendingFiles {
    pub fn new(spool: Spool) -> PendingFiles {
        PendingFiles {
            spool,
            known: HashSet::new(),
            unread: VecDeque::new(),
            waiting: VecDeque::new(),
            remaining: HashMap::new(),
            scanned_at: None,
        }
    }

    /// The next pending event, reading the next file when the last one is handed out.
    pub fn next(&mut self) -> Option<(String, Entry)> {
        while self.waiting.is_empty() {
            let name = match self.unread.pop_front() {
                Some(name) => name,
                None if self.scan_due() => {
                    self.scan();
                    self.unread.pop_front()?
                }
                None => return None,
            };
            self.known.insert(name.clone());
            match read_entries(&self.spool.pending_path(&name)) {
                Ok(entries) if entries.is_empty() => self.finish(&name),
                Ok(entries) => {
                    self.remaining.insert(name.clone(), entries.len());
                    self.waiting
                        .extend(entries.into_iter().map(|e| (name.clone(), e)));
                }
                Err(e) => crate::ui::log::note(format_args!("event spool: skipped {name}: {e:#}")),
            }
        }
        self.waiting.pop_front()
    }

    /// One event of `file` settled; the file goes with its last.
    pub fn settled(&mut self, file: &str) {
        let left = self.remaining.entry(file.to_string()).or_insert(1);
        *left = left.saturating_sub(1);
        if *left == 0 {
            self.remaining.remove(file);
            self.finish(file);
        }
    }

    fn finish(&mut self, file: &str) {
        self.known.remove(file);
        if let Err(e) = self.spool.done_lazily(file) {
            crate::ui::log::note(format_args!("event spool: {e:#}"));
        }
    }

    fn scan_due(&self) -> bool {
        self.scanned_at.is_none_or(|at| at.elapsed() >= RESCAN)
    }

    fn scan(&mut self) {
        self.scanned_at = Some(Instant::now());
        match names(&self.spool.dir.join("pending")) {
            Ok(names) => self
                .unread
                .extend(names.into_iter().filter(|n| !self.known.contains(n))),
            Err(e) => crate::ui::log::note(format_args!("event spool: {e:#}")),
        }
    }
}

/// A name b24auth itself gives a spool file: no separator, no dot file, bounded.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The `<name>.json` files of `dir`, sorted, temp files and foreign names left out.
fn names(dir: &Path) -> Result<Vec<String>> {
    let mut out: Vec<String> = fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".json")
                .filter(|n| plain_name(n))
                .map(String::from)
        })
        .collect();
    out.sort();
    Ok(out)
}

fn read_entries(path: &Path) -> Result<Vec<Entry>> {
    let file = guard::open_read(path)?.ok_or_else(|| anyhow!("{} is gone", path.display()))?;
    let mut bytes = Vec::new();
    file.take(FILE_LIMIT + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > FILE_LIMIT {
        return Err(anyhow!("{} is too large", path.display()));
    }
    serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a spool file", path.display()))
}

fn remove_durably(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
    let dir = path.parent().expect("spool files have a parent");
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// A new event id: sortable by arrival (nanoseconds), unique (random tail).
pub(crate) fn new_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{nanos:020}-{}", crate::secret::random_hex(4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_and_move() {
        let tmp = tempfile::tempdir().unwrap();
        let spool = Spool::open(&tmp.path().join("c"), "serve").unwrap();
        let e = Entry {
            id: new_id(),
            event: "ONCRMDEALADD".into(),
            profile: "p".into(),
            received_at: 1,
            payload: serde_json::json!({"a": 1}),
        };
        spool.put(&e.id, std::slice::from_ref(&e)).unwrap();
        let pending = spool.pending().unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].1[0].id, e.id);
        spool.fail(&e).unwrap();
        spool.done(&e.id).unwrap();
        assert!(spool.pending().unwrap().is_empty());
        assert_eq!(spool.failed().unwrap().len(), 1);
        assert!(spool.retry(&e.id).unwrap());
        assert!(!spool.retry("../x").unwrap());
        assert!(!spool.retry(&e.id).unwrap(), "moved once");
        assert_eq!(spool.pending().unwrap().len(), 1);
        assert!(spool.failed().unwrap().is_empty());
    }

    #[test]
    fn failed_events_with_odd_or_repeated_ids_are_each_kept_and_retried() {
        let tmp = tempfile::tempdir().unwrap();
        let spool = Spool::open(&tmp.path().join("c"), "pull").unwrap();
        let entry = |id: &str, n: i64| Entry {
            id: id.into(),
            event: "ONCRMDEALADD".into(),
            profile: "p".into(),
            received_at: n,
            payload: serde_json::json!({"n": n}),
        };
        for (id, n) in [("1.5", 1), ("7", 2), ("7", 3)] {
            spool.fail(&entry(id, n)).unwrap();
        }
        let ids: Vec<_> = spool.failed().unwrap().into_iter().map(|e| e.id).collect();
        assert_eq!(ids, ["1.5", "7", "7"]);
        assert!(spool.retry("1.5").unwrap());
        assert!(spool.retry("7").unwrap());
        let left = spool.failed().unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].received_at, 3, "the oldest went first");
    }

    #[test]
    fn pending_files_are_handed_out_and_go_with_their_last_event() {
        let tmp = tempfile::tempdir().unwrap();
        let spool = Spool::open(&tmp.path().join("c"), "serve").unwrap();
        let entry = |id: &str| Entry {
            id: id.into(),
            event: "ONCRMDEALADD".into(),
            profile: "p".into(),
            received_at: 1,
            payload: serde_json::json!({}),
        };
        spool.put("a", &[entry("1"), entry("2")]).unwrap();
        spool.put("b", &[entry("3")]).unwrap();
        let mut files = PendingFiles::new(spool.clone());
        let got: Vec<(String, Entry)> = std::iter::from_fn(|| files.next()).collect();
        let ids: Vec<&str> = got.iter().map(|(_, e)| e.id.as_str()).collect();
        assert_eq!(ids, ["1", "2", "3"]);
        files.settled("a");
        assert_eq!(
            spool.pending().unwrap().len(),
            2,
            "a waits for its second event"
        );
        files.settled("a");
        files.settled("b");
        assert!(spool.pending().unwrap().is_empty());
        assert!(files.next().is_none(), "nothing handed out twice");
    }
}
