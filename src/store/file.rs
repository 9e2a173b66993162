/*!
The file backend: `<dir>/auth.json` and `<dir>/profiles/<NAME>.json`.

Directories are 0700 and files 0600 from the moment they exist. Every write goes to a temp file
in the same directory, is fsynced, renamed over the old file and the directory fsynced, so a
reader or a crash sees the old pair or the new one. Writers hold `<file>.lock` (an OS file lock,
released by the kernel if the holder dies) for at most [`LOCK_WAIT`].
*/

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::future::Future;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::{guard, Refreshed, SaveMode};
use crate::exit::Error;
use crate::profile::Profile;
use crate::secret::random_hex;

pub const LOCK_WAIT: Duration = Duration::from_secs(30);

pub struct FileStore {
    dir: PathBuf,
}

/// A held profile lock; the OS releases it when this is dropped or the process dies.
struct Lock(#[allow(dead_code)] File);

impl FileStore {
    pub fn new(dir: PathBuf) -> FileStore {
        FileStore { dir }
    }

    pub fn location(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        if name == "default" {
            self.dir.join("auth.json")
        } else {
            self.dir.join("profiles").join(format!("{name}.json"))
        }
    }

    /// Reads a profile without locking: the rename in [`write_atomic`] means a reader never sees
    /// a partial file.
    pub fn load(&self, name: &str) -> Result<Option<Profile>> {
        let path = self.path(name);
        self.guard(&path)?;
        read_profile(&path)
    }

    /// The config dir and the profile's own directory: see [`guard::check_dir`].
    fn guard(&self, path: &Path) -> Result<()> {
        guard::check_dir(&self.dir)?;
        match path.parent() {
            Some(parent) if parent != self.dir => guard::check_dir(parent),
            _ => Ok(()),
        }
    }

    pub fn save(&self, name: &str, profile: &Profile, mode: SaveMode) -> Result<()> {
        let path = self.path(name);
        let _lock = self.lock(&path)?;
        if mode == SaveMode::Create && path.exists() {
            return Err(super::already_exists(name, &self.location(name)));
        }
        write_atomic(&path, &profile.to_bytes())
    }

    pub async fn refresh_if<F, Fut>(
        &self,
        name: &str,
        due: impl Fn(&Profile) -> bool,
        refresh: F,
    ) -> Result<Refreshed>
    where
        F: FnOnce(Profile) -> Fut,
        Fut: Future<Output = Result<Profile>>,
    {
        let path = self.path(name);
        let _lock = self.lock(&path)?;
        let current = read_profile(&path)?
            .ok_or_else(|| super::nothing_stored_at(name, &self.location(name)))?;
        if !due(&current) {
            return Ok(Refreshed {
                profile: current,
                refreshed: false,
            });
        }
        let profile = refresh(current).await?;
        if let Err(e) = write_atomic(&path, &profile.to_bytes()) {
            return Err(rescue(&path, name, &profile, e));
        }
        Ok(Refreshed {
            profile,
            refreshed: true,
        })
    }

    pub fn delete(&self, name: &str) -> Result<bool> {
        let path = self.path(name);
        if !path.exists() {
            return Ok(false);
        }
        let lock = self.lock(&path)?;
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e).with_context(|| format!("cannot delete {}", path.display())),
        }
        File::open(path.parent().expect("profile paths have a parent"))?.sync_all()?;
        // The lock file goes last, still held, so a waiting writer finds nothing to write to.
        let _ = fs::remove_file(lock_path(&path));
        drop(lock);
        Ok(true)
    }

    pub fn list(&self) -> Result<Vec<(String, Result<Profile>)>> {
        self.guard(&self.path("any"))?;
        let mut names = Vec::new();
        if self.path("default").exists() {
            names.push("default".to_string());
        }
        match fs::read_dir(self.dir.join("profiles")) {
            Ok(entries) => {
                let mut named: Vec<String> = entries
                    .filter_map(|e| e.ok())
                    .filter_map(|e| {
                        let n = e.file_name().to_string_lossy().into_owned();
                        n.strip_suffix(".json")
                            .filter(|s| !s.starts_with('.'))
                            .map(String::from)
                    })
                    .collect();
                named.sort();
                names.extend(named);
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e).context("cannot list the profiles"),
        }
        Ok(names
            .into_iter()
            .map(|n| {
                let p = read_profile(&self.path(&n))
                    .and_then(|p| p.ok_or_else(|| anyhow::anyhow!("deleted while listing")));
                (n, p)
            })
            .collect())
    }

    /// Removes temp files a killed writer left behind. Called under the lock, when no other
    /// writer of this profile can be midway.
    fn sweep_temps(path: &Path) {
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return;
        };
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            if is_temp_of(
                &entry.file_name().to_string_lossy(),
                &name.to_string_lossy(),
            ) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    fn lock(&self, path: &Path) -> Result<Lock> {
        let dir = path.parent().expect("profile paths have a parent");
        self.guard(path)?;
        create_private_dir(dir)?;
        let lock_path = lock_path(path);
        let file = guard::open_lock(&lock_path)?;
        Self::acquire(path, &lock_path, file)
    }

    /// Waits for the lock on `file` (the lock file as opened), at most [`LOCK_WAIT`].
    fn acquire(path: &Path, lock_path: &Path, mut file: File) -> Result<Lock> {
        let deadline = Instant::now() + LOCK_WAIT;
        let mut pause = Duration::from_millis(2);
        loop {
            match file.try_lock() {
                // `forget` unlinks the lock file while holding it: a lock on the unlinked file
                // protects nothing, so open the one now at the path and lock that.
                Ok(()) if !guard::still_at(&file, lock_path) => {
                    file = guard::open_lock(lock_path)?;
                }
                Ok(()) => {
                    Self::sweep_temps(path);
                    return Ok(Lock(file));
                }
                Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(Error::TimedOut(format!(
                        "another b24auth held the profile lock {} for {}s; try again",
                        lock_path.display(),
                        LOCK_WAIT.as_secs()
                    ))
                    .into())
                }
                Err(fs::TryLockError::Error(e)) => {
                    return Err(e).with_context(|| format!("cannot lock {}", lock_path.display()))
                }
            }
        }
    }
}

/// Writes a pair that could not be saved where it belongs into `<dir>/rescue-<time>-<rand>/`,
/// laid out as a config dir (0700/0600). Bitrix24 has already rotated the pair at that point, so
/// this copy is the only live one.
pub fn keep_rescued(dir: &Path, name: &str, profile: &Profile) -> Result<PathBuf> {
    let rescue = dir.join(format!(
        "rescue-{}-{}",
        crate::profile::now(),
        random_hex(4)
    ));
    let kept = FileStore::new(rescue).path(name);
    create_private_dir(kept.parent().expect("profile paths have a parent"))?;
    write_atomic(&kept, &profile.to_bytes())?;
    Ok(kept)
}

/// After a failed save of a refreshed pair: keep it under the temp dir (often another
/// filesystem than a full config dir) and say how to put it back.
fn rescue(path: &Path, name: &str, profile: &Profile, cause: anyhow::Error) -> anyhow::Error {
    let kept = keep_rescued(&std::env::temp_dir(), name, profile);
    super::lost_save(cause, name, kept, |_| {
        format!("once there is room, `mv` it back to {}", path.display())
    })
}

pub fn lock_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

/// True for the temp names [`write_atomic`] gives `file`: `.<file>.<12 hex>.tmp`, exactly (so
/// profile `a` never sweeps the temp file of profile `a.json.x`).
fn is_temp_of(candidate: &str, file: &str) -> bool {
    candidate
        .strip_prefix('.')
        .and_then(|c| c.strip_prefix(file))
        .and_then(|c| c.strip_prefix('.'))
        .and_then(|c| c.strip_suffix(".tmp"))
        .is_some_and(|hex| hex.len() == 12 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn read_profile(path: &Path) -> Result<Option<Profile>> {
    let Some(mut file) = guard::open_read(path)? else {
        return Ok(None);
    };
    let mode = file.metadata()?.permissions().mode();
    if mode & 0o077 != 0 {
        anyhow::bail!(
            "{} is accessible by other users (mode {:o}): run `chmod 600 {}`",
            path.display(),
            mode & 0o777,
            path.display()
        );
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Profile::parse(&bytes).map(Some).with_context(|| {
        format!(
            "{} is damaged; restore it or authorize again with --force",
            path.display()
        )
    })
}

fn create_private_dir(dir: &Path) -> Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// temp → write → fsync → rename over → fsync directory. The temp file is 0600 from creation
/// and removed when anything fails, so a failed save leaves the old file as it was.
/// The directory must exist (the lock that guards every write creates it).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().expect("profile paths have a parent");
    let name = path.file_name().expect("profile paths have a file name");
    let tmp = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), random_hex(6)));
    let result = (|| -> std::io::Result<()> {
        let mut f = guard::no_follow(OpenOptions::new().write(true).create_new(true).mode(0o600))
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot save {}", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A waiter opened the lock file, then `forget` unlinked it: the waiter must end up holding
    /// the file now at the path, so a new locker waits for it instead of locking alongside.
    #[test]
    fn a_waiter_whose_lock_file_was_unlinked_locks_the_current_one() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FileStore::new(tmp.path().join("config"));
        let path = store.path("default");
        create_private_dir(path.parent().unwrap()).unwrap();
        let lp = lock_path(&path);
        let waiter = guard::open_lock(&lp).unwrap();
        fs::remove_file(&lp).unwrap();
        let held = FileStore::acquire(&path, &lp, waiter).unwrap();
        assert!(guard::still_at(&held.0, &lp));
        let newcomer = guard::open_lock(&lp).unwrap();
        assert!(matches!(
            newcomer.try_lock(),
            Err(fs::TryLockError::WouldBlock)
        ));
    }

    #[test]
    fn the_sweep_matches_only_this_files_temp_names() {
        assert!(is_temp_of(".a.json.0123456789ab.tmp", "a.json"));
        assert!(!is_temp_of(".a.json.x.json.0123456789ab.tmp", "a.json"));
        assert!(!is_temp_of(".a.json.0123456789ab.tmp", "a.json.x.json"));
        assert!(!is_temp_of(".a.json.zz.tmp", "a.json"));
        assert!(!is_temp_of("a.json.0123456789ab.tmp", "a.json"));
    }
}
