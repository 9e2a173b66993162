//! The install form of an app with a UI (PROTOCOL.md §6): the portal POSTs `AUTH_ID`,
//! `REFRESH_ID`, `member_id`, … into a frame at the installation path; b24auth takes it as a
//! callback (same verification, same never-lose rule) and answers with a page that loads
//! `BX24` and calls `BX24.installFinish()`. Driven by headless Chromium inside the stand-in
//! portal's page, over http and over https (a loopback http installation path in an https
//! portal's frame).

use std::time::Duration;

use serde_json::Value;

use crate::support::cli::{Env, Spawned};
use crate::support::http;
use crate::support::stand_in::frame::frame_form;
use crate::support::stand_in::{StandIn, MEMBER_ID};
use crate::support::tls::Ca;

const PATH: &str = "/install/ffeeddccbbaa99887766554433221100";

fn listen(env: &Env, s: &StandIn, with_credentials: bool) -> (Spawned, String) {
    let mut cmd = env.install_listen(s, with_credentials, PATH, &["--timeout", "60s"]);
    cmd.env("B24AUTH_BX24_LIBRARY", format!("{}/bx24.js", s.base));
    env.listen(&mut cmd)
}

/// POSTs the frame form for `pair` to the install path, as the portal's page submits it.
fn post_frame(addr: &str, s: &StandIn, pair: &Value) -> http::Response {
    let (body, query) = frame_form(pair, &s.host(), false);
    let path = format!("{PATH}?{query}");
    http::post(
        addr,
        &path,
        "application/x-www-form-urlencoded",
        body.as_bytes(),
    )
}

#[test]
fn the_frame_form_is_a_callback_answered_with_the_finishing_page() {
    let s = StandIn::start();
    let env = Env::new();
    // With the credentials: app.info's client_id tells the app, so it confirms.
    let (p, addr) = listen(&env, &s, true);
    let pair = s.issue_pair();
    let r = post_frame(&addr, &s, &pair);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("BX24.installFinish()"), "{}", r.body);
    assert!(
        r.body.contains(&format!("{}/bx24.js", s.base)),
        "{}",
        r.body
    );
    assert!(r.body.contains("saved the tokens of portal"), "{}", r.body);
    assert!(
        !r.body.contains(pair["access_token"].as_str().unwrap()),
        "no token on the page"
    );
    p.finish().assert_ok();
    let stored = env.auth();
    assert_eq!(stored["access_token"], pair["access_token"]);
    assert_eq!(stored["refresh_token"], pair["refresh_token"]);
    assert_eq!(stored["member_id"], MEMBER_ID);
    assert_eq!(stored["client_endpoint"], format!("{}/rest/", s.base));
}

#[test]
fn an_unconfirmed_frame_form_is_kept_as_a_candidate_and_still_finishes() {
    let s = StandIn::start();
    s.app_info_without_identity();
    let env = Env::new();
    let (p, addr) = listen(&env, &s, false);
    let pair = s.issue_pair();
    let r = post_frame(&addr, &s, &pair);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("as a candidate"), "{}", r.body);
    assert!(r.body.contains("BX24.installFinish()"));
    drop(p);
    assert!(!env.auth_path().exists());
    assert!(env.dir.join("auth.candidates").exists());
}

/// Headless Chromium opens the stand-in portal's page that frames the installation path at
/// `addr` and stays until the stand-in has seen `BX24.installFinish()` (at most 60 s); returns
/// the finish count and what Chromium logged.
fn open_portal_page(env: &Env, s: &StandIn, addr: &str) -> (usize, String) {
    open_portal_page_at(env, s, &format!("http://{addr}"), &[])
}

/// [`open_portal_page`] with the installation path at `base`, Chromium given `extra` flags;
/// it also ends when Chromium logs that it blocked the form.
fn open_portal_page_at(env: &Env, s: &StandIn, base: &str, extra: &[&str]) -> (usize, String) {
    let dir = env.tmp.path();
    let target = format!("{base}{PATH}");
    let page = format!(
        "{}/install-frame?target={}",
        s.base,
        url::form_urlencoded::byte_serialize(target.as_bytes()).collect::<String>()
    );
    let mut child = crate::support::deps::headless_chromium(dir)
        .args([
            // The stand-in's certificate is signed by a CA made for this test.
            "--ignore-certificate-errors",
            "--enable-logging=stderr",
        ])
        .args(extra)
        .arg(&page)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("chromium.log")).unwrap())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let log_path = dir.join("chromium.log");
    let blocked = || {
        std::fs::read_to_string(&log_path)
            .is_ok_and(|l| l.contains("This request has been blocked"))
    };
    let finished = loop {
        let n = s.counters().install_finished;
        let exited = child.try_wait().unwrap().is_some();
        if n > 0 || exited || blocked() || std::time::Instant::now() > deadline {
            break n;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(dir.join("chromium.log")).unwrap_or_default();
    (finished, log)
}

#[test]
fn a_real_browser_in_the_portal_frame_finishes_the_installation() {
    let s = StandIn::start();
    let env = Env::new();
    let (p, addr) = listen(&env, &s, true);
    let (finished, log) = open_portal_page(&env, &s, &addr);
    let run = p.finish();
    run.assert_ok();
    assert_eq!(finished, 1, "Chromium said: {log}");
    let pair = s.frame_pair().expect("the portal page was served");
    assert_eq!(env.auth()["access_token"], pair["access_token"]);
}

/// What the record leaves open (PROTOCOL.md §6): does a loopback `http://` installation path
/// load inside an `https://` portal's frame? Chromium exempts loopback from mixed-content
/// blocking; here the portal is itself on loopback, so Local Network Access (a public site
/// framing a local one) is not exercised.
#[test]
fn a_loopback_http_install_path_loads_in_an_https_portal_frame() {
    let ca = Ca::new("b24auth test portal CA");
    let cert = ca.issue("portal", "IP:127.0.0.1,DNS:localhost");
    let s = StandIn::start_https(cert.server_config());
    let env = Env::new();
    let (p, addr) = listen(&env, &s, false);
    let (finished, log) = open_portal_page(&env, &s, &addr);
    assert_eq!(
        finished, 1,
        "the http frame did not load or finish in the https page; Chromium said: {log}"
    );
    drop(p);
    let kept = env.auth_path().exists() || env.dir.join("auth.candidates").exists();
    assert!(kept, "the frame's pair was kept");
}

/// The control for the finding above: the same https portal page framing an installation path
/// at a *named* http host (mapped to loopback) is blocked as mixed content, while an http portal
/// page reaches it. So the loopback literal `127.0.0.1` is what lets a local installation path
/// work inside an https portal; a LAN or tunnel name over http does not.
#[test]
fn a_named_http_install_path_is_blocked_in_an_https_portal_frame() {
    for https in [false, true] {
        let ca = Ca::new("b24auth test portal CA");
        let cert = ca.issue("portal", "IP:127.0.0.1,DNS:localhost");
        let s = match https {
            true => StandIn::start_https(cert.server_config()),
            false => StandIn::start(),
        };
        let env = Env::new();
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let (listen, public) = (
            format!("127.0.0.1:{port}"),
            format!("http://install.test:{port}"),
        );
        let args = [
            "install-listen",
            "--listen",
            &listen,
            "--path",
            PATH,
            "--timeout",
            "60s",
            "--public-url",
            &public,
        ];
        let mut cmd = env.cmd(&args);
        cmd.env("B24AUTH_OAUTH_SERVER", &s.base)
            .env("B24AUTH_BX24_LIBRARY", format!("{}/bx24.js", s.base));
        let mut p = env.spawn(&mut cmd);
        p.wait_listening();
        let rules = "--host-resolver-rules=MAP install.test 127.0.0.1";
        let (finished, log) = open_portal_page_at(&env, &s, &public, &[rules]);
        drop(p);
        match https {
            false => assert_eq!(finished, 1, "the mapped name works over http: {log}"),
            true => {
                assert_eq!(finished, 0, "{log}");
                assert!(
                    log.contains("Mixed Content") && log.contains("has been blocked"),
                    "{log}"
                );
                assert!(!env.auth_path().exists() && !env.dir.join("auth.candidates").exists());
            }
        }
    }
}
