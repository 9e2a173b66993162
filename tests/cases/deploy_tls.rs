//! Deployed as people deploy it (the ways a libpq user reaches a server, on loopback): a
//! PostgreSQL with `ssl = on` and a certificate from a private CA, reached with libpq's
//! `sslmode`s, `sslrootcert`, a `.pgpass`, a client certificate and a multi-host URL — each
//! row checked against `psql` with the same URL — and a portal and OAuth server over HTTPS
//! behind a company CA, trusted through `SSL_CERT_FILE`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::support::cli::Env;
use crate::support::deployed_pg::{
    copy_and_token, deployed, new_db, port, psql_connects, refused, works, PASSWORD,
};
use crate::support::postgres::shared;
use crate::support::stand_in::StandIn;
use crate::support::tls::Ca;

#[test]
fn ssl_on_without_sslmode_encrypts_without_verifying_like_psql() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Postgres,
        "deploy_tls::ssl_on_without_sslmode_encrypts_without_verifying_like_psql",
    ) {
        return;
    }
    let db = new_db("postgres");
    works(
        &format!("postgres://postgres@127.0.0.1:{}/{db}", port()),
        &[],
    );
    works(
        &format!(
            "postgres://postgres@localhost:{}/{db}?sslmode=require",
            port()
        ),
        &[],
    );
    // Plain connections are not allowed here: `disable` fails for both.
    let msg = refused(
        &format!(
            "postgres://postgres@127.0.0.1:{}/{db}?sslmode=disable",
            port()
        ),
        &[],
    );
    assert!(
        msg.contains("cannot connect to the PostgreSQL store"),
        "{msg}"
    );
}

#[test]
fn verify_full_checks_the_ca_and_the_host_name() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Postgres,
        "deploy_tls::verify_full_checks_the_ca_and_the_host_name",
    ) {
        return;
    }
    let d = deployed();
    let db = new_db("postgres");
    let (ca, other) = (d.ca.cert.display(), d.other.cert.display());
    let p = port();
    works(
        &format!("postgres://postgres@localhost:{p}/{db}?sslmode=verify-full&sslrootcert={ca}"),
        &[],
    );
    // PGSSLROOTCERT / PGSSLMODE as psql reads them.
    let ca_s = ca.to_string();
    works(
        &format!("postgres://postgres@localhost:{p}/{db}"),
        &[("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", &ca_s)],
    );
    // Another CA: refused, and the message says which file and what to do.
    let msg = refused(
        &format!("postgres://postgres@localhost:{p}/{db}?sslmode=verify-full&sslrootcert={other}"),
        &[],
    );
    assert!(
        msg.contains(&format!("sslrootcert={other}")) && msg.contains("UnknownIssuer"),
        "{msg}"
    );
    // The certificate names localhost, not 127.0.0.1: verify-full refuses, verify-ca accepts.
    let msg = refused(
        &format!("postgres://postgres@127.0.0.1:{p}/{db}?sslmode=verify-full&sslrootcert={ca}"),
        &[],
    );
    assert!(msg.contains("NotValidForName"), "{msg}");
    works(
        &format!("postgres://postgres@127.0.0.1:{p}/{db}?sslmode=verify-ca&sslrootcert={ca}"),
        &[],
    );
    // verify-ca still checks the chain: another CA is refused, by name and by address alike.
    for host in ["localhost", "127.0.0.1"] {
        let msg = refused(
            &format!("postgres://postgres@{host}:{p}/{db}?sslmode=verify-ca&sslrootcert={other}"),
            &[],
        );
        assert!(
            msg.contains(&format!("sslrootcert={other}")) && msg.contains("UnknownIssuer"),
            "{msg}"
        );
    }
    // sslrootcert=system: the machine's store plus SSL_CERT_FILE, as for HTTPS.
    let system = format!("postgres://postgres@localhost:{p}/{db}?sslrootcert=system");
    let s = StandIn::start();
    let (copied, _) = copy_and_token(&s, &system, &[("SSL_CERT_FILE", &ca_s)]);
    copied.assert_ok();
    // Without it the machine's store does not hold the test CA: refused, and the message
    // says how to trust a company CA.
    let (copied, _) = copy_and_token(&s, &system, &[]);
    let msg = copied.assert_final_error(1);
    assert!(
        msg.contains("UnknownIssuer") && msg.contains("SSL_CERT_FILE="),
        "{msg}"
    );
}

#[test]
fn a_password_only_role_is_reached_through_pgpassfile() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Postgres,
        "deploy_tls::a_password_only_role_is_reached_through_pgpassfile",
    ) {
        return;
    }
    let db = new_db("pwuser");
    let dir = tempfile::tempdir().unwrap();
    let pgpass = dir.path().join("pgpass");
    std::fs::write(
        &pgpass,
        format!(
            "# the team's file\nlocalhost:{}:{db}:pwuser:{PASSWORD}\n",
            port()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let file = pgpass.display().to_string();
    let url = format!("postgres://pwuser@localhost:{}/{db}", port());
    works(&url, &[("PGPASSFILE", &file)]);
    // `passfile=` in the URL, as libpq reads it.
    works(&format!("{url}?passfile={file}"), &[]);

    // Readable by others: libpq ignores the file (and says so), so authentication fails.
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let msg = refused(&url, &[("PGPASSFILE", &file)]);
    assert!(!msg.contains(PASSWORD));
    let s = StandIn::start();
    let (copied, _) = copy_and_token(&s, &url, &[("PGPASSFILE", &file)]);
    assert!(
        copied.stderr.contains("0600") && copied.stderr.contains(&file),
        "{}",
        copied.stderr
    );
    assert!(!copied.stderr.contains(PASSWORD));
}

#[test]
fn a_password_in_the_url_is_never_printed() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Postgres,
        "deploy_tls::a_password_in_the_url_is_never_printed",
    ) {
        return;
    }
    let db = new_db("pwuser");
    let url = format!(
        "postgres://pwuser@localhost:{}/{db}?password=wrong-{PASSWORD}",
        port()
    );
    let s = StandIn::start();
    let (copied, _) = copy_and_token(&s, &url, &[]);
    assert!(!copied.stderr.contains(PASSWORD), "{}", copied.stderr);
    let env = Env::new();
    let mut token = env.cmd(&["--store", &url, "token"]);
    let run = Env::run_cmd(&mut token);
    assert!(!run.stderr.contains(PASSWORD), "{}", run.stderr);
    assert!(!run.stdout.contains(PASSWORD));
}

#[test]
fn a_client_certificate_is_sent_and_its_key_must_be_private() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Postgres,
        "deploy_tls::a_client_certificate_is_sent_and_its_key_must_be_private",
    ) {
        return;
    }
    let d = deployed();
    let db = new_db("certuser");
    let (cert, key) = (d.client.cert.display(), d.client.key.display());
    let url = format!(
        "postgres://certuser@localhost:{}/{db}?sslmode=verify-full&sslrootcert={}&sslcert={cert}&sslkey={key}",
        port(),
        d.ca.cert.display()
    );
    works(&url, &[]);
    let loose = tempfile::tempdir().unwrap();
    let loose_key = loose.path().join("client.key");
    std::fs::copy(&d.client.key, &loose_key).unwrap();
    std::fs::set_permissions(&loose_key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let url = url.replace(&key.to_string(), &loose_key.display().to_string());
    let msg = refused(&url, &[]);
    assert!(
        msg.contains("group or world access") && msg.contains("chmod 0600"),
        "{msg}"
    );
    // The other modes as libpq judges them for this key's owner (root's key may be
    // group-readable): b24auth accepts exactly what psql accepts.
    for mode in [0o640, 0o740, 0o660, 0o700] {
        std::fs::set_permissions(&loose_key, std::fs::Permissions::from_mode(mode)).unwrap();
        let psql = psql_connects(&url, &[]);
        let s = StandIn::start();
        let (copied, _) = copy_and_token(&s, &url, &[]);
        assert_eq!(copied.code == 0, psql, "mode {mode:o}: {}", copied.stderr);
    }
}

/// `host=a,b` with `target_session_attrs=read-write`: the first host is a read-only standby
/// (a failed-over old primary), the store lands on the second.
#[test]
fn a_multi_host_url_finds_the_read_write_primary() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Postgres,
        "deploy_tls::a_multi_host_url_finds_the_read_write_primary",
    ) {
        return;
    }
    let standby = shared();
    let primary = &deployed().cluster;
    let db = "failover";
    for c in [standby, primary] {
        c.psql("postgres", &format!("CREATE DATABASE {db}"));
    }
    standby.psql(
        "postgres",
        &format!("ALTER DATABASE {db} SET default_transaction_read_only = on"),
    );
    let hosts = format!(
        "postgres:///{db}?user=postgres&host={},{}&port={},{}",
        standby.dir.display(),
        primary.dir.display(),
        standby.port,
        primary.port
    );
    let url = format!("{hosts}&target_session_attrs=read-write");
    works(&url, &[]);
    assert_eq!(
        primary
            .psql(db, "SELECT count(*) FROM b24auth_profiles")
            .trim(),
        "1"
    );
    // Without the attribute the first host is taken, and it refuses writes.
    let s = StandIn::start();
    let (copied, _) = copy_and_token(&s, &hosts, &[]);
    assert!(
        copied.assert_error(1).contains("read-only"),
        "{}",
        copied.stderr
    );
}

/// A portal and OAuth server whose certificate a company CA signed.
fn https_stand_in() -> (StandIn, Ca) {
    let ca = Ca::new("b24auth test company CA");
    let cert = ca.issue("portal", "IP:127.0.0.1,DNS:localhost");
    (StandIn::start_https(cert.server_config()), ca)
}

fn with_cert_file(c: &mut Command, file: Option<&Path>) {
    c.env_remove("SSL_CERT_FILE").env_remove("SSL_CERT_DIR");
    if let Some(f) = file {
        c.env("SSL_CERT_FILE", f);
    }
}

#[test]
fn https_behind_a_company_ca_works_once_ssl_cert_file_names_it() {
    let (s, ca) = https_stand_in();
    assert!(s.base.starts_with("https://"));
    let env = Env::new();
    let before = env.seed(&s, 3600);
    let other = Ca::new("some other CA");
    for file in [None, Some(other.cert.as_path())] {
        let mut refresh = env.app_cmd(&s, &["refresh"]);
        with_cert_file(&mut refresh, file);
        let run = Env::run_cmd(&mut refresh);
        let msg = run.assert_error(1);
        assert!(
            msg.contains("SSL_CERT_FILE")
                && msg.contains("127.0.0.1")
                && msg.contains("not trusted"),
            "{msg}"
        );
        assert_eq!(env.auth()["refresh_token"], before["refresh_token"]);
    }
    assert_eq!(s.counters().token_calls, 0, "nothing reached the server");
    // A mistyped SSL_CERT_FILE is named, not silently ignored.
    let missing = env.dir.join("no-such-ca.pem");
    let mut refresh = env.app_cmd(&s, &["refresh"]);
    with_cert_file(&mut refresh, Some(&missing));
    let run = Env::run_cmd(&mut refresh);
    assert!(
        run.assert_error(1)
            .contains(&format!("SSL_CERT_FILE={}", missing.display())),
        "{}",
        run.stderr
    );

    let mut refresh = env.app_cmd(&s, &["refresh"]);
    with_cert_file(&mut refresh, Some(&ca.cert));
    Env::run_cmd(&mut refresh).assert_ok();
    assert_eq!(s.counters().refreshes, 1);
    let mut call = env.app_cmd(&s, &["call", "user.current", "--result"]);
    with_cert_file(&mut call, Some(&ca.cert));
    let called = Env::run_cmd(&mut call);
    called.assert_ok();
    assert!(called.stdout.contains("Stand"), "{}", called.stdout);
    // The company CA adds to the system's roots; a directory of CAs works as OpenSSL's does.
    let mut call = env.app_cmd(&s, &["call", "user.current"]);
    with_cert_file(&mut call, None);
    call.env("SSL_CERT_DIR", ca.cert.parent().unwrap());
    Env::run_cmd(&mut call).assert_ok();
    // A mistyped SSL_CERT_DIR is named too, even when SSL_CERT_FILE loads.
    let mut call = env.app_cmd(&s, &["call", "user.current"]);
    with_cert_file(&mut call, Some(&ca.cert));
    call.env("SSL_CERT_DIR", &missing);
    let run = Env::run_cmd(&mut call);
    assert!(
        run.assert_error(1)
            .contains(&format!("SSL_CERT_DIR={}", missing.display())),
        "{}",
        run.stderr
    );
}

/// A trusted CA but a certificate for another name: the message says so, and does not send the
/// user to SSL_CERT_FILE (which cannot help).
#[test]
fn a_certificate_for_another_name_is_named_not_blamed_on_the_ca() {
    let ca = Ca::new("b24auth test company CA");
    let cert = ca.issue("portal", "DNS:portal.example");
    let s = StandIn::start_https(cert.server_config());
    let env = Env::new();
    let before = env.seed(&s, 3600);
    let mut refresh = env.app_cmd(&s, &["refresh"]);
    with_cert_file(&mut refresh, Some(&ca.cert));
    let run = Env::run_cmd(&mut refresh);
    let msg = run.assert_error(1);
    assert!(
        msg.contains("portal.example")
            && msg.contains("NotValidForName")
            && !msg.contains("SSL_CERT_FILE")
            && !msg.contains("not trusted"),
        "{msg}"
    );
    assert_eq!(env.auth()["refresh_token"], before["refresh_token"]);
    assert_eq!(s.counters().token_calls, 0);
}
