//! REST 3.0 on the stand-in portal, as the record shows it (`api-reference/rest-v3.md`,
//! `RestApiServer.php`): `POST /portal/rest/api/METHOD` with a JSON body only, `auth` in it; errors
//! as `{"error":{"code","message","validation"}}`; every auth failure, an expired token included,
//! as `BITRIX_REST_V3_EXCEPTION_ACCESSDENIEDEXCEPTION` with 401 (never `expired_token`); an
//! `Idempotency-Key` makes a repeated write answer what the first one did without running again.
//!
//! Methods: `tasks.task.get` (reads), `tasks.task.add` (writes: each run gets the next ID),
//! anything else `…UNKNOWNMETHODEXCEPTION` (404); `tasks.task.add` without `fields.TITLE` is a
//! validation error (400).

use std::collections::HashMap;

use hyper::StatusCode;
use serde_json::{json, Value};

use super::answer::{self, Answer};
use super::faults::{self, Endpoint};
use super::{unix_now, StandIn, State};

/// What the stand-in's REST 3.0 has seen and done.
#[derive(Default)]
pub struct V3 {
    /// Requests that reached `/rest/api/`.
    pub requests: usize,
    /// Writes the portal ran (a repeat under a known key runs nothing).
    pub writes_run: usize,
    /// The `Idempotency-Key` of every request, in order (`None`: none sent).
    pub keys: Vec<Option<String>>,
    /// The JSON bodies of every request, `auth` removed.
    pub bodies: Vec<Value>,
    /// Key → the answer of the write that ran under it.
    answered: HashMap<String, (StatusCode, Value)>,
    /// Unix time the first REST 3.0 request is held until; every access token issued so far
    /// expires then (a token that ran out while the request was on its way).
    hold_until: Option<i64>,
}

const DENIED: &str = "BITRIX_REST_V3_EXCEPTION_ACCESSDENIEDEXCEPTION";

impl StandIn {
    /// The first REST 3.0 request from now is held until unix time `at`, when every access
    /// token issued so far expires.
    pub fn v3_expire_tokens_at(&self, at: i64) {
        self.with_v3(|v| v.hold_until = Some(at));
    }

    /// (requests, writes run, keys sent, bodies) of REST 3.0 so far.
    pub fn v3_seen(&self) -> (usize, usize, Vec<Option<String>>, Vec<Value>) {
        self.with_v3(|v| (v.requests, v.writes_run, v.keys.clone(), v.bodies.clone()))
    }
}

/// Holds a request while [`StandIn::v3_expire_tokens_at`] says so (bounded: a minute), then
/// expires the tokens.
async fn hold(state: &std::sync::Mutex<State>) {
    let Some(at) = state.lock().unwrap().v3.hold_until.take() else {
        return;
    };
    for _ in 0..1200 {
        if unix_now() >= at {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    state.lock().unwrap().expire_tokens();
}

fn v3_error(
    status: StatusCode,
    code: &str,
    message: &str,
    validation: Value,
) -> (StatusCode, Value) {
    (
        status,
        json!({"error": {"code": code, "message": message, "validation": validation}}),
    )
}

fn respond((status, body): (StatusCode, Value)) -> Answer {
    answer::json_reply(status, body)
}

/// One REST 3.0 request, through the fault queue.
pub(super) async fn request(
    state: &std::sync::Mutex<State>,
    method: &str,
    key: Option<String>,
    content_type: Option<String>,
    body: &[u8],
) -> Answer {
    hold(state).await;
    let run = || handle(&mut state.lock().unwrap(), method, key, content_type, body);
    let fault = {
        let mut s = state.lock().unwrap();
        let n = s.v3.requests + 1;
        s.faults.take(Endpoint::V3, n)
    };
    match fault {
        None => run(),
        Some(fault) => {
            if faults::runs_first(&fault) {
                drop(run());
            } else {
                state.lock().unwrap().v3.requests += 1;
            }
            faults::respond(fault, &format!("/portal/rest/api/{method}"), "").await
        }
    }
}

/// One REST 3.0 request.
fn handle(
    s: &mut State,
    method: &str,
    key: Option<String>,
    content_type: Option<String>,
    body: &[u8],
) -> Answer {
    s.v3.requests += 1;
    s.v3.keys.push(key.clone());
    let json_body = content_type.is_some_and(|c| c.starts_with("application/json"));
    let Some(Value::Object(mut params)) = serde_json::from_slice::<Value>(body).ok() else {
        return respond(v3_error(
            StatusCode::BAD_REQUEST,
            "BITRIX_REST_V3_EXCEPTION_INVALIDJSONEXCEPTION",
            "Invalid JSON",
            json!([]),
        ));
    };
    let token = params
        .remove("auth")
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    s.v3.bodies.push(Value::Object(params.clone()));
    if !json_body {
        return respond(v3_error(
            StatusCode::BAD_REQUEST,
            "BITRIX_REST_V3_EXCEPTION_INVALIDJSONEXCEPTION",
            "JSON body expected",
            json!([]),
        ));
    }
    // Every auth failure, an expired token included, is one access-denied answer.
    if !s.token_valid(&token) {
        return respond(v3_error(
            StatusCode::UNAUTHORIZED,
            DENIED,
            "Access denied.",
            json!([]),
        ));
    }
    if let Some(done) = key.as_ref().and_then(|k| s.v3.answered.get(k)) {
        return respond(done.clone());
    }
    let answer = match method {
        "tasks.task.get" => {
            let id = params.get("id").cloned().unwrap_or(json!(1));
            (
                StatusCode::OK,
                json!({"result": {"task": {"id": id, "title": "a task"}}}),
            )
        }
        "tasks.task.add" => {
            let title = params
                .get("fields")
                .and_then(|f| f.get("TITLE"))
                .and_then(Value::as_str);
            match title {
                None => v3_error(
                    StatusCode::BAD_REQUEST,
                    "BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION",
                    "Invalid request",
                    json!([{"field": "fields.TITLE", "message": "Required"}]),
                ),
                Some(_) => {
                    s.v3.writes_run += 1;
                    let id = s.v3.writes_run;
                    (StatusCode::OK, json!({"result": {"task": {"id": id}}}))
                }
            }
        }
        _ => v3_error(
            StatusCode::NOT_FOUND,
            "BITRIX_REST_V3_EXCEPTION_UNKNOWNMETHODEXCEPTION",
            &format!("Unknown method {method}"),
            json!([]),
        ),
    };
    if let Some(k) = key {
        s.v3.answered.insert(k, answer.clone());
    }
    respond(answer)
}
