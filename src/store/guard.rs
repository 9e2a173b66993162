/*!
What the file store checks before it trusts a path it did not just create: directories owned by
the effective user and not writable by group or others, no symlink followed anywhere (profile,
temp and lock files are opened with `O_NOFOLLOW`), only regular files, owned by us.

Another local user who can plant a symlink or write into the config dir could otherwise read the
tokens, swap them or make b24auth write through a link. Every refusal is exit 1 with the fix.
*/

use std::fs::{File, Metadata, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use anyhow::{bail, Context, Result};

pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// An existing directory must be a real directory (not a symlink), ours, and not writable by
/// group or others. A missing one passes: b24auth creates it 0700.
pub fn check_dir(dir: &Path) -> Result<()> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot inspect {}", dir.display())),
    };
    dir_verdict(dir, &meta, euid())
}

/// The decision of [`check_dir`] on metadata already read.
pub fn dir_verdict(dir: &Path, meta: &Metadata, me: u32) -> Result<()> {
    let d = dir.display();
    if meta.file_type().is_symlink() {
        bail!("{d} is a symlink; b24auth follows none: replace it with a real directory (`mkdir -m 700`)");
    }
    if !meta.is_dir() {
        bail!("{d} is not a directory: move it away");
    }
    if meta.uid() != me {
        bail!(
            "{d} is owned by uid {}, not by you (uid {me}): run `chown {me} {}` or choose another --config-dir",
            meta.uid(),
            crate::ui::hint::quote(&d.to_string())
        );
    }
    if meta.mode() & 0o022 != 0 {
        bail!(
            "{d} is writable by other users (mode {:o}): run `chmod 700 {}`",
            meta.mode() & 0o777,
            crate::ui::hint::quote(&d.to_string())
        );
    }
    Ok(())
}

/// A file opened without following a symlink; `None` when it does not exist.
pub fn open_read(path: &Path) -> Result<Option<File>> {
    match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => {
            check_file(path, &f.metadata()?)?;
            Ok(Some(f))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => Err(symlink(path)),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// The lock file, created 0600 if missing, never through a symlink.
pub fn open_lock(path: &Path) -> Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => symlink(path),
            _ => anyhow::Error::new(e)
                .context(format!("cannot open the lock file {}", path.display())),
        })?;
    check_file(path, &file.metadata()?)?;
    Ok(file)
}

/// Flags for a new temp file: `create_new` already refuses an existing path; this also makes a
/// planted symlink an error rather than a followed link on any platform.
pub fn no_follow(options: &mut OpenOptions) -> &mut OpenOptions {
    options.custom_flags(libc::O_NOFOLLOW)
}

/// A regular file owned by us.
pub fn check_file(path: &Path, meta: &Metadata) -> Result<()> {
    let p = path.display();
    if !meta.is_file() {
        bail!("{p} is not a regular file: move it away");
    }
    let me = euid();
    if meta.uid() != me {
        bail!(
            "{p} is owned by uid {}, not by you (uid {me}): run `chown {me} {p}` if it is yours",
            meta.uid()
        );
    }
    Ok(())
}

/// True while `file` is still the file at `path` (not unlinked or replaced since it was opened):
/// a lock taken on an unlinked lock file protects nothing.
pub fn still_at(file: &File, path: &Path) -> bool {
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

fn symlink(path: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "{} is a symlink; b24auth follows none: remove it (`rm {}`)",
        path.display(),
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn directories_must_be_ours_and_private() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("d");
        assert!(check_dir(&d).is_ok(), "missing: created later");
        std::fs::create_dir(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(check_dir(&d).is_ok());
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o770)).unwrap();
        let e = check_dir(&d).unwrap_err().to_string();
        assert!(e.contains("chmod 700"), "{e}");
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
        let meta = std::fs::symlink_metadata(&d).unwrap();
        let e = dir_verdict(&d, &meta, euid() + 1).unwrap_err().to_string();
        assert!(e.contains("chown"), "{e}");
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&d, &link).unwrap();
        assert!(check_dir(&link)
            .unwrap_err()
            .to_string()
            .contains("symlink"));
    }

    #[test]
    fn files_are_never_followed_through_a_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("target");
        std::fs::write(&target, b"{}").unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(open_read(&link)
            .unwrap_err()
            .to_string()
            .contains("symlink"));
        assert!(open_lock(&link)
            .unwrap_err()
            .to_string()
            .contains("symlink"));
        assert!(open_read(&tmp.path().join("none")).unwrap().is_none());
        assert!(
            open_read(tmp.path()).is_err(),
            "a directory is not a profile"
        );
    }

    #[test]
    fn an_unlinked_lock_file_is_noticed() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.lock");
        let f = open_lock(&path).unwrap();
        assert!(still_at(&f, &path));
        std::fs::remove_file(&path).unwrap();
        assert!(!still_at(&f, &path));
        let _new = open_lock(&path).unwrap();
        assert!(
            !still_at(&f, &path),
            "a new file at the path is another lock"
        );
    }
}
