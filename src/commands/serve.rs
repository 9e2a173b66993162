/*!
`b24auth serve`: flags → `events::serve` (the listener, the token check, the spool, the
dispatcher).
*/

use anyhow::Result;

use crate::cli::ServeArgs;
use crate::events::dispatch::Handler;
use crate::events::serve::{self, Options};
use crate::secret::random_hex;
use crate::session::Session;

pub(crate) async fn run(s: &Session, args: &ServeArgs) -> Result<()> {
    let prefix = args
        .prefix
        .clone()
        .unwrap_or_else(|| format!("/b24/{}", random_hex(16)));
    let handler = args.exec.clone().map(|command| Handler {
        command,
        tries: args.tries,
        timeout: (!args.timeout_handler.is_zero()).then_some(args.timeout_handler),
    });
    let opts = Options {
        listen: args.listen,
        public_url: args.public_url.clone(),
        prefix: prefix.trim_end_matches('/').to_string(),
        handler,
        concurrency: args.concurrency as usize,
    };
    serve::run(s, opts).await
}
