//! The tools some tests need besides the build: PostgreSQL, pgbouncer, Chromium. A test that needs
//! one starts with [`require`]: when the tool is missing it prints one `SKIPPED` line (past the
//! harness's capture, so it is seen) and the test passes — unless `CI` is set, where a missing tool
//! fails the run, since CI must run everything. `B24AUTH_TEST_WITHOUT=postgres,chromium` pretends
//! tools are missing, to check that every test that needs one has its guard.

use std::path::PathBuf;
use std::process::Command;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dep {
    Postgres,
    Pgbouncer,
    Chromium,
}

impl Dep {
    fn name(self) -> &'static str {
        match self {
            Dep::Postgres => "PostgreSQL",
            Dep::Pgbouncer => "pgbouncer",
            Dep::Chromium => "Chromium",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Dep::Postgres => "postgres",
            Dep::Pgbouncer => "pgbouncer",
            Dep::Chromium => "chromium",
        }
    }
}

/// Whether the test named `test` may go on: the tool is there. When it is not: `false` after a
/// `SKIPPED` line, or a panic when `CI` is set.
pub fn require(dep: Dep, test: &str) -> bool {
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    match decide(dep, found(dep), ci, test) {
        Ok(None) => true,
        Ok(Some(line)) => {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "{line}");
            false
        }
        Err(line) => panic!("{line}"),
    }
}

/// The decision, apart from the environment: `Ok(None)` run, `Ok(Some(line))` skip with that
/// line, `Err` fail.
pub fn decide(dep: Dep, found: bool, ci: bool, test: &str) -> Result<Option<String>, String> {
    if found {
        return Ok(None);
    }
    let line = format!(
        "SKIPPED {test}: {} not found (install with scripts/install-test-deps)",
        dep.name()
    );
    match ci {
        true => Err(format!(
            "{line} — CI is set, so a missing test dependency fails"
        )),
        false => Ok(Some(line)),
    }
}

fn pretended_missing(dep: Dep) -> bool {
    std::env::var("B24AUTH_TEST_WITHOUT").is_ok_and(|v| v.split(',').any(|k| k.trim() == dep.key()))
}

fn found(dep: Dep) -> bool {
    if pretended_missing(dep) {
        return false;
    }
    match dep {
        Dep::Postgres => postgres_bin().is_some(),
        Dep::Pgbouncer => pgbouncer_bin().is_some(),
        Dep::Chromium => chromium().is_some(),
    }
}

/// The newest PostgreSQL's `bin` directory under `/usr/lib/postgresql` (Debian's layout).
pub fn postgres_bin() -> Option<PathBuf> {
    if pretended_missing(Dep::Postgres) {
        return None;
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found.pop()
}

pub fn pgbouncer_bin() -> Option<&'static str> {
    if pretended_missing(Dep::Pgbouncer) {
        return None;
    }
    ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

pub fn chromium() -> Option<&'static str> {
    if pretended_missing(Dep::Chromium) {
        return None;
    }
    ["chromium", "/usr/bin/chromium"].into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Headless Chromium with the flags of a quiet, offline, throwaway run and a fresh profile in
/// `dir` (the team brief's flags).
pub fn headless_chromium(dir: &std::path::Path) -> Command {
    let chromium = chromium().unwrap_or_else(|| panic!("{}", unguarded(Dep::Chromium)));
    let mut c = Command::new(chromium);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ])
    .arg(format!(
        "--user-data-dir={}",
        dir.join("chromium-profile").display()
    ));
    c
}

/// The message of a test that reached a missing tool without its [`require`] guard.
pub fn unguarded(dep: Dep) -> String {
    format!(
        "{} is needed here and not found: run scripts/install-test-deps (and start this test with `deps::require(Dep::{dep:?}, …)`)",
        dep.name()
    )
}

/// A skip for a reason no install cures (no root, no IPv6 loopback): one `SKIPPED` line past
/// the harness's capture, so it is seen, in CI too.
pub fn skip(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}
