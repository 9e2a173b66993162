/*!
The store: where profiles live, one enum with a backend per kind of place.

Commands and the session speak only to [`Store`]. Its promise: a save is atomic and durable, and
the locked flows written once here on top of a backend's [`Store::lock`]:

- [`refresh_locked`]: take the profile's lock, re-read, decide, refresh, save before letting go,
  so racing processes cause one refresh, never two. A refreshed pair the backend cannot take,
  or one that cannot be a profile at all ([`Unstorable`]), is rescued (Bitrix24 has already
  rotated it), never dropped. From the refresh request to the
  durable save it is a [`crate::signals`] critical section: a stop signal waits for the save.
- [`save_new`]: take the lock first, then make the new pair (a code exchange) and save it, so
  no lock wait ever sits between Bitrix24's answer and the save. [`save_adopted`] is the same
  flow for a pair brought in from elsewhere (`import`), which may be refreshed on it.
- [`update_locked`]: the same lock and re-read for a change that does not rotate anything (a
  renamed portal's new endpoint); a failed save leaves the stored pair as it was.
*/

pub(crate) mod candidates;
pub(crate) mod disk;
mod file;
pub(crate) mod guard;
pub(crate) mod marks;
mod postgres;
pub(crate) mod queue;
mod rescue;

use std::future::Future;
use std::path::PathBuf;

use anyhow::Result;

use crate::profile::Profile;
use crate::secret::Secret;
use crate::ui::Ui;
use candidates::Candidate;

pub(crate) use file::{FileLock, FileStore};
pub(crate) use postgres::{PgLock, PgStore};

/// Every stored profile by name, each read on its own so one damaged profile does not hide
/// the others.
pub(crate) type Listing = Vec<(String, Result<Profile>)>;

/// Whether a save may replace an existing profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SaveMode {
    /// Refuse (exit 2) when the profile exists: the caller was not told to `--force`.
    Create,
    Replace,
}

/// A refresh's error when the server rotated the pair but its new one cannot be stored as a
/// profile (a refresh token that breaks b24auth's rule for tokens): [`refresh_locked`] rescues
/// `profile` as it rescues a pair the backend could not take.
#[derive(Debug)]
pub(crate) struct Unstorable {
    pub profile: Profile,
}

impl std::fmt::Display for Unstorable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the rotated pair cannot be stored as a profile")
    }
}

impl std::error::Error for Unstorable {}

/// What [`refresh_locked`] ended with.
pub(crate) struct Refreshed {
    pub profile: Profile,
    /// False when the re-read under the lock showed another process had already refreshed.
    pub refreshed: bool,
}

/// A place that keeps profiles: one variant per backend, each method forwarding to the
/// backend's own.
pub(crate) enum Store {
    File(FileStore),
    /// Boxed: its connection set-up is large, and the file store is the common one.
    Postgres(Box<PgStore>),
}

impl Store {
    /// True for a store several hosts may share (a database): a file lock on one host does not
    /// keep another host's run out.
    pub fn is_shared(&self) -> bool {
        matches!(self, Store::Postgres(_))
    }

    /// Where a profile lives, for people (a path, or a database and row).
    pub fn location(&self, name: &str) -> String {
        match self {
            Store::File(s) => s.location(name),
            Store::Postgres(s) => s.location(name),
        }
    }

    pub async fn exists(&self, name: &str) -> Result<bool> {
        match self {
            Store::File(s) => Ok(s.exists(name)),
            Store::Postgres(s) => s.exists(name).await,
        }
    }

    /// Reads a profile without locking; a reader never sees a half-written one.
    pub async fn load(&self, name: &str) -> Result<Option<Profile>> {
        match self {
            Store::File(s) => s.read_now(name),
            Store::Postgres(s) => s.load_profile(name).await,
        }
    }

    /// [`Store::load`] when the backend can read with no async runtime (the file store); `None`
    /// when it needs one (a database connection).
    pub fn load_now(&self, name: &str) -> Option<Result<Option<Profile>>> {
        match self {
            Store::File(s) => Some(s.read_now(name)),
            Store::Postgres(_) => None,
        }
    }

    /// Saves atomically and durably under the profile's lock.
    pub async fn save(&self, name: &str, profile: &Profile, mode: SaveMode) -> Result<()> {
        match self {
            Store::File(s) => s.save(name, profile, mode).await,
            Store::Postgres(s) => s.save_profile(name, profile, mode).await,
        }
    }

    /// Takes the profile's exclusive lock (waiting at most the contract's 30 s, then exit 4).
    pub async fn lock<'a>(&'a self, name: &'a str) -> Result<Locked<'a>> {
        match self {
            Store::File(s) => Ok(Locked::File(s.lock(name).await?)),
            Store::Postgres(s) => Ok(Locked::Postgres(s.lock_row(name).await?)),
        }
    }

    /// Deletes a profile under its lock; false when there was nothing to delete.
    pub async fn delete(&self, name: &str) -> Result<bool> {
        match self {
            Store::File(s) => s.delete(name).await,
            Store::Postgres(s) => s.delete_row(name).await,
        }
    }

    /// Every stored profile by name; a damaged one is listed with its error.
    pub async fn list(&self) -> Result<Listing> {
        match self {
            Store::File(s) => s.list(),
            Store::Postgres(s) => s.list_rows().await,
        }
    }

    /// The event queue shared by every host of this store (`serve`); `None` for a store one
    /// host owns (the files: `serve` keeps its spool beside them).
    pub fn event_queue(&self) -> Option<&dyn queue::EventQueue> {
        match self {
            Store::File(_) => None,
            Store::Postgres(s) => Some(&**s),
        }
    }

    /// The install callbacks kept for this profile until the trusted server decides
    /// ([`candidates`]), oldest first.
    pub async fn candidates(&self, name: &str) -> Result<Vec<Candidate>> {
        match self {
            Store::File(s) => s.candidates(name),
            Store::Postgres(s) => s.candidate_rows(name).await,
        }
    }

    /// Every profile name that may hold candidates (with or without a profile), sorted.
    pub async fn candidate_profiles(&self) -> Result<Vec<String>> {
        match self {
            Store::File(s) => s.candidate_profiles(),
            Store::Postgres(s) => s.candidate_profile_rows().await,
        }
    }

    /// Keeps one candidate durably (the same id replaces it: a rotation of that candidate);
    /// refused past [`candidates::MAX_CANDIDATES`].
    pub async fn keep_candidate(&self, name: &str, candidate: &Candidate) -> Result<()> {
        match self {
            Store::File(s) => s.keep_candidate(name, candidate),
            Store::Postgres(s) => s.keep_candidate_row(name, candidate).await,
        }
    }

    /// Removes one candidate (promoted, or contradicted by the trusted server).
    pub async fn drop_candidate(&self, name: &str, id: &str) -> Result<()> {
        match self {
            Store::File(s) => s.drop_candidate(name, id),
            Store::Postgres(s) => s.drop_candidate_row(name, id).await,
        }
    }

    /// After a rotated pair could not be saved: keep it somewhere and say how to put it back.
    pub fn rescue(&self, name: &str, profile: &Profile, cause: anyhow::Error) -> anyhow::Error {
        match self {
            Store::File(s) => s.rescue(name, profile, cause),
            Store::Postgres(s) => s.rescue(name, profile, cause),
        }
    }
}

/// A held profile lock. Dropping it without [`Locked::write`] releases it, leaving the stored
/// profile as it was.
pub(crate) enum Locked<'a> {
    File(FileLock),
    Postgres(PgLock<'a>),
}

impl Locked<'_> {
    /// The profile as stored now, read under the lock.
    pub async fn read(&mut self) -> Result<Option<Profile>> {
        match self {
            Locked::File(l) => l.read(),
            Locked::Postgres(l) => l.read(),
        }
    }

    /// Durably replaces the profile, then releases the lock.
    pub async fn write(&mut self, profile: &Profile) -> Result<()> {
        match self {
            Locked::File(l) => l.write(profile),
            Locked::Postgres(l) => l.write(profile).await,
        }
    }

    /// Lets go without writing (a backend that must tell a server does so here).
    pub async fn release(&mut self) {
        match self {
            Locked::File(l) => l.release(),
            Locked::Postgres(l) => l.release().await,
        }
    }
}

/// Opens the store named by `--store`: `file` or a `postgres://` URL.
pub(crate) fn open(url: &str, config_dir: PathBuf, key: Option<&Secret>, ui: Ui) -> Result<Store> {
    match url {
        "file" => Ok(Store::File(FileStore::new(config_dir, ui))),
        other if other.starts_with("postgres://") || other.starts_with("postgresql://") => Ok(
            Store::Postgres(Box::new(PgStore::new(other, config_dir, key, ui)?)),
        ),
        _ => Err(crate::exit::usage(
            "--store takes `file` or a `postgres://…` URL",
        )),
    }
}

/// Under the profile's lock: re-read; when `due` says so, run `refresh` on what was read and
/// save its result before the lock is released. Nothing stored is an authorization error.
pub(crate) async fn refresh_locked<F, Fut>(
    store: &Store,
    name: &str,
    due: impl Fn(&Profile) -> bool,
    refresh: F,
) -> Result<Refreshed>
where
    F: FnOnce(Profile) -> Fut,
    Fut: Future<Output = Result<Profile>>,
{
    let mut held = store.lock(name).await?;
    let current = read_locked(store, &mut held, name).await?;
    if !due(&current) {
        held.release().await;
        return Ok(Refreshed {
            profile: current,
            refreshed: false,
        });
    }
    let critical = or_release(&mut held, critical()).await?;
    let profile = match refresh(current).await {
        Ok(profile) => profile,
        Err(e) => {
            held.release().await;
            return Err(match e.downcast_ref::<Unstorable>() {
                Some(unstorable) => {
                    let profile = unstorable.profile.clone();
                    store.rescue(name, &profile, e)
                }
                None => e,
            });
        }
    };
    // Nothing between Bitrix24's answer and the durable save: that is the whole window a
    // SIGKILL can cost.
    if let Err(e) = held.write(&profile).await {
        return Err(store.rescue(name, &profile, e));
    }
    critical.saved()?;
    Ok(Refreshed {
        profile,
        refreshed: true,
    })
}

/// Under the profile's lock: check `mode`, run `make` (the code exchange), save its pair. The
/// lock comes first: waiting for it is the one long wait, and it happens before anything is
/// sent, where a Ctrl-C or `--timeout` may still stop everything with nothing lost.
pub(crate) async fn save_new<F, Fut>(
    store: &Store,
    name: &str,
    mode: SaveMode,
    make: F,
) -> Result<Profile>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Profile>>,
{
    let rotated = |p: Profile| AdoptedPair {
        profile: p,
        rotated: true,
    };
    let (made, critical) =
        save_made(store, name, mode, || async { make().await.map(rotated) }).await?;
    // The flow answers the browser first; `lib::run` reports the stop after it.
    critical.saved_stop_later();
    Ok(made.profile)
}

/// What [`save_adopted`]'s `adopt` made: the pair, and whether making it rotated the one it
/// was given (then the given copy is dead and a failed save rescues the new one).
pub(crate) struct AdoptedPair {
    pub profile: Profile,
    pub rotated: bool,
}

/// [`save_new`] for a pair that exists already (`import`): `adopt` may refresh and verify it
/// under the lock; a stop signal that came meanwhile ends the run as soon as it is saved.
pub(crate) async fn save_adopted<F, Fut>(
    store: &Store,
    name: &str,
    mode: SaveMode,
    adopt: F,
) -> Result<AdoptedPair>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<AdoptedPair>>,
{
    let (made, critical) = save_made(store, name, mode, adopt).await?;
    critical.saved()?;
    Ok(made)
}

/// The steps under [`save_new`] and [`save_adopted`]: lock, `mode`, critical section, `make`,
/// the durable write; the section is handed back open for the caller to close its way.
async fn save_made<F, Fut>(
    store: &Store,
    name: &str,
    mode: SaveMode,
    make: F,
) -> Result<(AdoptedPair, crate::signals::Critical)>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<AdoptedPair>>,
{
    let mut held = store.lock(name).await?;
    // A damaged profile counts as existing: only `--force` replaces it.
    if mode == SaveMode::Create && !matches!(held.read().await, Ok(None)) {
        held.release().await;
        return Err(already_exists(name, &store.location(name)));
    }
    let critical = or_release(&mut held, critical()).await?;
    let made = or_release(&mut held, make().await).await?;
    if let Err(e) = held.write(&made.profile).await {
        // A pair nothing rotated is still valid where it came from: report the failure as is.
        return Err(match made.rotated {
            true => store.rescue(name, &made.profile, e),
            false => e,
        });
    }
    Ok((made, critical))
}

/// Under the profile's lock: re-read, apply `update`, save. Nothing rotated, so a failed save
/// leaves the stored profile valid and is reported as it is.
pub(crate) async fn update_locked(
    store: &Store,
    name: &str,
    update: impl FnOnce(&mut Profile),
) -> Result<Profile> {
    let mut held = store.lock(name).await?;
    let mut profile = read_locked(store, &mut held, name).await?;
    update(&mut profile);
    held.write(&profile).await?;
    Ok(profile)
}

async fn read_locked(store: &Store, held: &mut Locked<'_>, name: &str) -> Result<Profile> {
    let read = match held.read().await {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(nothing_stored_at(name, &store.location(name))),
        Err(e) => Err(e),
    };
    or_release(held, read).await
}

/// Opens the stop-signal critical section: just before the request that rotates or spends the
/// pair, only in these flows.
fn critical() -> Result<crate::signals::Critical> {
    Ok(crate::signals::critical()?)
}

/// `result`, with the lock let go first when it is an error (nothing was written).
async fn or_release<T>(held: &mut Locked<'_>, result: Result<T>) -> Result<T> {
    if result.is_err() {
        held.release().await;
    }
    result
}

/// Exit 3: nothing is stored for the profile at `location`.
pub(crate) fn nothing_stored_at(name: &str, location: &str) -> anyhow::Error {
    crate::exit::auth_needed(format!(
        "nothing stored for profile `{name}` ({location}): {}",
        crate::ui::hint::authorize_again("PORTAL", false)
    ))
}

/// Exit 2: a new pair would replace the profile at `location` without `--force`.
pub(crate) fn already_exists(name: &str, location: &str) -> anyhow::Error {
    crate::exit::usage(format!(
        "profile `{name}` already exists ({location}): pass --force to replace it"
    ))
}
