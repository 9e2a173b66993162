/*!
`b24auth store copy --from URL --to URL`: move a profile between stores (files ↔ PostgreSQL).
*/

use anyhow::Result;

use crate::cli::StoreCopyArgs;
use crate::context::Context;
use crate::store::{self, SaveMode};

pub(crate) async fn run(ctx: &Context, args: &StoreCopyArgs) -> Result<()> {
    let open = |url: &str| store::open(url, ctx.config_dir.clone(), ctx.store_key.as_ref(), ctx.ui);
    let from = open(&args.from)?;
    let to = open(&args.to)?;
    let mode = if args.force {
        SaveMode::Replace
    } else {
        SaveMode::Create
    };
    let profile = from
        .load(&ctx.profile)
        .await?
        .ok_or_else(|| store::nothing_stored_at(&ctx.profile, &from.location(&ctx.profile)))?;
    to.save(&ctx.profile, &profile, mode).await?;
    ctx.ui.info(format_args!(
        "copied profile `{}` from {} to {}",
        ctx.profile,
        from.location(&ctx.profile),
        to.location(&ctx.profile)
    ));
    // Copied onto itself (`--from file --to file --force`) there is no old copy to forget.
    if args.from != args.to {
        ctx.ui.info(format_args!(
            "the pair now lives in both stores and rotates on every refresh: use only the new one from now on; delete the old copy with {}",
            crate::hint::cmd_in_store(&ctx.profile, &args.from, "forget")
        ));
    }
    Ok(())
}
