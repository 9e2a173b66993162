/*!
`b24auth token`: print a valid access token for `$(b24auth token)`.

The fresh path — the common one — reads the file and prints: no lock, no network, no async
runtime. Only a token expiring within `--min-ttl` takes the refresh road.
*/

use std::io::Write;

use anyhow::Result;

use crate::cli::TokenArgs;
use crate::context::Context;
use crate::profile::now;
use crate::ui;

use super::refresh::refresh_profile;

pub fn run(ctx: &Context, args: &TokenArgs) -> Result<()> {
    let min_ttl = i64::from(args.min_ttl);
    if let Some(files) = ctx.file_store() {
        let stored = files.load(&ctx.profile)?.ok_or_else(|| {
            crate::store::file::nothing_stored(&ctx.profile, &files.path(&ctx.profile))
        })?;
        if stored.is_fresh(min_ttl, now()) {
            return print(stored.access_token().expose());
        }
    }
    let store = ctx.store()?;
    let outcome = ui::block_on(refresh_profile(ctx, &store, |p| {
        !p.is_fresh(min_ttl, now())
    }))?;
    print(outcome.profile.access_token().expose())
}

fn print(token: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{token}")?;
    out.flush()?;
    Ok(())
}
