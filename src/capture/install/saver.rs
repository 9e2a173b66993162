/*!
Saves verified callbacks one at a time, durably, before any answer goes out.

The saver is a future no connection owns: a sender that hangs up, or a connection that reaches
its lifetime, cannot drop a pair being saved, and the deadline is only looked at between saves.
*/

use anyhow::Result;
use hyper::StatusCode;
use serde_json::{Map, Value};
use url::Url;

use super::candidates::{Keeper, Kept};
use super::page;
use super::verify::{Form, Proof};
use crate::capture::listener::Reply;
use crate::profile::{Profile, Source};
use crate::store::{self, candidates::Candidate, candidates::Full, candidates::TooLarge};
use crate::ui::sanitize::strip_controls;

/// A callback as the handler verified it.
pub(crate) struct Callback {
    /// Which install form carried it: the answer's shape (JSON, or the finishing page).
    pub form: Form,
    /// The trusted OAuth server it was checked at (and is proven at).
    pub server: Url,
    pub auth: Map<String, Value>,
    pub proof: Proof,
    pub received: i64,
    /// Kept as a candidate before the trusted server was asked.
    pub kept_early: bool,
}

/// A verified callback on its way to the saver, with where its answer goes.
pub(crate) struct Job {
    pub callback: Callback,
    pub answer: tokio::sync::oneshot::Sender<Answer>,
}

/// What the saver decided about one callback, with the reply that says so.
pub(crate) enum Decided {
    /// Saved as the profile (install-listen ends).
    Saved(Reply, Profile),
    /// Answered, and the listener waits on: kept as a candidate (true), or refused.
    Answered(Reply, bool),
    /// Nothing could be kept (a local failure or a stop signal): the reply, and the error.
    Failed(Reply, anyhow::Error),
}

/// The saver's word to the connection that carried the callback.
pub(crate) enum Answer {
    /// The flow ends with this reply.
    Final(Reply),
    /// Answered, and the listener keeps waiting (an unverified save, a refusal).
    Continue(Reply),
}

/// After a candidate is kept with no `--timeout`, the listener still waits this long for a
/// callback that proves itself, then exits 0 naming the command that proves the candidates.
const CANDIDATE_GRACE: std::time::Duration = std::time::Duration::from_secs(600);

/// How long a final reply may take to reach the sender once the pair is saved.
const REPLY_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// How the listening ended.
pub(crate) enum Ended {
    /// A proven pair is the profile.
    Saved(Profile),
    /// The deadline came with candidates kept and none proven.
    Candidates(Vec<Candidate>),
}

/// Runs the listener and the saver side by side; ends with the saver's value once the reply
/// that carries it was written (or its connection is gone).
pub(crate) async fn saved_and_answered(
    serve: impl std::future::Future<Output = Result<()>>,
    saver: impl std::future::Future<Output = (Result<Ended>, bool)>,
) -> Result<Ended> {
    tokio::pin!(serve, saver);
    tokio::select! {
        (value, replying) = &mut saver => {
            if replying {
                let _ = tokio::time::timeout(REPLY_GRACE, &mut serve).await;
            }
            value
        }
        served = &mut serve => {
            served?;
            saver.await.0
        }
    }
}

pub(crate) fn refused(ui: &crate::ui::Ui, e: &dyn std::fmt::Display) -> Reply {
    ui.warn(strip_controls(&format!(
        "refused a callback that failed verification ({e:#}); still waiting"
    )));
    Reply::text(StatusCode::FORBIDDEN, "Verification failed")
}

/// The answer once the pair is kept: `{"status":"success"}` to the server's POST, the page
/// that finishes the installation to the frame form.
pub(crate) fn success(form: Form, library: &str, what: &str) -> Reply {
    match form {
        Form::Server => Reply::json(StatusCode::OK, r#"{"status":"success"}"#.into()),
        Form::Frame => Reply::html(StatusCode::OK, page::finish(library, what)),
    }
}

/// What the saver needs: set once before listening.
pub(crate) struct Saver<'a> {
    pub keeper: Keeper<'a>,
    /// Where the finishing page loads `BX24` from ([`page::BX24_LIBRARY`]).
    pub library: String,
    /// The flow ends once a candidate is kept (`setup`).
    pub first_candidate_ends: bool,
}

/// One callback's outcome, for its answer and for the flow.
enum Taken {
    Saved(Profile),
    /// Kept as a candidate (the portal it claims).
    Kept(String),
    Refused(String),
    Full,
    TooLarge,
}

impl Saver<'_> {
    /// Takes verified callbacks one at a time: a proven one ends the flow; an unproven one is
    /// kept as a candidate and the listener waits on. Returns the flow's value, and whether a
    /// final reply is on its way to a sender.
    pub(crate) async fn run(
        &self,
        mut queue: tokio::sync::mpsc::UnboundedReceiver<Job>,
        mut deadline: Option<tokio::time::Instant>,
        timeout: Option<std::time::Duration>,
    ) -> (Result<Ended>, bool) {
        loop {
            let expire = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            let job = tokio::select! {
                Some(job) = queue.recv() => job,
                _ = expire => return (self.expired(timeout).await, false),
            };
            let answer = job.answer;
            match self.decide(job.callback).await {
                Decided::Saved(reply, profile) => {
                    let _ = answer.send(Answer::Final(reply));
                    return (Ok(Ended::Saved(profile)), true);
                }
                Decided::Answered(reply, kept) => {
                    // A stop signal that came during the save ends the wait with what was kept.
                    if kept && (self.first_candidate_ends || crate::signals::checkpoint().is_err())
                    {
                        let _ = answer.send(Answer::Final(reply));
                        return (self.expired(timeout).await, true);
                    }
                    if kept {
                        deadline
                            .get_or_insert_with(|| tokio::time::Instant::now() + CANDIDATE_GRACE);
                    }
                    let _ = answer.send(Answer::Continue(reply));
                }
                Decided::Failed(reply, e) => {
                    let _ = answer.send(Answer::Final(reply));
                    return (Err(e), true);
                }
            }
        }
    }

    /// One verified callback, kept durably (as the profile or a candidate) before the reply
    /// that says so is made. The entry point for a server that routes requests itself.
    pub(crate) async fn decide(&self, cb: Callback) -> Decided {
        let form = cb.form;
        match self.take(&cb.server, cb.auth, cb.proof, cb.received).await {
            Ok(Taken::Saved(profile)) => {
                let what = self.saved_text(&profile);
                Decided::Saved(success(form, &self.library, &what), profile)
            }
            Ok(Taken::Kept(portal)) => {
                let what = format!(
                    "b24auth kept the tokens of portal {portal} as a candidate: they are used once `b24auth refresh`, run with the app's client credentials, proves them at the OAuth server."
                );
                Decided::Answered(success(form, &self.library, &what), true)
            }
            Ok(Taken::Refused(why)) => Decided::Answered(refused(&self.keeper.cfg.ui, &why), false),
            Ok(Taken::Full) => {
                self.keeper.cfg.ui.warn(format_args!(
                    "{:#}; a callback was answered 507 and NOT kept",
                    anyhow::Error::from(Full)
                ));
                let reply = Reply::text(
                    StatusCode::INSUFFICIENT_STORAGE,
                    "Too many unproven installs are kept",
                );
                Decided::Answered(reply, false)
            }
            Ok(Taken::TooLarge) => {
                self.keeper.cfg.ui.warn(format_args!(
                    "refused a callback: {:#}; still waiting",
                    anyhow::Error::from(TooLarge)
                ));
                let reply = Reply::text(StatusCode::PAYLOAD_TOO_LARGE, "Auth data is too large");
                Decided::Answered(reply, false)
            }
            Err(e) => {
                let reply = match crate::signals::is_stop(&e) {
                    true => Reply::text(StatusCode::SERVICE_UNAVAILABLE, "Stopping"),
                    false => Reply::text(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Could not save the tokens",
                    ),
                };
                Decided::Failed(reply, e)
            }
        }
    }

    fn saved_text(&self, profile: &Profile) -> String {
        format!(
            "b24auth saved the tokens of portal {} as profile `{}`.",
            profile.portal().unwrap_or_default(),
            self.keeper.cfg.profile
        )
    }

    /// The deadline came between saves: the candidates kept, else nothing arrived (exit 4).
    async fn expired(&self, timeout: Option<std::time::Duration>) -> Result<Ended> {
        let kept = self
            .keeper
            .store
            .candidates(&self.keeper.cfg.profile)
            .await?;
        if !kept.is_empty() {
            return Ok(Ended::Candidates(kept));
        }
        Err(crate::exit::Error::TimedOut(format!(
            "the installation callback did not arrive within {}; nothing was written (raise --timeout to wait longer)",
            crate::ui::human_duration(timeout.unwrap_or_default().as_secs() as i64)
        ))
        .into())
    }

    /// One callback: a confirmed (or `--no-verify`) pair saved as the profile on the store's
    /// `save_new`; an unproven one kept as a candidate first.
    async fn take(
        &self,
        server: &Url,
        auth: Map<String, Value>,
        proof: Proof,
        received: i64,
    ) -> Result<Taken> {
        let (cfg, store) = (self.keeper.cfg, self.keeper.store);
        let mut profile = Profile::from_bitrix(auth, Source::Install, received);
        let identity = proof.identity().clone();
        profile.set_member_id(&identity.member_id);
        profile.set_client_endpoint(identity.client_endpoint.as_str());
        profile.set_client(cfg.client_id.as_deref(), cfg.client_secret.as_ref());
        profile.set_oauth_server(server.as_str());
        match proof {
            Proof::Confirmed(_) => {}
            Proof::NotChecked(_) => profile.mark_not_checked(),
            Proof::Unproven(_, why) => {
                return self.candidate(profile, received, server, &why).await
            }
        }
        let copy = profile.clone();
        let made = std::cell::Cell::new(false);
        let make = || async {
            made.set(true);
            Ok(profile)
        };
        match store::save_new(store, &cfg.profile, self.keeper.mode, make).await {
            Ok(saved) => {
                self.keeper.forget_copies(&saved).await;
                Ok(Taken::Saved(saved))
            }
            // Refused before the pair was looked at (a profile saved meanwhile, say by
            // `refresh` in another terminal, without --force): the pair stays a candidate.
            Err(e) if !made.get() => self.hold_after(copy, received, server, &e).await,
            Err(e) => Err(e),
        }
    }

    async fn hold_after(
        &self,
        profile: Profile,
        received: i64,
        server: &Url,
        why: &anyhow::Error,
    ) -> Result<Taken> {
        let portal = profile.portal().unwrap_or_default();
        Ok(match self.keeper.hold(profile, received, server).await? {
            Ok(_) => {
                self.keeper.cfg.ui.warn(strip_controls(&format!(
                    "kept the confirmed callback of portal {portal} as a CANDIDATE ({why:#}); {} with the client credentials proves it and makes it the profile; still listening",
                    crate::ui::hint::cmd(&["refresh"])
                )));
                Taken::Kept(portal)
            }
            Err(Kept::TooLarge) => Taken::TooLarge,
            Err(_) => Taken::Full,
        })
    }

    async fn candidate(
        &self,
        profile: Profile,
        received: i64,
        server: &Url,
        why: &str,
    ) -> Result<Taken> {
        let ui = &self.keeper.cfg.ui;
        let portal = profile.portal().unwrap_or_default();
        Ok(match self.keeper.keep(profile, received, server).await? {
            Kept::Proven(profile) => {
                ui.info(strip_controls(&format!(
                    "app.info did not name the portal; a refresh at the OAuth server did: {portal}"
                )));
                Taken::Saved(profile)
            }
            Kept::Candidate(also) => {
                ui.warn(strip_controls(&format!(
                    "kept the install callback claiming portal {portal} as a CANDIDATE ({why}; {also}): nothing uses it until {} with B24AUTH_CLIENT_ID and B24AUTH_CLIENT_SECRET set proves it; still listening",
                    crate::ui::hint::cmd(&["refresh"])
                )));
                Taken::Kept(portal)
            }
            Kept::Contradicted(why) => Taken::Refused(why),
            Kept::Full => Taken::Full,
            Kept::TooLarge => Taken::TooLarge,
        })
    }
}
