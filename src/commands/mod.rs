/*!
One module per subcommand, each a thin script over the store, the OAuth client and the UI.
*/

pub mod authorize;
pub mod call;
pub mod exec;
pub mod forget;
pub mod generate;
pub mod install_listen;
pub mod list;
pub mod refresh;
pub mod show;
pub mod store_copy;
pub mod token;

use anyhow::Result;

use crate::context::Context;
use crate::store::{SaveMode, Store};

/// How a new pair may be saved: `--force` replaces; an existing profile is otherwise refused
/// (exit 2) before anything listens, or replaced after a yes on a terminal.
pub async fn save_mode(ctx: &Context, store: &Store, force: bool) -> Result<SaveMode> {
    if force || !store.exists(&ctx.profile).await? {
        return Ok(if force {
            SaveMode::Replace
        } else {
            SaveMode::Create
        });
    }
    let question = format!(
        "profile `{}` already exists ({}); replace it?",
        ctx.profile,
        store.location(&ctx.profile)
    );
    if crate::ui::can_ask() {
        if ctx.ui.confirm(&question)? {
            return Ok(SaveMode::Replace);
        }
        return Err(anyhow::anyhow!(
            "nothing replaced: profile `{}` stays as it was in {} (pass --force to replace it without asking)",
            ctx.profile,
            store.location(&ctx.profile)
        ));
    }
    Err(crate::store::already_exists(
        &ctx.profile,
        &store.location(&ctx.profile),
    ))
}
