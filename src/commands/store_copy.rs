/*!
`b24auth store copy --from URL --to URL`: move a profile between stores (files ↔ PostgreSQL).
*/

use anyhow::Result;

use crate::cli::StoreCopyArgs;
use crate::context::Context;
use crate::store::{SaveMode, Store};
use crate::ui;

pub fn run(ctx: &Context, args: &StoreCopyArgs) -> Result<()> {
    let quiet = ctx.ui.is_quiet();
    let from = Store::open(&args.from, ctx.config_dir.clone(), quiet)?;
    let to = Store::open(&args.to, ctx.config_dir.clone(), quiet)?;
    let mode = if args.force {
        SaveMode::Replace
    } else {
        SaveMode::Create
    };
    ui::block_on(async {
        let profile = from
            .load(&ctx.profile)
            .await?
            .ok_or_else(|| from.nothing_stored(&ctx.profile))?;
        to.save(&ctx.profile, &profile, mode).await
    })?;
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
