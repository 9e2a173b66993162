/*!
The connection settings as libpq reads them, for a `postgres://` store: the URL first, then the
`PG*` variables for what it left out, then `.pgpass` for a password .

tokio-postgres parses the URL itself (hosts, ports, multi-host lists, `target_session_attrs`,
`connect_timeout`, …) but knows neither libpq's variables nor its TLS parameters, so those are
taken out of the URL here and handed to [`super::tls`]: `sslmode` (all six of libpq's values),
`sslrootcert`, `sslcert`, `sslkey`, and `passfile`.
*/

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use tokio_postgres::config::{Host, LoadBalanceHosts, SslMode as WireMode};
use tokio_postgres::Config;

use super::pgpass::DEFAULT_SOCKET_DIR;
use crate::exit;
use crate::ui::Ui;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// What the server's certificate is checked against (`sslrootcert`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RootCert {
    /// A PEM file of trusted CAs.
    File(PathBuf),
    /// `sslrootcert=system`: the machine's trust store, as HTTPS uses it.
    System,
    /// Nothing named, and no `~/.postgresql/root.crt` (`None`: no home directory to hold one).
    Missing(Option<PathBuf>),
}

#[derive(Debug, Clone)]
pub(super) struct Ssl {
    pub mode: SslMode,
    pub root: RootCert,
    /// The client certificate and its key, when there is one.
    pub client: Option<(PathBuf, PathBuf)>,
}

pub(super) struct ConnectOptions {
    /// One configuration per host of the URL, in the URL's order, each with only the password
    /// written for that host: libpq looks `.pgpass` up per host, so must we.
    pub hosts: Vec<Config>,
    pub ssl: Ssl,
}

/// The parameters taken out of the URL before tokio-postgres reads it.
const OURS: [&str; 5] = ["sslmode", "sslrootcert", "sslcert", "sslkey", "passfile"];

impl ConnectOptions {
    pub(super) fn resolve(url: &str, ui: &Ui) -> Result<ConnectOptions> {
        let (rest, ours) = split_params(url)?;
        let mut config: Config = rest
            .parse()
            .map_err(|e| exit::usage(format!("--store is not a valid PostgreSQL URL ({e})")))?;
        if let Some(list) = ours.get("host") {
            for host in list.split(',') {
                match host.starts_with('/') {
                    true => config.host_path(host),
                    false => config.host(host),
                };
            }
        }
        apply_env(&mut config);
        // libpq waits forever by default; a URL's `connect_timeout` is the user's to keep.
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("b24auth");
        }
        let param = |k: &str, var: &str| ours.get(k).cloned().or_else(|| env(var));
        let ssl = ssl_settings(&param, home().as_deref())?;
        config.ssl_mode(match ssl.mode {
            SslMode::Disable => WireMode::Disable,
            // tokio-postgres has no "plain first, then TLS": try TLS first, as `prefer` does.
            SslMode::Allow | SslMode::Prefer => WireMode::Prefer,
            _ => WireMode::Require,
        });
        let passfile = match config.get_password() {
            Some(_) => None,
            None => param("passfile", "PGPASSFILE")
                .map(PathBuf::from)
                .or_else(|| home().map(|h| h.join(".pgpass")))
                .and_then(|f| super::pgpass::read(&f, ui)),
        };
        let hosts = split_hosts(&config)?
            .into_iter()
            .map(|mut one| {
                if let Some(text) = &passfile {
                    if let Some(pw) = super::pgpass::for_host(text, &one) {
                        one.password(pw);
                    }
                }
                one
            })
            .collect();
        Ok(ConnectOptions { hosts, ssl })
    }
}

impl ConnectOptions {
    /// The hosts in the order to try them: the URL's, or shuffled with
    /// `load_balance_hosts=random` (as libpq does, per connection).
    pub(super) fn in_order(&self) -> Vec<&Config> {
        let mut hosts: Vec<&Config> = self.hosts.iter().collect();
        let random = hosts
            .first()
            .is_some_and(|c| c.get_load_balance_hosts() == LoadBalanceHosts::Random);
        if random {
            for i in (1..hosts.len()).rev() {
                let mut r = [0u8; 4];
                getrandom::fill(&mut r).expect("the OS random source failed");
                hosts.swap(i, u32::from_le_bytes(r) as usize % (i + 1));
            }
        }
        hosts
    }

    /// The TLS settings for one host: none on a Unix socket, where libpq never uses TLS (so
    /// neither `sslmode` nor a missing root certificate stops the connection).
    pub(super) fn ssl_for(&self, one: &Config) -> Ssl {
        match is_unix(one) {
            true => Ssl {
                mode: SslMode::Disable,
                root: self.ssl.root.clone(),
                client: None,
            },
            false => self.ssl.clone(),
        }
    }
}

/// Whether `config`'s (one) host is a Unix socket directory: libpq never uses TLS there, so
/// `sslmode` and its root-certificate demand do not apply.
pub(super) fn is_unix(config: &Config) -> bool {
    matches!(config.get_hosts().first(), Some(Host::Unix(_))) && config.get_hostaddrs().is_empty()
}

/// One configuration per host (with its `hostaddr` and port), everything else as in `config`;
/// the counts checked as tokio-postgres checks them.
fn split_hosts(config: &Config) -> Result<Vec<Config>> {
    let (hosts, addrs, ports) = (
        config.get_hosts(),
        config.get_hostaddrs(),
        config.get_ports(),
    );
    if !hosts.is_empty() && !addrs.is_empty() && hosts.len() != addrs.len() {
        return Err(exit::usage(format!(
            "--store names {} hosts but {} hostaddrs: give one hostaddr per host",
            hosts.len(),
            addrs.len()
        )));
    }
    let n = hosts.len().max(addrs.len());
    if ports.len() > 1 && ports.len() != n {
        return Err(exit::usage(format!(
            "--store names {n} hosts but {} ports: give one port, or one per host",
            ports.len()
        )));
    }
    Ok((0..n).map(|i| one_host(config, i)).collect())
}

/// `config` with only its `i`-th host: every setting tokio-postgres has is copied.
fn one_host(config: &Config, i: usize) -> Config {
    let mut one = Config::new();
    match config.get_hosts().get(i) {
        Some(Host::Tcp(h)) => {
            one.host(h);
        }
        Some(Host::Unix(p)) => {
            one.host_path(p);
        }
        None => {}
    }
    if let Some(addr) = config.get_hostaddrs().get(i) {
        one.hostaddr(*addr);
    }
    let ports = config.get_ports();
    if let Some(p) = ports.get(i).or(ports.first()) {
        one.port(*p);
    }
    if let Some(u) = config.get_user() {
        one.user(u);
    }
    if let Some(p) = config.get_password() {
        one.password(p);
    }
    if let Some(d) = config.get_dbname() {
        one.dbname(d);
    }
    if let Some(o) = config.get_options() {
        one.options(o);
    }
    if let Some(a) = config.get_application_name() {
        one.application_name(a);
    }
    if let Some(t) = config.get_connect_timeout() {
        one.connect_timeout(*t);
    }
    if let Some(t) = config.get_tcp_user_timeout() {
        one.tcp_user_timeout(*t);
    }
    if let Some(t) = config.get_keepalives_interval() {
        one.keepalives_interval(t);
    }
    if let Some(r) = config.get_keepalives_retries() {
        one.keepalives_retries(r);
    }
    one.ssl_mode(match is_unix(&one) {
        true => WireMode::Disable,
        false => config.get_ssl_mode(),
    })
    .ssl_negotiation(config.get_ssl_negotiation())
    .keepalives(config.get_keepalives())
    .keepalives_idle(config.get_keepalives_idle())
    .target_session_attrs(config.get_target_session_attrs())
    .channel_binding(config.get_channel_binding())
    .load_balance_hosts(config.get_load_balance_hosts());
    one
}

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.is_empty())
}

fn home() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf())
}

/// The URL without [`OURS`], and their decoded values.
fn split_params(url: &str) -> Result<(String, HashMap<String, String>)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), HashMap::new()));
    };
    let mut kept = Vec::new();
    let mut ours = HashMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        // tokio-postgres takes `host=/a,/b` as one socket path: libpq's list is split here.
        let host_list = k == "host" && (v.contains(',') || v.contains("%2C"));
        if OURS.contains(&k) || host_list {
            let v = percent_encoding::percent_decode_str(v)
                .decode_utf8()
                .map_err(|_| exit::usage(format!("--store: `{k}` is not valid UTF-8")))?;
            ours.insert(k.to_string(), v.into_owned());
        } else {
            kept.push(pair);
        }
    }
    let rest = match kept.is_empty() {
        true => base.to_string(),
        false => format!("{base}?{}", kept.join("&")),
    };
    Ok((rest, ours))
}

/// `sslmode`, `sslrootcert` and the client certificate, with libpq's defaults and its rules:
/// `require` with a root certificate file verifies the chain as `verify-ca` does (libpq keeps
/// that for compatibility); `sslrootcert=system` means `verify-full` and refuses anything
/// weaker.
fn ssl_settings(
    param: &dyn Fn(&str, &str) -> Option<String>,
    home: Option<&std::path::Path>,
) -> Result<Ssl> {
    let named_mode = param("sslmode", "PGSSLMODE")
        .map(|m| parse_mode(&m))
        .transpose()?;
    // Without a home directory there are no default files (never a path relative to the cwd).
    let dot = |file: &str| home.map(|h| h.join(".postgresql").join(file));
    let root = match param("sslrootcert", "PGSSLROOTCERT") {
        Some(s) if s == "system" => RootCert::System,
        Some(s) => RootCert::File(PathBuf::from(s)),
        None => match dot("root.crt") {
            Some(f) if f.is_file() => RootCert::File(f),
            other => RootCert::Missing(other),
        },
    };
    let mode = match (named_mode, &root) {
        (None, RootCert::System) => SslMode::VerifyFull,
        (Some(m), RootCert::System) if m != SslMode::VerifyFull => {
            return Err(exit::usage(format!(
                "--store: sslmode={} may not be used with sslrootcert=system (use sslmode=verify-full)",
                mode_name(m)
            )))
        }
        (Some(SslMode::Require), RootCert::File(f)) if f.is_file() => SslMode::VerifyCa,
        (m, _) => m.unwrap_or(SslMode::Prefer),
    };
    let cert = param("sslcert", "PGSSLCERT")
        .map(PathBuf::from)
        .or_else(|| dot("postgresql.crt").filter(|c| c.is_file()));
    let client = match cert {
        Some(c) => {
            let key = param("sslkey", "PGSSLKEY")
                .map(PathBuf::from)
                .or_else(|| dot("postgresql.key"))
                .ok_or_else(|| {
                    exit::usage(format!(
                        "--store: sslcert={} has no key: there is no home directory for ~/.postgresql/postgresql.key; name it with sslkey=/path/client.key (or PGSSLKEY)",
                        c.display()
                    ))
                })?;
            Some((c, key))
        }
        None => None,
    };
    Ok(Ssl { mode, root, client })
}

fn parse_mode(m: &str) -> Result<SslMode> {
    Ok(match m {
        "disable" => SslMode::Disable,
        "allow" => SslMode::Allow,
        "prefer" => SslMode::Prefer,
        "require" => SslMode::Require,
        "verify-ca" => SslMode::VerifyCa,
        "verify-full" => SslMode::VerifyFull,
        other => {
            return Err(exit::usage(format!(
                "--store: sslmode `{other}` is not one of disable, allow, prefer, require, verify-ca, verify-full"
            )))
        }
    })
}

pub(super) fn mode_name(m: SslMode) -> &'static str {
    match m {
        SslMode::Disable => "disable",
        SslMode::Allow => "allow",
        SslMode::Prefer => "prefer",
        SslMode::Require => "require",
        SslMode::VerifyCa => "verify-ca",
        SslMode::VerifyFull => "verify-full",
    }
}

/// Fills what the URL left out from `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`,
/// as libpq would (tokio-postgres reads no variables); the socket directory is Debian's.
fn apply_env(config: &mut Config) {
    if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
        match env("PGHOST") {
            Some(h) => {
                for one in h.split(',') {
                    match one.starts_with('/') {
                        true => config.host_path(one),
                        false => config.host(one),
                    };
                }
            }
            None if std::path::Path::new(DEFAULT_SOCKET_DIR).exists() => {
                config.host_path(DEFAULT_SOCKET_DIR);
            }
            None => {
                config.host("localhost");
            }
        }
    }
    if config.get_ports().is_empty() {
        if let Some(p) = env("PGPORT").and_then(|p| p.parse().ok()) {
            config.port(p);
        }
    }
    if config.get_user().is_none() {
        if let Some(u) = env("PGUSER").or_else(|| env("USER")) {
            config.user(&u);
        }
    }
    if config.get_password().is_none() {
        if let Some(p) = env("PGPASSWORD") {
            config.password(p);
        }
    }
    if config.get_dbname().is_none() {
        if let Some(d) = env("PGDATABASE") {
            config.dbname(&d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::pgpass::pgpass_host;
    use super::*;

    #[test]
    fn libpq_parameters_are_taken_out_of_the_url() {
        let (rest, ours) = split_params(
            "postgres://u@h1:5432,h2:5433/db?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem&target_session_attrs=read-write",
        )
        .unwrap();
        assert_eq!(
            rest,
            "postgres://u@h1:5432,h2:5433/db?target_session_attrs=read-write"
        );
        assert_eq!(ours["sslmode"], "verify-full");
        assert_eq!(ours["sslrootcert"], "/tmp/ca.pem");
        let (_, ours) = split_params("postgres:///d?host=/run/a,/run/b&port=1,2").unwrap();
        assert_eq!(ours["host"], "/run/a,/run/b");
        let config: Config = rest.parse().unwrap();
        let hosts: Vec<_> = split_hosts(&config)
            .unwrap()
            .iter()
            .map(pgpass_host)
            .collect();
        assert_eq!(
            hosts,
            vec![("h1".to_string(), 5432), ("h2".to_string(), 5433)]
        );
    }

    /// Each host gets its own configuration, and nothing else is lost on the way.
    #[test]
    fn one_configuration_per_host_keeps_every_setting() {
        let url = "postgres://u:pw@h1:5432/db?application_name=x&connect_timeout=3&options=-c%20a%3Db\
                   &target_session_attrs=read-write&keepalives=0&keepalives_idle=7&tcp_user_timeout=5\
                   &load_balance_hosts=random&channel_binding=require&sslmode=require&hostaddr=127.0.0.2";
        let config: Config = url.parse().unwrap();
        assert_eq!(split_hosts(&config).unwrap(), vec![config.clone()]);
        let two: Config = "postgres://u@h1:1,h2:2/db".parse().unwrap();
        assert!(
            split_hosts(two.clone().port(3)).is_err(),
            "2 hosts, 3 ports"
        );
        let split = split_hosts(&two).unwrap();
        assert_eq!(split.len(), 2);
        assert_eq!(split[1].get_hosts(), &[Host::Tcp("h2".into())]);
        assert_eq!(split[1].get_ports(), &[2]);
        let sock: Config = "postgres:///db?host=/tmp/s&port=7&sslmode=require"
            .parse()
            .unwrap();
        let sock = &split_hosts(&sock).unwrap()[0];
        assert!(is_unix(sock));
        assert_eq!(
            sock.get_ssl_mode(),
            WireMode::Disable,
            "no TLS on a socket, as libpq"
        );
        assert_eq!(pgpass_host(sock), ("/tmp/s".to_string(), 7));
        let deflt: Config = "postgres:///db?host=/var/run/postgresql".parse().unwrap();
        assert_eq!(pgpass_host(&split_hosts(&deflt).unwrap()[0]).0, "localhost");
    }

    #[test]
    fn sslmode_follows_libpq() {
        let home = tempfile::tempdir().unwrap();
        let home = home.path();
        let with = |pairs: &'static [(&'static str, &'static str)]| {
            ssl_settings(
                &move |k: &str, _: &str| {
                    pairs
                        .iter()
                        .find(|(n, _)| *n == k)
                        .map(|(_, v)| v.to_string())
                },
                Some(home),
            )
        };
        let ca = std::env::temp_dir().join("b24auth-libpq-test-ca.pem");
        std::fs::write(&ca, "x").unwrap();
        let ca: &'static str = Box::leak(ca.display().to_string().into_boxed_str());
        let leaked: &'static [(&str, &str)] =
            Box::leak(vec![("sslmode", "require"), ("sslrootcert", ca)].into_boxed_slice());
        assert_eq!(with(leaked).unwrap().mode, SslMode::VerifyCa);
        assert_eq!(
            with(&[("sslrootcert", "system")]).unwrap().mode,
            SslMode::VerifyFull
        );
        assert!(with(&[("sslrootcert", "system"), ("sslmode", "require")]).is_err());
        assert!(with(&[("sslmode", "verify")]).is_err());
        assert_eq!(with(&[("sslmode", "allow")]).unwrap().mode, SslMode::Allow);
    }

    /// No home directory: no default file at all, never one relative to the working directory.
    #[test]
    fn without_a_home_no_default_files_are_used() {
        let none = |_: &str, _: &str| None;
        let ssl = ssl_settings(&none, None).unwrap();
        assert_eq!(ssl.root, RootCert::Missing(None));
        assert!(ssl.client.is_none());
        let cert = |k: &str, _: &str| (k == "sslcert").then(|| "/etc/client.crt".to_string());
        let e = ssl_settings(&cert, None).unwrap_err().to_string();
        assert!(e.contains("sslkey="), "{e}");
        let home = tempfile::tempdir().unwrap();
        let ssl = ssl_settings(&cert, Some(home.path())).unwrap();
        let (_, key) = ssl.client.unwrap();
        assert_eq!(key, home.path().join(".postgresql/postgresql.key"));
    }

    /// A URL's `connect_timeout` is kept; without one, 10 s.
    #[test]
    fn a_url_connect_timeout_is_kept() {
        let ui = Ui::new(true);
        let timeout = |url: &str| {
            let options = ConnectOptions::resolve(url, &ui).unwrap();
            *options.hosts[0].get_connect_timeout().unwrap()
        };
        assert_eq!(
            timeout("postgres://u@h/db?connect_timeout=3&passfile=/nonexistent"),
            Duration::from_secs(3)
        );
        assert_eq!(
            timeout("postgres://u@h/db?passfile=/nonexistent"),
            Duration::from_secs(10)
        );
    }
}
