/*!
`Context`: the global options resolved once (config dir, store, credentials, OAuth server) and
handed to every subcommand.
*/

use std::path::PathBuf;

use anyhow::Result;
use url::Url;

use crate::cli::Global;
use crate::exit;
use crate::oauth::{self, Credentials};
use crate::profile::Profile;
use crate::secret::Secret;
use crate::store::{FileStore, Store};
use crate::ui::Ui;

pub struct Context {
    pub profile: String,
    pub config_dir: PathBuf,
    pub oauth_server: Option<Url>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub store_url: String,
    pub http_timeout: std::time::Duration,
    pub ui: Ui,
}

impl Context {
    pub fn new(g: Global) -> Result<Context> {
        let config_dir_flag = g
            .config_dir
            .as_ref()
            .filter(|d| std::env::var_os("B24AUTH_CONFIG_DIR").as_deref() != Some(d.as_os_str()))
            .cloned();
        crate::hint::set(&crate::hint::Origin {
            profile: &g.profile,
            config_dir_flag: config_dir_flag.as_deref(),
            store: &g.store,
            store_from_env: std::env::var("B24AUTH_STORE").is_ok_and(|s| s == g.store),
        });
        // An empty B24AUTH_CONFIG_DIR= means unset, as for every other variable.
        let config_dir = match g.config_dir.filter(|d| !d.as_os_str().is_empty()) {
            Some(d) => d,
            None => directories::ProjectDirs::from("", "", "b24auth")
                .map(|d| d.config_dir().to_path_buf())
                .ok_or_else(|| {
                    exit::usage(
                        "cannot find a home directory: pass --config-dir or set B24AUTH_CONFIG_DIR",
                    )
                })?,
        };
        Ok(Context {
            profile: g.profile,
            config_dir,
            oauth_server: g.oauth_server,
            client_id: g.client_id.filter(|s| !s.is_empty()),
            client_secret: g.client_secret.filter(|s| !s.is_empty()),
            store_url: g.store,
            http_timeout: g.http_timeout,
            ui: Ui::new(g.quiet),
        })
    }

    pub fn store(&self) -> Result<Store> {
        Store::open(&self.store_url, self.config_dir.clone(), self.ui.is_quiet())
    }

    /// The file store when `--store file`: the synchronous road of `token`'s fresh path.
    pub fn file_store(&self) -> Option<FileStore> {
        (self.store_url == "file").then(|| FileStore::new(self.config_dir.clone()))
    }

    pub fn oauth_client(&self, server: Url) -> Result<oauth::Client> {
        oauth::Client::new(server, self.http_timeout)
    }

    /// Client credentials: flags/env first, then the stored profile, then a prompt on a
    /// terminal; with no terminal a missing one is a usage error naming the variable.
    pub fn credentials(&self, stored: Option<&Profile>) -> Result<Credentials> {
        let id = match self
            .client_id
            .clone()
            .or_else(|| stored.and_then(|p| p.str("client_id")).map(String::from))
        {
            Some(id) => id,
            None => self
                .ui
                .prompt("client_id", false, "B24AUTH_CLIENT_ID")?
                .expose()
                .to_string(),
        };
        let secret = match self
            .client_secret
            .clone()
            .or_else(|| stored.and_then(|p| p.secret("client_secret")))
        {
            Some(s) => s,
            None => self
                .ui
                .prompt("client_secret", true, "B24AUTH_CLIENT_SECRET")?,
        };
        Ok(Credentials { id, secret })
    }
}
