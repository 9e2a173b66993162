/*!
The portal's request budget, shared by every b24auth process on this host: Bitrix24 counts its
leaky bucket per portal and source IP , so two cron
jobs, or two profiles of one portal, must not each spend a full burst of their own.

The state lives in `<config-dir>/budget/<portal>.json` (keyed by the portal's `host[:port]`,
not by profile), beside the profiles and under their rules: the directory ours and private, the
file a regular file of ours opened without following a symlink (`store::guard`). Every use takes
an exclusive OS lock (`flock`) on the file for a read-modify-write of a few microseconds; a
process that dies holding it releases it with its descriptors. A file that does not parse (a
crash mid-write, a planted text) is replaced by the most cautious state: a full bucket.

The bucket is kept as a level with reservations: a caller that finds it full takes the next
free slot at once (the level may exceed the burst) and sleeps until that slot comes, so callers
leave in the order they came without locking again. The PostgreSQL store keeps this file per
host too: hosts have their own addresses; hosts behind one NAT share one.
*/

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};

use super::operating::Window;
use crate::store::guard;

/// How long a caller waits for another process's lock on the state file before giving up.
const LOCK_PATIENCE: Duration = Duration::from_secs(30);

/// After this long waiting (for the lock or for the bucket) a caller says so on stderr.
pub const SAY_WAITING_AFTER: Duration = Duration::from_secs(1);

/// The largest state file read (a planted huge file is cut, then refused as corrupt).
const MAX_STATE: u64 = 256 * 1024;

/// What every process on the host knows about the portal's limits.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct State {
    /// Requests in the bucket at `at` (above the burst: slots already promised to waiters).
    pub level: f64,
    /// Unix time of `level`.
    pub at: f64,
    /// The operating-time window of each method (its fields sit at the top level of the file).
    #[serde(flatten)]
    pub window: Window,
    /// `LICENSE_FAMILY` from the portal's `app.info`, and when it was read.
    pub family: Option<(String, f64)>,
    /// `LICENSE` from the same `app.info` (`…selfhosted` on a portal of its own).
    pub license: Option<String>,
}

impl State {
    /// Whether every number is one the bucket can work with (finite, not negative, not absurd):
    /// a file that passes JSON parsing may still be planted nonsense.
    fn sane(&self, now: f64) -> bool {
        let ok = |x: f64| x.is_finite() && x >= 0.0;
        ok(self.level)
            && self.level < 1e6
            && ok(self.at)
            && self.at <= now + 3600.0
            && self.window.sane(now)
            && self
                .family
                .as_ref()
                .is_none_or(|(f, t)| f.len() <= 64 && ok(*t))
            && self.license.as_ref().is_none_or(|l| l.len() <= 64)
    }

    /// The most cautious state: the bucket full as of `now`.
    fn cautious(burst: f64, now: f64) -> State {
        State {
            level: burst,
            at: now,
            ..State::default()
        }
    }

    /// Drains the bucket up to `now` at `rate` per second.
    pub fn drain(&mut self, rate: f64, now: f64) {
        let elapsed = (now - self.at).max(0.0);
        self.level = (self.level - elapsed * rate).max(0.0);
        // A time ahead of ours (another host's clock, a planted file) would hold the bucket
        // full until then: it counts as now.
        self.at = now;
    }

    /// Takes the next slot of a bucket of `burst` draining at `rate`; returns how long to wait
    /// for it (zero when it is free now), never longer than the bucket takes to drain once.
    pub fn reserve(&mut self, rate: f64, burst: f64, now: f64) -> Duration {
        self.drain(rate, now);
        // A level no set of waiters could have reached (a planted or stale file, another
        // plan's bucket) would hold every caller for days: the bucket holds at most its burst
        // and as many slots again promised to waiters.
        self.level = self.level.min(capacity(burst));
        let over = self.level + 1.0 - burst;
        self.level += 1.0;
        match over > 0.0 {
            true => Duration::from_secs_f64(over / rate),
            false => Duration::ZERO,
        }
    }

    /// The portal refused a request for its bucket: it is full now, whatever we counted.
    pub fn congested(&mut self, rate: f64, burst: f64, now: f64) {
        self.drain(rate, now);
        self.level = self.level.max(burst);
    }
}

/// The most a bucket of `burst` may hold: the burst and as many slots again promised to
/// waiters, so a wait for a slot is at most one burst's drain (25 s on the standard plan).
fn capacity(burst: f64) -> f64 {
    2.0 * burst
}

/// The shared state file of one portal.
pub struct BudgetFile {
    path: PathBuf,
    /// One use of the file at a time within this process (a `flock` per open file would also
    /// serialize them, but would block the runtime's one thread).
    local: tokio::sync::Mutex<()>,
    /// The burst assumed when the file is unreadable.
    burst: f64,
    ui: crate::ui::Ui,
}

impl BudgetFile {
    /// The state file of `portal` under `config_dir` (created private when missing).
    pub fn open(
        config_dir: &Path,
        portal: &str,
        burst: f64,
        ui: crate::ui::Ui,
    ) -> Result<BudgetFile> {
        guard::check_dir(config_dir)?;
        let dir = config_dir.join("budget");
        guard::check_dir(&dir)?;
        crate::store::disk::create_private_dir(&dir)?;
        guard::check_dir(&dir)?;
        Ok(BudgetFile {
            path: dir.join(format!("{}.json", file_name(portal))),
            local: tokio::sync::Mutex::new(()),
            burst,
            ui,
        })
    }

    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `change` on the state under the lock and saves what it left.
    pub async fn with<R>(&self, change: impl FnOnce(&mut State, f64) -> R) -> Result<R> {
        let _local = self.local.lock().await;
        let mut file = self.lock().await?;
        let now = unix_now();
        let mut state = read(&mut file, &self.path)
            .filter(|s| s.sane(now))
            .unwrap_or_else(|| State::cautious(self.burst, now));
        let out = change(&mut state, now);
        let text = serde_json::to_vec(&state).expect("the state serializes");
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(&text))
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        Ok(out)
    }

    /// The state file, locked: waits for another holder (saying so after a second), at most
    /// [`LOCK_PATIENCE`].
    async fn lock(&self) -> Result<File> {
        let started = tokio::time::Instant::now();
        let mut said = false;
        loop {
            let file = guard::open_lock(&self.path)?;
            match file.try_lock() {
                // A file unlinked or replaced while we waited is not the one others lock.
                Ok(()) if guard::still_at(&file, &self.path) => return Ok(file),
                Ok(()) => continue,
                Err(std::fs::TryLockError::WouldBlock) => {}
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(anyhow!("cannot lock {} ({e})", self.path.display()))
                }
            }
            let waited = started.elapsed();
            if waited >= LOCK_PATIENCE {
                return Err(crate::exit::Error::TimedOut(format!(
                    "another process held {} for {} s; if none is running, remove the file",
                    self.path.display(),
                    LOCK_PATIENCE.as_secs()
                ))
                .into());
            }
            if waited >= SAY_WAITING_AFTER && !said {
                said = true;
                crate::ui::log::note(format_args!(
                    "waiting for another b24auth process holding {}",
                    self.path.display()
                ));
                self.ui.info(format_args!(
                    "b24auth: waiting for another b24auth process that holds the portal's request budget ({})",
                    self.path.display()
                ));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// The state in `file`, or `None` when it is empty or not a state.
fn read(file: &mut File, path: &Path) -> Option<State> {
    let mut text = Vec::new();
    file.take(MAX_STATE).read_to_end(&mut text).ok()?;
    if text.is_empty() {
        return Some(State::default());
    }
    let parsed = serde_json::from_slice(&text).ok();
    if parsed.is_none() {
        crate::ui::log::note(format_args!(
            "{} is not a budget state; assuming a full bucket",
            path.display()
        ));
    }
    parsed
}

/// The portal's `host[:port]` as a file name: lower case, `:` as `_`, anything else that is
/// not a host character as `-` (the portal name comes from a verified endpoint, but a file
/// name must never reach another directory).
fn file_name(portal: &str) -> String {
    let name: String = portal
        .to_ascii_lowercase()
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '.' | '-' => c,
            ':' => '_',
            _ => '-',
        })
        .collect();
    match name.trim_start_matches('.') {
        "" => "portal".into(),
        n => n.to_string(),
    }
}

/// Seconds since the Unix epoch: every process on the host shares this clock.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_queue_callers_behind_a_full_bucket() {
        let mut s = State::default();
        for _ in 0..50 {
            assert_eq!(s.reserve(2.0, 50.0, 100.0), Duration::ZERO);
        }
        assert_eq!(s.reserve(2.0, 50.0, 100.0), Duration::from_millis(500));
        assert_eq!(s.reserve(2.0, 50.0, 100.0), Duration::from_millis(1000));
        // A second later two slots drained: the next waits as long as the one before did.
        assert_eq!(s.reserve(2.0, 50.0, 101.0), Duration::from_millis(500));
        s.congested(2.0, 50.0, 200.0);
        assert_eq!(s.level, 50.0);
    }

    #[test]
    fn a_level_past_the_buckets_capacity_waits_one_drain_at_most() {
        // A budget file just under the sanity bound: not days of waiting, one drain at most.
        let mut s = State {
            level: 999_990.0,
            at: 100.0,
            ..State::default()
        };
        assert!(s.sane(100.0));
        let wait = s.reserve(2.0, 47.0, 100.0);
        assert!(wait <= Duration::from_secs_f64(48.0 / 2.0), "{wait:?}");
        assert!(s.level <= 2.0 * 47.0 + 1.0, "{}", s.level);
        // Waiters still queue behind a full bucket, each a slot after the one before.
        let next = s.reserve(2.0, 47.0, 100.0);
        assert!(next >= wait, "{next:?} after {wait:?}");
    }

    #[test]
    fn a_time_ahead_of_ours_counts_as_now() {
        let mut s = State {
            level: 50.0,
            at: 1000.0,
            ..State::default()
        };
        s.drain(2.0, 100.0);
        assert_eq!((s.level, s.at), (50.0, 100.0));
        s.drain(2.0, 110.0);
        assert_eq!(
            s.level, 30.0,
            "drains from now on, not from the planted time"
        );
    }

    #[test]
    fn nonsense_states_are_not_sane() {
        let now = 1000.0;
        assert!(State::default().sane(now));
        for bad in [
            State {
                level: f64::NAN,
                ..State::default()
            },
            State {
                level: -1.0,
                ..State::default()
            },
            State {
                at: now + 1e9,
                ..State::default()
            },
            State {
                window: Window {
                    operating: [("x".into(), (f64::INFINITY, 0.0))].into(),
                    ..Window::default()
                },
                ..State::default()
            },
        ] {
            assert!(!bad.sane(now), "{bad:?}");
        }
    }

    #[test]
    fn portal_file_names_stay_in_the_directory() {
        assert_eq!(file_name("Portal.Bitrix24.com"), "portal.bitrix24.com");
        assert_eq!(file_name("127.0.0.1:8080"), "127.0.0.1_8080");
        assert_eq!(file_name("../../etc/passwd"), "-..-etc-passwd");
        assert_eq!(file_name(""), "portal");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_corrupt_file_means_a_full_bucket_and_is_rewritten() {
        let tmp = tempfile::tempdir().unwrap();
        let shared =
            BudgetFile::open(tmp.path(), "p.example", 50.0, crate::ui::Ui::new(true)).unwrap();
        std::fs::write(shared.path(), b"{not json").unwrap();
        let wait = shared
            .with(|s, now| s.reserve(2.0, 50.0, now))
            .await
            .unwrap();
        assert!(wait >= Duration::from_millis(400), "{wait:?}");
        let text = std::fs::read_to_string(shared.path()).unwrap();
        let state: State = serde_json::from_str(&text).unwrap();
        assert!(state.level > 50.0);
    }
}
