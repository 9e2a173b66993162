//! The stand-in's answers as the public record shows Bitrix24 giving them, where they differ from
//! the tidy shapes the rest of the stand-in uses (sources in `docs/bitrix24-answers.md`):
//!
//! - a removed app: portal REST answers 401 `ERROR_OAUTH` "Application not installed" (b24pysdk
//!   `errors/__init__.py`, `BitrixAPIErrorOAuth`), the token endpoint 400 `invalid_client` without
//!   a description (b24pysdk `errors/oauth.py`; b24restdocs `api-reference/oauth/error-codes.md`:
//!   "The application may not be installed"), and the OAuth server's `app.info` 400
//!   `invalid_client` (b24pysdk: "can be returned by `/rest/app.info/` when access token is
//!   invalid but has token-like format");
//! - a wrong client_id: HTTP **200** `{"error":"wrong_client"}`, a wrong secret 400
//!   `{"error":"invalid_client"}`, neither with a description (b24pysdk `BitrixOauthWrongClient`,
//!   `BitrixOAuthInvalidClient`, asserted by `tests/integration/errors/test_errors_oauth.py`);
//! - codes in upper case and without `error_description` (`{"error":"INVALID_GRANT"}`);
//! - the code exchange without `expires` and `user_id` (b24restdocs `settings/oauth/index.md`);
//! - the OAuth server's `app.info` without the `install` block (no captured answer shows it);
//! - `crm.item.list`'s `{"result":{"items":[…]},"total":n}` with lower-case `id` (fast_bitrix24
//!   `tests/real_responses/crm_item_list.py`);
//! - a renamed portal on its own address: portal REST at `/rest/METHOD` (the SDKs keep only the
//!   host of `Location`).

use hyper::StatusCode;
use serde_json::{json, Map, Value};

use super::answer::Failure;
use super::{StandIn, State};

/// Which recorded behaviours are on.
#[derive(Debug, Default, Clone)]
pub struct Record {
    /// The app was removed from the portal.
    pub removed: bool,
    /// The OAuth server's `app.info` answers without its `install` block.
    pub no_install_block: bool,
    /// The refresh answer names no `client_endpoint` (an OAuth server that does not say).
    pub refresh_without_endpoint: bool,
}

impl StandIn {
    /// The app is removed from the portal: every answer from now on says so as Bitrix24 does.
    pub fn remove_app(&self) {
        self.record(|r| r.removed = true);
    }

    /// The OAuth server's `app.info` stops naming the install (`install` block absent).
    pub fn app_info_without_identity(&self) {
        self.record(|r| r.no_install_block = true);
    }
}

/// Items of the stand-in's `crm.item.list`.
pub const ITEMS: usize = 3;

/// A recorded error answer: `(status, body)`.
pub type Answer = (StatusCode, Value);

/// The token endpoint's answer for a removed app, before anything else is looked at.
pub fn token_endpoint(r: &Record) -> Option<Answer> {
    r.removed
        .then(|| (StatusCode::BAD_REQUEST, json!({"error": "invalid_client"})))
}

/// The token endpoint's answer to wrong client credentials, as b24pysdk's live tests assert
/// it: a wrong client_id is HTTP 200 `wrong_client`, a wrong secret 400 `invalid_client`, both
/// without a description.
pub fn client_check(id: &str, secret: &str) -> Option<Answer> {
    use super::{CLIENT_ID, CLIENT_SECRET};
    if id != CLIENT_ID {
        return Some(wrong_client());
    }
    (secret != CLIENT_SECRET).then(|| (StatusCode::BAD_REQUEST, json!({"error": "invalid_client"})))
}

/// A token endpoint's answer for a wrong client_id: HTTP 200 with an error (b24pysdk).
pub fn wrong_client() -> Answer {
    (StatusCode::OK, json!({"error": "wrong_client"}))
}

/// `invalid_grant` as b24pysdk matches it: upper case, no description.
pub fn invalid_grant_bare() -> Answer {
    (StatusCode::BAD_REQUEST, json!({"error": "INVALID_GRANT"}))
}

/// The code exchange's answer: the documented one has no `expires` and no `user_id`.
pub fn code_exchange(mut response: Value) -> Value {
    if let Some(m) = response.as_object_mut() {
        m.remove("expires");
        m.remove("user_id");
    }
    response
}

/// `app.info` for a removed app: the OAuth server's (`server`) and the portal's.
pub fn app_info(r: &Record, server: bool) -> Option<Answer> {
    if !r.removed {
        return None;
    }
    Some(match server {
        true => (StatusCode::BAD_REQUEST, json!({"error": "invalid_client"})),
        false => removed_rest(),
    })
}

/// The OAuth server's `app.info` answer as this record says it.
pub fn server_app_info(r: &Record, mut answer: Value) -> Value {
    if r.no_install_block {
        if let Some(result) = answer.get_mut("result").and_then(Value::as_object_mut) {
            result.remove("install");
        }
    }
    answer
}

/// Portal REST for a removed app, before the token is looked at.
pub fn rest(r: &Record) -> Option<Answer> {
    r.removed.then(removed_rest)
}

fn removed_rest() -> Answer {
    (
        StatusCode::UNAUTHORIZED,
        json!({"error": "ERROR_OAUTH", "error_description": "Application not installed"}),
    )
}

/// `crm.item.list` as recorded, for the portal's table (`methods.rs`).
pub(super) fn item_list(_: &mut State, _: &Value) -> Result<Map<String, Value>, Failure> {
    let items: Vec<Value> = (1..=ITEMS)
        .map(|i| json!({"id": i, "title": format!("Item {i}")}))
        .collect();
    let page = json!({"result": {"items": items}, "total": ITEMS});
    Ok(page.as_object().cloned().unwrap_or_default())
}

/// Any method the portal does not know.
pub(super) const METHOD_NOT_FOUND: Failure = (
    StatusCode::NOT_FOUND,
    "ERROR_METHOD_NOT_FOUND",
    "Method not found!",
);

/// A renamed portal on its own host keeps its REST at `/rest/`: `/rest/METHOD` is portal REST
/// for every method but the OAuth server's `app.info`.
pub fn renamed_path(path: &str) -> Option<String> {
    let method = path.strip_prefix("/rest/")?;
    (!method.is_empty() && method != "app.info").then(|| format!("/portal/rest/{method}"))
}
