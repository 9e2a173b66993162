//! The stand-in's portal REST as the SDKs reach it: what the real portal accepts and b24auth itself
//! never sends.
//!
//! - `METHOD.json` as well as `METHOD` (the PHP and Python SDKs add the suffix);
//! - `//` in the path (the JS SDK joins `client_endpoint`, which ends in `/`, with `/METHOD`;
//!   the portal's web server merges slashes);
//! - parameters as a form body or in the query string as well as a JSON body;
//! - `batch` in any of those forms reaches the stand-in's one `batch` (`batch.rs`).

use serde_json::{Map, Value};

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
