//! One PostgreSQL deployed as people deploy it, shared by the case files that reach it the
//! ways a libpq user does (`deploy_tls.rs`, `postgres_libpq.rs`): `ssl = on` with a certificate
//! from a private CA, and each way checked against `psql` with the same URL.

use std::process::Command;
use std::sync::OnceLock;

use super::cli::{Env, Run};
use super::postgres::Cluster;
use super::stand_in::StandIn;
use super::tls::{Ca, Issued};

pub const PASSWORD: &str = "pw-s3cret-only-in-pgpass";

pub struct Deployed {
    pub cluster: Cluster,
    /// The CA that signed the server's certificate (`DNS:localhost` only).
    pub ca: Ca,
    /// A CA that signed nothing of this server's.
    pub other: Ca,
    /// `certuser`'s client certificate, from `ca`.
    pub client: Issued,
}

/// One `ssl = on` cluster for this file: TLS only on TCP (`hostssl`; no plain `host` line, so a
/// connection that works was encrypted), `pwuser` by password only, `certuser` by certificate.
pub fn deployed() -> &'static Deployed {
    static D: OnceLock<Deployed> = OnceLock::new();
    D.get_or_init(|| {
        let ca = Ca::new("b24auth test company CA");
        let other = Ca::new("some other CA");
        let server = ca.issue("localhost", "DNS:localhost");
        let client = ca.issue("certuser", "DNS:certuser");
        let ca_pem = ca.cert.clone();
        let cluster = Cluster::start_with("127.0.0.1", |data| {
            std::fs::copy(&server.cert, data.join("server.crt")).unwrap();
            std::fs::copy(&server.key, data.join("server.key")).unwrap();
            std::fs::copy(&ca_pem, data.join("ca.pem")).unwrap();
            let conf = data.join("postgresql.conf");
            let mut text = std::fs::read_to_string(&conf).unwrap();
            text.push_str(
                "\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n\
                 ssl_ca_file = 'ca.pem'\npassword_encryption = 'scram-sha-256'\n",
            );
            std::fs::write(&conf, text).unwrap();
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all trust\n\
                 hostssl all pwuser 127.0.0.1/32 scram-sha-256\n\
                 hostssl all certuser 127.0.0.1/32 cert\n\
                 hostssl all postgres 127.0.0.1/32 trust\n",
            )
            .unwrap();
        });
        cluster.psql(
            "postgres",
            &format!("CREATE ROLE pwuser LOGIN PASSWORD '{PASSWORD}'"),
        );
        cluster.psql("postgres", "CREATE ROLE certuser LOGIN");
        Deployed {
            cluster,
            ca,
            other,
            client,
        }
    })
}

pub fn new_db(owner: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = format!("d{}", N.fetch_add(1, Ordering::SeqCst));
    deployed()
        .cluster
        .psql("postgres", &format!("CREATE DATABASE {name} OWNER {owner}"));
    name
}

/// `psql URL -c 'SELECT 1'` with `envs`: whether psql connects.
pub fn psql_connects(url: &str, envs: &[(&str, &str)]) -> bool {
    Command::new("psql")
        .args(["-X", "-A", "-t", "-w", url, "-c", "SELECT 1"])
        .envs(envs.iter().copied())
        .env_remove("PGPASSWORD")
        .output()
        .unwrap()
        .status
        .success()
}

/// `store copy` of a pair seeded against `s` into `url`, then `token`, with `envs` (and no
/// `SSL_CERT_FILE` / `SSL_CERT_DIR` but those `envs` set).
pub fn copy_and_token(s: &StandIn, url: &str, envs: &[(&str, &str)]) -> (Run, Option<Run>) {
    let env = Env::new();
    let doc = env.seed(s, 3600);
    let mut copy = env.cmd(&["store", "copy", "--from", "file", "--to", url, "--force"]);
    copy.env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .envs(envs.iter().copied());
    let copied = Env::run_cmd(&mut copy);
    if copied.code != 0 {
        return (copied, None);
    }
    let mut token = env.cmd(&["token"]);
    token
        .env("B24AUTH_STORE", url)
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .envs(envs.iter().copied());
    let token = Env::run_cmd(&mut token);
    assert_eq!(token.stdout.trim(), doc["access_token"].as_str().unwrap());
    (copied, Some(token))
}

pub fn works(url: &str, envs: &[(&str, &str)]) {
    assert!(psql_connects(url, envs), "psql connects to {url}");
    let s = StandIn::start();
    let (copied, token) = copy_and_token(&s, url, envs);
    copied.assert_ok();
    token.unwrap().assert_ok();
}

/// Refused by psql and by b24auth (exit 1); returns b24auth's message.
pub fn refused(url: &str, envs: &[(&str, &str)]) -> String {
    assert!(!psql_connects(url, envs), "psql refuses {url}");
    let s = StandIn::start();
    let (copied, _) = copy_and_token(&s, url, envs);
    copied.assert_final_error(1).to_string()
}

pub fn port() -> u16 {
    deployed().cluster.port
}
