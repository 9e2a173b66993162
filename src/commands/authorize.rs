/*!
`b24auth authorize --domain PORTAL`: full OAuth in a browser: flags -> the flow
([`crate::capture::authorize`]), which says what it saved.
*/

use anyhow::Result;

use crate::capture::authorize::{self, Choices};
use crate::cli::AuthorizeArgs;
use crate::session::Session;

pub(crate) async fn run(s: &Session, args: &AuthorizeArgs) -> Result<()> {
    let choices = Choices {
        redirect_uri: args.redirect_uri.clone(),
        listen: args.listen,
        no_browser: args.no_browser,
        timeout: args.timeout,
        force: args.force,
    };
    authorize::run(s, &choices, &args.domain).await
}
