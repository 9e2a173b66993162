/*!
The stand-in's portal REST as the SDKs reach it: what the real portal accepts and b24auth itself
never sends.

- `METHOD.json` as well as `METHOD` (the PHP and Python SDKs add the suffix);
- `//` in the path (the JS SDK joins `client_endpoint`, which ends in `/`, with `/METHOD`;
  the portal's web server merges slashes);
- parameters as a form body or in the query string as well as a JSON body;
- `batch`: `cmd` is `{label: "method?query"}`, each command answered as a single call would be,
  gathered into `result`, `result_error`, `result_total`, `result_next`, `result_time`. A token
  the portal refuses fails the whole batch with 401, as on the real portal.
*/

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Response, StatusCode};
use serde_json::{json, Map, Value};

/// The portal REST method a path names (`/portal/rest/crm.lead.list.json` → `crm.lead.list`).
pub fn portal_method(path: &str) -> Option<String> {
    let mut clean = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && clean.ends_with('/')) {
            clean.push(c);
        }
    }
    let method = clean.strip_prefix("/portal/rest/")?;
    Some(method.strip_suffix(".json").unwrap_or(method).to_string())
}

/// The call's parameters as a JSON body: a JSON object as sent, else the form fields (flat,
/// as the stand-in's methods read them); query-string parameters fill in what the body lacks.
pub fn json_params(query: &str, body: &[u8]) -> Vec<u8> {
    let mut params = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => m,
        _ => form(body),
    };
    for (k, v) in form(query.as_bytes()) {
        params.entry(k).or_insert(v);
    }
    serde_json::to_vec(&params).unwrap()
}

fn form(bytes: &[u8]) -> Map<String, Value> {
    url::form_urlencoded::parse(bytes)
        .into_owned()
        .map(|(k, v)| (k, Value::String(v)))
        .collect()
}

/// Runs each command of a `batch` body through `call` (the single-call handler).
pub async fn batch(
    body: &[u8],
    call: impl Fn(&str, &[u8]) -> Response<Full<Bytes>>,
) -> Response<Full<Bytes>> {
    let params: Map<String, Value> = serde_json::from_slice(body).unwrap_or_default();
    let auth = params.get("auth").cloned().unwrap_or(Value::Null);
    let (mut result, mut errors) = (Map::new(), Map::new());
    let (mut total, mut next, mut time) = (Map::new(), Map::new(), Map::new());
    for (label, command) in commands(&params) {
        let (method, query) = command.split_once('?').unwrap_or((&command, ""));
        let mut sub = form(query.as_bytes());
        sub.insert("auth".into(), auth.clone());
        let response = call(method, &serde_json::to_vec(&sub).unwrap());
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        if status == StatusCode::UNAUTHORIZED {
            return Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Full::new(bytes))
                .unwrap();
        }
        let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if answer.get("error").is_some() {
            errors.insert(label, answer);
            continue;
        }
        for (into, key) in [
            (&mut result, "result"),
            (&mut total, "total"),
            (&mut next, "next"),
            (&mut time, "time"),
        ] {
            if let Some(v) = answer.get(key) {
                into.insert(label.clone(), v.clone());
            }
        }
    }
    // PHP's json_encode of an empty array: `[]`, not `{}`.
    let errors = if errors.is_empty() {
        json!([])
    } else {
        Value::Object(errors)
    };
    let answer = json!({"result": {"result": result, "result_error": errors,
        "result_total": total, "result_next": next, "result_time": time},
        "time": {"start": 1728413297.1, "finish": 1728413297.2, "duration": 0.1}});
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(answer.to_string())))
        .unwrap()
}

/// `cmd` as a JSON object (or array), or as `cmd[label]` form fields.
fn commands(params: &Map<String, Value>) -> Vec<(String, String)> {
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    match params.get("cmd") {
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), text(v)))
            .collect(),
        _ => params
            .iter()
            .filter_map(|(k, v)| {
                let label = k.strip_prefix("cmd[")?.strip_suffix(']')?;
                Some((label.to_string(), text(v)))
            })
            .collect(),
    }
}
