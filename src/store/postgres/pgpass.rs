/*!
libpq's password file (`~/.pgpass`, `PGPASSFILE`, `passfile=`): lines of
`hostname:port:database:username:password`, `*` matching anything, `\` escaping `:` and `\`,
the first matching line winning. As libpq does, a file that is not a plain file, or that group or
others may read or write, is ignored with a warning (`chmod 0600` is the fix).
*/

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use tokio_postgres::Config;

use crate::ui::Ui;

/// The password for the first of the URL's hosts that has a matching line.
pub(super) fn lookup(file: &Path, config: &Config, ui: &Ui) -> Option<String> {
    let meta = std::fs::metadata(file).ok()?;
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
    let text = std::fs::read_to_string(file).ok()?;
    let user = config.get_user().unwrap_or_default();
    let db = config.get_dbname().unwrap_or(user);
    super::libpq::hosts_and_ports(config)
        .into_iter()
        .find_map(|(host, port)| find(&text, &host, &port.to_string(), db, user))
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
}
