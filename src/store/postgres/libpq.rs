/*!
The connection settings as libpq reads them, for a `postgres://` store: the URL first, then the
`PG*` variables for what it left out, then `.pgpass` for a password (README, "Deploying").

tokio-postgres parses the URL itself (hosts, ports, multi-host lists, `target_session_attrs`,
`connect_timeout`, …) but knows neither libpq's variables nor its TLS parameters, so those are
taken out of the URL here and handed to [`super::tls`]: `sslmode` (all six of libpq's values),
`sslrootcert`, `sslcert`, `sslkey`, and `passfile`.
*/

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use tokio_postgres::config::{Host, SslMode as WireMode};
use tokio_postgres::Config;

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
    /// Nothing named, and no `~/.postgresql/root.crt`.
    Missing(PathBuf),
}

#[derive(Debug, Clone)]
pub(super) struct Ssl {
    pub mode: SslMode,
    pub root: RootCert,
    /// The client certificate and its key, when there is one.
    pub client: Option<(PathBuf, PathBuf)>,
}

pub(super) struct Options {
    pub config: Config,
    pub ssl: Ssl,
}

/// The parameters taken out of the URL before tokio-postgres reads it.
const OURS: [&str; 5] = ["sslmode", "sslrootcert", "sslcert", "sslkey", "passfile"];

impl Options {
    pub(super) fn resolve(url: &str, ui: &Ui) -> Result<Options> {
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
        config.connect_timeout(Duration::from_secs(10));
        if config.get_application_name().is_none() {
            config.application_name("b24auth");
        }
        let param = |k: &str, var: &str| ours.get(k).cloned().or_else(|| env(var));
        let ssl = ssl_settings(&param)?;
        config.ssl_mode(match ssl.mode {
            SslMode::Disable => WireMode::Disable,
            // tokio-postgres has no "plain first, then TLS": try TLS first, as `prefer` does.
            SslMode::Allow | SslMode::Prefer => WireMode::Prefer,
            _ => WireMode::Require,
        });
        if config.get_password().is_none() {
            let file = param("passfile", "PGPASSFILE")
                .map(PathBuf::from)
                .or_else(|| home().map(|h| h.join(".pgpass")));
            if let Some(pw) = file.and_then(|f| super::pgpass::lookup(&f, &config, ui)) {
                config.password(pw);
            }
        }
        Ok(Options { config, ssl })
    }
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
fn ssl_settings(param: &dyn Fn(&str, &str) -> Option<String>) -> Result<Ssl> {
    let named_mode = param("sslmode", "PGSSLMODE")
        .map(|m| parse_mode(&m))
        .transpose()?;
    let dot = home().map(|h| h.join(".postgresql")).unwrap_or_default();
    let root = match param("sslrootcert", "PGSSLROOTCERT") {
        Some(s) if s == "system" => RootCert::System,
        Some(s) => RootCert::File(PathBuf::from(s)),
        None if dot.join("root.crt").is_file() => RootCert::File(dot.join("root.crt")),
        None => RootCert::Missing(dot.join("root.crt")),
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
    let cert = param("sslcert", "PGSSLCERT");
    let key = param("sslkey", "PGSSLKEY");
    let client = match cert {
        Some(c) => Some((
            PathBuf::from(c),
            key.map(PathBuf::from)
                .unwrap_or_else(|| dot.join("postgresql.key")),
        )),
        None if dot.join("postgresql.crt").is_file() => Some((
            dot.join("postgresql.crt"),
            key.map(PathBuf::from)
                .unwrap_or_else(|| dot.join("postgresql.key")),
        )),
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
            None if std::path::Path::new("/var/run/postgresql").exists() => {
                config.host_path("/var/run/postgresql");
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

/// The host names as libpq matches them in `.pgpass` (a socket directory counts as
/// `localhost`), each with its port.
pub(super) fn hosts_and_ports(config: &Config) -> Vec<(String, u16)> {
    let ports = config.get_ports();
    config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let name = match h {
                Host::Tcp(n) => n.clone(),
                Host::Unix(_) => "localhost".to_string(),
            };
            let port = match ports.len() {
                0 => 5432,
                1 => ports[0],
                _ => ports.get(i).copied().unwrap_or(5432),
            };
            (name, port)
        })
        .collect()
}

#[cfg(test)]
mod tests {
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
        assert_eq!(
            hosts_and_ports(&config),
            vec![("h1".to_string(), 5432), ("h2".to_string(), 5433)]
        );
    }

    #[test]
    fn sslmode_follows_libpq() {
        let with = |pairs: &'static [(&'static str, &'static str)]| {
            ssl_settings(&move |k: &str, _: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            })
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
}
