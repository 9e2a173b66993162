/*!
`b24auth show`: what is stored — a masked summary for people, JSON or one field for scripts.
*/

use std::io::Write;

use anyhow::{anyhow, Result};
use serde_json::{Map, Value};
use url::Url;

use crate::bitrix::errors::ErrorCode;
use crate::bitrix::oauth;
use crate::cli::{ShowArgs, ShowFormat};
use crate::profile::{now, Profile};
use crate::secret::Secret;
use crate::session::config::RunConfig;
use crate::session::Session;
use crate::ui;

pub(crate) async fn run(s: &Session, args: &ShowArgs) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if args.path {
        writeln!(out, "{}", s.location())?;
        return Ok(());
    }
    if args.check {
        return check(s, &mut out).await;
    }
    let p = s.load().await?;
    if let Some(format) = args.format {
        write!(out, "{}", export(&s.cfg, &p, format))?;
    } else if args.json {
        out.write_all(&p.to_bytes())?;
    } else if let Some(name) = &args.field {
        let value = p
            .field(name)
            .ok_or_else(|| anyhow!("profile `{}` has no field `{name}`", s.profile_name()))?;
        match value {
            Value::String(text) => writeln!(out, "{text}")?,
            other => writeln!(out, "{other}")?,
        }
    } else {
        write!(out, "{}", summary(&p, args.reveal, &s.location()))?;
    }
    Ok(())
}

/// `--format crest|env`: the pair as another tool reads it.
fn export(cfg: &RunConfig, p: &Profile, format: ShowFormat) -> String {
    match format {
        ShowFormat::Crest => {
            let settings = Value::Object(crate::bitrix::formats::crest_settings(p));
            format!("{settings:#}\n")
        }
        ShowFormat::Env => {
            crate::session::child_env::env_file(&crate::session::child_env::exec_env(p, cfg))
        }
    }
}

/// Asks the trusted OAuth server's `app.info` (and the portal's) whether the stored
/// authorization works, refreshing first when the token has expired.
async fn check(s: &Session, out: &mut impl Write) -> Result<()> {
    let mut p = s.valid_profile(0).await?;
    let server = oauth::server_for_refresh(s.cfg.oauth_server.as_ref(), &p);
    crate::bitrix::server::check_oauth_server(&server)?;
    let client = s.oauth_client(server.clone())?;
    let rest = server.join("rest/")?;
    let mut token = p.access_token();
    let mut asked = client.app_info(&rest, &token).await;
    if asked
        .as_ref()
        .err()
        .is_some_and(|e| server_code(e) == Some(&ErrorCode::ExpiredToken))
    {
        // The portal's clock says expired before ours does: refresh (unless another process
        // already did) and ask again, as the README promises.
        let used = token.clone();
        p = s.refresh(|q| q.access_token() == used).await?.profile;
        token = p.access_token();
        asked = client.app_info(&rest, &token).await;
    }
    let info = asked.map_err(|e| explain_check(e, &p))?;
    let portal = match p.client_endpoint().map(Url::parse) {
        Some(Ok(endpoint)) => client.app_info(&endpoint, &token).await.ok(),
        _ => None,
    };
    let get = |m: &Map<String, Value>, k: &str| match m.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => "-".into(),
    };
    writeln!(out, "works: portal {}", p.portal().unwrap_or_default())?;
    writeln!(out, "oauth_server       {server}")?;
    writeln!(out, "client_id          {}", get(&info, "client_id"))?;
    writeln!(out, "scope              {}", get(&info, "scope"))?;
    if let Some(app) = portal {
        writeln!(
            out,
            "app                {} version {} status {}",
            get(&app, "CODE"),
            get(&app, "VERSION"),
            get(&app, "STATUS")
        )?;
    }
    if let Some(e) = p.expires() {
        writeln!(
            out,
            "access token       valid until {} ({})",
            ui::utc(e),
            ui::relative(e.saturating_sub(now()))
        )?;
    }
    Ok(())
}

fn server_code(e: &anyhow::Error) -> Option<&ErrorCode> {
    e.downcast_ref::<oauth::ServerError>().map(|s| &s.code)
}

/// Exit 3 when the OAuth server says the authorization is dead, exit 1 (cannot tell) otherwise.
fn explain_check(e: anyhow::Error, p: &Profile) -> anyhow::Error {
    match e.downcast_ref::<oauth::ServerError>() {
        Some(se) if se.code.needs_reauthorization() => crate::exit::auth_needed(format!(
            "the stored authorization does not work ({se}): {} again",
            crate::ui::hint::authorize_again(
                &crate::ui::hint::domain_of(p.portal(), p.client_endpoint()),
                true
            )
        )),
        _ => e.context("cannot tell whether the authorization works"),
    }
}

fn summary(p: &Profile, reveal: bool, location: &str) -> String {
    let t = now();
    let secret = |key: &str| match p.secret(key) {
        Some(s) if reveal => s.expose().to_string(),
        Some(s) => s.masked(),
        None => "-".into(),
    };
    let text = |key: &str| match p.as_map().get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".into(),
        Some(v) => v.to_string(),
    };
    let expiry = match p.expires() {
        Some(e) => format!("{} ({})", ui::utc(e), ui::relative(e.saturating_sub(t))),
        None => "unknown".into(),
    };
    let issued = match p.meta_i64("refresh_token_issued_at") {
        Some(i) => format!("{} ({})", ui::utc(i), ui::relative(i.saturating_sub(t))),
        None => "unknown".into(),
    };
    let rows = [
        ("portal", p.portal().unwrap_or_else(|| "-".into())),
        ("member_id", text("member_id")),
        ("user_id", text("user_id")),
        ("scope", text("scope")),
        ("status", text("status")),
        ("client_endpoint", text("client_endpoint")),
        ("access_token", secret("access_token")),
        ("  expires", expiry),
        ("refresh_token", secret("refresh_token")),
        ("  issued", issued),
        ("application_token", secret("application_token")),
        ("client_id", text("client_id")),
        (
            "client_secret",
            mask_presence(p.secret("client_secret"), reveal),
        ),
        ("oauth_server", p.oauth_server().unwrap_or("-").to_string()),
        ("stored in", location.to_string()),
    ];
    rows.iter().map(|(k, v)| format!("{k:<18} {v}\n")).collect()
}

/// The client secret is never shown masked-but-partial: it does not rotate, so even a few
/// characters help an attacker more than a token's would.
fn mask_presence(s: Option<Secret>, reveal: bool) -> String {
    match s {
        Some(s) if reveal => s.expose().to_string(),
        Some(_) => "(stored)".into(),
        None => "-".into(),
    }
}
