/*!
Candidates: install callbacks kept until the trusted OAuth server decides.

A callback the trusted server has neither confirmed nor contradicted (no verdict yet, no client
credentials, a late token) is not a profile: `auth.json` holds only a confirmed pair. It is kept
here, each in its own file beside the profile (`auth.candidates/<id>.json`, or
`profiles/<NAME>.candidates/<id>.json`; in PostgreSQL one row each), under the profile files'
rules (0700 directory, 0600 files, atomic and durable writes). Candidates never displace one
another: each has its own name, and only a proof or the trusted server's contradiction removes
one.

Bounds: at most [`MAX_CANDIDATES`] per profile, each at most [`MAX_BYTES`] (the callback body's
own bound). The same pair posted again is kept once.
*/

use std::fs;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};

use super::disk::{create_private_dir, write_atomic};
use super::guard;
use crate::profile::Profile;
use crate::secret::random_hex;

/// How many candidates one profile keeps. Each costs the sender a live pair the trusted server
/// did not contradict (a forged token is refused before it is kept, and with the client
/// credentials each is proven or contradicted at once), so only an install without credentials
/// during a flood of genuine foreign pairs reaches it.
pub(crate) const MAX_CANDIDATES: usize = 100;

/// The largest candidate document read back (the callback body is bounded to 64 KiB).
pub(crate) const MAX_BYTES: u64 = 64 * 1024;

/// One kept callback: its pair as received (or as rotated by a refresh that named no portal),
/// the portal it claims, and when it arrived.
#[derive(Clone)]
pub(crate) struct Candidate {
    /// `<arrival unix time, 12 digits>-<nanoseconds, 9 digits><6 hex>`: unique, sorted by
    /// arrival.
    pub id: String,
    pub profile: Profile,
}

impl Candidate {
    pub(crate) fn new(profile: Profile, received_at: i64) -> Candidate {
        Candidate {
            id: format!("{received_at:012}-{:09}{}", subsec_nanos(), random_hex(3)),
            profile,
        }
    }

    /// When the callback arrived (unix seconds).
    pub(crate) fn received_at(&self) -> i64 {
        self.id
            .split('-')
            .next()
            .and_then(|t| t.parse().ok())
            .unwrap_or_default()
    }

    /// The portal the callback claims (`host[:port]`), unproven.
    pub(crate) fn claimed_portal(&self) -> String {
        self.profile.portal().unwrap_or_else(|| "-".into())
    }

    /// A safe id: what [`Candidate::new`] makes, so a stored name never walks out of the folder.
    pub(crate) fn valid_id(id: &str) -> bool {
        let Some((time, hex)) = id.split_once('-') else {
            return false;
        };
        time.len() == 12
            && time.bytes().all(|b| b.is_ascii_digit())
            && hex.len() == 15
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
    }
}

/// Orders candidates that arrived within one second.
fn subsec_nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default()
}

/// The folder beside `profile_file` that holds its candidates.
pub(crate) fn dir_beside(profile_file: &Path) -> PathBuf {
    let stem = profile_file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    profile_file.with_file_name(format!("{stem}.candidates"))
}

/// Keeps `candidate` durably in `dir` (created 0700). Refused past [`MAX_CANDIDATES`].
pub(crate) fn keep_file(dir: &Path, candidate: &Candidate) -> Result<()> {
    create_private_dir(dir)?;
    guard::check_dir(dir)?;
    let path = dir.join(format!("{}.json", candidate.id));
    if !path.exists() && list_files(dir)?.len() >= MAX_CANDIDATES {
        return Err(Full.into());
    }
    write_atomic(&path, &candidate.profile.to_bytes())
}

/// Every candidate in `dir`, oldest first; an unreadable one is skipped with its error named
/// on stderr by the caller (it is left on disk: nothing is deleted on a read).
pub(crate) fn list_files(dir: &Path) -> Result<Vec<Candidate>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    guard::check_dir(dir)?;
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(id) = name
            .strip_suffix(".json")
            .filter(|id| Candidate::valid_id(id))
        else {
            continue;
        };
        if let Ok(profile) = read_one(&entry.path()) {
            found.push(Candidate {
                id: id.to_string(),
                profile,
            });
        }
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(found)
}

/// Removes one candidate (proven and promoted, or contradicted); durable before it returns.
pub(crate) fn drop_file(dir: &Path, id: &str) -> Result<()> {
    if !Candidate::valid_id(id) {
        return Err(anyhow!("not a candidate id: {id}"));
    }
    match fs::remove_file(dir.join(format!("{id}.json"))) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot remove a candidate in {}", dir.display()))
        }
    }
    fs::File::open(dir)?.sync_all()?;
    Ok(())
}

fn read_one(path: &Path) -> Result<Profile> {
    let Some(file) = guard::open_read(path)? else {
        return Err(anyhow!("gone"));
    };
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(anyhow!("{} is over {MAX_BYTES} bytes", path.display()));
    }
    Profile::parse(&bytes)
}

/// The profile already keeps [`MAX_CANDIDATES`] candidates.
#[derive(Debug, thiserror::Error)]
#[error("{MAX_CANDIDATES} unproven install callbacks are kept already: prove them with `b24auth refresh` (B24AUTH_CLIENT_ID and B24AUTH_CLIENT_SECRET set); the OAuth server's contradiction drops the forged ones")]
pub(crate) struct Full;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_safe_and_sorted_by_arrival() {
        let c = Candidate::new(
            Profile::parse(br#"{"access_token":"a","refresh_token":"r"}"#).unwrap(),
            1700000000,
        );
        assert!(Candidate::valid_id(&c.id), "{}", c.id);
        assert_eq!(c.received_at(), 1700000000);
        for bad in ["../x", "1-2", "000000000001-zzzzzzzzzzzzzzz", ""] {
            assert!(!Candidate::valid_id(bad), "{bad}");
        }
        assert_eq!(
            dir_beside(Path::new("/c/auth.json")),
            Path::new("/c/auth.candidates")
        );
    }

    #[test]
    fn past_the_bound_a_new_candidate_is_refused_and_none_is_displaced() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("auth.candidates");
        let pair = |i: usize| {
            Profile::parse(
                format!(r#"{{"access_token":"a{i}","refresh_token":"r{i}"}}"#).as_bytes(),
            )
            .unwrap()
        };
        let mut first = None;
        for i in 0..MAX_CANDIDATES {
            let c = Candidate::new(pair(i), 1_700_000_000 + i as i64);
            keep_file(&dir, &c).unwrap();
            first.get_or_insert(c);
        }
        let over = Candidate::new(pair(MAX_CANDIDATES), 1_800_000_000);
        assert!(keep_file(&dir, &over).unwrap_err().is::<Full>());
        // A kept one may still be rewritten (its rotated pair).
        let mut first = first.unwrap();
        first.profile = pair(999);
        keep_file(&dir, &first).unwrap();
        let kept = list_files(&dir).unwrap();
        assert_eq!(kept.len(), MAX_CANDIDATES);
        assert_eq!(kept[0].profile.refresh_token().expose(), "r999");
        drop_file(&dir, &kept[0].id).unwrap();
        assert_eq!(list_files(&dir).unwrap().len(), MAX_CANDIDATES - 1);
    }
}
