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

use super::saver::{refused, success, Answer, Callback, Decided, Job, Saver};
use super::verify::Form;
use super::verify::{self, Checks};
use crate::capture::listener::{Handler, Outcome, Reply, Request};
use crate::profile::{now, Profile, Source};
use crate::session::config::RunConfig;
use crate::store::candidates::{Candidate, TooLarge};
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
        let done = self.jobs.is_closed().then_some(self.library.as_str());
        let callback =
            match prepare(self.cfg, self.checks, self.store, &self.paste, req, done).await {
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
    let callback = match prepare(cfg, checks, store, paste, req, None).await {
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

/// Parses either install form and asks the trusted server about it: the verified callback,
/// or the reply for a request that is none (400/405/415) or that the server contradicted (403).
async fn prepare(
    cfg: &RunConfig,
    checks: &Checks,
    store: &Store,
    paste: &str,
    req: Request,
    done: Option<&str>,
) -> Result<Callback, Reply> {
    if req.method == Method::GET {
        // A person opened the address: say what it is for (Bitrix24 only ever POSTs).
        let page = crate::capture::pages::install_listener(&cfg.profile, paste);
        return Err(Reply::html(StatusCode::METHOD_NOT_ALLOWED, page));
    }
    let received = now();
    let parsed =
        verify::parse_request(req.content_type.as_deref(), req.query.as_deref(), &req.body);
    let (auth, form) = parsed.map_err(|(status, why)| {
        cfg.ui
            .warn(format_args!("refused a request: {why}; still waiting"));
        Reply::text(status, why)
    })?;
    // The rule for every flow; a callback naming a server outside Bitrix24's is refused
    // unasked (the message names the `--oauth-server` to start the listener with).
    let server = crate::bitrix::server::choose(
        cfg.oauth_server.as_ref(),
        auth_str(&auth, "server_endpoint"),
        None,
        &portal_of(&auth),
        &["install-listen"],
    )
    .map_err(|e| refused(&cfg.ui, &format!("{e:#}")))?;
    // Kept durably before the trusted server is asked (up to the HTTP timeout): a stop or
    // the deadline meanwhile leaves the candidate, not nothing.
    let early = match checks.verify {
        true => keep_early(cfg, store, &server, &auth, received).await?,
        false => None,
    };
    if let (Some(library), Some(_)) = (done, &early) {
        return Err(kept_reply(cfg, form, library));
    }
    let proof = match checks.identify(&server, &auth).await {
        Ok(proof) => proof,
        Err(e) => {
            if let Some(id) = early {
                if let Err(e) = store.drop_candidate(&cfg.profile, &id).await {
                    cfg.ui
                        .warn(format_args!("could not drop a refused callback: {e:#}"));
                }
            }
            return Err(refused(&cfg.ui, &format!("{e:#}")));
        }
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
    let mut profile = Profile::from_bitrix(auth.clone(), Source::Install, received);
    profile.set_client(cfg.client_id.as_deref(), cfg.client_secret.as_ref());
    profile.set_oauth_server(server.as_str());
    let candidate = Candidate::new(profile, received);
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
