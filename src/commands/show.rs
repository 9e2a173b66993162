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
use crate::session::Session;
use crate::ui::sanitize::strip_controls;
use crate::ui::{self, hint};

pub(crate) async fn run(s: &Session, args: &ShowArgs) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if args.path {
        writeln!(out, "{}", s.location())?;
        return Ok(());
    }
    if args.check {
        return check(s, &mut out).await;
    }
    let human = args.format.is_none() && !args.json && args.field.is_none();
    let p = match s.load().await {
        Ok(p) => p,
        Err(e) => {
            // Nothing proven: the candidates are still named (claimed portal, arrival time).
            if human {
                write!(out, "{}", candidates(s).await)?;
            }
            return Err(e);
        }
    };
    if p.is_unverified() && hands_out_secrets(args) {
        return Err(unverified_refusal(s));
    }
    if let Some(format) = args.format {
        write!(out, "{}", export(s, &p, format)?)?;
    } else if args.json {
        out.write_all(&p.to_bytes())?;
    } else if let Some(name) = &args.field {
        let value = p
            .field(name)
            .ok_or_else(|| anyhow!("profile `{}` has no field `{name}`", s.profile_name()))?;
        // Text from the store reaches a terminal only through the one sanitizer.
        match value {
            Value::String(text) => writeln!(out, "{}", strip_controls(&text))?,
            other => writeln!(out, "{other}")?,
        }
    } else {
        write!(
            out,
            "{}",
            ui::summary::profile(&p, args.reveal, &s.location())
        )?;
        write!(out, "{}", candidates(s).await)?;
    }
    Ok(())
}

/// The install callbacks kept for the profile and not yet proven: one line each.
async fn candidates(s: &Session) -> String {
    let kept = match s.store.candidates(s.profile_name()).await {
        Ok(kept) => kept,
        Err(e) => {
            return format!(
                "{:<18} cannot be read: {}\n",
                "candidates",
                strip_controls(&format!("{e:#}"))
            )
        }
    };
    kept.iter()
        .map(|c| {
            let line = format!(
                "candidate claiming portal {}, arrived {}, not yet proven (no command uses it before {} proves it)",
                c.claimed_portal(),
                ui::utc(c.received_at()),
                crate::ui::hint::cmd(&["refresh"])
            );
            format!("{:<18} {}\n", "candidate", strip_controls(&line))
        })
        .collect()
}

/// Whether this `show` would print the token, the endpoint or another secret in clear.
fn hands_out_secrets(args: &ShowArgs) -> bool {
    // The portal's name and the OAuth server are the callback's claim too until proven.
    const WITHHELD: [&str; 8] = [
        "access_token",
        "refresh_token",
        "client_endpoint",
        "application_token",
        "client_secret",
        "portal",
        "domain",
        "server_endpoint",
    ];
    args.format.is_some()
        || args.json
        || args.reveal
        || args.field.as_deref().is_some_and(|f| WITHHELD.contains(&f))
}

/// Exit 3: an unverified pair's token and endpoint stay with b24auth until a refresh proves them.
fn unverified_refusal(s: &Session) -> anyhow::Error {
    crate::exit::auth_needed(format!(
        "profile `{}` is unverified (the OAuth server has not confirmed its portal yet): its token and endpoint are not handed out; run {} with B24AUTH_CLIENT_ID and B24AUTH_CLIENT_SECRET set to prove it",
        s.profile_name(),
        crate::ui::hint::cmd(&["refresh"])
    ))
}

/// `--format crest|env`: the pair as another tool reads it.
fn export(s: &Session, p: &Profile, format: ShowFormat) -> Result<String> {
    use crate::session::child_env::{env_file, exec_env};
    match format {
        ShowFormat::Crest => {
            let settings = Value::Object(crate::bitrix::formats::crest_settings(p));
            Ok(format!("{settings:#}\n"))
        }
        ShowFormat::Env => env_file(&exec_env(p, &s.cfg)).map_err(|why| {
            anyhow!(
                "cannot write profile `{}` as an env file: {why}; nothing was printed: replace the pair: {}",
                s.profile_name(),
                hint::authorize_again(&hint::domain_of(p.portal(), p.client_endpoint()), true)
            )
        }),
    }
}

/// Asks the trusted OAuth server's `app.info` (and the portal's) whether the stored
/// authorization works, refreshing first when the token has expired.
async fn check(s: &Session, out: &mut impl Write) -> Result<()> {
    let mut p = s.valid_profile(0).await?;
    let server = crate::bitrix::server::for_refresh(s.cfg.oauth_server.as_ref(), &p)?;
    crate::bitrix::server::check_oauth_server(&server)?;
    let client = s.oauth_client(server.clone())?;
    let rest = server.join("rest/")?;
    let mut token = p.access_token();
    let mut asked = client.app_info(&rest, &token).await;
    if asked
        .as_ref()
        .err()
        .and_then(server_code)
        .is_some_and(refresh_may_cure)
    {
        // A dead token (or the portal's clock saying expired before ours): refresh (unless
        // another process already did) and ask again: an expired token is no failed check.
        let used = token.clone();
        p = s
            .refresh(|q| q.access_token() == used)
            .await
            .map_err(refresh_failed)?
            .profile;
        token = p.access_token();
        asked = client.app_info(&rest, &token).await;
    }
    let info = asked.map_err(|e| explain_check(e, &p))?;
    let portal = match p.client_endpoint().map(Url::parse) {
        Some(Ok(endpoint)) => client.app_info(&endpoint, &token).await.ok(),
        _ => None,
    };
    let get = |m: &Map<String, Value>, k: &str| match m.get(k) {
        Some(Value::String(s)) => strip_controls(s),
        Some(v) => v.to_string(),
        None => "-".into(),
    };
    writeln!(
        out,
        "works: portal {}",
        strip_controls(&p.portal().unwrap_or_default())
    )?;
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

/// A dead token at the OAuth server's `app.info`: its own words for it, or `invalid_client`,
/// which b24pysdk records there for a dead token of token-like form.
fn refresh_may_cure(code: &ErrorCode) -> bool {
    code.token_refused() || *code == ErrorCode::InvalidClient
}

/// `--check` asks one question: a refresh the server refused means re-authorize (3), whatever
/// the reason it gave (the message keeps it); only a failure to get an answer is 1.
fn refresh_failed(e: anyhow::Error) -> anyhow::Error {
    match e.downcast::<crate::bitrix::errors::ClientRefused>() {
        Ok(refused) => crate::exit::auth_needed(format!(
            "the stored authorization does not work: {}",
            refused.0
        )),
        Err(e) => e,
    }
}

/// Exit 3 when the OAuth server says the authorization is dead, exit 1 (cannot tell) otherwise.
fn explain_check(e: anyhow::Error, p: &Profile) -> anyhow::Error {
    let portal = crate::ui::hint::domain_of(p.portal(), p.client_endpoint());
    match e.downcast_ref::<oauth::ServerError>() {
        Some(se) if se.code.app_removed() => crate::bitrix::errors::app_not_installed(se, &portal),
        Some(se) if se.code.needs_reauthorization() || se.code.is_client_refusal() => {
            crate::exit::auth_needed(format!(
                "the stored authorization does not work ({se}): {} again (reinstall the app first if it was removed)",
                crate::ui::hint::authorize_again(&portal, true)
            ))
        }
        _ => e.context("cannot tell whether the authorization works"),
    }
}
