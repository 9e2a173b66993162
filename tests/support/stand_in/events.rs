/*!
The stand-in's events, as the record (PROTOCOL.md §7) shows Bitrix24's `rest` module:

- the offline queue: `event.offline.get` (`clear=1` deletes what it returns; `clear=0`
  reserves the batch under a fresh 32-hex `process_id`, with no lease: it stays hidden until
  cleared, and `get` with that `process_id` returns it again; `error=1` selects rows marked
  failed; 403 `WRONG_LICENSE` for `clear=0` when the portal lacks `rest_offline_extended`),
  `event.offline.clear` (by `message_id[]`, else `id[]`, else the whole batch), `event.offline.error`
  (marks rows `ERROR=1` and returns them unreserved), `event.offline.list` (read-only, pages of
  50, `PROCESS_ID` and `ERROR` shown and filterable);
- `event.bind` (an administrator only: 403 `ACCESS_DENIED`, the `rest` module's
  `AccessException` text; `event` required, `handler` too unless `event_type=offline`);
- online events sent the way the portal sends them ([`event_form`], [`install_form`],
  [`uninstall_form`]): a form POST with PHP bracket keys, sent once and never again.
*/

use std::collections::HashSet;

use hyper::StatusCode;
use serde_json::{json, Map, Value};

use super::answer::Failure;
use super::config::MEMBER_ID;
use super::{random_hex, StandIn};

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
        v["PROCESS_ID"] = match &self.process_id {
            Some(p) => p.clone().into(),
            None => Value::Null,
        };
        v["ERROR"] = if self.error { "1" } else { "0" }.into();
        v
    }
}

/// Answers `event.*` methods; `None` for any other method.
pub fn method(
    e: &mut Events,
    name: &str,
    params: &Value,
) -> Option<Result<Map<String, Value>, Failure>> {
    let answer = match name {
        "event.offline.get" => get(e, params),
        "event.offline.clear" => clear(e, params),
        "event.offline.error" => error(e, params),
        "event.offline.list" => list(e, params),
        "event.bind" => bind(e, params),
        _ => return None,
    };
    e.calls.push(name.to_string());
    Some(answer.map(|v| v.as_object().cloned().unwrap_or_default()))
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
        .and_then(|l| l.as_u64().or_else(|| l.as_str()?.parse().ok()))
        .unwrap_or(50) as usize;
    let asked = params
        .get("process_id")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty());
    let errored = flag(params, "error", false);
    let only: Vec<String> = strings(params.get("filter").and_then(|f| f.get("ID")));
    let picked: Vec<usize> = e
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| match asked {
            Some(p) => r.process_id.as_deref() == Some(p),
            None => r.process_id.is_none() && r.error == errored,
        })
        .filter(|(_, r)| only.is_empty() || only.contains(&r.id.to_string()))
        .map(|(i, _)| i)
        .take(limit)
        .collect();
    let events: Vec<Value> = picked.iter().map(|&i| e.rows[i].shown()).collect();
    for &i in &picked {
        e.delivered.insert(e.rows[i].id);
    }
    if clear {
        let ids: HashSet<u64> = picked.iter().map(|&i| e.rows[i].id).collect();
        e.cleared.extend(ids.iter().copied());
        e.rows.retain(|r| !ids.contains(&r.id));
        return Ok(json!({"result": {"process_id": null, "events": events}}));
    }
    if picked.is_empty() {
        return Ok(json!({"result": {"process_id": null, "events": []}}));
    }
    let process_id = asked.map(String::from).unwrap_or_else(|| random_hex(16));
    for &i in &picked {
        e.rows[i].process_id = Some(process_id.clone());
    }
    Ok(json!({"result": {"process_id": process_id, "events": events}}))
}

/// The rows of `process_id` that `message_id[]` (preferred) or `id[]` name, else all of them.
fn chosen(e: &Events, params: &Value) -> Result<Vec<usize>, Failure> {
    let Some(process_id) = params.get("process_id").and_then(Value::as_str) else {
        return Err((
            StatusCode::BAD_REQUEST,
            "ERROR_ARGUMENT",
            "Argument 'process_id' is null or empty",
        ));
    };
    let messages = strings(params.get("message_id"));
    let ids = strings(params.get("id"));
    Ok(e.rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.process_id.as_deref() == Some(process_id))
        .filter(|(_, r)| match (messages.is_empty(), ids.is_empty()) {
            (false, _) => messages.contains(&r.message_id),
            (true, false) => ids.contains(&r.id.to_string()),
            (true, true) => true,
        })
        .map(|(i, _)| i)
        .collect())
}

fn clear(e: &mut Events, params: &Value) -> Result<Value, Failure> {
    let picked = chosen(e, params)?;
    let ids: HashSet<u64> = picked.iter().map(|&i| e.rows[i].id).collect();
    e.cleared.extend(ids.iter().copied());
    e.rows.retain(|r| !ids.contains(&r.id));
    Ok(json!({"result": true}))
}

fn error(e: &mut Events, params: &Value) -> Result<Value, Failure> {
    let picked = chosen(e, params)?;
    for i in picked {
        e.rows[i].error = true;
        e.rows[i].process_id = None;
    }
    Ok(json!({"result": true}))
}

fn list(e: &mut Events, params: &Value) -> Result<Value, Failure> {
    let start = params
        .get("start")
        .and_then(|l| l.as_u64().or_else(|| l.as_str()?.parse().ok()))
        .unwrap_or(0) as usize;
    let filter = params.get("filter").cloned().unwrap_or(json!({}));
    let rows: Vec<&Row> = e
        .rows
        .iter()
        .filter(|r| match filter.get("ERROR") {
            Some(v) => flag(&json!({ "x": v }), "x", false) == r.error,
            None => true,
        })
        .filter(|r| match filter.get("PROCESS_ID") {
            Some(Value::String(p)) => r.process_id.as_deref() == Some(p.as_str()),
            _ => true,
        })
        .filter(|r| match filter.get("!PROCESS_ID") {
            Some(Value::Null) | Some(Value::String(_)) => r.process_id.is_some(),
            _ => true,
        })
        .collect();
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

/// An online event's POST body as the portal sends it: form-encoded, PHP brackets, the tokens
/// of the user who caused it, and the install's `application_token`.
pub fn event_form(
    event: &str,
    deal_id: u64,
    member_id: &str,
    application_token: &str,
    host: &str,
) -> String {
    let auth = [
        (
            "access_token",
            "e0e2f6660000071b00000cd600000001000000ab1c7b5c2b1a9d8e3a6d2c3e4f",
        ),
        ("expires", "1728416897"),
        ("expires_in", "3600"),
        ("scope", "crm"),
        ("domain", host),
        ("server_endpoint", "https://oauth.bitrix.info/rest/"),
        ("status", "L"),
        ("client_endpoint", &format!("http://{host}/portal/rest/")),
        ("member_id", member_id),
        ("user_id", "1"),
        ("application_token", application_token),
    ];
    let data = [("FIELDS][ID", deal_id.to_string())];
    portal_form(event, "7", &data, &auth).finish()
}

/// ONAPPUNINSTALL as the record shows it: no tokens, `data[CLEAN]`, the `application_token`.
pub fn uninstall_form(member_id: &str, application_token: &str, host: &str) -> String {
    let auth = [
        ("domain", host),
        ("server_endpoint", "https://oauth.bitrix.info/rest/"),
        ("client_endpoint", &format!("http://{host}/portal/rest/")),
        ("member_id", member_id),
        ("application_token", application_token),
    ];
    let data = [("LANGUAGE_ID", "en".into()), ("CLEAN", "1".into())];
    portal_form("ONAPPUNINSTALL", "0", &data, &auth).finish()
}

/// An event's form as the portal writes it: `event`, `event_handler_id`, `data[…]`, `ts`,
/// `auth[…]`, in that order.
fn portal_form(
    event: &str,
    handler_id: &str,
    data: &[(&str, String)],
    auth: &[(&str, &str)],
) -> url::form_urlencoded::Serializer<'static, String> {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("event", event)
        .append_pair("event_handler_id", handler_id);
    for (k, v) in data {
        form.append_pair(&format!("data[{k}]"), v);
    }
    form.append_pair("ts", "1728413297");
    for (k, v) in auth {
        form.append_pair(&format!("auth[{k}]"), v);
    }
    form
}

/// An application token the portal gave an install (any 32 hex digits).
pub const INSTALL_APP_TOKEN: &str = "51856fefc120afa4b628cc82d3935cce";

/// The install callback (ONAPPINSTALL) exactly as Bitrix24 POSTs it for a "Uses API only" app:
/// every field of the protocol, brackets percent-encoded; `pair`'s tokens, expiry, member and
/// endpoints (the stand-in's `host` where the pair names none).
pub fn install_form(pair: &Value, host: &str, app_token: &str) -> String {
    install_form_with(pair, host, app_token, &[], &[])
}

/// [`install_form`] with `overrides` of `auth[…]` fields (an empty value drops the field) and
/// `extra` raw form pairs after them.
pub fn install_form_with(
    pair: &Value,
    host: &str,
    app_token: &str,
    overrides: &[(&str, &str)],
    extra: &[(&str, &str)],
) -> String {
    let text = |k: &str| pair[k].as_str().map(String::from);
    let mut auth: Vec<(String, String)> = [
        ("access_token", text("access_token").unwrap_or_default()),
        ("expires", pair["expires"].to_string()),
        ("expires_in", "3600".into()),
        ("scope", "crm,user".into()),
        ("domain", host.into()),
        (
            "server_endpoint",
            text("server_endpoint").unwrap_or(format!("http://{host}/rest/")),
        ),
        ("status", "L".into()),
        (
            "client_endpoint",
            text("client_endpoint").unwrap_or(format!("http://{host}/portal/rest/")),
        ),
        ("member_id", text("member_id").unwrap_or(MEMBER_ID.into())),
        ("user_id", "1".into()),
        ("refresh_token", text("refresh_token").unwrap_or_default()),
        ("application_token", app_token.into()),
    ]
    .into_iter()
    // A pair made up by a test may lack `expires`: the field is left out, not "null".
    .filter(|(_, v)| v != "null")
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in overrides {
        auth.retain(|(key, _)| key != k);
        if !v.is_empty() {
            auth.push((k.to_string(), v.to_string()));
        }
    }
    let auth: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let data = [
        ("VERSION", "1".into()),
        ("ACTIVE", "Y".into()),
        ("INSTALLED", "Y".into()),
        ("LANGUAGE_ID", "en".into()),
    ];
    let mut form = portal_form("ONAPPINSTALL", "0", &data, &auth);
    form.extend_pairs(extra);
    let body = form.finish();
    assert!(
        body.contains("auth%5Baccess_token%5D="),
        "brackets are percent-encoded"
    );
    body
}
