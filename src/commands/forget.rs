/*!
`b24auth forget`: delete a stored profile (under its lock) and the install candidates kept beside
it, after a confirmation (or `--yes`).
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
    let stored = s.store.exists(&cfg.profile).await?;
    let kept = s.store.candidates(&cfg.profile).await?;
    // Say that nothing is there before asking whether to delete it.
    if !stored && kept.is_empty() {
        return Err(s.nothing_stored());
    }
    if !args.yes {
        confirm(cfg, &location)?;
    }
    let deleted = stored && s.store.delete(&cfg.profile).await?;
    // The install callbacks kept beside it go too: a forgotten profile is not proven back.
    for candidate in &kept {
        s.store.drop_candidate(&cfg.profile, &candidate.id).await?;
    }
    let candidates = match kept.len() {
        0 => String::new(),
        n => format!(" and its {n} install candidate(s)"),
    };
    match deleted {
        true => cfg.ui.info(format_args!(
            "deleted profile `{}` ({location}){candidates}",
            cfg.profile
        )),
        false => cfg.ui.info(format_args!(
            "deleted profile `{}`'s {} install candidate(s) (no profile was stored at {location})",
            cfg.profile,
            kept.len()
        )),
    }
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
