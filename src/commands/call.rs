/*!
`b24auth call METHOD [KEY=VALUE | KEY:=JSON …]`: a REST call with the stored authorization,
printed as JSON; `--all` follows `next` through every page under the rate limit.
*/

use std::io::{IsTerminal, Read, Write};

use anyhow::{anyhow, Context as _, Result};
use serde_json::{Map, Value};

use crate::cli::CallArgs;
use crate::context::Context;
use crate::exit;
use crate::rest::{page_items, pairs_to_json, Bucket, Caller};
use crate::ui;

pub fn run(ctx: &Context, args: &CallArgs) -> Result<()> {
    let mut params = match &args.data {
        Some(data) => read_data(data)?,
        None => Map::new(),
    };
    params.extend(pairs_to_json(&args.pairs)?);
    let store = ctx.store()?;
    ui::block_on(async {
        let mut caller = Caller::new(ctx, &store, Bucket::new(args.rate, args.burst)).await?;
        if args.all {
            call_all(ctx, &mut caller, args, params).await
        } else {
            let response = caller.call(&args.method, &params).await?;
            let shown = match args.result {
                true => response.get("result").cloned().unwrap_or(Value::Null),
                false => Value::Object(response),
            };
            print(&shown)
        }
    })
}

/// Pages through a list method from `start` (or 0) until there is no `next`.
async fn call_all(
    ctx: &Context,
    caller: &mut Caller<'_>,
    args: &CallArgs,
    mut params: Map<String, Value>,
) -> Result<()> {
    let progress = !ctx.ui.is_quiet() && ui::stderr_is_terminal();
    let mut collected = Vec::new();
    let mut seen = 0usize;
    let mut pages = 0usize;
    let mut out = std::io::stdout().lock();
    loop {
        let page = caller.call(&args.method, &params).await?;
        let items = page_items(&page);
        seen += items.len();
        if args.array {
            collected.extend(items);
        } else {
            for item in items {
                writeln!(out, "{item}")?;
            }
            out.flush()?;
        }
        if progress {
            let total = page
                .get("total")
                .map(|t| format!(" of {t}"))
                .unwrap_or_default();
            eprint!("\r\x1b[2Kfetched {seen}{total}");
        }
        pages += 1;
        match next_start(params.get("start"), page.get("next"), pages)? {
            Some(next) => {
                params.insert("start".into(), next);
            }
            None => break,
        }
    }
    if progress {
        eprint!("\r\x1b[2K");
    }
    drop(out);
    if args.array {
        print(&Value::Array(collected))?;
    }
    Ok(())
}

/// The most pages `--all` follows (5,000,000 items at 50 a page): a portal whose `next` never
/// ends stops with an error instead of running forever.
pub const MAX_PAGES: usize = 100_000;

/// The `start` of the next page, or `None` when `next` is absent; an error when `next` does not
/// advance past the previous offset or `pages` reached [`MAX_PAGES`].
fn next_start(
    previous: Option<&Value>,
    next: Option<&Value>,
    pages: usize,
) -> Result<Option<Value>> {
    let offset = |v: &Value| match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    let Some(next) = next.filter(|n| !n.is_null()) else {
        return Ok(None);
    };
    let after = previous.and_then(offset).unwrap_or(0);
    match offset(next) {
        Some(n) if n > after => {}
        _ => {
            return Err(anyhow!(
                "the portal's `next` ({next}) does not advance past {after}; stopped paging"
            ))
        }
    }
    if pages >= MAX_PAGES {
        return Err(anyhow!(
            "stopped after {MAX_PAGES} pages (b24auth's limit for --all); narrow the filter"
        ));
    }
    Ok(Some(next.clone()))
}

fn read_data(data: &str) -> Result<Map<String, Value>> {
    let text = match data.strip_prefix('@') {
        Some("-") => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("cannot read --data from stdin")?;
            s
        }
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --data file {path}"))?,
        None => data.to_string(),
    };
    match serde_json::from_str(&text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(exit::usage("--data must be a JSON object")),
        Err(e) => Err(exit::usage(format!("--data is not valid JSON ({e})"))),
    }
}

/// Pretty for people on a terminal, one compact line for scripts.
fn print(value: &Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let text = if std::io::stdout().is_terminal() {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }
    .map_err(|e| anyhow!("cannot print the answer ({e})"))?;
    writeln!(out, "{text}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn next_must_advance_and_pages_are_capped() {
        let n = |prev: Option<Value>, next: Option<Value>, pages| {
            next_start(prev.as_ref(), next.as_ref(), pages)
        };
        assert_eq!(n(None, Some(json!(50)), 1).unwrap(), Some(json!(50)));
        assert_eq!(
            n(Some(json!(50)), Some(json!("100")), 2).unwrap(),
            Some(json!("100"))
        );
        assert_eq!(n(Some(json!(50)), None, 2).unwrap(), None);
        assert_eq!(n(Some(json!(50)), Some(Value::Null), 2).unwrap(), None);
        assert!(n(Some(json!(50)), Some(json!(50)), 2).is_err());
        assert!(n(Some(json!(50)), Some(json!(0)), 2).is_err());
        assert!(n(None, Some(json!(0)), 1).is_err());
        assert!(n(None, Some(json!("x")), 1).is_err());
        assert!(n(Some(json!(50)), Some(json!(100)), MAX_PAGES).is_err());
    }
}
