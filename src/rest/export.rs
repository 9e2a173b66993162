/*!
`call --all`: reading every item of a list method with as few requests as Bitrix24 allows and
as many in flight as the portal serves side by side (`--concurrency`), writing them in order as
they come.

- By `start=` (the default): the first call learns `total`; the remaining pages go out in
  `batch` requests of up to 50 commands, split so that `--concurrency` of them are in flight
  (a portal runs a batch's commands one after another, but separate requests side by side);
  their answers are written in order. A method that does not say `total` is paged one call at
  a time.
- By ID (`--by-id`): `order[ID]=ASC`, `start=-1` (the portal skips the count), and up to 50
  commands per `batch`, each reading after the last ID of the one before. The first request
  also asks for the highest ID; the IDs between are split into ranges read by parallel chains.
  The first unfinished range writes to stdout; the ones ahead of it spill to unlinked temp
  files, copied out in turn (memory stays at a few batch answers, whatever the table's size).

Every export stops at [`MAX_PAGES`] pages with an error, and no number the portal sends is
used in arithmetic unchecked.
*/

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Seek, StdoutLock, Write};

use anyhow::{anyhow, Context, Result};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde_json::{json, Map, Value};

use super::batch::{self, Cursor, Outcome, MAX_COMMANDS, PAGE};
use super::{page_items, Caller};

/// The most pages any export follows (5,000,000 items at 50 a page): a portal whose list never
/// ends stops with an error instead of running forever.
pub const MAX_PAGES: usize = 100_000;

/// The fewest pages worth a request of their own when splitting `start=` pages.
const MIN_PAGES_PER_BATCH: u64 = 10;

/// The fewest IDs worth a chain of their own when splitting `--by-id` (ten pages, if dense).
const MIN_IDS_PER_RANGE: u64 = 500;

/// Items as the JSON lines they are written as, and how many.
#[derive(Default)]
pub struct Chunk {
    lines: Vec<u8>,
    count: usize,
}

impl Chunk {
    fn of(items: Vec<Value>, shown: impl Fn(Value) -> Value) -> Result<Chunk> {
        let mut chunk = Chunk::default();
        for item in items {
            serde_json::to_writer(&mut chunk.lines, &shown(item))?;
            chunk.lines.push(b'\n');
            chunk.count += 1;
        }
        Ok(chunk)
    }
}

/// Where the items go: JSON lines on stdout, or one JSON array written as it comes.
pub struct Sink<'a> {
    out: BufWriter<StdoutLock<'a>>,
    array: bool,
    progress: bool,
    seen: usize,
}

impl Sink<'_> {
    pub fn new(array: bool, progress: bool) -> Sink<'static> {
        Sink {
            out: BufWriter::with_capacity(64 * 1024, std::io::stdout().lock()),
            array,
            progress,
            seen: 0,
        }
    }

    /// Writes a chunk's items; on a terminal, shows how far it got.
    pub fn write(&mut self, chunk: &Chunk, total: Option<&Value>) -> Result<()> {
        for line in chunk.lines.split_inclusive(|b| *b == b'\n') {
            self.line(line)?;
        }
        self.out.flush()?;
        if self.progress {
            let total = count(total).map(|t| format!(" of {t}")).unwrap_or_default();
            eprint!("\r\x1b[2Kfetched {}{total}", self.seen);
        }
        Ok(())
    }

    /// One item's line (with its newline).
    fn line(&mut self, line: &[u8]) -> Result<()> {
        if self.array {
            self.out
                .write_all(if self.seen == 0 { b"[" } else { b"," })?;
            self.out
                .write_all(line.strip_suffix(b"\n").unwrap_or(line))?;
        } else {
            self.out.write_all(line)?;
        }
        self.seen += 1;
        Ok(())
    }

    /// Copies a spool file's lines out.
    fn drain(&mut self, spool: File) -> Result<()> {
        let mut reader = BufReader::with_capacity(64 * 1024, spool);
        reader.rewind()?;
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line)? > 0 {
            self.line(&line)?;
            line.clear();
        }
        self.out.flush()?;
        Ok(())
    }

    /// Clears the progress line after a failure (the items written so far stay written).
    pub fn abandon(mut self) {
        if self.progress {
            eprint!("\r\x1b[2K");
        }
        let _ = self.out.flush();
    }

    /// Clears the progress line and closes the array.
    pub fn finish(mut self) -> Result<()> {
        if self.progress {
            eprint!("\r\x1b[2K");
        }
        if self.array {
            self.out
                .write_all(if self.seen == 0 { b"[]\n" } else { b"]\n" })?;
        }
        self.out.flush()?;
        Ok(())
    }
}

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
    Ok(batch::remaining_starts(next, step, count))
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
            batch::Outcome::Done { next, .. } => next.clone(),
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
    params: Map<String, Value>,
    sink: &mut Sink<'_>,
) -> Result<()> {
    let cursor = batch::cursor(params)?;
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
            .filter_map(|i| i.get("ID").and_then(batch::id_text))
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

/// Chains' output in range order: the first unfinished range writes through, the others
/// spill to unlinked temp files until their turn.
struct Ordered<'s, 'a> {
    sink: &'s mut Sink<'a>,
    current: usize,
    done: Vec<bool>,
    spools: Vec<Option<File>>,
}

impl<'s, 'a> Ordered<'s, 'a> {
    fn new(sink: &'s mut Sink<'a>, n: usize) -> Ordered<'s, 'a> {
        Ordered {
            sink,
            current: 0,
            done: vec![false; n],
            spools: (0..n).map(|_| None).collect(),
        }
    }

    fn emit(&mut self, i: usize, chunk: Chunk) -> Result<()> {
        if i == self.current {
            return self.sink.write(&chunk, None);
        }
        let spool = match &mut self.spools[i] {
            Some(f) => f,
            empty => empty.insert(
                tempfile::tempfile().context("cannot create a temp file for --by-id's ranges")?,
            ),
        };
        spool
            .write_all(&chunk.lines)
            .context("cannot spill --by-id's ranges to a temp file")
    }

    /// Range `i` has ended: the next ones take their turn, their spills copied out first.
    fn finished(&mut self, i: usize) -> Result<()> {
        self.done[i] = true;
        while self.current < self.done.len() && self.done[self.current] {
            self.current += 1;
            if let Some(spool) = self.spools.get_mut(self.current).and_then(Option::take) {
                self.sink.drain(spool)?;
            }
        }
        Ok(())
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
async fn run_batch(caller: &Caller<'_>, commands: &[String], halt: bool) -> Result<Vec<Outcome>> {
    let answer = caller
        .call("batch", &batch::request(commands, halt))
        .await?;
    batch::outcomes(answer, commands.len(), halt, &caller.secrets())
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
}
