/*!
`install-listen`'s run: bind, say what to register, then the listener, the handler and the
saver side by side until a pair is saved, the deadline passes or a signal stops it.
*/

use std::net::SocketAddr;

use anyhow::Result;
use hyper::Method;
use url::Url;

use super::candidates::Keeper;
use super::handler::{Install, MAX_BODY};
use super::saver::{saved_and_answered, Ended, Saver};
use super::verify::Checks;
use crate::capture::listener::{self, Rules};
use crate::profile::host_port;
use crate::secret::random_hex;
use crate::session::config::RunConfig;
use crate::session::Session;
use crate::ui::sanitize::strip_controls;

/// What `install-listen` was asked for.
pub(crate) struct InstallOptions {
    pub listen: std::net::SocketAddr,
    pub path: Option<String>,
    pub public_url: Option<Url>,
    pub timeout: std::time::Duration,
    pub no_verify: bool,
    pub force: bool,
    pub allow_http: bool,
    /// End at the first kept candidate (`setup` proves it with the keys it asks for next).
    pub first_candidate_ends: bool,
}

/// `install-listen` as a user sees it (the command and `setup`): [`listen`], then what was
/// saved, or the candidates kept and how to prove them.
pub(crate) async fn run(s: &Session, args: &InstallOptions) -> Result<()> {
    let ui = &s.cfg.ui;
    match listen(s, args).await? {
        Ended::Saved(profile) => ui.info(strip_controls(&format!(
            "saved profile `{}` for portal {} (member_id {}) to {}",
            s.cfg.profile,
            profile.portal().unwrap_or_default(),
            profile.member_id().unwrap_or("-"),
            s.store.location(&s.cfg.profile)
        ))),
        Ended::Candidates(kept) => {
            for c in &kept {
                ui.always(strip_controls(&format!(
                    "kept, not yet proven: an install callback claiming portal {} (arrived {})",
                    c.claimed_portal(),
                    crate::ui::utc(c.received_at())
                )));
            }
            ui.always(format_args!(
                "no callback proved itself before the deadline; the candidates are kept (not used by any command). Prove them: B24AUTH_CLIENT_ID=… B24AUTH_CLIENT_SECRET=… {}",
                crate::ui::hint::cmd(&["refresh"])
            ));
        }
    }
    Ok(())
}

/// Listens until a callback's pair is proven and saved, or the deadline passes with
/// candidates kept.
pub(crate) async fn listen(s: &Session, args: &InstallOptions) -> Result<Ended> {
    let (cfg, store) = (&s.cfg, &s.store);
    let mode = s.save_mode(args.force).await?;
    let path = args
        .path
        .clone()
        .unwrap_or_else(|| format!("/install/{}", random_hex(16)));
    let tcp = listener::bind(args.listen, "choose another address with --listen").await?;
    let interrupt = listener::Interrupt::catch()?;
    let local = tcp.local_addr()?;
    let paste = announce(cfg, args, local, &path);
    let extra: Vec<String> = args.public_url.iter().filter_map(host_port).collect();
    let rules = Rules {
        path,
        methods: &[Method::POST, Method::GET],
        max_body: MAX_BODY,
        hosts: listener::hosts_for(local, &extra),
    };
    let checks = Checks {
        verify: !args.no_verify,
        allow_http: args.allow_http,
        client_id: cfg.client_id.clone(),
        http: s.oauth_client(crate::bitrix::server::default_url())?,
    };
    let (jobs, queue) = tokio::sync::mpsc::unbounded_channel();
    let handler = Install {
        cfg,
        checks: &checks,
        store,
        jobs,
        library: bx24_library()?,
        paste,
    };
    let saver = Saver {
        keeper: Keeper {
            cfg,
            store,
            mode,
            checks: &checks,
        },
        library: bx24_library()?,
        first_candidate_ends: args.first_candidate_ends,
    };
    let timeout = (!args.timeout.is_zero()).then_some(args.timeout);
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let work = saved_and_answered(
        listener::serve(tcp, rules, &handler),
        saver.run(queue, deadline, timeout),
    );
    let ended = listener::watch(
        work,
        deadline,
        interrupt,
        "the installation callback",
        &cfg.ui,
    )
    .await;
    match ended {
        Err(e) => Err(stopped_with_candidates(s, e).await),
        fine => fine,
    }
}

/// Says where the listener is and what the app's form needs (also under -q: the one chance to
/// register it right); returns the address to paste.
fn announce(cfg: &RunConfig, args: &InstallOptions, local: SocketAddr, path: &str) -> String {
    let local_url = format!("http://{local}{path}");
    let public_url = args
        .public_url
        .as_ref()
        .map(|u| format!("{}{path}", u.as_str().trim_end_matches('/')));
    cfg.ui.always(format_args!(
        "listening for the installation callback on {local_url}"
    ));
    // On all interfaces with no --public-url, 0.0.0.0 is no address to paste: name this host
    // as others likely reach it, and say so.
    let guessed = public_url
        .is_none()
        .then(|| crate::capture::address::reachable_host(local))
        .flatten()
        .map(|host| format!("http://{host}{path}"));
    cfg.ui.always(format_args!(
        "paste into the app's \"Initial installation path\": {}",
        public_url
            .as_deref()
            .or(guessed.as_deref())
            .unwrap_or(&local_url)
    ));
    // What else the form needs, also under -q: the one chance to register it right.
    cfg.ui.always(
        "in the app's form: \"Your handler path\" may be the same URL; \"Uses API only\" ticked or not (both install forms are taken); after Save the form shows the client_id and client_secret: set B24AUTH_CLIENT_ID and B24AUTH_CLIENT_SECRET, they prove the pair",
    );
    if guessed.is_some() {
        cfg.ui.always(
            "(that is this host's primary address or name: check that Bitrix24's servers reach it, or pass --public-url)",
        );
    }
    if public_url.is_none() && local.ip().is_loopback() {
        cfg.ui.info(
            "(Bitrix24's servers must reach that address: put a tunnel or reverse proxy in front and pass --public-url)",
        );
    }
    if cfg.client_id.is_none() || cfg.client_secret.is_none() {
        cfg.ui.warn(
            "no client_id/client_secret given: they are not saved, and `b24auth refresh` will need B24AUTH_CLIENT_ID and B24AUTH_CLIENT_SECRET",
        );
    }
    if args.allow_http {
        cfg.ui.warn(
            "--allow-http: a plain http:// portal will be accepted; its tokens cross the network unencrypted",
        );
    }
    public_url.or(guessed).unwrap_or(local_url)
}

/// A stop after candidates were kept says so, and names the command that proves them, instead
/// of "nothing was written" (the signal's exit code stays).
async fn stopped_with_candidates(s: &Session, e: anyhow::Error) -> anyhow::Error {
    let code = e.chain().find_map(|c| {
        if let Some(crate::exit::Error::Interrupted) = c.downcast_ref::<crate::exit::Error>() {
            return Some(crate::exit::ExitCode::Interrupted as i32);
        }
        c.downcast_ref::<crate::signals::Stopped>()
            .filter(|stop| !stop.saved)
            .map(|stop| stop.code() as i32)
    });
    let Some(code) = code else {
        return e;
    };
    let kept = match s.store.candidates(&s.cfg.profile).await {
        Ok(kept) if !kept.is_empty() => kept,
        _ => return e,
    };
    let why = crate::session::proof::not_yet_proven(&s.cfg.profile, &kept);
    crate::exit::Error::StoppedAfter(
        format!("stopped; nothing saved as the profile, but {why:#}"),
        code,
    )
    .into()
}

/// Where the finishing page loads `BX24` from: Bitrix24's library, or `B24AUTH_BX24_LIBRARY`
/// (an https URL, or http on a loopback host: a test portal's copy).
fn bx24_library() -> Result<String> {
    let Ok(url) = std::env::var("B24AUTH_BX24_LIBRARY") else {
        return Ok(super::page::BX24_LIBRARY.to_string());
    };
    let parsed = Url::parse(&url).ok();
    let fine = parsed.as_ref().is_some_and(|u| {
        u.scheme() == "https" || (u.scheme() == "http" && crate::bitrix::server::is_loopback(u))
    });
    match fine {
        true => Ok(url),
        false => Err(crate::exit::usage(
            "B24AUTH_BX24_LIBRARY takes an https:// URL (or http:// on a loopback host); unset it to use Bitrix24's library",
        )),
    }
}
