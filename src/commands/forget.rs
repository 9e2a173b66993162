/*!
`b24auth forget`: delete a stored profile, under its lock, after a confirmation (or `--yes`).
*/

use anyhow::Result;

use crate::cli::ForgetArgs;
use crate::exit;
use crate::session::config::RunConfig;
use crate::session::Session;
use crate::ui;

pub(crate) async fn run(s: &Session, args: &ForgetArgs) -> Result<()> {
    let cfg = &s.cfg;
    let location = s.location();
    // Say that nothing is there before asking whether to delete it.
    if !s.store.exists(&cfg.profile).await? {
        return Err(s.nothing_stored());
    }
    if !args.yes {
        confirm(cfg, &location)?;
    }
    if !s.store.delete(&cfg.profile).await? {
        return Err(s.nothing_stored());
    }
    cfg.ui.info(format_args!(
        "deleted profile `{}` ({location})",
        cfg.profile
    ));
    Ok(())
}

/// A yes on the terminal, or an error: "no" is exit 1 (the user's choice, nothing deleted);
/// no terminal to ask on is exit 2 (pass --yes).
fn confirm(cfg: &RunConfig, location: &str) -> Result<()> {
    if !ui::can_ask() {
        return Err(exit::usage(format!(
            "not deleting profile `{}` without confirmation: pass --yes (no terminal to ask on)",
            cfg.profile
        )));
    }
    let question = format!(
        "delete profile `{}` ({location})? Its tokens cannot be recovered",
        cfg.profile
    );
    if cfg.ui.confirm(&question)? {
        return Ok(());
    }
    Err(anyhow::anyhow!(
        "nothing deleted: profile `{}` stays in {location}",
        cfg.profile
    ))
}
