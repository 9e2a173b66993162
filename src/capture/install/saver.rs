/*!
Saves verified callbacks one at a time, durably, before any answer goes out.

The saver is a future no connection owns: a sender that hangs up, or a connection that reaches
its lifetime, cannot drop a pair being saved, and the deadline is only looked at between saves.
*/

use anyhow::Result;
use hyper::StatusCode;
use serde_json::{Map, Value};
use url::Url;

use super::candidates::{Made, NotKept, Worth};
use super::verify::{self, Checks, Proof, Refused};
use crate::bitrix::oauth;
use crate::capture::listener::Reply;
use crate::profile::{now, Profile, Source};
use crate::session::config::RunConfig;
use crate::store::{self, SaveMode, Store};
use crate::ui::sanitize::strip_controls;

/// A verified callback on its way to the saver, with where its answer goes.
pub(crate) struct Job {
    pub server: Url,
    pub auth: Map<String, Value>,
    pub proof: Proof,
    pub received: i64,
    pub answer: tokio::sync::oneshot::Sender<Answer>,
}

/// The saver's word to the connection that carried the callback.
pub(crate) enum Answer {
    /// The flow ends with this reply.
    Final(Reply),
    /// Answered, and the listener keeps waiting (an unverified save, a refusal).
    Continue(Reply),
}

/// After an unverified save with no `--timeout`, the listener still waits this long for a
/// confirmed callback to replace it, then exits 0 with the unverified pair.
const UNVERIFIED_GRACE: std::time::Duration = std::time::Duration::from_secs(600);

/// How long a final reply may take to reach the sender once the pair is saved.
const REPLY_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs the listener and the saver side by side; ends with the saver's value once the reply
/// that carries it was written (or its connection is gone).
pub(crate) async fn saved_and_answered(
    serve: impl std::future::Future<Output = Result<()>>,
    saver: impl std::future::Future<Output = (Result<Profile>, bool)>,
) -> Result<Profile> {
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

pub(crate) fn refused(ui: &crate::ui::Ui, e: &anyhow::Error) -> Reply {
    ui.warn(strip_controls(&format!(
        "refused a callback that failed verification ({e:#}); still waiting"
    )));
    Reply::text(StatusCode::FORBIDDEN, "Verification failed")
}

fn success() -> Reply {
    Reply::json(StatusCode::OK, r#"{"status":"success"}"#.into())
}

/// What the saver needs: set once before listening.
pub(crate) struct Saver<'a> {
    pub cfg: &'a RunConfig,
    pub store: &'a dyn Store,
    pub mode: SaveMode,
    pub checks: &'a Checks,
}

impl Saver<'_> {
    /// Saves verified callbacks one at a time. An unverified save is kept while the listener
    /// waits on for a confirmed callback to replace it. Returns the flow's value, and whether
    /// a final reply is on its way to a sender.
    pub(crate) async fn run(
        &self,
        mut queue: tokio::sync::mpsc::UnboundedReceiver<Job>,
        mut deadline: Option<tokio::time::Instant>,
        timeout: Option<std::time::Duration>,
    ) -> (Result<Profile>, bool) {
        let mut kept: Option<Made> = None;
        loop {
            let expire = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            let job = tokio::select! {
                Some(job) = queue.recv() => job,
                _ = expire => return (self.expired(kept, timeout), false),
            };
            let answer = job.answer;
            let worth = kept.as_ref().map(|m| m.worth);
            let made = self
                .save(&job.server, job.auth, job.proof, job.received, worth)
                .await;
            let reply = match made {
                Ok(made) if made.worth == Worth::Proven => {
                    if kept.is_some() {
                        self.cfg.ui.info(
                            "a confirmed callback replaced the unverified one saved before: the confirmed pair is kept",
                        );
                    }
                    let _ = answer.send(Answer::Final(success()));
                    return (Ok(made.profile), true);
                }
                Ok(made) => {
                    self.kept_unverified(&made, kept.as_ref(), timeout);
                    // A stop signal that came during the save ends the wait with what was saved.
                    if crate::signals::checkpoint().is_err() {
                        let _ = answer.send(Answer::Final(success()));
                        return (Ok(made.profile), true);
                    }
                    deadline.get_or_insert_with(|| tokio::time::Instant::now() + UNVERIFIED_GRACE);
                    kept = Some(made);
                    success()
                }
                Err(e) if e.is::<NotKept>() => {
                    self.cfg.ui.warn(strip_controls(&format!(
                        "another unverified callback ({}) came while one is kept: the first is kept, this one was answered 409; still waiting for a confirmed callback",
                        e.downcast_ref::<NotKept>().map(|n| n.0.as_str()).unwrap_or("-")
                    )));
                    Reply::text(
                        StatusCode::CONFLICT,
                        "An unverified install is already kept",
                    )
                }
                Err(e) if e.is::<Refused>() => refused(&self.cfg.ui, &e),
                Err(e) => {
                    let reply = match crate::signals::is_stop(&e) {
                        true => Reply::text(StatusCode::SERVICE_UNAVAILABLE, "Stopping"),
                        false => Reply::text(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "Could not save the tokens",
                        ),
                    };
                    let _ = answer.send(Answer::Final(reply));
                    return (Err(e), true);
                }
            };
            let _ = answer.send(Answer::Continue(reply));
        }
    }

    /// The deadline came between saves: the unverified pair kept, else nothing arrived.
    fn expired(&self, kept: Option<Made>, timeout: Option<std::time::Duration>) -> Result<Profile> {
        match kept {
            Some(made) => {
                self.cfg.ui.warn(
                    "no confirmed callback came before the deadline: the UNVERIFIED pair saved before is kept",
                );
                Ok(made.profile)
            }
            None => Err(crate::exit::Error::TimedOut(format!(
                "the installation callback did not arrive within {}; nothing was written (raise --timeout to wait longer)",
                crate::ui::human_duration(timeout.unwrap_or_default().as_secs() as i64)
            ))
            .into()),
        }
    }

    fn kept_unverified(
        &self,
        made: &Made,
        before: Option<&Made>,
        timeout: Option<std::time::Duration>,
    ) {
        if before.is_some() {
            self.cfg.ui.warn(
                "a callback whose pair rotated replaced the unverified one saved before (a rotated pair is never dropped); it is kept, still UNVERIFIED",
            );
        }
        let until = match timeout {
            Some(t) => crate::ui::human_duration(t.as_secs() as i64),
            None => crate::ui::human_duration(UNVERIFIED_GRACE.as_secs() as i64),
        };
        self.cfg.ui.warn(strip_controls(&format!(
            "saved portal {} UNVERIFIED; still listening (for at most {until} in all) so that a confirmed callback can replace it",
            made.profile.portal().unwrap_or_default()
        )));
    }

    /// One save on the store's `save_new` road; a profile kept before is replaced.
    async fn save(
        &self,
        server: &Url,
        auth: Map<String, Value>,
        proof: Proof,
        received: i64,
        kept: Option<Worth>,
    ) -> Result<Made> {
        let mode = match kept {
            Some(_) => SaveMode::Replace,
            None => self.mode,
        };
        let worth = std::cell::Cell::new(Worth::Unproven);
        let make = || async {
            let made = self.make(server, auth, proof, received).await?;
            if made.worth < Worth::Rotated && kept.is_some_and(|k| k >= made.worth) {
                return Err(NotKept(made.profile.portal().unwrap_or_default()).into());
            }
            worth.set(made.worth);
            Ok(made.profile)
        };
        let profile = store::save_new(self.store, &self.cfg.profile, mode, make).await?;
        Ok(Made {
            profile,
            worth: worth.get(),
        })
    }

    /// The pair to save, made under the profile's lock (the store's `save_new` road). An
    /// unproven callback is proven by a refresh at the trusted server when the client
    /// credentials are at hand, else saved marked unverified.
    async fn make(
        &self,
        server: &Url,
        auth: Map<String, Value>,
        proof: Proof,
        received: i64,
    ) -> Result<Made> {
        let mut profile = Profile::from_bitrix(auth, Source::Install, received);
        let identity = proof.identity().clone();
        profile.set_str("member_id", &identity.member_id);
        profile.set_client_endpoint(identity.client_endpoint.as_str());
        profile.set_client(
            self.cfg.client_id.as_deref(),
            self.cfg.client_secret.as_ref(),
        );
        profile.set_oauth_server(server.as_str());
        match proof {
            Proof::Confirmed(_) => return Ok(Made::proven(profile)),
            Proof::NotChecked(_) => {
                profile.mark_not_checked();
                return Ok(Made::proven(profile));
            }
            Proof::Unproven(_) => {}
        }
        match (&self.cfg.client_id, &self.cfg.client_secret) {
            (Some(id), Some(secret)) => {
                let creds = oauth::Credentials {
                    id: id.clone(),
                    secret: secret.clone(),
                };
                self.prove_by_refresh(server, profile, &identity, &creds)
                    .await
            }
            _ => Ok(self.keep_unverified(
                profile,
                Worth::Unproven,
                "no client credentials were given",
            )),
        }
    }

    /// Refreshes at once at the trusted OAuth server: its answer names `client_endpoint` and
    /// `member_id`, and they must be the callback's. A refresh token it does not know is a
    /// forged callback (403); a failure that proves nothing either way keeps the pair
    /// unverified; an answer naming another portal keeps the rotated pair, unverified.
    async fn prove_by_refresh(
        &self,
        server: &Url,
        mut profile: Profile,
        claimed: &verify::Identity,
        creds: &oauth::Credentials,
    ) -> Result<Made> {
        crate::bitrix::server::check_oauth_server(server)?;
        let client = self.checks.http.with_server(server.clone());
        let response = match client.refresh(creds, &profile.refresh_token()).await {
            Ok(response) => response,
            Err(e) => {
                return match e.downcast_ref::<oauth::ServerError>() {
                    Some(se) if se.code.needs_reauthorization() => Err(Refused(e).into()),
                    _ => Ok(self.keep_unverified(
                        profile,
                        Worth::Unproven,
                        &format!("the proving refresh failed ({e:#})"),
                    )),
                }
            }
        };
        // Marked first, so that only an answer naming the claimed portal clears the mark
        // (and drops what only the callback said: `Profile::refreshed`).
        profile.mark_unverified();
        let new = profile.refreshed(response.clone(), now());
        let named = match verify::named_by_refresh(&response, self.checks.allow_http) {
            Ok(named) => named,
            // The pair has rotated: the new one is kept whatever its answer lacked.
            Err(e) => return Ok(self.keep_unverified(new, Worth::Rotated, &format!("{e:#}"))),
        };
        if named.domain != claimed.domain || named.member_id != claimed.member_id {
            self.cfg.ui.warn(strip_controls(&format!(
                "CONTRADICTION: the callback claimed portal {} (member_id {}) but the proving refresh at the OAuth server names {} (member_id {}): the rotated pair is kept UNVERIFIED under the callback's claim, and no command uses it; reinstall the app if this was your install",
                claimed.domain, claimed.member_id, named.domain, named.member_id
            )));
            return Ok(self.keep_unverified(
                new,
                Worth::Rotated,
                "the refresh named another portal",
            ));
        }
        self.cfg.ui.info(strip_controls(&format!(
            "app.info did not name the portal; a refresh at the OAuth server did: {}",
            named.domain
        )));
        Ok(Made::proven(new))
    }

    fn keep_unverified(&self, mut profile: Profile, worth: Worth, why: &str) -> Made {
        profile.mark_unverified();
        self.cfg.ui.warn(strip_controls(&format!(
            "app.info neither confirmed nor contradicted the callback and {why}: saved it UNVERIFIED; no command hands out its token or endpoint before {} (with B24AUTH_CLIENT_ID and B24AUTH_CLIENT_SECRET) proves it at the OAuth server",
            crate::ui::hint::cmd(&["refresh"])
        )));
        Made { profile, worth }
    }
}
