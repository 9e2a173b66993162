/*!
The HTTP side of an installation callback: parse the request, ask the trusted server, hand the
pair to the saver and answer with its word.

The event is sent once and never retried, so every rejected request is answered and the listener
keeps waiting; `200 {"status":"success"}` goes out only after the pair is durably kept, as the
profile (proven) or as a candidate. A callback is never lost to b24auth's own doubt (never 409,
never 503): only an answer of the trusted OAuth server that contradicts it is refused (403).
*/

use hyper::{Method, StatusCode};
use serde_json::{Map, Value};
use url::Url;

use super::request::{self, Form};
use super::saver::{refused, success, Answer, Callback, Decided, Job, Saver};
use super::verify::Checks;
use crate::capture::listener::{Handler, Outcome, Reply, Request};
use crate::profile::{now, Profile, Source};
use crate::session::config::RunConfig;
use crate::store::candidates::{Candidate, Full, TooLarge};
use crate::store::Store;
use crate::ui::sanitize::strip_controls;

/// The largest callback body taken (413 above it).
pub const MAX_BODY: usize = 64 * 1024;

pub(crate) struct Install<'a> {
    pub cfg: &'a RunConfig,
    pub checks: &'a Checks,
    /// Where a callback is kept as a candidate before the trusted server is asked.
    pub store: &'a Store,
    /// Verifications run side by side; saving is one at a time, in the saver: a task no
    /// connection owns, so a sender that hangs up cannot drop a rotated pair.
    pub jobs: tokio::sync::mpsc::UnboundedSender<Job>,
    /// Where the finishing page loads `BX24` from.
    pub library: String,
    /// The address to paste into the app's settings, for a browser that opens it.
    pub paste: String,
}

impl Handler<()> for Install<'_> {
    fn concurrent(&self) -> bool {
        true
    }

    fn after_done(&self) -> bool {
        true
    }

    async fn handle(&self, req: Request) -> Outcome<()> {
        // Once a pair is saved the saver is gone: a later callback is kept as a candidate.
        let done = self.jobs.is_closed();
        let page = PageContext {
            paste: &self.paste,
            library: &self.library,
        };
        let callback = match prepare(self.cfg, self.checks, self.store, page, req, done).await {
            Ok(callback) => callback,
            Err(reply) => return Outcome::Continue(reply),
        };
        let (form, kept) = (callback.form, callback.kept_early);
        let (answer, answered) = tokio::sync::oneshot::channel();
        let after = || Outcome::Continue(self.after_the_save(form, kept));
        if self.jobs.send(Job { callback, answer }).is_err() {
            return after();
        }
        match answered.await {
            Ok(Answer::Final(reply)) => Outcome::Done(reply, ()),
            Ok(Answer::Continue(reply)) => Outcome::Continue(reply),
            Err(_) => after(),
        }
    }
}

impl Install<'_> {
    /// The answer to a callback the saver did not take because a pair was saved meanwhile.
    fn after_the_save(&self, form: Form, kept: bool) -> Reply {
        match kept {
            true => kept_reply(self.cfg, form, &self.library),
            false => Reply::text(StatusCode::GONE, "Already completed"),
        }
    }
}

/// One install request start to end, for a server that routes its own requests (`serve`):
/// parsed, verified, kept durably (as the profile or a candidate), then answered. Saves go
/// through the store's locked saves, so requests may be handled side by side.
#[allow(dead_code)] // `serve` (the events branch) is its first caller.
pub(crate) async fn answer(
    saver: &Saver<'_>,
    checks: &Checks,
    paste: &str,
    req: Request,
) -> (Reply, Option<Profile>) {
    let (cfg, store) = (saver.keeper.cfg, saver.keeper.store);
    let page = PageContext {
        paste,
        library: &saver.library,
    };
    let callback = match prepare(cfg, checks, store, page, req, false).await {
        Ok(callback) => callback,
        Err(reply) => return (reply, None),
    };
    match saver.decide(callback).await {
        Decided::Saved(reply, profile) => (reply, Some(profile)),
        Decided::Answered(reply, _) => (reply, None),
        Decided::Failed(reply, e) => {
            saver.keeper.cfg.ui.warn(strip_controls(&format!("{e:#}")));
            (reply, None)
        }
    }
}

/// What the pages a callback may get need: the address to paste, where `BX24` loads from.
#[derive(Clone, Copy)]
struct PageContext<'a> {
    paste: &'a str,
    library: &'a str,
}

/// Parses either install form and asks the trusted server about it: the verified callback,
/// or the reply for a request that is none (400/405/415), that the server contradicted (403),
/// or that was kept as a candidate without asking (after a save: `done`; or naming an OAuth
/// server outside Bitrix24's).
async fn prepare(
    cfg: &RunConfig,
    checks: &Checks,
    store: &Store,
    page: PageContext<'_>,
    req: Request,
    done: bool,
) -> Result<Callback, Reply> {
    let received = now();
    let (auth, form) = read_callback(cfg, page, &req)?;
    // The rule for every flow: no secret goes to a server outside Bitrix24's unasked. The
    // callback is sent once, so one naming such a server (an on-premise portal whose
    // administrator set it) is kept as a candidate, for `refresh --oauth-server` to prove.
    let server = match crate::bitrix::server::choose(
        cfg.oauth_server.as_ref(),
        auth_str(&auth, "server_endpoint"),
        None,
        &portal_of(&auth),
        &["refresh"],
    ) {
        Ok(server) => server,
        Err(why) => return Err(keep_unasked(cfg, store, form, page.library, &auth, &why).await),
    };
    // Kept durably before the trusted server is asked (up to the HTTP timeout): a stop or
    // the deadline meanwhile leaves the candidate, not nothing.
    let early = match checks.verify {
        true => keep_early(cfg, store, &server, &auth, received).await?,
        false => None,
    };
    if let (true, Some(_)) = (done, &early) {
        return Err(kept_reply(cfg, form, page.library));
    }
    let proof = match checks.identify(&server, &auth).await {
        Ok(proof) => proof,
        Err(e) => return Err(contradicted(cfg, store, early, e).await),
    };
    let identity = proof.identity();
    if identity.insecure && checks.allow_http {
        cfg.ui.warn(strip_controls(&format!(
            "the portal {} is plain http:// (allowed by --allow-http)",
            identity.domain
        )));
    }
    Ok(Callback {
        form,
        server,
        auth,
        proof,
        received,
        kept_early: early.is_some(),
    })
}

/// The request's `auth` fields and install form, or the reply to a request that is none (a
/// person's GET gets a page saying what the address is for: Bitrix24 only ever POSTs).
fn read_callback(
    cfg: &RunConfig,
    page: PageContext<'_>,
    req: &Request,
) -> Result<(Map<String, Value>, Form), Reply> {
    if req.method == Method::GET {
        let page = crate::capture::pages::install_listener(&cfg.profile, page.paste);
        return Err(Reply::html(StatusCode::METHOD_NOT_ALLOWED, page));
    }
    let parsed =
        request::parse_request(req.content_type.as_deref(), req.query.as_deref(), &req.body);
    parsed.map_err(|(status, why)| {
        cfg.ui
            .warn(format_args!("refused a request: {why}; still waiting"));
        Reply::text(status, why)
    })
}

/// The trusted server contradicted the callback: the candidate kept early is dropped, and the
/// sender is refused.
async fn contradicted(
    cfg: &RunConfig,
    store: &Store,
    early: Option<String>,
    e: anyhow::Error,
) -> Reply {
    if let Some(id) = early {
        if let Err(e) = store.drop_candidate(&cfg.profile, &id).await {
            cfg.ui
                .warn(format_args!("could not drop a refused callback: {e:#}"));
        }
    }
    refused(&cfg.ui, &format!("{e:#}"))
}

/// Kept as a candidate after the flow saved a pair: said on stderr, answered as kept.
fn kept_reply(cfg: &RunConfig, form: Form, library: &str) -> Reply {
    cfg.ui.warn(format_args!(
        "a callback arrived after the pair was saved: kept it as a CANDIDATE ({} proves it)",
        crate::ui::hint::cmd(&["refresh"])
    ));
    success(form, library, "b24auth kept the tokens as a candidate: they are used once `b24auth refresh`, run with the app's client credentials, proves them at the OAuth server.")
}

/// The callback's portal as it claims it (`client_endpoint`'s host, else `domain`), for the
/// region of the OAuth server when the callback names none.
fn portal_of(auth: &Map<String, Value>) -> String {
    auth_str(auth, "client_endpoint")
        .and_then(|e| Url::parse(e).ok())
        .and_then(|u| crate::profile::host_port(&u))
        .or_else(|| auth_str(auth, "domain").map(String::from))
        .unwrap_or_default()
}

fn auth_str<'a>(auth: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    auth.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The callback as posted, as a candidate: the app's credentials and the OAuth server that
/// will prove it (none for a server outside Bitrix24's, which the user must name).
fn as_posted(
    cfg: &RunConfig,
    server: Option<&Url>,
    auth: &Map<String, Value>,
    received: i64,
) -> Candidate {
    let mut profile = Profile::from_bitrix(auth.clone(), Source::Install, received);
    profile.set_client(cfg.client_id.as_deref(), cfg.client_secret.as_ref());
    if let Some(server) = server {
        profile.set_oauth_server(server.as_str());
    }
    Candidate::new(profile, received)
}

/// A callback naming an OAuth server outside Bitrix24's, kept as a candidate with no server
/// asked (its `server_endpoint` stays, so proving it needs that server named): answered as
/// kept, or 413/507/500 when it cannot be.
async fn keep_unasked(
    cfg: &RunConfig,
    store: &Store,
    form: Form,
    library: &str,
    auth: &Map<String, Value>,
    why: &anyhow::Error,
) -> Reply {
    let candidate = as_posted(cfg, None, auth, now());
    let portal = candidate.profile.portal().unwrap_or_default();
    match store.keep_candidate(&cfg.profile, &candidate).await {
        Ok(()) => {
            cfg.ui.warn(strip_controls(&format!(
                "kept the install callback claiming portal {portal} as a CANDIDATE without asking its OAuth server: {why:#}; still listening"
            )));
            success(form, library, "b24auth kept the tokens as a candidate: they are used once `b24auth refresh --oauth-server`, naming the portal's OAuth server, proves them.")
        }
        Err(e) if e.is::<TooLarge>() => {
            cfg.ui
                .warn(format_args!("refused a callback: {e:#}; still waiting"));
            Reply::text(StatusCode::PAYLOAD_TOO_LARGE, "Auth data is too large")
        }
        Err(e) if e.is::<Full>() => {
            cfg.ui.warn(format_args!(
                "{e:#}; a callback was answered 507 and NOT kept"
            ));
            Reply::text(
                StatusCode::INSUFFICIENT_STORAGE,
                "Too many unproven installs are kept",
            )
        }
        Err(e) => {
            cfg.ui.warn(strip_controls(&format!(
                "could not keep a callback: {e:#}; it was answered 500"
            )));
            Reply::text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Could not save the tokens",
            )
        }
    }
}

/// The callback as posted, kept as a candidate (its id); the saver then finds it by its refresh
/// token and promotes, proves or keeps it. Not kept (full, or a local failure: said on
/// stderr) it still goes on to the trusted server; a stored form over the bound is refused.
async fn keep_early(
    cfg: &RunConfig,
    store: &Store,
    server: &Url,
    auth: &Map<String, Value>,
    received: i64,
) -> Result<Option<String>, Reply> {
    let candidate = as_posted(cfg, Some(server), auth, received);
    match store.keep_candidate(&cfg.profile, &candidate).await {
        Ok(()) => Ok(Some(candidate.id)),
        Err(e) if e.is::<TooLarge>() => {
            cfg.ui
                .warn(format_args!("refused a callback: {e:#}; still waiting"));
            Err(Reply::text(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Auth data is too large",
            ))
        }
        Err(e) => {
            cfg.ui.warn(strip_controls(&format!(
                "could not keep the callback before verifying it: {e:#}"
            )));
            Ok(None)
        }
    }
}
