//! The stand-in at a real portal's pace: every command costs the portal work time that
//! a test chooses (`set_work` in `config.rs`; a `batch` costs the sum of the commands it ran, one
//! after another), while separate requests are served side by side (the answer waits for its work
//! without holding anything the other requests need). The work is what `time.operating` counts per
//! method; past the portal's operating limit (`set_operating_limit`, 480 s unless set) a method is
//! refused with HTTP 429 `OPERATION_TIME_LIMIT`. A request can be made slower (`slow_request`) or
//! held until a refresh (`hold_until_refresh`); a gateway's pages are faults (`faults.rs`).

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::answer::Failure;
use super::{StandIn, State};

/// What the stand-in does about pace, kept in its state (the knobs are in `config.rs`).
#[derive(Debug, Default)]
pub struct PortalPace {
    /// Commands the portal has run (plain calls and batch commands alike).
    pub commands: usize,
    /// REST requests that reached the portal (gateway pages included).
    pub requests: usize,
    /// (request number, extra time): that request takes this much longer.
    pub slow: Vec<(usize, Duration)>,
    pub in_flight: usize,
    pub max_in_flight: usize,
    /// (request number, refreshes when it arrived): that request's answer waits for a refresh.
    pub held: Option<(usize, usize)>,
    /// What answers claim as `time.operating` and `operating_reset_at`, whatever was spent.
    pub claimed_time: Option<(f64, f64)>,
}

impl PortalPace {
    /// A request arrives: its number, counted in flight until [`PortalPace::leave`].
    pub fn arrive(&mut self) -> usize {
        self.requests += 1;
        self.in_flight += 1;
        self.max_in_flight = self.max_in_flight.max(self.in_flight);
        self.requests
    }

    pub fn leave(&mut self) {
        self.in_flight -= 1;
    }

    /// The extra time request `n` takes.
    pub fn extra(&self, n: usize) -> Duration {
        self.slow
            .iter()
            .filter(|(at, _)| *at == n)
            .map(|(_, d)| *d)
            .sum()
    }
}

/// The work time `commands` cost when each costs `work`.
pub fn cost(work: Duration, commands: usize) -> Duration {
    work * commands as u32
}

/// Operating seconds one command adds: its `work`, or a token amount when none is set.
pub fn charge(work: Duration, token: f64) -> f64 {
    match work.is_zero() {
        true => token,
        false => work.as_secs_f64(),
    }
}

/// Methods of the portal's table (`methods.rs`) only pace's tests call: lists whose numbers
/// are the largest JSON can say, and a write.
pub(super) fn huge_list(_: &mut State, _: &Value) -> Result<Map<String, Value>, Failure> {
    object(json!({"result": page(), "total": u64::MAX, "next": i64::MAX}))
}

pub(super) fn endless_list(_: &mut State, _: &Value) -> Result<Map<String, Value>, Failure> {
    object(json!({"result": page(), "total": u64::MAX, "next": 50}))
}

pub(super) fn deal_add(_: &mut State, _: &Value) -> Result<Map<String, Value>, Failure> {
    object(json!({"result": 1}))
}

/// A page of 50 items.
fn page() -> Vec<Value> {
    (1..=50).map(|i| json!({"ID": i.to_string()})).collect()
}

fn object(v: Value) -> Result<Map<String, Value>, Failure> {
    Ok(v.as_object().cloned().unwrap_or_default())
}

/// Request `n`'s answer, when a test held it, waits until the token endpoint has refreshed a
/// pair since it arrived (at most 10 s): an answer that comes back after another request in
/// flight renewed the token.
pub(super) async fn hold_for_refresh(state: &std::sync::Mutex<super::State>, n: usize) {
    let since = {
        let s = state.lock().unwrap();
        match s.pace.held {
            Some((at, since)) if at == n => since,
            _ => return,
        }
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline && state.lock().unwrap().counters.refreshes <= since
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

impl StandIn {
    /// REST request `n`'s answer (counting from 1) waits until a pair has been refreshed after
    /// now.
    pub fn hold_until_refresh(&self, n: usize) {
        let refreshes = self.counters().refreshes;
        self.with_pace(|p| p.held = Some((n, refreshes)));
    }

    /// REST request `n` (counting from 1, gateway pages included) takes `extra` longer.
    pub fn slow_request(&self, n: usize, extra: Duration) {
        self.with_pace(|p| p.slow.push((n, extra)));
    }

    /// The most REST requests the portal was serving at once.
    pub fn max_in_flight(&self) -> usize {
        self.with_pace(|p| p.max_in_flight)
    }

    pub fn commands_run(&self) -> usize {
        self.with_pace(|p| p.commands)
    }

    /// Answers claim `operating` seconds spent and a reset at unix time `reset_at` (a server's
    /// nonsense, for the tests of what b24auth believes).
    pub fn claim_time(&self, operating: f64, reset_at: f64) {
        self.with_pace(|p| p.claimed_time = Some((operating, reset_at)));
    }
}
