//! The OAuth server's behaviour (PROTOCOL.md §1–§3): the portal's authorize page, the token
//! endpoint (codes that live 30 s and work once, refresh tokens that rotate), both `app.info`
//! endpoints, and the tokens issued so far.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use hyper::StatusCode;
use serde_json::{json, Value};

use super::answer::{self, error, error_saying, json_reply, recorded, reply, Answer};
use super::config::{CLIENT_ID, CLIENT_SECRET, CODE_LIFETIME, MEMBER_ID};
use super::faults::{self, Endpoint};
use super::record;
use super::{random_hex, unix_now, StandIn, State};

/// Writes the body of a refresh answer from the genuine one (the pair has rotated).
pub type AnswerBody = Box<dyn FnOnce(Value) -> String + Send>;

/// The OAuth server's state.
#[derive(Default)]
pub struct OAuth {
    codes: HashMap<String, Instant>,
    refresh_tokens: HashSet<String>,
    /// access token → unix time it expires.
    access_tokens: HashMap<String, i64>,
    /// Told whenever a counter or the gate's hold changes (the `wait_…` calls wait on it).
    seen: Arc<Condvar>,
    last_token_call: Option<Instant>,
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
    /// Bodies for the next refresh answers, each made from the genuine rotated answer.
    refresh_bodies: VecDeque<AnswerBody>,
}

impl State {
    /// Whether `token` is an access token the portal issued and still honours.
    pub(super) fn token_valid(&self, token: &str) -> bool {
        self.oauth
            .access_tokens
            .get(token)
            .is_some_and(|&e| e > unix_now())
    }

    /// Whether `token` was issued and has expired.
    pub(super) fn token_expired(&self, token: &str) -> bool {
        self.oauth
            .access_tokens
            .get(token)
            .is_some_and(|&e| e <= unix_now())
    }

    /// Every access token issued so far expires now.
    pub(super) fn expire_tokens(&mut self) {
        for e in self.oauth.access_tokens.values_mut() {
            *e = unix_now() - 1;
        }
    }

    /// A new pair, shaped like the token endpoint's answer.
    pub(super) fn token_response(&mut self, host: &str) -> Value {
        let access = format!("{}{}", random_hex(16), random_hex(19));
        let refresh = format!("{}{}", random_hex(16), random_hex(19));
        let expires = unix_now() + 3600;
        let o = &mut self.oauth;
        o.access_tokens.insert(access.clone(), expires);
        o.refresh_tokens.insert(refresh.clone());
        o.issued.extend([access.clone(), refresh.clone()]);
        let scheme = self.config.scheme();
        json!({
            "access_token": access,
            "expires": expires,
            "expires_in": 3600,
            "scope": "crm,user",
            "domain": "oauth.bitrix.info",
            "server_endpoint": format!("{scheme}://{host}/rest/"),
            "status": "L",
            "client_endpoint": format!("{scheme}://{host}/portal/rest/"),
            "member_id": MEMBER_ID,
            "user_id": 1,
            "refresh_token": refresh,
        })
    }

    fn issue_code(&mut self) -> String {
        let code = random_hex(16);
        self.oauth.codes.insert(code.clone(), Instant::now());
        self.oauth.issued.push(code.clone());
        code
    }
}

/// Like Bitrix24, a token request that arrived is carried out (the pair rotated) even when its
/// client is gone before the answer: the task is not tied to the connection.
pub(super) async fn token(
    state: Arc<Mutex<State>>,
    host: String,
    params: HashMap<String, String>,
) -> Answer {
    tokio::spawn(async move {
        let response = token_endpoint(&state, &host, &params).await;
        let mut s = state.lock().unwrap();
        s.counters.token_answers += 1;
        s.oauth.seen.notify_all();
        response
    })
    .await
    .expect("the token endpoint does not panic")
}

async fn token_endpoint(state: &Mutex<State>, host: &str, p: &HashMap<String, String>) -> Answer {
    let (fault, delay) = {
        let mut s = state.lock().unwrap();
        s.counters.token_calls += 1;
        s.oauth.seen.notify_all();
        s.oauth.last_token_call = Some(Instant::now());
        let n = s.counters.token_calls;
        (s.faults.take(Endpoint::Token, n), s.config.token_delay)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if let Some(fault) = fault {
        let echoed: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(p.iter())
            .finish();
        return faults::respond(fault, "/oauth/token/", &echoed).await;
    }
    if let Some(answer) = record::token_endpoint(&state.lock().unwrap().record) {
        return recorded(answer);
    }
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    if let Some(answer) = record::client_check(get("client_id"), get("client_secret")) {
        return recorded(answer);
    }
    let mut s = state.lock().unwrap();
    match get("grant_type") {
        "authorization_code" => {
            s.counters.code_exchanges += 1;
            match s.oauth.codes.remove(get("code")) {
                None => error_saying(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid authorization code",
                ),
                Some(issued) if issued.elapsed() > CODE_LIFETIME => error_saying(
                    StatusCode::BAD_REQUEST,
                    "expired_token",
                    "The authorization code has expired",
                ),
                Some(_) => json_reply(
                    StatusCode::OK,
                    record::code_exchange(s.token_response(host)),
                ),
            }
        }
        "refresh_token" => {
            s.counters.refreshes += 1;
            if !s.oauth.refresh_tokens.remove(get("refresh_token")) {
                return error_saying(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid refresh token",
                );
            }
            // Rotation: the used refresh token is gone; so are the access tokens issued before.
            s.oauth.access_tokens.clear();
            let answer = s.token_response(host);
            match s.oauth.refresh_bodies.pop_front() {
                Some(write) => reply(StatusCode::OK, "application/json", write(answer)),
                None => json_reply(StatusCode::OK, answer),
            }
        }
        _ => error_saying(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Unsupported grant_type",
        ),
    }
}

pub(super) fn authorize_page(
    state: &Mutex<State>,
    host: &str,
    p: &HashMap<String, String>,
) -> Answer {
    let mut s = state.lock().unwrap();
    s.counters.authorize_pages += 1;
    if p.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return reply(
            StatusCode::OK,
            "text/html",
            "<html><body>The application is not installed on this portal.</body></html>".into(),
        );
    }
    let state_param = p.get("state").map(String::as_str).unwrap_or("");
    let query = match s.oauth.refusal.clone() {
        Some((error, description)) => url::form_urlencoded::Serializer::new(String::new())
            .append_pair("error", &error)
            .append_pair("error_description", &description)
            .append_pair("state", state_param)
            .finish(),
        // A fresh code and the portal it is for.
        None => url::form_urlencoded::Serializer::new(String::new())
            .append_pair("code", &s.issue_code())
            .append_pair("state", state_param)
            .append_pair("domain", host)
            .append_pair("member_id", MEMBER_ID)
            .append_pair("scope", "crm,user")
            .append_pair("server_domain", host)
            .finish(),
    };
    let uri = &s.config.redirect_uri;
    let sep = if uri.contains('?') { '&' } else { '?' };
    answer::redirect(&format!("{uri}{sep}{query}"))
}

/// `app.info`: the OAuth server's (`server`) or the portal's.
pub(super) fn app_info(
    state: &Mutex<State>,
    host: &str,
    p: &HashMap<String, String>,
    server: bool,
) -> Answer {
    let mut s = state.lock().unwrap();
    if server {
        s.counters.app_info_server += 1;
    } else {
        s.counters.app_info_portal += 1;
    }
    if let Some(answer) = record::app_info(&s.record, server) {
        return recorded(answer);
    }
    let token = p.get("auth").map(String::as_str).unwrap_or("");
    let expires = match s.oauth.access_tokens.get(token) {
        None => return error(answer::INVALID_TOKEN),
        Some(&e) if e <= unix_now() => return error(answer::EXPIRED_TOKEN),
        Some(&e) => e,
    };
    if !server {
        let family = &s.config.license_family;
        return json_reply(
            StatusCode::OK,
            json!({"result": {"ID": 7, "CODE": CLIENT_ID, "VERSION": 1, "STATUS": "L",
                "INSTALLED": true, "PAYMENT_EXPIRED": "N", "DAYS": null,
                "LICENSE": format!("de_{family}"), "LICENSE_FAMILY": family}}),
        );
    }
    // A token issued for another portal of the same app (`events.rs`).
    let (host, member_id) = s.events.portal_of(token).unwrap_or((host, MEMBER_ID));
    let scheme = s.config.scheme();
    json_reply(
        StatusCode::OK,
        record::server_app_info(
            &s.record,
            json!({"result": {"client_id": CLIENT_ID, "scope": "crm,user", "expires": expires,
                "install": {"installed": true, "version": 1, "status": "L", "scope": "crm,user",
                    "domain": host, "uri": format!("{scheme}://{host}/"),
                    "client_endpoint": format!("{scheme}://{host}/portal/rest/"),
                    "member_id": member_id, "member_type": "PORTAL"},
                "user_id": 1}}),
        ),
    )
}

/// Holds an `app.info` for an unknown token while the gate is closed.
pub(super) async fn hold_unknown(state: &Mutex<State>, token: &str) {
    let mut gate = {
        let mut s = state.lock().unwrap();
        let Some(gate) = s.oauth.gate.clone().filter(|g| !*g.borrow()) else {
            return;
        };
        if s.oauth.access_tokens.contains_key(token) {
            return;
        }
        s.oauth.held += 1;
        s.oauth.seen.notify_all();
        gate
    };
    let _ = gate.wait_for(|open| *open).await;
    state.lock().unwrap().oauth.held -= 1;
}

impl StandIn {
    /// From now on the OAuth server's `app.info` holds the answer for every unknown token until
    /// [`StandIn::open_gate`].
    pub fn hold_unknown_app_info(&self) {
        self.gate.send_replace(false);
        self.state.lock().unwrap().oauth.gate = Some(self.gate.subscribe());
    }

    pub fn open_gate(&self) {
        self.gate.send_replace(true);
    }

    /// Blocks until `what` holds of the state (at most `secs`); else fails saying `told`.
    fn wait_until(
        &self,
        secs: u64,
        what: impl Fn(&State) -> bool,
        told: impl Fn(&State) -> String,
    ) {
        let cv = Arc::clone(&self.state.lock().unwrap().oauth.seen);
        let guard = self.state.lock().unwrap();
        let (guard, timeout) = cv
            .wait_timeout_while(guard, Duration::from_secs(secs), |s| !what(s))
            .unwrap();
        assert!(!timeout.timed_out(), "{}", told(&guard));
    }

    /// Blocks until `n` `app.info` calls are held at the gate (at most `secs`).
    pub fn wait_held(&self, n: usize, secs: u64) {
        self.wait_until(
            secs,
            |s| s.oauth.held >= n,
            |s| format!("only {} app.info calls held", s.oauth.held),
        );
    }

    /// Blocks until the token endpoint has been called `n` times in all (at most `secs`).
    pub fn wait_token_calls(&self, n: usize, secs: u64) {
        self.wait_until(
            secs,
            |s| s.counters.token_calls >= n,
            |s| format!("only {} token calls", s.counters.token_calls),
        );
    }

    /// Blocks until every token request that arrived has been carried out (at most `secs`):
    /// a client killed mid-request does not stop the rotation, as at Bitrix24.
    pub fn wait_token_answers(&self, secs: u64) {
        self.wait_until(
            secs,
            |s| s.counters.token_answers >= s.counters.token_calls,
            |s| {
                format!(
                    "{} of {} token requests carried out",
                    s.counters.token_answers, s.counters.token_calls
                )
            },
        );
    }

    /// When the token endpoint was last called (for latency benchmarks).
    pub fn last_token_call(&self) -> Option<Instant> {
        self.state.lock().unwrap().oauth.last_token_call
    }

    /// The next refresh rotates the pair as always and answers 200 with the body `write` makes
    /// from the genuine answer: a field b24auth refuses, a body too large or too deep to read.
    pub fn answer_next_refresh(&self, write: impl FnOnce(Value) -> String + Send + 'static) {
        let mut s = self.state.lock().unwrap();
        s.oauth.refresh_bodies.push_back(Box::new(write));
    }

    /// Makes every outstanding code look `by` older (a code older than 30 s is `expired_token`).
    pub fn age_codes(&self, by: Duration) {
        for issued in self.state.lock().unwrap().oauth.codes.values_mut() {
            *issued -= by;
        }
    }

    pub fn issue_code(&self) -> String {
        self.state.lock().unwrap().issue_code()
    }

    /// A valid pair, shaped like a token response (what an installation would have given).
    pub fn issue_pair(&self) -> Value {
        let host = self.host();
        self.state.lock().unwrap().token_response(&host)
    }

    pub fn refresh_token_is_valid(&self, rt: &str) -> bool {
        self.state.lock().unwrap().oauth.refresh_tokens.contains(rt)
    }

    pub fn access_token_is_valid(&self, at: &str) -> bool {
        let s = self.state.lock().unwrap();
        s.oauth.access_tokens.contains_key(at)
    }

    /// Every access token expires now (the portal answers `expired_token`).
    pub fn expire_access_tokens(&self) {
        self.state.lock().unwrap().expire_tokens();
    }

    /// Every secret this stand-in ever issued (codes, access and refresh tokens) and the
    /// client secret: none of them may appear in a log.
    pub fn issued_secrets(&self) -> Vec<String> {
        let mut all = self.state.lock().unwrap().oauth.issued.clone();
        all.push(CLIENT_SECRET.to_string());
        all
    }

    /// From now on the user refuses consent: the authorize page redirects with `error`.
    pub fn refuse_consent(&self, error: &str, description: &str) {
        self.state.lock().unwrap().oauth.refusal = Some((error.into(), description.into()));
    }

    /// Every token is forgotten (the app was removed from the portal).
    pub fn revoke_all(&self) {
        let mut s = self.state.lock().unwrap();
        s.oauth.access_tokens.clear();
        s.oauth.refresh_tokens.clear();
    }
}
