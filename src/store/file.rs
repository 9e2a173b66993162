/*!
The file backend: `<dir>/auth.json` and `<dir>/profiles/<NAME>.json`.

Directories are 0700 and files 0600 from the moment they exist. Every write goes to a temp file
in the same directory, is fsynced, renamed over the old file and the directory fsynced, so a
reader or a crash sees the old pair or the new one. Writers hold `<file>.lock` (an OS file lock,
released by the kernel if the holder dies) for at most [`LOCK_WAIT`].
*/

use std::fs::{self, File};
use std::io::{ErrorKind, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use super::candidates::{self, Candidate};
use super::disk::{create_private_dir, is_temp_of, lock_path, profile_path, write_atomic};
use super::{guard, Listing, SaveMode};
use crate::exit::Error;
use crate::profile::Profile;
use crate::ui::Ui;

pub(crate) const LOCK_WAIT: Duration = Duration::from_secs(30);

pub(crate) struct FileStore {
    dir: PathBuf,
    ui: Ui,
}

/// After this long on a busy lock, say on stderr what is being waited for.
const LOCK_NOTICE: Duration = Duration::from_secs(1);

/// A held profile lock on `<file>.lock`; the OS releases it when the file is closed (dropped)
/// or the process dies.
pub(crate) struct FileLock {
    path: PathBuf,
    file: Option<File>,
}

impl FileLock {
    pub(super) fn read(&mut self) -> Result<Option<Profile>> {
        read_profile(&self.path)
    }

    /// Durably replaces the profile, then lets go of the lock.
    pub(super) fn write(&mut self, profile: &Profile) -> Result<()> {
        let saved = write_atomic(&self.path, &profile.to_bytes());
        self.file = None;
        saved
    }

    pub(super) fn release(&mut self) {
        self.file = None;
    }
}

impl FileStore {
    pub(super) fn location(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    pub(super) fn exists(&self, name: &str) -> bool {
        self.path(name).exists()
    }

    pub(super) async fn save(&self, name: &str, profile: &Profile, mode: SaveMode) -> Result<()> {
        let path = self.path(name);
        let _lock = self.lock_file(&path).await?;
        if mode == SaveMode::Create && path.exists() {
            return Err(super::already_exists(name, &self.location(name)));
        }
        write_atomic(&path, &profile.to_bytes())
    }

    pub(super) async fn lock(&self, name: &str) -> Result<FileLock> {
        let path = self.path(name);
        let file = self.lock_file(&path).await?;
        Ok(FileLock {
            path,
            file: Some(file),
        })
    }

    pub(super) fn candidates(&self, name: &str) -> Result<Vec<Candidate>> {
        let path = self.path(name);
        self.guard(&path)
            .and_then(|()| candidates::list_files(&candidates::dir_beside(&path)))
    }

    pub(super) fn keep_candidate(&self, name: &str, candidate: &Candidate) -> Result<()> {
        let path = self.path(name);
        self.guard(&path)
            .and_then(|()| candidates::keep_file(&candidates::dir_beside(&path), candidate))
    }

    /// Every profile name with a candidate folder beside where its file is (or would be):
    /// a profile may hold only candidates.
    pub(super) fn candidate_profiles(&self) -> Result<Vec<String>> {
        self.guard(&self.path("any"))?;
        let mut names = Vec::new();
        if candidates::dir_beside(&self.path("default")).is_dir() {
            names.push("default".to_string());
        }
        let entries = match fs::read_dir(self.dir.join("profiles")) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(names),
            Err(e) => return Err(e).context("cannot list the profiles"),
        };
        let mut named: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .filter_map(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.strip_suffix(".candidates")
                    .filter(|s| !s.is_empty() && !s.starts_with('.'))
                    .map(String::from)
            })
            .collect();
        named.sort();
        names.extend(named);
        Ok(names)
    }

    pub(super) fn drop_candidate(&self, name: &str, id: &str) -> Result<()> {
        let path = self.path(name);
        self.guard(&path)
            .and_then(|()| candidates::drop_file(&candidates::dir_beside(&path), id))
    }

    /// Keeps the pair under the temp dir (often another filesystem than a full config dir).
    pub(super) fn rescue(
        &self,
        name: &str,
        profile: &Profile,
        cause: anyhow::Error,
    ) -> anyhow::Error {
        let path = self.path(name);
        let kept = super::rescue::keep(&std::env::temp_dir(), name, profile);
        super::rescue::lost_save(cause, name, kept, |_| {
            format!("once there is room, `mv` it back to {}", path.display())
        })
    }
}

impl FileStore {
    pub(crate) fn new(dir: PathBuf, ui: Ui) -> FileStore {
        FileStore { dir, ui }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        profile_path(&self.dir, name)
    }

    /// Reads without locking: the rename in [`write_atomic`] means a reader never sees a
    /// partial file. Plain file I/O, so it needs no runtime.
    pub(super) fn read_now(&self, name: &str) -> Result<Option<Profile>> {
        let path = self.path(name);
        self.guard(&path).and_then(|()| read_profile(&path))
    }

    pub(super) async fn delete(&self, name: &str) -> Result<bool> {
        let path = self.path(name);
        if !path.exists() {
            return Ok(false);
        }
        let lock = self.lock_file(&path).await?;
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

    /// The config dir and the profile's own directory: see [`guard::check_dir`].
    fn guard(&self, path: &Path) -> Result<()> {
        guard::check_dir(&self.dir)?;
        match path.parent() {
            Some(parent) if parent != self.dir => guard::check_dir(parent),
            _ => Ok(()),
        }
    }

    pub(super) fn list(&self) -> Result<Listing> {
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

    /// Opens and locks `<file>.lock`, polling with an async pause so a spinner, `--timeout` and
    /// Ctrl-C keep working while another process holds it.
    async fn lock_file(&self, path: &Path) -> Result<File> {
        let dir = path.parent().expect("profile paths have a parent");
        self.guard(path)?;
        create_private_dir(dir)?;
        let lock_path = lock_path(path);
        let file = guard::open_lock(&lock_path)?;
        self.acquire(path, &lock_path, file).await
    }

    /// Waits for the lock on `file` (the lock file as opened), at most [`LOCK_WAIT`].
    async fn acquire(&self, path: &Path, lock_path: &Path, mut file: File) -> Result<File> {
        let started = tokio::time::Instant::now();
        let (deadline, mut told) = (started + LOCK_WAIT, false);
        let mut pause = Duration::from_millis(2);
        loop {
            match file.try_lock() {
                // `forget` unlinks the lock file while holding it: a lock on the unlinked file
                // protects nothing, so open the one now at the path and lock that.
                Ok(()) if !guard::still_at(&file, lock_path) => {
                    file = guard::open_lock(lock_path)?;
                }
                Ok(()) => {
                    if pause > Duration::from_millis(2) {
                        crate::ui::log::note(format_args!(
                            "waited {} ms for the profile lock {}",
                            started.elapsed().as_millis(),
                            lock_path.display()
                        ));
                    }
                    Self::sweep_temps(path);
                    return Ok(file);
                }
                Err(fs::TryLockError::WouldBlock) if tokio::time::Instant::now() < deadline => {
                    if !told && started.elapsed() >= LOCK_NOTICE {
                        told = true;
                        self.ui.info(format_args!(
                            "waiting for the profile lock {}: another b24auth holds it (at most {}s)",
                            lock_path.display(),
                            LOCK_WAIT.as_secs()
                        ));
                    }
                    tokio::time::sleep(pause).await;
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
            crate::ui::hint::quote(&path.display().to_string())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A waiter opened the lock file, then `forget` unlinked it: the waiter must end up holding
    /// the file now at the path, so a new locker waits for it instead of locking alongside.
    #[test]
    fn a_waiter_whose_lock_file_was_unlinked_locks_the_current_one() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FileStore::new(tmp.path().join("config"), Ui::new(true));
        let path = store.path("default");
        create_private_dir(path.parent().unwrap()).unwrap();
        let lp = lock_path(&path);
        let waiter = guard::open_lock(&lp).unwrap();
        fs::remove_file(&lp).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let held = rt.block_on(store.acquire(&path, &lp, waiter)).unwrap();
        assert!(guard::still_at(&held, &lp));
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
        assert!(is_temp_of(".a.json.Zq09xYbB12cd.tmp", "a.json"));
        assert!(!is_temp_of(".a.json.Zq09xYbB12c-.tmp", "a.json"));
    }

    #[test]
    fn an_atomic_write_replaces_the_file_0600_and_leaves_no_temp_file() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let names: Vec<_> = fs::read_dir(tmp.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "{names:?}");
        // A rename that fails (a directory holds the name) removes the temp file it wrote.
        let taken = tmp.path().join("b.json");
        fs::create_dir(&taken).unwrap();
        fs::write(taken.join("x"), b"").unwrap();
        let err = write_atomic(&taken, b"x").unwrap_err();
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 2);
        assert!(format!("{err:#}").contains("cannot save"), "{err:#}");
    }
}
