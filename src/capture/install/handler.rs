/*!
The HTTP side of an installation callback: parse the request, ask the trusted server, hand the
pair to the saver and answer with its word.

The event is sent once and never retried, so every rejected request is answered and the listener
keeps waiting; `200 {"status":"success"}` goes out only after the pair is durably saved. A
callback is never lost to b24auth's own doubt: only an answer of the trusted OAuth server that
contradicts it is refused.
*/

use hyper::{Method, StatusCode};
use serde_json::{Map, Value};
use url::Url;

use super::saver::{refused, Answer, Job};
use super::verify::{self, Checks};
use crate::bitrix::oauth;
use crate::capture::listener::{Handler, Outcome, Reply, Request};
use crate::profile::now;
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
        if req.method == Method::GET {
            // A person opened the address: say what it is for (Bitrix24 only ever POSTs).
            let page = crate::capture::pages::install_listener(&self.cfg.profile, &self.paste);
            return Outcome::Continue(Reply::html(StatusCode::METHOD_NOT_ALLOWED, page));
        }
        let received = now();
        let auth = match verify::parse_body(req.content_type.as_deref(), &req.body) {
            Ok(auth) => auth,
            Err((status, why)) => {
                self.cfg
                    .ui
                    .warn(format_args!("refused a request: {why}; still waiting"));
                return Outcome::Continue(Reply::text(status, why));
            }
        };
        let server = oauth::server_for_new_pair(
            self.cfg.oauth_server.as_ref(),
            auth_str(&auth, "server_endpoint")
                .and_then(|s| Url::parse(s).ok())
                .as_ref()
                .and_then(Url::host_str),
        );
        let proof = match self.checks.identify(&server, &auth).await {
            Ok(proof) => proof,
            Err(e) if oauth::no_verdict(&e) => {
                return Outcome::Continue(unverifiable(&self.cfg.ui, &e))
            }
            Err(e) => return Outcome::Continue(refused(&self.cfg.ui, &e)),
        };
        let identity = proof.identity();
        if identity.insecure {
            self.cfg.ui.warn(strip_controls(&format!(
                "the portal {} is plain http:// (allowed by --allow-http)",
                identity.domain
            )));
        }
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job = Job {
            server,
            auth,
            proof,
            received,
            answer,
        };
        if self.jobs.send(job).is_err() {
            return Outcome::Continue(Reply::text(StatusCode::GONE, "Already completed"));
        }
        match answered.await {
            Ok(Answer::Final(reply)) => Outcome::Done(reply, ()),
            Ok(Answer::Continue(reply)) => Outcome::Continue(reply),
            Err(_) => Outcome::Continue(Reply::text(StatusCode::GONE, "Already completed")),
        }
    }
}

/// A verification that failed for a local reason (no descriptor, a connect error, a timeout,
/// the server busy) is not a forgery: answer 503 so the sender may retry, and keep waiting.
/// Only the trusted server's word refuses a callback.
fn unverifiable(ui: &crate::ui::Ui, e: &anyhow::Error) -> Reply {
    ui.warn(strip_controls(&format!(
        "could not verify a callback ({e:#}): that is no verdict on it, so it was answered 503 (retry later), not refused; still waiting"
    )));
    Reply::text(
        StatusCode::SERVICE_UNAVAILABLE,
        "Verification unavailable; retry later",
    )
}

fn auth_str<'a>(auth: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    auth.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}
