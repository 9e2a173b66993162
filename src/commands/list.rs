/*!
`b24auth list`: the stored profiles, one per line or as JSON; never a secret.
*/

use std::io::Write;

use anyhow::Result;
use serde_json::{json, Value};

use crate::cli::ListArgs;
use crate::profile::now;
use crate::session::Session;
use crate::store::candidates::Candidate;
use crate::store::Listing;
use crate::ui;
use crate::ui::sanitize::strip_controls;

pub(crate) async fn run(s: &Session, args: &ListArgs) -> Result<()> {
    let store = &s.store;
    let profiles = store.list().await?;
    let kept = candidates(s).await;
    let mut out = std::io::stdout().lock();
    let t = now();
    if args.json {
        writeln!(out, "{}", json_rows(s, &profiles, &kept))?;
        return Ok(());
    }
    if profiles.is_empty() && kept.is_empty() {
        s.cfg.ui.info("no profiles stored");
    }
    for (name, p) in &profiles {
        // Row names (a PostgreSQL store's) and stored values reach the terminal sanitized.
        let name = strip_controls(name);
        match p {
            Ok(p) => writeln!(
                out,
                "{name}\t{}\t{}\t{}{}",
                strip_controls(&p.portal().unwrap_or_else(|| "-".into())),
                strip_controls(p.member_id().unwrap_or("-")),
                tokens(p, t),
                match p.is_unverified() {
                    true => "\tUNVERIFIED (a refresh proves it)",
                    false => "",
                },
            )?,
            Err(e) => writeln!(
                out,
                "{name}\tdamaged: {}",
                strip_controls(&format!("{e:#}"))
            )?,
        }
    }
    for (name, c) in &kept {
        writeln!(
            out,
            "{}\t{}\tcandidate, arrived {}, not yet proven ({} proves it)",
            strip_controls(name),
            strip_controls(&c.claimed_portal()),
            ui::utc(c.received_at()),
            crate::ui::hint::cmd(&["refresh"])
        )?;
    }
    Ok(())
}

/// `--json`: one array, the profiles then the candidates.
fn json_rows(s: &Session, profiles: &Listing, kept: &[(String, Candidate)]) -> Value {
    let store = &s.store;
    let mut rows: Vec<Value> = profiles
        .iter()
        .map(|(name, p)| match p {
            Ok(p) => json!({
                "profile": name,
                "portal": p.portal(),
                "member_id": p.member_id(),
                "expires": p.expires(),
                "refresh_token_issued_at": p.refresh_token_issued_at(),
                "location": store.location(name),
                "unverified": p.is_unverified(),
            }),
            Err(e) => json!({"profile": name, "error": format!("{e:#}"), "location": store.location(name)}),
        })
        .collect();
    rows.extend(kept.iter().map(|(name, c)| {
        json!({"profile": name, "candidate": true, "portal": c.claimed_portal(),
               "member_id": c.profile.member_id(), "received_at": c.received_at(),
               "location": store.location(name)})
    }));
    Value::Array(rows)
}

/// The candidates of every profile that has some (a profile may hold only candidates), by
/// profile name.
/// The credential's state: a webhook has no token to expire; an uninstalled portal's pair is
/// refreshed no more.
fn tokens(p: &crate::profile::Profile, t: i64) -> String {
    if p.is_webhook() {
        return "incoming webhook (no token to expire)".into();
    }
    if let Some(at) = crate::store::marks::uninstalled_at(p) {
        return format!("UNINSTALLED {}", ui::relative(at.saturating_sub(t)));
    }
    format!(
        "access token {}\trefresh token {}",
        p.expires()
            .map(|e| format!("expires {}", ui::relative(e.saturating_sub(t))))
            .unwrap_or_else(|| "expiry unknown".into()),
        p.refresh_token_issued_at()
            .map(|i| format!("issued {}", ui::relative(i.saturating_sub(t))))
            .unwrap_or_else(|| "age unknown".into()),
    )
}

async fn candidates(s: &Session) -> Vec<(String, Candidate)> {
    let names = match s.store.candidate_profiles().await {
        Ok(names) => names,
        Err(e) => {
            s.cfg.ui.warn(strip_controls(&format!(
                "cannot list the profiles' candidates: {e:#}"
            )));
            return Vec::new();
        }
    };
    let mut kept = Vec::new();
    for name in &names {
        match s.store.candidates(name).await {
            Ok(found) => kept.extend(found.into_iter().map(|c| (name.to_string(), c))),
            Err(e) => s.cfg.ui.warn(strip_controls(&format!(
                "cannot read the candidates of profile `{name}`: {e:#}"
            ))),
        }
    }
    kept
}
