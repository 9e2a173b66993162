/*!
`call --all` by `start=`: the first call learns `total`, the remaining pages go out in `batch`
requests side by side, written in order.
*/
use anyhow::{anyhow, Result};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde_json::{Map, Value};

use super::send::{run_batch, MAX_PAGES};
use super::sink::{Chunk, Sink};
use crate::rest::batch::{self, CommandResult, MAX_COMMANDS};
use crate::rest::list_items::page_items;
use crate::rest::list_items::PAGE;
use crate::rest::list_items::{as_u64, count};
use crate::rest::Caller;

/// The fewest pages worth a request of their own when splitting `start=` pages.
const MIN_PAGES_PER_BATCH: u64 = 10;

/// Pages by `start=`: the first page plainly, the rest in concurrent `batch` requests once
/// `total` is known.
pub async fn by_start(
    caller: &Caller<'_>,
    method: &str,
    params: Map<String, Value>,
    sink: &mut Sink<'_>,
) -> Result<()> {
    let first = caller.call(method, &params).await?;
    let total = count(first.get("total")).cloned();
    sink.write(&Chunk::of(page_items(&first), |i| i)?, total.as_ref())?;
    let Some(next) = next_start(params.get("start"), first.get("next"), 1)? else {
        return Ok(());
    };
    let (Some(next), Some(count)) = (as_u64(&next), total.as_ref().and_then(as_u64)) else {
        return one_by_one(caller, method, params, next, sink).await;
    };
    let begin = params.get("start").and_then(as_u64).unwrap_or(0);
    let starts = page_starts(begin, next, count)?;
    let per_batch = starts
        .len()
        .div_ceil(caller.concurrency())
        .clamp(MIN_PAGES_PER_BATCH as usize, MAX_COMMANDS);
    let batches = starts.chunks(per_batch).map(|c| c.to_vec());
    let mut answers = stream::iter(batches)
        .map(|chunk| start_pages(caller, method, &params, chunk))
        .buffered(caller.concurrency());
    while let Some((chunk, broken)) = answers.try_next().await? {
        sink.write(&chunk, total.as_ref())?;
        if let Some(e) = broken {
            return Err(e);
        }
    }
    Ok(())
}

/// The `start=` of every page after the first: from `next`, a page apart, below `count`.
/// A `next` that is not one page on from `begin`, or a `total` beyond [`MAX_PAGES`], ends the
/// export (the arithmetic is checked: a portal may send any number).
fn page_starts(begin: u64, next: u64, count: u64) -> Result<Vec<u64>> {
    let step = next
        .checked_sub(begin)
        .filter(|s| (1..=PAGE).contains(s))
        .ok_or_else(|| {
            anyhow!("the portal's `next` ({next}) after start={begin} is not the next page; stopped paging")
        })?;
    let pages = count.saturating_sub(next).div_ceil(step);
    if pages >= MAX_PAGES as u64 {
        return Err(anyhow!(
            "the portal says total={count}: more than {MAX_PAGES} pages (b24auth's limit for --all); narrow the filter"
        ));
    }
    Ok(remaining_starts(next, step, count))
}

/// One `batch` of `start=` pages, checked and turned into lines: the pages up to the first
/// broken one, and what broke it (written after them, so the output stops where the list did).
async fn start_pages(
    caller: &Caller<'_>,
    method: &str,
    params: &Map<String, Value>,
    starts: Vec<u64>,
) -> Result<(Chunk, Option<anyhow::Error>)> {
    let outcomes = run_batch(caller, &pages(method, params, &starts), false).await?;
    let mut chunk = Chunk::default();
    for (start, outcome) in starts.iter().zip(outcomes) {
        let next = match &outcome {
            CommandResult::Done { next, .. } => next.clone(),
            _ => None,
        };
        let page = match outcome
            .into_items()
            .and_then(|items| Chunk::of(items, |i| i))
        {
            Ok(page) => page,
            Err(e) => return Ok((chunk, Some(e))),
        };
        chunk.lines.extend(page.lines);
        chunk.count += page.count;
        // A page that names a `next` not past its own start is a broken list.
        if let Err(e) = next_start(Some(&(*start).into()), next.as_ref(), 1) {
            return Ok((chunk, Some(e)));
        }
    }
    Ok((chunk, None))
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
    caller: &Caller<'_>,
    method: &str,
    mut params: Map<String, Value>,
    mut next: Value,
    sink: &mut Sink<'_>,
) -> Result<()> {
    for pages in 2.. {
        params.insert("start".into(), next);
        let page = caller.call(method, &params).await?;
        sink.write(&Chunk::of(page_items(&page), |i| i)?, page.get("total"))?;
        match next_start(params.get("start"), page.get("next"), pages)? {
            Some(n) => next = n,
            None => break,
        }
    }
    Ok(())
}

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

/// The `start=` of every page after the first, when the first page said `next` and `total`.
pub fn remaining_starts(next: u64, step: u64, total: u64) -> Vec<u64> {
    let step = step.max(1);
    (0u64..)
        .map_while(|k| k.checked_mul(step).and_then(|o| next.checked_add(o)))
        .take_while(|s| *s < total)
        .collect()
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

    #[test]
    fn server_numbers_never_wrap() {
        assert_eq!(page_starts(0, 50, 120).unwrap(), vec![50, 100]);
        // total = u64::MAX, next = i64::MAX: not one page on, and far too many pages.
        assert!(page_starts(0, i64::MAX as u64, u64::MAX).is_err());
        assert!(page_starts(0, 50, u64::MAX).is_err());
        assert!(page_starts(u64::MAX - 10, u64::MAX, u64::MAX).is_ok());
        assert!(page_starts(100, 50, 1000).is_err(), "backwards");
        assert!(
            page_starts(0, 50, 50 * MAX_PAGES as u64).is_ok(),
            "the cap itself"
        );
        assert!(page_starts(0, 50, 50 * (MAX_PAGES as u64 + 1)).is_err());
    }

    #[test]
    fn start_pages_after_the_first() {
        assert_eq!(remaining_starts(50, 50, 120), vec![50, 100]);
        assert_eq!(remaining_starts(50, 50, 50), Vec::<u64>::new());
        assert_eq!(remaining_starts(50, 50, 10_000).len(), 199);
        assert_eq!(
            remaining_starts(u64::MAX - 60, 50, u64::MAX),
            vec![u64::MAX - 60, u64::MAX - 10]
        );
    }
}
