//! Portal REST (PROTOCOL.md §5, §8): a request's pace and faults, its credential (an access
//! token, or an incoming webhook's address), the leaky bucket, `batch`, and the table of methods
//! (name → handler) with each method's operating time (`time.operating`, `OPERATION_TIME_LIMIT`
//! past the limit).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use hyper::StatusCode;
use serde_json::{json, Map, Value};

use super::answer::{self, error, error_saying, json_reply, recorded, Answer, Failure};
use super::batch::{deal_list, parse_php_query, php_json, resolve};
use super::config::{CALL_COST, LEADS, WEBHOOK};
use super::faults::{self, Endpoint};
use super::{events, pace, record, sdk, unix_now, StandIn, State};

/// Portal REST's state.
#[derive(Default)]
pub struct Portal {
    /// The parameters of every REST call, `auth` removed, with the `host:port` it reached.
    log: Vec<(String, String, Value)>,
    /// method → (operating seconds spent, unix time the window resets).
    operating: HashMap<String, (f64, i64)>,
    /// The incoming webhook ([`WEBHOOK`]) was deleted on the portal.
    webhook_revoked: bool,
}

type Method = fn(&mut State, &Value) -> Result<Map<String, Value>, Failure>;

/// Every method of the portal, in one table; the handlers of `event.*` are in `events.rs`, of
/// pace's lists in `pace.rs`, of the recorded answers in `record.rs`. (REST 3.0 is another
/// API, with its own errors and auth: `v3.rs`.)
const METHODS: &[(&str, Method)] = &[
    ("user.current", user_current),
    ("echo", echo),
    ("profile", profile),
    ("crm.lead.list", lead_list),
    ("crm.deal.list", deals),
    ("crm.stuck.list", stuck_list),
    ("crm.deal.fail", deal_fail),
    ("crm.deal.add", pace::deal_add),
    ("crm.huge.list", pace::huge_list),
    ("crm.endless.list", pace::endless_list),
    ("crm.item.list", record::item_list),
    ("event.offline.get", events::offline_get),
    ("event.offline.clear", events::offline_clear),
    ("event.offline.error", events::offline_error),
    ("event.offline.list", events::offline_list),
    ("event.bind", events::event_bind),
];

/// One portal REST request (`method` as the path names it): the portal works for every command
/// it runs, and serves other requests meanwhile.
pub(super) async fn request(
    state: &Mutex<State>,
    host: &str,
    method: &str,
    query: &str,
    body: &[u8],
) -> Answer {
    // One `batch` is one request, answered by `rest` as Bitrix24 answers it.
    let body = sdk::json_params(query, body);
    let mut params: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
    let token = params
        .as_object_mut()
        .and_then(|m| m.remove("auth"))
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    let (before, n, fault) = {
        let mut s = state.lock().unwrap();
        let n = s.pace.arrive();
        s.counters.rest_calls += 1;
        let logged = (method.to_string(), host.to_string(), params.clone());
        s.portal.log.push(logged);
        (s.pace.commands, n, s.faults.take(Endpoint::Rest, n))
    };
    let run = || rest(&mut state.lock().unwrap(), method, &params, &token, &body);
    let response = match fault {
        None => run(),
        Some(fault) => {
            if faults::runs_first(&fault) {
                drop(run());
            }
            faults::respond(fault, &format!("/portal/rest/{method}"), "").await
        }
    };
    let work = {
        let s = state.lock().unwrap();
        pace::cost(s.config.work, s.pace.commands - before) + s.pace.extra(n)
    };
    tokio::time::sleep(work).await;
    pace::hold_for_refresh(state, n).await;
    events::hold(state).await;
    state.lock().unwrap().pace.leave();
    response
}

fn rest(s: &mut State, method: &str, params: &Value, token: &str, body: &[u8]) -> Answer {
    if let Some(answer) = record::rest(&s.record) {
        return recorded(answer);
    }
    if let Some(bucket) = s.config.bucket.as_mut() {
        if !bucket.admit() {
            s.counters.query_limits += 1;
            return error(answer::QUERY_LIMIT);
        }
    }
    // An incoming webhook: `USER_ID/SECRET/METHOD`, no `auth` (the address is the credential).
    let hook = method
        .split_once('/')
        .and_then(|(user, rest)| Some((user, rest.split_once('/')?)))
        .map(|(user, (secret, m))| (format!("{user}/{secret}/"), m));
    let method = match hook {
        Some((path, m)) => {
            if path != WEBHOOK || s.portal.webhook_revoked {
                return error_saying(
                    StatusCode::UNAUTHORIZED,
                    "INVALID_CREDENTIALS",
                    "Invalid request credentials",
                );
            }
            m
        }
        None if s.token_expired(token) => return error(answer::EXPIRED_TOKEN),
        None if !s.token_valid(token) => return error(answer::INVALID_TOKEN),
        None => method,
    };
    if method == "batch" {
        return batch(s, params, token);
    }
    // A portal error that echoes the whole request body, `auth` included.
    if method == "echo.fail" {
        return error_saying(
            StatusCode::BAD_REQUEST,
            "ERROR_CORE",
            &format!("\u{1b}[1mcannot handle {}", String::from_utf8_lossy(body)),
        );
    }
    match answer(s, method, params) {
        Ok(object) => json_reply(StatusCode::OK, Value::Object(object)),
        Err(failure) => error(failure),
    }
}

/// One method's whole answer (with `time`), or its error; charges its operating time.
fn answer(s: &mut State, method: &str, params: &Value) -> Result<Map<String, Value>, Failure> {
    let time = charge(s, method)?;
    s.pace.commands += 1;
    let mut object = dispatch(s, method, params)?;
    object.insert("time".into(), time);
    Ok(object)
}

/// Adds one call to `method`'s operating time; refuses it when the window's 480 s are spent.
fn charge(s: &mut State, method: &str) -> Result<Value, Failure> {
    let now = unix_now();
    let entry = s
        .portal
        .operating
        .entry(method.to_string())
        .or_insert((0.0, now + 600));
    if now >= entry.1 {
        *entry = (0.0, now + 600);
    }
    if entry.0 >= s.config.operating_limit {
        s.counters.operation_time_limits += 1;
        return Err(answer::OPERATION_TIME_LIMIT);
    }
    entry.0 += pace::charge(s.config.work, CALL_COST);
    let (operating, reset_at) = match s.pace.claimed_time {
        Some((spent, at)) => (json!(spent), json!(at)),
        None => (json!(entry.0), json!(entry.1)),
    };
    Ok(
        json!({"start": 1728413297.1, "finish": 1728413297.2, "duration": 0.1,
        "processing": 0.001, "date_start": "2024-10-08T21:48:17+03:00",
        "date_finish": "2024-10-08T21:48:17+03:00",
        "operating_reset_at": reset_at, "operating": operating}),
    )
}

/// `batch`: each `cmd` in order, references resolved against the ones before, `halt` obeyed.
fn batch(s: &mut State, params: &Value, token: &str) -> Answer {
    let halt = matches!(params.get("halt"), Some(v) if v == &json!(1) || v == &json!("1") || v == &json!(true));
    let commands: Vec<(String, String)> = match params.get("cmd") {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v.as_str().unwrap_or("").to_string()))
            .collect(),
        _ => {
            return error_saying(
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                "cmd is required",
            )
        }
    };
    if commands.len() > 50 {
        return error_saying(
            StatusCode::BAD_REQUEST,
            "ERROR_BATCH_LENGTH_EXCEEDED",
            "Max batch length exceeded",
        );
    }
    let time = match charge(s, "batch") {
        Ok(t) => t,
        Err(failure) => return error(failure),
    };
    let (mut results, mut errors, mut totals, mut nexts, mut times) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut done: HashMap<String, Value> = HashMap::new();
    for (key, cmd) in commands {
        let (method, query) = cmd.split_once('?').unwrap_or((cmd.as_str(), ""));
        let mut p = parse_php_query(query);
        resolve(&mut p, &done);
        let outcome = match method {
            "batch" => Err((
                StatusCode::BAD_REQUEST,
                "ERROR_BATCH_METHOD_NOT_ALLOWED",
                "Batch call is not allowed in batch",
            )),
            m => answer(s, m, &p),
        };
        match outcome {
            Ok(mut a) => {
                let result = a.remove("result").unwrap_or(Value::Null);
                done.insert(key.clone(), result.clone());
                results.push((key.clone(), result));
                if let Some(t) = a.remove("total") {
                    totals.push((key.clone(), t));
                }
                if let Some(n) = a.remove("next") {
                    nexts.push((key.clone(), n));
                }
                times.push((key, a.remove("time").unwrap_or(Value::Null)));
            }
            // A portal error that echoes the request's token.
            Err(_) if method == "echo.fail" => errors.push((
                key,
                json!({"error": "ERROR_CORE", "error_description": format!("cannot handle auth={token}")}),
            )),
            Err((_, code, description)) => {
                errors.push((
                    key,
                    json!({"error": code, "error_description": description}),
                ));
                if halt {
                    break;
                }
            }
        }
    }
    json_reply(
        StatusCode::OK,
        json!({"result": {
            "result": php_json(results),
            "result_error": php_json(errors),
            "result_total": php_json(totals),
            "result_next": php_json(nexts),
            "result_time": php_json(times),
        }, "time": time}),
    )
}

/// A method's answer without `time`.
fn dispatch(s: &mut State, method: &str, params: &Value) -> Result<Map<String, Value>, Failure> {
    match METHODS.iter().find(|(name, _)| *name == method) {
        Some((_, handler)) => handler(s, params),
        None => Err(record::METHOD_NOT_FOUND),
    }
}

fn object(v: Value) -> Result<Map<String, Value>, Failure> {
    Ok(v.as_object().cloned().unwrap_or_default())
}

fn user_current(_: &mut State, _: &Value) -> Result<Map<String, Value>, Failure> {
    object(json!({"result": {"ID": "1", "NAME": "Stand", "LAST_NAME": "In"}}))
}

fn echo(_: &mut State, params: &Value) -> Result<Map<String, Value>, Failure> {
    object(json!({"result": params}))
}

fn profile(_: &mut State, _: &Value) -> Result<Map<String, Value>, Failure> {
    object(json!({"result": {"ID": "1", "ADMIN": true, "NAME": "Stand", "LAST_NAME": "In"}}))
}

/// Three pages of 50, 50 and 20 leads.
fn lead_list(_: &mut State, params: &Value) -> Result<Map<String, Value>, Failure> {
    let start = match params.get("start") {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0) as usize,
        Some(Value::String(t)) => t.parse().unwrap_or(0),
        _ => 0,
    };
    let end = (start + 50).min(LEADS);
    let items: Vec<Value> = (start..end)
        .map(|i| json!({"ID": (i + 1).to_string(), "TITLE": format!("Lead {}", i + 1)}))
        .collect();
    let mut page = json!({"result": items, "total": LEADS});
    if end < LEADS {
        page["next"] = end.into();
    }
    object(page)
}

fn deals(s: &mut State, params: &Value) -> Result<Map<String, Value>, Failure> {
    Ok(deal_list(s.config.deals, params))
}

/// A broken list whose `next` stops advancing after the first page.
fn stuck_list(_: &mut State, _: &Value) -> Result<Map<String, Value>, Failure> {
    object(json!({"result": [{"ID": "1"}], "next": 50, "total": 1000}))
}

fn deal_fail(_: &mut State, _: &Value) -> Result<Map<String, Value>, Failure> {
    Err((
        StatusCode::BAD_REQUEST,
        "ERROR_CORE",
        "Something went wrong in the portal",
    ))
}

impl StandIn {
    /// `method` has spent `seconds` of operating time in a window that resets in `reset_in`.
    pub fn set_operating(&self, method: &str, seconds: f64, reset_in: Duration) {
        let reset = unix_now() + reset_in.as_secs().max(1) as i64;
        let mut s = self.state.lock().unwrap();
        s.portal
            .operating
            .insert(method.to_string(), (seconds, reset));
    }

    /// (method, `host:port` reached, parameters without `auth`) of every REST call so far.
    pub fn rest_log(&self) -> Vec<(String, String, Value)> {
        self.state.lock().unwrap().portal.log.clone()
    }

    /// The incoming webhook's address, as the portal's form shows it.
    pub fn webhook_url(&self) -> String {
        format!("{}/portal/rest/{WEBHOOK}", self.base)
    }

    /// The webhook is deleted on the portal: its calls get `INVALID_CREDENTIALS`.
    pub fn revoke_webhook(&self) {
        self.state.lock().unwrap().portal.webhook_revoked = true;
    }
}
