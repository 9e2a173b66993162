/*!
`b24auth list`: the stored profiles, one per line or as JSON; never a secret.
*/

use std::io::Write;

use anyhow::Result;
use serde_json::{json, Value};

use crate::cli::ListArgs;
use crate::profile::now;
use crate::session::Session;
use crate::ui;
use crate::ui::sanitize::strip_controls;

pub(crate) async fn run(s: &Session, args: &ListArgs) -> Result<()> {
    let store = &s.store;
    let profiles = store.list().await?;
    let mut out = std::io::stdout().lock();
    let t = now();
    if args.json {
        let rows: Vec<Value> = profiles
            .iter()
            .map(|(name, p)| match p {
                Ok(p) => json!({
                    "profile": name,
                    "portal": p.portal(),
                    "member_id": p.member_id(),
                    "expires": p.expires(),
                    "refresh_token_issued_at": p.meta_i64("refresh_token_issued_at"),
                    "location": store.location(name),
                    "unverified": p.is_unverified(),
                }),
                Err(e) => json!({"profile": name, "error": format!("{e:#}"), "location": store.location(name)}),
            })
            .collect();
        writeln!(out, "{}", Value::Array(rows))?;
        return Ok(());
    }
    if profiles.is_empty() {
        s.cfg.ui.info("no profiles stored");
    }
    for (name, p) in &profiles {
        // Row names (a PostgreSQL store's) and stored values reach the terminal sanitized.
        let name = strip_controls(name);
        match p {
            Ok(p) => writeln!(
                out,
                "{name}\t{}\t{}\taccess token {}\trefresh token {}{}",
                strip_controls(&p.portal().unwrap_or_else(|| "-".into())),
                strip_controls(p.member_id().unwrap_or("-")),
                p.expires()
                    .map(|e| format!("expires {}", ui::relative(e.saturating_sub(t))))
                    .unwrap_or_else(|| "expiry unknown".into()),
                p.meta_i64("refresh_token_issued_at")
                    .map(|i| format!("issued {}", ui::relative(i.saturating_sub(t))))
                    .unwrap_or_else(|| "age unknown".into()),
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
    Ok(())
}
