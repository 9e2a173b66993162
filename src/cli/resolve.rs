/*!
Resolution of the parsed global options into the run's configuration ([`RunConfig`]): the config
directory's default, the empty-means-unset rule, the OAuth server check and the origin every hint
repeats. Nothing here touches the network or the store.
*/

use anyhow::Result;

use super::Global;
use crate::exit;
use crate::session::config::RunConfig;
use crate::ui::Ui;

/// The global options, resolved into the run's configuration (defaults, the hint origin).
pub(crate) fn resolve(g: Global) -> Result<RunConfig> {
    let config_dir_flag = g
        .config_dir
        .as_ref()
        .filter(|d| std::env::var_os("B24AUTH_CONFIG_DIR").as_deref() != Some(d.as_os_str()))
        .cloned();
    crate::ui::hint::set(&crate::ui::hint::Origin {
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
    check_client(g.client_id.as_deref(), g.client_secret.as_ref())?;
    if let Some(server) = &g.oauth_server {
        crate::bitrix::server::check_oauth_server(server)
            .map_err(|e| exit::usage(format!("--oauth-server: {e}")))?;
    }
    Ok(RunConfig {
        profile: g.profile,
        config_dir,
        oauth_server: g.oauth_server,
        client_id: g.client_id.filter(|s| !s.is_empty()),
        client_secret: g.client_secret.filter(|s| !s.is_empty()),
        store_url: g.store,
        store_key: g.store_key.filter(|s| !s.expose().is_empty()),
        http_timeout: g.http_timeout,
        ui: Ui::new(g.quiet),
        on_refresh: g.on_refresh.filter(|s| !s.trim().is_empty()),
    })
}

/// The client credentials are stored with every new pair: the rules of
/// [`crate::profile::checks`] apply to them as to any value from outside.
fn check_client(id: Option<&str>, secret: Option<&crate::secret::Secret>) -> Result<()> {
    use crate::profile::checks;
    let refused = |e: checks::BrokenRule, var: &str| {
        exit::usage(format!("{var}: {e} (check the value you set)"))
    };
    if let Some(id) = id {
        checks::identifier("client_id", id)
            .map_err(|e| refused(e, "--client-id (B24AUTH_CLIENT_ID)"))?;
    }
    if let Some(secret) = secret.filter(|s| !s.is_empty()) {
        checks::token("client_secret", secret.expose())
            .map_err(|e| refused(e, "--client-secret (B24AUTH_CLIENT_SECRET)"))?;
    }
    Ok(())
}
