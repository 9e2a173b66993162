//! Throwaway PostgreSQL clusters for the fleet-store tests: `initdb` in a temp dir, listening only
//! on a Unix socket in that dir, trust auth. As root the server runs as the `postgres` user (it
//! refuses root). A watchdog stops the cluster and removes its dir when the test process exits.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

pub struct Cluster {
    pub dir: PathBuf,
    pub port: u16,
    bin: PathBuf,
    /// `listen_addresses` (empty: the Unix socket only).
    listen: String,
}

/// Whether the tests run as root: then PostgreSQL and pgbouncer run as `postgres` (they refuse
/// root).
pub(super) fn as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false)
}

/// `program` run as the `postgres` user when the tests run as root, else as is.
pub(super) fn as_postgres(program: impl AsRef<std::ffi::OsStr>) -> Command {
    if as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Hands `dir` to the `postgres` user when the tests run as root.
pub(super) fn give_to_postgres(dir: &std::path::Path) {
    if as_root() {
        assert!(Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir)
            .status()
            .unwrap()
            .success());
    }
}

/// A temp dir that outlives its handle (the watchdog removes it).
pub(super) fn kept_dir(prefix: &str) -> PathBuf {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .unwrap()
        .keep()
}

/// Runs `then` (a shell command) once the test process has exited, whichever way it ends: as
/// the `postgres` user when `owner`.
// Never waited for on purpose: the watchdog's job is to outlive this process.
#[allow(clippy::zombie_processes)]
pub(super) fn watchdog(then: &str, owner: bool) {
    let script = format!(
        "while [ -d /proc/{pid} ]; do sleep 1; done; {then}",
        pid = std::process::id()
    );
    let mut c = match owner {
        true => as_postgres("sh"),
        false => Command::new("sh"),
    };
    c.args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
}

/// Runs a PostgreSQL tool as the cluster's owner.
fn pg_command(bin: &std::path::Path, tool: &str) -> Command {
    as_postgres(bin.join(tool))
}

fn pg_bin() -> PathBuf {
    use super::deps::{postgres_bin, unguarded, Dep};
    postgres_bin().unwrap_or_else(|| panic!("{}", unguarded(Dep::Postgres)))
}

impl Cluster {
    pub fn start() -> Cluster {
        Cluster::start_with("", |_| {})
    }

    /// A cluster that also listens on `listen` (e.g. `127.0.0.1`), after `setup` has edited
    /// its data dir (certificates, `postgresql.conf`, `pg_hba.conf`).
    pub fn start_with(listen: &str, setup: impl FnOnce(&std::path::Path)) -> Cluster {
        let bin = pg_bin();
        let dir = kept_dir("b24auth-pg-");
        give_to_postgres(&dir);
        let data = dir.join("data");
        let out = pg_command(&bin, "initdb")
            .args(["--auth=trust", "--username=postgres", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        setup(&data);
        give_to_postgres(&dir);
        let port = super::http::free_port();
        let cluster = Cluster {
            dir,
            port,
            bin,
            listen: listen.to_string(),
        };
        cluster.pg_ctl_start();
        cluster.watchdog();
        cluster
    }

    fn pg_ctl_start(&self) {
        self.pg_ctl_start_with("-c fsync=off");
    }

    /// Restarted with `fsync` on, as a production server runs: for benchmarks of durable writes.
    pub fn restart_durable(&self) {
        self.stop();
        self.pg_ctl_start_with("-c fsync=on");
    }

    fn pg_ctl_start_with(&self, fsync: &str) {
        let opts = format!(
            "-k {} -p {} -c listen_addresses='{}' {fsync} -c max_connections=200",
            self.dir.display(),
            self.port,
            self.listen
        );
        let out = pg_command(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-o", &opts, "-l"])
            .arg(self.dir.join("log"))
            .args(["-w", "start"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Stops the cluster with the test process, whichever way that ends.
    fn watchdog(&self) {
        let then = format!(
            "{ctl} -D {data} stop -m immediate; rm -rf {dir}",
            ctl = self.bin.join("pg_ctl").display(),
            data = self.dir.join("data").display(),
            dir = self.dir.display()
        );
        watchdog(&then, true);
    }

    pub fn stop(&self) {
        let out = pg_command(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["stop", "-m", "immediate", "-w"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn restart(&self) {
        self.pg_ctl_start();
    }

    /// A new empty database and the `--store` URL for it.
    pub fn database(&self) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!("t{}", N.fetch_add(1, Ordering::SeqCst));
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        self.url(&name)
    }

    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres:///{db}?user=postgres&host={}&port={}",
            self.dir.display(),
            self.port
        )
    }

    /// Runs one SQL statement; returns its rows as unaligned text.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = Command::new("psql")
            .args([
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-U",
                "postgres",
                "-h",
            ])
            .arg(&self.dir)
            .args(["-p", &self.port.to_string(), "-d", db, "-c", sql])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// The cluster most tests share (each in its own database).
pub fn shared() -> &'static Cluster {
    static SHARED: OnceLock<Cluster> = OnceLock::new();
    SHARED.get_or_init(Cluster::start)
}

/// The database name in a URL made by [`Cluster::database`].
pub fn db_of(url: &str) -> &str {
    url.trim_start_matches("postgres:///")
        .split('?')
        .next()
        .unwrap()
}
