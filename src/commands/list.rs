/*!
`b24auth list`: the stored profiles, one per line or as JSON; never a secret.
*/

use anyhow::Result;
use serde_json::{json, Value};

use crate::cli::ListArgs;
use crate::context::Context;
use crate::profile::now;
use crate::ui;

pub fn run(ctx: &Context, args: &ListArgs) -> Result<()> {
    let store = ctx.store()?;
    let profiles = ui::block_on(store.list())?;
    let t = now();
    if args.json {
        let rows: Vec<Value> = profiles
            .iter()
            .map(|(name, p)| match p {
                Ok(p) => json!({
                    "profile": name,
                    "portal": p.portal(),
                    "member_id": p.str("member_id"),
                    "expires": p.expires(),
                    "refresh_token_issued_at": p.meta_i64("refresh_token_issued_at"),
                    "location": store.location(name),
                }),
                Err(e) => json!({"profile": name, "error": format!("{e:#}"), "location": store.location(name)}),
            })
            .collect();
        println!("{}", Value::Array(rows));
        return Ok(());
    }
    if profiles.is_empty() {
        ctx.ui.info("no profiles stored");
    }
    for (name, p) in &profiles {
        match p {
            Ok(p) => println!(
                "{name}\t{}\t{}\taccess token {}\trefresh token {}",
                p.portal().unwrap_or_else(|| "-".into()),
                p.str("member_id").unwrap_or("-"),
                p.expires()
                    .map(|e| format!("expires {}", ui::relative(e.saturating_sub(t))))
                    .unwrap_or_else(|| "expiry unknown".into()),
                p.meta_i64("refresh_token_issued_at")
                    .map(|i| format!("issued {}", ui::relative(i.saturating_sub(t))))
                    .unwrap_or_else(|| "age unknown".into()),
            ),
            Err(e) => println!("{name}\tdamaged: {e:#}"),
        }
    }
    Ok(())
}
