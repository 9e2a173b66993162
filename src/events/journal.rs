/*!
`serve`'s journal: the events it accepts, appended to segment files under
`<config-dir>/events/serve/journal/` (0600 from creation, no symlink followed), so that one
`fdatasync` makes a whole group of concurrent events durable before their 200s.

A segment (`<seq>.log`) is made whole before its first event: its magic, then zeros up to
[`SEGMENT_SIZE`], synced with its directory entry. Appending then changes no size and no block
map, so the `fdatasync` of a group flushes data only (no journal commit of the filesystem). Each
event is one frame: length (u32 LE), CRC-32 of the bytes (u32 LE), the entry's JSON. A reader
stops at the first frame that does not check (zeros, or a torn tail after a crash): only frames
of groups never answered can be torn, since a group is written only after the one before it is
synced, and a failed sync moves the writer to a new segment.

Settled events (handled, or kept in `failed/`) are appended to `<seq>.done` (offset u64 LE and
its CRC-32), without a sync: a record a crash loses only runs its handler again, and at least
once still holds. A segment and its done file go once the reader has passed its end and every
event it handed out is settled. At start, every segment left is read again and each event it
holds that is not in its done file is handed out again.
*/

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Context, Result};

use super::spool::{Entry, PendingFiles, Spool};
use crate::store::disk::create_private_dir;
use crate::store::guard;

const MAGIC: &[u8; 8] = b"b24jrnl1";
/// Bytes made ready in a segment before its first event; a group that does not fit goes to
/// the next segment (a group larger than a whole segment extends it).
pub(crate) const SEGMENT_SIZE: u64 = 4 << 20;
const FRAME_HEAD: u64 = 8;
/// A frame longer than this is no frame b24auth wrote (a body is at most 64 KiB).
const FRAME_MAX: u32 = 4 << 20;
/// The most events one `fdatasync` answers.
const GROUP_MAX: usize = 256;
const DONE_RECORD: usize = 12;
/// A done file larger than this is no file b24auth wrote.
const DONE_LIMIT: u64 = 64 << 20;

/// Where a journalled event is: its segment and the offset of its frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Location {
    pub seq: u64,
    pub offset: u64,
}

/// How far the journal is durable: the segment being written and the end of its last synced
/// group. The reader hands out nothing beyond it.
#[derive(Debug, Clone, Copy)]
struct Tail {
    seq: u64,
    end: u64,
}

/// Opens the journal of `spool`: the writer (a thread of its own, starting a new segment) and
/// the reader (the segments left by earlier runs first, then the new ones).
pub(crate) fn open(spool: &Spool) -> Result<(JournalWriter, JournalReader)> {
    let lock = one_serve(spool)?;
    let dir = spool.dir().join("journal");
    guard::check_dir(&dir)?;
    create_private_dir(&dir)?;
    let old = segments(&dir)?;
    let first = next_seq(&dir, old.last().copied().unwrap_or(0))?;
    let file = create_segment(&dir, first)
        .with_context(|| format!("cannot start a journal segment in {}", dir.display()))?;
    let tail = Arc::new(Mutex::new(Tail {
        seq: first,
        end: MAGIC.len() as u64,
    }));
    let writer = JournalWriter::start(dir.clone(), file, first, Arc::clone(&tail), lock);
    let reader = JournalReader::new(dir, old.into(), first, tail);
    Ok((writer, reader))
}

/// The number after `seq`; a segment named with the largest number (no file b24auth wrote in
/// this life of the universe) stops the start rather than wrap to the oldest name.
fn next_seq(dir: &Path, seq: u64) -> io::Result<u64> {
    seq.checked_add(1).ok_or_else(|| {
        io::Error::other(format!(
            "the event journal's segment numbers in {} are used up ({}): move that file away",
            dir.display(),
            segment_path(dir, seq).display()
        ))
    })
}

/// The lock of the journal, held while the process lives: a second `serve` on one config dir
/// would read the first's segment as left over, and remove it under its writer.
fn one_serve(spool: &Spool) -> Result<File> {
    let path = spool.dir().join("serve.lock");
    let lock = guard::open_lock(&path)?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(fs::TryLockError::WouldBlock) => Err(anyhow!(
            "another `b24auth serve` keeps its events in {} (it holds {}): one serve per config dir with the file store; stop it, or give this one another --config-dir",
            spool.dir().display(),
            path.display()
        )),
        Err(fs::TryLockError::Error(e)) => Err(anyhow!("cannot lock {}: {e}", path.display())),
    }
}

/// The segment numbers in `dir`, oldest first; done files without their segment are removed.
fn segments(dir: &Path) -> Result<Vec<u64>> {
    let mut logs = Vec::new();
    let mut dones = Vec::new();
    for e in fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let name = e?.file_name().to_string_lossy().into_owned();
        let parse = |suffix| name.strip_suffix(suffix).and_then(|n: &str| n.parse().ok());
        if let Some(seq) = parse(".log") {
            logs.push(seq);
        } else if let Some(seq) = parse(".done") {
            dones.push(seq);
        }
    }
    logs.sort_unstable();
    for seq in dones.into_iter().filter(|s| !logs.contains(s)) {
        let _ = fs::remove_file(done_path(dir, seq));
    }
    Ok(logs)
}

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}.log"))
}

fn done_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}.done"))
}

/// A new segment: 0600 from creation, no link followed, magic then zeros, synced with its
/// directory entry before any event goes in.
fn create_segment(dir: &Path, seq: u64) -> io::Result<File> {
    let file = guard::no_follow(
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600),
    )
    .open(segment_path(dir, seq))?;
    let mut chunk = vec![0u8; 64 << 10];
    chunk[..MAGIC.len()].copy_from_slice(MAGIC);
    let mut at = 0;
    while at < SEGMENT_SIZE {
        file.write_all_at(&chunk, at)?;
        if at == 0 {
            chunk[..MAGIC.len()].fill(0);
        }
        at += chunk.len() as u64;
    }
    file.sync_all()?;
    File::open(dir)?.sync_all()?;
    Ok(file)
}

/// One event as a frame: length, CRC-32, the entry's JSON.
pub(crate) fn frame(entry: &Entry) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(entry).map_err(|e| anyhow!("cannot encode ({e})"))?;
    let len = u32::try_from(json.len())
        .ok()
        .filter(|&n| n <= FRAME_MAX)
        .ok_or_else(|| anyhow!("an event of {} bytes is too large", json.len()))?;
    let mut out = Vec::with_capacity(json.len() + FRAME_HEAD as usize);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32(&json).to_le_bytes());
    out.extend_from_slice(&json);
    Ok(out)
}

/// Writes the frames of concurrent requests together: all the frames the writer finds waiting
/// go in with one `fdatasync`, and each caller hears back once its group is on disk.
pub(crate) struct JournalWriter {
    tx: std::sync::mpsc::Sender<Framed>,
}

type Framed = (Vec<u8>, tokio::sync::oneshot::Sender<Result<()>>);

impl JournalWriter {
    fn start(
        dir: PathBuf,
        file: File,
        seq: u64,
        tail: Arc<Mutex<Tail>>,
        lock: File,
    ) -> JournalWriter {
        let (tx, rx) = std::sync::mpsc::channel::<Framed>();
        let mut appender = Appender {
            dir,
            file,
            seq,
            end: MAGIC.len() as u64,
            broken: false,
            spare: None,
            tail,
        };
        std::thread::spawn(move || {
            let _lock = lock;
            while let Ok(first) = rx.recv() {
                let mut group = vec![first];
                while group.len() < GROUP_MAX {
                    match rx.try_recv() {
                        Ok(more) => group.push(more),
                        Err(_) => break,
                    }
                }
                let bytes: Vec<u8> = group.iter().flat_map(|(f, _)| f.iter().copied()).collect();
                let written = appender.append(&bytes);
                for (_, answer) in group {
                    let _ = answer.send(match &written {
                        Ok(()) => Ok(()),
                        Err(e) => Err(anyhow!("cannot write the event journal: {e}")),
                    });
                }
            }
        });
        JournalWriter { tx }
    }

    /// Keeps `entry` durably; returns once its group is synced.
    pub async fn keep(&self, entry: &Entry) -> Result<()> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.tx
            .send((frame(entry)?, answer))
            .map_err(|_| anyhow!("the journal writer stopped"))?;
        answered
            .await
            .map_err(|_| anyhow!("the journal writer stopped"))?
    }
}

/// The writer thread's state.
struct Appender {
    dir: PathBuf,
    file: File,
    seq: u64,
    end: u64,
    /// A write or sync failed: nothing more goes into this segment (what is on its disk after
    /// `end` is unknown, and a reader must find every answered frame before the first bad one).
    broken: bool,
    /// The next segment, made ready by a thread of its own while this one fills.
    spare: Option<std::thread::JoinHandle<io::Result<File>>>,
    tail: Arc<Mutex<Tail>>,
}

impl Appender {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        let full = self.end + bytes.len() as u64 > SEGMENT_SIZE && self.end > MAGIC.len() as u64;
        if self.broken || full {
            self.roll()?;
        }
        let written = self
            .file
            .write_all_at(bytes, self.end)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            self.broken = true;
            return Err(e);
        }
        self.end += bytes.len() as u64;
        self.publish();
        if self.spare.is_none() && self.end > SEGMENT_SIZE / 2 {
            if let Ok(next) = next_seq(&self.dir, self.seq) {
                let dir = self.dir.clone();
                self.spare = Some(std::thread::spawn(move || create_segment(&dir, next)));
            }
        }
        Ok(())
    }

    /// On to the next segment (the spare when it is ready and sound).
    fn roll(&mut self) -> io::Result<()> {
        let next = next_seq(&self.dir, self.seq)?;
        let spare = self.spare.take().map(|t| t.join());
        let file = match spare {
            Some(Ok(Ok(file))) => file,
            _ => {
                // A spare that failed half-way may exist: it holds no event, so it goes.
                let _ = fs::remove_file(segment_path(&self.dir, next));
                create_segment(&self.dir, next)?
            }
        };
        (self.file, self.seq, self.end, self.broken) = (file, next, MAGIC.len() as u64, false);
        self.publish();
        Ok(())
    }

    fn publish(&self) {
        let mut tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        *tail = Tail {
            seq: self.seq,
            end: self.end,
        };
    }
}

/// What the reader knows of a segment it has opened.
#[derive(Default)]
struct SegmentState {
    handed: usize,
    settled: usize,
    /// The reader has passed its end: nothing more will be handed out from it.
    passed: bool,
    /// A frame in it did not check, yet frames after it did: kept for a person to look at.
    damaged: bool,
    done: Option<File>,
}

/// Hands out the journalled events in order, one at a time (the payloads wait on disk, not in
/// memory), and records each one settled.
pub(crate) struct JournalReader {
    dir: PathBuf,
    /// Segments of earlier runs still to read.
    old: VecDeque<u64>,
    seq: u64,
    file: Option<File>,
    offset: u64,
    /// Offsets of the current segment settled by an earlier run.
    skip: HashSet<u64>,
    states: HashMap<u64, SegmentState>,
    tail: Arc<Mutex<Tail>>,
}

impl JournalReader {
    fn new(dir: PathBuf, mut old: VecDeque<u64>, first: u64, tail: Arc<Mutex<Tail>>) -> Self {
        let seq = old.pop_front().unwrap_or(first);
        JournalReader {
            dir,
            old,
            seq,
            file: None,
            offset: MAGIC.len() as u64,
            skip: HashSet::new(),
            states: HashMap::new(),
            tail,
        }
    }

    /// The next event durably written and not yet handed out.
    pub fn next(&mut self) -> Result<Option<(Location, Entry)>> {
        loop {
            let tail = *self.tail.lock().unwrap_or_else(|e| e.into_inner());
            let limit = (self.seq == tail.seq).then_some(tail.end);
            if self.seq > tail.seq || limit.is_some_and(|end| self.offset >= end) {
                return Ok(None);
            }
            if self.file.is_none() && !self.open_segment()? {
                if limit.is_some() {
                    // The segment being written is gone or replaced: nothing to pass on to.
                    return Err(anyhow!("the event journal's segment {} is gone", self.seq));
                }
                self.pass();
                continue;
            }
            let Some(bytes) = self.read_frame()? else {
                if limit.is_some() {
                    // Written and synced up to `end`, yet not readable: a disk fault.
                    return Err(anyhow!(
                        "the event journal's segment {} is unreadable",
                        self.seq
                    ));
                }
                if !self.past_damage()? {
                    self.pass();
                }
                continue;
            };
            let at = self.offset;
            self.offset += FRAME_HEAD + bytes.len() as u64;
            if self.skip.contains(&at) {
                continue;
            }
            let state = self.states.entry(self.seq).or_default();
            state.handed += 1;
            let loc = Location {
                seq: self.seq,
                offset: at,
            };
            match serde_json::from_slice::<Entry>(&bytes) {
                Ok(entry) => return Ok(Some((loc, entry))),
                Err(e) => {
                    crate::ui::log::note(format_args!("event journal: skipped a record ({e})"));
                    self.settled(loc);
                }
            }
        }
    }

    /// Where the frames of an old segment stop before its end: zeros or a torn tail after a
    /// crash (nothing answered lies beyond), or a damaged frame with answered ones after it.
    /// Looks for the next frame that checks; true when one is found (the reader goes on from
    /// it, and the segment is kept).
    fn past_damage(&mut self) -> Result<bool> {
        let file = self.file.as_ref().expect("an open segment");
        let from = self.offset;
        let len = file.metadata()?.len().saturating_sub(from);
        let mut rest = vec![0u8; len as usize];
        file.read_exact_at(&mut rest, from)
            .context("cannot read the event journal")?;
        // Zeros to the end are the segment's unused room: the common case, decided in one
        // pass. Otherwise only the bytes before the last non-zero one can start a frame.
        let Some(last) = rest.iter().rposition(|&b| b != 0) else {
            return Ok(false);
        };
        let Some(skip) = (1..=last).find(|&i| frame_checks(&rest[i..])) else {
            return Ok(false);
        };
        let path = segment_path(&self.dir, self.seq);
        crate::ui::log::note(format_args!(
            "event journal: {} has {skip} damaged bytes at offset {from}; the events after them are handed out and the segment is kept (remove it once looked at)",
            path.display()
        ));
        self.states.entry(self.seq).or_default().damaged = true;
        self.offset = from + skip as u64;
        Ok(true)
    }

    /// Opens the current segment and reads its done file; false when it is gone or foreign.
    fn open_segment(&mut self) -> Result<bool> {
        let path = segment_path(&self.dir, self.seq);
        // A file b24auth cannot open as its own (a link, another owner's, no plain file) is
        // foreign: left where it is, and the reader goes on.
        let file = match guard::open_read(&path) {
            Ok(Some(file)) => file,
            Ok(None) => return Ok(false),
            Err(e) => {
                crate::ui::log::note(format_args!(
                    "event journal: {} is skipped: {e:#}",
                    path.display()
                ));
                return Ok(false);
            }
        };
        if file.metadata()?.len() == 0 {
            // A spare cut short by a crash before its magic: it holds no event.
            let _ = fs::remove_file(&path);
            return Ok(false);
        }
        let mut magic = [0u8; 8];
        if file.read_exact_at(&mut magic, 0).is_err() || &magic != MAGIC {
            crate::ui::log::note(format_args!(
                "event journal: {} is no journal segment; left where it is",
                path.display()
            ));
            return Ok(false);
        }
        self.skip = read_done(&done_path(&self.dir, self.seq))?;
        self.states.entry(self.seq).or_default();
        self.file = Some(file);
        self.offset = MAGIC.len() as u64;
        Ok(true)
    }

    /// The frame at the current offset, or `None` where the frames end (zeros, a torn or
    /// foreign frame, the end of the file).
    fn read_frame(&self) -> Result<Option<Vec<u8>>> {
        let file = self.file.as_ref().expect("an open segment");
        let mut head = [0u8; FRAME_HEAD as usize];
        match file.read_exact_at(&mut head, self.offset) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e).context("cannot read the event journal"),
        }
        let len = u32::from_le_bytes(head[..4].try_into().expect("4 bytes"));
        let crc = u32::from_le_bytes(head[4..].try_into().expect("4 bytes"));
        if len == 0 || len > FRAME_MAX {
            return Ok(None);
        }
        let mut bytes = vec![0u8; len as usize];
        match file.read_exact_at(&mut bytes, self.offset + FRAME_HEAD) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e).context("cannot read the event journal"),
        }
        Ok((crc32(&bytes) == crc).then_some(bytes))
    }

    /// The reader is past the current segment: on to the next one.
    fn pass(&mut self) {
        let passed = self.seq;
        // Only a segment that was read goes (a foreign file is left where it is).
        if let Some(state) = self.states.get_mut(&passed) {
            state.passed = true;
        }
        self.file = None;
        self.offset = MAGIC.len() as u64;
        self.skip.clear();
        self.seq = self.old.pop_front().unwrap_or_else(|| {
            let tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
            // From the old segments on to the first of this run's, or the next of this run.
            if passed < tail.seq {
                passed + 1
            } else {
                passed
            }
        });
        self.sweep(passed);
    }

    /// The event at `loc` is settled: recorded in its segment's done file (no sync).
    pub fn settled(&mut self, loc: Location) {
        let state = self.states.entry(loc.seq).or_default();
        state.settled += 1;
        let path = done_path(&self.dir, loc.seq);
        if let Err(e) = append_done(&mut state.done, &path, loc.offset) {
            // Not recorded: a later start runs the handler again (at least once).
            crate::ui::log::note(format_args!("event journal: {e:#}"));
        }
        self.sweep(loc.seq);
    }

    /// Removes segment `seq` once passed and settled: the segment first, so a crash between
    /// the two leaves a done file without its segment (swept at start), never the reverse.
    fn sweep(&mut self, seq: u64) {
        let Some(state) = self.states.get(&seq) else {
            return;
        };
        if !state.passed || state.settled < state.handed || state.damaged {
            return;
        }
        self.states.remove(&seq);
        if let Err(e) = fs::remove_file(segment_path(&self.dir, seq)) {
            if e.kind() != io::ErrorKind::NotFound {
                crate::ui::log::note(format_args!("event journal: cannot remove a segment: {e}"));
                return;
            }
        }
        let _ = fs::remove_file(done_path(&self.dir, seq));
    }
}

fn append_done(done: &mut Option<File>, path: &Path, offset: u64) -> Result<()> {
    if done.is_none() {
        let file = guard::no_follow(OpenOptions::new().append(true).create(true).mode(0o600))
            .open(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        let meta = file.metadata()?;
        guard::check_file(path, &meta)?;
        // A torn record left by a crash: cut, so the records after it stay aligned.
        file.set_len(meta.len() - meta.len() % DONE_RECORD as u64)?;
        *done = Some(file);
    }
    let bytes = offset.to_le_bytes();
    let mut record = [0u8; DONE_RECORD];
    record[..8].copy_from_slice(&bytes);
    record[8..].copy_from_slice(&crc32(&bytes).to_le_bytes());
    let file = done.as_mut().expect("opened above");
    file.write_all(&record)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The offsets a done file records; records that do not check (a torn tail) are left out.
fn read_done(path: &Path) -> Result<HashSet<u64>> {
    let Some(file) = guard::open_read(path)? else {
        return Ok(HashSet::new());
    };
    let mut bytes = Vec::new();
    file.take(DONE_LIMIT).read_to_end(&mut bytes)?;
    Ok(bytes
        .chunks_exact(DONE_RECORD)
        .filter(|r| crc32(&r[..8]) == u32::from_le_bytes(r[8..].try_into().expect("4 bytes")))
        .map(|r| u64::from_le_bytes(r[..8].try_into().expect("8 bytes")))
        .collect())
}

/// CRC-32 (IEEE, as zlib), by table.
/// Whether `bytes` starts with a whole frame whose checksum holds.
fn frame_checks(bytes: &[u8]) -> bool {
    let Some(head) = bytes.get(..FRAME_HEAD as usize) else {
        return false;
    };
    let len = u32::from_le_bytes(head[..4].try_into().expect("4 bytes"));
    let crc = u32::from_le_bytes(head[4..].try_into().expect("4 bytes"));
    if len == 0 || len > FRAME_MAX {
        return false;
    }
    bytes
        .get(FRAME_HEAD as usize..FRAME_HEAD as usize + len as usize)
        .is_some_and(|body| crc32(body) == crc)
}

fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    !bytes.iter().fold(!0u32, |c, &b| {
        TABLE[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8)
    })
}

/// A spooled event and where it is kept: an old pending file, or the journal.
pub(crate) enum Place {
    File(String),
    Journal(Location),
}

/// Where `serve`'s dispatcher takes its next event from: the pending files first (earlier
/// versions' spool, `events retry`), then the journal.
pub(crate) struct Feed {
    pub files: PendingFiles,
    pub journal: JournalReader,
}

impl Feed {
    pub fn next(&mut self) -> Option<(Place, Entry)> {
        if let Some((file, entry)) = self.files.next() {
            return Some((Place::File(file), entry));
        }
        match self.journal.next() {
            Ok(next) => next.map(|(loc, entry)| (Place::Journal(loc), entry)),
            Err(e) => {
                crate::ui::log::note(format_args!("event journal: {e:#}"));
                None
            }
        }
    }

    pub fn settled(&mut self, place: Place) {
        match place {
            Place::File(file) => self.files.settled(&file),
            Place::Journal(loc) => self.journal.settled(loc),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u64) -> Entry {
        Entry {
            id: format!("e{n}"),
            event: "ONCRMDEALADD".into(),
            profile: "p".into(),
            received_at: 1,
            payload: serde_json::json!({"n": n}),
        }
    }

    fn drain(reader: &mut JournalReader) -> Vec<(Location, Entry)> {
        std::iter::from_fn(|| reader.next().unwrap()).collect()
    }

    fn ids(got: &[(Location, Entry)]) -> Vec<String> {
        got.iter().map(|(_, e)| e.id.clone()).collect()
    }

    #[test]
    fn crc32_is_the_ieee_one() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    fn write_direct(w: &mut Appender, entries: &[Entry]) {
        let bytes: Vec<u8> = entries.iter().flat_map(|e| frame(e).unwrap()).collect();
        w.append(&bytes).unwrap();
    }

    fn appender(spool: &Spool) -> (Appender, JournalReader) {
        let dir = spool.dir().join("journal");
        create_private_dir(&dir).unwrap();
        let old = segments(&dir).unwrap();
        let first = old.last().map_or(1, |s| s + 1);
        let file = create_segment(&dir, first).unwrap();
        let tail = Arc::new(Mutex::new(Tail {
            seq: first,
            end: MAGIC.len() as u64,
        }));
        let a = Appender {
            dir: dir.clone(),
            file,
            seq: first,
            end: MAGIC.len() as u64,
            broken: false,
            spare: None,
            tail: Arc::clone(&tail),
        };
        (a, JournalReader::new(dir, old.into(), first, tail))
    }

    #[test]
    fn a_damaged_frame_loses_none_after_it_and_its_segment_is_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let spool = Spool::open(tmp.path(), "serve").unwrap();
        let (mut w, _) = appender(&spool);
        write_direct(&mut w, &[entry(1), entry(2), entry(3)]);
        let seg = segment_path(&spool.dir().join("journal"), w.seq);
        let second = MAGIC.len() as u64 + frame(&entry(1)).unwrap().len() as u64;
        let f = OpenOptions::new().write(true).open(&seg).unwrap();
        f.write_all_at(b"X", second + FRAME_HEAD + 3).unwrap();
        drop(w);
        let (_w, mut r) = appender(&spool);
        let got = drain(&mut r);
        assert_eq!(ids(&got), ["e1", "e3"], "the damaged one alone is lost");
        for (loc, _) in got {
            r.settled(loc);
        }
        assert!(
            seg.exists(),
            "a damaged segment is kept for a person to look at"
        );
    }

    #[test]
    fn a_foreign_segment_is_skipped_and_left() {
        let tmp = tempfile::tempdir().unwrap();
        let spool = Spool::open(tmp.path(), "serve").unwrap();
        let dir = spool.dir().join("journal");
        create_private_dir(&dir).unwrap();
        let planted = segment_path(&dir, 1);
        std::os::unix::fs::symlink("/etc/hostname", &planted).unwrap();
        let (mut w, mut r) = appender(&spool);
        write_direct(&mut w, &[entry(1)]);
        assert_eq!(ids(&drain(&mut r)), ["e1"], "the reader went on past it");
        assert!(planted.symlink_metadata().is_ok(), "left where it is");
    }

    #[test]
    fn the_largest_segment_name_stops_the_start_instead_of_wrapping() {
        let tmp = tempfile::tempdir().unwrap();
        let spool = Spool::open(tmp.path(), "serve").unwrap();
        let dir = spool.dir().join("journal");
        create_private_dir(&dir).unwrap();
        fs::write(segment_path(&dir, u64::MAX), MAGIC).unwrap();
        let e = open(&spool).err().expect("refused").to_string();
        assert!(e.contains("used up"), "{e}");
    }

    #[test]
    fn unsettled_events_come_back_after_a_restart_and_settled_ones_do_not() {
        let tmp = tempfile::tempdir().unwrap();
        let spool = Spool::open(tmp.path(), "serve").unwrap();
        let (mut w, mut r) = appender(&spool);
        assert!(r.next().unwrap().is_none());
        write_direct(&mut w, &[entry(1), entry(2)]);
        write_direct(&mut w, &[entry(3)]);
        let got = drain(&mut r);
        assert_eq!(ids(&got), ["e1", "e2", "e3"]);
        r.settled(got[0].0);
        r.settled(got[2].0);
        drop((w, r));
        let (_w, mut r) = appender(&spool);
        let again = drain(&mut r);
        assert_eq!(ids(&again), ["e2"], "only the unsettled one");
        r.settled(again[0].0);
        let dir = spool.dir().join("journal");
        let left: Vec<_> = fs::read_dir(&dir).unwrap().collect();
        assert_eq!(left.len(), 1, "the old segment and its done file went");
    }

    #[test]
    fn a_torn_tail_ends_the_frames_and_loses_none_before_it() {
        let tmp = tempfile::tempdir().unwrap();
        let spool = Spool::open(tmp.path(), "serve").unwrap();
        let (mut w, _r) = appender(&spool);
        write_direct(&mut w, &[entry(1), entry(2)]);
        let end = w.end;
        // A torn group: a whole frame's head, half its body; then a frame with a bad checksum.
        let torn = frame(&entry(3)).unwrap();
        w.file.write_all_at(&torn[..torn.len() / 2], end).unwrap();
        let path = segment_path(&w.dir, w.seq);
        drop(w);
        let (_w, mut r) = appender(&spool);
        assert_eq!(ids(&drain(&mut r)), ["e1", "e2"]);
        let mut flipped = frame(&entry(4)).unwrap();
        flipped[20] ^= 1;
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        file.write_all_at(&flipped, end).unwrap();
        let (_w, mut r) = appender(&spool);
        assert_eq!(ids(&drain(&mut r)), ["e1", "e2"]);
    }

    #[test]
    fn a_full_segment_rolls_and_the_reader_follows() {
        let tmp = tempfile::tempdir().unwrap();
        let spool = Spool::open(tmp.path(), "serve").unwrap();
        let (mut w, mut r) = appender(&spool);
        let mut big = entry(0);
        big.payload = serde_json::json!({"x": "y".repeat(1 << 20)});
        for n in 0..6 {
            big.id = format!("e{n}");
            write_direct(&mut w, std::slice::from_ref(&big));
        }
        assert!(w.seq > 1, "rolled");
        let got = drain(&mut r);
        assert_eq!(got.len(), 6);
        for (loc, _) in &got {
            r.settled(*loc);
        }
        assert!(
            !segment_path(&w.dir, 1).exists(),
            "a settled, passed segment goes"
        );
    }

    #[test]
    fn a_torn_done_record_counts_for_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("1.done");
        let mut done = None;
        append_done(&mut done, &path, 8).unwrap();
        append_done(&mut done, &path, 99).unwrap();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[1, 2, 3, 4, 5]).unwrap();
        assert_eq!(read_done(&path).unwrap(), HashSet::from([8, 99]));
        let mut reopened = None;
        append_done(&mut reopened, &path, 7).unwrap();
        assert_eq!(read_done(&path).unwrap(), HashSet::from([8, 99, 7]));
    }
}
