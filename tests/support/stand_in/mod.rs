//! A Bitrix24 stand-in: the portal's authorize page, the OAuth server's token endpoint and both
//! REST `app.info` endpoints, portal REST and REST 3.0, on a real hyper server at `127.0.0.1:0`.
//!
//! It behaves like the real one where b24auth depends on it (PROTOCOL.md): codes live 30 s and work
//! once, refresh tokens rotate (the used one and its access token die), errors are Bitrix24's JSON.
//! Every call is counted, and a test makes requests fail through one fault queue.
//!
//! Layout on the one port: `/oauth/authorize/` (portal), `/oauth/token/` (OAuth server), `/rest/…`
//! (OAuth server REST, `server_endpoint`), `/portal/rest/…` (portal REST, `client_endpoint`),
//! `/portal/rest/api/…` (REST 3.0).
//!
//! The parts:
//! - `router.rs`: the listener, and which part answers which path;
//! - `oauth.rs`: the OAuth server (token endpoint, authorize page, `app.info`) and its tokens;
//! - `methods.rs`: portal REST: auth, webhooks, `batch`, and the table of methods;
//! - `faults.rs`: the one queue of injected failures;
//! - `config.rs`: the app as registered and the knobs a test sets at start;
//! - `answer.rs`: the shapes of answers (Bitrix24's errors, a gateway's page);
//! - `pace.rs`: work time, requests in flight;
//! - `events.rs`: the offline queue, `event.bind`;
//! - `frame.rs`: the install frame, `BX24`;
//! - `sdk.rs`: paths and bodies as SDKs send them;
//! - `v3.rs`: REST 3.0;
//! - `batch.rs`: `batch`'s PHP parsing, the deal table, the leaky bucket;
//! - `record.rs`: answers as the public record shows Bitrix24 giving them.

mod answer;
pub mod batch;
mod config;
pub mod events;
mod faults;
pub mod frame;
mod methods;
mod oauth;
mod pace;
pub mod record;
mod router;
pub mod sdk;
mod v3;

use std::sync::{Arc, Mutex};

// Benches include only the parts they use (`#[path]`): the rest of this index goes unused there.
#[allow(unused_imports)]
pub use config::{CALL_COST, CLIENT_ID, CLIENT_SECRET, LEADS, MEMBER_ID, WEBHOOK};
#[allow(unused_imports)]
pub use faults::{Endpoint, Fault, When};

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
    /// Portal REST requests that reached the stand-in (a gateway's page included).
    pub rest_calls: usize,
    pub other: usize,
    /// 503 `QUERY_LIMIT_EXCEEDED` answers of the leaky bucket.
    pub query_limits: usize,
    /// `OPERATION_TIME_LIMIT` answers (whole calls or batch commands).
    pub operation_time_limits: usize,
    /// `BX24.installFinish()` calls of an install page (`frame.rs`).
    pub install_finished: usize,
}

/// Everything the stand-in knows, behind one lock; each part keeps its own.
#[derive(Default)]
struct State {
    config: config::Config,
    counters: Counters,
    faults: faults::Faults,
    oauth: oauth::OAuth,
    portal: methods::Portal,
    pace: pace::PortalPace,
    /// The answers as the public record shows them (`record.rs`).
    record: record::Record,
    events: events::Events,
    v3: v3::V3,
    /// The pair the last `/install-frame` page posted into its frame.
    frame_pair: Option<serde_json::Value>,
}

impl State {
    /// How many requests reached `endpoint` so far (what [`When::Request`] counts from).
    fn requests(&self, endpoint: Endpoint) -> usize {
        match endpoint {
            Endpoint::Token => self.counters.token_calls,
            Endpoint::Rest => self.pace.requests,
            Endpoint::V3 => self.v3.requests,
        }
    }
}

pub struct StandIn {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base: String,
    state: Arc<Mutex<State>>,
    gate: tokio::sync::watch::Sender<bool>,
}

impl StandIn {
    pub fn start() -> StandIn {
        StandIn::serve(None)
    }

    /// The same portal and OAuth server over HTTPS with `tls`'s certificate
    /// (`https://127.0.0.1:PORT`).
    pub fn start_https(tls: Arc<rustls::ServerConfig>) -> StandIn {
        StandIn::serve(Some(tls))
    }

    fn serve(tls: Option<Arc<rustls::ServerConfig>>) -> StandIn {
        let mut state = State::default();
        state.config.https = tls.is_some();
        let state = Arc::new(Mutex::new(state));
        let base = router::serve(Arc::clone(&state), tls);
        let (gate, _) = tokio::sync::watch::channel(true);
        StandIn { base, state, gate }
    }

    /// A second address for the same portal and server (a renamed portal's new name).
    pub fn second_address(&self) -> String {
        router::serve(Arc::clone(&self.state), None)
    }

    /// `host:port` of the stand-in (what the portal's `domain` is).
    pub fn host(&self) -> String {
        let host = self.base.trim_start_matches("https://");
        host.trim_start_matches("http://").to_string()
    }

    pub fn counters(&self) -> Counters {
        self.state.lock().unwrap().counters
    }

    /// Changes which recorded behaviours are on (`record.rs`).
    pub(super) fn record(&self, change: impl FnOnce(&mut record::Record)) {
        change(&mut self.state.lock().unwrap().record);
    }

    fn with_events<R>(&self, f: impl FnOnce(&mut events::Events) -> R) -> R {
        f(&mut self.state.lock().unwrap().events)
    }

    fn with_v3<R>(&self, f: impl FnOnce(&mut v3::V3) -> R) -> R {
        f(&mut self.state.lock().unwrap().v3)
    }

    fn with_pace<R>(&self, f: impl FnOnce(&mut pace::PortalPace) -> R) -> R {
        f(&mut self.state.lock().unwrap().pace)
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}
