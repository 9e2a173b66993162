/*!
Calling Bitrix24 REST methods with a stored authorization, the way Bitrix24 asks for it:
POST JSON to `{client_endpoint}METHOD` with `auth` in the body; on `expired_token` refresh
(single-flight, through the store) and repeat once; on `QUERY_LIMIT_EXCEEDED` or HTTP 429 back
off and retry; on `OPERATION_TIME_LIMIT` wait until the window resets; on a gateway's page
(non-JSON 502/503/504, HTML with any 5xx) back off and retry, bounded; before a call, wait for
the portal's budget shared by every b24auth on the host (`pace.rs`, `budget.rs`, `limit.rs`);
on a renamed portal's 302 repeat the same POST at the new address and remember it. A caller
is shared by the requests one command keeps in flight. `batch.rs` packs calls into Bitrix24's
`batch`; `export.rs` reads whole lists through it.
*/

pub(crate) mod batch;
pub(crate) mod budget;
pub(crate) mod export;
pub(crate) mod limit;
pub(crate) mod pace;
mod params;
mod reads;

pub(crate) use params::pairs_to_json;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use serde_json::{Map, Value};
use url::Url;

use crate::bitrix::errors::{self, Decision, ErrorCode, ServerError};
use crate::bitrix::oauth::{describe, http_client};
use crate::exit;
use crate::profile::Profile;
use crate::secret::Secret;
use crate::session::Session;
use limit::Plan;
use pace::{Options, Pace};

/// Retries of one request that meets a rate limit (`ErrorCode::is_rate_limit`), from 500 ms.
const LIMIT_RETRIES: u32 = 5;

/// Waits for an operating-time window to reset, for one request.
const OPERATING_RETRIES: u32 = 3;

/// Retries of one request that a gateway answered with a page instead of the portal's JSON,
/// from 1 s doubling up to 8 s, and never past [`GATEWAY_PATIENCE`] in all.
const GATEWAY_RETRIES: u32 = 6;
const GATEWAY_PATIENCE: Duration = Duration::from_secs(45);

/// What one POST came back with.
enum Answer {
    /// A redirect: the URL that was called and the `Location`.
    Moved(Url, Option<String>),
    Json(Map<String, Value>),
    /// A gateway's page (or JSON that is no Bitrix24 answer) instead of the portal's answer:
    /// its HTTP status, and what came instead.
    Gateway(reqwest::StatusCode, &'static str),
}

/// A gateway's answer: its status and what came instead of the portal's JSON.
struct Failure {
    status: reqwest::StatusCode,
    what: &'static str,
}

/// What a call has gone through so far (each kind of retry is bounded on its own).
#[derive(Default)]
struct Tries {
    refreshed: bool,
    limited: u32,
    operating: u32,
    gateway: u32,
    /// A renamed portal's new endpoint: used at once, saved only once a call there worked.
    moved: Option<String>,
}

/// One authorized caller: the current profile, the HTTP client and the portal's pace.
pub(crate) struct Caller<'a> {
    session: &'a Session,
    http: reqwest::Client,
    profile: Mutex<Profile>,
    /// The secrets of the profiles this caller held before the current one: an answer to a
    /// request sent with an older token may echo it after another request renewed the pair.
    held: Mutex<Vec<String>>,
    pace: Pace,
    /// One refresh or rename at a time among the requests in flight.
    renewing: tokio::sync::Mutex<()>,
    /// The renamed portal's endpoint once saved.
    saved_rename: tokio::sync::Mutex<Option<String>>,
    pub options: Options,
}

impl<'a> Caller<'a> {
    /// Loads the profile (refreshing first when the token has expired) and the portal's shared
    /// budget. `learn_plan`: with no `--plan`, ask `app.info` for the plan when nobody on the
    /// host knows it yet (exports and `batch`; a single call makes do with the standard plan).
    pub async fn new(
        session: &'a Session,
        options: Options,
        learn_plan: bool,
    ) -> Result<Caller<'a>> {
        let profile = session.valid_profile(0).await?;
        // --http-timeout bounds the whole request, body included (raise it for slow methods).
        let http = http_client(session.cfg.http_timeout)?;
        let portal = profile
            .portal()
            .ok_or_else(|| anyhow!("the profile has no client_endpoint"))?;
        let (_, burst) = options.plan.unwrap_or(Plan::Standard).limits();
        let shared = budget::Shared::open(
            &session.cfg.config_dir,
            &portal,
            f64::from(burst),
            session.cfg.ui,
        )?;
        let known = shared
            .with(|s, now| pace::cached_plan(s, now))
            .await?
            .map(|(plan, _)| plan);
        let plan = options.plan.or(known).unwrap_or(Plan::Standard);
        let caller = Caller {
            session,
            http,
            profile: Mutex::new(profile),
            held: Mutex::new(Vec::new()),
            pace: Pace::new(shared, plan, &options, session.cfg.ui),
            renewing: tokio::sync::Mutex::new(()),
            saved_rename: tokio::sync::Mutex::new(None),
            options,
        };
        match (caller.options.plan, known, learn_plan) {
            (None, None, true) => caller.learn_plan().await,
            _ => Ok(caller),
        }
    }

    /// Asks the portal's `app.info` for `LICENSE_FAMILY`, remembers it for the host, and
    /// paces this run by the plan it names (saying so).
    async fn learn_plan(mut self) -> Result<Caller<'a>> {
        let answer = self.call("app.info", &Map::new()).await;
        let family = answer.ok().and_then(|a| {
            let f = a.get("result")?.get("LICENSE_FAMILY")?.as_str()?;
            (!f.is_empty() && f.len() <= 64).then(|| crate::ui::sanitize::strip_controls(f))
        });
        let Some(family) = family else {
            return Ok(self);
        };
        let remembered = family.clone();
        self.pace
            .shared
            .with(|s, now| s.family = Some((remembered, now)))
            .await?;
        let plan = Plan::of_family(&family);
        let (rate, burst) = plan.limits();
        let said = format_args!(
            "the portal's plan is {} (app.info LICENSE_FAMILY {family}): {rate}/s, burst {burst}; --plan chooses another",
            plan.name()
        );
        // Said when it changes the pace from the standard one everybody starts from.
        match plan {
            Plan::Standard => crate::ui::log::note(said),
            Plan::Enterprise => self.session.cfg.ui.info(format_args!("b24auth: {said}")),
        }
        self.pace.set_plan(plan, &self.options);
        Ok(self)
    }

    /// The secrets this caller sends or has sent (every token it held), which no portal text
    /// may show.
    pub fn secrets(&self) -> Vec<String> {
        let mut all = self.held.lock().unwrap_or_else(|e| e.into_inner()).clone();
        all.extend(sent_secrets(&self.current()).into_iter().map(String::from));
        all
    }

    /// Makes `new` the current profile, keeping the old one's secrets among those held.
    fn replace_profile(&self, new: Profile) {
        let mut profile = self.profile.lock().unwrap_or_else(|e| e.into_inner());
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        for secret in sent_secrets(&profile) {
            if !held.iter().any(|h| h == secret) {
                held.push(secret.to_string());
            }
        }
        *profile = new;
    }

    /// Requests in flight at once (`--concurrency`).
    pub fn concurrency(&self) -> usize {
        self.options.concurrency()
    }

    /// Calls `method` with `params` (without `auth`) and returns the whole response object,
    /// following Bitrix24's recipe for expired tokens, rate limits and renamed portals.
    pub async fn call(
        &self,
        method: &str,
        params: &Map<String, Value>,
    ) -> Result<Map<String, Value>> {
        let mut tries = Tries::default();
        let started = Instant::now();
        loop {
            let profile = self.current();
            let err = match self.post(&profile, method, params).await? {
                Answer::Moved(from, location) if tries.moved.is_none() => {
                    let endpoint = rename_target(&from, method, location.as_deref())?;
                    self.with_profile(|p| p.set_client_endpoint(&endpoint));
                    tries.moved = Some(endpoint);
                    continue;
                }
                Answer::Moved(..) => return Err(anyhow!("{method}: the portal redirected twice")),
                Answer::Gateway(status, what) => {
                    let failure = Failure { status, what };
                    self.gateway_wait(method, params, failure, &mut tries, started)
                        .await?;
                    continue;
                }
                Answer::Json(object) => match ServerError::from_json(&object) {
                    None => {
                        if let Some(endpoint) = tries.moved.take() {
                            self.remember_rename(endpoint).await?;
                        }
                        return Ok(object);
                    }
                    Some(err) => err.redacted(&sent_secrets(&profile)),
                },
            };
            self.after_error(method, err, &profile, &mut tries).await?;
        }
    }

    /// Decides what an error answer means: refresh and repeat, wait and repeat, or fail.
    async fn after_error(
        &self,
        method: &str,
        err: ServerError,
        profile: &Profile,
        tries: &mut Tries,
    ) -> Result<()> {
        match &err.code {
            code if code.token_refused() && !tries.refreshed => {
                crate::ui::log::note(format_args!(
                    "{method}: {code}; refreshing, then retrying once"
                ));
                self.renew(&profile.access_token(), &err).await?;
                if let Some(endpoint) = &tries.moved {
                    self.with_profile(|p| p.set_client_endpoint(endpoint));
                }
                tries.refreshed = true;
            }
            ErrorCode::OperationTimeLimit if tries.operating < OPERATING_RETRIES => {
                tries.operating += 1;
                let wait = self.pace.exhausted(method).await?;
                let wait = wait.unwrap_or(Duration::from_secs(1 << tries.operating));
                self.session.cfg.ui.info(format_args!(
                    "b24auth: {method}: the portal's operating-time limit (OPERATION_TIME_LIMIT); waiting {} for it to reset",
                    crate::ui::human_duration(wait.as_secs_f64().ceil() as i64)
                ));
                tokio::time::sleep(wait).await;
            }
            code if code.is_rate_limit() && tries.limited < LIMIT_RETRIES => {
                self.pace.congested().await?;
                let wait = Duration::from_millis(500 << tries.limited);
                if wait > Duration::from_secs(1) {
                    self.session.cfg.ui.info(format_args!(
                        "{method}: the portal's rate limit ({code}); waiting {} before retry {} of {LIMIT_RETRIES}",
                        crate::ui::human_duration(wait.as_secs() as i64),
                        tries.limited + 1
                    ));
                }
                crate::ui::log::note(format_args!(
                    "{method}: {code}; backing off {} ms, retry {} of {LIMIT_RETRIES}",
                    wait.as_millis(),
                    tries.limited + 1
                ));
                tokio::time::sleep(wait).await;
                tries.limited += 1;
            }
            code if code.token_refused() => return Err(errors::explained(err, profile)),
            // No refresh cures these: say what does.
            code if code.app_removed() => {
                let portal =
                    crate::ui::hint::domain_of(profile.portal(), profile.client_endpoint());
                return Err(errors::app_not_installed(&err, &portal));
            }
            code if code.decision() == Decision::Permission => {
                return Err(errors::not_permitted(&err))
            }
            _ => return Err(errors::explained(err, profile)),
        }
        Ok(())
    }

    /// A gateway's page: back off and retry a call that only reads (any call on 503, the
    /// portal's "not done"), until the count or the time runs out; then fail naming the status
    /// (never the page). A write is never repeated: the portal may have run it.
    async fn gateway_wait(
        &self,
        method: &str,
        params: &Map<String, Value>,
        Failure { status, what }: Failure,
        tries: &mut Tries,
        started: Instant,
    ) -> Result<()> {
        if !status.is_server_error() {
            return Err(anyhow!(
                "{method}: the portal answered HTTP {status} with {what}; check the method's name and parameters"
            ));
        }
        if status != reqwest::StatusCode::SERVICE_UNAVAILABLE && !reads::is_read(method, params) {
            return Err(anyhow!(
                "{method}: the portal's gateway answered HTTP {status} with {what}; the outcome is unknown (the portal may have done it), so b24auth did not repeat it: check on the portal before running it again"
            ));
        }
        let wait = Duration::from_secs(1 << tries.gateway.min(3));
        if tries.gateway >= GATEWAY_RETRIES || started.elapsed() + wait > GATEWAY_PATIENCE {
            return Err(anyhow!(
                "{method}: the portal's gateway answered HTTP {status} with {what}, {} times in {} s; the portal is unreachable behind it, try again later",
                tries.gateway + 1,
                started.elapsed().as_secs()
            ));
        }
        tries.gateway += 1;
        self.session.cfg.ui.info(format_args!(
            "b24auth: {method}: the portal's gateway answered HTTP {status}; retry {} of {GATEWAY_RETRIES} in {} s",
            tries.gateway,
            wait.as_secs()
        ));
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// A copy of the current profile (another request in flight may renew it meanwhile).
    fn current(&self) -> Profile {
        self.profile
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn with_profile(&self, change: impl FnOnce(&mut Profile)) {
        change(&mut self.profile.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// One POST of `method` with `profile`'s token, under the portal's pace.
    async fn post(
        &self,
        profile: &Profile,
        method: &str,
        params: &Map<String, Value>,
    ) -> Result<Answer> {
        let endpoint = profile
            .client_endpoint()
            .ok_or_else(|| anyhow!("the profile has no client_endpoint"))?;
        let url = Url::parse(endpoint)
            .and_then(|u| u.join(method))
            .map_err(|e| anyhow!("bad client_endpoint or method ({e})"))?;
        let mut body = params.clone();
        body.insert("auth".into(), profile.access_token().expose().into());
        self.pace.admit(method, params).await?;
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
        drop(body);
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
            Ok(Value::Object(o))
                if status == reqwest::StatusCode::TOO_MANY_REQUESTS && !o.contains_key("error") =>
            {
                Ok(too_many_requests())
            }
            // Not the portal's answer, whatever it says: Bitrix24 answers a failure with `error`.
            Ok(Value::Object(object)) if !status.is_success() && !object.contains_key("error") => {
                Ok(Answer::Gateway(
                    status,
                    "JSON that is not a Bitrix24 answer",
                ))
            }
            Ok(Value::Object(object)) => {
                self.pace.observe(method, params, &object).await;
                Ok(Answer::Json(object))
            }
            _ if is_gateway_page(status, &bytes) => Ok(Answer::Gateway(
                status,
                "a page instead of the portal's JSON",
            )),
            // A proxy's 429 page: Bitrix24's own words for it would be QUERY_LIMIT_EXCEEDED.
            _ if status == reqwest::StatusCode::TOO_MANY_REQUESTS => Ok(too_many_requests()),
            Ok(_) => Err(anyhow!(
                "{method}: the portal answered JSON that is not an object"
            )),
            Err(_) => Err(anyhow!(
                "{method}: the portal answered HTTP {status} with a body that is not JSON"
            )),
        }
    }

    /// After the portal refused the token `used`: refresh when it is still the stored one;
    /// when another process (or another request in flight) rotated the pair meanwhile, which
    /// also kills our token, take theirs instead.
    async fn renew(&self, used: &Secret, err: &ServerError) -> Result<()> {
        let _one = self.renewing.lock().await;
        if self.current().access_token() != *used {
            return Ok(());
        }
        let current = self
            .session
            .refresh(|p| p.access_token() == *used)
            .await?
            .profile;
        if current.access_token() == *used {
            return Err(rejected(err));
        }
        self.replace_profile(current);
        Ok(())
    }

    /// Saves the renamed portal's endpoint (after a call there worked), once for all the
    /// requests in flight that met the rename.
    async fn remember_rename(&self, endpoint: String) -> Result<()> {
        let _one = self.renewing.lock().await;
        let mut saved = self.saved_rename.lock().await;
        if saved.as_deref() == Some(endpoint.as_str()) {
            return Ok(());
        }
        let profile = self
            .session
            .update(|p| p.set_client_endpoint(&endpoint))
            .await
            .map_err(|e| e.context("cannot save the portal's new address; the stored pair is unchanged and still valid"))?;
        self.replace_profile(profile);
        self.session.cfg.ui.info(format_args!(
            "the portal moved: saved the new client_endpoint {endpoint}"
        ));
        *saved = Some(endpoint);
        Ok(())
    }
}

/// What a portal's error text must not show: the secrets this caller holds.
fn sent_secrets(profile: &Profile) -> Vec<&str> {
    [
        "access_token",
        "refresh_token",
        "client_secret",
        "application_token",
    ]
    .iter()
    .filter_map(|k| profile.str(k))
    .collect()
}

/// A proxy's 429 in Bitrix24's own words for it: QUERY_LIMIT_EXCEEDED.
fn too_many_requests() -> Answer {
    let mut answer = Map::new();
    answer.insert("error".into(), ErrorCode::TooManyRequests.as_str().into());
    answer.insert(
        "error_description".into(),
        "the portal answered HTTP 429 Too Many Requests".into(),
    );
    Answer::Json(answer)
}

/// A gateway's answer rather than the portal's: a non-JSON 502, 503 or 504, or an HTML page
/// with any 5xx (fast_bitrix24 issues 216 and 85: the portal behind it is down or slow).
fn is_gateway_page(status: reqwest::StatusCode, body: &[u8]) -> bool {
    let html = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'<');
    matches!(status.as_u16(), 502..=504) || (status.is_server_error() && html)
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
    fn gateway_pages_are_told_from_portal_answers() {
        let code = |n| reqwest::StatusCode::from_u16(n).unwrap();
        for n in [502, 503, 504] {
            assert!(is_gateway_page(code(n), b"Bad Gateway"), "{n}");
        }
        assert!(is_gateway_page(
            code(500),
            b"\r\n <html><body>500</body></html>"
        ));
        assert!(!is_gateway_page(code(500), b"Internal error"), "not a page");
        assert!(!is_gateway_page(code(200), b"<html>"), "not an error");
        assert!(!is_gateway_page(code(404), b"<html>"), "not a server error");
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
