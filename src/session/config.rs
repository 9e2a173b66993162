/*!
`RunConfig`: the global options resolved once (config dir, store, credentials, OAuth server) and
handed to every subcommand. Nothing here touches the network or the store; `cli::resolve`
builds it from the parsed options.
*/

use std::path::PathBuf;

use url::Url;

use crate::secret::Secret;
use crate::ui::Ui;

#[derive(Clone)]
pub(crate) struct RunConfig {
    pub profile: String,
    pub config_dir: PathBuf,
    pub oauth_server: Option<Url>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub store_url: String,
    pub store_key: Option<Secret>,
    pub http_timeout: std::time::Duration,
    pub ui: Ui,
    /// `--on-refresh CMD`: run after every saved refresh (see [`crate::session::hook`]).
    pub on_refresh: Option<String>,
}
