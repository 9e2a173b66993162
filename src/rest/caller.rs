/*!
The caller: Bitrix24 REST methods called with a stored authorization, the way Bitrix24 asks for it:
POST JSON to `{client_endpoint}METHOD` with `auth` in the body; on `expired_token` refresh
(single-flight, through the store) and repeat once; on `QUERY_LIMIT_EXCEEDED` or HTTP 429 back
off and retry; on `OPERATION_TIME_LIMIT` wait until the window resets; on a gateway's page
(non-JSON 502/503/504, HTML with any 5xx) back off and retry, bounded; before a call, wait for
the portal's budget shared by every b24auth on the host (`rate/`); on a renamed portal's 302
repeat the same POST at the new address and remember it (`rename.rs`). What may be repeated,
and how often, is `retry.rs`'s call. A caller is shared by the requests one command keeps in
flight.
*/

use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use serde_json::{Map, Value};
use url::Url;

use super::rate::{cached_plan, cached_selfhosted, BudgetFile, Pace, PaceOptions, Plan};
use super::rename::rename_target;
use super::retry::{
    is_gateway_page, is_read, Failure, Step, Tries, GATEWAY_RETRIES, LIMIT_RETRIES,
};
use super::v3;
use crate::bitrix::body::describe;
use crate::bitrix::errors::{self, Decision, ErrorCode, ServerError};
use crate::bitrix::http::http_client;
use crate::exit;
use crate::profile::Profile;
use crate::secret::Secret;
use crate::session::Session;

/// What one POST came back with.
enum Posted {
    /// A redirect: the URL that was called and the `Location`.
    Moved(Url, Option<String>),
    Json(Map<String, Value>),
    /// A gateway's page (or JSON that is no Bitrix24 answer) instead of the portal's answer:
    /// its HTTP status, and what came instead.
    Gateway(reqwest::StatusCode, &'static str),
    /// No answer within `--http-timeout`: the error saying so.
    TimedOut(anyhow::Error),
}

/// Which REST a call goes to: the classic one, or REST 3.0 with a write's `Idempotency-Key`.
enum Shape {
    Classic,
    V3 { key: Option<String> },
}

impl Shape {
    /// The error an answer of this shape carries, if any.
    fn error(&self, answer: &Map<String, Value>) -> Option<ServerError> {
        match self {
            Shape::V3 { .. } => v3::error(answer).or_else(|| ServerError::from_json(answer)),
            Shape::Classic => ServerError::from_json(answer),
        }
    }
}

/// The stored access token is past its expiry (REST 3.0 says only "access denied").
fn past_expiry(profile: &Profile) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    profile.expires().is_some_and(|e| e <= now)
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
    pub options: PaceOptions,
}

impl<'a> Caller<'a> {
    /// Loads the profile (refreshing first when the token has expired) and the portal's shared
    /// budget. `learn_plan`: with no `--plan`, ask `app.info` for the plan when nobody on the
    /// host knows it yet (exports and `batch`; a single call makes do with the standard plan).
    pub async fn new(
        session: &'a Session,
        options: PaceOptions,
        learn_plan: bool,
    ) -> Result<Caller<'a>> {
        let profile = session.valid_profile(0).await?;
        // --http-timeout bounds the whole request, body included (raise it for slow methods).
        let http = http_client(session.cfg.http_timeout)?;
        let portal = profile
            .portal()
            .ok_or_else(|| anyhow!("the profile has no client_endpoint"))?;
        let (_, burst) = options.plan.unwrap_or(Plan::Standard).limits();
        let shared = BudgetFile::open(
            &session.cfg.config_dir,
            &portal,
            f64::from(burst),
            session.cfg.ui,
        )?;
        let (known, selfhosted) = shared
            .with(|s, now| {
                (
                    cached_plan(s, now).map(|(p, _)| p),
                    cached_selfhosted(s, now),
                )
            })
            .await?;
        let plan = options.plan.or(known).unwrap_or(Plan::Standard);
        let mut caller = Caller {
            session,
            http,
            profile: Mutex::new(profile),
            held: Mutex::new(Vec::new()),
            pace: Pace::new(shared, plan, &options, session.cfg.ui),
            renewing: tokio::sync::Mutex::new(()),
            saved_rename: tokio::sync::Mutex::new(None),
            options,
        };
        if selfhosted && caller.options.plan.is_none() {
            caller.pace.set_selfhosted(&caller.options);
        }
        match (caller.options.plan, known, learn_plan) {
            (None, None, true) => caller.learn_plan().await,
            _ => Ok(caller),
        }
    }

    /// Asks the portal's `app.info` for `LICENSE_FAMILY`, remembers it for the host, and
    /// paces this run by the plan it names (saying so).
    async fn learn_plan(mut self) -> Result<Caller<'a>> {
        let answer = self.call("app.info", &Map::new()).await.ok();
        let field = |key: &str| {
            let f = answer.as_ref()?.get("result")?.get(key)?.as_str()?;
            (!f.is_empty() && f.len() <= 64).then(|| crate::ui::sanitize::strip_controls(f))
        };
        let (Some(family), license) = (field("LICENSE_FAMILY"), field("LICENSE")) else {
            return Ok(self);
        };
        let remembered = (family.clone(), license.clone());
        let selfhosted = self
            .pace
            .shared
            .with(|s, now| {
                (s.family, s.license) = (Some((remembered.0, now)), remembered.1);
                cached_selfhosted(s, now)
            })
            .await?;
        if selfhosted {
            self.pace.set_selfhosted(&self.options);
            if self.options.rate.is_some() {
                return Ok(self);
            }
            self.session.cfg.ui.info(format_args!(
                "b24auth: the portal is self-hosted (app.info LICENSE {}): it has no cloud request bucket, so none is kept; --rate sets one",
                license.unwrap_or_default()
            ));
            return Ok(self);
        }
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
        self.send(method, params, &Shape::Classic).await
    }

    /// Calls REST 3.0's `method` (`<portal>/rest/api/<method>`) with `params` and returns the
    /// whole response object; a write carries an `Idempotency-Key`, the same on every repeat.
    pub async fn call_v3(
        &self,
        method: &str,
        params: &Map<String, Value>,
    ) -> Result<Map<String, Value>> {
        let key = match is_read(method, params) {
            true => None,
            false => Some(v3::idempotency_key()?),
        };
        self.send(method, params, &Shape::V3 { key }).await
    }

    async fn send(
        &self,
        method: &str,
        params: &Map<String, Value>,
        shape: &Shape,
    ) -> Result<Map<String, Value>> {
        let mut tries = Tries::default();
        let started = Instant::now();
        loop {
            let profile = self.current();
            let err = match self.post(&profile, method, params, shape).await? {
                Posted::Moved(from, location) if tries.moved.is_none() => {
                    let endpoint = rename_target(&from, method, location.as_deref())?;
                    self.with_profile(|p| p.set_client_endpoint(&endpoint));
                    tries.moved = Some(endpoint);
                    continue;
                }
                Posted::Moved(..) => return Err(anyhow!("{method}: the portal redirected twice")),
                Posted::Gateway(status, what) => {
                    let failure = Failure { status, what };
                    let keyed = matches!(shape, Shape::V3 { key: Some(_) });
                    let wait = tries.after_gateway(method, params, failure, started, keyed)?;
                    self.say_retry(
                        method,
                        &format!("the portal's gateway answered HTTP {status}"),
                        &tries,
                        wait,
                    );
                    tokio::time::sleep(wait).await;
                    continue;
                }
                Posted::TimedOut(error) => {
                    let wait = tries.after_timeout(method, params, error, started)?;
                    self.say_retry(method, "no answer in time", &tries, wait);
                    tokio::time::sleep(wait).await;
                    continue;
                }
                Posted::Json(object) => match shape.error(&object) {
                    None => {
                        if let Some(endpoint) = tries.moved.take() {
                            self.remember_rename(endpoint).await?;
                        }
                        return Ok(object);
                    }
                    Some(err) => err.redacted(&sent_secrets(&profile)),
                },
            };
            let refused = err.code.token_refused()
                || (matches!(shape, Shape::V3 { .. })
                    && v3::access_denied(&err.code)
                    && past_expiry(&profile));
            let v3 = matches!(shape, Shape::V3 { .. });
            self.after_error(method, err, (refused, v3), &profile, &mut tries)
                .await?;
        }
    }

    /// Says on stderr that `method` is repeated after `why`, and when.
    fn say_retry(&self, method: &str, why: &str, tries: &Tries, wait: Duration) {
        self.session.cfg.ui.info(format_args!(
            "b24auth: {method}: {why}; retry {} of {GATEWAY_RETRIES} in {} s",
            tries.gateway_retries(),
            wait.as_secs()
        ));
    }

    /// Decides what an error answer means: refresh and repeat, wait and repeat, or fail.
    async fn after_error(
        &self,
        method: &str,
        err: ServerError,
        (refused, v3): (bool, bool),
        profile: &Profile,
        tries: &mut Tries,
    ) -> Result<()> {
        match tries.after_error(&err.code, refused) {
            Step::Refresh => {
                crate::ui::log::note(format_args!(
                    "{method}: {}; refreshing, then retrying once",
                    err.code
                ));
                self.renew(&profile.access_token(), &err).await?;
                if let Some(endpoint) = &tries.moved {
                    self.with_profile(|p| p.set_client_endpoint(endpoint));
                }
            }
            Step::Operating(fallback) => {
                let wait = self.pace.exhausted(method).await?.unwrap_or(fallback);
                self.session.cfg.ui.info(format_args!(
                    "b24auth: {method}: the portal's operating-time limit (OPERATION_TIME_LIMIT); waiting {} for it to reset",
                    crate::ui::human_duration(wait.as_secs_f64().ceil() as i64)
                ));
                tokio::time::sleep(wait).await;
            }
            Step::RateLimit { wait, retry } => {
                let code = &err.code;
                self.pace.congested().await?;
                if wait > Duration::from_secs(1) {
                    self.session.cfg.ui.info(format_args!(
                        "{method}: the portal's rate limit ({code}); waiting {} before retry {retry} of {LIMIT_RETRIES}",
                        crate::ui::human_duration(wait.as_secs() as i64),
                    ));
                }
                crate::ui::log::note(format_args!(
                    "{method}: {code}; backing off {} ms, retry {retry} of {LIMIT_RETRIES}",
                    wait.as_millis(),
                ));
                tokio::time::sleep(wait).await;
            }
            // REST 3.0's codes are its own: said as they came (`CODE: message`), exit 1; a
            // token still refused past its expiry after the refresh means authorizing again.
            Step::Fail if v3 && refused => return Err(rejected(&err)),
            Step::Fail if v3 => return Err(err.into()),
            Step::Fail => return Err(failed(err, profile)),
        }
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
        shape: &Shape,
    ) -> Result<Posted> {
        let url = address(profile, method, shape)?;
        let mut body = params.clone();
        // A webhook's address is its credential: no `auth`.
        if let Some(auth) = profile.rest_auth() {
            body.insert("auth".into(), auth.expose().into());
        }
        self.pace.admit(method, params).await?;
        let started = std::time::Instant::now();
        let mut request = self
            .http
            .post(url.clone())
            .header("accept", "application/json");
        if let Shape::V3 { key: Some(key) } = shape {
            request = request.header("idempotency-key", key);
        }
        let sent = request.json(&body).send().await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => {
                let timed_out = e.is_timeout();
                let e = anyhow!(
                    "cannot reach {}: {}",
                    url.origin().ascii_serialization(),
                    describe(e)
                );
                crate::ui::log::failed("POST", &url, &e.to_string(), started);
                return match timed_out {
                    true => Ok(Posted::TimedOut(e)),
                    false => Err(e),
                };
            }
        };
        drop(body);
        self.answer(method, params, &url, response, started).await
    }

    /// What the answer to one POST is: a move, a gateway's page, a 429, or the portal's JSON
    /// (its `time.operating` recorded).
    async fn answer(
        &self,
        method: &str,
        params: &Map<String, Value>,
        url: &Url,
        response: reqwest::Response,
        started: std::time::Instant,
    ) -> Result<Posted> {
        let status = response.status();
        if status.is_redirection() {
            crate::ui::log::exchange("POST", url, status.as_u16(), 0, started);
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok());
            return Ok(Posted::Moved(url.clone(), location.map(String::from)));
        }
        let from = url.origin().ascii_serialization();
        let bytes =
            crate::bitrix::body::read_limited(response, crate::bitrix::body::REST_LIMIT, &from)
                .await?;
        crate::ui::log::exchange("POST", url, status.as_u16(), bytes.len(), started);
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(o))
                if status == reqwest::StatusCode::TOO_MANY_REQUESTS && !o.contains_key("error") =>
            {
                Ok(too_many_requests())
            }
            // Not the portal's answer, whatever it says: Bitrix24 answers a failure with `error`.
            Ok(Value::Object(object)) if !status.is_success() && !object.contains_key("error") => {
                Ok(Posted::Gateway(
                    status,
                    "JSON that is not a Bitrix24 answer",
                ))
            }
            Ok(Value::Object(object)) => {
                self.pace.observe(method, params, &object).await;
                Ok(Posted::Json(object))
            }
            _ if is_gateway_page(status, &bytes) => Ok(Posted::Gateway(
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
    profile.held_secrets()
}

/// A proxy's 429 in Bitrix24's own words for it: QUERY_LIMIT_EXCEEDED.
fn too_many_requests() -> Posted {
    let mut answer = Map::new();
    answer.insert("error".into(), ErrorCode::TooManyRequests.as_str().into());
    answer.insert(
        "error_description".into(),
        "the portal answered HTTP 429 Too Many Requests".into(),
    );
    Posted::Json(answer)
}

/// The error for an answer no retry cures, saying what does.
fn failed(err: ServerError, profile: &Profile) -> anyhow::Error {
    match &err.code {
        ErrorCode::InvalidCredentials if profile.is_webhook() => super::webhook::refused(err),
        code if code.token_refused() => errors::explained(err, profile),
        code if code.app_removed() => {
            let portal = crate::ui::hint::domain_of(profile.portal(), profile.client_endpoint());
            errors::app_not_installed(&err, &portal)
        }
        code if code.decision() == Decision::Permission => errors::not_permitted(&err),
        _ => errors::explained(err, profile),
    }
}

fn rejected(err: &ServerError) -> anyhow::Error {
    exit::auth_needed(format!(
        "{err}: the portal refused the stored token; {} again",
        crate::ui::hint::authorize_again("PORTAL", true)
    ))
}
/// Where one call goes: the profile's REST base and the method, in the call's shape.
fn address(profile: &Profile, method: &str, shape: &Shape) -> Result<Url> {
    let endpoint = profile
        .rest_base()
        .ok_or_else(|| anyhow!("the profile has no client_endpoint"))?;
    let endpoint = endpoint.as_str();
    match shape {
        Shape::Classic => Url::parse(endpoint)
            .and_then(|u| u.join(method))
            .map_err(|e| anyhow!("bad client_endpoint or method ({e})")),
        Shape::V3 { .. } => v3::url(endpoint, method),
    }
}
