/*!
REST 3.0 (`<portal>/rest/api/<method>`): a JSON POST with `auth` in the body, errors as
`{"error":{"code","message","validation"}}`, writes carrying an `Idempotency-Key` so that a
repeat after a gateway's page runs nothing twice. Every auth failure, an expired token included,
comes as an access-denied exception (401; 403 for scope) rather than `expired_token`, and its
code is built from a PHP class name that differs between builds (`…V3_EXCEPTION_…`,
`…V3_EXCEPTIONS_…`): only its ending is matched.
*/

use anyhow::{anyhow, Result};
use serde_json::{Map, Value};
use url::Url;

use super::batch::CommandResult;
use crate::bitrix::errors::{ErrorCode, ServerError};
use crate::ui::sanitize::strip_controls;

/// `<portal>/rest/api/<method>` for a `client_endpoint` of `<portal>/rest/`.
pub fn url(endpoint: &str, method: &str) -> Result<Url> {
    Url::parse(endpoint)
        .and_then(|u| u.join("api/"))
        .and_then(|u| u.join(method))
        .map_err(|e| anyhow!("bad client_endpoint or method ({e})"))
}

/// A fresh `Idempotency-Key`: 128 random bits in hex, one per call, the same on its repeats.
pub fn idempotency_key() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow!("no randomness for an Idempotency-Key ({e})"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The error of a REST 3.0 answer (`error` an object), as `CODE: message` with the fields the
/// validation names; `None` when `error` is not an object (a REST answer of the older shape,
/// such as `QUERY_LIMIT_EXCEEDED` from the portal's rate limit, is read as such).
pub fn error(answer: &Map<String, Value>) -> Option<ServerError> {
    let error = answer.get("error")?.as_object()?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(strip_controls);
    let code = text(error.get("code")).unwrap_or_else(|| "UNKNOWN_ERROR".into());
    let mut description = text(error.get("message")).unwrap_or_else(|| "no message".into());
    let fields: Vec<String> = match error.get("validation") {
        Some(Value::Array(items)) => items.iter().take(10).map(validation_item).collect(),
        _ => Vec::new(),
    };
    if !fields.is_empty() {
        description = format!("{description} ({})", fields.join("; "));
    }
    Some(ServerError {
        code: ErrorCode::parse(&code),
        description,
    })
}

/// One validation entry: `field: message`, or its JSON when it has another shape.
fn validation_item(item: &Value) -> String {
    let text = |k: &str| item.get(k).and_then(Value::as_str).map(strip_controls);
    match (text("field"), text("message")) {
        (Some(f), Some(m)) => format!("{f}: {m}"),
        (None, Some(m)) => m,
        _ => strip_controls(&item.to_string()),
    }
}

/// A REST 3.0 call's answer as a `batch` output line: its `result`, the portal's error, or
/// the request's failure (`REQUEST_FAILED`).
pub fn outcome(answer: Result<Map<String, Value>>) -> CommandResult {
    match answer {
        Ok(mut answer) => CommandResult::Done {
            result: answer.shift_remove("result").unwrap_or(Value::Null),
            total: None,
            next: None,
        },
        Err(e) => match e.downcast_ref::<ServerError>() {
            Some(err) => CommandResult::Failed {
                error: err.code.as_str().to_string(),
                description: err.description.clone(),
            },
            None => CommandResult::Failed {
                error: "REQUEST_FAILED".into(),
                description: format!("{e:#}"),
            },
        },
    }
}

/// An access-denied exception: what REST 3.0 answers for every auth failure.
pub fn access_denied(code: &ErrorCode) -> bool {
    match code {
        ErrorCode::Other(c) => c.to_ascii_uppercase().ends_with("ACCESSDENIEDEXCEPTION"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn urls_errors_and_keys() {
        let u = url("https://p.bitrix24.com/rest/", "tasks.task.get").unwrap();
        assert_eq!(u.as_str(), "https://p.bitrix24.com/rest/api/tasks.task.get");
        let answer = json!({"error": {"code": "BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION",
            "message": "Invalid request", "validation": [{"field": "fields.TITLE", "message": "Required"}]}});
        let err = error(answer.as_object().unwrap()).unwrap();
        assert_eq!(
            err.to_string(),
            "BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION: Invalid request (fields.TITLE: Required)"
        );
        let old =
            json!({"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"});
        assert!(error(old.as_object().unwrap()).is_none());
        for code in [
            "BITRIX_REST_V3_EXCEPTION_ACCESSDENIEDEXCEPTION",
            "BITRIX_REST_V3_EXCEPTIONS_ACCESSDENIEDEXCEPTION",
        ] {
            assert!(access_denied(&ErrorCode::parse(code)), "{code}");
        }
        assert!(!access_denied(&ErrorCode::parse("expired_token")));
        let (a, b) = (idempotency_key().unwrap(), idempotency_key().unwrap());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
