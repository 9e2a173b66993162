/*!
Calling Bitrix24 REST methods with a stored authorization, the way Bitrix24 asks for it:
POST JSON to `{client_endpoint}METHOD` with `auth` in the body; on `expired_token` refresh
(single-flight, through the store) and repeat once; on `QUERY_LIMIT_EXCEEDED`,
`OPERATION_TIME_LIMIT` or HTTP 429 back off and retry; before a call, wait when the
operating-time budget (`limit.rs`) says the method is about to run out; on a renamed portal's
302 repeat the same POST at the new address and remember it. `batch.rs` packs calls into
Bitrix24's `batch`; `export.rs` reads whole lists through it.
*/

pub(crate) mod batch;
pub(crate) mod export;
pub(crate) mod limit;
mod params;

pub(crate) use params::pairs_to_json;

use std::time::Duration;

use anyhow::{anyhow, Result};
use serde_json::{Map, Value};
use url::Url;

use crate::bitrix::errors::{self, Decision, ErrorCode, ServerError};
use crate::bitrix::oauth::{describe, http_client};
use crate::exit;
use crate::profile::Profile;
use crate::session::Session;
use limit::{unix_now, Budget};

/// Retries of one request that meets a rate limit (`ErrorCode::is_rate_limit`), from 500 ms.
const LIMIT_RETRIES: u32 = 5;

/// A client-side leaky bucket: `burst` requests at once, then `rate` per second.
pub(crate) struct Bucket {
    rate: f64,
    burst: f64,
    level: f64,
    last: tokio::time::Instant,
}

impl Bucket {
    pub fn new(rate: f64, burst: u32) -> Bucket {
        Bucket {
            rate,
            burst: f64::from(burst),
            level: 0.0,
            last: tokio::time::Instant::now(),
        }
    }

    /// Waits until one more request fits.
    pub async fn admit(&mut self) {
        let t = tokio::time::Instant::now();
        self.level = (self.level - t.duration_since(self.last).as_secs_f64() * self.rate).max(0.0);
        self.last = t;
        if self.level + 1.0 > self.burst {
            // A few ms past the exact moment: the portal's bucket counts a request when it
            // arrives, and a later request can take less time to get there than the first did.
            let wait = (self.level + 1.0 - self.burst) / self.rate + 0.005;
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
            self.level -= wait * self.rate;
            self.last = tokio::time::Instant::now();
        }
        self.level += 1.0;
    }
}

/// What one POST came back with.
enum Answer {
    /// A redirect: the URL that was called and the `Location`.
    Moved(Url, Option<String>),
    Json(Map<String, Value>),
}

/// One authorized caller: the current profile, the HTTP client and the rate limit.
pub(crate) struct Caller<'a> {
    session: &'a Session,
    http: reqwest::Client,
    profile: Profile,
    bucket: Bucket,
    budget: Budget,
}

impl<'a> Caller<'a> {
    /// Loads the profile, refreshing first when the token has expired.
    pub async fn new(session: &'a Session, bucket: Bucket) -> Result<Caller<'a>> {
        let profile = session.valid_profile(0).await?;
        // --http-timeout bounds the whole request, body included (raise it for slow methods).
        let http = http_client(session.cfg.http_timeout)?;
        Ok(Caller {
            session,
            http,
            profile,
            bucket,
            budget: Budget::default(),
        })
    }

    /// Calls `method` with `params` (without `auth`) and returns the whole response object,
    /// following Bitrix24's recipe for expired tokens, rate limits and renamed portals.
    pub async fn call(
        &mut self,
        method: &str,
        params: &Map<String, Value>,
    ) -> Result<Map<String, Value>> {
        let (mut refreshed, mut limited) = (false, 0);
        // A renamed portal's new endpoint: used at once, saved only once a call there worked.
        let mut moved: Option<String> = None;
        loop {
            let err = match self.post(method, params).await? {
                Answer::Moved(from, location) if moved.is_none() => {
                    let endpoint = rename_target(&from, method, location.as_deref())?;
                    self.profile.set_client_endpoint(&endpoint);
                    moved = Some(endpoint);
                    continue;
                }
                Answer::Moved(..) => return Err(anyhow!("{method}: the portal redirected twice")),
                Answer::Json(object) => {
                    match ServerError::from_json(&object).map(|e| e.redacted(&self.sent_secrets()))
                    {
                        None => {
                            if let Some(endpoint) = moved {
                                self.remember_rename(endpoint).await?;
                            }
                            return Ok(object);
                        }
                        Some(err) => err,
                    }
                }
            };
            match &err.code {
                code if code.token_refused() && !refreshed => {
                    crate::ui::log::note(format_args!(
                        "{method}: {code}; refreshing, then retrying once"
                    ));
                    self.renew(&err).await?;
                    if let Some(endpoint) = &moved {
                        self.profile.set_client_endpoint(endpoint);
                    }
                    refreshed = true;
                }
                code if code.is_rate_limit() && limited < LIMIT_RETRIES => {
                    if *code == ErrorCode::OperationTimeLimit {
                        self.budget.exhausted(method);
                    }
                    let wait = Duration::from_millis(500 << limited);
                    if wait > Duration::from_secs(1) {
                        self.session.cfg.ui.info(format_args!(
                            "{method}: the portal's rate limit ({code}); waiting {} before retry {} of {LIMIT_RETRIES}",
                            crate::ui::human_duration(wait.as_secs() as i64),
                            limited + 1
                        ));
                    }
                    crate::ui::log::note(format_args!(
                        "{method}: {code}; backing off {} ms, retry {} of {LIMIT_RETRIES}",
                        wait.as_millis(),
                        limited + 1
                    ));
                    tokio::time::sleep(wait).await;
                    limited += 1;
                }
                code if code.token_refused() => return Err(rejected(&err)),
                // No refresh cures these: say what does.
                code if code.app_removed() => {
                    let portal = crate::ui::hint::domain_of(
                        self.profile.portal(),
                        self.profile.client_endpoint(),
                    );
                    return Err(errors::app_not_installed(&err, &portal));
                }
                code if code.decision() == Decision::Permission => {
                    return Err(errors::not_permitted(&err))
                }
                _ => return Err(anyhow!("{err}")),
            }
        }
    }

    /// What a portal's error text must not show: the secrets this caller holds.
    fn sent_secrets(&self) -> Vec<&str> {
        [
            "access_token",
            "refresh_token",
            "client_secret",
            "application_token",
        ]
        .iter()
        .filter_map(|k| self.profile.str(k))
        .collect()
    }

    /// One POST of `method` with the current token, under the rate limit.
    async fn post(&mut self, method: &str, params: &Map<String, Value>) -> Result<Answer> {
        let endpoint = self
            .profile
            .client_endpoint()
            .ok_or_else(|| anyhow!("the profile has no client_endpoint"))?;
        let url = Url::parse(endpoint)
            .and_then(|u| u.join(method))
            .map_err(|e| anyhow!("bad client_endpoint or method ({e})"))?;
        let mut body = params.clone();
        body.insert("auth".into(), self.profile.access_token().expose().into());
        if let Some(wait) = self.budget.wait(method, params, unix_now()) {
            self.session.cfg.ui.info(format_args!("b24auth: {wait}"));
            tokio::time::sleep(wait.duration).await;
        }
        self.bucket.admit().await;
        let started = std::time::Instant::now();
        let response = self
            .http
            .post(url.clone())
            .header("accept", "application/json")
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "cannot reach {}: {}",
                    url.origin().ascii_serialization(),
                    describe(e)
                )
            })
            .inspect_err(|e| crate::ui::log::failed("POST", &url, &e.to_string(), started))?;
        let status = response.status();
        if status.is_redirection() {
            crate::ui::log::exchange("POST", &url, status.as_u16(), 0, started);
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok());
            return Ok(Answer::Moved(url.clone(), location.map(String::from)));
        }
        let from = url.origin().ascii_serialization();
        let bytes =
            crate::bitrix::body::read_limited(response, crate::bitrix::body::REST_LIMIT, &from)
                .await?;
        crate::ui::log::exchange("POST", &url, status.as_u16(), bytes.len(), started);
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(object)) => {
                self.budget.observe(method, params, &object);
                Ok(Answer::Json(object))
            }
            // A proxy's 429 page: Bitrix24's own words for it would be QUERY_LIMIT_EXCEEDED.
            _ if status == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                let mut answer = Map::new();
                answer.insert("error".into(), ErrorCode::TooManyRequests.as_str().into());
                answer.insert(
                    "error_description".into(),
                    "the portal answered HTTP 429 Too Many Requests".into(),
                );
                Ok(Answer::Json(answer))
            }
            Ok(_) => Err(anyhow!(
                "{method}: the portal answered JSON that is not an object"
            )),
            Err(_) => Err(anyhow!(
                "{method}: the portal answered HTTP {status} with a body that is not JSON"
            )),
        }
    }

    /// After the portal refused the token: refresh when the token that failed is still the
    /// stored one; when another process rotated the pair meanwhile (which also kills our
    /// token), the re-read under the lock hands us theirs instead.
    async fn renew(&mut self, err: &ServerError) -> Result<()> {
        let used = self.profile.access_token();
        let current = self
            .session
            .refresh(|p| p.access_token() == used)
            .await?
            .profile;
        if current.access_token() == used {
            return Err(rejected(err));
        }
        self.profile = current;
        Ok(())
    }

    /// Saves the renamed portal's endpoint (after a call there worked).
    async fn remember_rename(&mut self, endpoint: String) -> Result<()> {
        self.profile = self
            .session
            .update(|p| p.set_client_endpoint(&endpoint))
            .await
            .map_err(|e| e.context("cannot save the portal's new address; the stored pair is unchanged and still valid"))?;
        self.session.cfg.ui.info(format_args!(
            "the portal moved: saved the new client_endpoint {endpoint}"
        ));
        Ok(())
    }
}

/// A renamed portal answers 302 with its new address: the new `client_endpoint` is
/// `SCHEME://HOST[:PORT]/rest/` of the `Location` (only its host counts, as both official SDKs
/// take it), when the redirect may carry the token there (see [`redirect_allowed`]).
fn rename_target(old: &Url, method: &str, location: Option<&str>) -> Result<String> {
    let new = location
        .and_then(|l| old.join(l).ok())
        .filter(|u| u.host_str().is_some())
        .ok_or_else(|| anyhow!("{method}: the portal redirected without a usable Location"))?;
    if !redirect_allowed(old, &new) {
        return Err(anyhow!(
            "{method}: the portal redirected to {}, which is not a Bitrix24 cloud portal over https nor the same address; not following",
            new.origin().ascii_serialization()
        ));
    }
    Ok(format!("{}/rest/", new.origin().ascii_serialization()))
}

/// The token follows a redirect only to an `https://` host (port 443) in Bitrix24's cloud zones, or to the
/// same scheme, host and port; never from https to http.
pub fn redirect_allowed(old: &Url, new: &Url) -> bool {
    let cloud = new.scheme() == "https"
        && new.port().is_none()
        && is_bitrix24_cloud(new.host_str().unwrap_or(""));
    let same = new.scheme() == old.scheme()
        && new.host_str() == old.host_str()
        && new.port_or_known_default() == old.port_or_known_default();
    cloud || same
}

fn rejected(err: &ServerError) -> anyhow::Error {
    exit::auth_needed(format!(
        "{err}: the portal refused the stored token; {} again",
        crate::ui::hint::authorize_again("PORTAL", true)
    ))
}

/// Bitrix24's cloud zones: a renamed cloud portal stays under one of them.
const CLOUD_ZONES: [&str; 22] = [
    "com", "ru", "de", "eu", "es", "fr", "it", "pl", "uk", "by", "kz", "ua", "in", "jp", "cn",
    "tr", "id", "vn", "com.br", "co", "mx", "site",
];

fn is_bitrix24_cloud(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    CLOUD_ZONES.iter().any(|zone| {
        host.strip_suffix(&format!(".bitrix24.{zone}"))
            .is_some_and(|name| !name.is_empty() && !name.contains('.'))
    })
}

/// The items of a list method's page: `result` itself, or the one array inside it
/// (`{"result":{"items":[…]}}`, `{"result":{"tasks":[…]}}`).
pub(crate) fn page_items(response: &Map<String, Value>) -> Vec<Value> {
    response
        .get("result")
        .cloned()
        .map(result_items)
        .unwrap_or_default()
}

/// [`page_items`] of a page's `result`, taken by value (no copy of the items).
pub(crate) fn result_items(result: Value) -> Vec<Value> {
    match result {
        Value::Array(items) => items,
        Value::Object(mut o) => {
            let arrays: Vec<&String> = o
                .iter()
                .filter(|(_, v)| v.is_array())
                .map(|(k, _)| k)
                .collect();
            match arrays.as_slice() {
                [one] => {
                    let key = (*one).clone();
                    match o.shift_remove(&key) {
                        Some(Value::Array(items)) => items,
                        _ => unreachable!("the key holds an array"),
                    }
                }
                _ => vec![Value::Object(o)],
            }
        }
        other => vec![other],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_pages() {
        let r = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            page_items(&r(json!({"result": [1, 2]}))),
            vec![json!(1), json!(2)]
        );
        assert_eq!(
            page_items(&r(json!({"result": {"items": [3]}}))),
            vec![json!(3)]
        );
    }

    #[test]
    fn redirects_keep_the_token_where_it_belongs() {
        let u = |s: &str| Url::parse(s).unwrap();
        let old = u("https://old.bitrix24.com/rest/");
        assert!(redirect_allowed(&old, &u("https://new.bitrix24.de/rest/")));
        assert!(redirect_allowed(
            &old,
            &u("https://old.bitrix24.com:443/x/")
        ));
        assert!(!redirect_allowed(&old, &u("http://new.bitrix24.com/rest/")));
        assert!(!redirect_allowed(&old, &u("http://old.bitrix24.com/rest/")));
        assert!(!redirect_allowed(
            &old,
            &u("https://old.bitrix24.com:8443/rest/")
        ));
        assert!(!redirect_allowed(&old, &u("https://evil.example/rest/")));
        let local = u("http://127.0.0.1:8080/rest/");
        assert!(redirect_allowed(
            &local,
            &u("http://127.0.0.1:8080/new/rest/")
        ));
        assert!(!redirect_allowed(&local, &u("http://127.0.0.1:8081/rest/")));
        assert!(!redirect_allowed(
            &local,
            &u("http://new.bitrix24.com/rest/")
        ));
    }

    #[test]
    fn a_rename_keeps_only_the_host() {
        let old = Url::parse("https://old.bitrix24.com/rest/").unwrap();
        let target = |l: &str| rename_target(&old, "crm.deal.list", Some(l));
        assert_eq!(
            target("https://new.bitrix24.com/rest/crm.deal.list").unwrap(),
            "https://new.bitrix24.com/rest/"
        );
        assert_eq!(
            target("https://new.bitrix24.com/some/where/else?x=1").unwrap(),
            "https://new.bitrix24.com/rest/"
        );
        assert_eq!(
            target("/moved/rest/crm.deal.list").unwrap(),
            "https://old.bitrix24.com/rest/"
        );
        assert!(target("https://evil.example/rest/").is_err());
    }

    #[test]
    fn cloud_hosts() {
        assert!(is_bitrix24_cloud("new-name.bitrix24.com"));
        assert!(is_bitrix24_cloud("b24-x.bitrix24.by"));
        assert!(is_bitrix24_cloud("x.bitrix24.com.br"));
        assert!(!is_bitrix24_cloud("bitrix24.com.evil.example"));
        assert!(!is_bitrix24_cloud("x.bitrix24.evil.example"));
        assert!(!is_bitrix24_cloud("a.b.bitrix24.com"));
        assert!(!is_bitrix24_cloud("evil.example"));
    }
}
