//! libpq's per-host rules, with real servers on loopback and `psql` as the reference: a
//! `.pgpass` password goes only to the host it was written for (a decoy host that asks for a
//! clear-text password learns nothing else), a Unix socket never uses TLS whatever `sslmode`
//! says, and a server without TLS gets a next step.

use std::os::unix::fs::PermissionsExt;

use crate::support::deployed_pg::{copy_and_token, deployed, new_db, port, works, PASSWORD};
use crate::support::pg_decoy::Decoy;
use crate::support::stand_in::StandIn;

/// A 0600 password file holding `lines`, and its path.
fn pgpass(lines: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pgpass");
    std::fs::write(&file, lines).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let path = file.display().to_string();
    (dir, path)
}

/// `store copy` and `token` through `url` with `PGPASSFILE=file` work.
fn stored(url: &str, file: &str) {
    let s = StandIn::start();
    let (copied, token) = copy_and_token(&s, url, &[("PGPASSFILE", file)]);
    copied.assert_ok();
    token.unwrap().assert_ok();
}

fn sent(decoy: &Decoy, secret: &str) -> bool {
    decoy
        .connections()
        .iter()
        .any(|c| c.windows(secret.len()).any(|w| w == secret.as_bytes()))
}

/// `host=decoy,real`: the decoy is tried first and asks for a clear-text password. With no
/// line for it, it gets none; the real host gets its own, and the store works. (psql stops at
/// the decoy's refusal — libpq does not move on after an authentication failure, where
/// tokio-postgres tries the next host — so psql is no reference here.)
#[test]
fn a_pgpass_password_goes_only_to_its_own_host() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Postgres,
        "postgres_libpq::a_pgpass_password_goes_only_to_its_own_host",
    ) {
        return;
    }
    let db = new_db("pwuser");
    let url = |decoy: &Decoy| {
        format!(
            "postgres://pwuser@127.0.0.1:{},localhost:{}/{db}",
            decoy.port,
            port()
        )
    };
    let decoy = Decoy::start();
    let (_dir, file) = pgpass(&format!("localhost:{}:{db}:pwuser:{PASSWORD}\n", port()));
    stored(&url(&decoy), &file);
    assert!(!decoy.connections().is_empty(), "the decoy was tried");
    assert!(
        !sent(&decoy, PASSWORD),
        "the real host's password reached the decoy"
    );

    // Each host with its own line: each gets its own password, and only that.
    let decoy = Decoy::start();
    let (_dir, file) = pgpass(&format!(
        "127.0.0.1:{}:{db}:pwuser:written-for-the-decoy\nlocalhost:{}:{db}:pwuser:{PASSWORD}\n",
        decoy.port,
        port()
    ));
    stored(&url(&decoy), &file);
    assert!(sent(&decoy, "written-for-the-decoy"));
    assert!(!sent(&decoy, PASSWORD));
}

/// libpq never uses TLS on a Unix socket: `sslmode=require` and `PGSSLMODE=verify-full` (with
/// no `~/.postgresql/root.crt`) connect through the socket directory as psql does.
#[test]
fn a_unix_socket_ignores_sslmode_as_libpq_does() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Postgres,
        "postgres_libpq::a_unix_socket_ignores_sslmode_as_libpq_does",
    ) {
        return;
    }
    let d = deployed();
    let db = new_db("postgres");
    let home = tempfile::tempdir().unwrap();
    let home_s = home.path().display().to_string();
    let url = format!(
        "postgres:///{db}?user=postgres&host={}&port={}",
        d.cluster.dir.display(),
        port()
    );
    works(&format!("{url}&sslmode=require"), &[("HOME", &home_s)]);
    works(&url, &[("HOME", &home_s), ("PGSSLMODE", "verify-full")]);
}

/// A server with `ssl = off` under `sslmode=require`: refused, with what to do next.
#[test]
fn a_server_without_tls_gets_a_next_step() {
    let decoy = Decoy::start();
    let url = format!(
        "postgres://postgres@127.0.0.1:{}/x?sslmode=require",
        decoy.port
    );
    let s = StandIn::start();
    let (copied, _) = copy_and_token(&s, &url, &[]);
    let msg = copied.assert_final_error(1);
    assert!(
        msg.contains("server does not support TLS")
            && msg.contains("sslmode=prefer")
            && msg.contains("postgresql.conf"),
        "{msg}"
    );
}
