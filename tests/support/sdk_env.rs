//! Throwaway package environments for the recipes in `examples/`: a Python venv with a recipe's
//! `requirements.txt` from PyPI, or a Node project with its `package.json` from npm.
//!
//! Each is built once per test run (tests of one run share it) under `target/tmp/interop-envs`,
//! which the first build of a run wipes. When the registry cannot be reached the caller gets
//! `None` and a SKIPPED line is written straight to the terminal; any other failure panics.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

pub const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");

type Built = Result<PathBuf, String>;

fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("interop-envs");
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        root
    })
}

/// Builds `name` once per run with `build(dir)`; later callers wait for and share the result.
fn once(name: &str, build: impl FnOnce(&Path) -> Built) -> Built {
    static BUILT: OnceLock<Mutex<HashMap<String, std::sync::Arc<OnceLock<Built>>>>> =
        OnceLock::new();
    let cell = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(name.to_string())
        .or_default()
        .clone();
    cell.get_or_init(|| build(&root().join(name))).clone()
}

/// Runs an installer; a failure that says the registry is unreachable is `Err(why)`.
fn install(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    if out.status.success() {
        return Ok(());
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    const UNREACHABLE: [&str; 9] = [
        "NewConnectionError",
        "Temporary failure in name resolution",
        "Name or service not known",
        "Network is unreachable",
        "ConnectTimeout",
        "ENOTFOUND",
        "EAI_AGAIN",
        "ECONNREFUSED",
        "ETIMEDOUT",
    ];
    match UNREACHABLE.iter().find(|m| text.contains(*m)) {
        Some(m) => Err(format!("{what}: the registry is unreachable ({m})")),
        None => panic!("{what} failed:\n{text}"),
    }
}

/// A venv with `examples/<recipe>/requirements.txt` installed; returns its `python`.
pub fn python(recipe: &str) -> Option<PathBuf> {
    let built = once(recipe, |dir| {
        let python = dir.join("bin/python");
        let created = Command::new("python3")
            .args(["-m", "venv"])
            .arg(dir)
            .status()
            .expect("python3 is installed (scripts/install-test-deps)");
        assert!(created.success(), "python3 -m venv failed (python3-venv?)");
        let reqs = Path::new(EXAMPLES).join(recipe).join("requirements.txt");
        install(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(reqs),
            &format!("pip install for {recipe}"),
        )?;
        Ok(python)
    });
    skip_unless(recipe, built)
}

/// A Node project with `examples/<recipe>` (package.json and scripts) copied in and its
/// dependencies installed; returns the project directory.
pub fn node(recipe: &str) -> Option<PathBuf> {
    let built = once(recipe, |dir| {
        std::fs::create_dir_all(dir).unwrap();
        for entry in std::fs::read_dir(Path::new(EXAMPLES).join(recipe)).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
        install(
            Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(dir),
            &format!("npm install for {recipe}"),
        )?;
        Ok(dir.to_path_buf())
    });
    skip_unless(recipe, built)
}

fn skip_unless(recipe: &str, built: Built) -> Option<PathBuf> {
    match built {
        Ok(p) => Some(p),
        Err(why) => {
            // Past the test harness's capture: a skip must be seen.
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "SKIPPED the {recipe} recipe test: {why}");
            None
        }
    }
}
