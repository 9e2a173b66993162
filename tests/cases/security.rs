//! Trust boundaries: nothing a caller sends or plants is believed without proof.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::Value;

use crate::support::callbacks::{install_form_with, INSTALL_APP_TOKEN};
use crate::support::cli::Env;
use crate::support::http;
use crate::support::stand_in::{Endpoint, Fault, StandIn, When};

const FORM: &str = "application/x-www-form-urlencoded";
const PATH: &str = "/install/feedfacefeedfacefeedfacefeedface";

/// An install callback for `pair` on the stand-in's portal, with `overrides` of `auth[…]`
/// fields (an empty value drops the field) and `extra` raw form pairs.
fn callback(
    s: &StandIn,
    pair: &Value,
    overrides: &[(&str, &str)],
    extra: &[(&str, &str)],
) -> String {
    install_form_with(pair, &s.host(), INSTALL_APP_TOKEN, overrides, extra)
}

fn post(addr: &str, body: &str) -> u16 {
    http::post(addr, PATH, FORM, body.as_bytes()).status
}

#[test]
fn install_a_genuine_token_naming_another_portal_is_refused() {
    let s = StandIn::start();
    let env = Env::new();
    let (p, addr) = env.listen(&mut env.install_listen(&s, true, PATH, &[]));
    let pair = s.issue_pair();
    let attacker = format!("http://127.0.0.1:{}/rest/", http::free_port());
    let attacker_host = attacker
        .trim_start_matches("http://")
        .trim_end_matches("/rest/")
        .to_string();
    let forged: [&[(&str, &str)]; 5] = [
        // The issue's reproduction: the token is genuine, the endpoint is the attacker's.
        &[
            ("client_endpoint", &attacker),
            ("domain", "victim.bitrix24.com"),
        ],
        // Consistent with itself, but not the portal app.info names.
        &[("client_endpoint", &attacker), ("domain", &attacker_host)],
        &[("client_endpoint", &attacker)],
        &[("domain", "victim.bitrix24.com")],
        &[("member_id", "0123456789abcdef0123456789abcdef")],
    ];
    for overrides in forged {
        let status = post(&addr, &callback(&s, &pair, overrides, &[]));
        assert_eq!(status, 403, "{overrides:?}");
        assert!(!env.auth_path().exists(), "nothing saved for {overrides:?}");
    }
    assert_eq!(post(&addr, &callback(&s, &pair, &[], &[])), 200);
    p.finish().assert_ok();
    let auth = env.auth();
    assert_eq!(
        auth["client_endpoint"],
        format!("http://{}/portal/rest/", s.host())
    );
    assert_eq!(auth["b24auth"]["portal"], s.host());
}

#[test]
fn install_the_body_cannot_set_client_credentials_or_b24auth() {
    let s = StandIn::start();
    let env = Env::new();
    // No client credentials configured: nothing may fill them in from the body.
    let (p, addr) = env.listen(&mut env.install_listen(&s, false, PATH, &["--timeout", "2s"]));
    let pair = s.issue_pair();
    let body = callback(
        &s,
        &pair,
        &[
            ("client_id", "local.evil"),
            ("client_secret", "evil-secret"),
        ],
        &[("auth[b24auth][oauth_server]", "http://127.0.0.1:1")],
    );
    assert_eq!(post(&addr, &body), 200);
    p.finish().assert_ok();
    // Without the client_id it is kept as a candidate (app.info cannot tell the app).
    let auth = super::install_listen::only_candidate(&env);
    assert!(auth.get("client_id").is_none(), "{auth}");
    assert!(auth.get("client_secret").is_none(), "{auth}");
    assert_eq!(auth["b24auth"]["oauth_server"], s.base);
    assert!(!auth
        .as_object()
        .unwrap()
        .keys()
        .any(|k| k.starts_with("b24auth[")));
}

#[test]
fn install_no_verify_still_refuses_an_endpoint_on_another_host() {
    let s = StandIn::start();
    let env = Env::new();
    let (p, addr) = env.listen(&mut env.install_listen(&s, true, PATH, &["--no-verify"]));
    let pair = s.issue_pair();
    let attacker = format!("http://127.0.0.1:{}/rest/", http::free_port());
    assert_eq!(
        post(
            &addr,
            &callback(&s, &pair, &[("client_endpoint", &attacker)], &[])
        ),
        403
    );
    assert!(!env.auth_path().exists());
    assert_eq!(post(&addr, &callback(&s, &pair, &[], &[])), 200);
    p.finish().assert_ok();
}

/// Ten forged callbacks whose verification hangs must not hold the genuine one: it is verified
/// and saved while all ten are still waiting for the OAuth server (the HTTP timeout is long so
/// that none of them gives up first on a loaded machine).
#[test]
fn install_verifications_run_concurrently() {
    let s = StandIn::start();
    let env = Env::new();
    let (p, addr) = env.listen(&mut env.install_listen(&s, true, PATH, &["--http-timeout", "60s"]));
    s.hold_unknown_app_info();
    let answered = Arc::new(AtomicUsize::new(0));
    let forged: Vec<_> = (0..10)
        .map(|i| {
            let fake =
                serde_json::json!({"access_token": format!("forged{i:032}"), "refresh_token": "r"});
            let body = callback(&s, &fake, &[], &[]);
            let (addr, answered) = (addr.clone(), Arc::clone(&answered));
            std::thread::spawn(move || {
                let r = http::post(&addr, PATH, FORM, body.as_bytes());
                answered.fetch_add(1, Ordering::SeqCst);
                r.status
            })
        })
        .collect();
    s.wait_held(10, 15);
    let pair = s.issue_pair();
    // The gate is still closed: all ten forged verifications are still waiting at the OAuth
    // server, so the genuine callback was verified and saved beside them, not after them.
    // (Once it is saved the listener exits and may close the forged connections at once, so
    // their count is not checked here.)
    assert_eq!(post(&addr, &callback(&s, &pair, &[], &[])), 200);
    s.open_gate();
    for t in forged {
        let status = t.join().unwrap();
        assert!(status != 200, "a forged callback was accepted");
    }
    p.finish().assert_ok();
    assert_eq!(env.auth()["access_token"], pair["access_token"]);
}

#[test]
fn rest_a_redirect_to_another_port_is_not_followed() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    let before = env.auth()["client_endpoint"].clone();
    s.fail(
        Endpoint::Rest,
        When::Request(1),
        Fault::MovedTo(s.second_address()),
    );
    let line = env
        .run(&["call", "echo", "a=1"])
        .assert_error(1)
        .to_string();
    assert!(line.contains("not following"), "{line}");
    assert_eq!(s.rest_log().len(), 1, "the token went nowhere else");
    assert_eq!(env.auth()["client_endpoint"], before);
}

#[test]
fn rest_a_rename_is_saved_only_after_the_call_there_worked() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    let before = env.auth()["client_endpoint"].clone();
    let renamed = format!("{}/renamed", s.base);
    s.fail(
        Endpoint::Rest,
        When::Request(1),
        Fault::MovedTo(renamed.clone()),
    );
    env.run(&["call", "crm.deal.fail"]).assert_error(1);
    assert_eq!(
        env.auth()["client_endpoint"],
        before,
        "the call there failed"
    );
    s.fail(
        Endpoint::Rest,
        When::Request(1),
        Fault::MovedTo(renamed.clone()),
    );
    env.run(&["call", "echo"]).assert_ok();
    assert_eq!(env.auth()["client_endpoint"], format!("{}/rest/", s.base));
}

fn chmod(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A copy of the seeded default profile as the named profile `name`.
fn seed_named(env: &Env, s: &StandIn, name: &str) {
    let doc = env.seed(s, 3600);
    let dir = env.dir.join("profiles");
    std::fs::create_dir_all(&dir).unwrap();
    chmod(&dir, 0o700);
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
    chmod(&path, 0o600);
}

#[test]
fn file_store_refuses_directories_others_can_write() {
    let s = StandIn::start();
    let env = Env::new();
    seed_named(&env, &s, "p");
    chmod(&env.dir, 0o770);
    let line = env.run(&["show"]).assert_error(1).to_string();
    assert!(
        line.contains(&format!("chmod 700 {}", env.dir.display())),
        "{line}"
    );
    env.run(&["refresh"]).assert_error(1);
    chmod(&env.dir, 0o700);
    let profiles = env.dir.join("profiles");
    chmod(&profiles, 0o757);
    let line = env
        .run(&["--profile", "p", "show"])
        .assert_error(1)
        .to_string();
    assert!(line.contains("chmod 700"), "{line}");
    env.run(&["list"]).assert_error(1);
    chmod(&profiles, 0o700);
    env.run(&["--profile", "p", "show"]).assert_ok();
}

#[test]
fn file_store_refuses_what_another_user_owns() {
    if unsafe { libc::geteuid() } != 0 {
        crate::support::deps::skip(
            "security::file_store_refuses_what_another_user_owns",
            "needs root to chown test files",
        );
        return;
    }
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    let chown =
        |p: &std::path::Path, uid: u32| std::os::unix::fs::chown(p, Some(uid), None).unwrap();
    chown(&env.dir, 65534);
    let line = env.run(&["show"]).assert_error(1).to_string();
    assert!(line.contains("chown 0"), "{line}");
    chown(&env.dir, 0);
    chown(&env.auth_path(), 65534);
    let line = env.run(&["token"]).assert_error(1).to_string();
    assert!(line.contains("owned by uid 65534"), "{line}");
    chown(&env.auth_path(), 0);
    env.run(&["show"]).assert_ok();
}

#[test]
fn file_store_follows_no_symlink() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    // The profile itself.
    let real = env.tmp.path().join("elsewhere.json");
    std::fs::rename(env.auth_path(), &real).unwrap();
    std::os::unix::fs::symlink(&real, env.auth_path()).unwrap();
    let line = env.run(&["show"]).assert_error(1).to_string();
    assert!(line.contains("symlink"), "{line}");
    std::fs::remove_file(env.auth_path()).unwrap();
    std::fs::rename(&real, env.auth_path()).unwrap();
    // The lock file: nothing is created or written through it.
    let victim = env.tmp.path().join("victim");
    std::os::unix::fs::symlink(&victim, env.dir.join("auth.json.lock")).unwrap();
    let line = env.run(&["refresh"]).assert_error(1).to_string();
    assert!(line.contains("symlink"), "{line}");
    assert!(!victim.exists());
    // profiles/ itself.
    let other = env.tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    chmod(&other, 0o700);
    std::os::unix::fs::symlink(&other, env.dir.join("profiles")).unwrap();
    let line = env
        .run(&["--profile", "p", "show"])
        .assert_error(1)
        .to_string();
    assert!(line.contains("symlink"), "{line}");
}

#[test]
fn file_store_sweeps_only_its_own_temp_files() {
    let s = StandIn::start();
    let env = Env::new();
    seed_named(&env, &s, "a");
    // An in-flight temp file of profile `a.json.x`, and a stale one of `a`.
    let theirs = env.dir.join("profiles/.a.json.x.json.0123456789ab.tmp");
    let ours = env.dir.join("profiles/.a.json.ba9876543210.tmp");
    std::fs::write(&theirs, b"{}").unwrap();
    std::fs::write(&ours, b"{}").unwrap();
    env.app_cmd(&s, &["--profile", "a", "refresh"])
        .output()
        .unwrap();
    assert!(theirs.exists(), "another profile's temp file was swept");
    assert!(!ours.exists(), "a stale temp file of `a` stays");
}

#[test]
fn hidden_profile_names_are_refused() {
    let env = Env::new();
    let run = env.run(&["--profile", ".hidden", "show"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("not starting with a dot"),
        "{}",
        run.stderr
    );
}

const PG_KEY: &str = "q0K8gJ3yq1dO4mYl2o0v9m7Xw5b3c1e2f4a6b8d0e2c="; // 32 bytes, base64

fn pg_cmd(
    env: &Env,
    s: &StandIn,
    url: &str,
    key: Option<&str>,
    args: &[&str],
) -> crate::support::cli::Run {
    let mut c = env.app_cmd(s, args);
    c.env("B24AUTH_STORE", url);
    if let Some(k) = key {
        c.env("B24AUTH_STORE_KEY", k);
    }
    Env::run_cmd(&mut c)
}

fn sql_text(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

#[test]
fn pg_with_a_key_a_modified_or_unsealed_document_is_refused() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Postgres,
        "security::pg_with_a_key_a_modified_or_unsealed_document_is_refused",
    ) {
        return;
    }
    use crate::support::postgres::{db_of, shared};
    let s = StandIn::start();
    let env = Env::new();
    let url = shared().database();
    seed_named(&env, &s, "other");
    let doc = env.seed(&s, -10);
    let copy = pg_cmd(
        &env,
        &s,
        &url,
        Some(PG_KEY),
        &["store", "copy", "--from", "file", "--to", &url],
    );
    copy.assert_ok();
    pg_cmd(
        &env,
        &s,
        &url,
        Some(PG_KEY),
        &[
            "--profile",
            "other",
            "store",
            "copy",
            "--from",
            "file",
            "--to",
            &url,
        ],
    )
    .assert_ok();
    let db = db_of(&url);
    let stored = shared().psql(
        db,
        "SELECT document FROM b24auth_profiles WHERE name = 'default'",
    );
    let stored = stored.trim().to_string();
    assert!(stored.starts_with("sealed-document:v2:"), "{stored}");
    assert!(!stored.contains(doc["refresh_token"].as_str().unwrap()));

    // A plaintext document pointing the refresh at another server.
    let evil = http::canned_server(
        b"HTTP/1.1 500 x\r\nConnection: close\r\n\r\n".to_vec(),
        true,
    );
    let mut planted = doc.clone();
    planted["b24auth"]["oauth_server"] = evil.clone().into();
    shared().psql(
        db,
        &format!(
            "UPDATE b24auth_profiles SET document = {} WHERE name = 'default'",
            sql_text(&planted.to_string())
        ),
    );
    let mut c = env.cmd(&["token"]);
    c.env("B24AUTH_STORE", &url)
        .env("B24AUTH_STORE_KEY", PG_KEY)
        .env("B24AUTH_CLIENT_ID", "x");
    let line = Env::run_cmd(&mut c).assert_error(1).to_string();
    assert!(line.contains("not sealed"), "{line}");

    // A sealed document moved from another profile.
    let other = shared().psql(
        db,
        "SELECT document FROM b24auth_profiles WHERE name = 'other'",
    );
    shared().psql(
        db,
        &format!(
            "UPDATE b24auth_profiles SET document = {} WHERE name = 'default'",
            sql_text(other.trim())
        ),
    );
    let line = pg_cmd(&env, &s, &url, Some(PG_KEY), &["show", "--json"])
        .assert_error(1)
        .to_string();
    assert!(line.contains("does not open"), "{line}");

    // One flipped character.
    let mut flipped = stored.clone().into_bytes();
    let i = flipped.len() - 5;
    flipped[i] = if flipped[i] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    shared().psql(
        db,
        &format!(
            "UPDATE b24auth_profiles SET document = {} WHERE name = 'default'",
            sql_text(&flipped)
        ),
    );
    pg_cmd(&env, &s, &url, Some(PG_KEY), &["token"]).assert_error(1);
    assert_eq!(s.counters().token_calls, 0, "no refresh went anywhere");

    // Put back as it was: it works.
    shared().psql(
        db,
        &format!(
            "UPDATE b24auth_profiles SET document = {} WHERE name = 'default'",
            sql_text(&stored)
        ),
    );
    pg_cmd(&env, &s, &url, Some(PG_KEY), &["token"]).assert_ok();
}

/// A schema-1 field seal, as b24auth 0.1 wrote it.
fn seal_v1(key: &str, name: &str, field: &str, plain: &str) -> String {
    use base64::Engine as _;
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    let b64 = base64::engine::general_purpose::STANDARD;
    let cipher =
        chacha20poly1305::ChaCha20Poly1305::new_from_slice(&b64.decode(key).unwrap()).unwrap();
    let nonce = [3u8; 12];
    let aad = format!("b24auth:v1:{name}:{field}");
    let ct = cipher
        .encrypt(
            &nonce.into(),
            Payload {
                msg: plain.as_bytes(),
                aad: aad.as_bytes(),
            },
        )
        .unwrap();
    let mut out = nonce.to_vec();
    out.extend(ct);
    format!("sealed:v1:{}", b64.encode(out))
}

fn schema_1(db: &str, rows: &[(&str, String)]) {
    use crate::support::postgres::shared;
    shared().psql(
        db,
        "CREATE TABLE b24auth_schema (version integer NOT NULL);
         INSERT INTO b24auth_schema (version) VALUES (1);
         CREATE TABLE b24auth_profiles (name text PRIMARY KEY, document text NOT NULL,
           version bigint NOT NULL DEFAULT 1, updated_at timestamptz NOT NULL DEFAULT now());",
    );
    for (name, doc) in rows {
        shared().psql(
            db,
            &format!(
                "INSERT INTO b24auth_profiles (name, document) VALUES ('{name}', {})",
                sql_text(doc)
            ),
        );
    }
}

#[test]
fn pg_schema_1_rows_are_upgraded_to_sealed_documents() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Postgres,
        "security::pg_schema_1_rows_are_upgraded_to_sealed_documents",
    ) {
        return;
    }
    use crate::support::postgres::{db_of, shared};
    let s = StandIn::start();
    let env = Env::new();
    let url = shared().database();
    let db = db_of(&url);
    let doc = env.seed(&s, 3600);
    let mut sealed = doc.clone();
    for field in ["access_token", "refresh_token", "client_secret"] {
        sealed[field] = seal_v1(PG_KEY, "default", field, doc[field].as_str().unwrap()).into();
    }
    let plain = env.seed(&s, 3600);
    schema_1(
        db,
        &[
            ("default", sealed.to_string()),
            ("plain", plain.to_string()),
        ],
    );

    let token = pg_cmd(&env, &s, &url, Some(PG_KEY), &["token"]);
    token.assert_ok();
    assert_eq!(token.stdout.trim(), doc["access_token"].as_str().unwrap());
    assert_eq!(
        shared()
            .psql(db, "SELECT version FROM b24auth_schema")
            .trim(),
        "2"
    );
    let rows = shared().psql(db, "SELECT document FROM b24auth_profiles ORDER BY name");
    assert_eq!(
        rows.lines()
            .filter(|l| l.starts_with("sealed-document:v2:"))
            .count(),
        2,
        "{rows}"
    );
    assert!(!rows.contains(plain["refresh_token"].as_str().unwrap()));
    let shown = pg_cmd(
        &env,
        &s,
        &url,
        Some(PG_KEY),
        &["--profile", "plain", "show", "--json"],
    );
    let shown: Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(shown, plain);
    pg_cmd(&env, &s, &url, Some(PG_KEY), &["refresh"]).assert_ok();

    // Without a key, rows in clear stay in clear and the store moves to schema 2.
    let url = shared().database();
    let db = db_of(&url);
    schema_1(db, &[("default", plain.to_string())]);
    pg_cmd(&env, &s, &url, None, &["refresh"]).assert_ok();
    assert_eq!(
        shared()
            .psql(db, "SELECT version FROM b24auth_schema")
            .trim(),
        "2"
    );
}

#[test]
fn oauth_servers_must_be_https_except_loopback() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    let run = env.run(&["--oauth-server", "http://oauth.example.com", "refresh"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("not https://"), "{}", run.stderr);
    // A stored one, chosen earlier, that is plain http on the network.
    let mut doc = env.auth();
    doc["b24auth"]["oauth_server"] = "http://oauth.example.com".into();
    env.write_auth(&serde_json::to_vec(&doc).unwrap());
    let mut c = env.cmd(&["refresh"]);
    c.env("B24AUTH_CLIENT_ID", crate::support::stand_in::CLIENT_ID)
        .env(
            "B24AUTH_CLIENT_SECRET",
            crate::support::stand_in::CLIENT_SECRET,
        );
    let line = Env::run_cmd(&mut c).assert_error(1).to_string();
    assert!(line.contains("not https://"), "{line}");
}

#[test]
fn server_error_text_is_redacted_before_it_is_printed() {
    use crate::support::stand_in::{Endpoint, Fault, When, CLIENT_SECRET};
    let s = StandIn::start();
    let env = Env::new();
    let doc = env.seed(&s, 3600);
    s.fail(Endpoint::Token, When::Next(1), Fault::EchoRequest);
    let run = Env::run_cmd(&mut env.app_cmd(&s, &["refresh"]));
    let line = run.assert_error(1).to_string();
    assert!(
        line.contains("client_secret=…"),
        "the echo is shown, redacted: {line}"
    );
    for secret in [CLIENT_SECRET, doc["refresh_token"].as_str().unwrap()] {
        assert!(!run.stderr.contains(secret), "{secret} on stderr: {line}");
    }
    assert!(
        !run.stderr.contains('\u{1b}') && !run.stderr.contains('\u{7}'),
        "{line:?}"
    );

    let run = env.run(&["call", "echo.fail", "a=1"]);
    let line = run.assert_error(1).to_string();
    assert!(line.contains("cannot handle"), "{line}");
    assert!(
        !run.stderr.contains(doc["access_token"].as_str().unwrap()),
        "{line}"
    );
    assert!(!run.stderr.contains('\u{1b}'), "{line:?}");
}

#[test]
fn exec_keeps_b24auths_secrets_from_the_child() {
    let s = StandIn::start();
    let env = Env::new();
    let doc = env.seed(&s, 3600);
    let mut c = env.app_cmd(&s, &["--store", "file", "exec", "--", "env"]);
    c.env("B24AUTH_STORE_KEY", PG_KEY)
        .env("PGPASSWORD", "pg-pass-word")
        .env(
            "B24AUTH_STORE",
            "postgres://u:store-pass@db.example/b24?password=q-pass",
        );
    let run = Env::run_cmd(&mut c);
    run.assert_ok();
    assert!(run.stdout.contains(&format!(
        "B24_ACCESS_TOKEN={}",
        doc["access_token"].as_str().unwrap()
    )));
    for gone in [
        "B24AUTH_CLIENT_SECRET=",
        "B24AUTH_STORE_KEY=",
        "PGPASSWORD=",
    ] {
        assert!(!run.stdout.contains(gone), "{gone} reached the child");
    }
    for secret in [
        crate::support::stand_in::CLIENT_SECRET,
        PG_KEY,
        "pg-pass-word",
        "store-pass",
        "q-pass",
    ] {
        assert!(!run.stdout.contains(secret), "{secret} reached the child");
    }
    // The child is told the store this run used (`--store file`), so a nested b24auth finds
    // the same profile; the inherited password-bearing URL is gone.
    assert!(
        run.stdout.contains("B24AUTH_STORE=file\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn numbers_from_outside_never_wrap_or_panic() {
    let s = StandIn::start();
    let env = Env::new();
    let mut doc = env.seed(&s, 3600);
    // The lowest i64 as `expires`: not fresh forever, an expired token to refresh.
    doc["expires"] = i64::MIN.into();
    env.write_auth(&serde_json::to_vec(&doc).unwrap());
    let run = Env::run_cmd(&mut env.app_cmd(&s, &["token"]));
    run.assert_ok();
    assert_ne!(run.stdout.trim(), doc["access_token"].as_str().unwrap());
    assert_eq!(s.counters().refreshes, 1);
    let mut doc = env.auth();
    doc["b24auth"]["refresh_token_issued_at"] = i64::MIN.into();
    doc["expires"] = i64::MAX.into();
    env.write_auth(&serde_json::to_vec(&doc).unwrap());
    env.run(&["show"]).assert_ok();
    env.run(&["list"]).assert_ok();

    for args in [
        &["install-listen", "--timeout", "18446744073709551615s"][..],
        &["install-listen", "--timeout", "18446744073709551615d"],
        &["refresh", "--if-older-than", "99999999999999d"],
        &["call", "echo", "--rate", "1e-300/s"],
        &["--http-timeout", "18446744073709551615m", "token"],
    ] {
        let run = env.run(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
}

#[test]
fn install_event_other_than_onappinstall_is_refused_and_none_is_accepted() {
    let s = StandIn::start();
    let env = Env::new();
    let (p, addr) = env.listen(&mut env.install_listen(&s, true, PATH, &[]));
    let pair = s.issue_pair();
    let body = callback(&s, &pair, &[], &[]);
    let uninstall = body.replace("event=ONAPPINSTALL", "event=ONAPPUNINSTALL");
    assert_eq!(post(&addr, &uninstall), 400);
    let without = body.replace("event=ONAPPINSTALL&", "");
    assert!(!without.contains("event="));
    assert_eq!(post(&addr, &without), 200);
    p.finish().assert_ok();
}
