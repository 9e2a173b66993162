/*!
The stand-in at a real portal's pace: every command costs the portal work time that
a test chooses (`set_work`; a `batch` costs the sum of the commands it ran, one after another),
while separate requests are served side by side (the answer waits for its work without
holding anything the other requests need). The work is what `time.operating` counts per method;
past the portal's operating limit (`set_operating_limit`, 480 s unless set) a method is refused
with HTTP 429 `OPERATION_TIME_LIMIT`. A gateway in front of the portal can answer HTML pages
instead (`gateway_pages`, `dead_gateway`). The portal's `app.info` says its `LICENSE_FAMILY`
(`set_license_family`). The leaky bucket (`enable_rate_limit`) is one for all clients.
*/

use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Response, StatusCode};
use serde_json::{json, Map, Value};

use super::stand_in::StandIn;

/// What the stand-in does about pace, kept in its state.
#[derive(Debug)]
pub struct PortalPace {
    /// Work time of one command.
    pub work: Duration,
    /// Commands the portal has run (plain calls and batch commands alike).
    pub commands: usize,
    /// A method's operating time per 10 minutes, in seconds.
    pub operating_limit: f64,
    /// The next this many REST requests meet the gateway's page; `usize::MAX`: a dead gateway.
    pub gateway_pages: usize,
    pub gateway_status: u16,
    /// Gateway pages served.
    pub gateway_served: usize,
    pub license_family: String,
    /// REST requests that reached the portal (gateway pages included).
    pub requests: usize,
    /// (request number, extra time): that request takes this much longer.
    pub slow: Vec<(usize, Duration)>,
    pub in_flight: usize,
    pub max_in_flight: usize,
    /// The gateway's pages come after the portal ran the request (its answer lost: a 504
    /// timeout), not instead of it.
    pub gateway_late: bool,
    /// The gateway answers JSON without Bitrix24's `error` (`{"message":"bad gateway"}`).
    pub gateway_json: bool,
    /// (request number, refreshes when it arrived): that request's answer waits for a refresh.
    pub held: Option<(usize, usize)>,
    /// What answers claim as `time.operating` and `operating_reset_at`, whatever was spent.
    pub claimed_time: Option<(f64, f64)>,
}

impl Default for PortalPace {
    fn default() -> PortalPace {
        PortalPace {
            work: Duration::ZERO,
            commands: 0,
            operating_limit: 480.0,
            gateway_pages: 0,
            gateway_status: 502,
            gateway_served: 0,
            license_family: "project".into(),
            requests: 0,
            slow: Vec::new(),
            in_flight: 0,
            max_in_flight: 0,
            claimed_time: None,
            held: None,
            gateway_late: false,
            gateway_json: false,
        }
    }
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

    /// The work time `commands` cost.
    pub fn cost(&self, commands: usize) -> Duration {
        self.work * commands as u32
    }

    /// Operating seconds one command adds: its work, or a token amount when none is set.
    pub fn charge(&self, token: f64) -> f64 {
        match self.work.is_zero() {
            true => token,
            false => self.work.as_secs_f64(),
        }
    }

    /// The gateway's page for this request, if it meets the gateway.
    pub fn gateway(&mut self) -> Option<Response<Full<Bytes>>> {
        if self.gateway_pages == 0 {
            return None;
        }
        if self.gateway_pages != usize::MAX {
            self.gateway_pages -= 1;
        }
        self.gateway_served += 1;
        let status = StatusCode::from_u16(self.gateway_status).unwrap();
        if self.gateway_json {
            return Some(
                Response::builder()
                    .status(status)
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(r#"{"message":"bad gateway"}"#)))
                    .unwrap(),
            );
        }
        let page = format!(
            "<html>\r\n<head><title>{status}</title></head>\r\n<body>\r\n<center><h1>{status}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        );
        Some(
            Response::builder()
                .status(status)
                .header("content-type", "text/html")
                .body(Full::new(Bytes::from(page)))
                .unwrap(),
        )
    }
}

/// Methods only this file's tests call: a list whose numbers are the largest JSON can say.
pub fn extra_method(method: &str) -> Option<Map<String, Value>> {
    let page: Vec<Value> = (1..=50).map(|i| json!({"ID": i.to_string()})).collect();
    let answer = match method {
        "crm.huge.list" => json!({"result": page, "total": u64::MAX, "next": i64::MAX}),
        "crm.endless.list" => json!({"result": page, "total": u64::MAX, "next": 50}),
        "crm.deal.add" => json!({"result": 1}),
        _ => return None,
    };
    answer.as_object().cloned()
}

/// Request `n`'s answer, when a test held it, waits until the token endpoint has refreshed a
/// pair since it arrived (at most 10 s): an answer that comes back after another request in
/// flight renewed the token.
pub(super) async fn hold_for_refresh(state: &std::sync::Mutex<super::stand_in::State>, n: usize) {
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

    /// Every command costs the portal `work` (a batch: the sum of its commands).
    pub fn set_work(&self, work: Duration) {
        self.with_pace(|p| p.work = work);
    }

    /// A method's operating time per 10 minutes, in seconds.
    pub fn set_operating_limit(&self, seconds: f64) {
        self.with_pace(|p| p.operating_limit = seconds);
    }

    /// The next `n` REST requests get the gateway's HTML page with `status`.
    pub fn gateway_pages(&self, n: usize, status: u16) {
        self.with_pace(|p| {
            p.gateway_pages = n;
            p.gateway_status = status;
        });
    }

    /// The next `n` REST requests run on the portal, but the gateway answers its page with
    /// `status` instead of the portal's answer (a 504 timeout: the outcome unknown to the caller).
    pub fn late_gateway_pages(&self, n: usize, status: u16) {
        self.gateway_pages(n, status);
        self.with_pace(|p| p.gateway_late = true);
    }

    /// The next `n` REST requests get the gateway's JSON without Bitrix24's `error`.
    pub fn json_gateway_pages(&self, n: usize, status: u16) {
        self.gateway_pages(n, status);
        self.with_pace(|p| p.gateway_json = true);
    }

    /// Every REST request from now on gets the gateway's HTML page with `status`.
    pub fn dead_gateway(&self, status: u16) {
        self.gateway_pages(usize::MAX, status);
    }

    pub fn gateway_served(&self) -> usize {
        self.with_pace(|p| p.gateway_served)
    }

    pub fn commands_run(&self) -> usize {
        self.with_pace(|p| p.commands)
    }

    /// Answers claim `operating` seconds spent and a reset at unix time `reset_at` (a server's
    /// nonsense, for the tests of what b24auth believes).
    pub fn claim_time(&self, operating: f64, reset_at: f64) {
        self.with_pace(|p| p.claimed_time = Some((operating, reset_at)));
    }

    /// What the portal's `app.info` says in `LICENSE_FAMILY` (`ent` on Enterprise plans).
    pub fn set_license_family(&self, family: &str) {
        self.with_pace(|p| p.license_family = family.to_string());
    }
}
