//! The interactive flows through a real pseudo-terminal: credential prompts, confirmations,
//! the paste prompt, Ctrl-C and `--all` progress.

use super::messages::{state_of, Flow};
use crate::support::callbacks::{install_form, INSTALL_APP_TOKEN};
use crate::support::cli::{Env, BIN};
use crate::support::http::free_port;
use crate::support::pty::Pty;
use crate::support::stand_in::{StandIn, CLIENT_ID, CLIENT_SECRET};

/// `cmd` without the app's credentials in its environment.
fn bare(env: &Env, s: &StandIn, args: &[&str]) -> std::process::Command {
    let mut c = env.cmd(args);
    c.env("B24AUTH_OAUTH_SERVER", &s.base).env("TERM", "xterm");
    c
}

#[test]
fn missing_credentials_are_asked_for_and_the_secret_is_not_echoed() {
    let s = StandIn::start();
    let env = Env::new();
    let mut doc = env.seed(&s, -10);
    let m = doc.as_object_mut().unwrap();
    m.remove("client_id");
    m.remove("client_secret");
    env.write_auth(&serde_json::to_vec(&doc).unwrap());
    let mut t = Pty::spawn(bare(&env, &s, &["refresh"]), "");
    t.expect("client_id", 10);
    t.send(&format!("{CLIENT_ID}\r"));
    t.expect("client_secret", 10);
    t.wait_echo_off(10);
    t.send(&format!("{CLIENT_SECRET}\r"));
    let (code, shown) = t.finish();
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("refreshed profile `default`"), "{shown}");
    assert!(
        !shown.contains(CLIENT_SECRET),
        "the secret was echoed: {shown}"
    );
    assert_eq!(env.auth()["client_id"], CLIENT_ID);
}

#[test]
fn forget_needs_enter_drops_typed_ahead_keys_and_no_deletes_nothing() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    // A "y" and Enter pressed before the question: they must not answer it.
    let mut t = Pty::spawn(bare(&env, &s, &["forget"]), "y\r");
    t.expect("delete profile `default`", 10);
    t.send("n\r");
    let (code, shown) = t.finish();
    assert_eq!(code, 1, "{shown}");
    assert!(
        shown.contains("nothing deleted: profile `default` stays in"),
        "{shown}"
    );
    assert!(!shown.contains("--yes"), "{shown}");
    assert!(env.auth_path().exists());

    let mut t = Pty::spawn(bare(&env, &s, &["forget"]), "");
    t.expect("delete profile `default`", 10);
    // A key alone does not answer: only Enter does.
    t.send("y");
    t.send("\r");
    let (code, shown) = t.finish();
    assert_eq!(code, 0, "{shown}");
    assert!(!env.auth_path().exists());
}

#[test]
fn replacing_a_profile_asks_and_no_replaces_nothing() {
    let f = Flow::new();
    f.env.seed(&f.s, 3600);
    let before = f.env.auth_bytes();
    let mut cmd = f.cmd(&[]);
    cmd.env("TERM", "xterm");
    let mut t = Pty::spawn(cmd, "");
    t.expect("already exists", 10);
    t.send("\r");
    let (code, shown) = t.finish();
    assert_eq!(code, 1, "{shown}");
    assert!(
        shown.contains("nothing replaced: profile `default` stays as it was"),
        "{shown}"
    );
    assert_eq!(f.env.auth_bytes(), before);
}

/// An existing profile: setup asks before question 1, and a no leaves it as it was without
/// advising a `--force` setup does not have.
#[test]
fn setup_asks_first_whether_to_replace_and_no_keeps_the_profile() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    let before = env.auth_bytes();
    let mut t = Pty::spawn(bare(&env, &s, &["setup"]), "");
    let asked = t.expect("already exists", 10);
    assert!(!asked.contains("Your Bitrix24 address"), "{asked}");
    t.send("\r");
    let (code, shown) = t.finish();
    assert_eq!(code, 1, "{shown}");
    assert!(shown.contains("nothing replaced"), "{shown}");
    assert!(!shown.contains("--force"), "{shown}");
    assert!(!shown.contains("Your Bitrix24 address"), "{shown}");
    assert_eq!(env.auth_bytes(), before);
}

#[test]
fn the_paste_prompt_is_not_drawn_over_and_a_pasted_address_completes() {
    let f = Flow::new();
    f.s.set_redirect_uri("https://app.example.com/handler");
    let mut cmd = f.cmd(&[]);
    cmd.env("TERM", "xterm");
    let mut t = Pty::spawn(cmd, "");
    let shown = t.expect("/oauth/authorize/?", 10);
    let _ = shown;
    let url_line = t.expect("\n", 10);
    let url = format!("http://{}/oauth/authorize/?{}", f.s.host(), url_line.trim());
    let said = t.expect("paste here and press Enter:", 10);
    assert_eq!(
        said.matches("waiting for").count(),
        1,
        "one waiting line: {said}"
    );
    let location = crate::support::http::get(&url)
        .header("location")
        .unwrap()
        .to_string();
    assert_eq!(state_of(&location), state_of(&url));
    t.send(&location[..20]);
    t.send(&format!("{}\r", &location[20..]));
    let (code, shown) = t.finish();
    assert_eq!(code, 0, "{shown}");
    assert!(
        !shown.contains("\x1b[2K"),
        "something redrew the line being typed: {shown:?}"
    );
    assert!(shown.contains("authorized: profile `default`"), "{shown}");
}

#[test]
fn ctrl_c_on_the_terminal_exits_130_and_writes_nothing() {
    let f = Flow::new();
    let mut cmd = f.cmd(&[]);
    cmd.env("TERM", "xterm");
    let mut t = Pty::spawn(cmd, "");
    t.expect("paste here and press Enter:", 10);
    t.send("\x03");
    let (code, shown) = t.finish();
    assert_eq!(code, 130, "{shown}");
    assert!(
        shown.contains("interrupted; nothing was written"),
        "{shown}"
    );
    assert!(!f.env.auth_path().exists());
}

#[test]
fn all_shows_progress_on_a_terminal_and_clears_it() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    let out = env.tmp.path().join("leads.jsonl");
    let mut sh = std::process::Command::new("sh");
    sh.args([
        "-c",
        &format!("'{BIN}' call crm.lead.list --all > '{}'", out.display()),
    ])
    .env("B24AUTH_CONFIG_DIR", &env.dir)
    .env("B24AUTH_OAUTH_SERVER", &s.base)
    .env("NO_COLOR", "1")
    .env("TERM", "xterm");
    let t = Pty::spawn(sh, "");
    let (code, shown) = t.finish();
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains(" items · "), "{shown:?}");
    assert!(shown.trim_end().ends_with("\x1b[2K"), "{shown:?}");
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 120);
    // The items on the same terminal: no line drawn over them.
    let t = Pty::spawn(bare(&env, &s, &["call", "crm.lead.list", "--all"]), "");
    let (code, shown) = t.finish();
    assert_eq!(code, 0, "{shown}");
    assert!(!shown.contains(" items · "), "{shown:?}");
}

/// `setup` end to end on a terminal: the portal, the browser way, the handler path b24auth
/// listens on, the keys (the secret not echoed), the loopback redirect from the "browser", the
/// first `profile` call and the next commands.
#[test]
fn setup_walks_a_newcomer_to_a_first_token_and_a_first_call() {
    let s = StandIn::start();
    let env = Env::new();
    let redirect = format!("http://127.0.0.1:{}/callback", free_port());
    s.set_redirect_uri(&redirect);
    let dir = env.dir.to_str().unwrap().to_string();
    let mut cmd = bare(
        &env,
        &s,
        &["--config-dir", &dir, "--profile", "first", "setup"],
    );
    // The directory on the command line only: the hints repeat what was typed.
    cmd.env_remove("B24AUTH_CONFIG_DIR")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("BROWSER");
    let mut t = Pty::spawn(cmd, "");
    t.expect("Your Bitrix24 address", 10);
    // A wrong answer is named as the answer, not as a `--domain` nobody typed.
    t.send("https://portal.example.com/crm/\r");
    let said = t.expect("holds a path: type only the portal's address", 10);
    assert!(!said.contains("--domain"), "{said}");
    t.send(&format!("{}\r", s.base));
    t.expect("How should b24auth get in?", 10);
    t.send("\r");
    t.expect("The handler path b24auth listens on", 10);
    // A public handler path cannot be listened on here: refused with the reason, asked again.
    t.send("https://app.example.com/callback\r");
    t.expect("b24auth listens only on this machine", 10);
    t.expect("The handler path b24auth listens on", 10);
    t.send(&format!("{redirect}\r"));
    t.expect("What may your scripts reach?", 10);
    t.send("\r");
    let form = t.expect("Application ID (client_id)", 10);
    assert!(form.contains("Local application"), "{form}");
    assert!(
        form.contains(&format!("Your handler path:          {redirect}")),
        "{form}"
    );
    assert!(
        form.contains("Assign permissions:         crm, user"),
        "{form}"
    );
    t.send("\r");
    t.expect("the Application ID is required", 10);
    t.send(&format!("{CLIENT_ID}\r"));
    t.expect("Application key", 10);
    t.wait_echo_off(10);
    t.send(&format!("{CLIENT_SECRET}\r"));
    t.expect("/oauth/authorize/?", 20);
    let query = t.expect("\n", 10);
    let url = format!("http://{}/oauth/authorize/?{}", s.host(), query.trim());
    // The "browser": the portal's redirect, then the GET of the handler path it names.
    let location = crate::support::http::get(&url)
        .header("location")
        .unwrap()
        .to_string();
    assert!(location.starts_with(&redirect), "{location}");
    let page = crate::support::http::get(&location);
    assert_eq!(page.status, 200, "{}", page.body);
    t.expect("First call: `profile` answers — you act as Stand In", 20);
    let (code, shown) = t.finish();
    assert_eq!(code, 0, "{shown}");
    // The next commands repeat this run's options, the cron line quiet, each with its gap.
    let first = format!("b24auth --config-dir {dir} --profile first");
    assert!(shown.contains(&format!("{first} token ")), "{shown}");
    assert!(
        shown.contains(&format!("{first} -q refresh --if-older-than 30d  in cron")),
        "{shown}"
    );
    assert!(!shown.contains(CLIENT_SECRET), "the secret was echoed");
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.dir.join("profiles/first.json")).unwrap())
            .unwrap();
    assert_eq!(saved["client_id"], CLIENT_ID);
}

#[test]
fn setup_without_a_terminal_names_the_three_commands() {
    let env = Env::new();
    let run = env.run(&["setup"]);
    let err = run.assert_error(2);
    for cmd in ["authorize", "install-listen", "import --webhook"] {
        assert!(err.contains(&format!("`b24auth {cmd}")), "{err}");
    }
}

/// `setup` on a terminal, through the portal's address to the way `downs` arrow keys below the
/// first.
fn setup_way(env: &Env, s: &StandIn, downs: usize) -> Pty {
    let mut t = Pty::spawn(bare(env, s, &["setup"]), "");
    t.expect("Your Bitrix24 address", 10);
    t.send(&format!("{}\r", s.base));
    t.expect("How should b24auth get in?", 10);
    t.send(&format!("{}\r", "\x1b[B".repeat(downs)));
    t
}

/// `setup`'s webhook way: where the form is, the address taken hidden, the first call, and next
/// commands without `token` (a webhook has none).
#[test]
fn setup_saves_an_incoming_webhook_typed_at_a_hidden_prompt() {
    let s = StandIn::start();
    let env = Env::new();
    let mut t = setup_way(&env, &s, 2);
    t.expect("What may your scripts reach?", 10);
    t.send("\r");
    let form = t.expect("Webhook address (hidden)", 10);
    assert!(form.contains("Incoming webhook"), "{form}");
    t.wait_echo_off(10);
    t.send(&format!("{}\r", s.webhook_url()));
    t.expect("First call: `profile` answers — you act as Stand In", 20);
    let (code, shown) = t.finish();
    assert_eq!(code, 0, "{shown}");
    let secret = crate::support::stand_in::WEBHOOK.trim_end_matches('/');
    assert!(!shown.contains(secret), "the address was echoed: {shown}");
    assert!(!shown.contains("b24auth token"), "{shown}");
    assert_eq!(env.auth()["webhook_url"], s.webhook_url());
}

/// `setup`'s "Uses API only" way: the tunnel's address, the local port, the form with the
/// installation path, the callback as Bitrix24 sends it, then the keys (asked only after it:
/// the form shows them after Save), saved with the profile.
#[test]
fn setup_catches_the_installation_callback_then_takes_the_keys() {
    let s = StandIn::start();
    let env = Env::new();
    let mut t = setup_way(&env, &s, 1);
    t.expect("How will Bitrix24's servers reach this machine?", 10);
    t.send("\r");
    t.expect("Its public https address", 10);
    t.send("https://hooks.example.com\r");
    t.expect("The local address it forwards to", 10);
    t.send("127.0.0.1:0\r");
    t.expect("What may your scripts reach?", 10);
    t.send("\r");
    let form = t.expect("listening for the installation callback on http://", 20);
    assert!(
        form.contains("Initial installation path:  https://hooks.example.com/install/"),
        "{form}"
    );
    let at = t.expect("\n", 10);
    let (addr, path) = at.trim().split_once('/').unwrap();
    let pair = s.issue_pair();
    let body = install_form(&pair, &s.host(), INSTALL_APP_TOKEN);
    let r = crate::support::http::post(
        addr,
        &format!("/{path}"),
        "application/x-www-form-urlencoded",
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    t.expect("Application ID (client_id)", 20);
    t.send(&format!("{CLIENT_ID}\r"));
    t.expect("Application key", 10);
    t.wait_echo_off(10);
    t.send(&format!("{CLIENT_SECRET}\r"));
    t.expect("First call: `profile` answers — you act as Stand In", 20);
    let (code, shown) = t.finish();
    assert_eq!(code, 0, "{shown}");
    assert!(!shown.contains(CLIENT_SECRET), "the secret was echoed");
    let saved = env.auth();
    assert_eq!(saved["client_id"], CLIENT_ID);
    assert_eq!(saved["client_secret"], CLIENT_SECRET);
}

/// `batch` on a terminal, its answers going to a file, shows how many commands are answered,
/// their rate and the time, and clears the line; with NO_COLOR no colour codes. Under `-q`, or
/// with the answers on the same terminal, nothing is drawn.
#[test]
fn batch_shows_progress_on_a_terminal() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    let out = env.tmp.path().join("answers.jsonl");
    let run = |flags: &str, to_file: bool| {
        let redirect = match to_file {
            true => format!("> '{}'", out.display()),
            false => String::new(),
        };
        let mut sh = std::process::Command::new("sh");
        sh.args(["-c", &format!("'{BIN}' {flags} batch {redirect}")])
            .env("B24AUTH_CONFIG_DIR", &env.dir)
            .env("B24AUTH_OAUTH_SERVER", &s.base)
            .env("NO_COLOR", "1")
            .env("TERM", "xterm");
        let mut t = Pty::spawn(sh, "");
        for _ in 0..3 {
            t.send("{\"method\":\"profile\",\"params\":{}}\r");
        }
        // Ctrl-D twice: a terminal's end of input holds for one read, and batch reads on.
        t.send("\x04\x04");
        let (code, shown) = t.finish();
        assert_eq!(code, 0, "{shown:?}");
        shown
    };
    let shown = run("", true);
    // The count itself is redrawn at most ten times a second: a quick run may end before a
    // redraw (the unit test counts); the line shows and is cleared.
    assert!(shown.contains(" commands · "), "{shown:?}");
    assert!(shown.contains("/s · "), "{shown:?}");
    assert!(
        shown.trim_end().ends_with("\x1b[2K"),
        "not cleared: {shown:?}"
    );
    assert!(
        !shown.contains("\x1b[1m"),
        "bold despite NO_COLOR: {shown:?}"
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 3);
    assert!(!run("-q", true).contains("commands ·"));
    assert!(!run("", false).contains("commands ·"));
}
