/*!
Callbacks kept until proven: a callback the trusted server neither confirmed nor contradicted is
kept durably as a candidate beside the profile ([`crate::store::candidates`]) before it is
answered, then proven at once by a refresh when the client credentials are at hand
([`crate::session::proof`]). Candidates never displace one another; the same pair posted twice
is kept once.
*/

use anyhow::Result;
use url::Url;

use super::verify::Checks;
use crate::bitrix::oauth::{self, Credentials};
use crate::profile::Profile;
use crate::session::config::RunConfig;
use crate::session::proof::{Prover, Verdict};
use crate::store::candidates::{Candidate, Full, TooLarge};
use crate::store::{SaveMode, Store};

/// What became of an unproven callback.
pub(crate) enum Kept {
    /// Proven at once by a refresh: saved as the profile.
    Proven(Profile),
    /// Kept as a candidate (why it is not proven yet).
    Candidate(String),
    /// The trusted server contradicted it: dropped (why).
    Contradicted(String),
    /// [`crate::store::candidates::MAX_CANDIDATES`] are kept already: not kept.
    Full,
    /// Its stored form would be over the candidate bound: never a pair Bitrix24 sent.
    TooLarge,
}

/// Where candidates go and how they are proven: set once before listening.
pub(crate) struct Keeper<'a> {
    pub cfg: &'a RunConfig,
    pub store: &'a Store,
    pub mode: SaveMode,
    pub checks: &'a Checks,
}

impl Keeper<'_> {
    /// Keeps `profile` (a callback's pair, its claim checked for consistency only) as a
    /// candidate, durably, then proves it when the client credentials are at hand.
    pub(crate) async fn keep(&self, profile: Profile, received: i64, server: &Url) -> Result<Kept> {
        let candidate = match self.hold(profile, received, server).await? {
            Ok(candidate) => candidate,
            Err(kept) => return Ok(kept),
        };
        let Some(creds) = self.credentials() else {
            return Ok(Kept::Candidate("no client credentials were given".into()));
        };
        let prover = self.prover(&creds);
        let client: oauth::Client = self.checks.http.with_server(server.clone());
        Ok(match prover.prove(&client, candidate).await? {
            Verdict::Proven(profile) => Kept::Proven(profile),
            Verdict::Contradicted(why) => Kept::Contradicted(why),
            Verdict::Undecided(why) => {
                Kept::Candidate(format!("the proving refresh did not decide ({why})"))
            }
        })
    }

    /// Keeps `profile` as a candidate durably (once: the same pair kept before is that one),
    /// or says why not (`Err`: full, too large).
    pub(crate) async fn hold(
        &self,
        profile: Profile,
        received: i64,
        server: &Url,
    ) -> Result<std::result::Result<Candidate, Kept>> {
        let name = &self.cfg.profile;
        let same_pair =
            |c: &Candidate| c.profile.refresh_token().expose() == profile.refresh_token().expose();
        let candidate = match self
            .store
            .candidates(name)
            .await?
            .into_iter()
            .find(same_pair)
        {
            Some(kept) => kept,
            None => {
                let candidate = Candidate::new(profile, received);
                match self.store.keep_candidate(name, &candidate).await {
                    Err(e) if e.is::<TooLarge>() => return Ok(Err(Kept::TooLarge)),
                    // Full: with the credentials, the kept ones are proven or dropped first.
                    Err(e) if e.is::<Full>() => match self.sweep(server).await? {
                        true => match self.store.keep_candidate(name, &candidate).await {
                            Err(e) if e.is::<Full>() => return Ok(Err(Kept::Full)),
                            other => other?,
                        },
                        false => return Ok(Err(Kept::Full)),
                    },
                    other => other?,
                }
                candidate
            }
        };
        Ok(Ok(candidate))
    }

    fn credentials(&self) -> Option<Credentials> {
        let (Some(id), Some(secret)) = (&self.cfg.client_id, &self.cfg.client_secret) else {
            return None;
        };
        Some(Credentials {
            id: id.clone(),
            secret: secret.clone(),
        })
    }

    fn prover<'b>(&'b self, creds: &'b Credentials) -> Prover<'b> {
        Prover {
            store: self.store,
            name: &self.cfg.profile,
            mode: self.mode,
            creds,
            allow_http: self.checks.allow_http,
            ui: &self.cfg.ui,
        }
    }

    /// The bound is reached: with the credentials, each kept candidate is proven (promoted)
    /// or contradicted (dropped) before a new one is refused. Whether any room was made.
    async fn sweep(&self, server: &Url) -> Result<bool> {
        let Some(creds) = self.credentials() else {
            return Ok(false);
        };
        let prover = self.prover(&creds);
        let client: oauth::Client = self.checks.http.with_server(server.clone());
        let mut room = false;
        for kept in self.store.candidates(&self.cfg.profile).await? {
            room |= !matches!(prover.prove(&client, kept).await?, Verdict::Undecided(_));
        }
        Ok(room)
    }

    /// After `saved` became the profile: a candidate holding the same pair (the callback
    /// posted again while its verification had no verdict) is the profile now, not a claim.
    pub(crate) async fn forget_copies(&self, saved: &Profile) {
        let name = &self.cfg.profile;
        let Ok(kept) = self.store.candidates(name).await else {
            return;
        };
        let same = saved.refresh_token();
        for c in kept
            .iter()
            .filter(|c| c.profile.refresh_token().expose() == same.expose())
        {
            if let Err(e) = self.store.drop_candidate(name, &c.id).await {
                self.cfg.ui.warn(format_args!(
                    "could not remove a candidate now saved as the profile: {e:#}"
                ));
            }
        }
    }
}
