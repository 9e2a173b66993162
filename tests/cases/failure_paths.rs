//! Failure paths lead to the right next step (issue 13): refused consent, refused client
//! credentials, `show --check` refreshing first, exact hints.

use std::collections::HashMap;
use std::process::Command;

use crate::support::cli::{Env, Spawned};
use crate::support::http::{self, free_port};
use crate::support::stand_in::{StandIn, CLIENT_ID};

const CLIENT_REFUSED: &str = "the OAuth server refused the client credentials (invalid_client: Invalid client credentials): check B24AUTH_CLIENT_ID / B24AUTH_CLIENT_SECRET; the stored pair is unchanged";

/// An `authorize` run against the stand-in with its loopback redirect.
pub struct Flow {
    pub env: Env,
    pub s: StandIn,
    pub redirect: String,
    pub listen: String,
}

impl Flow {
    pub fn new() -> Flow {
        let s = StandIn::start();
        let listen = format!("127.0.0.1:{}", free_port());
        let redirect = format!("http://{listen}/callback");
        s.set_redirect_uri(&redirect);
        Flow {
            env: Env::new(),
            s,
            redirect,
            listen,
        }
    }

    pub fn cmd(&self, extra: &[&str]) -> Command {
        let domain = self.s.base.clone();
        let mut args = vec![
            "authorize",
            "--no-browser",
            "--domain",
            &domain,
            "--redirect-uri",
            &self.redirect,
        ];
        args.extend_from_slice(extra);
        self.env.app_cmd(&self.s, &args)
    }

    pub fn start(&self, cmd: &mut Command) -> (Spawned, String) {
        let mut p = self.env.spawn(cmd);
        let url = p.wait_authorize_url();
        (p, url)
    }
}

pub fn state_of(url: &str) -> String {
    let q = url.split_once('?').map_or("", |(_, q)| q);
    let q: HashMap<String, String> = url::form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .collect();
    q["state"].clone()
}

#[test]
fn a_refused_consent_stops_at_once_with_the_portals_answer() {
    let f = Flow::new();
    f.s.refuse_consent(
        "access_denied",
        "The user denied access\r\n\x1b[31mto the app",
    );
    // The default 5-minute timeout: the run must end on the refusal, not on the clock.
    let (p, url) = f.start(&mut f.cmd(&[]));
    let stray = http::get(&format!("http://{}/callback?code=x&state=old", f.listen));
    assert_eq!(stray.status, 400);
    assert!(stray
        .body
        .contains("Not the sign-in b24auth is waiting for"));
    let page = http::follow(&url);
    assert_eq!(page.status, 403, "{page:?}");
    assert!(page.body.contains("Access not granted"), "{}", page.body);
    assert!(page
        .body
        .contains("access_denied: The user denied access to the app"));
    assert!(page
        .body
        .contains(&format!("authorize --domain {}", f.s.base)));
    let run = p.finish();
    let line = run.assert_final_error(3).to_string();
    assert!(
        line.contains("the portal did not grant access (access_denied: The user denied access to the app); nothing was written"),
        "{line}"
    );
    assert!(!line.contains('\x1b'), "sanitized: {line:?}");
    assert!(!f.env.dir.exists() || !f.env.auth_path().exists());
    assert_eq!(f.s.counters().code_exchanges, 0);
}

#[test]
fn a_pasted_refusal_stops_at_once() {
    let f = Flow::new();
    let (mut p, url) = f.start(&mut f.cmd(&[]));
    let state = state_of(&url);
    p.stdin(&format!(
        "{}?error=access_denied&error_description=no+thanks&state={state}\n",
        f.redirect
    ));
    let line = p.finish().assert_final_error(3).to_string();
    assert!(line.contains("access_denied: no thanks"), "{line}");
    assert!(!f.env.auth_path().exists());
}

/// Wrong client credentials are exit 2 with the fix, for every command that meets the token
/// endpoint; the stored pair stays byte-for-byte.
#[test]
fn wrong_client_credentials_exit_2_and_keep_the_pair() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, -10);
    let before = env.auth_bytes();
    for args in [
        &["refresh"][..],
        &["token"],
        &["call", "user.current"],
        &["show", "--check"],
    ] {
        let mut cmd = env.app_cmd(&s, args);
        cmd.env("B24AUTH_CLIENT_SECRET", "not-the-secret");
        let run = Env::run_cmd(&mut cmd);
        let line = run.assert_error(2).to_string();
        assert_eq!(
            line,
            format!("b24auth: error: {CLIENT_REFUSED}"),
            "{args:?}"
        );
        assert_eq!(env.auth_bytes(), before, "{args:?}");
    }
    let mut wrong_id = env.app_cmd(&s, &["refresh"]);
    wrong_id.env("B24AUTH_CLIENT_ID", "local.wrong");
    Env::run_cmd(&mut wrong_id).assert_error(2);
}

#[test]
fn wrong_client_credentials_in_authorize_exit_2() {
    let f = Flow::new();
    let mut cmd = f.cmd(&[]);
    cmd.env("B24AUTH_CLIENT_SECRET", "not-the-secret");
    let (mut p, _) = f.start(&mut cmd);
    p.stdin(&format!("{}\n", f.s.issue_code()));
    let line = p.finish().assert_final_error(2).to_string();
    assert!(line.ends_with(CLIENT_REFUSED), "{line}");
    assert!(!f.env.auth_path().exists());
    let _ = CLIENT_ID;
}

/// The portal says `expired_token` while the stored expiry still looks fresh: `show --check`
/// refreshes once and reports that the authorization works.
#[test]
fn show_check_refreshes_first_on_expired_token() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    s.expire_access_tokens();
    let run = env.run(&["show", "--check"]);
    run.assert_ok();
    assert!(run.stdout.starts_with("works: portal"), "{}", run.stdout);
    assert_eq!(s.counters().refreshes, 1);
    assert!(s.access_token_is_valid(env.auth()["access_token"].as_str().unwrap()));

    s.revoke_all();
    let line = env.run(&["show", "--check"]).assert_error(3).to_string();
    assert!(line.contains("authorize --domain http://"), "{line}");
}

/// Hints repeat `--profile`, `--config-dir` (given on the command line) and the portal's
/// scheme when it is not https.
#[test]
fn hints_repeat_the_options_of_the_run() {
    let s = StandIn::start();
    let env = Env::new();
    let dir = env.dir.to_string_lossy().to_string();
    let mut cmd = env.cmd(&["--config-dir", &dir, "--profile", "prod", "token"]);
    cmd.env_remove("B24AUTH_CONFIG_DIR");
    let line = Env::run_cmd(&mut cmd).assert_error(3).to_string();
    assert!(
        line.contains(&format!(
            "`b24auth --config-dir {dir} --profile prod authorize --domain PORTAL`"
        )),
        "{line}"
    );
    // From the environment, the directory is not repeated (the variable still holds it).
    let line = env
        .run(&["--profile", "prod", "token"])
        .assert_error(3)
        .to_string();
    assert!(
        line.contains("`b24auth --profile prod install-listen`"),
        "{line}"
    );

    env.seed(&s, -10);
    s.revoke_all();
    let line = env.run(&["refresh"]).assert_error(3).to_string();
    assert!(
        line.contains(&format!("`b24auth authorize --domain {} --force`", s.base)),
        "{line}"
    );
}
