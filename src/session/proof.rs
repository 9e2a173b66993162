/*!
Proving kept install candidates ([`crate::store::candidates`]) at the trusted OAuth server.

A refresh there with the app's client credentials is the proof: its answer names the pair's
portal (`client_endpoint`'s host) and `member_id`; when they are the candidate's claim, the
rotated pair becomes the profile. A refresh token the server refuses, or an answer naming
another portal, is the server's contradiction: the candidate is dropped, with a note. Anything
else (the server down, a 500, an answer that names nothing) is no verdict: the candidate stays,
rotated when the refresh rotated it. Every outcome is durable before it is reported.
*/

use anyhow::Result;

use crate::bitrix::oauth::{self, Credentials, ServerError};
use crate::bitrix::server::for_refresh;
use crate::exit;
use crate::profile::{host_port, now, Profile};
use crate::session::config::RunConfig;
use crate::store::candidates::Candidate;
use crate::store::{self, SaveMode, Store};
use crate::ui::sanitize::strip_controls;
use crate::ui::Ui;

/// What the trusted server said about one candidate (already acted on).
pub(crate) enum Verdict {
    /// The refresh named the claimed portal: the rotated pair is saved as the profile.
    Proven(Profile),
    /// The trusted server contradicted it: the candidate was dropped (why).
    Contradicted(String),
    /// No verdict (why): the candidate is kept, rotated when the refresh rotated it.
    Undecided(String),
}

/// What proving needs: where, with which credentials.
pub(crate) struct Prover<'a> {
    pub store: &'a Store,
    pub name: &'a str,
    /// How the proven pair may be saved (a command with nothing stored: `Create`).
    pub mode: SaveMode,
    pub creds: &'a Credentials,
    /// Plain `http://` portals the user allowed (`--allow-http`).
    pub allow_http: bool,
    pub ui: &'a Ui,
}

/// The refresh did not decide; carried out of the locked save so nothing is written there.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct NotProven(String, bool);

impl Prover<'_> {
    /// Proves `candidate` by a refresh at `client`'s server, under the profile's lock, and
    /// acts on the verdict before returning. `Err` only for a local failure (a save).
    pub(crate) async fn prove(
        &self,
        client: &oauth::Client,
        candidate: Candidate,
    ) -> Result<Verdict> {
        let make = || async {
            crate::bitrix::server::check_oauth_server(client.server())?;
            let response = match client
                .refresh(self.creds, &candidate.profile.refresh_token())
                .await
            {
                Ok(response) => response,
                Err(e) => return Err(NotProven(format!("{e:#}"), contradicts(&e)).into()),
            };
            let mut new = candidate.profile.refreshed(response.clone(), now());
            new.set_client(Some(&self.creds.id), Some(&self.creds.secret));
            new.set_oauth_server(client.server().as_str());
            match self.names_claim(&candidate.profile, &response) {
                Ok(host) => {
                    // `domain` names the proven portal (a token answer puts the OAuth server
                    // there); `application_token` was only the unproven callback's word.
                    new.set_domain(&host);
                    new.remove_application_token();
                    Ok(new)
                }
                Err(NotProven(why, true)) => Err(NotProven(why, true).into()),
                Err(NotProven(why, false)) => {
                    // Rotated, and still no verdict: the new pair replaces the candidate's.
                    let rotated = Candidate {
                        id: candidate.id.clone(),
                        profile: new,
                    };
                    self.store.keep_candidate(self.name, &rotated).await?;
                    Err(NotProven(why, false).into())
                }
            }
        };
        let saved = store::save_new(self.store, self.name, self.mode, make).await;
        match saved {
            Ok(profile) => {
                self.forget(&candidate.id).await;
                Ok(Verdict::Proven(profile))
            }
            Err(e) => match e.downcast::<NotProven>() {
                Ok(NotProven(why, true)) => {
                    self.store.drop_candidate(self.name, &candidate.id).await?;
                    self.ui.warn(strip_controls(&format!(
                        "dropped the install callback claiming portal {} (arrived {}): the OAuth server contradicted it ({why})",
                        candidate.claimed_portal(),
                        crate::ui::utc(candidate.received_at())
                    )));
                    Ok(Verdict::Contradicted(why))
                }
                Ok(NotProven(why, false)) => Ok(Verdict::Undecided(why)),
                Err(e) => Err(e),
            },
        }
    }

    /// The promoted candidate's file goes; a failure here leaves a candidate whose pair is dead,
    /// which the next proof drops as contradicted.
    async fn forget(&self, id: &str) {
        if let Err(e) = self.store.drop_candidate(self.name, id).await {
            self.ui
                .warn(format_args!("could not remove a promoted candidate: {e:#}"));
        }
    }

    /// Whether the refresh answer names the candidate's claimed portal and member.
    fn names_claim(
        &self,
        claim: &Profile,
        response: &serde_json::Map<String, serde_json::Value>,
    ) -> std::result::Result<String, NotProven> {
        let text = |k: &str| {
            response
                .get(k)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
        };
        let (Some(endpoint), Some(member)) = (text("client_endpoint"), text("member_id")) else {
            return Err(NotProven(
                "the refresh answer names no client_endpoint and member_id".into(),
                false,
            ));
        };
        let url = url::Url::parse(endpoint).ok();
        let host = url
            .as_ref()
            .and_then(host_port)
            .map(|h| h.to_ascii_lowercase());
        let claimed = claim.portal().map(|h| h.to_ascii_lowercase());
        if host != claimed || Some(member) != claim.member_id() {
            return Err(NotProven(
                format!(
                    "the refresh answer names portal {} (member_id {member}), not the claimed {}",
                    host.unwrap_or_default(),
                    claimed.unwrap_or_default()
                ),
                true,
            ));
        }
        let scheme_ok = url.as_ref().is_some_and(|u| {
            u.scheme() == "https"
                || (u.scheme() == "http"
                    && (self.allow_http || crate::bitrix::server::is_loopback(u)))
        });
        match scheme_ok {
            true => Ok(claimed.unwrap_or_default()),
            false => Err(NotProven(
                "the refresh answer's client_endpoint is not https (allow an on-premise portal with --allow-http)".into(),
                false,
            )),
        }
    }
}

/// The server's refusal of the refresh token itself (not of our credentials, not "not now").
fn contradicts(e: &anyhow::Error) -> bool {
    e.downcast_ref::<ServerError>()
        .is_some_and(|se| se.code.needs_reauthorization() && !se.code.is_client_refusal())
}

/// What proving takes of the session: its store and its run's configuration (passed in, so
/// this file and the session's index do not import each other).
#[derive(Clone, Copy)]
pub(crate) struct Proving<'a> {
    pub store: &'a Store,
    pub cfg: &'a RunConfig,
}

impl Proving<'_> {
    fn profile_name(&self) -> &str {
        &self.cfg.profile
    }

    fn nothing_stored(&self) -> anyhow::Error {
        let name = self.profile_name();
        store::nothing_stored_at(name, &self.store.location(name))
    }

    fn oauth_client(&self, server: url::Url) -> Result<oauth::Client> {
        oauth::Client::new(server, self.cfg.http_timeout)
    }
}

/// Exit 3 for a profile with only unproven candidates, naming the command that proves them.
pub(crate) fn not_yet_proven(profile: &str, kept: &[Candidate]) -> anyhow::Error {
    let portals: Vec<String> = kept
        .iter()
        .map(|c| {
            format!(
                "{} ({})",
                c.claimed_portal(),
                crate::ui::utc(c.received_at())
            )
        })
        .collect();
    exit::auth_needed(strip_controls(&format!(
        "profile `{profile}`: candidates not yet proven — {} install callback(s) kept, claiming {}; prove them with B24AUTH_CLIENT_ID and B24AUTH_CLIENT_SECRET set: {}",
        kept.len(),
        portals.join(", "),
        crate::ui::hint::cmd(&["refresh"])
    )))
}

/// Nothing stored for the session's profile: prove its candidates, oldest first, until one
/// becomes the profile. Without candidates, the usual "nothing stored"; without the client
/// credentials (flags or environment), exit 3 naming the command that proves them.
pub(crate) async fn from_candidates(s: Proving<'_>) -> Result<Profile> {
    let name = s.profile_name();
    let kept = s.store.candidates(name).await?;
    if kept.is_empty() {
        return Err(s.nothing_stored());
    }
    let (Some(id), Some(secret)) = (&s.cfg.client_id, &s.cfg.client_secret) else {
        return Err(not_yet_proven(name, &kept));
    };
    let creds = Credentials {
        id: id.clone(),
        secret: secret.clone(),
    };
    if let Some(profile) = prove_in_turn(s, kept, &creds, SaveMode::Create).await? {
        return Ok(profile);
    }
    let left = s.store.candidates(name).await?;
    match left.is_empty() {
        true => Err(s.nothing_stored()),
        false => Err(not_yet_proven(name, &left)),
    }
}

/// A profile is stored: candidates that arrived after its last save (an install under
/// `install-listen --force`, a reinstall) are proven when the client credentials are given,
/// and the first proven one replaces it. Older candidates are left as they are (`show` and
/// `list` name them): they never displace a pair saved after them.
pub(crate) async fn newer_than(s: Proving<'_>, profile: Profile) -> Result<Profile> {
    let (Some(id), Some(secret)) = (&s.cfg.client_id, &s.cfg.client_secret) else {
        return Ok(profile);
    };
    let saved_at = profile.saved_at().unwrap_or(i64::MAX);
    let newer: Vec<Candidate> = match s.store.candidates(s.profile_name()).await {
        Ok(kept) => kept
            .into_iter()
            .filter(|c| c.received_at() > saved_at)
            .collect(),
        Err(_) => return Ok(profile),
    };
    if newer.is_empty() {
        return Ok(profile);
    }
    let creds = Credentials {
        id: id.clone(),
        secret: secret.clone(),
    };
    Ok(prove_in_turn(s, newer, &creds, SaveMode::Replace)
        .await?
        .unwrap_or(profile))
}

/// Proves `kept` oldest first until one becomes the profile (saved with `mode`).
async fn prove_in_turn(
    s: Proving<'_>,
    kept: Vec<Candidate>,
    creds: &Credentials,
    mode: SaveMode,
) -> Result<Option<Profile>> {
    let name = s.profile_name();
    for candidate in kept {
        // A plain-http portal was allowed (`--allow-http`) when the candidate was kept.
        let allow_http = candidate
            .profile
            .client_endpoint()
            .is_some_and(|e| e.starts_with("http://"));
        let prover = Prover {
            store: s.store,
            name,
            mode,
            creds,
            allow_http,
            ui: &s.cfg.ui,
        };
        let portal = candidate.claimed_portal();
        // A candidate naming a server outside Bitrix24's waits for the user to name it: its
        // refresh token goes nowhere unasked, and the other candidates still get their turn.
        let server = match for_refresh(s.cfg.oauth_server.as_ref(), &candidate.profile) {
            Ok(server) => server,
            Err(why) => {
                s.cfg.ui.warn(strip_controls(&format!(
                    "the install callback of portal {portal} is still unproven ({why:#}); it stays kept"
                )));
                continue;
            }
        };
        let client = s.oauth_client(server)?;
        match prover.prove(&client, candidate).await? {
            Verdict::Proven(profile) => {
                s.cfg.ui.info(strip_controls(&format!(
                    "proved the install callback of portal {portal} at the OAuth server: saved as profile `{name}`"
                )));
                crate::signals::checkpoint()?;
                return Ok(Some(profile));
            }
            Verdict::Contradicted(_) => {}
            Verdict::Undecided(why) => s.cfg.ui.warn(strip_controls(&format!(
                "the install callback of portal {portal} is still unproven ({why}); it stays kept"
            ))),
        }
    }
    Ok(None)
}
