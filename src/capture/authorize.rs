/*!
The authorize flow: full OAuth in a browser.

Bind first, then print (and open) the portal's authorize URL; complete on whichever comes first:
the redirect reaching the loopback listener with our `state`, or the user pasting the redirected
address (or the bare code) on stdin. The one-time code lives 30 s, so the exchange starts the
moment it arrives and the browser is answered with its outcome.

The `state` is this run's only secret against another local user: the browser is opened on a
private start page ([`StartPage`]) rather than on the URL itself, because a command line is
readable by every user through `ps`, and whoever knows the `state` could complete the run with
their own code or abort it with `error=access_denied`.
*/

use std::io::Write as _;
use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, Context as _, Result};
use hyper::{Method, StatusCode};
use url::Url;

use crate::bitrix::errors::ServerError;
use crate::bitrix::oauth::{self, Credentials};
use crate::capture::listener::{self, Handler, Outcome, Reply, Request, Rules};
use crate::capture::pages;
use crate::capture::redirect::{read_pasted, read_redirect, Arrival, Pasted, Redirect, Refusal};
use crate::exit;
use crate::profile::{host_port, now, Profile, Source};
use crate::secret::random_hex;
use crate::session::config::RunConfig;
use crate::session::Session;
use crate::store::{self, SaveMode, Store};
use crate::ui;
use crate::ui::hint;

/// The exchange must finish inside the code's 30-second life, with room for the clock skew
/// between the portal and the OAuth server.
const EXCHANGE_DEADLINE: Duration = Duration::from_secs(25);

/// `--redirect-uri`'s default, as `cli.rs` declares it.
const DEFAULT_REDIRECT_URI: &str = "http://127.0.0.1:8787/callback";

/// What the command line chose for one run of the flow.
pub struct Choices {
    pub redirect_uri: Url,
    pub listen: Option<SocketAddr>,
    pub no_browser: bool,
    /// Zero waits forever.
    pub timeout: Duration,
    pub force: bool,
}

/// `authorize` as a user sees it (the command and `setup`): a warning for plain http, the flow,
/// then one line naming what was saved where.
pub async fn run(s: &Session, args: &Choices, domain: &str) -> Result<()> {
    let cfg = &s.cfg;
    let portal = portal_url(domain)?;
    if portal.scheme() == "http" {
        cfg.ui.warn(format_args!(
            "{} is plain http: the code and tokens cross the network unencrypted",
            portal.origin().ascii_serialization()
        ));
    }
    let profile = authorize(s, args, portal).await?;
    cfg.ui.info(ui::sanitize::strip_controls(&format!(
        "authorized: profile `{}` for portal {} (user {}), saved to {}",
        cfg.profile,
        profile.portal().unwrap_or_default(),
        profile
            .field("user_id")
            .map(|v| v.to_string())
            .unwrap_or_else(|| "-".into()),
        s.store.location(&cfg.profile)
    )));
    Ok(())
}

/// Runs the flow against `portal` (see [`portal_url`]) and returns the saved profile.
pub async fn authorize(s: &Session, args: &Choices, portal: Url) -> Result<Profile> {
    let (cfg, store) = (&s.cfg, &s.store);
    let mode = s.save_mode(args.force).await?;
    let previous = if mode == SaveMode::Replace {
        store.load(&cfg.profile).await.ok().flatten()
    } else {
        None
    };
    let creds = s.credentials(previous.as_ref())?;
    let listen = args
        .listen
        .unwrap_or_else(|| default_listen(&args.redirect_uri));
    let tcp = listener::bind(listen, "choose another with --listen and --redirect-uri").await?;
    let interrupt = listener::Interrupt::catch()?;
    let state = random_hex(16);
    let url = authorize_url(&portal, &creds.id, &state);
    tell(&cfg.ui, args, &portal, &url);
    // Held until the flow ends: the browser may read the page a moment after it starts.
    let _start = match args.no_browser {
        true => None,
        false => open_browser(&url, &cfg.ui),
    };
    cfg.ui.set_prompting();
    let flow = Flow {
        cfg,
        store,
        mode,
        creds,
        state,
        portal: host_port(&portal).unwrap_or_default(),
        http: s.oauth_client(crate::bitrix::server::default_url())?,
        again: hint::cmd(&as_strs(&again_words(args, &portal))),
        again_words: again_words(args, &portal),
    };
    let rules = Rules {
        path: args.redirect_uri.path().to_string(),
        methods: &[Method::GET],
        max_body: 1024,
        hosts: listener::hosts_for(
            listen,
            &host_port(&args.redirect_uri)
                .into_iter()
                .collect::<Vec<_>>(),
        ),
    };
    let work = async {
        tokio::select! {
            r = listener::serve(tcp, rules, &flow) => r?,
            r = flow.paste() => r,
        }
    };
    let timeout = (!args.timeout.is_zero()).then_some(args.timeout);
    let profile = listener::wait(
        work,
        timeout,
        interrupt,
        "the authorization redirect",
        &cfg.ui,
    )
    .await?;
    Ok(profile)
}

/// Where the browser goes and where it comes back, said before anything waits.
fn tell(ui: &ui::Ui, args: &Choices, portal: &Url, url: &str) {
    // Said first and even under -q: a handler path in the app's form that differs from ours
    // is the usual reason the portal never sends the browser back.
    ui.always(format_args!(
        "the app's handler path (in its form in the portal) must be: {}",
        args.redirect_uri
    ));
    ui.always(format_args!(
        "open this address in a browser signed in to {}:\n  {url}",
        portal.origin().ascii_serialization()
    ));
    ui.info(format_args!(
        // Not a second "waiting" line: on a terminal the prompt below says that.
        "the portal sends the browser back to {}; if it cannot get there, paste the address the \
         browser ends on (or the code the portal shows) here and press Enter — a code expires 30 s \
         after it is issued",
        args.redirect_uri
    ));
}

/// `portal.bitrix24.com` → `https://portal.bitrix24.com`; a URL keeps its scheme and port.
pub fn portal_url(domain: &str) -> Result<Url> {
    let with_scheme = if domain.contains("://") {
        domain.to_string()
    } else {
        format!("https://{domain}")
    };
    let bad = || {
        exit::usage(format!(
            "--domain `{domain}` is not a portal address like portal.bitrix24.com"
        ))
    };
    let url = Url::parse(&with_scheme).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad());
    }
    if let Some(why) = crate::capture::address::domain_problem(&url) {
        let example = match why {
            "holds a path" | "holds a query" => url.origin().ascii_serialization(),
            _ => "portal.bitrix24.com".into(),
        };
        return Err(exit::usage(format!(
            "--domain `{domain}` {why}: pass only the portal's address, e.g. --domain {example}"
        )));
    }
    Url::parse(&url.origin().ascii_serialization()).map_err(|_| bad())
}

fn default_listen(redirect: &Url) -> SocketAddr {
    let fallback: SocketAddr = "127.0.0.1:8787".parse().expect("a valid address");
    let Some(port) = redirect.port_or_known_default() else {
        return fallback;
    };
    match redirect.host() {
        Some(url::Host::Ipv4(ip)) if ip.is_loopback() => SocketAddr::from((ip, port)),
        Some(url::Host::Ipv6(ip)) if ip.is_loopback() => SocketAddr::from((ip, port)),
        Some(url::Host::Domain("localhost")) => SocketAddr::from(([127, 0, 0, 1], port)),
        _ => fallback,
    }
}

fn authorize_url(portal: &Url, client_id: &str, state: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", client_id)
        .append_pair("state", state)
        .finish();
    format!(
        "{}/oauth/authorize/?{query}",
        portal.as_str().trim_end_matches('/')
    )
}

/// `$BROWSER` when set; otherwise the desktop's opener, unless there is no display to open on.
/// The browser is given the private start page, never `url` itself: its command line is
/// readable by every local user (`ps`), and `url` carries the `state`.
fn open_browser(url: &str, ui: &ui::Ui) -> Option<StartPage> {
    let headless = cfg!(target_os = "linux")
        && std::env::var_os("DISPLAY").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none();
    let browser = std::env::var_os("BROWSER").filter(|b| !b.is_empty());
    if browser.is_none() && headless {
        ui.info("(no display here, e.g. over SSH: open the address on any machine's browser)");
        return None;
    }
    let page = match StartPage::write(url) {
        Ok(page) => page,
        Err(e) => {
            ui.warn(format_args!(
                "could not write the browser's start page ({e:#}); open the address yourself"
            ));
            return None;
        }
    };
    let opened = match browser {
        Some(browser) => {
            let mut cmd = std::process::Command::new(&browser);
            cmd.arg(page.address());
            start_browser(cmd).map_err(|e| format!("could not start $BROWSER ({e})"))
        }
        None => open::commands(page.address())
            .into_iter()
            .map(start_browser)
            .find_map(Result::ok)
            .ok_or_else(|| "could not open a browser".to_string()),
    };
    if let Err(why) = opened {
        ui.warn(format_args!("{why}; open the address yourself"));
    }
    Some(page)
}

/// Starts a browser (or the desktop's opener) with none of b24auth's secrets in its
/// environment, as `exec`'s child: a browser outlives the run and starts helpers of its own.
fn start_browser(mut cmd: std::process::Command) -> std::io::Result<()> {
    crate::session::child_env::scrub_child_env(&mut cmd);
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()?;
    // Reaped when it exits, so no zombie waits for the end of the run.
    drop(std::thread::spawn(move || child.wait()));
    Ok(())
}

/// A 0600 page in a fresh 0700 directory under the temp dir that forwards the browser to the
/// authorize URL ([`pages::forward`]); removed when dropped, and by the signal handler on a
/// stop signal (which ends the run without dropping anything). Another local user sees its
/// path in `ps` but can read neither it nor the `state` inside.
struct StartPage {
    dir: PathBuf,
    file: PathBuf,
    _on_stop: Option<crate::signals::RemoveOnStop>,
}

impl StartPage {
    fn write(url: &str) -> Result<StartPage> {
        let dir = std::env::temp_dir().join(format!("b24auth-authorize-{}", random_hex(8)));
        // `create` fails on anything already there (a planted symlink included).
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let file = dir.join("start.html");
        let page = StartPage {
            _on_stop: Some(crate::signals::remove_on_stop(&file, &dir)),
            file,
            dir,
        };
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&page.file)
            .with_context(|| format!("cannot create {}", page.file.display()))?;
        file.write_all(pages::forward(url).as_bytes())
            .with_context(|| format!("cannot write {}", page.file.display()))?;
        Ok(page)
    }

    /// `file:///…/start.html`: what the browser is given.
    fn address(&self) -> String {
        Url::from_file_path(&self.file)
            .map(String::from)
            .unwrap_or_else(|()| self.file.display().to_string())
    }
}

impl Drop for StartPage {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

struct Flow<'a> {
    cfg: &'a RunConfig,
    store: &'a Store,
    mode: SaveMode,
    creds: Credentials,
    state: String,
    /// The portal's `host[:port]`, as `--domain` named it.
    portal: String,
    /// Built before the browser opens: the 30-second code must not wait for TLS set-up.
    http: oauth::Client,
    /// The command that starts this flow again, for messages and pages.
    again: String,
    /// Its words after the global options (for a hint that adds one).
    again_words: Vec<String>,
}

impl Handler<Result<Profile>> for Flow<'_> {
    async fn handle(&self, req: Request) -> Outcome<Result<Profile>> {
        let (portal, profile) = (self.portal.as_str(), self.cfg.profile.as_str());
        let arrival = match read_redirect(req.query.as_deref().unwrap_or(""), &self.state) {
            Redirect::Arrived(a) => a,
            Redirect::WrongState => {
                let page = pages::wrong_state(portal, profile, &self.again);
                return Outcome::Continue(Reply::html(StatusCode::BAD_REQUEST, page));
            }
            Redirect::NoCode => {
                let page = pages::no_code(portal, profile, &self.again);
                return Outcome::Continue(Reply::html(StatusCode::BAD_REQUEST, page));
            }
            Redirect::Refused(r) => {
                let page = pages::denied(portal, profile, &r.to_string(), &self.again);
                return Outcome::Done(
                    Reply::html(StatusCode::FORBIDDEN, page),
                    Err(self.refused(&r)),
                );
            }
        };
        match self.complete(arrival).await {
            Ok(saved) => {
                let user = saved
                    .field("user_id")
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "-".into());
                let page = pages::authorized(&saved.portal().unwrap_or_default(), profile, &user);
                Outcome::Done(Reply::html(StatusCode::OK, page), Ok(saved))
            }
            Err(e) => {
                let page = pages::failed(portal, profile, &format!("{e:#}"), &self.again);
                Outcome::Done(Reply::html(StatusCode::BAD_GATEWAY, page), Err(e))
            }
        }
    }
}

impl Flow<'_> {
    /// Takes the profile lock, exchanges the code at once and saves the pair; nothing is
    /// written on any failure.
    async fn complete(&self, arrival: Arrival) -> Result<Profile> {
        if let Some(domain) = &arrival.domain {
            self.check_portal(domain)?;
        }
        store::save_new(self.store, &self.cfg.profile, self.mode, || {
            self.exchange(arrival)
        })
        .await
    }

    /// The code for a pair, checked to belong to the portal `--domain` named.
    async fn exchange(&self, arrival: Arrival) -> Result<Profile> {
        let (server, unknown) = crate::bitrix::server::for_code(
            self.cfg.oauth_server.as_ref(),
            arrival.server_domain.as_deref(),
        );
        if let Some(host) = unknown {
            let named = format!("https://{host}");
            let words = [
                &["--oauth-server", named.as_str()][..],
                &as_strs(&self.again_words),
            ]
            .concat();
            self.cfg.ui.warn(ui::sanitize::strip_controls(&format!(
                "the redirect names the OAuth server {host}, not one of Bitrix24's: exchanging the code at {server} (if the portal's administrator set {host}, run {})",
                hint::cmd(&words)
            )));
        }
        let client = self.http.with_server(server.clone());
        let received = now();
        let response = tokio::time::timeout(
            EXCHANGE_DEADLINE,
            client.exchange_code(&self.creds, &arrival.code),
        )
        .await
        .map_err(|_| {
            anyhow!(
                "the OAuth server {server} did not answer within {}s, and the code has expired",
                EXCHANGE_DEADLINE.as_secs()
            )
        })?
        .map_err(|e| explain_exchange_error(e, &self.again))?;
        let mut profile = Profile::from_bitrix(response, Source::Authorize, received);
        if let Some(portal) = profile.portal() {
            self.check_portal(&portal)?;
        }
        profile.set_client(Some(&self.creds.id), Some(&self.creds.secret));
        profile.set_oauth_server(server.as_str());
        Ok(profile)
    }

    /// The portal said no: exit 3, with its answer and the command to try again.
    fn refused(&self, r: &Refusal) -> anyhow::Error {
        exit::auth_needed(format!(
            "the portal did not grant access ({r}); nothing was written: run {} again and allow access",
            self.again
        ))
    }

    fn check_portal(&self, domain: &str) -> Result<()> {
        if domain.eq_ignore_ascii_case(&self.portal) {
            return Ok(());
        }
        Err(exit::usage(format!(
            "the authorization is for portal {domain}, not {}: sign in to {} in the browser, or run again with --domain {}",
            self.portal,
            self.portal,
            hint::quote(domain)
        )))
    }

    /// The paste fallback: lines on stdin until one holds our redirect address or a bare code.
    /// A closed stdin just leaves the listener to finish the flow.
    async fn paste(&self) -> Result<Profile> {
        let mut lines = ui::stdin_lines();
        while let Some(line) = lines.recv().await {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match read_pasted(line, &self.state) {
                Pasted::Arrived(arrival) => return self.complete(arrival).await,
                Pasted::Refused(r) => return Err(self.refused(&r)),
                Pasted::Unusable(why) => self.cfg.ui.warn(format_args!("{why}; still waiting")),
            }
        }
        std::future::pending().await
    }
}

/// `authorize --domain … [--redirect-uri …] [--force]` as this run was started (after the
/// global options).
fn again_words(args: &Choices, portal: &Url) -> Vec<String> {
    let domain = hint::domain_arg(&host_port(portal).unwrap_or_default(), portal.scheme());
    let mut words = vec!["authorize".to_string(), "--domain".into(), domain];
    if args.redirect_uri.as_str() != DEFAULT_REDIRECT_URI {
        words.extend(["--redirect-uri".into(), args.redirect_uri.to_string()]);
    }
    if args.force {
        words.push("--force".into());
    }
    words
}

fn as_strs(words: &[String]) -> Vec<&str> {
    words.iter().map(String::as_str).collect()
}

fn explain_exchange_error(err: anyhow::Error, again: &str) -> anyhow::Error {
    match err.downcast_ref::<ServerError>() {
        Some(e) if e.code.is_client_refusal() => crate::bitrix::errors::client_refused(e),
        Some(e) if e.code.needs_reauthorization() => exit::auth_needed(format!(
            "the OAuth server refused the code ({e}): run {again} again and let it finish within 30 s"
        )),
        _ => err.context("cannot exchange the code"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portal_forms() {
        assert_eq!(
            portal_url("portal.bitrix24.com").unwrap().as_str(),
            "https://portal.bitrix24.com/"
        );
        assert_eq!(
            portal_url("https://p.example.com/").unwrap().as_str(),
            "https://p.example.com/"
        );
        assert!(portal_url("https://p.example.com/some/path").is_err());
        assert!(portal_url("https://me@p.example.com").is_err());
        assert!(portal_url("portal").is_err());
        assert!(portal_url("localhost:8080").is_ok());
        assert_eq!(
            portal_url("http://127.0.0.1:8080").unwrap().as_str(),
            "http://127.0.0.1:8080/"
        );
        assert!(portal_url("ftp://x").is_err());
        assert!(portal_url("").is_err());
    }

    #[test]
    fn listen_follows_a_loopback_redirect() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            default_listen(&u("http://127.0.0.1:9000/cb")).to_string(),
            "127.0.0.1:9000"
        );
        assert_eq!(
            default_listen(&u("http://localhost:9001/cb")).to_string(),
            "127.0.0.1:9001"
        );
        assert_eq!(
            default_listen(&u("https://tunnel.example.com/cb")).to_string(),
            "127.0.0.1:8787"
        );
    }

    #[test]
    fn the_url_carries_no_secret() {
        let url = authorize_url(&portal_url("p.bitrix24.com").unwrap(), "local.1", "abc");
        assert_eq!(
            url,
            "https://p.bitrix24.com/oauth/authorize/?client_id=local.1&state=abc"
        );
    }
}
