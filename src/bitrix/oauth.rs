/*!
The Bitrix24 OAuth client: the token endpoint (code exchange, refresh) and `app.info`. Which
OAuth server it speaks to is [`crate::bitrix::server`]'s one rule.

Errors are decided on the `error` field of Bitrix24's JSON, never on the HTTP status, which the
docs leave undefined. No token or secret ever goes into a URL, so no error message can carry one.
*/

use std::time::Duration;

use anyhow::{anyhow, Result};
use serde_json::{Map, Value};
use url::Url;

use crate::bitrix::body::{describe, human_bytes, too_large, TOKEN_LIMIT};
use crate::bitrix::errors::{NoAnswer, ServerError};
use crate::bitrix::http::http_client;
use crate::profile::token_answer::{NoPair, UnstorableRefreshToken};
use crate::profile::TokenAnswer;
use crate::secret::Secret;

/// How much of a token answer over [`TOKEN_LIMIT`] is scanned for its tokens: a rotated pair
/// is kept even from an oversized answer, and no answer makes b24auth hold more than this.
pub const SCAN_LIMIT: usize = 1024 * 1024;

/// The app's `client_id` and `client_secret`.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub id: String,
    pub secret: Secret,
}

pub struct Client {
    http: reqwest::Client,
    server: Url,
}

impl Client {
    pub fn new(server: Url, timeout: Duration) -> Result<Client> {
        Ok(Client {
            http: http_client(timeout)?,
            server,
        })
    }

    /// The same HTTP client (connection pool, TLS set-up) aimed at another server.
    pub fn with_server(&self, server: Url) -> Client {
        Client {
            http: self.http.clone(),
            server,
        }
    }

    /// The code for a pair: the answer read as [`Client::refresh`]'s is.
    pub async fn exchange_code(&self, creds: &Credentials, code: &Secret) -> Result<TokenAnswer> {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("client_id", &creds.id),
            ("client_secret", creds.secret.expose()),
            ("code", code.expose()),
        ])
        .await
    }

    /// The OAuth server this client speaks to.
    pub fn server(&self) -> &Url {
        &self.server
    }

    /// The one refresh request and the one reading of its answer, for every flow that
    /// refreshes (the stored pair's, the install callback's proof, import's expired file):
    /// the answer's tokens are kept whatever else in it b24auth refuses ([`TokenAnswer`]).
    pub async fn refresh(
        &self,
        creds: &Credentials,
        refresh_token: &Secret,
    ) -> Result<TokenAnswer> {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("client_id", &creds.id),
            ("client_secret", creds.secret.expose()),
            ("refresh_token", refresh_token.expose()),
        ])
        .await
    }

    /// POSTs a form to the token endpoint (the docs' GET would put the secret in server logs).
    /// An answer over [`TOKEN_LIMIT`] or one the JSON reader cannot take whole (nested too
    /// deep, cut off) is scanned for its tokens alone, reading at most [`SCAN_LIMIT`].
    async fn token(&self, form: &[(&str, &str)]) -> Result<TokenAnswer> {
        let url = join(&self.server, "oauth/token/");
        let (status, bytes, cut) = self.send(&url, form, SCAN_LIMIT).await?;
        let whole = match (cut || bytes.len() > TOKEN_LIMIT, status.is_success()) {
            (false, _) => serde_json::from_slice::<Value>(&bytes).map_err(|e| e.to_string()),
            (true, true) => Err(format!("it is larger than {}", human_bytes(TOKEN_LIMIT))),
            (true, false) => return Err(too_large(&origin(&url), TOKEN_LIMIT)),
        };
        let whole_failed = whole.is_err();
        let read = match whole {
            Ok(value) => TokenAnswer::checked(decode(&url, status, Some(value), form)?),
            Err(why) if status.is_success() => {
                TokenAnswer::scanned(&bytes, format!("the answer was not read whole ({why})"))
            }
            Err(_) => return Err(decode(&url, status, None, form).expect_err("no JSON, no answer")),
        };
        read.map_err(|no_pair| match no_pair {
            NoPair::Missing if cut || bytes.len() > TOKEN_LIMIT => {
                too_large(&origin(&url), TOKEN_LIMIT)
            }
            NoPair::Missing if whole_failed => {
                decode(&url, status, None, form).expect_err("no JSON, no answer")
            }
            NoPair::Missing => anyhow!(
                "the OAuth server at {} answered without `refresh_token`",
                self.server
            ),
            // Where a code exchange's or a refresh's values enter: a refresh token that breaks
            // the rule for tokens is not stored, but the pair has rotated: it is rescued.
            NoPair::Refused(refused, tokens) => {
                UnstorableRefreshToken::new(self.server.to_string(), refused, tokens).into()
            }
        })
    }

    /// `app.info` on a REST base (`…/rest/`), the token in the form body.
    pub async fn app_info(
        &self,
        rest_base: &Url,
        access_token: &Secret,
    ) -> Result<Map<String, Value>> {
        let url = join(rest_base, "app.info");
        let form = [("auth", access_token.expose())];
        let (status, bytes, cut) = self.send(&url, &form, TOKEN_LIMIT).await?;
        if cut {
            return Err(too_large(&origin(&url), TOKEN_LIMIT));
        }
        let body = decode(&url, status, serde_json::from_slice(&bytes).ok(), &form)?;
        match body.get("result") {
            Some(Value::Object(m)) => Ok(m.clone()),
            _ => Err(anyhow!("{url} answered without a `result` object")),
        }
    }

    /// POSTs `form`; the status and at most `limit` bytes of the answer, and whether it was
    /// cut there.
    async fn send(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        limit: usize,
    ) -> Result<(reqwest::StatusCode, Vec<u8>, bool)> {
        let started = std::time::Instant::now();
        let response = self
            .http
            .post(url.clone())
            .form(form)
            .send()
            .await
            .map_err(|e| NoAnswer(format!("cannot reach {}: {}", origin(url), describe(e))))
            .inspect_err(|e| crate::ui::log::failed("POST", url, &e.to_string(), started))?;
        let status = response.status();
        let (bytes, cut) = super::body::read_at_most(response, limit, &origin(url)).await?;
        crate::ui::log::exchange("POST", url, status.as_u16(), bytes.len(), started);
        Ok((status, bytes, cut))
    }
}

/// Bitrix24's error when the answer is one (on any status); else the JSON object of a success.
fn decode(
    url: &Url,
    status: reqwest::StatusCode,
    value: Option<Value>,
    form: &[(&str, &str)],
) -> Result<Map<String, Value>> {
    if let Some(err) = value
        .as_ref()
        .and_then(Value::as_object)
        .and_then(ServerError::from_json)
    {
        let sent: Vec<&str> = form.iter().map(|(_, v)| *v).collect();
        return Err(err.redacted(&sent).into());
    }
    match value {
        Some(Value::Object(m)) if status.is_success() => Ok(m),
        Some(_) if status.is_success() => Err(anyhow!("{url} answered JSON that is not an object")),
        _ if status.is_success() => Err(NoAnswer(format!(
            "{url} answered HTTP {status} with a body that is not JSON"
        ))
        .into()),
        _ => Err(NoAnswer(format!(
            "{url} answered HTTP {status} without a Bitrix24 error"
        ))
        .into()),
    }
}

fn join(base: &Url, path: &str) -> Url {
    let mut s = base.as_str().to_string();
    if !s.ends_with('/') {
        s.push('/');
    }
    Url::parse(&(s + path)).expect("a valid base joined with a plain path stays valid")
}

fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}
