/*!
`b24auth token`: print a valid access token for `$(b24auth token)`.

The fresh path — the common one — reads the file and prints: no lock, no network, no async
runtime. Only a token expiring within `--min-ttl` takes the refresh road.
*/

use std::io::{Read, Write};

use anyhow::{Context as _, Result};

use crate::cli::TokenArgs;
use crate::context::Context;
use crate::exit;
use crate::profile::{now, Profile};
use crate::secret::Secret;
use crate::store::nothing_stored_at;
use crate::ui;

use super::refresh::refresh_profile;

pub fn run(ctx: &Context, args: &TokenArgs) -> Result<()> {
    let min_ttl = i64::from(args.min_ttl);
    let profile = match &args.rejected {
        Some(token) => after_rejection(ctx, &rejected_token(token)?, min_ttl)?,
        None => valid_profile(ctx, min_ttl)?,
    };
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

/// `--rejected TOKEN`: the portal refused TOKEN. Under the lock, refresh only if the stored token
/// is still TOKEN (or is due anyway); when another caller already replaced it, the stored one is
/// the answer. So many clients rejecting the same token cause one refresh.
fn after_rejection(ctx: &Context, rejected: &Secret, min_ttl: i64) -> Result<Profile> {
    let store = ctx.store()?;
    let due = |p: &Profile| p.access_token() == *rejected || !p.is_fresh(min_ttl, now());
    Ok(ui::block_on(refresh_profile(ctx, &store, due))?.profile)
}

/// The rejected token from the argument, or from stdin for `-` (argv is visible to `ps`).
fn rejected_token(arg: &Secret) -> Result<Secret> {
    let token = if arg.expose() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read the rejected token from stdin")?;
        Secret::new(s.trim())
    } else {
        Secret::new(arg.expose().trim())
    };
    if token.is_empty() {
        return Err(exit::usage(
            "--rejected needs the token the portal refused (or `-` to read it from stdin)",
        ));
    }
    Ok(token)
}
