/*!
The disk rules every file b24auth writes follows, whether a profile or a rescue copy: where a
profile's file lives, private directories (0700 from creation), and the atomic durable write
(temp → fsync → rename → fsync directory) whose temp names the store sweeps.
*/

use std::ffi::OsString;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::guard;

/// `<dir>/auth.json` for the default profile, `<dir>/profiles/<NAME>.json` for the others.
pub(crate) fn profile_path(dir: &Path, name: &str) -> PathBuf {
    if name == "default" {
        dir.join("auth.json")
    } else {
        dir.join("profiles").join(format!("{name}.json"))
    }
}

pub(crate) fn lock_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

/// How many random letters and digits tempfile puts in a temp name.
const TEMP_RANDOM: usize = 12;

/// True for the temp names [`write_atomic`] gives `file`: `.<file>.<12 letters or digits>.tmp`,
/// exactly (so profile `a` never sweeps the temp file of profile `a.json.x`).
pub(crate) fn is_temp_of(candidate: &str, file: &str) -> bool {
    candidate
        .strip_prefix('.')
        .and_then(|c| c.strip_prefix(file))
        .and_then(|c| c.strip_prefix('.'))
        .and_then(|c| c.strip_suffix(".tmp"))
        .is_some_and(|r| r.len() == TEMP_RANDOM && r.bytes().all(|b| b.is_ascii_alphanumeric()))
}

pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// temp → write → fsync → rename over → fsync directory. The temp file is 0600 from creation
/// and removed when anything fails, so a failed save leaves the old file as it was.
/// The directory must exist (the lock that guards every write creates it).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().expect("profile paths have a parent");
    let mut prefix = OsString::from(".");
    prefix.push(path.file_name().expect("profile paths have a file name"));
    prefix.push(".");
    let result = (|| -> std::io::Result<()> {
        // Our own open: 0600 and no symlink followed from the first moment. tempfile picks a
        // free name and removes the file when dropped unpersisted (any failure below).
        let mut tmp = tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(".tmp")
            .rand_bytes(TEMP_RANDOM)
            .make_in(dir, |p| {
                guard::no_follow(OpenOptions::new().write(true).create_new(true).mode(0o600))
                    .open(p)
            })?;
        tmp.write_all(bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        File::open(dir)?.sync_all()
    })();
    result.with_context(|| format!("cannot save {}", path.display()))
}

/// The value kept in the private file `path` (trimmed), or `make()`'s, written there first
/// under the file rules (private directory, 0600, atomic), so the next run reads the same one.
/// A value `valid` refuses is an error naming the file, never silently replaced.
pub(crate) fn kept_value(
    path: &Path,
    valid: impl Fn(&str) -> bool,
    make: impl FnOnce() -> String,
) -> Result<String> {
    let dir = path.parent().expect("kept files have a parent");
    if let Some(mut file) = guard::open_read(path)? {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut file, &mut text)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let value = text.trim();
        anyhow::ensure!(
            valid(value),
            "{} holds no valid value: delete it to make a new one",
            path.display()
        );
        return Ok(value.to_string());
    }
    create_private_dir(dir)?;
    guard::check_dir(dir)?;
    let value = make();
    write_atomic(path, format!("{value}\n").as_bytes())?;
    Ok(value)
}
