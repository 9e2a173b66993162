/*!
`b24auth store copy --from URL --to URL`: move a profile between stores (files ↔ PostgreSQL).
*/

use anyhow::Result;

use crate::cli::StoreCopyArgs;
use crate::session::config::RunConfig;
use crate::store::{self, SaveMode};

pub(crate) async fn run(cfg: &RunConfig, args: &StoreCopyArgs) -> Result<()> {
    let open = |url: &str| store::open(url, cfg.config_dir.clone(), cfg.store_key.as_ref(), cfg.ui);
    let from = open(&args.from)?;
    let to = open(&args.to)?;
    let mode = if args.force {
        SaveMode::Replace
    } else {
        SaveMode::Create
    };
    let profile = from
        .load(&cfg.profile)
        .await?
        .ok_or_else(|| store::nothing_stored_at(&cfg.profile, &from.location(&cfg.profile)))?;
    to.save(&cfg.profile, &profile, mode).await?;
    cfg.ui.info(format_args!(
        "copied profile `{}` from {} to {}",
        cfg.profile,
        from.location(&cfg.profile),
        to.location(&cfg.profile)
    ));
    // Copied onto itself (`--from file --to file --force`) there is no old copy to forget.
    if args.from != args.to {
        cfg.ui.info(format_args!(
            "the pair now lives in both stores and rotates on every refresh: use only the new one from now on; delete the old copy with {}",
            crate::ui::hint::cmd_in_store(&cfg.profile, &args.from, &["forget"])
        ));
    }
    Ok(())
}
