/*!
`b24auth token`: print a valid access token for `$(b24auth token)`.

The fresh path — the common one — reads the file and prints: no lock, no network, no async
runtime. Only a token expiring within `--min-ttl` takes the refresh road.
*/

use std::io::Write;

use anyhow::Result;

use crate::cli::TokenArgs;
use crate::context::Context;
use crate::profile::{now, Profile};
use crate::store::nothing_stored_at;
use crate::ui;

use super::refresh::refresh_profile;

pub fn run(ctx: &Context, args: &TokenArgs) -> Result<()> {
    let profile = valid_profile(ctx, i64::from(args.min_ttl))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", profile.access_token().expose())?;
    out.flush()?;
    Ok(())
}

/// The stored profile with an access token valid for `min_ttl` more seconds, refreshed
/// single-flight when it is not. With the file store a fresh token costs one file read.
pub fn valid_profile(ctx: &Context, min_ttl: i64) -> Result<Profile> {
    if let Some(files) = ctx.file_store() {
        let stored = files
            .load(&ctx.profile)?
            .ok_or_else(|| nothing_stored_at(&ctx.profile, &files.location(&ctx.profile)))?;
        if stored.is_fresh(min_ttl, now()) {
            return Ok(stored);
        }
    }
    let store = ctx.store()?;
    let outcome = ui::block_on(refresh_profile(ctx, &store, |p| {
        !p.is_fresh(min_ttl, now())
    }))?;
    Ok(outcome.profile)
}
