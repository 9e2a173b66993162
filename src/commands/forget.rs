/*!
`b24auth forget`: delete a stored profile, under its lock, after a confirmation (or `--yes`).
*/

use anyhow::Result;

use crate::cli::ForgetArgs;
use crate::exit;
use crate::session::Session;

pub(crate) async fn run(s: &Session, args: &ForgetArgs) -> Result<()> {
    let ctx = &s.ctx;
    let location = s.location();
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
    if !s.store.delete(&ctx.profile).await? {
        return Err(s.nothing_stored());
    }
    ctx.ui.info(format_args!(
        "deleted profile `{}` ({location})",
        ctx.profile
    ));
    Ok(())
}
