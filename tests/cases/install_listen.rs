//! `b24auth install-listen`: the installation callback, hostile input, verification.

use std::io::Write;

use serde_json::Value;

use crate::support::callbacks::{install_form, INSTALL_APP_TOKEN};
use crate::support::cli::{mode, Env, Spawned};
use crate::support::http::{self, Response};
use crate::support::stand_in::{StandIn, CLIENT_ID, CLIENT_SECRET, MEMBER_ID};

const FORM: &str = "application/x-www-form-urlencoded";
pub(crate) const PATH: &str = "/install/0123456789abcdef0123456789abcdef";

struct Listening {
    p: Spawned,
    addr: String,
}

fn start(env: &Env, s: &StandIn, extra: &[&str]) -> Listening {
    let (p, addr) = env.listen(&mut env.install_listen(s, true, PATH, extra));
    Listening { p, addr }
}

fn post_form(l: &Listening, body: &str) -> Response {
    http::post(&l.addr, PATH, FORM, body.as_bytes())
}

fn assert_saved_install(env: &Env, s: &StandIn, pair: &Value) {
    let auth = env.auth();
    // What the documentation's PHP reader uses: top-level tokens.
    assert_eq!(auth["access_token"], pair["access_token"]);
    assert_eq!(auth["refresh_token"], pair["refresh_token"]);
    assert_eq!(auth["application_token"], INSTALL_APP_TOKEN);
    assert_eq!(auth["member_id"], MEMBER_ID);
    assert_eq!(auth["domain"], s.host());
    assert_eq!(auth["status"], "L");
    assert_eq!(auth["scope"], "crm,user");
    assert_eq!(auth["expires_in"], 3600);
    assert_eq!(auth["user_id"], 1);
    assert_eq!(auth["client_id"], CLIENT_ID);
    assert_eq!(auth["client_secret"], CLIENT_SECRET);
    assert_eq!(auth["b24auth"]["source"], "install");
    assert_eq!(auth["b24auth"]["portal"], s.host());
    assert_eq!(mode(&env.auth_path()), 0o600);
    assert_eq!(mode(&env.dir), 0o700);
}

#[test]
fn a_bitrix24_shaped_callback_is_saved_whole() {
    let s = StandIn::start();
    let env = Env::new();
    let l = start(&env, &s, &[]);
    let pair = s.issue_pair();
    let r = post_form(&l, &install_form(&pair, &s.host(), INSTALL_APP_TOKEN));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, r#"{"status":"success"}"#);
    let run = l.p.finish();
    run.assert_ok();
    assert_saved_install(&env, &s, &pair);
    assert_eq!(
        s.counters().app_info_server,
        1,
        "verified with the OAuth server"
    );
    // The saved pair works: refresh needs nothing more.
    env.run(&["refresh"]).assert_ok();
    assert!(!run.stderr.contains(pair["access_token"].as_str().unwrap()));
}

#[test]
fn a_json_callback_is_saved() {
    let s = StandIn::start();
    let env = Env::new();
    let l = start(&env, &s, &["--no-verify"]);
    let pair = s.issue_pair();
    let mut auth = pair.clone();
    auth["application_token"] = INSTALL_APP_TOKEN.into();
    auth["domain"] = s.host().into();
    let body = serde_json::json!({"event": "ONAPPINSTALL", "auth": auth}).to_string();
    let r = http::post(&l.addr, PATH, "application/json", body.as_bytes());
    assert_eq!(r.status, 200, "{r:?}");
    l.p.finish().assert_ok();
    assert_saved_install(&env, &s, &pair);
    assert_eq!(s.counters().app_info_server, 0, "--no-verify asks nobody");
}

#[test]
fn hostile_requests_are_answered_and_the_real_callback_still_lands() {
    let s = StandIn::start();
    let env = Env::new();
    let l = start(&env, &s, &[]);
    let pair = s.issue_pair();
    let good = install_form(&pair, &s.host(), INSTALL_APP_TOKEN);
    let addr = l.addr.clone();

    // A client that starts its headers and never finishes them.
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.write_all(b"POST /install/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
        .unwrap();

    let check =
        |what: &str, r: Response, status: u16| assert_eq!(r.status, status, "{what}: {r:?}");
    check(
        "wrong path",
        http::post(&addr, "/install/other", FORM, good.as_bytes()),
        404,
    );
    check("GET", http::get(&format!("http://{addr}{PATH}")), 405);
    check("empty body", post_form(&l, ""), 400);
    check(
        "no auth",
        post_form(&l, "event=ONAPPINSTALL&data%5BVERSION%5D=1"),
        400,
    );
    let no_rt = good.replace(
        &format!(
            "auth%5Brefresh_token%5D={}",
            pair["refresh_token"].as_str().unwrap()
        ),
        "",
    );
    check("no refresh_token", post_form(&l, &no_rt), 400);
    check(
        "uninstall",
        post_form(&l, &good.replace("ONAPPINSTALL", "ONAPPUNINSTALL")),
        400,
    );
    let head = format!(
        "POST {PATH} HTTP/1.1\nHost: {addr}\nContent-Type: {FORM}\nContent-Length: 10485760"
    );
    check("10 MiB declared", http::raw(&addr, &head, b""), 413);
    let chunked = format!(
        "POST {PATH} HTTP/1.1\nHost: {addr}\nContent-Type: {FORM}\nTransfer-Encoding: chunked"
    );
    let mut big = format!("{:x}\r\n", 70 * 1024).into_bytes();
    big.extend(std::iter::repeat_n(b'a', 70 * 1024));
    big.extend_from_slice(b"\r\n0\r\n\r\n");
    check("70 KiB chunked", http::raw(&addr, &chunked, &big), 413);
    let deep = format!("auth{}=1", "[a]".repeat(10_000));
    check("10,000 nested brackets", post_form(&l, &deep), 400);
    let mut invalid = b"event=ONAPPINSTALL&auth%5Baccess_token%5D=".to_vec();
    invalid.extend_from_slice(b"\xff\xfe\xfd");
    check(
        "invalid UTF-8",
        http::post(&addr, PATH, FORM, &invalid),
        400,
    );
    check(
        "text/plain",
        http::post(&addr, PATH, "text/plain", good.as_bytes()),
        415,
    );
    let foreign = format!(
        "POST {PATH} HTTP/1.1\nHost: evil.example\nContent-Type: {FORM}\nContent-Length: {}",
        good.len()
    );
    check(
        "foreign Host",
        http::raw(&addr, &foreign, good.as_bytes()),
        403,
    );
    let forged = install_form(
        &serde_json::json!({"access_token": "forged0123456789", "refresh_token": "forged", "expires": 1}),
        &s.host(),
        INSTALL_APP_TOKEN,
    );
    check("forged token", post_form(&l, &forged), 403);
    assert!(!env.auth_path().exists(), "nothing saved by any of them");

    check("the real callback", post_form(&l, &good), 200);
    let run = l.p.finish();
    run.assert_ok();
    assert!(run.stderr.contains("failed verification"));
    assert_saved_install(&env, &s, &pair);
    drop(slow);
}

#[test]
fn an_existing_profile_needs_force() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    let before = env.auth_bytes();
    let run = Env::run_cmd(&mut env.app_cmd(&s, &["install-listen", "--listen", "127.0.0.1:0"]));
    let line = run.assert_error(2).to_string();
    assert!(line.contains("--force"), "{line}");
    assert_eq!(env.auth_bytes(), before);

    let l = start(&env, &s, &["--force"]);
    let pair = s.issue_pair();
    assert_eq!(
        post_form(&l, &install_form(&pair, &s.host(), INSTALL_APP_TOKEN)).status,
        200
    );
    l.p.finish().assert_ok();
    assert_saved_install(&env, &s, &pair);
}

#[test]
fn no_callback_in_time_exits_4() {
    let s = StandIn::start();
    let env = Env::new();
    let l = start(&env, &s, &["--timeout", "1s"]);
    let line = l.p.finish().assert_final_error(4).to_string();
    assert!(line.contains("installation callback"), "{line}");
    assert!(!env.auth_path().exists());
}

#[test]
fn the_public_url_is_what_to_paste_and_an_accepted_host() {
    let s = StandIn::start();
    let env = Env::new();
    let mut l = start(
        &env,
        &s,
        &["--public-url", "https://hooks.example.com/b24/"],
    );
    let line =
        l.p.wait_line(5, |l| l.contains("Initial installation path"));
    assert!(
        line.ends_with(&format!("https://hooks.example.com/b24{PATH}")),
        "{line}"
    );
    let pair = s.issue_pair();
    let good = install_form(&pair, &s.host(), INSTALL_APP_TOKEN);
    // A reverse proxy that keeps the public Host.
    let head = format!(
        "POST {PATH} HTTP/1.1\nHost: hooks.example.com\nContent-Type: {FORM}\nContent-Length: {}",
        good.len()
    );
    assert_eq!(http::raw(&l.addr, &head, good.as_bytes()).status, 200);
    l.p.finish().assert_ok();
}

#[test]
fn without_client_credentials_it_warns_and_keeps_a_candidate() {
    let s = StandIn::start();
    let env = Env::new();
    let (mut p, addr) = env.listen(&mut env.install_listen(&s, false, PATH, &["--timeout", "2s"]));
    p.wait_line(10, |l| {
        l.contains("warning") && l.contains("B24AUTH_CLIENT_SECRET")
    });
    let pair = s.issue_pair();
    let r = http::post(
        &addr,
        PATH,
        FORM,
        install_form(&pair, &s.host(), INSTALL_APP_TOKEN).as_bytes(),
    );
    assert_eq!(r.status, 200);
    p.finish().assert_ok();
    // No client_id to tell the app by: app.info's answer is no proof, the pair a candidate.
    assert!(!env.auth_path().exists());
    let auth = only_candidate(&env);
    assert!(auth.get("client_id").is_none() && auth.get("client_secret").is_none());
    let line = env.run(&["refresh"]).assert_error(3).to_string();
    assert!(line.contains("B24AUTH_CLIENT_ID"), "{line}");
}

/// The one candidate kept beside the default profile.
pub(super) fn only_candidate(env: &Env) -> Value {
    serde_json::from_slice(&std::fs::read(only_candidate_file(env)).unwrap()).unwrap()
}

/// The file of the one candidate kept beside the default profile (the folder also holds the
/// lock that bounds them).
pub(super) fn only_candidate_file(env: &Env) -> std::path::PathBuf {
    let dir = env.dir.join("auth.candidates");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}
