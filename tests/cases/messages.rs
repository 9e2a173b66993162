//! Failure paths lead to the right next step: refused consent, refused client
//! credentials, `show --check` refreshing first, exact hints.

use std::collections::HashMap;
use std::process::Command;

use crate::support::cli::{Env, Spawned};
use crate::support::http::{self, free_port};
use crate::support::stand_in::{StandIn, CLIENT_ID};

const CLIENT_REFUSED: &str = "the OAuth server refused the client credentials (invalid_client: no description): either B24AUTH_CLIENT_ID / B24AUTH_CLIENT_SECRET are wrong (set them to the app's values), or the app was removed from the portal (reinstall it, then run `b24auth authorize --domain PORTAL --force` or `b24auth install-listen --force`); the stored pair is unchanged";

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
        .replace(" \\\n  ", " ")
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
    let run = Env::run_cmd(&mut wrong_id);
    assert!(run
        .assert_error(2)
        .contains("(wrong_client: no description)"));
    assert_eq!(env.auth_bytes(), before);
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

/// The `store copy` hint names the old copy's exact store (`--store file` too: a
/// `B24AUTH_STORE` in the environment would pick the other one) and profile, and says nothing
/// when the copy went onto itself.
#[test]
fn the_store_copy_hint_never_names_the_new_copy() {
    if !crate::support::deps::require(
        crate::support::deps::Dep::Postgres,
        "messages::the_store_copy_hint_never_names_the_new_copy",
    ) {
        return;
    }
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    let url = crate::support::postgres::shared().database();
    let mut to_pg = env.cmd(&[
        "--profile",
        "default",
        "store",
        "copy",
        "--from",
        "file",
        "--to",
        &url,
    ]);
    let run = Env::run_cmd(&mut to_pg);
    run.assert_ok();
    assert!(
        run.stderr
            .contains("delete the old copy with `b24auth --store file forget`"),
        "{}",
        run.stderr
    );
    let back = env.run(&["store", "copy", "--from", &url, "--to", "file", "--force"]);
    back.assert_ok();
    // The test cluster's URL has no password and needs quoting for the shell.
    assert!(
        back.stderr.contains(&format!(
            "delete the old copy with `b24auth --store '{url}' forget`"
        )),
        "{}",
        back.stderr
    );
    let onto_itself = env.run(&["store", "copy", "--from", "file", "--to", "file", "--force"]);
    onto_itself.assert_ok();
    assert!(
        !onto_itself.stderr.contains("forget"),
        "{}",
        onto_itself.stderr
    );
}

#[test]
fn clap_errors_start_like_every_other_error() {
    let env = Env::new();
    for args in [&["--bogus"][..], &["token", "--min-ttl"], &["call"]] {
        let run = env.run(args);
        assert_eq!(run.code, 2, "{args:?}");
        assert!(run.stderr.starts_with("b24auth: error: "), "{}", run.stderr);
    }
    assert_eq!(env.run(&["--help"]).code, 0);
}

#[test]
fn an_empty_variable_means_unset() {
    let env = Env::new();
    let home = env.tmp.path().join("home");
    let mut cmd = env.cmd(&["show", "--path"]);
    cmd.env("B24AUTH_CONFIG_DIR", "")
        .env("B24AUTH_PROFILE", "")
        .env("HOME", &home)
        .env_remove("XDG_CONFIG_HOME");
    let run = Env::run_cmd(&mut cmd);
    run.assert_ok();
    assert_eq!(
        run.stdout.trim(),
        home.join(".config/b24auth/auth.json").to_string_lossy()
    );
}

#[test]
fn a_wait_that_times_out_says_so_in_a_sentence() {
    let f = Flow::new();
    let (p, _) = f.start(&mut f.cmd(&["--timeout", "1s"]));
    let line = p.finish().assert_final_error(4).to_string();
    assert!(
        line.contains("the authorization redirect did not arrive within 1s; nothing was written"),
        "{line}"
    );
}

#[test]
fn show_never_says_in_0s() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    let run = env.run(&["show"]);
    run.assert_ok();
    assert!(!run.stdout.contains("in 0s"), "{}", run.stdout);
}

#[test]
fn listen_takes_localhost() {
    let f = Flow::new();
    let port = free_port();
    let redirect = format!("http://localhost:{port}/callback");
    f.s.set_redirect_uri(&redirect);
    let listen = format!("localhost:{port}");
    let domain = f.s.base.clone();
    let mut cmd = f.env.app_cmd(
        &f.s,
        &[
            "authorize",
            "--no-browser",
            "--domain",
            &domain,
            "--redirect-uri",
            &redirect,
            "--listen",
            &listen,
        ],
    );
    let (p, url) = f.start(&mut cmd);
    assert_eq!(http::follow(&url).status, 200);
    p.finish().assert_ok();
}

#[test]
fn domain_refuses_userinfo_paths_and_bare_words() {
    let env = Env::new();
    for bad in [
        "https://me:pw@portal.bitrix24.com",
        "https://portal.bitrix24.com/crm/deal/",
        "portal",
    ] {
        let mut cmd = env.cmd(&["authorize", "--no-browser", "--domain", bad]);
        cmd.env("B24AUTH_CLIENT_ID", CLIENT_ID)
            .env("B24AUTH_CLIENT_SECRET", "x");
        let line = Env::run_cmd(&mut cmd).assert_error(2).to_string();
        let example = match bad {
            "https://portal.bitrix24.com/crm/deal/" => "e.g. --domain https://portal.bitrix24.com",
            _ => "e.g. --domain portal.bitrix24.com",
        };
        assert!(line.contains(example), "{line}");
        // Said once: the reason, then the fix.
        assert_eq!(line.matches("portal's address").count(), 1, "{line}");
    }
}

#[test]
fn a_typo_of_token_suggests_token_first() {
    let run = Env::new().run(&["tokne"]);
    assert_eq!(run.code, 2);
    let line = run.stderr;
    let tip = line
        .lines()
        .find(|l| l.contains("tip:"))
        .unwrap_or_default();
    let token = tip.find("'token'").expect(&line);
    assert!(
        tip.find("'store'").is_none_or(|store| token < store),
        "{line}"
    );
}

#[test]
fn a_public_url_without_a_scheme_says_add_https() {
    let run = Env::new().run(&["install-listen", "--public-url", "hooks.example.com"]);
    assert_eq!(run.code, 2);
    let line = run.stderr;
    assert!(
        line.contains("add https:// in front: https://hooks.example.com"),
        "{line}"
    );
}

#[test]
fn missing_client_credentials_are_named_together_with_their_sources() {
    let env = Env::new();
    let run = env.run(&[
        "authorize",
        "--no-browser",
        "--domain",
        "portal.bitrix24.com",
    ]);
    let line = run.assert_error(2);
    for part in [
        "B24AUTH_CLIENT_ID",
        "--client-id",
        "B24AUTH_CLIENT_SECRET",
        "terminal",
    ] {
        assert!(line.contains(part), "{line}");
    }
}

#[test]
fn a_refused_connection_is_one_plain_reason() {
    let env = Env::new();
    let port = http::free_port();
    let file = env.dir.with_file_name("expired.json");
    std::fs::write(
        &file,
        r#"{"access_token":"a1","refresh_token":"r1","client_endpoint":"https://p.bitrix24.com/rest/","member_id":"m1","expires":1}"#,
    )
    .unwrap();
    let mut cmd = env.cmd(&["import", file.to_str().unwrap()]);
    cmd.env("B24AUTH_CLIENT_ID", CLIENT_ID)
        .env("B24AUTH_CLIENT_SECRET", "x")
        .env("B24AUTH_OAUTH_SERVER", format!("http://127.0.0.1:{port}"));
    let run = Env::run_cmd(&mut cmd);
    let line = run.assert_error(1);
    assert!(line.contains("Connection refused"), "{line}");
    assert!(!line.contains("error sending request"), "{line}");
    assert!(!line.contains("client error (Connect)"), "{line}");
}

#[test]
fn man_dir_says_what_it_wrote() {
    let env = Env::new();
    let dir = env.dir.join("man1");
    let run = env.run(&["man", "--dir", dir.to_str().unwrap()]);
    run.assert_ok();
    assert!(
        run.stderr.contains("wrote 23 man pages to"),
        "{}",
        run.stderr
    );
    assert!(dir.join("b24auth-setup.1").exists());
}

#[test]
fn a_subcommands_help_shows_its_own_options_before_the_global_ones() {
    let run = Env::new().run(&["token", "--help"]);
    run.assert_ok();
    let own = run.stdout.find("--min-ttl").unwrap();
    let heading = run.stdout.find("Global options:").expect(&run.stdout);
    let global = run.stdout.find("--profile").unwrap();
    assert!(own < heading && heading < global, "{}", run.stdout);
}

/// `-q` silences notes, never the address the user must open or paste.
#[test]
fn quiet_never_hides_what_to_act_on() {
    let f = Flow::new();
    let (p, url) = f.start(&mut f.cmd(&["-q"]));
    assert!(url.contains("/oauth/authorize/?client_id="));
    http::follow(&url);
    let run = p.finish();
    run.assert_ok();
    assert!(
        !run.stderr.contains("authorized: profile"),
        "{}",
        run.stderr
    );

    let env = Env::new();
    let mut p = env.spawn(&mut env.cmd(&[
        "-q",
        "install-listen",
        "--listen",
        "127.0.0.1:0",
        "--timeout",
        "1s",
    ]));
    let line = p.wait_line(10, |l| l.contains("Initial installation path"));
    assert!(line.contains("http://127.0.0.1:"), "{line}");
    p.finish().assert_final_error(4);
}

#[test]
fn a_browser_opening_the_install_address_is_told_what_it_is() {
    let env = Env::new();
    let mut p = env.spawn(&mut env.cmd(&[
        "install-listen",
        "--listen",
        "127.0.0.1:0",
        "--path",
        "/install/x",
        "--timeout",
        "3s",
    ]));
    let addr = p.wait_listening();
    let page = http::get(&format!("http://{addr}/install/x"));
    assert_eq!(page.status, 405);
    assert!(
        page.body.contains("Initial installation path"),
        "{}",
        page.body
    );
    assert!(page.body.contains(&format!("http://{addr}/install/x")));
    p.finish().assert_final_error(4);
}

/// A rate-limit back-off over a second says so on stderr; stdout carries only the answer.
#[test]
fn a_long_back_off_speaks() {
    use crate::support::stand_in::{Endpoint, Fault, When};
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    for n in 1..=3 {
        s.fail(Endpoint::Rest, When::Request(n), Fault::QUERY_LIMIT);
    }
    let run = env.run(&["call", "user.current"]);
    run.assert_ok();
    assert!(
        run.stderr
            .contains("user.current: the portal's rate limit (QUERY_LIMIT_EXCEEDED); waiting 2s before retry 3 of 5"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr.lines().count(),
        1,
        "only the wait over 1 s: {}",
        run.stderr
    );
    assert!(run.stdout.starts_with('{'), "{}", run.stdout);
}

#[test]
fn forget_on_a_missing_profile_says_so_before_asking() {
    let env = Env::new();
    let line = env.run(&["forget"]).assert_error(3).to_string();
    assert!(
        line.contains("nothing stored for profile `default`"),
        "{line}"
    );
}

/// On all interfaces with no `--public-url`, the address to paste names this host, never
/// `0.0.0.0`, and says to check it. (Only the listener binds wide, for one second; every
/// request in the suite stays on loopback.)
#[test]
fn an_all_interfaces_listener_prints_a_reachable_address() {
    let env = Env::new();
    let mut p = env.spawn(&mut env.cmd(&[
        "-q",
        "install-listen",
        "--listen",
        "0.0.0.0:0",
        "--timeout",
        "1s",
    ]));
    let line = p.wait_line(10, |l| l.contains("Initial installation path"));
    assert!(!line.contains("0.0.0.0"), "{line}");
    assert!(
        line.contains("http://") && line.contains("/install/"),
        "{line}"
    );
    p.wait_line(10, |l| l.contains("check that Bitrix24's servers reach it"));
    p.finish().assert_final_error(4);
}

#[test]
fn listen_takes_an_ipv6_loopback() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        crate::support::deps::skip(
            "messages::listen_takes_an_ipv6_loopback",
            "this machine has no IPv6 loopback",
        );
        return;
    }
    let env = Env::new();
    let mut p = env.spawn(&mut env.cmd(&[
        "install-listen",
        "--listen",
        "[::1]:0",
        "--path",
        "/install/x",
        "--timeout",
        "2s",
    ]));
    let addr = p.wait_listening();
    assert!(addr.starts_with("[::1]:"), "{addr}");
    let page = http::get(&format!("http://{addr}/install/x"));
    assert_eq!(page.status, 405);
    p.finish().assert_final_error(4);
}
