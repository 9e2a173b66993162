/*!
`b24auth refresh`: trade the stored refresh token for a new pair now (or when it is older than
`--if-older-than`), through the session's one refresh path.
*/

use std::io::Write;

use anyhow::Result;

use crate::cli::RefreshArgs;
use crate::profile::{now, Profile};
use crate::session::Session;
use crate::ui;

pub(crate) async fn run(s: &Session, args: &RefreshArgs) -> Result<()> {
    if args.accept_change {
        return accept_change(s, args).await;
    }
    let min_age = args.if_older_than.map(|d| d.as_secs() as i64);
    let due = move |p: &Profile| match min_age {
        None => true,
        Some(age) => p
            .refresh_token_issued_at()
            .is_none_or(|issued| now().saturating_sub(issued) >= age),
    };
    let outcome = s.refresh(due).await?;
    let p = &outcome.profile;
    if outcome.refreshed {
        s.cfg.ui.info(format_args!(
            "refreshed profile `{}` ({}): access token valid until {}",
            s.profile_name(),
            crate::ui::sanitize::strip_controls(&p.portal().unwrap_or_default()),
            p.expires().map(ui::utc).unwrap_or_else(|| "unknown".into())
        ));
    } else {
        s.cfg.ui.info(format_args!(
            "profile `{}`: the refresh token is younger than --if-older-than; nothing to do",
            s.profile_name()
        ));
    }
    print_json(p, args)
}

/// `--accept-change`: the identity the last refresh answer named becomes the stored one.
async fn accept_change(s: &Session, args: &RefreshArgs) -> Result<()> {
    let Some(p) = s.accept_change().await? else {
        s.cfg.ui.info(format_args!(
            "profile `{}`: no refresh answer naming another portal is waiting; nothing changed",
            s.profile_name()
        ));
        return Ok(());
    };
    s.cfg.ui.info(format_args!(
        "profile `{}` now uses portal {} (member_id {}), as the OAuth server's answer named",
        s.profile_name(),
        crate::ui::sanitize::strip_controls(&p.portal().unwrap_or_default()),
        crate::ui::sanitize::strip_controls(p.member_id().unwrap_or("-"))
    ));
    print_json(&p, args)
}

fn print_json(p: &Profile, args: &RefreshArgs) -> Result<()> {
    if args.json {
        let mut out = std::io::stdout().lock();
        out.write_all(&p.to_bytes())?;
        out.flush()?;
    }
    Ok(())
}
