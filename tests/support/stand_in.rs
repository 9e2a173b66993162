/*!
A Bitrix24 stand-in: the portal's authorize page, the OAuth server's token endpoint and both
REST `app.info` endpoints, on a real hyper server at `127.0.0.1:0`.

It behaves like the real one where b24auth depends on it: codes live 30 s and work once, refresh
tokens rotate (the used one and its access token die), errors are Bitrix24's JSON. Every call is
counted, and `fail_next` makes the next token calls fail in the ways real servers do.

Layout on the one port: `/oauth/authorize/` (portal), `/oauth/token/` (OAuth server),
`/rest/…` (OAuth server REST, `server_endpoint`), `/portal/rest/…` (portal REST,
`client_endpoint`).

Portal REST also answers `batch`, a deal table of a size the test chooses (`set_deals`), the
per-method operating time (`time.operating`, `OPERATION_TIME_LIMIT` past 480 s) and, when a
test turns it on, the portal's leaky bucket (`enable_rate_limit`); see `batch.rs`.
*/

use std::collections::{HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Map, Value};

use super::batch::{deal_list, parse_php_query, php_json, resolve, ServerBucket};

pub const CLIENT_ID: &str = "local.5f1b2c3d4e5f60.12345678";
pub const CLIENT_SECRET: &str = "Zq8sTandInClientSecret0123456789abcdefghijkLMNOP";
pub const MEMBER_ID: &str = "a223c6b3710f85df22e9377d6c4f7553";
/// The stand-in portal's one incoming webhook: `<base>/portal/rest/` + this (§8).
pub const WEBHOOK: &str = "1/wh5ecret0123456789abcd/";
pub const CODE_LIFETIME: Duration = Duration::from_secs(30);

/// A way the next token-endpoint call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 500 with an HTML page, as a proxy in front of the server would answer.
    Http500Html,
    /// Accepts the request and never answers.
    Hang,
    /// HTTP 200 with a body that is not JSON.
    InvalidJson,
    /// Bitrix24's `invalid_grant` error.
    InvalidGrant,
    /// An error whose description echoes the request (secrets included) with ANSI escapes,
    /// as a misconfigured proxy or a hostile server would.
    EchoError,
    /// HTTP 200 `{"error":"wrong_client"}` (a wrong client_id; see `record.rs`).
    WrongClient200,
    /// `{"error":"INVALID_GRANT"}`: upper case, no description (see `record.rs`).
    InvalidGrantBare,
}

/// A way a portal REST call fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestFault {
    /// HTTP 503 `QUERY_LIMIT_EXCEEDED`.
    QueryLimit,
    /// HTTP 302 to this base URL (a renamed portal), same path.
    MovedTo(String),
    /// HTTP 429 with a proxy's HTML page.
    TooManyRequests,
    /// HTTP 429 `OPERATION_TIME_LIMIT` (the status Bitrix24 documents).
    OperationTimeLimit,
    /// HTTP 401 `expired_token`, whatever the token.
    ExpiredToken,
    /// HTTP 504 with a gateway's HTML page (the portal may have run the request).
    GatewayTimeout,
}

/// Deals in the stand-in's `crm.deal.list` unless a test sets another count.
pub const DEALS: usize = 120;

/// Processing time each method call costs on the stand-in, in seconds (for `time.operating`).
pub const CALL_COST: f64 = 0.001;

/// Items of the stand-in's `crm.lead.list`: three pages of 50, 50 and 20.
pub const LEADS: usize = 120;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    pub token_calls: usize,
    /// Token requests carried out (answered, or finished after their client left).
    pub token_answers: usize,
    pub code_exchanges: usize,
    pub refreshes: usize,
    pub authorize_pages: usize,
    pub app_info_server: usize,
    pub app_info_portal: usize,
    pub rest_calls: usize,
    pub other: usize,
    /// 503 `QUERY_LIMIT_EXCEEDED` answers of the leaky bucket.
    pub query_limits: usize,
    /// `OPERATION_TIME_LIMIT` answers (whole calls or batch commands).
    pub operation_time_limits: usize,
    /// `BX24.installFinish()` calls of an install page (`stand_in_frame.rs`).
    pub install_finished: usize,
}

#[derive(Default)]
pub(super) struct State {
    codes: HashMap<String, Instant>,
    refresh_tokens: HashSet<String>,
    access_tokens: HashMap<String, i64>,
    faults: VecDeque<Fault>,
    redirect_uri: String,
    token_delay: Duration,
    pub(super) counters: Counters,
    token_call_seen: Arc<std::sync::Condvar>,
    last_token_call: Option<Instant>,
    /// (REST call number, fault): the call with that number fails so.
    rest_faults: Vec<(usize, RestFault)>,
    /// The parameters of every REST call, `auth` removed, with the `host:port` it reached.
    rest_log: Vec<(String, String, Value)>,
    deals: usize,
    bucket: Option<ServerBucket>,
    /// method → (operating seconds spent, unix time the window resets).
    operating: HashMap<String, (f64, i64)>,
    /// While set, the OAuth server's `app.info` holds every unknown token's answer until the
    /// gate opens (a slow verification of forged callbacks).
    gate: Option<tokio::sync::watch::Receiver<bool>>,
    /// `app.info` calls now held at the gate.
    held: usize,
    /// When set, the authorize page sends the browser back with this `error` and
    /// `error_description` instead of a code (the user clicked "deny").
    refusal: Option<(String, String)>,
    /// Every code, access token and refresh token ever issued, used or not.
    issued: Vec<String>,
    /// Work time, operating limit, gateway pages (`stand_in_pace.rs`).
    pub(super) pace: super::stand_in_pace::PortalPace,
    /// The answers as the public record shows them (`record.rs`).
    pub(super) record: super::record::Record,
    /// A recorded error answer portal REST gives instead of its own (`stand_in_errors.rs`).
    pub(super) errors: super::stand_in_errors::RecordedErrors,
    /// Served over HTTPS (`StandIn::start_https`): the endpoints it hands out say so.
    https: bool,
    /// The incoming webhook ([`WEBHOOK`]) was deleted on the portal.
    webhook_revoked: bool,
    /// The offline event queue and the bound handlers (`stand_in_events.rs`).
    pub(super) events: super::stand_in_events::Events,
    /// Bodies for the next refresh answers, each made from the genuine rotated answer.
    refresh_bodies: VecDeque<AnswerBody>,
    /// REST 3.0 (`stand_in_v3.rs`).
    pub(super) v3: super::stand_in_v3::V3,
    /// The pair the last `/install-frame` page posted into its frame.
    frame_pair: Option<Value>,
}

/// Writes the body of a refresh answer from the genuine one (the pair has rotated).
pub type AnswerBody = Box<dyn FnOnce(Value) -> String + Send>;

impl State {
    /// Whether `token` is an access token the portal issued and still honours.
    pub(super) fn token_valid(&self, token: &str) -> bool {
        self.access_tokens
            .get(token)
            .is_some_and(|&e| e > unix_now())
    }

    /// Every access token issued so far expires now.
    pub(super) fn expire_tokens(&mut self) {
        for e in self.access_tokens.values_mut() {
            *e = unix_now() - 1;
        }
    }

    fn scheme(&self) -> &'static str {
        if self.https {
            "https"
        } else {
            "http"
        }
    }
}

pub struct StandIn {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base: String,
    state: Arc<Mutex<State>>,
    gate: tokio::sync::watch::Sender<bool>,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl StandIn {
    /// Changes which recorded behaviours are on (`record.rs`).
    pub(super) fn record(&self, change: impl FnOnce(&mut super::record::Record)) {
        change(&mut self.state.lock().unwrap().record);
    }

    pub(super) fn recorded_errors(
        &self,
        change: impl FnOnce(&mut super::stand_in_errors::RecordedErrors),
    ) {
        change(&mut self.state.lock().unwrap().errors);
    }

    pub fn start() -> StandIn {
        let state = Arc::new(Mutex::new(State {
            redirect_uri: "http://127.0.0.1:8787/callback".into(),
            deals: DEALS,
            ..State::default()
        }));
        let base = serve(Arc::clone(&state));
        let (gate, _) = tokio::sync::watch::channel(true);
        StandIn { base, state, gate }
    }

    /// The same portal and OAuth server over HTTPS with `tls`'s certificate
    /// (`https://127.0.0.1:PORT`).
    pub fn start_https(tls: Arc<rustls::ServerConfig>) -> StandIn {
        let state = Arc::new(Mutex::new(State {
            redirect_uri: "http://127.0.0.1:8787/callback".into(),
            deals: DEALS,
            https: true,
            ..State::default()
        }));
        let base = serve_on(Arc::clone(&state), Some(tls));
        let (gate, _) = tokio::sync::watch::channel(true);
        StandIn { base, state, gate }
    }

    /// From now on the OAuth server's `app.info` holds the answer for every unknown token until
    /// [`StandIn::open_gate`].
    pub fn hold_unknown_app_info(&self) {
        self.gate.send_replace(false);
        self.state.lock().unwrap().gate = Some(self.gate.subscribe());
    }

    pub fn open_gate(&self) {
        self.gate.send_replace(true);
    }

    /// Blocks until `n` `app.info` calls are held at the gate (at most `secs`).
    pub fn wait_held(&self, n: usize, secs: u64) {
        let cv = Arc::clone(&self.state.lock().unwrap().token_call_seen);
        let guard = self.state.lock().unwrap();
        let (guard, timeout) = cv
            .wait_timeout_while(guard, Duration::from_secs(secs), |s| s.held < n)
            .unwrap();
        assert!(
            !timeout.timed_out(),
            "only {} app.info calls held",
            guard.held
        );
    }

    /// A second address for the same portal and server (a renamed portal's new name).
    pub fn second_address(&self) -> String {
        serve(Arc::clone(&self.state))
    }

    /// Makes the `n`-th REST call from now fail with `fault`.
    pub fn fail_rest_call(&self, n: usize, fault: RestFault) {
        let mut s = self.state.lock().unwrap();
        let at = s.counters.rest_calls + n;
        s.rest_faults.push((at, fault));
    }

    /// Every access token expires now (the portal answers `expired_token`).
    pub fn expire_access_tokens(&self) {
        for e in self.state.lock().unwrap().access_tokens.values_mut() {
            *e = unix_now() - 1;
        }
    }

    /// Every secret this stand-in ever issued (codes, access and refresh tokens) and the
    /// client secret: none of them may appear in a log.
    pub fn issued_secrets(&self) -> Vec<String> {
        let mut all = self.state.lock().unwrap().issued.clone();
        all.push(CLIENT_SECRET.to_string());
        all
    }

    /// From now on the user refuses consent: the authorize page redirects with `error`.
    pub fn refuse_consent(&self, error: &str, description: &str) {
        self.state.lock().unwrap().refusal = Some((error.into(), description.into()));
    }

    /// Every token is forgotten (the app was removed from the portal).
    pub fn revoke_all(&self) {
        let mut s = self.state.lock().unwrap();
        s.access_tokens.clear();
        s.refresh_tokens.clear();
    }

    /// The incoming webhook's address, as the portal's form shows it.
    pub fn webhook_url(&self) -> String {
        format!("{}/portal/rest/{WEBHOOK}", self.base)
    }

    /// The webhook is deleted on the portal: its calls get `INVALID_CREDENTIALS`.
    pub fn revoke_webhook(&self) {
        self.state.lock().unwrap().webhook_revoked = true;
    }

    /// `crm.deal.list` holds deals `1..=count`.
    pub fn set_deals(&self, count: usize) {
        self.state.lock().unwrap().deals = count;
    }

    /// Turns on the portal's leaky bucket: burst 50, 2 requests/s, then 503.
    pub fn enable_rate_limit(&self) {
        self.state.lock().unwrap().bucket = Some(ServerBucket::new(50.0, 2.0));
    }

    /// `method` has spent `seconds` of operating time in a window that resets in `reset_in`.
    pub fn set_operating(&self, method: &str, seconds: f64, reset_in: Duration) {
        let reset = unix_now() + reset_in.as_secs().max(1) as i64;
        self.state
            .lock()
            .unwrap()
            .operating
            .insert(method.to_string(), (seconds, reset));
    }

    /// (method, `host:port` reached, parameters without `auth`) of every REST call so far.
    pub fn rest_log(&self) -> Vec<(String, String, Value)> {
        self.state.lock().unwrap().rest_log.clone()
    }

    pub(super) fn with_events<R>(
        &self,
        f: impl FnOnce(&mut super::stand_in_events::Events) -> R,
    ) -> R {
        f(&mut self.state.lock().unwrap().events)
    }

    pub(super) fn with_v3<R>(&self, f: impl FnOnce(&mut super::stand_in_v3::V3) -> R) -> R {
        f(&mut self.state.lock().unwrap().v3)
    }

    pub(super) fn with_pace<R>(
        &self,
        f: impl FnOnce(&mut super::stand_in_pace::PortalPace) -> R,
    ) -> R {
        f(&mut self.state.lock().unwrap().pace)
    }
}

/// Serves `state` on a new loopback port; returns its base URL.
fn serve(state: Arc<Mutex<State>>) -> String {
    serve_on(state, None)
}

/// [`serve`], over TLS when `tls` is given.
fn serve_on(state: Arc<Mutex<State>>, tls: Option<Arc<rustls::ServerConfig>>) -> String {
    {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let base = match tls {
            Some(_) => format!("https://{addr}"),
            None => format!("http://{addr}"),
        };
        let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
        let shared = state;
        let host = addr.to_string();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let state = Arc::clone(&shared);
                    let host = host.clone();
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req| {
                            handle(Arc::clone(&state), host.clone(), req)
                        });
                        let http = hyper::server::conn::http1::Builder::new();
                        match &acceptor {
                            // A client that refuses the certificate just ends the connection.
                            Some(tls) => {
                                if let Ok(stream) = tls.accept(stream).await {
                                    let io = hyper_util::rt::TokioIo::new(stream);
                                    let _ = http.serve_connection(io, service).await;
                                }
                            }
                            None => {
                                let io = hyper_util::rt::TokioIo::new(stream);
                                let _ = http.serve_connection(io, service).await;
                            }
                        }
                    });
                }
            });
        });
        base
    }
}

impl StandIn {
    /// `host:port` of the stand-in (what the portal's `domain` is).
    pub fn host(&self) -> String {
        let host = self.base.trim_start_matches("https://");
        host.trim_start_matches("http://").to_string()
    }

    /// When the token endpoint was last called (for latency benchmarks).
    pub fn last_token_call(&self) -> Option<Instant> {
        self.state.lock().unwrap().last_token_call
    }

    pub fn counters(&self) -> Counters {
        self.state.lock().unwrap().counters
    }

    /// Blocks until the token endpoint has been called `n` times in all (at most `secs`).
    pub fn wait_token_calls(&self, n: usize, secs: u64) {
        let cv = Arc::clone(&self.state.lock().unwrap().token_call_seen);
        let guard = self.state.lock().unwrap();
        let (guard, timeout) = cv
            .wait_timeout_while(guard, Duration::from_secs(secs), |s| {
                s.counters.token_calls < n
            })
            .unwrap();
        assert!(
            !timeout.timed_out(),
            "only {} token calls",
            guard.counters.token_calls
        );
    }

    /// Blocks until every token request that arrived has been carried out (at most `secs`):
    /// a client killed mid-request does not stop the rotation, as at Bitrix24.
    pub fn wait_token_answers(&self, secs: u64) {
        let cv = Arc::clone(&self.state.lock().unwrap().token_call_seen);
        let guard = self.state.lock().unwrap();
        let (guard, timeout) = cv
            .wait_timeout_while(guard, Duration::from_secs(secs), |s| {
                s.counters.token_answers < s.counters.token_calls
            })
            .unwrap();
        assert!(
            !timeout.timed_out(),
            "{} of {} token requests carried out",
            guard.counters.token_answers,
            guard.counters.token_calls
        );
    }

    /// The next refresh rotates the pair as always and answers 200 with the body `write` makes
    /// from the genuine answer: a field b24auth refuses, a body too large or too deep to read.
    pub fn answer_next_refresh(&self, write: impl FnOnce(Value) -> String + Send + 'static) {
        self.state
            .lock()
            .unwrap()
            .refresh_bodies
            .push_back(Box::new(write));
    }

    pub fn fail_next(&self, fault: Fault) {
        self.state.lock().unwrap().faults.push_back(fault);
    }

    /// Delays every token-endpoint answer (for crash and race tests).
    pub fn set_token_delay(&self, d: Duration) {
        self.state.lock().unwrap().token_delay = d;
    }

    /// The handler path registered for the app: where the authorize page redirects.
    pub fn set_redirect_uri(&self, uri: &str) {
        self.state.lock().unwrap().redirect_uri = uri.to_string();
    }

    /// Makes every outstanding code look `by` older (a code older than 30 s is `expired_token`).
    pub fn age_codes(&self, by: Duration) {
        for issued in self.state.lock().unwrap().codes.values_mut() {
            *issued -= by;
        }
    }

    pub fn issue_code(&self) -> String {
        let code = random_hex(16);
        let mut s = self.state.lock().unwrap();
        s.codes.insert(code.clone(), Instant::now());
        s.issued.push(code.clone());
        code
    }

    /// A valid pair, shaped like a token response (what an installation would have given).
    pub fn issue_pair(&self) -> Value {
        let mut s = self.state.lock().unwrap();
        token_response(&mut s, &self.host())
    }

    /// The pair the last install-frame page (`/install-frame?target=URL`) handed its frame.
    pub fn frame_pair(&self) -> Option<Value> {
        self.state.lock().unwrap().frame_pair.clone()
    }

    pub fn refresh_token_is_valid(&self, rt: &str) -> bool {
        self.state.lock().unwrap().refresh_tokens.contains(rt)
    }

    pub fn access_token_is_valid(&self, at: &str) -> bool {
        self.state.lock().unwrap().access_tokens.contains_key(at)
    }
}

fn token_response(s: &mut State, host: &str) -> Value {
    let access = format!("{}{}", random_hex(16), random_hex(19));
    let refresh = format!("{}{}", random_hex(16), random_hex(19));
    let expires = unix_now() + 3600;
    s.access_tokens.insert(access.clone(), expires);
    s.refresh_tokens.insert(refresh.clone());
    s.issued.extend([access.clone(), refresh.clone()]);
    json!({
        "access_token": access,
        "expires": expires,
        "expires_in": 3600,
        "scope": "crm,user",
        "domain": "oauth.bitrix.info",
        "server_endpoint": format!("{}://{host}/rest/", s.scheme()),
        "status": "L",
        "client_endpoint": format!("{}://{host}/portal/rest/", s.scheme()),
        "member_id": MEMBER_ID,
        "user_id": 1,
        "refresh_token": refresh,
    })
}

fn reply(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

fn json_reply(status: StatusCode, v: Value) -> Response<Full<Bytes>> {
    reply(status, "application/json", v.to_string())
}

fn recorded((status, body): super::record::Answer) -> Response<Full<Bytes>> {
    json_reply(status, body)
}

fn error(status: StatusCode, code: &str, description: &str) -> Response<Full<Bytes>> {
    json_reply(
        status,
        json!({"error": code, "error_description": description}),
    )
}

async fn handle(
    state: Arc<Mutex<State>>,
    host: String,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    // `/renamed/…` is the same portal under another path (a rename that keeps the address).
    let path = req.uri().path();
    let path = path.strip_prefix("/renamed").unwrap_or(path);
    let path = super::record::renamed_path(path).unwrap_or_else(|| path.to_string());
    let query = req.uri().query().unwrap_or("").to_string();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    let (key, content_type) = (header("idempotency-key"), header("content-type"));
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if let Some(method) = path.strip_prefix("/portal/rest/api/") {
        super::stand_in_v3::hold(&state).await;
        let mut s = state.lock().unwrap();
        return Ok(super::stand_in_v3::handle(
            &mut s,
            method,
            key,
            content_type,
            &body,
        ));
    }
    if let Some(method) = super::stand_in_sdk::portal_method(&path).filter(|m| m != "app.info") {
        // One `batch` is one request, answered by `rest` as Bitrix24 answers it.
        let body = super::stand_in_sdk::json_params(&query, &body);
        // The portal works for every command it runs, and serves other requests meanwhile.
        let (response, work, n) = {
            let (before, n, gateway, late) = {
                let mut s = state.lock().unwrap();
                let n = s.pace.arrive();
                (s.pace.commands, n, s.pace.gateway(), s.pace.gateway_late)
            };
            let response = match gateway {
                Some(page) if late => {
                    drop(rest(&state, &host, &method, &body));
                    page
                }
                Some(page) => page,
                None => rest(&state, &host, &method, &body),
            };
            let s = state.lock().unwrap();
            (
                response,
                s.pace.cost(s.pace.commands - before) + s.pace.extra(n),
                n,
            )
        };
        tokio::time::sleep(work).await;
        super::stand_in_pace::hold_for_refresh(&state, n).await;
        state.lock().unwrap().pace.leave();
        return Ok(response);
    }
    let mut params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    params.extend(url::form_urlencoded::parse(&body).into_owned());
    // A JSON body's `auth` (b24auth's REST caller asks the portal's app.info so).
    if let Ok(Value::Object(json)) = serde_json::from_slice::<Value>(&body) {
        if let Some(Value::String(auth)) = json.get("auth") {
            params.insert("auth".into(), auth.clone());
        }
    }
    if path == "/rest/app.info" {
        hold_unknown(&state, params.get("auth").map(String::as_str).unwrap_or("")).await;
    }
    let response = match path.as_str() {
        // Like Bitrix24, a token request that arrived is carried out (the pair rotated) even
        // when its client is gone before the answer: the task is not tied to the connection.
        "/oauth/token/" => {
            let (state, host) = (Arc::clone(&state), host.clone());
            tokio::spawn(async move {
                let response = token_endpoint(&state, &host, &params).await;
                let mut s = state.lock().unwrap();
                s.counters.token_answers += 1;
                s.token_call_seen.notify_all();
                response
            })
            .await
            .expect("the token endpoint does not panic")
        }
        "/oauth/authorize/" => authorize_page(&state, &host, &params),
        "/install-frame" => {
            let mut s = state.lock().unwrap();
            let pair = token_response(&mut s, &host);
            s.frame_pair = Some(pair.clone());
            let target = params.get("target").cloned().unwrap_or_default();
            let page =
                super::stand_in_frame::portal_page(&target, &pair, &host, s.https, MEMBER_ID);
            reply(StatusCode::OK, "text/html; charset=utf-8", page)
        }
        "/bx24.js" => {
            let base = format!("{}://{host}", state.lock().unwrap().scheme());
            reply(
                StatusCode::OK,
                "application/javascript",
                super::stand_in_frame::library(&base),
            )
        }
        "/bx24/finished" => {
            state.lock().unwrap().counters.install_finished += 1;
            reply(StatusCode::OK, "image/gif", String::new())
        }
        "/rest/app.info" => app_info(&state, &host, &params, true),
        "/portal/rest/app.info" => app_info(&state, &host, &params, false),
        _ => {
            state.lock().unwrap().counters.other += 1;
            reply(StatusCode::NOT_FOUND, "text/html", "<h1>404</h1>".into())
        }
    };
    Ok(response)
}

/// Holds an `app.info` for an unknown token while the gate is closed.
async fn hold_unknown(state: &Mutex<State>, token: &str) {
    let mut gate = {
        let mut s = state.lock().unwrap();
        let Some(gate) = s.gate.clone().filter(|g| !*g.borrow()) else {
            return;
        };
        if s.access_tokens.contains_key(token) {
            return;
        }
        s.held += 1;
        s.token_call_seen.notify_all();
        gate
    };
    let _ = gate.wait_for(|open| *open).await;
    state.lock().unwrap().held -= 1;
}

async fn token_endpoint(
    state: &Mutex<State>,
    host: &str,
    p: &HashMap<String, String>,
) -> Response<Full<Bytes>> {
    let (fault, delay) = {
        let mut s = state.lock().unwrap();
        s.counters.token_calls += 1;
        s.token_call_seen.notify_all();
        s.last_token_call = Some(Instant::now());
        (s.faults.pop_front(), s.token_delay)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match fault {
        Some(Fault::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            unreachable!("the client gives up first")
        }
        Some(Fault::Http500Html) => {
            return reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/html",
                "<html><body><h1>500 Internal Server Error</h1></body></html>".into(),
            )
        }
        Some(Fault::InvalidJson) => {
            return reply(
                StatusCode::OK,
                "application/json",
                "{\"access_token\":".into(),
            )
        }
        Some(Fault::InvalidGrant) => {
            return error(StatusCode::BAD_REQUEST, "invalid_grant", "Invalid grant")
        }
        Some(Fault::WrongClient200) => return recorded(super::record::wrong_client()),
        Some(Fault::InvalidGrantBare) => return recorded(super::record::invalid_grant_bare()),
        Some(Fault::EchoError) => {
            let echoed: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(p.iter())
                .finish();
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request\u{1b}[2J",
                &format!("\u{1b}[31mbad request: {echoed}\u{1b}]0;owned\u{7}"),
            );
        }
        None => {}
    }
    if let Some(answer) = super::record::token_endpoint(&state.lock().unwrap().record) {
        return recorded(answer);
    }
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    if let Some(answer) = super::record::client_check(get("client_id"), get("client_secret")) {
        return recorded(answer);
    }
    let mut s = state.lock().unwrap();
    match get("grant_type") {
        "authorization_code" => {
            s.counters.code_exchanges += 1;
            match s.codes.remove(get("code")) {
                None => error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid authorization code",
                ),
                Some(issued) if issued.elapsed() > CODE_LIFETIME => error(
                    StatusCode::BAD_REQUEST,
                    "expired_token",
                    "The authorization code has expired",
                ),
                Some(_) => json_reply(
                    StatusCode::OK,
                    super::record::code_exchange(token_response(&mut s, host)),
                ),
            }
        }
        "refresh_token" => {
            s.counters.refreshes += 1;
            if !s.refresh_tokens.remove(get("refresh_token")) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid refresh token",
                );
            }
            // Rotation: the used refresh token is gone; so are the access tokens issued before.
            s.access_tokens.clear();
            let answer = token_response(&mut s, host);
            match s.refresh_bodies.pop_front() {
                Some(write) => reply(StatusCode::OK, "application/json", write(answer)),
                None => json_reply(StatusCode::OK, answer),
            }
        }
        _ => error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Unsupported grant_type",
        ),
    }
}

fn authorize_page(
    state: &Mutex<State>,
    host: &str,
    p: &HashMap<String, String>,
) -> Response<Full<Bytes>> {
    let mut s = state.lock().unwrap();
    s.counters.authorize_pages += 1;
    if p.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return reply(
            StatusCode::OK,
            "text/html",
            "<html><body>The application is not installed on this portal.</body></html>".into(),
        );
    }
    let query = match s.refusal.clone() {
        Some((error, description)) => url::form_urlencoded::Serializer::new(String::new())
            .append_pair("error", &error)
            .append_pair("error_description", &description)
            .append_pair("state", p.get("state").map(String::as_str).unwrap_or(""))
            .finish(),
        None => code_query(&mut s, host, p),
    };
    let sep = if s.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    Response::builder()
        .status(StatusCode::FOUND)
        .header("location", format!("{}{sep}{query}", s.redirect_uri))
        .body(Full::new(Bytes::new()))
        .unwrap()
}

/// A fresh code and the redirect's query that carries it.
fn code_query(s: &mut State, host: &str, p: &HashMap<String, String>) -> String {
    let code = random_hex(16);
    s.codes.insert(code.clone(), Instant::now());
    s.issued.push(code.clone());
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("code", &code)
        .append_pair("state", p.get("state").map(String::as_str).unwrap_or(""))
        .append_pair("domain", host)
        .append_pair("member_id", MEMBER_ID)
        .append_pair("scope", "crm,user")
        .append_pair("server_domain", host)
        .finish()
}

fn app_info(
    state: &Mutex<State>,
    host: &str,
    p: &HashMap<String, String>,
    server: bool,
) -> Response<Full<Bytes>> {
    let mut s = state.lock().unwrap();
    if server {
        s.counters.app_info_server += 1;
    } else {
        s.counters.app_info_portal += 1;
    }
    if let Some(answer) = super::record::app_info(&s.record, server) {
        return recorded(answer);
    }
    let token = p.get("auth").map(String::as_str).unwrap_or("");
    match s.access_tokens.get(token) {
        None => error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "The access token provided is invalid",
        ),
        Some(&e) if e <= unix_now() => error(
            StatusCode::UNAUTHORIZED,
            "expired_token",
            "The access token provided has expired",
        ),
        Some(&expires) if server => {
            // A token issued for another portal of the same app (`stand_in_events.rs`).
            let (host, member_id) = s.events.portal_of(token).unwrap_or((host, MEMBER_ID));
            json_reply(
                StatusCode::OK,
                super::record::server_app_info(
                    &s.record,
                    json!({"result": {"client_id": CLIENT_ID, "scope": "crm,user", "expires": expires,
                "install": {"installed": true, "version": 1, "status": "L", "scope": "crm,user",
                    "domain": host, "uri": format!("{}://{host}/", s.scheme()),
                    "client_endpoint": format!("{}://{host}/portal/rest/", s.scheme()),
                    "member_id": member_id, "member_type": "PORTAL"},
                "user_id": 1}}),
                ),
            )
        }
        Some(_) => json_reply(
            StatusCode::OK,
            json!({"result": {"ID": 7, "CODE": CLIENT_ID, "VERSION": 1, "STATUS": "L",
                "INSTALLED": true, "PAYMENT_EXPIRED": "N", "DAYS": null,
                "LICENSE": format!("de_{}", s.pace.license_family),
                "LICENSE_FAMILY": s.pace.license_family}}),
        ),
    }
}

fn rest(state: &Mutex<State>, host: &str, method: &str, body: &[u8]) -> Response<Full<Bytes>> {
    let mut s = state.lock().unwrap();
    s.counters.rest_calls += 1;
    let n = s.counters.rest_calls;
    let mut params: Value = serde_json::from_slice(body).unwrap_or(json!({}));
    let token = params
        .as_object_mut()
        .and_then(|m| m.remove("auth"))
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    s.rest_log
        .push((method.to_string(), host.to_string(), params.clone()));
    if let Some(i) = s.rest_faults.iter().position(|(at, _)| *at == n) {
        match s.rest_faults.remove(i).1 {
            RestFault::QueryLimit => {
                return error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "QUERY_LIMIT_EXCEEDED",
                    "Too many requests",
                )
            }
            RestFault::MovedTo(base) => {
                return Response::builder()
                    .status(StatusCode::FOUND)
                    .header("location", format!("{base}/portal/rest/{method}"))
                    .body(Full::new(Bytes::new()))
                    .unwrap()
            }
            RestFault::TooManyRequests => {
                return reply(
                    StatusCode::TOO_MANY_REQUESTS,
                    "text/html",
                    "<html><body><h1>429 Too Many Requests</h1></body></html>".into(),
                )
            }
            RestFault::GatewayTimeout => {
                return reply(
                    StatusCode::GATEWAY_TIMEOUT,
                    "text/html",
                    "<html><body><h1>504 Gateway Time-out</h1></body></html>".into(),
                )
            }
            RestFault::ExpiredToken => {
                return error(
                    StatusCode::UNAUTHORIZED,
                    "expired_token",
                    "The access token provided has expired",
                )
            }
            RestFault::OperationTimeLimit => {
                return error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "OPERATION_TIME_LIMIT",
                    "Method is blocked due to operation time limit.",
                )
            }
        }
    }
    if let Some(answer) = super::stand_in_errors::next(&mut s.errors) {
        return recorded(answer);
    }
    if let Some(answer) = super::record::rest(&s.record) {
        return recorded(answer);
    }
    if let Some(bucket) = s.bucket.as_mut() {
        if !bucket.admit() {
            s.counters.query_limits += 1;
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "QUERY_LIMIT_EXCEEDED",
                "Too many requests",
            );
        }
    }
    // An incoming webhook: `USER_ID/SECRET/METHOD`, no `auth` (the address is the credential).
    let hook = method
        .split_once('/')
        .and_then(|(user, rest)| Some((user, rest.split_once('/')?)))
        .map(|(user, (secret, m))| (format!("{user}/{secret}/"), m.to_string()));
    let method = match &hook {
        Some((path, m)) => {
            if path != WEBHOOK || s.webhook_revoked {
                return error(
                    StatusCode::UNAUTHORIZED,
                    "INVALID_CREDENTIALS",
                    "Invalid request credentials",
                );
            }
            m.as_str()
        }
        None => method,
    };
    match s.access_tokens.get(&token) {
        _ if hook.is_some() => {}
        None => {
            return error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "The access token provided is invalid",
            )
        }
        Some(&e) if e <= unix_now() => {
            return error(
                StatusCode::UNAUTHORIZED,
                "expired_token",
                "The access token provided has expired",
            )
        }
        Some(_) => {}
    }
    if method == "batch" {
        return batch(&mut s, &params, &token);
    }
    // A portal error that echoes the whole request body, `auth` included.
    if method == "echo.fail" {
        return error(
            StatusCode::BAD_REQUEST,
            "ERROR_CORE",
            &format!("\u{1b}[1mcannot handle {}", String::from_utf8_lossy(body)),
        );
    }
    match answer(&mut s, method, &params) {
        Ok(object) => json_reply(StatusCode::OK, Value::Object(object)),
        Err((status, code, description)) => error(status, code, description),
    }
}

type Failure = (StatusCode, &'static str, &'static str);

/// One method's whole answer (with `time`), or its error; charges its operating time.
fn answer(s: &mut State, method: &str, params: &Value) -> Result<Map<String, Value>, Failure> {
    let time = charge(s, method)?;
    s.pace.commands += 1;
    let mut object = dispatch(s, method, params)?;
    object.insert("time".into(), time);
    Ok(object)
}

/// Adds one call to `method`'s operating time; refuses it when the window's 480 s are spent.
fn charge(s: &mut State, method: &str) -> Result<Value, Failure> {
    let now = unix_now();
    let entry = s
        .operating
        .entry(method.to_string())
        .or_insert((0.0, now + 600));
    if now >= entry.1 {
        *entry = (0.0, now + 600);
    }
    if entry.0 >= s.pace.operating_limit {
        s.counters.operation_time_limits += 1;
        return Err((
            StatusCode::TOO_MANY_REQUESTS,
            "OPERATION_TIME_LIMIT",
            "Method is blocked due to operation time limit.",
        ));
    }
    entry.0 += s.pace.charge(CALL_COST);
    let (operating, reset_at) = match s.pace.claimed_time {
        Some((spent, at)) => (json!(spent), json!(at)),
        None => (json!(entry.0), json!(entry.1)),
    };
    Ok(
        json!({"start": 1728413297.1, "finish": 1728413297.2, "duration": 0.1,
        "processing": 0.001, "date_start": "2024-10-08T21:48:17+03:00",
        "date_finish": "2024-10-08T21:48:17+03:00",
        "operating_reset_at": reset_at, "operating": operating}),
    )
}

/// `batch`: each `cmd` in order, references resolved against the ones before, `halt` obeyed.
fn batch(s: &mut State, params: &Value, token: &str) -> Response<Full<Bytes>> {
    let halt = matches!(params.get("halt"), Some(v) if v == &json!(1) || v == &json!("1") || v == &json!(true));
    let commands: Vec<(String, String)> = match params.get("cmd") {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v.as_str().unwrap_or("").to_string()))
            .collect(),
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                "cmd is required",
            )
        }
    };
    if commands.len() > 50 {
        return error(
            StatusCode::BAD_REQUEST,
            "ERROR_BATCH_LENGTH_EXCEEDED",
            "Max batch length exceeded",
        );
    }
    let time = match charge(s, "batch") {
        Ok(t) => t,
        Err((status, code, description)) => return error(status, code, description),
    };
    let (mut results, mut errors, mut totals, mut nexts, mut times) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut done: HashMap<String, Value> = HashMap::new();
    for (key, cmd) in commands {
        let (method, query) = cmd.split_once('?').unwrap_or((cmd.as_str(), ""));
        let mut p = parse_php_query(query);
        resolve(&mut p, &done);
        let outcome = match method {
            "batch" => Err((
                StatusCode::BAD_REQUEST,
                "ERROR_BATCH_METHOD_NOT_ALLOWED",
                "Batch call is not allowed in batch",
            )),
            m => answer(s, m, &p),
        };
        match outcome {
            Ok(mut a) => {
                let result = a.remove("result").unwrap_or(Value::Null);
                done.insert(key.clone(), result.clone());
                results.push((key.clone(), result));
                if let Some(t) = a.remove("total") {
                    totals.push((key.clone(), t));
                }
                if let Some(n) = a.remove("next") {
                    nexts.push((key.clone(), n));
                }
                times.push((key, a.remove("time").unwrap_or(Value::Null)));
            }
            // A portal error that echoes the request's token.
            Err(_) if method == "echo.fail" => errors.push((
                key,
                json!({"error": "ERROR_CORE", "error_description": format!("cannot handle auth={token}")}),
            )),
            Err((_, code, description)) => {
                errors.push((
                    key,
                    json!({"error": code, "error_description": description}),
                ));
                if halt {
                    break;
                }
            }
        }
    }
    json_reply(
        StatusCode::OK,
        json!({"result": {
            "result": php_json(results),
            "result_error": php_json(errors),
            "result_total": php_json(totals),
            "result_next": php_json(nexts),
            "result_time": php_json(times),
        }, "time": time}),
    )
}

/// A method's answer without `time`.
fn dispatch(s: &mut State, method: &str, params: &Value) -> Result<Map<String, Value>, Failure> {
    let object = |v: Value| v.as_object().cloned().unwrap_or_default();
    match method {
        "user.current" => Ok(object(
            json!({"result": {"ID": "1", "NAME": "Stand", "LAST_NAME": "In"}}),
        )),
        "echo" => Ok(object(json!({"result": params}))),
        "profile" => Ok(object(
            json!({"result": {"ID": "1", "ADMIN": true, "NAME": "Stand", "LAST_NAME": "In"}}),
        )),
        "crm.lead.list" => {
            let start = match params.get("start") {
                Some(Value::Number(n)) => n.as_u64().unwrap_or(0) as usize,
                Some(Value::String(t)) => t.parse().unwrap_or(0),
                _ => 0,
            };
            let end = (start + 50).min(LEADS);
            let items: Vec<Value> = (start..end)
                .map(|i| json!({"ID": (i + 1).to_string(), "TITLE": format!("Lead {}", i + 1)}))
                .collect();
            let mut page = json!({"result": items, "total": LEADS});
            if end < LEADS {
                page["next"] = end.into();
            }
            Ok(object(page))
        }
        "crm.deal.list" => Ok(deal_list(s.deals, params)),
        // A broken list whose `next` stops advancing after the first page.
        "crm.stuck.list" => Ok(object(
            json!({"result": [{"ID": "1"}], "next": 50, "total": 1000}),
        )),
        "crm.deal.fail" => Err((
            StatusCode::BAD_REQUEST,
            "ERROR_CORE",
            "Something went wrong in the portal",
        )),
        m if m.starts_with("event.") => super::stand_in_events::method(&mut s.events, m, params)
            .unwrap_or_else(|| super::record::method(m)),
        other => match super::stand_in_pace::extra_method(other) {
            Some(answer) => Ok(answer),
            None => super::record::method(other),
        },
    }
}
