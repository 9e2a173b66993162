//! The stand-in's events, as the record (PROTOCOL.md §7) shows Bitrix24's `rest` module:
//!
//! - the offline queue: `event.offline.get` (`clear=1` deletes what it returns; `clear=0` reserves
//!   the batch under a fresh 32-hex `process_id`, with no lease: it stays hidden until cleared, and
//!   `get` with that `process_id` returns it again; `error=1` selects rows marked failed; 403
//!   `WRONG_LICENSE` for `clear=0` when the portal lacks `rest_offline_extended`),
//!   `event.offline.clear` (by `message_id[]`, else `id[]`, else the whole batch),
//!   `event.offline.error` (marks rows `ERROR=1` and returns them unreserved), `event.offline.list`
//!   (read-only, pages of 50, `PROCESS_ID` and `ERROR` shown and filterable);
//! - as strict as the module's code: a filter key's operation must be one `sanitizeFilter` allows
//!   (`''`, `=`, `>`, `<`, `>=`, `<=`, `@`, `%`; no `!`), its field one the method allows, its
//!   value a scalar, else ERROR_ARGUMENT; `get` always filters `ERROR` by `error` (with a
//!   `process_id` too), and `clear=1` deletes every row of the batch, returned or not;
//!   `event.offline.clear` refuses the whole call unless every `message_id` is 32 characters;
//! - `event.bind` (an administrator only: 403 `ACCESS_DENIED`, the `rest` module's
//!   `AccessException` text; `event` required, `handler` too unless `event_type=offline`);
//! - the forms the portal POSTs to a handler live in `tests/support/callbacks.rs`.

use std::collections::HashSet;

use hyper::StatusCode;
use serde_json::{json, Map, Value};

use super::answer::Failure;
use super::{random_hex, StandIn, State};

/// One row of the offline queue (`b_rest_event_offline`).
#[derive(Debug, Clone)]
pub struct Row {
    pub id: u64,
    pub event_name: String,
    pub data: Value,
    pub message_id: String,
    pub process_id: Option<String>,
    pub error: bool,
}

/// The portal's event state, kept in the stand-in's state.
#[derive(Debug)]
pub struct Events {
    pub rows: Vec<Row>,
    next_id: u64,
    /// The portal has the `rest_offline_extended` feature (`clear=0` allowed).
    pub extended: bool,
    /// The stored token's user is a portal administrator.
    pub admin: bool,
    /// `(event, handler, event_type)` bound so far.
    pub bound: Vec<(String, String, String)>,
    /// IDs ever returned by `event.offline.get` (a returned row is "delivered").
    pub delivered: HashSet<u64>,
    /// IDs deleted by a `clear` (or returned by `clear=1`).
    pub cleared: HashSet<u64>,
    /// `event.offline.*` calls, by method.
    pub calls: Vec<String>,
    /// access token → (portal host, member_id) of pairs issued for another portal.
    pub portals: Vec<(String, String, String)>,
    /// The next `clear=1` get that deletes rows holds its answer ([`StandIn::hold_cleared_get`]).
    hold_cleared_get: bool,
    /// A `clear=1` answer is held (the rows already deleted) until released.
    holding: bool,
}

impl Events {
    /// The portal a token was issued for by [`StandIn::issue_pair_for`], if any.
    pub fn portal_of<'a>(&'a self, token: &str) -> Option<(&'a str, &'a str)> {
        self.portals
            .iter()
            .find(|(t, _, _)| t == token)
            .map(|(_, h, m)| (h.as_str(), m.as_str()))
    }
}

impl Default for Events {
    fn default() -> Events {
        Events {
            rows: Vec::new(),
            next_id: 1,
            extended: true,
            admin: true,
            bound: Vec::new(),
            delivered: HashSet::new(),
            cleared: HashSet::new(),
            calls: Vec::new(),
            portals: Vec::new(),
            hold_cleared_get: false,
            holding: false,
        }
    }
}

fn flag(params: &Value, key: &str, default: bool) -> bool {
    match params.get(key) {
        None | Some(Value::Null) => default,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64() != Some(0),
        Some(Value::String(s)) => !matches!(s.as_str(), "0" | "" | "N" | "n" | "false"),
        Some(_) => default,
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| match x {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        Some(Value::Object(m)) => m
            .values()
            .map(|x| x.as_str().map(String::from).unwrap_or(x.to_string()))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Number(n)) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

impl Row {
    fn shown(&self) -> Value {
        json!({
            "ID": self.id.to_string(),
            "TIMESTAMP_X": "2024-10-08T21:48:17+03:00",
            "EVENT_NAME": self.event_name,
            "EVENT_DATA": self.data,
            "EVENT_ADDITIONAL": {"user_id": "1"},
            "MESSAGE_ID": self.message_id,
        })
    }

    fn listed(&self) -> Value {
        let mut v = self.shown();
        v["PROCESS_ID"] = self.field("PROCESS_ID").into();
        v["ERROR"] = if self.error { "1" } else { "0" }.into();
        v
    }
}

/// A method's answer without `time`, as `methods.rs`'s table takes it.
type Reply = Result<Map<String, Value>, Failure>;

/// The `event.*` methods of the portal's table (`methods.rs`), each call noted.
pub(super) fn offline_get(s: &mut State, params: &Value) -> Reply {
    run(s, "event.offline.get", params, get)
}

pub(super) fn offline_clear(s: &mut State, params: &Value) -> Reply {
    run(s, "event.offline.clear", params, clear)
}

pub(super) fn offline_error(s: &mut State, params: &Value) -> Reply {
    run(s, "event.offline.error", params, error)
}

pub(super) fn offline_list(s: &mut State, params: &Value) -> Reply {
    run(s, "event.offline.list", params, list)
}

pub(super) fn event_bind(s: &mut State, params: &Value) -> Reply {
    run(s, "event.bind", params, bind)
}

fn run(
    s: &mut State,
    name: &str,
    params: &Value,
    method: fn(&mut Events, &Value) -> Result<Value, Failure>,
) -> Reply {
    let answer = method(&mut s.events, params);
    s.events.calls.push(name.to_string());
    answer.map(|v| v.as_object().cloned().unwrap_or_default())
}

/// The fields `event.offline.get` may filter on, and `event.offline.list`'s (the module's
/// `sanitizeFilter` calls).
const GET_FIELDS: &[&str] = &["ID", "TIMESTAMP_X", "EVENT_NAME", "MESSAGE_ID"];
const LIST_FIELDS: &[&str] = &[
    "ID",
    "TIMESTAMP_X",
    "EVENT_NAME",
    "MESSAGE_ID",
    "PROCESS_ID",
    "ERROR",
];
/// The operations `IRestService::sanitizeFilter` allows (no `!`: ERROR_ARGUMENT).
const OPERATIONS: &[&str] = &["", "=", ">", "<", ">=", "<=", "@", "%"];

/// One condition of a sanitized filter: operation, field, value (as text).
type Condition = (String, String, String);

fn argument(message: &'static str) -> Failure {
    (StatusCode::BAD_REQUEST, "ERROR_ARGUMENT", message)
}

/// The module's `sanitizeFilter`: each key an allowed operation and field, each value a scalar;
/// anything else is ERROR_ARGUMENT, as on a real portal.
fn sanitize(filter: Option<&Value>, fields: &[&str]) -> Result<Vec<Condition>, Failure> {
    let map = match filter {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(m)) => m,
        Some(Value::Array(a)) if a.is_empty() => return Ok(Vec::new()),
        Some(_) => return Err(argument("Argument 'filter' must be array")),
    };
    let mut out = Vec::new();
    for (key, value) in map {
        let split = key
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(key.len());
        let (op, field) = key.split_at(split);
        if !OPERATIONS.contains(&op) {
            return Err(argument("Filter operation not allowed"));
        }
        if !fields.contains(&field.to_uppercase().as_str()) {
            return Err(argument("Filter field not allowed"));
        }
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => u8::from(*b).to_string(),
            Value::Null => String::new(),
            Value::Array(_) | Value::Object(_) => {
                return Err(argument("The value of an argument has an invalid type"))
            }
        };
        out.push((op.to_string(), field.to_uppercase(), text));
    }
    Ok(out)
}

impl Row {
    /// The row's value of `field`, as text (an unreserved row's PROCESS_ID is '').
    fn field(&self, field: &str) -> String {
        match field {
            "ID" => self.id.to_string(),
            "EVENT_NAME" => self.event_name.clone(),
            "MESSAGE_ID" => self.message_id.clone(),
            "PROCESS_ID" => self.process_id.clone().unwrap_or_default(),
            "ERROR" => u8::from(self.error).to_string(),
            _ => "2024-10-08T21:48:17+03:00".into(),
        }
    }

    fn matches(&self, filter: &[Condition]) -> bool {
        filter.iter().all(|(op, field, want)| {
            let have = self.field(field);
            let order = match (have.parse::<i64>(), want.parse::<i64>()) {
                (Ok(a), Ok(b)) => a.cmp(&b),
                _ => have.as_str().cmp(want.as_str()),
            };
            match op.as_str() {
                ">" => order.is_gt(),
                "<" => order.is_lt(),
                ">=" => order.is_ge(),
                "<=" => order.is_le(),
                "%" => have.contains(want.as_str()),
                _ => order.is_eq(),
            }
        })
    }
}

fn get(e: &mut Events, params: &Value) -> Result<Value, Failure> {
    let clear = flag(params, "clear", true);
    if !clear && !e.extended {
        return Err((
            StatusCode::FORBIDDEN,
            "WRONG_LICENSE",
            "Wrong license: the extended offline events are not available",
        ));
    }
    let limit = params
        .get("limit")
        .and_then(|l| l.as_i64().or_else(|| l.as_str()?.parse().ok()))
        .unwrap_or(50);
    if limit <= 0 {
        return Err(argument("Value must be positive integer"));
    }
    let limit = limit as usize;
    let filter = sanitize(params.get("filter"), GET_FIELDS)?;
    // `=ERROR` is always part of the query: `error=1` selects failed rows, else only others,
    // with or without a `process_id`.
    let errored = params
        .get("error")
        .and_then(|l| l.as_i64().or_else(|| l.as_str()?.trim().parse().ok()))
        == Some(1);
    let asked = params
        .get("process_id")
        .and_then(Value::as_str)
        .map(|p| p.trim().to_string());
    let process_id = match &asked {
        Some(p) => p.clone(),
        None => {
            // markEvents: the first `limit` unreserved rows the filter selects.
            let fresh = random_hex(16);
            let mut marked = 0;
            for r in e.rows.iter_mut() {
                if marked < limit
                    && r.process_id.is_none()
                    && r.error == errored
                    && r.matches(&filter)
                {
                    r.process_id = Some(fresh.clone());
                    marked += 1;
                }
            }
            fresh
        }
    };
    let picked: Vec<usize> = e
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.field("PROCESS_ID") == process_id && r.error == errored)
        .filter(|(_, r)| r.matches(&filter))
        .map(|(i, _)| i)
        .take(limit)
        .collect();
    let events: Vec<Value> = picked.iter().map(|&i| e.rows[i].shown()).collect();
    for &i in &picked {
        e.delivered.insert(e.rows[i].id);
    }
    if clear && !events.is_empty() {
        // clearEvents: every row of the batch goes, returned or not (whatever its ERROR).
        let gone: Vec<u64> = e
            .rows
            .iter()
            .filter(|r| r.field("PROCESS_ID") == process_id)
            .map(|r| r.id)
            .collect();
        e.cleared.extend(gone.iter().copied());
        e.rows.retain(|r| !gone.contains(&r.id));
        if e.hold_cleared_get {
            e.hold_cleared_get = false;
            e.holding = true;
        }
    }
    let shown = match asked.is_some() || !clear {
        true => Value::from(process_id),
        false => Value::Null,
    };
    Ok(json!({"result": {"process_id": shown, "events": events}}))
}

/// A PHP array's values (a JSON list or object); `None` for a scalar.
fn array(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Array(_) | Value::Object(_) => Some(strings(Some(v))),
        _ => None,
    }
}

fn process_id(params: &Value) -> Result<String, Failure> {
    match params.get("process_id").and_then(Value::as_str) {
        Some(p) => Ok(p.trim().to_string()),
        None => Err((
            StatusCode::BAD_REQUEST,
            "ERROR_ARGUMENT",
            "Argument 'PROCESS_ID' is null or empty",
        )),
    }
}

/// `event.offline.clear`: by `message_id[]` (each exactly 32 characters, else ERROR_ARGUMENT
/// for the whole call), else `id[]` (positive integers), else the whole batch.
fn clear(e: &mut Events, params: &Value) -> Result<Value, Failure> {
    let process_id = process_id(params)?;
    let keep: Box<dyn Fn(&Row) -> bool> = match (params.get("message_id"), params.get("id")) {
        (Some(m), _) => {
            let Some(messages) = array(m) else {
                return Err(argument("Value must be array of MESSAGE_ID values"));
            };
            let messages: Vec<String> = messages.iter().map(|m| m.trim().to_string()).collect();
            if messages.iter().any(|m| m.chars().count() != 32) {
                return Err(argument("Value must be array of MESSAGE_ID values"));
            }
            Box::new(move |r: &Row| messages.contains(&r.message_id))
        }
        (None, Some(i)) => {
            let ids: Option<Vec<u64>> = array(i).and_then(|ids| {
                ids.iter()
                    .map(|i| i.trim().parse::<u64>().ok().filter(|&i| i > 0))
                    .collect()
            });
            let Some(ids) = ids else {
                return Err(argument("Value must be array of integers"));
            };
            Box::new(move |r: &Row| ids.contains(&r.id))
        }
        (None, None) => Box::new(|_: &Row| true),
    };
    let gone: Vec<u64> = e
        .rows
        .iter()
        .filter(|r| r.field("PROCESS_ID") == process_id && keep(r))
        .map(|r| r.id)
        .collect();
    e.cleared.extend(gone.iter().copied());
    e.rows.retain(|r| !gone.contains(&r.id));
    Ok(json!({"result": true}))
}

/// `event.offline.error`: `message_id[]` required (an array); marks those rows of the batch
/// `ERROR=1` and returns them to the queue unreserved.
fn error(e: &mut Events, params: &Value) -> Result<Value, Failure> {
    let process_id = process_id(params)?;
    let Some(messages) = params.get("message_id").and_then(array) else {
        return Err(argument("Value must be array of MESSAGE_ID values"));
    };
    for r in e.rows.iter_mut() {
        if r.field("PROCESS_ID") == process_id && messages.contains(&r.message_id) {
            r.error = true;
            r.process_id = None;
        }
    }
    Ok(json!({"result": true}))
}

fn list(e: &mut Events, params: &Value) -> Result<Value, Failure> {
    let start = params
        .get("start")
        .and_then(|l| l.as_u64().or_else(|| l.as_str()?.parse().ok()))
        .unwrap_or(0) as usize;
    let filter = sanitize(params.get("filter"), LIST_FIELDS)?;
    let rows: Vec<&Row> = e.rows.iter().filter(|r| r.matches(&filter)).collect();
    let total = rows.len();
    let page: Vec<Value> = rows
        .iter()
        .skip(start)
        .take(50)
        .map(|r| r.listed())
        .collect();
    let mut answer = json!({"result": page, "total": total});
    if start + 50 < total {
        answer["next"] = (start + 50).into();
    }
    Ok(answer)
}

fn bind(e: &mut Events, params: &Value) -> Result<Value, Failure> {
    if !e.admin {
        return Err((
            StatusCode::FORBIDDEN,
            "ACCESS_DENIED",
            "Access denied! Administrator authorization required",
        ));
    }
    let event = params.get("event").and_then(Value::as_str).unwrap_or("");
    if event.is_empty() {
        return Err((
            StatusCode::BAD_REQUEST,
            "ERROR_ARGUMENT",
            "Argument 'event' is null or empty",
        ));
    }
    let kind = params
        .get("event_type")
        .and_then(Value::as_str)
        .unwrap_or("online");
    let handler = params.get("handler").and_then(Value::as_str).unwrap_or("");
    if kind != "offline" && handler.is_empty() {
        return Err((
            StatusCode::BAD_REQUEST,
            "ERROR_ARGUMENT",
            "Argument 'handler' is null or empty",
        ));
    }
    let entry = (event.to_uppercase(), handler.to_string(), kind.to_string());
    if e.bound.contains(&entry) {
        return Err((
            StatusCode::BAD_REQUEST,
            "ERROR_CORE",
            "Handler already binded",
        ));
    }
    e.bound.push(entry);
    Ok(json!({"result": true}))
}

impl StandIn {
    /// Queues `n` offline events (`ONCRMDEALUPDATE` of deals `first..first+n`); their IDs.
    pub fn queue_offline(&self, n: usize) -> Vec<u64> {
        self.with_events(|e| {
            (0..n)
                .map(|_| {
                    let id = e.next_id;
                    e.next_id += 1;
                    e.rows.push(Row {
                        id,
                        event_name: "ONCRMDEALUPDATE".into(),
                        data: json!({"FIELDS": {"ID": id}}),
                        message_id: format!("{:032x}", u128::from(id) * 0x9e37_79b9_7f4a_7c15),
                        process_id: None,
                        error: false,
                    });
                    id
                })
                .collect()
        })
    }

    /// Gives the offline row `id` another MESSAGE_ID (the docs' example shows `"1"`).
    pub fn set_message_id(&self, id: u64, message_id: &str) {
        self.with_events(|e| {
            for r in e.rows.iter_mut().filter(|r| r.id == id) {
                r.message_id = message_id.to_string();
            }
        })
    }

    /// The portal regains the extended offline feature.
    pub fn with_offline_extended(&self) {
        self.with_events(|e| e.extended = true);
    }

    /// The next `clear=1` `event.offline.get` that deletes rows holds its answer until
    /// [`StandIn::release_cleared_get`] (the rows are gone meanwhile: the window between the
    /// portal's delete and b24auth's fsync, made wide).
    pub fn hold_cleared_get(&self) {
        self.with_events(|e| e.hold_cleared_get = true);
    }

    /// Waits (at most 10 s) until a held `clear=1` answer is waiting; true when one is.
    pub fn wait_cleared_get_held(&self) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if self.with_events(|e| e.holding) {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        false
    }

    pub fn release_cleared_get(&self) {
        self.with_events(|e| e.holding = false);
    }

    /// Gives the offline row `id` another event name (one b24auth should refuse to believe).
    pub fn rename_offline(&self, id: u64, name: &str) {
        self.with_events(|e| {
            for r in e.rows.iter_mut().filter(|r| r.id == id) {
                r.event_name = name.to_string();
            }
        })
    }

    /// The portal lacks the extended offline feature: `clear=0` is `WRONG_LICENSE`.
    pub fn without_offline_extended(&self) {
        self.with_events(|e| e.extended = false);
    }

    /// The stored token's user is not an administrator.
    pub fn not_admin(&self) {
        self.with_events(|e| e.admin = false);
    }

    /// A copy of the queue's rows (reserved and failed ones included).
    pub fn offline_rows(&self) -> Vec<Row> {
        self.with_events(|e| e.rows.clone())
    }

    /// IDs cleared from the queue so far.
    pub fn offline_cleared(&self) -> HashSet<u64> {
        self.with_events(|e| e.cleared.clone())
    }

    pub fn bindings(&self) -> Vec<(String, String, String)> {
        self.with_events(|e| e.bound.clone())
    }

    /// A pair of the same app installed on another portal, `host` with `member_id` (the OAuth
    /// server's `app.info` names that portal for its token).
    pub fn issue_pair_for(&self, host: &str, member_id: &str) -> Value {
        let mut pair = self.issue_pair();
        pair["member_id"] = member_id.into();
        pair["client_endpoint"] = format!("http://{host}/portal/rest/").into();
        let token = pair["access_token"].as_str().unwrap().to_string();
        self.with_events(|e| e.portals.push((token, host.into(), member_id.into())));
        pair
    }

    /// The `event.offline.*` and `event.bind` calls so far.
    pub fn event_calls(&self) -> Vec<String> {
        self.with_events(|e| e.calls.clone())
    }
}

/// A held `clear=1` answer waits here until released (at most 10 s).
pub(super) async fn hold(state: &std::sync::Mutex<super::State>) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline && state.lock().unwrap().events.holding {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}
