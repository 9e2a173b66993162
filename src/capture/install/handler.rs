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

use super::saver::{refused, Answer, Callback, Decided, Job, Saver};
use super::verify::{self, Checks};
use crate::capture::listener::{Handler, Outcome, Reply, Request};
use crate::profile::{now, Profile};
use crate::session::config::RunConfig;
use crate::ui::sanitize::strip_controls;

/// The largest callback body taken (413 above it).
pub const MAX_BODY: usize = 64 * 1024;

pub(crate) struct Install<'a> {
    pub cfg: &'a RunConfig,
    pub checks: &'a Checks,
    /// Verifications run side by side; saving is one at a time, in the saver: a task no
    /// connection owns, so a sender that hangs up cannot drop a rotated pair.
    pub jobs: tokio::sync::mpsc::UnboundedSender<Job>,
    /// The address to paste into the app's settings, for a browser that opens it.
    pub paste: String,
}

impl Handler<()> for Install<'_> {
    fn concurrent(&self) -> bool {
        true
    }

    async fn handle(&self, req: Request) -> Outcome<()> {
        let callback = match prepare(self.cfg, self.checks, &self.paste, req).await {
            Ok(callback) => callback,
            Err(reply) => return Outcome::Continue(reply),
        };
        let (answer, answered) = tokio::sync::oneshot::channel();
        if self.jobs.send(Job { callback, answer }).is_err() {
            return Outcome::Continue(Reply::text(StatusCode::GONE, "Already completed"));
        }
        match answered.await {
            Ok(Answer::Final(reply)) => Outcome::Done(reply, ()),
            Ok(Answer::Continue(reply)) => Outcome::Continue(reply),
            Err(_) => Outcome::Continue(Reply::text(StatusCode::GONE, "Already completed")),
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
    let callback = match prepare(saver.keeper.cfg, checks, paste, req).await {
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
    paste: &str,
    req: Request,
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
    let proof = checks
        .identify(&server, &auth)
        .await
        .map_err(|e| refused(&cfg.ui, &format!("{e:#}")))?;
    let identity = proof.identity();
    if identity.insecure {
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
    })
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
