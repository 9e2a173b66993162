/*!
An incoming webhook's check before it is saved (`import --webhook`): one `profile` call at its
address, which proves the address works and names the user it acts as. Calls after that go
through [`super::Caller`] like a pair's, under the shared budget.
*/

use std::time::Duration;

use anyhow::{anyhow, Result};
use serde_json::{Map, Value};

use crate::bitrix::body::{read_limited, TOKEN_LIMIT};
use crate::bitrix::errors::{ErrorCode, NoAnswer, ServerError};
use crate::bitrix::oauth::{describe, http_client};
use crate::exit;
use crate::profile::webhook::Webhook;

/// `profile` at the webhook's address: its `result`, or why the portal refused it. `replacing`:
/// a stored profile is being replaced (the fix then names `--force`; for a new one it would
/// not apply).
pub(crate) async fn check(
    hook: &Webhook,
    timeout: Duration,
    replacing: bool,
) -> Result<Map<String, Value>> {
    let url = format!("{}profile", hook.base().expose());
    let origin = format!("the portal {}", hook.portal());
    let response = http_client(timeout)?
        .post(&url)
        .json(&serde_json::json!({}))
        .send()
        .await
        .map_err(|e| NoAnswer(format!("cannot reach {origin}: {}", describe(e))))?;
    let status = response.status();
    let body = read_limited(response, TOKEN_LIMIT, &origin).await?;
    let answer: Map<String, Value> = serde_json::from_slice(&body).map_err(|_| {
        anyhow!(
            "{origin} answered HTTP {status} without Bitrix24's JSON: check the webhook's address"
        )
    })?;
    if let Some(err) = ServerError::from_json(&answer) {
        let err = err.redacted(&[&hook.secret_part()]);
        return Err(match replacing {
            true => refused(err),
            false => refused_new(err),
        });
    }
    match answer.get("result") {
        Some(Value::Object(me)) => Ok(me.clone()),
        _ => Err(anyhow!("{origin} answered `profile` without a result")),
    }
}

/// A webhook the portal refuses: a deleted or changed one (`INVALID_CREDENTIALS`) needs a new
/// one (exit 3, like a dead refresh token); anything else is the portal's answer (exit 1).
pub(crate) fn refused(err: ServerError) -> anyhow::Error {
    match err.code {
        ErrorCode::InvalidCredentials => exit::auth_needed(format!(
            "the portal refused the webhook ({err}): it was deleted or its address changed; create an incoming webhook in Developer resources and save it with `b24auth import --webhook --force`"
        )),
        _ => anyhow::Error::new(err).context("the portal refused the webhook's check"),
    }
}

/// [`refused`] for a webhook that would make a new profile: nothing is stored, so no `--force`.
fn refused_new(err: ServerError) -> anyhow::Error {
    match err.code {
        ErrorCode::InvalidCredentials => exit::auth_needed(format!(
            "the portal refused the webhook ({err}): check that the whole address was copied, or create an incoming webhook in Developer resources and save it with {}",
            crate::ui::hint::cmd(&["import", "--webhook"])
        )),
        _ => refused(err),
    }
}
