/*!
`b24auth forget`: delete a stored profile, under its lock, after a confirmation (or `--yes`).
*/

use anyhow::Result;

use crate::cli::ForgetArgs;
use crate::context::Context;
use crate::exit;
use crate::ui;

pub fn run(ctx: &Context, args: &ForgetArgs) -> Result<()> {
    let store = ctx.store()?;
    let location = store.location(&ctx.profile);
    if !args.yes {
        let question = format!(
            "delete profile `{}` ({location})? Its tokens cannot be recovered",
            ctx.profile
        );
        if !ctx.ui.confirm(&question)? {
            return Err(exit::usage(format!(
                "not deleting profile `{}` without confirmation: pass --yes",
                ctx.profile
            )));
        }
    }
    if !ui::block_on(store.delete(&ctx.profile))? {
        return Err(store.nothing_stored(&ctx.profile));
    }
    ctx.ui.info(format_args!(
        "deleted profile `{}` ({location})",
        ctx.profile
    ));
    Ok(())
}
