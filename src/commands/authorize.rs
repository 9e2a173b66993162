/*!
`b24auth authorize --domain PORTAL`: full OAuth in a browser (the flow is
[`crate::capture::authorize`]).
*/

use anyhow::Result;

use crate::capture::authorize::{self, Choices};
use crate::cli::AuthorizeArgs;
use crate::session::Session;

pub(crate) async fn run(s: &Session, args: &AuthorizeArgs) -> Result<()> {
    let cfg = &s.cfg;
    let portal = authorize::portal_url(&args.domain)?;
    if portal.scheme() == "http" {
        cfg.ui.warn(format_args!(
            "{} is plain http: the code and tokens cross the network unencrypted",
            portal.origin().ascii_serialization()
        ));
    }
    let choices = Choices {
        redirect_uri: args.redirect_uri.clone(),
        listen: args.listen,
        no_browser: args.no_browser,
        timeout: args.timeout,
        force: args.force,
    };
    let profile = authorize::authorize(s, &choices, portal).await?;
    cfg.ui.info(crate::ui::sanitize::strip_controls(&format!(
        "authorized: profile `{}` for portal {} (user {}), saved to {}",
        cfg.profile,
        profile.portal().unwrap_or_default(),
        profile
            .field("user_id")
            .map(|v| v.to_string())
            .unwrap_or_else(|| "-".into()),
        s.store.location(&cfg.profile)
    )));
    Ok(())
}
