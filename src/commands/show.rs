/*!
`b24auth show`: what is stored — a masked summary for people, JSON or one field for scripts.
*/

use std::io::Write;

use anyhow::{anyhow, Result};
use serde_json::{Map, Value};

use crate::cli::{ShowArgs, ShowFormat};
use crate::profile::{now, Profile};
use crate::session::check::CheckReport;
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

/// `--check`: whether the stored authorization works ([`crate::session::check`]), for people.
async fn check(s: &Session, out: &mut impl Write) -> Result<()> {
    let CheckReport {
        profile: p,
        server,
        info,
        app: portal,
    } = crate::session::check::works(s).await?;
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
