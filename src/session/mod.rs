/*!
`Session`: the token lifecycle of one profile, for every command that needs a pair.

It owns the store and the one refresh path: a valid profile for `token`/`exec`/`call`, a refresh
under the store's lock (single-flight; the rotation is saved before the lock is let go), the save
mode of a new pair, and the client credentials. `rest` and the commands call it; it calls the
store and the OAuth client, never a command.
*/

pub(crate) mod check;
pub(crate) mod child_env;
pub(crate) mod config;
pub(crate) mod hook;
pub(crate) mod proof;

use anyhow::Result;
use url::Url;

use crate::bitrix::errors;
use crate::bitrix::errors::ServerError;
use crate::bitrix::oauth::{self, Credentials};
use crate::exit;
use crate::profile::token_answer::UnstorableRefreshToken;
use crate::profile::{now, Profile};
use crate::session::config::RunConfig;
use crate::store::{self, Refreshed, SaveMode, Store};
use crate::ui::hint;

pub(crate) struct Session {
    pub cfg: RunConfig,
    pub store: Store,
}

impl Session {
    pub fn open(cfg: RunConfig) -> Result<Session> {
        let store = store::open(
            &cfg.store_url,
            cfg.config_dir.clone(),
            cfg.store_key.as_ref(),
            cfg.ui,
        )?;
        Ok(Session { cfg, store })
    }

    pub fn profile_name(&self) -> &str {
        &self.cfg.profile
    }

    pub fn location(&self) -> String {
        self.store.location(&self.cfg.profile)
    }

    /// What proving candidates takes of the session: its store and configuration.
    fn proof_context(&self) -> proof::ProofContext<'_> {
        proof::ProofContext {
            store: &self.store,
            cfg: &self.cfg,
        }
    }

    /// The exit-3 error for a profile with nothing stored.
    pub fn nothing_stored(&self) -> anyhow::Error {
        store::nothing_stored_at(&self.cfg.profile, &self.location())
    }

    /// The stored profile, or the exit-3 error when there is none or when it holds a refresh
    /// answer that named another portal (nothing uses it before `refresh --accept-change`).
    /// With nothing stored but install candidates kept, the client credentials at hand prove
    /// them ([`proof`]).
    pub async fn load(&self) -> Result<Profile> {
        let profile = match self.store.load(&self.cfg.profile).await? {
            Some(profile) => proof::newer_than(self.proof_context(), profile).await?,
            None => proof::from_candidates(self.proof_context()).await?,
        };
        let profile = store::marks::refuse_uninstalled(&self.cfg.profile, profile)?;
        match profile.contradiction() {
            Some(changes) => Err(self.contradicted(&changes)),
            None => Ok(profile),
        }
    }

    /// Exit 3: the last refresh answer named another portal, `member_id` or scheme.
    fn contradicted(&self, changes: &[String]) -> anyhow::Error {
        exit::auth_needed(crate::ui::sanitize::strip_controls(&format!(
            "profile `{}`: the OAuth server's refresh answer named another portal ({}); the new pair is kept but nothing uses it: if the app moved on purpose, run {} to apply the change, else authorize again",
            self.cfg.profile,
            match changes.is_empty() {
                true => "not the one stored".to_string(),
                false => changes.join(", "),
            },
            hint::cmd(&["refresh", "--accept-change"])
        )))
    }

    /// `refresh --accept-change`: applies, under the lock, the identity a refresh answer named;
    /// `None` when no answer was waiting to be accepted.
    pub async fn accept_change(&self) -> Result<Option<Profile>> {
        let mut accepted = false;
        let profile = store::update_locked(&self.store, &self.cfg.profile, |p| {
            accepted = p.accept_change();
        })
        .await?;
        Ok(accepted.then_some(profile))
    }

    /// The stored profile with an access token valid for `min_ttl` more seconds, refreshed
    /// single-flight when it is not. A fresh token costs one read: no lock, no network.
    pub async fn valid_profile(&self, min_ttl: i64) -> Result<Profile> {
        let stored = self.load().await?;
        // A webhook's address does not expire; there is nothing to refresh.
        if usable_as_stored(&stored, min_ttl) || stored.is_webhook() {
            return Ok(stored);
        }
        Ok(self
            .refresh_with(stored, |p| !p.is_fresh(min_ttl, now()))
            .await?
            .profile)
    }

    /// The stored profile when the store can read it with no runtime (the file store) and its
    /// access token is valid for `min_ttl` more seconds; `None` otherwise (then
    /// [`Session::valid_profile`] decides and reports).
    pub fn fresh_now(&self, min_ttl: i64) -> Option<Profile> {
        let stored = self.store.load_now(&self.cfg.profile)?.ok()??;
        usable_as_stored(&stored, min_ttl).then_some(stored)
    }

    /// Refreshes the profile when `due` says so, single-flight through the store's lock.
    pub async fn refresh(&self, due: impl Fn(&Profile) -> bool) -> Result<Refreshed> {
        let stored = self.load().await?;
        self.refresh_with(stored, due).await
    }

    /// Credentials are resolved before the lock, so a prompt never holds it. An unverified
    /// pair is always due: the refresh at the trusted server is what proves it. A pair kept
    /// apart because its answer named another portal is never due: one refresh made that
    /// decision, and only the user undoes it.
    async fn refresh_with(
        &self,
        stored: Profile,
        due: impl Fn(&Profile) -> bool,
    ) -> Result<Refreshed> {
        if stored.is_webhook() {
            return Err(webhook_has_no_token(&self.cfg.profile, "refresh"));
        }
        let due = |p: &Profile| p.contradiction().is_none() && (p.is_unverified() || due(p));
        if !due(&stored) {
            return Ok(Refreshed {
                profile: stored,
                refreshed: false,
            });
        }
        let creds = self
            .credentials(Some(&stored))
            .map_err(|e| match stored.is_unverified() {
                true => e.context(format!(
                    "profile `{}` holds an install callback the OAuth server has not confirmed yet; a refresh there proves it and needs the app's client credentials",
                    self.cfg.profile
                )),
                false => e,
            })?;
        let kept_notes = std::cell::RefCell::new(Vec::new());
        let notes = &kept_notes;
        let outcome =
            store::refresh_locked(&self.store, &self.cfg.profile, due, |old| async move {
                let server =
                    crate::bitrix::server::for_refresh(self.cfg.oauth_server.as_ref(), &old)?;
                crate::bitrix::server::check_oauth_server(&server)?;
                let client = self.oauth_client(server)?;
                let rotated = rotate_noting(&client, &creds, &old)
                    .await
                    .map_err(|e| explain_refresh_error(e, &old))?;
                *notes.borrow_mut() = rotated.notes;
                Ok(rotated.profile)
            })
            .await?;
        // Said once the pair is saved: nothing stands between the answer and the save.
        self.after_refresh(outcome, kept_notes.take())
    }

    /// What a saved refresh still owes: its notes said, a pair without an access token, a
    /// contradiction or a still-unproven pair refused, then the `--on-refresh` hook.
    fn after_refresh(&self, outcome: Refreshed, notes: Vec<String>) -> Result<Refreshed> {
        if outcome.profile.access_token().is_empty() {
            return Err(anyhow::anyhow!(
                "{}; the OAuth server's answer held no access token b24auth keeps, but its new refresh token is saved: run {} for an access token",
                notes.join("; "),
                hint::cmd(&["refresh"])
            ));
        }
        for note in notes {
            self.cfg.ui.warn(note);
        }
        if let Some(changes) = outcome.profile.contradiction() {
            return Err(self.contradicted(&changes));
        }
        if outcome.profile.is_unverified() {
            // Saved (the rotation is kept), but still not proven: nothing may use it.
            return Err(unproven(&self.cfg.profile));
        }
        // After the lock is let go: a slow hook must not hold up other refreshers.
        if outcome.refreshed {
            crate::session::hook::on_refresh(&self.cfg, &outcome.profile);
        }
        Ok(outcome)
    }

    /// Changes the stored profile under its lock without rotating anything (a renamed portal's
    /// new `client_endpoint`); a failed save leaves the stored pair valid.
    pub async fn update(&self, change: impl FnOnce(&mut Profile)) -> Result<Profile> {
        store::update_locked(&self.store, &self.cfg.profile, change).await
    }

    /// How a new pair may be saved: `--force` replaces; an existing profile is otherwise refused
    /// (exit 2) before anything listens, or replaced after a yes on a terminal.
    pub async fn save_mode(&self, force: bool) -> Result<SaveMode> {
        if force {
            return Ok(SaveMode::Replace);
        }
        if !self.store.exists(&self.cfg.profile).await? {
            return Ok(SaveMode::Create);
        }
        let question = format!(
            "profile `{}` already exists ({}); replace it?",
            self.cfg.profile,
            self.location()
        );
        if crate::ui::can_ask() {
            if self.cfg.ui.confirm(&question)? {
                return Ok(SaveMode::Replace);
            }
            return Err(anyhow::anyhow!(
                "nothing replaced: profile `{}` stays as it was in {} (pass --force to replace it without asking)",
                self.cfg.profile,
                self.location()
            ));
        }
        Err(store::already_exists(&self.cfg.profile, &self.location()))
    }

    pub fn oauth_client(&self, server: Url) -> Result<oauth::Client> {
        oauth::Client::new(server, self.cfg.http_timeout)
    }

    /// Client credentials: flags/env first, then the stored profile, then a prompt on a
    /// terminal; with no terminal a missing one is a usage error naming the variable.
    pub fn credentials(&self, stored: Option<&Profile>) -> Result<Credentials> {
        let ui = &self.cfg.ui;
        let id = self
            .cfg
            .client_id
            .clone()
            .or_else(|| stored.and_then(Profile::client_id).map(String::from));
        let secret = self
            .cfg
            .client_secret
            .clone()
            .or_else(|| stored.and_then(Profile::client_secret));
        if let Some(e) = crate::ui::missing_credentials(id.is_none(), secret.is_none()) {
            return Err(e);
        }
        let id = match id {
            Some(id) => id,
            None => ui
                .prompt("client_id", false, "B24AUTH_CLIENT_ID")?
                .expose()
                .to_string(),
        };
        let secret = match secret {
            Some(s) => s,
            None => ui.prompt("client_secret", true, "B24AUTH_CLIENT_SECRET")?,
        };
        Ok(Credentials { id, secret })
    }
}

/// Whether the stored pair may be handed out as it is: valid for `min_ttl` more seconds and
/// proven (an unverified install callback waits for its proving refresh) and not kept apart
/// for naming another portal.
fn usable_as_stored(p: &Profile, min_ttl: i64) -> bool {
    p.is_fresh(min_ttl, now())
        && !p.is_unverified()
        && p.contradiction().is_none()
        && store::marks::uninstalled_at(p).is_none()
}

/// One rotation of a pair brought in from elsewhere (`import`'s expired file): the file's
/// portal is only its claim, so the identity the trusted server's answer names is applied
/// (import then verifies it with `app.info`). Explains no error: the caller does.
pub(crate) async fn rotate(
    client: &oauth::Client,
    creds: &Credentials,
    old: &Profile,
) -> Result<Profile> {
    let mut new = rotate_noting(client, creds, old).await?.profile;
    if !new.is_unverified() {
        new.accept_change();
    }
    Ok(new)
}

/// A rotation's new pair, and what of the answer was left out, to say once the pair is saved.
pub(crate) struct Rotated {
    pub profile: Profile,
    pub notes: Vec<String>,
}

/// One rotation of `old` at `client`'s OAuth server: the refresh request, and the new pair made
/// from its answer with the credentials and server that made it; an answer naming another
/// portal is kept apart ([`Profile::refreshed`]). With the notes on what the answer held that
/// b24auth left out, to say once the pair is saved.
pub(crate) async fn rotate_noting(
    client: &oauth::Client,
    creds: &Credentials,
    old: &Profile,
) -> Result<Rotated> {
    let answer = match client.refresh(creds, &old.refresh_token()).await {
        Ok(answer) => answer,
        Err(e) => {
            let Some(unstorable) = e.downcast_ref::<UnstorableRefreshToken>() else {
                return Err(e);
            };
            // The rotated pair as received, for the rescue copy only.
            let profile = old.refreshed(unstorable.answer(), now());
            return Err(e.context(store::Unstorable { profile }));
        }
    };
    let notes = answer.left_out();
    let mut new = old.refreshed(answer, now());
    new.set_client(Some(&creds.id), Some(&creds.secret));
    new.set_oauth_server(client.server().as_str());
    Ok(Rotated {
        profile: new,
        notes,
    })
}

/// Exit 2: `token` and `refresh` have nothing to do for a webhook profile.
pub(crate) fn webhook_has_no_token(profile: &str, command: &str) -> anyhow::Error {
    exit::usage(format!(
        "profile `{profile}` is an incoming webhook: it has no token to {command} — its address is the credential; use `b24auth call`, `batch` or `exec` (which sets B24_WEBHOOK_URL)"
    ))
}

/// Exit 3: the pair is kept, but the trusted server's answer did not name its portal.
pub(crate) fn unproven(profile: &str) -> anyhow::Error {
    exit::auth_needed(format!(
        "profile `{profile}` is unverified: the OAuth server has not named its portal, so b24auth will not hand out its token or endpoint; {} again",
        hint::authorize_again("PORTAL", true)
    ))
}

/// The refresh's failure as the user needs it: which exit code, and what to run next.
fn explain_refresh_error(err: anyhow::Error, old: &Profile) -> anyhow::Error {
    if err.is::<store::Unstorable>() {
        // Not unchanged: the server rotated; the store rescues the new pair and says where.
        return err;
    }
    let portal = hint::domain_of(old.portal(), old.client_endpoint());
    match err.downcast_ref::<ServerError>() {
        Some(e) if e.code.is_client_refusal() => crate::bitrix::errors::client_refused(e),
        Some(e) if e.code.app_removed() => errors::app_not_installed(e, &portal),
        Some(e) if e.code.needs_reauthorization() => exit::auth_needed(format!(
            "the OAuth server refused the stored refresh token ({e}): {} again",
            hint::authorize_again(&portal, true)
        )),
        _ => errors::with_next_step(err)
            .context("cannot refresh the token pair; the stored pair is unchanged"),
    }
}
