//! The stand-in's `batch` and big lists, as Bitrix24 answers them: `cmd` values `method?query`
//! parsed the way PHP's `parse_str` does (brackets nest, `0..n-1` keys make lists), `$result[key]…`
//! references resolved against the commands before, answers as PHP's `json_encode` writes arrays
//! (`[]` when empty, a list when the keys are `0..n-1`), a deal table of any size with `start=-1`,
//! `filter[>ID]`, `order[ID]` and `select[]`, and the portal's leaky bucket.
//!
//! A reference to something that does not exist (a page that came back short) resolves to an empty
//! string, as in PHP: the command then runs without that condition. Clients must ignore the
//! commands after a short page.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::{json, Map, Value};

/// Parses `a[b][]=1&c=2` like PHP's `parse_str`.
pub fn parse_php_query(query: &str) -> Value {
    let mut root = Value::Object(Map::new());
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let (head, rest) = key.split_at(key.find('[').unwrap_or(key.len()));
        let mut path = vec![head.to_string()];
        let mut rest = rest;
        while let Some(inner) = rest.strip_prefix('[') {
            let Some(close) = inner.find(']') else { break };
            path.push(inner[..close].to_string());
            rest = &inner[close + 1..];
        }
        insert(&mut root, &path, Value::String(value.into_owned()));
    }
    listify(root)
}

fn insert(node: &mut Value, path: &[String], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        *node = value;
        return;
    };
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    let map = node.as_object_mut().unwrap();
    let key = match first.as_str() {
        "" => next_index(map).to_string(),
        k => k.to_string(),
    };
    let child = map.entry(key).or_insert(Value::Null);
    insert(child, rest, value);
}

fn next_index(map: &Map<String, Value>) -> usize {
    map.keys()
        .filter_map(|k| k.parse::<usize>().ok())
        .map(|i| i + 1)
        .max()
        .unwrap_or(0)
}

/// Objects keyed `0..n-1` in order become lists, as `json_encode` writes PHP arrays.
fn listify(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let sequential =
                !map.is_empty() && map.keys().enumerate().all(|(i, k)| k == &i.to_string());
            let items = map.into_iter().map(|(k, v)| (k, listify(v)));
            if sequential {
                Value::Array(items.map(|(_, v)| v).collect())
            } else {
                Value::Object(items.collect())
            }
        }
        other => other,
    }
}

/// `json_encode` of a PHP array built in this order.
pub fn php_json(entries: Vec<(String, Value)>) -> Value {
    if entries.is_empty() {
        return json!([]);
    }
    listify_top(entries.into_iter().collect())
}

fn listify_top(map: Map<String, Value>) -> Value {
    let sequential = map.keys().enumerate().all(|(i, k)| k == &i.to_string());
    if sequential {
        Value::Array(map.into_iter().map(|(_, v)| v).collect())
    } else {
        Value::Object(map)
    }
}

/// Replaces `$result[key][i][FIELD]` references in every string of `params` with what the
/// earlier commands returned.
pub fn resolve(params: &mut Value, done: &HashMap<String, Value>) {
    match params {
        Value::Object(m) => m.values_mut().for_each(|v| resolve(v, done)),
        Value::Array(a) => a.iter_mut().for_each(|v| resolve(v, done)),
        Value::String(s) if s.contains("$result[") => *params = substitute(s, done),
        _ => {}
    }
}

fn substitute(s: &str, done: &HashMap<String, Value>) -> Value {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find("$result[") {
        out.push_str(&rest[..at]);
        let (value, len) = reference(&rest[at + "$result".len()..], done);
        if at == 0 && len + "$result".len() == rest.len() && out.is_empty() {
            return match value {
                Some(Value::String(t)) => Value::String(t),
                Some(Value::Number(n)) => Value::String(n.to_string()),
                Some(v @ (Value::Array(_) | Value::Object(_))) => v,
                _ => Value::String(String::new()),
            };
        }
        match value {
            Some(Value::String(t)) => out.push_str(&t),
            Some(Value::Null) | None => {}
            Some(v) => out.push_str(&v.to_string()),
        }
        rest = &rest[at + "$result".len() + len..];
    }
    out.push_str(rest);
    Value::String(out)
}

/// Follows `[key][i][FIELD]…` from the start of `s`; returns the value and the length read.
fn reference(s: &str, done: &HashMap<String, Value>) -> (Option<Value>, usize) {
    let mut segments = Vec::new();
    let mut len = 0;
    while let Some(inner) = s[len..].strip_prefix('[') {
        let Some(close) = inner.find(']') else { break };
        segments.push(&inner[..close]);
        len += close + 2;
    }
    let Some((key, path)) = segments.split_first() else {
        return (None, len);
    };
    let mut node = done.get(*key).cloned();
    for seg in path {
        node = node.and_then(|n| match n {
            Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i).cloned()),
            Value::Object(m) => m.get(*seg).cloned(),
            _ => None,
        });
    }
    (node, len)
}

/// The portal's leaky bucket: `burst` requests at once, draining `rate` per second.
pub struct ServerBucket {
    pub burst: f64,
    pub rate: f64,
    level: f64,
    last: Instant,
}

impl ServerBucket {
    pub fn new(burst: f64, rate: f64) -> ServerBucket {
        ServerBucket {
            burst,
            rate,
            level: 0.0,
            last: Instant::now(),
        }
    }

    /// Whether one more request fits now (and takes its place if so).
    pub fn admit(&mut self) -> bool {
        let now = Instant::now();
        let drained = now.duration_since(self.last).as_secs_f64() * self.rate;
        self.level = (self.level - drained).max(0.0);
        self.last = now;
        if self.level + 1.0 > self.burst {
            return false;
        }
        self.level += 1.0;
        true
    }
}

const STAGES: [&str; 4] = ["NEW", "PREPARATION", "WON", "LOSE"];
const DEAL_FIELDS: [&str; 8] = [
    "ID",
    "TITLE",
    "STAGE_ID",
    "CURRENCY_ID",
    "OPPORTUNITY",
    "ASSIGNED_BY_ID",
    "DATE_CREATE",
    "COMMENTS",
];

/// Deal `id` (1-based) with every field.
pub fn deal(id: usize) -> Map<String, Value> {
    let values = [
        json!(id.to_string()),
        json!(format!("Deal {id}")),
        json!(STAGES[id % 4]),
        json!("USD"),
        json!(format!("{}.00", (id * 37) % 100_000)),
        json!("1"),
        json!(format!(
            "2024-{:02}-{:02}T10:00:00+03:00",
            id % 12 + 1,
            id % 28 + 1
        )),
        Value::Null,
    ];
    DEAL_FIELDS
        .iter()
        .map(|f| f.to_string())
        .zip(values)
        .collect()
}

/// `crm.deal.list` over deals `1..=count`: the answer without `time`, or Bitrix24's error.
pub fn deal_list(count: usize, params: &Value) -> Map<String, Value> {
    let filter = params.get("filter").and_then(Value::as_object);
    let (mut lo, mut hi) = (1usize, count);
    let mut equal = Vec::new();
    for (k, v) in filter.into_iter().flatten() {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => continue,
        };
        let n = || text.parse::<usize>().ok();
        match k.as_str() {
            _ if text.is_empty() => {}
            ">ID" => lo = lo.max(n().map_or(usize::MAX, |n| n.saturating_add(1))),
            ">=ID" => lo = lo.max(n().unwrap_or(usize::MAX)),
            "<ID" => hi = hi.min(n().unwrap_or(0).saturating_sub(1)),
            "<=ID" => hi = hi.min(n().unwrap_or(0)),
            "ID" | "=ID" => {
                lo = lo.max(n().unwrap_or(usize::MAX));
                hi = hi.min(n().unwrap_or(0));
            }
            field if DEAL_FIELDS.contains(&field) => equal.push((field.to_string(), text)),
            _ => {}
        }
    }
    let descending = params
        .pointer("/order/ID")
        .and_then(Value::as_str)
        .is_some_and(|o| o.eq_ignore_ascii_case("DESC"));
    let matches = |id: &usize| {
        if equal.is_empty() {
            return true;
        }
        let d = deal(*id);
        equal
            .iter()
            .all(|(f, v)| d.get(f).and_then(Value::as_str) == Some(v))
    };
    let ids: Box<dyn Iterator<Item = usize>> = match (lo <= hi, descending) {
        (false, _) => Box::new(std::iter::empty()),
        (true, false) => Box::new(lo..=hi),
        (true, true) => Box::new((lo..=hi).rev()),
    };
    let start: i64 = match params.get("start") {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    };
    let select = select_fields(params.get("select"));
    let skip = start.max(0) as usize;
    let mut all = ids.filter(matches);
    let page: Vec<Value> = all
        .by_ref()
        .skip(skip)
        .take(50)
        .map(|id| Value::Object(shown(deal(id), &select)))
        .collect();
    let mut answer = Map::new();
    let got = page.len();
    answer.insert("result".into(), Value::Array(page));
    if start >= 0 {
        let total = skip + got + all.count();
        answer.insert("total".into(), json!(total));
        if skip + got < total {
            answer.insert("next".into(), json!(skip + got));
        }
    } else {
        // `start=-1` skips the count: `"total": 0`, no `next` (docs: huge-data.md).
        answer.insert("total".into(), json!(0));
    }
    answer
}

fn select_fields(select: Option<&Value>) -> Option<Vec<String>> {
    let fields: Vec<String> = select?
        .as_array()?
        .iter()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    (!fields.is_empty() && !fields.iter().any(|f| f == "*")).then_some(fields)
}

fn shown(deal: Map<String, Value>, select: &Option<Vec<String>>) -> Map<String, Value> {
    match select {
        None => deal,
        Some(fields) => deal
            .into_iter()
            .filter(|(k, _)| fields.iter().any(|f| f == k))
            .collect(),
    }
}
