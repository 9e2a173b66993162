//! The portal side of installing an app with a UI (PROTOCOL.md §6): the portal page that
//! submits the install form into a frame (the `rest` module's `app.layout` template), and a
//! `BX24` library stub whose `installFinish()` the stand-in records.

use std::sync::Mutex;

use hyper::StatusCode;
use serde_json::Value;

use super::answer::{reply, Answer};
use super::config::MEMBER_ID;
use super::{StandIn, State};

/// `/install-frame?target=URL`: a fresh pair handed to the page at `target`.
pub(super) fn install_page(state: &Mutex<State>, host: &str, target: &str) -> Answer {
    let mut s = state.lock().unwrap();
    let pair = s.token_response(host);
    s.frame_pair = Some(pair.clone());
    let page = portal_page(target, &pair, host, s.config.https);
    reply(StatusCode::OK, "text/html; charset=utf-8", page)
}

/// `/bx24.js`.
pub(super) fn library_script(state: &Mutex<State>, host: &str) -> Answer {
    let base = format!("{}://{host}", state.lock().unwrap().config.scheme());
    reply(StatusCode::OK, "application/javascript", library(&base))
}

/// `/bx24/finished`: an install page called `BX24.installFinish()`.
pub(super) fn finished(state: &Mutex<State>) -> Answer {
    state.lock().unwrap().counters.install_finished += 1;
    reply(StatusCode::OK, "image/gif", String::new())
}

impl StandIn {
    /// The pair the last install-frame page (`/install-frame?target=URL`) handed its frame.
    pub fn frame_pair(&self) -> Option<Value> {
        self.state.lock().unwrap().frame_pair.clone()
    }
}

/// The install form's fields (the pair as `AUTH_ID`/`REFRESH_ID`) and the query that names
/// the portal, as the portal's page submits them into the frame.
fn form_fields(pair: &Value, host: &str, https: bool) -> (Vec<(&'static str, String)>, String) {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("DOMAIN", host)
        .append_pair("PROTOCOL", if https { "1" } else { "0" })
        .append_pair("LANG", "en")
        .append_pair("APP_SID", "5a0c0dd3e1d7b7f45ac6b5d6c3a5f2d1")
        .finish();
    let token = |k: &str| pair[k].as_str().unwrap().to_string();
    let fields = vec![
        ("AUTH_ID", token("access_token")),
        ("AUTH_EXPIRES", "3600".into()),
        ("REFRESH_ID", token("refresh_token")),
        ("member_id", MEMBER_ID.into()),
        ("status", "L".into()),
        ("PLACEMENT", "DEFAULT".into()),
        ("PLACEMENT_OPTIONS", "{}".into()),
    ];
    (fields, query)
}

/// The frame form as the portal submits it: the form-encoded body and the query.
pub fn frame_form(pair: &Value, host: &str, https: bool) -> (String, String) {
    let (fields, query) = form_fields(pair, host, https);
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    (body, query)
}

/// The portal page: a form POSTed into a frame at `target` (the installation path), with the
/// pair as `AUTH_ID`/`REFRESH_ID` and the portal in the query, submitted on load.
pub fn portal_page(target: &str, pair: &Value, host: &str, https: bool) -> String {
    let (fields, query) = form_fields(pair, host, https);
    let fields: String = fields
        .iter()
        .map(|(name, value)| {
            format!(
                r#"<input type="hidden" name="{name}" value="{}">"#,
                attr(value)
            )
        })
        .collect();
    format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>Portal</title></head><body>
<form id="install" method="post" target="app" action="{}?{query}">{fields}</form>
<iframe name="app" id="app" width="800" height="300"></iframe>
<script>document.getElementById('install').submit();</script>
</body></html>"#,
        attr(target)
    )
}

/// The `BX24` library as far as an install page uses it; `installFinish()` reports to the
/// stand-in at `base`.
pub fn library(base: &str) -> String {
    format!(
        "var BX24 = {{ init: function (cb) {{ cb(); }}, installFinish: function () {{ new Image().src = '{base}/bx24/finished'; }} }};\n"
    )
}

fn attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}
