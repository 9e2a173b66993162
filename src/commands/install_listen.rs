/*!
`b24auth install-listen`: flags -> the install flow ([`crate::capture::install::flow`]) -> print.
*/

use anyhow::Result;

use crate::capture::install::flow::{self, Options};
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
    };
    let profile = flow::listen(s, &options).await?;
    s.cfg.ui.info(strip_controls(&format!(
        "saved profile `{}` for portal {} (member_id {}) to {}",
        s.cfg.profile,
        profile.portal().unwrap_or_default(),
        profile.str("member_id").unwrap_or("-"),
        s.store.location(&s.cfg.profile)
    )));
    Ok(())
}
