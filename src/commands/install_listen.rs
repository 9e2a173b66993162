/*!
`b24auth install-listen`: flags -> the install flow ([`crate::capture::install::flow`]), which
says what it saved or kept.
*/

use anyhow::Result;

use crate::capture::install::flow::{self, InstallOptions};
use crate::cli::InstallListenArgs;
use crate::session::Session;

pub(crate) async fn run(s: &Session, args: &InstallListenArgs) -> Result<()> {
    let options = InstallOptions {
        listen: args.listen,
        path: args.path.clone(),
        public_url: args.public_url.clone(),
        timeout: args.timeout,
        no_verify: args.no_verify,
        force: args.force,
        allow_http: args.allow_http,
        first_candidate_ends: args.first_candidate_ends,
    };
    flow::run(s, &options).await
}
