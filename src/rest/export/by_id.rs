/*!
`call --all --by-id`: the ID cursor, with the IDs split into ranges read side by side.
*/

use std::cell::{Cell, RefCell};

use anyhow::{anyhow, Result};
use serde_json::{json, Map, Value};

use super::send::{run_batch, MAX_PAGES};
use super::sink::{Chunk, Ordered, Sink};
use crate::exit;
use crate::rest::batch::{self, command, key, MAX_COMMANDS};
use crate::rest::list_items::PAGE;
use crate::rest::Caller;

/// The fewest IDs worth a chain of their own when splitting `--by-id` (ten pages, if dense).
const MIN_IDS_PER_RANGE: u64 = 500;

/// The IDs one chain reads: after `after` (from the start when `None`), up to `upto`
/// (to the end when `None`), `width` of them as far as the first request could tell.
#[derive(Debug, Clone, PartialEq)]
struct Range {
    after: Option<String>,
    upto: Option<String>,
    width: Option<u64>,
}

/// Pages by ID: the first request reads the first page and learns the highest ID; the rest
/// is split into ranges read side by side and written in ID order.
pub async fn by_id(
    caller: &Caller<'_>,
    method: &str,
    params: serde_json::Map<String, Value>,
    sink: &mut Sink<'_>,
) -> Result<()> {
    let cursor = cursor(params)?;
    let pages = Cell::new(0usize);
    let whole = Range {
        after: cursor.after.clone(),
        upto: None,
        width: None,
    };
    if caller.concurrency() == 1 || !cursor.splittable() {
        return chain(caller, method, &cursor, whole, &pages, &mut |c| {
            sink.write(&c, None)
        })
        .await;
    }
    let first = first_and_highest(caller, method, &cursor, sink).await?;
    pages.set(first.pages);
    let Some(last) = first.last.filter(|_| !first.short) else {
        return Ok(());
    };
    let ranges = split(&last, first.highest.as_deref(), caller.concurrency());
    let ordered = RefCell::new(Ordered::new(sink, ranges.len()));
    let chains = ranges.into_iter().enumerate().map(|(i, range)| {
        let (cursor, pages, ordered) = (&cursor, &pages, &ordered);
        async move {
            let mut emit = |chunk: Chunk| ordered.borrow_mut().emit(i, chunk);
            chain(caller, method, cursor, range, pages, &mut emit).await?;
            ordered.borrow_mut().finished(i)
        }
    });
    futures_util::future::try_join_all(chains).await?;
    Ok(())
}

/// Pages the first `--by-id` request reads before the ranges are split: a small table is
/// read whole by it, and a large one waits for it only briefly.
const FIRST_PAGES: usize = 4;

/// What the first `--by-id` request told.
struct First {
    pages: usize,
    /// A page came back short: there is nothing more.
    short: bool,
    /// The last ID read.
    last: Option<String>,
    /// The highest ID the filter matches, if the portal said.
    highest: Option<String>,
}

/// One request: the first [`FIRST_PAGES`] pages after the cursor's start, chained, and the
/// highest ID the filter matches (`order[ID]=DESC`, only `ID` selected). The pages are
/// written as they are checked.
async fn first_and_highest(
    caller: &Caller<'_>,
    method: &str,
    cursor: &Cursor,
    sink: &mut Sink<'_>,
) -> Result<First> {
    let mut highest = cursor.params.clone();
    highest.insert("order".into(), json!({"ID": "DESC"}));
    highest.insert("select".into(), json!(["ID"]));
    if let Some(after) = &cursor.after {
        let filter = highest.entry("filter").or_insert_with(|| json!({}));
        if let Value::Object(f) = filter {
            f.insert(">ID".into(), Value::String(after.clone()));
        }
    }
    let mut commands = cursor.commands(method, cursor.after.as_deref(), None, FIRST_PAGES);
    commands.push(batch::command(method, &highest));
    let mut outcomes = run_batch(caller, &commands, false).await?;
    let top = outcomes
        .pop()
        .and_then(|o| o.into_items().ok())
        .unwrap_or_default();
    let mut first = First {
        pages: 0,
        short: false,
        last: cursor.after.clone(),
        highest: top
            .iter()
            .filter_map(|i| i.get("ID").and_then(id_text))
            .filter_map(|id| id.parse::<u64>().ok())
            .max()
            .map(|id| id.to_string()),
    };
    for outcome in outcomes {
        let items = outcome.into_items()?;
        first.short = (items.len() as u64) < PAGE;
        if let Some(last) = items.last() {
            first.last = Some(checked_advance(
                method,
                first.last.as_deref(),
                &items,
                last,
            )?);
        }
        sink.write(&Chunk::of(items, |i| cursor.shown(i))?, None)?;
        first.pages += 1;
        if first.short {
            break;
        }
    }
    Ok(first)
}

/// The IDs after `last` split into at most `n` ranges of at least [`MIN_IDS_PER_RANGE`]; the
/// last range has no upper bound (IDs added meanwhile, or a `highest` that was wrong, are
/// still read).
fn split(last: &str, highest: Option<&str>, n: usize) -> Vec<Range> {
    let open = |after: &str| Range {
        after: Some(after.to_string()),
        upto: None,
        width: None,
    };
    let (Ok(lo), Some(Ok(hi))) = (last.parse::<u64>(), highest.map(str::parse::<u64>)) else {
        return vec![open(last)];
    };
    let Some(width) = hi.checked_sub(lo).filter(|w| *w > 0) else {
        return vec![open(last)];
    };
    let k = width.div_ceil(MIN_IDS_PER_RANGE).clamp(1, n as u64);
    let step = width.div_ceil(k);
    let bound = |i: u64| lo + step.saturating_mul(i).min(width);
    (0..k)
        .map(|i| Range {
            after: Some(bound(i).to_string()),
            upto: (i + 1 < k).then(|| bound(i + 1).to_string()),
            width: Some(bound(i + 1) - bound(i)),
        })
        .collect()
}

/// Reads one range by the ID cursor: batches of chained commands (as many as the range is
/// likely to fill, at most 50) until a page comes back short.
async fn chain(
    caller: &Caller<'_>,
    method: &str,
    cursor: &Cursor,
    range: Range,
    pages: &Cell<usize>,
    emit: &mut dyn FnMut(Chunk) -> Result<()>,
) -> Result<()> {
    let mut after = range.after.clone();
    let mut left = range.width;
    loop {
        // The pages a dense range still holds, and one more to see it end.
        let count = left.map_or(MAX_COMMANDS as u64, |w| w / PAGE + 2);
        let count = count.clamp(1, MAX_COMMANDS as u64) as usize;
        let commands = cursor.commands(method, after.as_deref(), range.upto.as_deref(), count);
        for outcome in run_batch(caller, &commands, true).await? {
            let items = outcome.into_items()?;
            let short = (items.len() as u64) < PAGE;
            if let Some(last) = items.last() {
                let next = checked_advance(method, after.as_deref(), &items, last)?;
                left = left.map(|w| w.saturating_sub(distance(after.as_deref(), &next)));
                after = Some(next);
            }
            emit(Chunk::of(items, |i| cursor.shown(i))?)?;
            pages.set(pages.get() + 1);
            if short {
                return Ok(());
            }
            if pages.get() >= MAX_PAGES {
                return Err(anyhow!(
                    "{method}: stopped after {MAX_PAGES} pages (b24auth's limit for --all); narrow the filter"
                ));
            }
        }
    }
}

/// How far the cursor moved: from `from` to `to` (IDs as text), 0 when not both numbers.
fn distance(from: Option<&str>, to: &str) -> u64 {
    match (from.and_then(|f| f.parse::<u64>().ok()), to.parse::<u64>()) {
        (Some(f), Ok(t)) => t.saturating_sub(f),
        _ => 0,
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
    let id = |item: &Value| item.get("ID").and_then(id_text);
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

/// A list method's parameters prepared for the ID cursor, and whether `ID` was added to the
/// user's `select` (and must not show in the output).
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub params: Map<String, Value>,
    pub strip_id: bool,
    /// Where the cursor starts: the user's own `filter[>ID]`, if any.
    pub after: Option<String>,
}

/// Prepares `params` for the ID cursor: `order[ID]=ASC`, `start=-1`, `ID` in `select`.
/// A user's `filter[>ID]` becomes the cursor's start; another `order` or `start` cannot be
/// honoured, so they are usage errors.
pub fn cursor(mut params: Map<String, Value>) -> Result<Cursor> {
    if let Some(order) = params.get("order") {
        let only_id_asc = order.as_object().is_some_and(|o| {
            o.len() == 1
                && o.get("ID").and_then(Value::as_str).map(str::to_uppercase) == Some("ASC".into())
        });
        if !only_id_asc {
            return Err(exit::usage(
                "--by-id reads in ID order: drop order[…] or use --all without --by-id",
            ));
        }
    }
    if params.contains_key("start") {
        return Err(exit::usage(
            "--by-id pages by ID, not start=: drop start or use --all without --by-id",
        ));
    }
    let mut after = None;
    if let Some(Value::Object(filter)) = params.get_mut("filter") {
        if let Some(v) = filter.remove(">ID") {
            after = Some(
                id_text(&v)
                    .ok_or_else(|| exit::usage("filter[>ID] must be a number for --by-id"))?,
            );
        }
    }
    let mut strip_id = false;
    if let Some(Value::Array(select)) = params.get_mut("select") {
        let has = |f: &str| select.iter().any(|v| v.as_str() == Some(f));
        if !select.is_empty() && !has("ID") && !has("*") {
            select.push(json!("ID"));
            strip_id = true;
        }
    }
    params.insert("order".into(), json!({"ID": "ASC"}));
    params.insert("start".into(), json!(-1));
    Ok(Cursor {
        params,
        strip_id,
        after,
    })
}

/// An item's `ID` as the text a filter takes.
pub fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            Some(s.clone())
        }
        Value::Number(n) if n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

impl Cursor {
    /// `count` (at most 50) chained commands of one batch: the first reads after `after`
    /// (from the start when `None`), each next one after the last ID of the one before; all
    /// up to `upto` (`filter[<=ID]`) when given.
    pub fn commands(
        &self,
        method: &str,
        after: Option<&str>,
        upto: Option<&str>,
        count: usize,
    ) -> Vec<String> {
        (0..count.min(MAX_COMMANDS))
            .map(|i| {
                let mut params = self.params.clone();
                let from = match (i, after) {
                    (0, None) => None,
                    (0, Some(id)) => Some(id.to_string()),
                    _ => Some(format!("$result[{}][{}][ID]", key(i - 1), PAGE - 1)),
                };
                let bounds = [(">ID", from), ("<=ID", upto.map(String::from))];
                for (op, id) in bounds {
                    let Some(id) = id else { continue };
                    let filter = params
                        .entry("filter")
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(f) = filter {
                        f.insert(op.into(), Value::String(id));
                    }
                }
                command(method, &params)
            })
            .collect()
    }

    /// Whether the ID space may be split into ranges: not when the user's filter already
    /// says something else about `ID` (`<ID`, `=ID`, `@ID`, …), which a range bound would meet.
    pub fn splittable(&self) -> bool {
        let Some(Value::Object(filter)) = self.params.get("filter") else {
            return true;
        };
        !filter
            .keys()
            .any(|k| k.trim_start_matches(['<', '>', '=', '!', '@', '%']) == "ID")
    }

    /// The output form of an item: without `ID` when only the cursor asked for it.
    pub fn shown(&self, mut item: Value) -> Value {
        if self.strip_id {
            if let Value::Object(m) = &mut item {
                m.shift_remove("ID");
            }
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn id_ranges_cover_everything_after_the_first_page() {
        let r = split("50", Some("10000"), 8);
        assert_eq!(r.len(), 8);
        assert_eq!(r[0].after.as_deref(), Some("50"));
        assert_eq!(r[7].upto, None, "the last range is open");
        for w in r.windows(2) {
            assert_eq!(w[0].upto, w[1].after, "no gap, no overlap");
        }
        assert_eq!(split("50", Some("300"), 8).len(), 1, "too few IDs to split");
        assert_eq!(
            split("50", None, 8),
            vec![Range {
                after: Some("50".into()),
                upto: None,
                width: None
            }]
        );
        assert_eq!(split("50", Some("40"), 8).len(), 1);
        assert_eq!(split("1", Some(&u64::MAX.to_string()), 8).len(), 8);
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn the_cursor_orders_by_id_and_adds_id_only_when_missing() {
        let c = cursor(obj(
            json!({"select": ["TITLE"], "filter": {"STAGE_ID": "WON"}}),
        ))
        .unwrap();
        assert!(c.strip_id);
        assert_eq!(c.after, None);
        assert_eq!(
            Value::Object(c.params.clone()),
            json!({"select": ["TITLE", "ID"], "filter": {"STAGE_ID": "WON"},
                   "order": {"ID": "ASC"}, "start": -1})
        );
        assert_eq!(
            c.shown(json!({"TITLE": "x", "ID": "5"})),
            json!({"TITLE": "x"})
        );
        for keeps in [json!(["ID", "TITLE"]), json!(["*"]), json!([])] {
            let c = cursor(obj(json!({ "select": keeps }))).unwrap();
            assert!(!c.strip_id);
            assert_eq!(c.shown(json!({"ID": "5"})), json!({"ID": "5"}));
        }
        let c = cursor(obj(
            json!({"filter": {">ID": "500"}, "order": {"ID": "asc"}}),
        ))
        .unwrap();
        assert_eq!(c.after.as_deref(), Some("500"));
        for bad in [
            json!({"order": {"TITLE": "ASC"}}),
            json!({"start": 0}),
            json!({"filter": {">ID": "x"}}),
        ] {
            let err = cursor(obj(bad)).unwrap_err();
            assert_eq!(
                err.downcast_ref::<exit::Error>().map(exit::Error::code),
                Some(exit::ExitCode::Usage as i32)
            );
        }
    }

    #[test]
    fn the_cursor_chains_each_command_to_the_one_before() {
        let c = cursor(obj(json!({"select": ["TITLE"]}))).unwrap();
        let cmds = c.commands("crm.deal.list", None, None, 99);
        assert_eq!(cmds.len(), MAX_COMMANDS);
        assert_eq!(
            cmds[0],
            "crm.deal.list?select[0]=TITLE&select[1]=ID&order[ID]=ASC&start=-1"
        );
        assert_eq!(
            cmds[49],
            "crm.deal.list?select[0]=TITLE&select[1]=ID&order[ID]=ASC&start=-1\
             &filter[%3EID]=%24result%5Bcmd48%5D%5B49%5D%5BID%5D"
        );
        let cmds = c.commands("crm.deal.list", Some("2500"), Some("5000"), 3);
        assert_eq!(cmds.len(), 3);
        assert!(
            cmds[0].ends_with("&filter[%3EID]=2500&filter[%3C%3DID]=5000"),
            "{}",
            cmds[0]
        );
        assert!(c.splittable());
        for no in [json!({"<ID": 9}), json!({"@ID": [1, 2]}), json!({"ID": 3})] {
            assert!(!cursor(obj(json!({"filter": no}))).unwrap().splittable());
        }
        assert!(cursor(obj(json!({"filter": {"STAGE_ID": "WON"}})))
            .unwrap()
            .splittable());
    }
}
