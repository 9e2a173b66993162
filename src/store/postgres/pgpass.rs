/*!
libpq's password file (`~/.pgpass`, `PGPASSFILE`, `passfile=`): lines of
`hostname:port:database:username:password`, `*` matching anything, `\` escaping `:` and `\`,
the first matching line winning. As libpq does, a file that is not a plain file, or that group or
others may read or write, is ignored with a warning (`chmod 0600` is the fix).
*/

use std::io::Read;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use tokio_postgres::config::Host;
use tokio_postgres::Config;

use crate::ui::Ui;

/// The file's text, when libpq would use it. Opened once and checked through that handle
/// (`fstat`), so the file checked is the file read; non-blocking, so a FIFO put in its place
/// cannot hang the open.
pub(super) fn read(file: &Path, ui: &Ui) -> Option<String> {
    let mut handle = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(file)
        .ok()?;
    let meta = handle.metadata().ok()?;
    if !meta.is_file() {
        ui.warn(format_args!(
            "password file {} is not a plain file: not used",
            file.display()
        ));
        return None;
    }
    if meta.permissions().mode() & 0o077 != 0 {
        ui.warn(format_args!(
            "password file {} has group or world access: not used; permissions should be u=rw (0600) or less (`chmod 0600 {}`)",
            file.display(),
            crate::ui::hint::quote(&file.display().to_string())
        ));
        return None;
    }
    let mut text = String::new();
    handle.read_to_string(&mut text).ok()?;
    Some(text)
}

/// The password written for `one`'s host (a one-host configuration), if a line matches.
pub(super) fn for_host(text: &str, one: &Config) -> Option<String> {
    let user = one.get_user().unwrap_or_default();
    let db = one.get_dbname().unwrap_or(user);
    let (host, port) = pgpass_host(one);
    find(text, &host, &port.to_string(), db, user)
}

/// The password of the first line matching all four fields.
fn find(text: &str, host: &str, port: &str, db: &str, user: &str) -> Option<String> {
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(fields)
        .find(|f| {
            [host, port, db, user]
                .iter()
                .zip(f.iter())
                .all(|(want, have)| have == "*" || have == want)
        })
        .map(|mut f| f.swap_remove(4))
}

/// A line's five fields, unescaped; `None` for a line with fewer.
fn fields(line: &str) -> Option<Vec<String>> {
    let mut out = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.last_mut()?.push(chars.next().unwrap_or('\\')),
            ':' if out.len() < 5 => out.push(String::new()),
            // As libpq: the password ends at an unescaped `:`.
            ':' => break,
            c => out.last_mut()?.push(c),
        }
    }
    (out.len() == 5).then_some(out)
}

/// libpq's default socket directory, which `.pgpass` calls `localhost`.
pub(super) const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";

/// The host name as libpq matches it in `.pgpass`, and the port, for a one-host configuration:
/// the host, or else the `hostaddr`; `localhost` for libpq's default socket directory (another
/// socket directory is matched by its path).
pub(super) fn pgpass_host(one: &Config) -> (String, u16) {
    let name = match (one.get_hosts().first(), one.get_hostaddrs().first()) {
        (Some(Host::Tcp(n)), _) => n.clone(),
        (Some(Host::Unix(p)), _) if p.as_path() != std::path::Path::new(DEFAULT_SOCKET_DIR) => {
            p.display().to_string()
        }
        (None, Some(addr)) => addr.to_string(),
        _ => "localhost".to_string(),
    };
    (name, one.get_ports().first().copied().unwrap_or(5432))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_match_as_libpq_matches_them() {
        let text = "# comment\n\
                    db.example:5432:other:u:no\n\
                    db.example:*:b24:u:pa\\:ss\\\\word\n\
                    *:*:*:*:fallback\n";
        assert_eq!(
            find(text, "db.example", "5433", "b24", "u").as_deref(),
            Some("pa:ss\\word")
        );
        assert_eq!(
            find(text, "elsewhere", "5432", "b24", "u").as_deref(),
            Some("fallback")
        );
        assert_eq!(find("h:5432:d:u\n", "h", "5432", "d", "u"), None);
        assert_eq!(
            find("h:5432:d:u:a:b\n", "h", "5432", "d", "u").as_deref(),
            Some("a")
        );
    }

    /// What was checked is what is read: the handle keeps the checked file even when the
    /// path is replaced after the open (the check-then-open race).
    #[test]
    fn the_file_checked_is_the_file_read() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, "*:*:*:*:private\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let ui = Ui::new(true);
        assert_eq!(read(&path, &ui).as_deref(), Some("*:*:*:*:private\n"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(read(&path, &ui), None, "group or world access");
        // A FIFO in the file's place: refused at once, not waited on.
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        assert_eq!(read(&fifo, &ui), None);
    }

    #[test]
    fn each_host_gets_only_its_own_line() {
        let text = "a.example:5432:db:u:for-a\nb.example:5432:db:u:for-b\n";
        let one = |h: &str| -> Config { format!("postgres://u@{h}:5432/db").parse().unwrap() };
        assert_eq!(for_host(text, &one("a.example")).as_deref(), Some("for-a"));
        assert_eq!(for_host(text, &one("b.example")).as_deref(), Some("for-b"));
        assert_eq!(for_host(text, &one("c.example")), None);
    }
}
