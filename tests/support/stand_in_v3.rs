/*!
REST 3.0 on the stand-in portal, as the record shows it (`api-reference/rest-v3.md`,
`RestApiServer.php`): `POST /portal/rest/api/METHOD` with a JSON body only, `auth` in it; errors
as `{"error":{"code","message","validation"}}`; every auth failure, an expired token included,
as `BITRIX_REST_V3_EXCEPTION_ACCESSDENIEDEXCEPTION` with 401 (never `expired_token`); an
`Idempotency-Key` makes a repeated write answer what the first one did without running again.

Methods: `tasks.task.get` (reads), `tasks.task.add` (writes: each run gets the next ID),
anything else `…UNKNOWNMETHODEXCEPTION` (404); `tasks.task.add` without `fields.TITLE` is a
validation error (400).
*/

use std::collections::HashMap;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

use super::stand_in::StandIn;

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
    /// The next writes run and then answered by a gateway's 504 page.
    late_gateway: usize,
    /// Unix time the first REST 3.0 request is held until; every access token issued so far
    /// expires then (a token that ran out while the request was on its way).
    hold_until: Option<i64>,
}

const DENIED: &str = "BITRIX_REST_V3_EXCEPTION_ACCESSDENIEDEXCEPTION";

impl StandIn {
    /// The next `n` REST 3.0 writes run on the portal, then a gateway answers 504 with a page.
    pub fn v3_late_gateway(&self, n: usize) {
        self.with_v3(|v| v.late_gateway = n);
    }

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

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Holds a request while [`StandIn::v3_expire_tokens_at`] says so (bounded: a minute), then
/// expires the tokens.
pub(super) async fn hold(state: &std::sync::Mutex<super::stand_in::State>) {
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

fn respond((status, body): (StatusCode, Value)) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

/// One REST 3.0 request.
pub(super) fn handle(
    s: &mut super::stand_in::State,
    method: &str,
    key: Option<String>,
    content_type: Option<String>,
    body: &[u8],
) -> Response<Full<Bytes>> {
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
    if method == "tasks.task.add" && s.v3.late_gateway > 0 && answer.0 == StatusCode::OK {
        s.v3.late_gateway -= 1;
        return Response::builder()
            .status(StatusCode::GATEWAY_TIMEOUT)
            .header("content-type", "text/html")
            .body(Full::new(Bytes::from(
                "<html><body><h1>504 Gateway Time-out</h1></body></html>",
            )))
            .unwrap();
    }
    respond(answer)
}
