/*!
`call --all`: reading every item of a list method with as few requests as Bitrix24 allows, and
writing them as they come.

- By `start=` (the default): the first call learns `total`; the remaining pages go out 50 per
  `batch` request, in order. A method that does not say `total` is paged one call at a time.
- By ID (`--by-id`): `order[ID]=ASC`, `start=-1` (the portal skips the count), and 50 commands
  per `batch`, each reading after the last ID of the one before: up to 2,500 items a request.

Items are written to stdout as JSON lines page by page (memory stays at one batch answer), or
collected for `--array`.
*/

use std::io::{BufWriter, StdoutLock, Write};

use anyhow::{anyhow, Result};
use serde_json::{Map, Value};

use super::batch::{self, Outcome, MAX_COMMANDS, PAGE};
use super::{page_items, Caller};

/// Where the items go: JSON lines on stdout, or a list kept for one array at the end.
pub struct Sink<'a> {
    out: BufWriter<StdoutLock<'a>>,
    collected: Option<Vec<Value>>,
    progress: bool,
    seen: usize,
}

impl Sink<'_> {
    pub fn new(array: bool, progress: bool) -> Sink<'static> {
        Sink {
            out: BufWriter::with_capacity(64 * 1024, std::io::stdout().lock()),
            collected: array.then(Vec::new),
            progress,
            seen: 0,
        }
    }

    /// Writes (or keeps) one page's items; on a terminal, shows how far it got.
    pub fn page(&mut self, items: Vec<Value>, total: Option<&Value>) -> Result<()> {
        self.seen += items.len();
        match &mut self.collected {
            Some(all) => all.extend(items),
            None => {
                for item in items {
                    serde_json::to_writer(&mut self.out, &item)?;
                    self.out.write_all(b"\n")?;
                }
                self.out.flush()?;
            }
        }
        if self.progress {
            let total = count(total).map(|t| format!(" of {t}")).unwrap_or_default();
            eprint!("\r\x1b[2Kfetched {}{total}", self.seen);
        }
        Ok(())
    }

    /// Clears the progress line; returns the items kept for `--array`.
    pub fn finish(mut self) -> Result<Option<Vec<Value>>> {
        if self.progress {
            eprint!("\r\x1b[2K");
        }
        self.out.flush()?;
        Ok(self.collected.take())
    }
}

/// Pages by `start=`: the first page plainly, the rest 50 to a `batch` once `total` is known.
pub async fn by_start(
    caller: &mut Caller<'_>,
    method: &str,
    params: Map<String, Value>,
    sink: &mut Sink<'_>,
) -> Result<()> {
    let first = caller.call(method, &params).await?;
    let total = count(first.get("total")).cloned();
    sink.page(page_items(&first), total.as_ref())?;
    let Some(next) = next_start(params.get("start"), first.get("next"), 1)? else {
        return Ok(());
    };
    match (as_u64(&next), total.as_ref().and_then(as_u64)) {
        (Some(next), Some(count)) => {
            let begin = params.get("start").and_then(as_u64).unwrap_or(0);
            let step = next.saturating_sub(begin).max(1);
            if count.saturating_sub(next) / step >= MAX_PAGES as u64 {
                return Err(too_many_pages());
            }
            let starts = batch::remaining_starts(next, step, count);
            let total = total.as_ref();
            let mut pages_done = 1;
            for chunk in starts.chunks(MAX_COMMANDS) {
                let outcomes = run_batch(caller, &pages(method, &params, chunk), false).await?;
                for (start, outcome) in chunk.iter().zip(outcomes) {
                    // A page that names a `next` not past its own start is a broken list.
                    let next = match &outcome {
                        batch::Outcome::Done { next, .. } => next.clone(),
                        _ => None,
                    };
                    sink.page(outcome.into_items()?, total)?;
                    pages_done += 1;
                    next_start(Some(&(*start).into()), next.as_ref(), pages_done)?;
                }
            }
            Ok(())
        }
        _ => one_by_one(caller, method, params, next, sink).await,
    }
}

/// One `method?…&start=N` command per start.
fn pages(method: &str, params: &Map<String, Value>, starts: &[u64]) -> Vec<String> {
    starts
        .iter()
        .map(|s| {
            let mut p = params.clone();
            p.insert("start".into(), (*s).into());
            batch::command(method, &p)
        })
        .collect()
}

/// Follows `next` one call at a time (a method that pages without saying `total`).
async fn one_by_one(
    caller: &mut Caller<'_>,
    method: &str,
    mut params: Map<String, Value>,
    mut next: Value,
    sink: &mut Sink<'_>,
) -> Result<()> {
    for pages in 2.. {
        params.insert("start".into(), next);
        let page = caller.call(method, &params).await?;
        sink.page(page_items(&page), page.get("total"))?;
        match next_start(params.get("start"), page.get("next"), pages)? {
            Some(n) => next = n,
            None => break,
        }
    }
    Ok(())
}

/// Pages by ID: 50 chained commands per `batch` until a page comes back short.
pub async fn by_id(
    caller: &mut Caller<'_>,
    method: &str,
    params: Map<String, Value>,
    sink: &mut Sink<'_>,
) -> Result<()> {
    let cursor = batch::cursor(params)?;
    let mut after = cursor.after.clone();
    loop {
        let commands = cursor.commands(method, after.as_deref());
        let mut full = true;
        for outcome in run_batch(caller, &commands, true).await? {
            let items = outcome.into_items()?;
            let short = (items.len() as u64) < PAGE;
            if let Some(last) = items.last() {
                after = Some(checked_advance(method, after.as_deref(), &items, last)?);
            }
            sink.page(items.into_iter().map(|i| cursor.shown(i)).collect(), None)?;
            if short {
                full = false;
                break;
            }
        }
        if !full {
            return Ok(());
        }
    }
}

/// The last ID of a page, after checking the page starts past the previous one (a method that
/// ignores `filter[>ID]` would otherwise return its first page forever).
fn checked_advance(
    method: &str,
    after: Option<&str>,
    items: &[Value],
    last: &Value,
) -> Result<String> {
    let id = |item: &Value| item.get("ID").and_then(batch::id_text);
    let no_id = || {
        anyhow!(
            "{method}: an item has no numeric ID, which --by-id needs; use --all without --by-id"
        )
    };
    let first = id(&items[0]).ok_or_else(no_id)?;
    let last = id(last).ok_or_else(no_id)?;
    let number = |s: &str| s.parse::<u128>().unwrap_or(0);
    if after.is_some_and(|a| number(&first) <= number(a)) {
        return Err(anyhow!(
            "{method} does not honour filter[>ID]; use --all without --by-id"
        ));
    }
    Ok(last)
}

/// Sends one `batch` and returns each command's outcome, in order (the caller stops at the
/// first failed one, after writing the pages before it).
async fn run_batch(
    caller: &mut Caller<'_>,
    commands: &[String],
    halt: bool,
) -> Result<Vec<Outcome>> {
    let answer = caller
        .call("batch", &batch::request(commands, halt))
        .await?;
    batch::outcomes(answer, commands.len())
}

const MAX_PAGES: usize = 100_000;

/// The `start` of the next page, or `None` when `next` is absent; an error when `next` does not
/// advance past the previous offset or `pages` reached [`MAX_PAGES`].
pub(crate) fn next_start(
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

fn too_many_pages() -> anyhow::Error {
    anyhow!("stopped after {MAX_PAGES} pages (b24auth's limit for --all); narrow the filter")
}

/// `total` when it is a count: `start=-1` answers carry `"total": 0` (huge-data.md), no count.
fn count(total: Option<&Value>) -> Option<&Value> {
    total.filter(|t| as_u64(t).is_some_and(|n| n > 0))
}

fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_zero_total_is_no_count() {
        assert_eq!(count(Some(&json!(0))), None);
        assert_eq!(count(Some(&json!("0"))), None);
        assert_eq!(count(Some(&json!(120))), Some(&json!(120)));
        assert_eq!(count(Some(&json!("120"))), Some(&json!("120")));
        assert_eq!(count(None), None);
    }

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
