/*!
`b24auth refresh`, and [`refresh_profile`]: the one road every command takes to a new pair.
*/

use anyhow::Result;

use crate::cli::RefreshArgs;
use crate::context::Context;
use crate::exit;
use crate::hint;
use crate::oauth::{self, ServerError};
use crate::profile::{now, Profile};
use crate::store::{Refreshed, Store};
use crate::ui;

pub fn run(ctx: &Context, args: &RefreshArgs) -> Result<()> {
    let store = ctx.store()?;
    let min_age = args.if_older_than.map(|d| d.as_secs() as i64);
    let due = move |p: &Profile| match min_age {
        None => true,
        Some(age) => p
            .meta_i64("refresh_token_issued_at")
            .is_none_or(|issued| now() - issued >= age),
    };
    let outcome = ui::block_on(refresh_profile(ctx, &store, due))?;
    let p = &outcome.profile;
    if outcome.refreshed {
        ctx.ui.info(format_args!(
            "refreshed profile `{}` ({}): access token valid until {}",
            ctx.profile,
            p.portal().unwrap_or_default(),
            p.expires().map(ui::utc).unwrap_or_else(|| "unknown".into())
        ));
    } else {
        ctx.ui.info(format_args!(
            "profile `{}`: the refresh token is younger than --if-older-than; nothing to do",
            ctx.profile
        ));
    }
    if args.json {
        println!("{}", String::from_utf8_lossy(&p.to_bytes()).trim_end());
    }
    Ok(())
}

/// Refreshes the profile when `due` says so, single-flight through the store's lock.
/// Credentials are resolved before the lock, so a prompt never holds it.
pub async fn refresh_profile(
    ctx: &Context,
    store: &Store,
    due: impl Fn(&Profile) -> bool,
) -> Result<Refreshed> {
    let stored = store
        .load(&ctx.profile)
        .await?
        .ok_or_else(|| store.nothing_stored(&ctx.profile))?;
    if !due(&stored) {
        return Ok(Refreshed {
            profile: stored,
            refreshed: false,
        });
    }
    let creds = ctx.credentials(Some(&stored))?;
    store
        .refresh_if(&ctx.profile, due, |old| async move {
            let server = oauth::server_for_refresh(ctx.oauth_server.as_ref(), &old);
            let client = ctx.oauth_client(server.clone())?;
            let response = client
                .refresh(&creds, &old.refresh_token())
                .await
                .map_err(|e| explain_refresh_error(e, &old))?;
            let mut new = old.refreshed(response, now());
            new.set_client(Some(&creds.id), Some(&creds.secret));
            new.set_oauth_server(server.as_str());
            Ok(new)
        })
        .await
}

fn explain_refresh_error(err: anyhow::Error, old: &Profile) -> anyhow::Error {
    match err.downcast_ref::<ServerError>() {
        Some(e) if e.is_client_refusal() => oauth::client_refused(e),
        Some(e) if e.needs_reauthorization() => exit::auth_needed(format!(
            "the OAuth server refused the stored refresh token ({e}): run {} or {} again",
            hint::cmd(&format!(
                "authorize --domain {} --force",
                hint::domain_of(old.portal(), old.str("client_endpoint"))
            )),
            hint::cmd("install-listen --force")
        )),
        _ => err.context("cannot refresh the token pair; the stored pair is unchanged"),
    }
}
