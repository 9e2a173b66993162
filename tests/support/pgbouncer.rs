//! A real pgbouncer (Debian's `pgbouncer`) in front of a throwaway cluster, as teams run it:
//! transaction pooling, a small pool, on a free loopback port, `auth_type = trust` (the cluster
//! trusts its socket). As root it runs as the `postgres` user; a watchdog stops it when the test
//! process exits.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::postgres::{as_postgres, give_to_postgres, kept_dir, watchdog, Cluster};

pub struct Bouncer {
    pub port: u16,
    pub dir: PathBuf,
}

fn binary() -> &'static str {
    use super::deps::{pgbouncer_bin, unguarded, Dep};
    pgbouncer_bin().unwrap_or_else(|| panic!("{}", unguarded(Dep::Pgbouncer)))
}

/// pgbouncer's version from `pgbouncer --version` (`PgBouncer 1.18.0`).
fn version() -> (u32, u32) {
    let out = Command::new(binary()).arg("--version").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let v = text
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("pgbouncer --version: {text}"));
    let mut parts = v.split('.').map(|n| n.parse::<u32>().unwrap());
    (parts.next().unwrap(), parts.next().unwrap())
}

/// From 1.22 pgbouncer can track protocol-level named prepared statements and replay them on
/// whichever server connection a transaction gets, which would hide b24auth relying on them:
/// `max_prepared_statements = 0` turns that off (older versions have no tracking to turn off,
/// and refuse the unknown setting).
fn statement_tracking_off() -> &'static str {
    match version() >= (1, 22) {
        true => "max_prepared_statements = 0\n",
        false => "",
    }
}

impl Bouncer {
    /// pgbouncer in `pool_mode = transaction` with `pool` server connections per database.
    pub fn start(cluster: &Cluster, pool: usize) -> Bouncer {
        let dir = kept_dir("b24auth-pgbouncer-");
        let port = super::http::free_port();
        let ini = format!(
            "[databases]\n* = host={socket} port={pg}\n\n[pgbouncer]\n\
             listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             auth_type = trust\nauth_file = {dir}/users.txt\nadmin_users = postgres\n\
             pool_mode = transaction\ndefault_pool_size = {pool}\nmin_pool_size = 0\n\
             reserve_pool_size = 0\nmax_client_conn = 500\nmax_db_connections = {pool}\n\
             logfile = {dir}/log\npidfile = {dir}/pid\n{tracking}",
            socket = cluster.dir.display(),
            pg = cluster.port,
            dir = dir.display(),
            tracking = statement_tracking_off(),
        );
        std::fs::write(dir.join("pgbouncer.ini"), ini).unwrap();
        std::fs::write(dir.join("users.txt"), "\"postgres\" \"\"\n").unwrap();
        give_to_postgres(&dir);
        let out = as_postgres(binary())
            .args(["-d", "-q"])
            .arg(dir.join("pgbouncer.ini"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pgbouncer: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bouncer = Bouncer { port, dir };
        bouncer.watchdog();
        bouncer.wait_ready();
        bouncer
    }

    /// The daemon is up once it accepts a connection on its port (polled: nothing tells).
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "pgbouncer did not listen: {}",
                std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The `--store` URL of `db` through this pgbouncer.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Stops pgbouncer with the test process, whichever way that ends.
    fn watchdog(&self) {
        let dir = self.dir.display();
        watchdog(&format!("kill $(cat {dir}/pid); rm -rf {dir}"), false);
    }

    /// `sql` through this pgbouncer on `db` (psql, one line per row).
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = Command::new("psql")
            .args(["-X", "-A", "-t", "-w", "-h", "127.0.0.1", "-U", "postgres"])
            .args(["-p", &self.port.to_string(), "-d", db, "-c", sql])
            .env_remove("PGPASSWORD")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// pgbouncer's own log (for a failing assertion's message).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }
}
