/*!
`b24auth install-listen`: flags -> the install flow ([`crate::capture::install::flow`]) -> print.
*/

use anyhow::Result;

use crate::capture::install::flow::{self, Options};
use crate::capture::install::saver::Ended;
use crate::cli::InstallListenArgs;
use crate::session::Session;
use crate::ui::sanitize::strip_controls;

pub(crate) async fn run(s: &Session, args: &InstallListenArgs) -> Result<()> {
    let options = Options {
        listen: args.listen,
        path: args.path.clone(),
        public_url: args.public_url.clone(),
        timeout: args.timeout,
        no_verify: args.no_verify,
        force: args.force,
        allow_http: args.allow_http,
        first_candidate_ends: args.first_candidate_ends,
    };
    let ui = &s.cfg.ui;
    match flow::listen(s, &options).await? {
        Ended::Saved(profile) => ui.info(strip_controls(&format!(
            "saved profile `{}` for portal {} (member_id {}) to {}",
            s.cfg.profile,
            profile.portal().unwrap_or_default(),
            profile.member_id().unwrap_or("-"),
            s.store.location(&s.cfg.profile)
        ))),
        Ended::Candidates(kept) => {
            for c in &kept {
                ui.always(strip_controls(&format!(
                    "kept, not yet proven: an install callback claiming portal {} (arrived {})",
                    c.claimed_portal(),
                    crate::ui::utc(c.received_at())
                )));
            }
            ui.always(format_args!(
                "no callback proved itself before the deadline; the candidates are kept (not used by any command). Prove them: B24AUTH_CLIENT_ID=… B24AUTH_CLIENT_SECRET=… {}",
                crate::ui::hint::cmd(&["refresh"])
            ));
        }
    }
    Ok(())
}
