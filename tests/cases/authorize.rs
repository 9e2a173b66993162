//! `b24auth authorize`: loopback capture, paste fallback, the 30-second exchange, refusals, and
//! nothing for another user reading `ps`.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Command;
use std::time::Duration;

use crate::support::cli::{mode, Env, Spawned};
use crate::support::http::{self, free_port};
use crate::support::stand_in::{StandIn, CLIENT_ID, CLIENT_SECRET};

struct Session {
    env: Env,
    s: StandIn,
    redirect: String,
    listen: String,
}

impl Session {
    fn new() -> Session {
        let s = StandIn::start();
        let listen = format!("127.0.0.1:{}", free_port());
        let redirect = format!("http://{listen}/callback");
        s.set_redirect_uri(&redirect);
        Session {
            env: Env::new(),
            s,
            redirect,
            listen,
        }
    }

    /// `authorize` against the stand-in, the browser left to the test.
    fn cmd(&self, extra: &[&str]) -> Command {
        let domain = self.s.base.clone();
        let mut args = vec![
            "authorize",
            "--domain",
            &domain,
            "--redirect-uri",
            &self.redirect,
        ];
        args.extend_from_slice(extra);
        self.env.app_cmd(&self.s, &args)
    }

    fn start(&self, extra: &[&str]) -> (Spawned, String) {
        let mut args = vec!["--no-browser"];
        args.extend_from_slice(extra);
        let mut p = self.env.spawn(&mut self.cmd(&args));
        let url = p.wait_authorize_url();
        (p, url)
    }
}

fn assert_saved(sess: &Session) {
    let auth = sess.env.auth();
    assert!(sess
        .s
        .access_token_is_valid(auth["access_token"].as_str().unwrap()));
    assert!(sess
        .s
        .refresh_token_is_valid(auth["refresh_token"].as_str().unwrap()));
    assert_eq!(auth["client_id"], CLIENT_ID);
    assert_eq!(auth["b24auth"]["source"], "authorize");
    assert_eq!(auth["b24auth"]["portal"], sess.s.host());
    assert_eq!(mode(&sess.env.auth_path()), 0o600);
    assert_eq!(mode(&sess.env.dir), 0o700);
}

#[test]
fn end_to_end_through_the_loopback_redirect() {
    let sess = Session::new();
    let (p, url) = sess.start(&[]);
    let q = http::query(&url);
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["state"].len(), 32, "128 random bits as hex");
    assert!(!url.contains(CLIENT_SECRET));

    let page = http::follow(&url);
    assert_eq!(page.status, 200, "{page:?}");
    assert!(
        page.body.contains("Authorized") && page.body.contains("close this tab"),
        "{}",
        page.body
    );
    let run = p.finish();
    run.assert_ok();
    assert!(run.stdout.is_empty());
    assert_saved(&sess);
    let auth = sess.env.auth();
    for secret in [
        auth["access_token"].as_str().unwrap(),
        auth["refresh_token"].as_str().unwrap(),
        CLIENT_SECRET,
    ] {
        assert!(!page.body.contains(secret) && !run.stderr.contains(secret));
    }
    assert_eq!(sess.s.counters().code_exchanges, 1);
}

#[test]
fn strays_are_refused_and_the_flow_goes_on() {
    let sess = Session::new();
    let (p, url) = sess.start(&[]);
    let base = format!("http://{}", sess.listen);

    let wrong_state = http::get(&format!(
        "{base}/callback?code=abc&state=0123456789abcdef0123456789abcdef"
    ));
    assert_eq!(wrong_state.status, 400);
    let no_state = http::get(&format!("{base}/callback?code=abc"));
    assert_eq!(no_state.status, 400);
    assert_eq!(http::get(&format!("{base}/favicon.ico")).status, 404);
    let state = &http::query(&url)["state"];
    let foreign = http::raw(
        &sess.listen,
        &format!("GET /callback?code=abc&state={state} HTTP/1.1\nHost: attacker.example:80"),
        b"",
    );
    assert_eq!(foreign.status, 403, "DNS-rebinding guard");
    assert_eq!(
        http::raw(
            &sess.listen,
            "POST /callback HTTP/1.1\nHost: 127.0.0.1",
            b""
        )
        .status,
        403
    );
    assert_eq!(
        sess.s.counters().code_exchanges,
        0,
        "no stray reached the token endpoint"
    );
    assert!(!sess.env.auth_path().exists());

    assert_eq!(http::follow(&url).status, 200);
    p.finish().assert_ok();
    assert_saved(&sess);
    assert_eq!(sess.s.counters().code_exchanges, 1);
}

#[test]
fn the_redirected_address_can_be_pasted() {
    let sess = Session::new();
    // The app's handler path is a page b24auth does not serve.
    sess.s
        .set_redirect_uri("https://app.example.com/handler?x=1");
    let (mut p, url) = sess.start(&[]);
    let redirect = http::get(&url);
    assert_eq!(redirect.status, 302);
    let location = redirect.header("location").unwrap().to_string();
    assert!(location.starts_with("https://app.example.com/handler?x=1&code="));
    p.stdin("not a url at all!\n");
    p.stdin(&format!("{location}\n"));
    let run = p.finish();
    run.assert_ok();
    assert!(run
        .stderr
        .contains("neither the redirected address nor a code"));
    assert_saved(&sess);
}

#[test]
fn a_bare_code_can_be_pasted() {
    let sess = Session::new();
    let (mut p, _) = sess.start(&[]);
    p.stdin(&format!("{}\n", sess.s.issue_code()));
    p.finish().assert_ok();
    assert_saved(&sess);
    assert_eq!(sess.s.counters().code_exchanges, 1);
}

/// Pastes `code` into a fresh run and checks it fails with `exit` and `text`, writing nothing.
fn pasted_code_fails(sess: &Session, code: &str, exit: i32, text: &str) {
    let (mut p, _) = sess.start(&[]);
    p.stdin(&format!("{code}\n"));
    let run = p.finish();
    let line = run.assert_final_error(exit).to_string();
    assert!(line.contains(text), "{line}");
    assert!(!sess.env.auth_path().exists(), "nothing written");
}

#[test]
fn a_rejected_code_exits_3() {
    let sess = Session::new();
    pasted_code_fails(
        &sess,
        "0123456789abcdef0123456789abcdef",
        3,
        "invalid_grant",
    );
}

#[test]
fn a_code_older_than_30_seconds_exits_3() {
    let sess = Session::new();
    let code = sess.s.issue_code();
    sess.s.age_codes(std::time::Duration::from_secs(31));
    pasted_code_fails(&sess, &code, 3, "expired_token");
}

#[test]
fn the_token_endpoint_down_exits_1() {
    let sess = Session::new();
    let code = sess.s.issue_code();
    let closed = format!("http://127.0.0.1:{}", free_port());
    let mut p = sess.env.spawn(
        sess.cmd(&["--no-browser"])
            .env("B24AUTH_OAUTH_SERVER", &closed),
    );
    p.wait_authorize_url();
    p.stdin(&format!("{code}\n"));
    let line = p.finish().assert_final_error(1).to_string();
    assert!(line.contains("cannot reach"), "{line}");
    assert!(!sess.env.auth_path().exists());
}

#[test]
fn a_redirect_from_another_portal_is_refused() {
    let sess = Session::new();
    let (p, url) = sess.start(&[]);
    let state = &http::query(&url)["state"];
    let code = sess.s.issue_code();
    let page = http::get(&format!(
        "http://{}/callback?code={code}&state={state}&domain=other.bitrix24.com&server_domain=oauth.bitrix.info",
        sess.listen
    ));
    assert!(page.body.contains("Authorization failed"), "{}", page.body);
    let line = p.finish().assert_final_error(2).to_string();
    assert!(line.contains("other.bitrix24.com"), "{line}");
    assert!(!sess.env.auth_path().exists());
    assert_eq!(
        sess.s.counters().code_exchanges,
        0,
        "the foreign code is never exchanged"
    );
}

#[test]
fn no_redirect_in_time_exits_4() {
    let sess = Session::new();
    let (p, _) = sess.start(&["--timeout", "1s"]);
    let line = p.finish().assert_final_error(4).to_string();
    assert!(line.contains("--timeout"), "{line}");
    assert!(!sess.env.auth_path().exists());
}

#[test]
fn an_existing_profile_needs_force() {
    let sess = Session::new();
    sess.env.seed(&sess.s, 3600);
    let before = sess.env.auth_bytes();
    let run = Env::run_cmd(&mut sess.cmd(&["--no-browser"]));
    let line = run.assert_final_error(2).to_string();
    assert!(line.contains("--force"), "{line}");
    assert_eq!(sess.env.auth_bytes(), before);

    let (p, url) = sess.start(&["--force"]);
    http::follow(&url);
    p.finish().assert_ok();
    assert_ne!(sess.env.auth_bytes(), before);
    assert_saved(&sess);
}

#[test]
fn a_taken_port_is_named() {
    let sess = Session::new();
    let _taken = std::net::TcpListener::bind(&sess.listen).unwrap();
    let run = Env::run_cmd(&mut sess.cmd(&["--no-browser"]));
    let line = run.assert_final_error(2).to_string();
    assert!(
        line.contains(&sess.listen) && line.contains("--listen"),
        "{line}"
    );
}

/// The user's real tool: `$BROWSER` is a headless Chromium that opens the private start page,
/// follows it to the portal's authorize page (the virtual-time budget lets headless Chromium
/// finish the whole chain before it dumps the page), is redirected by the portal to the loopback listener (asking for a favicon on the way, as
/// browsers do) and dumps the page it lands on into a FIFO this test reads.
#[test]
fn a_real_browser_lands_on_the_success_page() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Chromium,
        "authorize::a_real_browser_lands_on_the_success_page",
    ) {
        return;
    }
    let chromium = crate::support::deps::chromium().expect("checked by the guard");
    let sess = Session::new();
    let dir = sess.env.tmp.path();
    let fifo = dir.join("page.fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let wrapper = dir.join("browser.sh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec {chromium} --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \\\n  --disable-background-networking --disable-component-update --disable-sync \\\n  --virtual-time-budget=30000 --user-data-dir={dir}/chromium-profile --dump-dom \"$1\" > {fifo} 2> {dir}/chromium.log\n",
            dir = dir.display(),
            fifo = fifo.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();

    let p = sess.env.spawn(sess.cmd(&[]).env("BROWSER", &wrapper));
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = fifo.clone();
    std::thread::spawn(move || tx.send(std::fs::read_to_string(reader).unwrap_or_default()));
    let page = rx
        .recv_timeout(std::time::Duration::from_secs(90))
        .expect("Chromium wrote no page within 90 s");
    let run = p.finish();
    run.assert_ok();
    assert!(
        page.contains("Authorized") && page.contains("You can close this tab"),
        "{page:?}; Chromium said: {}",
        std::fs::read_to_string(dir.join("chromium.log")).unwrap_or_default()
    );
    assert!(page.contains(&sess.s.host()));
    assert_saved(&sess);
    assert_eq!(sess.s.counters().code_exchanges, 1);
}

/// Holds `auth.json.lock` as another b24auth would, until dropped.
fn hold_profile_lock(env: &Env) -> std::fs::File {
    std::fs::create_dir_all(&env.dir).unwrap();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(env.dir.join("auth.json.lock"))
        .unwrap();
    lock.lock().unwrap();
    lock
}

/// Starts a flow whose redirect arrives while another process holds the profile lock, and
/// returns once b24auth says it is waiting for that lock.
fn redirect_while_locked(sess: &Session, extra: &[&str]) -> Spawned {
    let (mut p, url) = sess.start(extra);
    std::thread::spawn(move || http::follow(&url));
    p.wait_line(10, |l| l.contains("waiting for the profile lock"));
    p
}

#[test]
fn ctrl_c_acts_at_once_while_the_profile_lock_is_held() {
    let sess = Session::new();
    let _held = hold_profile_lock(&sess.env);
    let p = redirect_while_locked(&sess, &[]);
    let waited = std::time::Instant::now();
    unsafe { libc::kill(p.child.id() as i32, libc::SIGINT) };
    let run = p.finish();
    assert_eq!(run.code, 130, "{run:?}");
    assert!(
        waited.elapsed() < std::time::Duration::from_secs(10),
        "Ctrl-C waited for the 30 s lock"
    );
    assert_eq!(sess.s.counters().code_exchanges, 0, "the lock comes first");
    assert!(!sess.env.auth_path().exists());
}

#[test]
fn timeout_acts_while_the_profile_lock_is_held() {
    let sess = Session::new();
    let _held = hold_profile_lock(&sess.env);
    let p = redirect_while_locked(&sess, &["--timeout", "3s"]);
    let run = p.finish();
    run.assert_final_error(4);
    assert_eq!(sess.s.counters().code_exchanges, 0, "the lock comes first");
    assert!(!sess.env.auth_path().exists());
}

/// A `$BROWSER` that writes what it was given into a FIFO (`$1`, then its environment when
/// `with_env`) and exits; returns the script and the FIFO.
fn fifo_browser(sess: &Session, with_env: bool) -> (std::path::PathBuf, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = sess.env.tmp.path();
    let fifo = dir.join("browser.fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let script = dir.join("browser.sh");
    let env = if with_env { "; env" } else { "" };
    std::fs::write(
        &script,
        format!("#!/bin/sh\n{{ echo \"$1\"{env}; }} > {}\n", fifo.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, fifo)
}

/// Reads the FIFO the browser writes (at most 30 s).
fn read_fifo(fifo: &std::path::Path) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = fifo.to_path_buf();
    std::thread::spawn(move || tx.send(std::fs::read_to_string(reader).unwrap_or_default()));
    rx.recv_timeout(std::time::Duration::from_secs(30))
        .expect("the browser was not started within 30 s")
}

/// The browser is a child like `exec`'s: none of b24auth's secrets reach its environment.
#[test]
fn the_browser_gets_no_secret() {
    let sess = Session::new();
    let (script, fifo) = fifo_browser(&sess, true);
    let mut cmd = sess.cmd(&[]);
    cmd.env("BROWSER", &script)
        .env("B24AUTH_STORE_KEY", "store-key-not-for-the-browser")
        .env("PGPASSWORD", "pg-password-not-for-the-browser");
    let mut p = sess.env.spawn(&mut cmd);
    let seen = read_fifo(&fifo);
    let _ = p.child.kill();
    let _ = p.finish();
    assert!(seen.starts_with("file://"), "{seen}");
    assert!(
        seen.contains("NO_COLOR=1"),
        "the environment was written: {seen}"
    );
    for secret in [
        CLIENT_SECRET,
        "store-key-not-for-the-browser",
        "pg-password-not-for-the-browser",
    ] {
        assert!(
            !seen.contains(secret),
            "{secret} reached the browser: {seen}"
        );
    }
}

/// The private start page goes with the run, however the run is stopped.
#[test]
fn the_start_page_is_removed_on_every_stop_signal() {
    for signal in [libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
        let sess = Session::new();
        let (script, fifo) = fifo_browser(&sess, false);
        let mut p = sess.env.spawn(sess.cmd(&[]).env("BROWSER", &script));
        let address = read_fifo(&fifo);
        let page = url::Url::parse(address.trim())
            .unwrap()
            .to_file_path()
            .unwrap();
        assert!(page.exists(), "{}", page.display());
        assert_eq!(unsafe { libc::kill(p.child.id() as i32, signal) }, 0);
        let status = p.child.wait().unwrap();
        assert!(!status.success());
        assert!(
            !page.exists() && !page.parent().unwrap().exists(),
            "{} stayed after signal {signal}",
            page.display()
        );
    }
}

/// What to register in the app's form is said at the start, under -q as well.
#[test]
fn the_handler_path_to_register_is_printed_even_quiet() {
    let sess = Session::new();
    let (p, _url) = sess.start(&["-q"]);
    let mut p = p;
    let _ = p.child.kill();
    let run = p.finish();
    let expected = format!(
        "handler path (in its form in the portal) must be: {}",
        sess.redirect
    );
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
}

/// A `$BROWSER` that writes its whole argv (what `ps` shows every user) into a FIFO the test
/// reads, then exits.
fn argv_recording_browser(env: &Env) -> (std::path::PathBuf, std::sync::mpsc::Receiver<String>) {
    let dir = env.tmp.path();
    let fifo = dir.join("argv.fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let script = dir.join("browser.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$0\" \"$@\" > {}\n",
            fifo.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(std::fs::read_to_string(fifo).unwrap_or_default()));
    (script, rx)
}

/// Bar: another user reading `ps` during `authorize` finds no `state`; a redirect from them
/// (a guessed state, none, or a refusal without ours) is refused and the run goes on.
#[test]
fn ps_during_authorize_shows_no_state_and_a_forged_redirect_is_refused() {
    let s = StandIn::start();
    let env = Env::new();
    let (browser, argv) = argv_recording_browser(&env);
    let (mut cmd, listen) = env.authorize(&s, &[]);
    cmd.env("BROWSER", &browser);
    let mut p = env.spawn(&mut cmd);
    let url = p.wait_authorize_url();
    let state = http::query(&url)["state"].clone();
    assert_eq!(state.len(), 32);

    let argv = argv
        .recv_timeout(Duration::from_secs(20))
        .expect("the browser was started");
    assert!(
        !argv.contains(&state),
        "the state in the browser's argv: {argv}"
    );
    assert!(!argv.contains("state="), "{argv}");
    let page_url = argv.lines().nth(1).expect("one argument").to_string();
    let page = url::Url::parse(&page_url)
        .ok()
        .and_then(|u| u.to_file_path().ok())
        .unwrap_or_else(|| panic!("the browser got no private page but {page_url}"));
    let meta = std::fs::metadata(&page).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{page:?}");
    let dir_meta = std::fs::metadata(page.parent().unwrap()).unwrap();
    assert_eq!(dir_meta.permissions().mode() & 0o777, 0o700);
    assert_eq!(meta.uid(), unsafe { libc::geteuid() });
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains(&format!("state={state}")),
        "the page forwards to the portal: {html}"
    );

    // What another user can do knowing only what `ps` showed: guess, omit, or refuse.
    let base = format!("http://{listen}/callback");
    for forged in [
        format!("{base}?code=attackers-code&state=0123456789abcdef0123456789abcdef"),
        format!("{base}?code=attackers-code"),
        format!("{base}?error=access_denied"),
        format!("{base}?error=access_denied&state={}", "f".repeat(32)),
    ] {
        assert_eq!(http::get(&forged).status, 400, "{forged}");
    }
    assert!(p.child.try_wait().unwrap().is_none(), "the run was aborted");
    assert_eq!(s.counters().code_exchanges, 0);

    // The user's browser follows the page to the portal and completes the run.
    let forward = html
        .split("url=")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    assert_eq!(forward, url);
    assert_eq!(http::follow(&forward).status, 200);
    let run = p.finish();
    run.assert_ok();
    assert_eq!(s.counters().code_exchanges, 1);
    assert_eq!(env.auth()["b24auth"]["source"], "authorize");
    assert!(
        !page.exists(),
        "the start page is removed when the run ends"
    );
}
