/*!
`serve`'s install route: the install flow of `capture/install/` (parse, the trusted server's
word, the saver: durable before any answer), once per portal, into the profile named after the
portal's host (`:` written as `-`).

Each callback's save runs in a future the serve loop owns, not the connection: a sender that
hangs up cannot drop a pair being saved. A reinstall replaces the portal's profile (and so its
uninstalled mark): the callback is the portal's newest word. Except for one thing `app.info`
cannot prove, the `application_token`: a callback bringing another one for a `member_id` a live
profile holds is kept only as a candidate (the token events are believed by is never swapped).
*/

use anyhow::Result;
use futures_util::stream::{FuturesUnordered, StreamExt};
use hyper::StatusCode;
use tokio::sync::{mpsc, oneshot};

use crate::capture::install::candidates::Keeper;
use crate::capture::install::handler::Install;
use crate::capture::install::request;
use crate::capture::install::saver::Saver;
use crate::capture::install::verify::{self, Checks};
use crate::capture::listener::{Handler, Outcome, Reply, Request};
use crate::session::Session;
use crate::store::SaveMode;

/// A callback on its way to the installer, with where its reply goes.
pub(crate) struct InstallPost {
    pub request: Request,
    pub profile: String,
    pub reply: oneshot::Sender<Reply>,
}

/// The profile a callback installs into: the one `--profile` names (`only`), which takes no
/// other portal than the one it holds (403), or else the one named after the portal it claims;
/// the 400 reply when it names none b24auth can use.
pub(crate) async fn profile_for(
    session: &Session,
    only: Option<&str>,
    req: &Request,
) -> Result<String, Reply> {
    let auth = request::parse_body(req.content_type.as_deref(), &req.body)
        .map_err(|(status, why)| Reply::text(status, why))?;
    let claimed = verify::unverified(&auth, true)
        .map_err(|_| Reply::text(StatusCode::BAD_REQUEST, "Auth data is required"))?;
    if let Some(only) = only {
        let stored = session.store.load(only).await.ok().flatten();
        let holds = stored.and_then(|p| p.portal());
        return match holds {
            Some(portal) if !portal.eq_ignore_ascii_case(&claimed.domain) => Err(Reply::text(
                StatusCode::FORBIDDEN,
                "This serve keeps one profile, of another portal",
            )),
            _ => Ok(only.to_string()),
        };
    }
    let name: String = claimed.domain.replace(':', "-");
    if !plain(&name) {
        return Err(Reply::text(
            StatusCode::BAD_REQUEST,
            "The portal's name is no profile name",
        ));
    }
    Ok(beside_another_app(session, name).await)
}

/// A profile name b24auth makes: what `--profile` takes, bounded.
fn plain(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && !name.starts_with('.') && name.bytes().all(name_byte)
}

/// A byte a profile name b24auth makes may hold.
fn name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')
}

/// `name`, unless the profile of that name holds another app's credential (another
/// `client_id`, or an incoming webhook) or cannot be read: replacing it could lose a pair,
/// so the callback goes to `NAME-CLIENT_ID` beside it.
async fn beside_another_app(session: &Session, name: String) -> String {
    let ours = session.cfg.client_id.as_deref();
    // A profile that cannot be read (damaged, sealed with another key) may hold a live pair:
    // never replaced unread.
    let other = match session.store.load(&name).await {
        Ok(None) => false,
        Ok(Some(stored)) => {
            stored.is_webhook()
                || matches!((stored.client_id(), ours), (Some(a), Some(b)) if a != b)
        }
        Err(_) => true,
    };
    if !other {
        return name;
    }
    let tail: String = ours
        .unwrap_or("app")
        .bytes()
        .filter(|&b| name_byte(b))
        .map(char::from)
        .collect();
    let beside: String = format!("{name}-{tail}").chars().take(64).collect();
    session.cfg.ui.warn(format_args!(
        "b24auth: profile `{name}` holds another app's credential or cannot be read: this app's install goes to profile `{beside}`"
    ));
    beside
}

/// Handles callbacks as they come, each to its save; calls `installed` after each proven or
/// kept save (the caller re-reads the table of installs).
pub(crate) async fn run(
    session: &Session,
    checks: &Checks,
    mut callbacks: mpsc::UnboundedReceiver<InstallPost>,
    installed: impl AsyncFn(),
) {
    let mut running = FuturesUnordered::new();
    loop {
        tokio::select! {
            cb = callbacks.recv() => match cb {
                Some(cb) => running.push(one(session, checks, cb)),
                None => return,
            },
            Some(()) = running.next(), if !running.is_empty() => installed().await,
        }
    }
}

/// One callback: the install handler and a saver for its portal's profile, side by side until
/// the handler has the saver's word (the save is done by then).
async fn one(session: &Session, checks: &Checks, cb: InstallPost) {
    let mut cfg = session.cfg.clone();
    cfg.profile = cb.profile;
    if let Some(holder) = rival(session, &cb.request).await {
        let reply = keep_aside(session, &cfg.profile, &holder, &cb.request).await;
        let _ = cb.reply.send(reply);
        return;
    }
    let (jobs, queue) = mpsc::unbounded_channel();
    let install = Install {
        cfg: &cfg,
        checks,
        store: &session.store,
        jobs,
        library: crate::capture::install::page::BX24_LIBRARY.to_string(),
        paste: String::new(),
    };
    let saver = Saver {
        keeper: Keeper {
            cfg: &cfg,
            store: &session.store,
            mode: SaveMode::Replace,
            checks,
        },
        library: crate::capture::install::page::BX24_LIBRARY.to_string(),
        first_candidate_ends: false,
    };
    let handled = install.handle(cb.request);
    let saving = saver.run(queue, None, None);
    tokio::pin!(handled, saving);
    let reply = tokio::select! {
        outcome = &mut handled => outcome,
        (saved, _) = &mut saving => {
            if let Err(e) = saved {
                session.cfg.ui.warn(format_args!("b24auth: install for profile `{}`: {e:#}", cfg.profile));
            }
            handled.await
        }
    };
    let reply = match reply {
        Outcome::Continue(reply) | Outcome::Done(reply, ()) => reply,
    };
    if reply.status.is_success() {
        session.cfg.ui.info(format_args!(
            "b24auth: installed: profile `{}`",
            cfg.profile
        ));
    }
    let _ = cb.reply.send(reply);
}

/// The live, proven profile that holds the callback's `member_id` with another
/// `application_token`. `app.info` proves the access token, not the application_token: saving
/// such a callback would swap the token `serve` believes events by.
async fn rival(session: &Session, req: &Request) -> Option<String> {
    let auth = request::parse_body(req.content_type.as_deref(), &req.body).ok()?;
    let field = |k: &str| auth.get(k).and_then(serde_json::Value::as_str);
    let (member, token) = (field("member_id")?, field("application_token")?);
    let listing = session.store.list().await.ok()?;
    listing.into_iter().find_map(|(name, p)| {
        let p = p.ok()?;
        let live = crate::store::marks::uninstalled_at(&p).is_none() && !p.is_unverified();
        let held = p.application_token()?;
        let same = crate::secret::constant_time_eq(held.expose().as_bytes(), token.as_bytes());
        (live && p.member_id() == Some(member) && !same).then_some(name)
    })
}

/// Keeps a rival callback durably as a candidate of `profile` (never as the profile), then
/// answers.
async fn keep_aside(session: &Session, profile: &str, holder: &str, req: &Request) -> Reply {
    let ui = &session.cfg.ui;
    let Ok(auth) = request::parse_body(req.content_type.as_deref(), &req.body) else {
        return Reply::text(StatusCode::BAD_REQUEST, "Auth data is required");
    };
    let now = crate::profile::now();
    let pair = crate::profile::Profile::from_bitrix(auth, crate::profile::Source::Install, now);
    let candidate = crate::store::candidates::Candidate::new(pair, now);
    match session.store.keep_candidate(profile, &candidate).await {
        Ok(()) => {
            ui.warn(format_args!(
                "b24auth: an install callback for the member_id of profile `{holder}` brings another application_token: kept as a CANDIDATE of profile `{profile}`, not believed; events keep being proven by `{holder}`'s token"
            ));
            Reply::text(StatusCode::OK, "Kept for review")
        }
        Err(e) => {
            ui.warn(format_args!(
                "b24auth: install for profile `{profile}`: could not keep the callback: {e:#}"
            ));
            Reply::text(StatusCode::SERVICE_UNAVAILABLE, "Not kept; send it again")
        }
    }
}

/// The checks every callback gets: the trusted server's `app.info`, https portals only.
pub(crate) fn checks(session: &Session) -> Result<Checks> {
    Ok(Checks {
        verify: true,
        allow_http: false,
        client_id: session.cfg.client_id.clone(),
        http: session.oauth_client(crate::bitrix::server::default_url())?,
    })
}
