/*!
`show --check`: whether the stored authorization works, asked of the trusted OAuth server's
`app.info` (and the portal's), refreshing first when the token has expired or the server says
it is dead.
*/

use anyhow::Result;
use serde_json::{Map, Value};
use url::Url;

use super::Session;
use crate::bitrix::errors::{ErrorCode, ServerError};
use crate::profile::Profile;

/// What a check found: the pair it checked (refreshed when it had to be), the server that
/// confirmed it and its `app.info`, and the portal's own `app.info` when it answered.
pub(crate) struct CheckReport {
    pub profile: Profile,
    pub server: Url,
    pub info: Map<String, Value>,
    pub app: Option<Map<String, Value>>,
}

/// Asks the trusted OAuth server's `app.info` (and the portal's) whether the stored
/// authorization works, refreshing first when the token has expired.
pub(crate) async fn works(s: &Session) -> Result<CheckReport> {
    let mut p = s.valid_profile(0).await?;
    let server = crate::bitrix::server::for_refresh(s.cfg.oauth_server.as_ref(), &p)?;
    crate::bitrix::server::check_oauth_server(&server)?;
    let client = s.oauth_client(server.clone())?;
    let rest = server.join("rest/")?;
    let mut token = p.access_token();
    let mut asked = client.app_info(&rest, &token).await;
    if asked
        .as_ref()
        .err()
        .and_then(server_code)
        .is_some_and(refresh_may_cure)
    {
        // A dead token (or the portal's clock saying expired before ours): refresh (unless
        // another process already did) and ask again: an expired token is no failed check.
        let used = token.clone();
        p = s
            .refresh(|q| q.access_token() == used)
            .await
            .map_err(refresh_failed)?
            .profile;
        token = p.access_token();
        asked = client.app_info(&rest, &token).await;
    }
    let info = asked.map_err(|e| explain_check(e, &p))?;
    let app = match p.client_endpoint().map(Url::parse) {
        Some(Ok(endpoint)) => client.app_info(&endpoint, &token).await.ok(),
        _ => None,
    };
    Ok(CheckReport {
        profile: p,
        server,
        info,
        app,
    })
}

fn server_code(e: &anyhow::Error) -> Option<&ErrorCode> {
    e.downcast_ref::<ServerError>().map(|s| &s.code)
}

/// A dead token at the OAuth server's `app.info`: its own words for it, or `invalid_client`,
/// which b24pysdk records there for a dead token of token-like form.
fn refresh_may_cure(code: &ErrorCode) -> bool {
    code.token_refused() || *code == ErrorCode::InvalidClient
}

/// `--check` asks one question: a refresh the server refused means re-authorize (3), whatever
/// the reason it gave (the message keeps it); only a failure to get an answer is 1.
fn refresh_failed(e: anyhow::Error) -> anyhow::Error {
    match e.downcast::<crate::bitrix::errors::ClientRefused>() {
        Ok(refused) => crate::exit::auth_needed(format!(
            "the stored authorization does not work: {}",
            refused.0
        )),
        Err(e) => e,
    }
}

/// Exit 3 when the OAuth server says the authorization is dead, exit 1 (cannot tell) otherwise.
fn explain_check(e: anyhow::Error, p: &Profile) -> anyhow::Error {
    let portal = crate::ui::hint::domain_of(p.portal(), p.client_endpoint());
    match e.downcast_ref::<ServerError>() {
        Some(se) if se.code.app_removed() => crate::bitrix::errors::app_not_installed(se, &portal),
        Some(se) if se.code.needs_reauthorization() || se.code.is_client_refusal() => {
            crate::exit::auth_needed(format!(
                "the stored authorization does not work ({se}): {} again (reinstall the app first if it was removed)",
                crate::ui::hint::authorize_again(&portal, true)
            ))
        }
        _ => e.context("cannot tell whether the authorization works"),
    }
}
