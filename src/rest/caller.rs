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

use super::rate::{cached_plan, BudgetFile, Pace, PaceOptions, Plan};
use super::rename::rename_target;
use super::retry::{is_gateway_page, Failure, Step, Tries, GATEWAY_RETRIES, LIMIT_RETRIES};
use crate::bitrix::errors::{self, Decision, ErrorCode, ServerError};
use crate::bitrix::oauth::{describe, http_client};
use crate::exit;
use crate::profile::Profile;
use crate::secret::Secret;
use crate::session::Session;

/// What one POST came back with.
enum Reply {
    /// A redirect: the URL that was called and the `Location`.
    Moved(Url, Option<String>),
    Json(Map<String, Value>),
    /// A gateway's page (or JSON that is no Bitrix24 answer) instead of the portal's answer:
    /// its HTTP status, and what came instead.
    Gateway(reqwest::StatusCode, &'static str),
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
        let known = shared
            .with(|s, now| cached_plan(s, now))
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
                Reply::Moved(from, location) if tries.moved.is_none() => {
                    let endpoint = rename_target(&from, method, location.as_deref())?;
                    self.with_profile(|p| p.set_client_endpoint(&endpoint));
                    tries.moved = Some(endpoint);
                    continue;
                }
                Reply::Moved(..) => return Err(anyhow!("{method}: the portal redirected twice")),
                Reply::Gateway(status, what) => {
                    let failure = Failure { status, what };
                    self.gateway_wait(method, params, failure, &mut tries, started)
                        .await?;
                    continue;
                }
                Reply::Json(object) => match ServerError::from_json(&object) {
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
        match tries.after_error(&err.code) {
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
            Step::Fail => return Err(failed(err, profile)),
        }
        Ok(())
    }

    /// A gateway's page: back off and retry when [`Tries::after_gateway`] allows, saying so.
    async fn gateway_wait(
        &self,
        method: &str,
        params: &Map<String, Value>,
        failure: Failure,
        tries: &mut Tries,
        started: Instant,
    ) -> Result<()> {
        let status = failure.status;
        let wait = tries.after_gateway(method, params, failure, started)?;
        self.session.cfg.ui.info(format_args!(
            "b24auth: {method}: the portal's gateway answered HTTP {status}; retry {} of {} in {} s",
            tries.gateway_retries(),
            GATEWAY_RETRIES,
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
    ) -> Result<Reply> {
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
            return Ok(Reply::Moved(url.clone(), location.map(String::from)));
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
                Ok(Reply::Gateway(status, "JSON that is not a Bitrix24 answer"))
            }
            Ok(Value::Object(object)) => {
                self.pace.observe(method, params, &object).await;
                Ok(Reply::Json(object))
            }
            _ if is_gateway_page(status, &bytes) => Ok(Reply::Gateway(
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
fn too_many_requests() -> Reply {
    let mut answer = Map::new();
    answer.insert("error".into(), ErrorCode::TooManyRequests.as_str().into());
    answer.insert(
        "error_description".into(),
        "the portal answered HTTP 429 Too Many Requests".into(),
    );
    Reply::Json(answer)
}

/// The error for an answer no retry cures, saying what does.
fn failed(err: ServerError, profile: &Profile) -> anyhow::Error {
    match &err.code {
        code if code.token_refused() => rejected(&err),
        code if code.app_removed() => {
            let portal = crate::ui::hint::domain_of(profile.portal(), profile.client_endpoint());
            errors::app_not_installed(&err, &portal)
        }
        code if code.decision() == Decision::Permission => errors::not_permitted(&err),
        _ => anyhow!("{err}"),
    }
}

fn rejected(err: &ServerError) -> anyhow::Error {
    exit::auth_needed(format!(
        "{err}: the portal refused the stored token; {} again",
        crate::ui::hint::authorize_again("PORTAL", true)
    ))
}
