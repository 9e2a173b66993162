/*!
The rescue of a rotated pair: when a refreshed pair cannot be saved where it belongs, Bitrix24 has
already killed the old one, so the new pair is written to a private directory laid out as a config
dir, and the error says how to put it back. Used by every backend's refresh.
*/

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::disk::{create_private_dir, profile_path, write_atomic};
use crate::profile::{now, Profile};
use crate::secret::random_hex;

/// Writes `profile` into `<dir>/rescue-<time>-<rand>/` (0700/0600) and returns the file's path.
pub(crate) fn keep(dir: &Path, name: &str, profile: &Profile) -> Result<PathBuf> {
    let rescue = dir.join(format!("rescue-{}-{}", now(), random_hex(4)));
    let kept = profile_path(&rescue, name);
    create_private_dir(kept.parent().expect("profile paths have a parent"))?;
    write_atomic(&kept, &profile.to_bytes())?;
    Ok(kept)
}

/// The error for a refreshed pair the store could not take: say where the new one was `kept`
/// and `how_back`, or that it is gone.
pub(crate) fn lost_save(
    cause: anyhow::Error,
    name: &str,
    kept: Result<PathBuf>,
    how_back: impl FnOnce(&Path) -> String,
) -> anyhow::Error {
    match kept {
        Ok(path) => cause.context(format!(
            "Bitrix24 already rotated the pair; the new one was kept in {}: {}",
            path.display(),
            how_back(&path)
        )),
        Err(e) => cause.context(format!(
            "Bitrix24 already rotated the pair and it could not be kept anywhere ({e:#}): {} again (profile `{name}`)",
            crate::ui::hint::authorize_again("PORTAL", true)
        )),
    }
}
