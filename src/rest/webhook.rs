/*!
`import --webhook`'s flow: an incoming webhook's address (`https://PORTAL/rest/USER_ID/SECRET/`)
as the profile, read from a hidden prompt or stdin, never argv ([`read`]); checked with one
`profile` call at its address, which proves the address works and names the user it acts as
([`check`]); saved on the store's save path for a credential brought in ([`save`]). Calls after
that go through [`super::Caller`] like a pair's, under the shared budget.
*/

use std::time::Duration;

use anyhow::{anyhow, Result};
use serde_json::{Map, Value};

use crate::bitrix::body::{describe, read_limited, TOKEN_LIMIT};
use crate::bitrix::errors::{ErrorCode, NoAnswer, ServerError};
use crate::bitrix::http::http_client;
use crate::exit;
use crate::profile::webhook::Webhook;
use crate::profile::{now, Profile};
use crate::secret::Secret;
use crate::session::Session;
use crate::store::{self, AdoptedPair};
use crate::ui::input;

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
/// The webhook's address: a hidden prompt on a terminal, else the first line of stdin.
pub(crate) fn read(ui: &crate::ui::Ui) -> Result<Secret> {
    if crate::ui::can_ask() {
        return ui.prompt("webhook address (hidden)", true, "stdin");
    }
    let bytes = input::read_stdin(input::TOKEN_LIMIT, "stdin")?;
    let text = String::from_utf8(bytes).map_err(|_| exit::usage("stdin is not UTF-8 text"))?;
    let line = text.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        return Err(exit::usage(format!(
            "nothing on stdin: pipe the webhook's address in, e.g. {}",
            crate::ui::hint::cmd(&["import", "--webhook"])
                .replace("--webhook`", "--webhook < hook.txt`")
        )));
    }
    Ok(Secret::new(line))
}

/// `import --webhook`: an incoming webhook's address, checked with one `profile` call, saved as
/// the profile on the store's save path for a credential brought in.
pub(crate) async fn save(s: &Session, url: Secret, force: bool) -> Result<()> {
    let hook =
        Webhook::parse(url.expose()).map_err(|why| exit::usage(format!("not saved: {why}")))?;
    let mode = s.save_mode(force).await?;
    let replacing = matches!(mode, store::SaveMode::Replace);
    let me = check(&hook, s.cfg.http_timeout, replacing).await?;
    let profile = Profile::from_webhook(&hook, now());
    store::save_adopted(&s.store, &s.cfg.profile, mode, || async {
        Ok(AdoptedPair {
            profile,
            rotated: false,
        })
    })
    .await?;
    let name = |k: &str| {
        me.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string()
    };
    s.cfg.ui.info(crate::ui::sanitize::strip_controls(&format!(
        "saved incoming webhook {hook} as profile `{}` (acts as {} {}, user {}) to {}",
        s.cfg.profile,
        name("NAME"),
        name("LAST_NAME"),
        hook.user_id(),
        s.location()
    )));
    Ok(())
}
