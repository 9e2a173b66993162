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

/// How many senders' candidates one profile keeps: distinct access tokens. A sender with one
/// access token (even an expired one, which `app.info` cannot judge) can post any number of
/// refresh tokens beside it; those count as one sender, at most [`PER_ACCESS_TOKEN`] each, so
/// one token cannot fill the bound. A forged access token is refused before it is kept; with
/// the client credentials each candidate is proven or contradicted at once. Whoever holds a
/// hundred live or once-live access tokens can still fill it: then a later callback is refused
/// (507), named on stderr.
pub(crate) const MAX_CANDIDATES: usize = 100;

/// Candidates kept per access token (the same sender posting other refresh tokens).
pub(crate) const PER_ACCESS_TOKEN: usize = 3;

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

/// Keeps `candidate` durably in `dir` (created 0700). Refused past the bounds ([`Full`]) or
/// over [`MAX_BYTES`] ([`TooLarge`]); a kept one (same id) may always be rewritten.
pub(crate) fn keep_file(dir: &Path, candidate: &Candidate) -> Result<()> {
    let bytes = candidate.profile.to_bytes();
    // What is written is read back: a document `read_one` would refuse is never written.
    if bytes.len() as u64 > MAX_BYTES {
        return Err(TooLarge.into());
    }
    create_private_dir(dir)?;
    guard::check_dir(dir)?;
    // The count and the write under one lock: two callbacks at once never pass the bound.
    let lock = guard::open_lock(&dir.join(".lock"))?;
    lock.lock()
        .with_context(|| format!("cannot lock {}", dir.display()))?;
    let path = dir.join(format!("{}.json", candidate.id));
    if !path.exists() {
        within_bounds(dir, candidate)?;
    }
    write_atomic(&path, &bytes)
}

/// Whether one more candidate fits: every `*.json` file counts (read or not), and the access
/// tokens kept name the senders.
fn within_bounds(dir: &Path, candidate: &Candidate) -> Result<()> {
    let files = fs::read_dir(dir)?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .count();
    if files >= MAX_CANDIDATES * PER_ACCESS_TOKEN {
        return Err(Full.into());
    }
    let kept = list_files(dir)?;
    let access = candidate.profile.access_token();
    let same = kept
        .iter()
        .filter(|c| c.profile.access_token().expose() == access.expose())
        .count();
    let senders: std::collections::HashSet<String> = kept
        .iter()
        .map(|c| c.profile.access_token().expose().to_string())
        .collect();
    match same {
        0 if senders.len() >= MAX_CANDIDATES => Err(Full.into()),
        n if n >= PER_ACCESS_TOKEN => Err(Full.into()),
        _ => Ok(()),
    }
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

/// A candidate whose document would be over [`MAX_BYTES`] (a callback padded with characters
/// JSON escapes): never a pair Bitrix24 sent.
#[derive(Debug, thiserror::Error)]
#[error("the callback's pair would take over {MAX_BYTES} bytes once stored")]
pub(crate) struct TooLarge;

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
    fn one_access_token_cannot_fill_the_bound_and_nothing_unreadable_is_written() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("auth.candidates");
        let pair = |at: &str, rt: &str| {
            let doc = format!(r#"{{"access_token":"{at}","refresh_token":"{rt}"}}"#);
            Profile::parse(doc.as_bytes()).unwrap()
        };
        for i in 0..PER_ACCESS_TOKEN {
            keep_file(&dir, &Candidate::new(pair("same", &format!("r{i}")), 1)).unwrap();
        }
        let more = Candidate::new(pair("same", "forged"), 2);
        assert!(keep_file(&dir, &more).unwrap_err().is::<Full>());
        keep_file(&dir, &Candidate::new(pair("other", "r"), 3)).unwrap();
        // Characters JSON escapes double in size: refused before anything is written.
        let doc = serde_json::json!({"access_token": "big", "refresh_token": "r",
            "scope": "\"".repeat(60_000)});
        let padded = Profile::parse(doc.to_string().as_bytes()).unwrap();
        let padded = Candidate::new(padded, 4);
        assert!(keep_file(&dir, &padded).unwrap_err().is::<TooLarge>());
        let files = fs::read_dir(&dir).unwrap().flatten();
        let json = files.filter(|e| e.file_name().to_string_lossy().ends_with(".json"));
        assert_eq!(json.count(), PER_ACCESS_TOKEN + 1);
        assert_eq!(list_files(&dir).unwrap().len(), PER_ACCESS_TOKEN + 1);
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
