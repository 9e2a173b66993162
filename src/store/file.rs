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

use super::{Refreshed, SaveMode};
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
        read_profile(&self.path(name))
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
        let prefix = format!(".{}.", name.to_string_lossy());
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let n = entry.file_name().to_string_lossy().into_owned();
            if n.starts_with(&prefix) && n.ends_with(".tmp") {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    fn lock(&self, path: &Path) -> Result<Lock> {
        let dir = path.parent().expect("profile paths have a parent");
        create_private_dir(dir)?;
        let lock_path = lock_path(path);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .with_context(|| format!("cannot open the lock file {}", lock_path.display()))?;
        let deadline = Instant::now() + LOCK_WAIT;
        let mut pause = Duration::from_millis(2);
        loop {
            match file.try_lock() {
                Ok(()) => {
                    if pause > Duration::from_millis(2) {
                        crate::log::note(format_args!(
                            "waited {} ms for the profile lock {}",
                            (LOCK_WAIT - (deadline - Instant::now())).as_millis(),
                            lock_path.display()
                        ));
                    }
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

fn read_profile(path: &Path) -> Result<Option<Profile>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
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
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
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
