/*!
`b24auth setup`: the guided first run. The questions and texts live in `setup/`; this file runs
the flow the answers chose — the same `authorize`, `install-listen` or `import --webhook` flow a
user would run by hand ([`crate::capture::authorize::run`], [`crate::capture::install::flow::run`],
[`crate::rest::webhook::save`]) — then a first `profile` call and the next commands.
*/

use std::time::Duration;

use anyhow::Result;
use serde_json::{Map, Value};

use crate::capture::authorize::{self, Choices};
use crate::capture::install::flow;
use crate::rest::webhook;
use crate::rest::Caller;
use crate::session::config::RunConfig;
use crate::session::Session;
use crate::setup::{self, Answers, Keys, WayIn};
use crate::ui::sanitize::strip_controls;

pub(crate) async fn run(cfg: &RunConfig) -> Result<()> {
    let replace = ask_replace(cfg).await?;
    let Answers { portal, way, keys } = setup::ask(&cfg.ui, &|d| authorize::portal_url(d))?;
    let webhook = matches!(way, WayIn::Webhook { .. });
    let cfg = match way {
        WayIn::Browser { redirect_uri } => {
            let cfg = with_keys(cfg, keys);
            let choices = Choices {
                redirect_uri,
                listen: None,
                no_browser: false,
                timeout: Duration::from_secs(300),
                force: replace,
            };
            let domain = portal.origin().ascii_serialization();
            authorize::run(&Session::open(cfg.clone())?, &choices, &domain).await?;
            cfg
        }
        WayIn::Install {
            listen,
            public_url,
            path,
        } => {
            let options = flow::InstallOptions {
                listen,
                path: Some(path),
                public_url,
                timeout: Duration::from_secs(600),
                no_verify: false,
                allow_http: false,
                force: replace,
                first_candidate_ends: true,
            };
            install(cfg, &options).await?
        }
        WayIn::Webhook { url } => {
            webhook::save(&Session::open(cfg.clone())?, url, replace).await?;
            cfg.clone()
        }
    };
    let s = Session::open(cfg)?;
    first_call(&s).await?;
    s.cfg
        .ui
        .always(format_args!("\n{}", setup::next_commands(webhook)));
    Ok(())
}

/// Before question 1: whether to replace an existing profile (setup has no `--force`). Without
/// a terminal [`setup::ask`] says so; nothing is asked then.
async fn ask_replace(cfg: &RunConfig) -> Result<bool> {
    if !crate::ui::can_ask() {
        return Ok(false);
    }
    let s = Session::open(cfg.clone())?;
    if !s.store.exists(&cfg.profile).await? {
        return Ok(false);
    }
    let question = format!(
        "profile `{}` already exists ({}); replace it with the one set up now?",
        cfg.profile,
        s.location()
    );
    if cfg.ui.confirm(&question)? {
        return Ok(true);
    }
    Err(anyhow::anyhow!(
        "nothing replaced: profile `{}` stays as it was in {}; to set up another profile, run setup with --profile NAME",
        cfg.profile,
        s.location()
    ))
}

/// `install-listen`, then the keys the form shows only after the callback: they prove a kept
/// candidate and are saved with the profile.
async fn install(cfg: &RunConfig, options: &flow::InstallOptions) -> Result<RunConfig> {
    flow::run(&Session::open(cfg.clone())?, options).await?;
    cfg.ui
        .always("The form shows the keys now; they are kept with the profile.");
    let cfg = with_keys(cfg, Some(setup::keys()?));
    let s = Session::open(cfg.clone())?;
    s.valid_profile(0).await?;
    s.update(|p| p.set_client(cfg.client_id.as_deref(), cfg.client_secret.as_ref()))
        .await?;
    Ok(cfg)
}

fn with_keys(cfg: &RunConfig, keys: Option<Keys>) -> RunConfig {
    let mut cfg = cfg.clone();
    if let Some(k) = keys {
        cfg.client_id = Some(k.client_id);
        cfg.client_secret = Some(k.client_secret);
    }
    cfg
}

/// `profile`: proves the stored authorization works end to end and says who it acts as.
async fn first_call(s: &Session) -> Result<()> {
    let caller = Caller::new(s, Default::default(), false).await?;
    let answer = caller.call("profile", &Map::new()).await?;
    let me = answer.get("result").cloned().unwrap_or(Value::Null);
    let text = |k: &str| {
        me.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let name = format!("{} {}", text("NAME"), text("LAST_NAME"));
    let id = me
        .get("ID")
        .map(|v| v.to_string())
        .unwrap_or_else(|| "-".into());
    s.cfg.ui.always(strip_controls(&format!(
        "First call: `profile` answers — you act as {} (user {}). Profile `{}` is ready.",
        match name.trim() {
            "" => "a user without a name",
            n => n,
        },
        id.trim_matches('"'),
        s.cfg.profile
    )));
    Ok(())
}
