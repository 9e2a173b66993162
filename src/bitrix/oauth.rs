/*!
The Bitrix24 OAuth client: the token endpoint (code exchange, refresh), `app.info`, and the rule
that picks which OAuth server to trust.

Errors are decided on the `error` field of Bitrix24's JSON, never on the HTTP status, which the
docs leave undefined. No token or secret ever goes into a URL, so no error message can carry one.
*/

use std::time::Duration;

use anyhow::{anyhow, Result};
use serde_json::{Map, Value};
use url::Url;

pub(crate) use crate::bitrix::body::describe;
pub(crate) use crate::bitrix::errors::{client_refused, no_verdict, NoAnswer, ServerError};
pub(crate) use crate::bitrix::http::http_client;
use crate::profile::Profile;
use crate::secret::Secret;

/// The OAuth servers Bitrix24 runs; any other host is used only when the user named it.
pub const TRUSTED_SERVERS: [&str; 2] = ["oauth.bitrix.info", "oauth.bitrix24.tech"];
pub const DEFAULT_SERVER: &str = "https://oauth.bitrix.info";

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

    pub async fn exchange_code(
        &self,
        creds: &Credentials,
        code: &Secret,
    ) -> Result<Map<String, Value>> {
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

    pub async fn refresh(
        &self,
        creds: &Credentials,
        refresh_token: &Secret,
    ) -> Result<Map<String, Value>> {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("client_id", &creds.id),
            ("client_secret", creds.secret.expose()),
            ("refresh_token", refresh_token.expose()),
        ])
        .await
    }

    /// POSTs a form to the token endpoint (the docs' GET would put the secret in server logs).
    async fn token(&self, form: &[(&str, &str)]) -> Result<Map<String, Value>> {
        let url = join(&self.server, "oauth/token/");
        let body = self.post_form(&url, form).await?;
        for key in ["access_token", "refresh_token"] {
            if body
                .get(key)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(anyhow!(
                    "the OAuth server at {} answered without `{key}`",
                    self.server
                ));
            }
        }
        // Where a code exchange's or a refresh's values enter: checked before anything keeps them.
        crate::profile::checks::fields(&body).map_err(|refused| {
            anyhow!(
                "the OAuth server at {} answered a pair b24auth does not store: {refused}",
                self.server
            )
        })?;
        Ok(body)
    }

    /// `app.info` on a REST base (`…/rest/`), the token in the form body.
    pub async fn app_info(
        &self,
        rest_base: &Url,
        access_token: &Secret,
    ) -> Result<Map<String, Value>> {
        let url = join(rest_base, "app.info");
        let body = self
            .post_form(&url, &[("auth", access_token.expose())])
            .await?;
        match body.get("result") {
            Some(Value::Object(m)) => Ok(m.clone()),
            _ => Err(anyhow!("{url} answered without a `result` object")),
        }
    }

    async fn post_form(&self, url: &Url, form: &[(&str, &str)]) -> Result<Map<String, Value>> {
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
        let bytes = crate::bitrix::body::read_limited(
            response,
            crate::bitrix::body::TOKEN_LIMIT,
            &origin(url),
        )
        .await?;
        crate::ui::log::exchange("POST", url, status.as_u16(), bytes.len(), started);
        let value: Option<Value> = serde_json::from_slice(&bytes).ok();
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
            Some(_) if status.is_success() => {
                Err(anyhow!("{url} answered JSON that is not an object"))
            }
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

fn trusted_url(host: &str) -> Option<Url> {
    TRUSTED_SERVERS
        .contains(&host)
        .then(|| Url::parse(&format!("https://{host}")).expect("known hosts parse"))
}

/// The server to show or check for a stored pair: as [`crate::bitrix::server::for_refresh`]
/// picks it, or the portal's region's when the pair names a host outside the known set.
pub fn server_for_refresh(explicit: Option<&Url>, profile: &Profile) -> Url {
    crate::bitrix::server::for_refresh(explicit, profile).unwrap_or_else(|_| {
        crate::bitrix::server::for_region(&profile.portal().unwrap_or_default())
    })
}

/// The server for `authorize` and `install-listen`: the flag or env; else the redirect's
/// `server_domain` (or the callback's `server_endpoint` host) when it is one of Bitrix24's.
pub fn server_for_new_pair(explicit: Option<&Url>, hinted_host: Option<&str>) -> Url {
    if let Some(u) = explicit {
        return u.clone();
    }
    hinted_host
        .and_then(trusted_url)
        .unwrap_or_else(default_server)
}

fn default_server() -> Url {
    Url::parse(DEFAULT_SERVER).expect("the default server parses")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_pair_server_choice() {
        assert_eq!(
            server_for_new_pair(None, Some("oauth.bitrix24.tech")).as_str(),
            "https://oauth.bitrix24.tech/"
        );
        assert_eq!(
            server_for_new_pair(None, Some("attacker.example")).as_str(),
            "https://oauth.bitrix.info/"
        );
    }
}
