/*!
The store: where profiles live, behind one interface with a backend per kind of place.

Commands speak only to [`Store`]. Its promise: a save is atomic and durable, and
[`Store::refresh_if`] is single-flight — it takes the profile's lock, re-reads, decides, calls the
refresher and saves before letting go, so racing processes cause one refresh, never two.
*/

pub mod file;
pub mod postgres;

use std::future::Future;
use std::path::PathBuf;

use anyhow::Result;

use crate::profile::Profile;

pub use file::FileStore;
pub use postgres::PgStore;

/// Whether a save may replace an existing profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveMode {
    /// Refuse (exit 2) when the profile exists: the caller was not told to `--force`.
    Create,
    Replace,
}

/// What [`Store::refresh_if`] ended with.
pub struct Refreshed {
    pub profile: Profile,
    /// False when the re-read under the lock showed another process had already refreshed.
    pub refreshed: bool,
}

pub enum Store {
    File(FileStore),
    Postgres(Box<PgStore>),
}

impl Store {
    /// Opens the store named by `--store`: `file` or a `postgres://` URL.
    pub fn open(url: &str, config_dir: PathBuf, quiet: bool) -> Result<Store> {
        match url {
            "file" => Ok(Store::File(FileStore::new(config_dir))),
            other if other.starts_with("postgres://") || other.starts_with("postgresql://") => Ok(
                Store::Postgres(Box::new(PgStore::new(other, config_dir, quiet)?)),
            ),
            _ => Err(crate::exit::usage(
                "--store takes `file` or a `postgres://…` URL",
            )),
        }
    }

    /// Where a profile lives, for people (a path, or a database and row).
    pub fn location(&self, name: &str) -> String {
        match self {
            Store::File(f) => f.location(name),
            Store::Postgres(p) => p.location(name),
        }
    }

    /// The exit-3 error for a profile with nothing stored.
    pub fn nothing_stored(&self, name: &str) -> anyhow::Error {
        nothing_stored_at(name, &self.location(name))
    }

    pub async fn exists(&self, name: &str) -> Result<bool> {
        match self {
            Store::File(f) => Ok(f.path(name).exists()),
            Store::Postgres(p) => p.exists(name).await,
        }
    }

    pub async fn load(&self, name: &str) -> Result<Option<Profile>> {
        match self {
            Store::File(f) => f.load(name),
            Store::Postgres(p) => p.load(name).await,
        }
    }

    pub async fn save(&self, name: &str, profile: &Profile, mode: SaveMode) -> Result<()> {
        match self {
            Store::File(f) => f.save(name, profile, mode),
            Store::Postgres(p) => p.save(name, profile, mode).await,
        }
    }

    /// Under the profile's lock: re-read; when `due` says so, run `refresh` on what was read and
    /// save its result before the lock is released. Nothing stored is an authorization error.
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
        match self {
            Store::File(f) => f.refresh_if(name, due, refresh).await,
            Store::Postgres(p) => p.refresh_if(name, due, refresh).await,
        }
    }

    /// Deletes a profile under its lock; false when there was nothing to delete.
    pub async fn delete(&self, name: &str) -> Result<bool> {
        match self {
            Store::File(f) => f.delete(name),
            Store::Postgres(p) => p.delete(name).await,
        }
    }

    /// Every stored profile by name; a damaged one is listed with its error.
    pub async fn list(&self) -> Result<Vec<(String, Result<Profile>)>> {
        match self {
            Store::File(f) => f.list(),
            Store::Postgres(p) => p.list().await,
        }
    }
}

/// Exit 3: nothing is stored for the profile at `location`.
pub fn nothing_stored_at(name: &str, location: &str) -> anyhow::Error {
    crate::exit::auth_needed(format!(
        "nothing stored for profile `{name}` ({location}): run {} or {}",
        crate::hint::cmd("authorize --domain PORTAL"),
        crate::hint::cmd("install-listen")
    ))
}

/// Exit 2: a new pair would replace the profile at `location` without `--force`.
pub fn already_exists(name: &str, location: &str) -> anyhow::Error {
    crate::exit::usage(format!(
        "profile `{name}` already exists ({location}): pass --force to replace it"
    ))
}

/// The error for a refreshed pair the store could not take: Bitrix24 has rotated the pair, so
/// say where the new one was `kept` and `how_back`, or that it is gone.
pub fn lost_save(
    cause: anyhow::Error,
    name: &str,
    kept: Result<std::path::PathBuf>,
    how_back: impl FnOnce(&std::path::Path) -> String,
) -> anyhow::Error {
    match kept {
        Ok(path) => cause.context(format!(
            "Bitrix24 already rotated the pair; the new one was kept in {}: {}",
            path.display(),
            how_back(&path)
        )),
        Err(e) => cause.context(format!(
            "Bitrix24 already rotated the pair and it could not be kept anywhere ({e:#}): run {} or {} again (profile `{name}`)",
            crate::hint::cmd("authorize --domain PORTAL --force"),
            crate::hint::cmd("install-listen --force")
        )),
    }
}
