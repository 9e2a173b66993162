//! The stand-in's one fault queue: every failure a test injects — a gateway's page (5xx, a 504
//! before or after the portal ran the request), Bitrix24's own errors (`QUERY_LIMIT_EXCEEDED`,
//! `OPERATION_TIME_LIMIT`, `expired_token`, a recorded answer `tests/cases/replay.rs` replays), a
//! redirect, a hang, a body that is not JSON — is queued here with the endpoint it strikes and
//! which requests ([`When`]), and taken by the router as each request arrives.
//!
//! A fault answered by a gateway (`Page`, `GatewayJson`) stands in front of the server: the request
//! never runs. `PageAfterRun` lets it run, then loses its answer (the outcome unknown to the
//! caller). The others are the server's own answers.

use std::time::Duration;

use super::answer::{self, Answer, Failure};
use super::StandIn;
use hyper::StatusCode;

/// A way a request fails.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// A gateway's HTML page with this status, instead of the server's answer.
    Page(u16),
    /// The server runs the request, then the gateway answers its HTML page with this status (a
    /// 504 timeout: the outcome unknown to the caller).
    PageAfterRun(u16),
    /// A gateway's JSON without Bitrix24's `error` (`{"message":"bad gateway"}`).
    GatewayJson(u16),
    /// Accepts the request and never answers.
    Hang,
    /// HTTP 200 with a body cut short (not JSON).
    CutBody,
    /// A Bitrix24 error (see the constants on [`Fault`]).
    Error(Failure),
    /// A recorded answer as the public record shows it (`record.rs`).
    Recorded(super::record::Answer),
    /// HTTP 302 to this base URL, same path (a renamed portal).
    MovedTo(String),
    /// An error whose description echoes the request (secrets included) with ANSI escapes, as a
    /// misconfigured proxy or a hostile server would.
    EchoRequest,
}

impl Fault {
    /// HTTP 503 `QUERY_LIMIT_EXCEEDED`.
    pub const QUERY_LIMIT: Fault = Fault::Error(answer::QUERY_LIMIT);
    /// HTTP 429 `OPERATION_TIME_LIMIT` (the status Bitrix24 documents).
    pub const OPERATION_TIME_LIMIT: Fault = Fault::Error(answer::OPERATION_TIME_LIMIT);
    /// HTTP 401 `expired_token`, whatever the token.
    pub const EXPIRED_TOKEN: Fault = Fault::Error(answer::EXPIRED_TOKEN);
    /// Bitrix24's `invalid_grant` error.
    pub const INVALID_GRANT: Fault = Fault::Error(answer::INVALID_GRANT);
}

/// The endpoint a fault strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The OAuth server's `/oauth/token/`.
    Token,
    /// Portal REST (`batch` and webhooks included), `app.info` aside.
    Rest,
    /// REST 3.0 (`/portal/rest/api/`).
    V3,
}

/// Which requests to the endpoint a fault strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// The next this many, after the faults queued before for the endpoint.
    Next(usize),
    /// Every one from now on.
    Always,
    /// Only the `n`-th from now (1: the next).
    Request(usize),
}

struct Queued {
    endpoint: Endpoint,
    /// The request number it strikes; `None`: the next ones in queue order.
    at: Option<usize>,
    left: usize,
    fault: Fault,
}

/// The queue, kept in the stand-in's state.
#[derive(Default)]
pub struct Faults {
    queue: Vec<Queued>,
    /// Gateway pages served (`Page`, `PageAfterRun`, `GatewayJson`).
    pub pages_served: usize,
}

impl Faults {
    /// The fault for request number `n` to `endpoint`, if one is due: one queued for that number
    /// first, else the first in queue order.
    pub(super) fn take(&mut self, endpoint: Endpoint, n: usize) -> Option<Fault> {
        let i = self
            .queue
            .iter()
            .position(|q| q.endpoint == endpoint && q.at == Some(n))
            .or_else(|| {
                self.queue
                    .iter()
                    .position(|q| q.endpoint == endpoint && q.at.is_none())
            })?;
        let q = &mut self.queue[i];
        q.left -= 1;
        let fault = match q.left {
            0 => self.queue.remove(i).fault,
            _ => q.fault.clone(),
        };
        if matches!(
            fault,
            Fault::Page(_) | Fault::PageAfterRun(_) | Fault::GatewayJson(_)
        ) {
            self.pages_served += 1;
        }
        Some(fault)
    }
}

/// Whether the server runs the request before the fault answers.
pub(super) fn runs_first(fault: &Fault) -> bool {
    matches!(fault, Fault::PageAfterRun(_))
}

/// The answer `fault` gives to a request for `path` whose parameters were `echoed`.
pub(super) async fn respond(fault: Fault, path: &str, echoed: &str) -> Answer {
    let status = |s: u16| StatusCode::from_u16(s).expect("an HTTP status");
    match fault {
        Fault::Page(s) | Fault::PageAfterRun(s) => answer::page(status(s)),
        Fault::GatewayJson(s) => answer::reply(
            status(s),
            "application/json",
            r#"{"message":"bad gateway"}"#.into(),
        ),
        Fault::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            unreachable!("the client gives up first")
        }
        Fault::CutBody => answer::reply(
            StatusCode::OK,
            "application/json",
            "{\"access_token\":".into(),
        ),
        Fault::Error(failure) => answer::error(failure),
        Fault::Recorded(recorded) => answer::recorded(recorded),
        Fault::MovedTo(base) => answer::redirect(&format!("{base}{path}")),
        Fault::EchoRequest => answer::error_saying(
            StatusCode::BAD_REQUEST,
            "invalid_request\u{1b}[2J",
            &format!("\u{1b}[31mbad request: {echoed}\u{1b}]0;owned\u{7}"),
        ),
    }
}

impl StandIn {
    /// Queues `fault` for the requests to `endpoint` that `when` names.
    pub fn fail(&self, endpoint: Endpoint, when: When, fault: Fault) {
        let mut s = self.state.lock().unwrap();
        let (at, left) = match when {
            When::Next(n) => (None, n),
            When::Always => (None, usize::MAX),
            When::Request(n) => (Some(s.requests(endpoint) + n), 1),
        };
        if left > 0 {
            s.faults.queue.push(Queued {
                endpoint,
                at,
                left,
                fault,
            });
        }
    }

    /// Gateway pages served so far.
    pub fn gateway_served(&self) -> usize {
        self.state.lock().unwrap().faults.pages_served
    }
}
