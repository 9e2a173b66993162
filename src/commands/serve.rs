/*!
`b24auth serve`: flags → `events::serve` (the listener, the token check, the spool, the
dispatcher).
*/

use anyhow::Result;

use crate::cli::ServeArgs;
use crate::events::exec::HandlerCommand;
use crate::events::serve::{self, ServeOptions};
use crate::secret::random_hex;
use crate::session::Session;

pub(crate) async fn run(s: &Session, args: &ServeArgs) -> Result<()> {
    let prefix = match &args.prefix {
        Some(prefix) => prefix.clone(),
        None => default_prefix(s)?,
    };
    let handler = args.exec.clone().map(|command| HandlerCommand {
        command,
        tries: args.tries,
        timeout: (!args.timeout_handler.is_zero()).then_some(args.timeout_handler),
    });
    let opts = ServeOptions {
        listen: args.listen,
        public_url: args.public_url.clone(),
        prefix: prefix.trim_end_matches('/').to_string(),
        handler,
        concurrency: args.concurrency as usize,
    };
    serve::run(s, opts).await
}

/// `/b24/<32 random hex>`, made once and kept in `<config dir>/serve-path` (also with a
/// PostgreSQL store: it is this host's setting), so the bound handler URL and the installation
/// path still answer after a restart.
fn default_prefix(s: &Session) -> Result<String> {
    let path = s.cfg.config_dir.join("serve-path");
    crate::store::kept_value(
        &path,
        |v| {
            v.strip_prefix("/b24/")
                .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        },
        || format!("/b24/{}", random_hex(16)),
    )
}
