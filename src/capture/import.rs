/*!
`import`'s flow: adopt a pair another tool already keeps (the PHP examples' `auth.json`, CRest's
`settings.json`, the PHP SDK's file, b24auth's own JSON), so moving to b24auth needs no new
authorization.

The file is not trusted: its values pass [`check_values`]; an expired pair is refreshed first at
the trusted OAuth server, the pair is verified with `app.info` as an install callback is
(`--no-verify` skips it), and it is saved by the store's flow for a pair brought in
([`store::save_adopted`]): refresh, verification and save under the profile's lock, in the
store's critical section (`--force` replaces).
*/

use anyhow::Result;
use serde_json::Value;
use url::Url;

use crate::bitrix::errors::ServerError;
use crate::bitrix::formats::Imported;
use crate::bitrix::oauth::{self, Credentials};
use crate::capture::install;
use crate::exit;
use crate::profile::{checks, now, Profile, Source};
use crate::session::{self, Session};
use crate::store::{self, AdoptedPair};
use crate::ui::hint;

/// What the command line chose.
pub(crate) struct ImportOptions<'a> {
    /// The file's name as given (`-` for stdin), for the hints.
    pub file: &'a str,
    pub force: bool,
    pub no_verify: bool,
}

/// Where a file's values enter b24auth: the rules of [`crate::profile::checks`].
pub(crate) fn check_values(imported: &Imported) -> Result<(), checks::BrokenRule> {
    checks::fields(&imported.fields)?;
    if let Some(id) = &imported.client_id {
        checks::identifier("client_id", id)?;
    }
    if let Some(secret) = &imported.client_secret {
        checks::token("client_secret", secret.expose())?;
    }
    Ok(())
}

pub(crate) async fn adopt(
    s: &Session,
    args: &ImportOptions<'_>,
    imported: Imported,
) -> Result<AdoptedPair> {
    let cfg = &s.cfg;
    let mode = s.save_mode(args.force).await?;
    let unverified = imported.unverified;
    let hint = imported.server_hint;
    let mut profile = Profile::from_bitrix(imported.fields, Source::Import, now());
    let server = crate::bitrix::server::choose(
        cfg.oauth_server.as_ref(),
        hint.as_deref(),
        None,
        &profile.portal().unwrap_or_default(),
        &["import", args.file],
    )?;
    crate::bitrix::server::check_oauth_server(&server)?;
    let http = s.oauth_client(server.clone())?;
    // The mark goes only with a proof (a refresh naming the portal, or app.info below).
    if unverified {
        profile.mark_unverified();
    }
    profile.set_client(
        cfg.client_id.as_deref().or(imported.client_id.as_deref()),
        cfg.client_secret
            .as_ref()
            .or(imported.client_secret.as_ref()),
    );
    profile.set_oauth_server(server.as_str());
    // Credentials before the lock, so a prompt never holds it.
    let creds = match profile.is_fresh(0, now()) {
        true => None,
        false => Some(s.credentials(Some(&profile))?),
    };
    // Refreshed and verified under the profile's lock, saved before it is let go.
    store::save_adopted(&s.store, &cfg.profile, mode, || async {
        let rotated = creds.is_some();
        let mut profile = match &creds {
            Some(creds) => refresh(&http, creds, &profile, args.force).await?,
            None => profile,
        };
        if !args.no_verify {
            verify(&http, &server, &mut profile).await?;
            profile.confirmed();
        } else {
            if profile.member_id().is_none() {
                cfg.ui.warn(
                    "the file names no member_id and --no-verify kept b24auth from asking app.info",
                );
            }
            if profile.is_unverified() {
                cfg.ui.warn("the file is an UNVERIFIED b24auth profile and --no-verify proves nothing: it stays unverified");
            } else {
                profile.mark_not_checked();
            }
        }
        Ok(AdoptedPair { profile, rotated })
    })
    .await
}

/// An expired pair is refreshed at the trusted server before anything else, on the session's
/// one refresh step ([`session::rotate`]): its answer (the portal, member_id) comes from
/// Bitrix24, not from the file.
async fn refresh(
    http: &oauth::Client,
    creds: &Credentials,
    profile: &Profile,
    force: bool,
) -> Result<Profile> {
    session::rotate(http, creds, profile)
        .await
        .map_err(|e| match e.downcast_ref::<ServerError>() {
            Some(se) if se.code.needs_reauthorization() => exit::auth_needed(format!(
                "the imported access token has expired and the OAuth server refused its refresh token ({se}): the pair is dead; {}",
                hint::authorize_again(&hint::domain_of(profile.portal(), profile.client_endpoint()), force)
            )),
            _ => e.context("the imported access token has expired and cannot be refreshed; nothing was saved"),
        })
}

/// `app.info` on the trusted server, with the install callback's rules ([`install::verify::verify`]):
/// the portal, member_id and endpoint saved are the ones the answer proves. A file without
/// `member_id` (the PHP SDK's) takes it from the answer.
async fn verify(http: &oauth::Client, server: &Url, profile: &mut Profile) -> Result<()> {
    let failed = |e: anyhow::Error| {
        exit::auth_needed(format!(
            "the imported pair failed verification with the OAuth server's app.info ({e:#}); nothing was saved (pass --no-verify to save it anyway)"
        ))
    };
    let info = http
        .app_info(&server.join("rest/")?, &profile.access_token())
        .await
        .map_err(failed)?;
    let mut claimed = profile.to_map();
    // A file written from a token response names the OAuth server in `domain`, not the portal:
    // the portal is `client_endpoint`'s host, which `verify` checks against the answer.
    claimed.remove("domain");
    if !claimed.contains_key("member_id") {
        let proven = info
            .get("install")
            .and_then(|i| i.get("member_id"))
            .cloned()
            .unwrap_or(Value::Null);
        claimed.insert("member_id".into(), proven);
    }
    let identity =
        install::verify::verify(&info, &claimed, profile.client_id(), false).map_err(failed)?;
    // The member_id may come from the answer itself: it enters here, under the same rules.
    checks::identifier("member_id", &identity.member_id).map_err(|e| failed(e.into()))?;
    profile.set_member_id(&identity.member_id);
    profile.set_client_endpoint(identity.client_endpoint.as_str());
    Ok(())
}
