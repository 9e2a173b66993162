/*!
What b24auth may repeat, and when. Each kind of retry is bounded on its own ([`Tries`]): a
refused token is refreshed once; a rate limit is backed off from 500 ms; an operating-time
refusal waits for its window; a gateway's page instead of the portal's answer is backed off from
1 s, bounded in count and time.

Only a call that reads may be repeated when the outcome is unknown. A write (`crm.deal.add`, a
`batch` with one write in it) that met a gateway's page — a 502, 503 or 504 alike: a gateway may
answer 503 after the portal ran the request — may have run on the portal behind it, and running
it again would do it twice. A write is repeated only after an answer that proves the portal did
not run it: Bitrix24's own JSON error (`QUERY_LIMIT_EXCEEDED`, `expired_token`, …), or, for a
REST 3.0 write, under its `Idempotency-Key`. A read that got no answer in time is repeated within
the same bounds as a gateway's page; a write is not.
*/

use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use serde_json::{Map, Value};

use crate::bitrix::errors::ErrorCode;

/// Retries of one request that meets a rate limit (`ErrorCode::is_rate_limit`), from 500 ms.
pub const LIMIT_RETRIES: u32 = 5;

/// Waits for an operating-time window to reset, for one request.
const OPERATING_RETRIES: u32 = 3;

/// Retries of one request that a gateway answered with a page instead of the portal's JSON,
/// from 1 s doubling up to 8 s, and never past [`GATEWAY_PATIENCE`] in all.
pub const GATEWAY_RETRIES: u32 = 6;
const GATEWAY_PATIENCE: Duration = Duration::from_secs(45);

/// What a call has gone through so far (each kind of retry is bounded on its own).
#[derive(Default)]
pub struct Tries {
    pub refreshed: bool,
    limited: u32,
    operating: u32,
    gateway: u32,
    /// A renamed portal's new endpoint: used at once, saved only once a call there worked.
    pub moved: Option<String>,
}

/// What to do about an error answer.
pub enum Step {
    /// Refresh the pair and repeat once.
    Refresh,
    /// Wait for the operating-time window (this long when the portal did not say), repeat.
    Operating(Duration),
    /// Back off this long, then make retry number `retry`.
    RateLimit { wait: Duration, retry: u32 },
    /// Give up: no retry left, or none can help.
    Fail,
}

/// A gateway's answer: its status and what came instead of the portal's JSON.
pub struct Failure {
    pub status: reqwest::StatusCode,
    pub what: &'static str,
}

impl Tries {
    /// What to do about an error answer with `code`, counting the try; `refused`: the answer
    /// means the portal refused the token (a refresh may cure it).
    pub fn after_error(&mut self, code: &ErrorCode, refused: bool) -> Step {
        match code {
            _ if refused && !self.refreshed => {
                self.refreshed = true;
                Step::Refresh
            }
            ErrorCode::OperationTimeLimit if self.operating < OPERATING_RETRIES => {
                self.operating += 1;
                Step::Operating(Duration::from_secs(1 << self.operating))
            }
            code if code.is_rate_limit() && self.limited < LIMIT_RETRIES => {
                let wait = Duration::from_millis(500 << self.limited);
                self.limited += 1;
                Step::RateLimit {
                    wait,
                    retry: self.limited,
                }
            }
            _ => Step::Fail,
        }
    }

    /// A gateway's page: how long to back off before repeating a call that only reads, until
    /// the count or the time runs out; else the error naming the status (never the page). A
    /// write is never repeated (the portal may have run it) unless it carries an
    /// `Idempotency-Key` (`keyed`), under which the portal runs it once.
    pub fn after_gateway(
        &mut self,
        method: &str,
        params: &Map<String, Value>,
        Failure { status, what }: Failure,
        started: Instant,
        keyed: bool,
    ) -> Result<Duration> {
        if !status.is_server_error() {
            return Err(anyhow!(
                "{method}: the portal answered HTTP {status} with {what}; check the method's name and parameters"
            ));
        }
        if !is_read(method, params) && !keyed {
            return Err(anyhow!(
                "{method}: the portal's gateway answered HTTP {status} with {what}; the outcome is unknown (the portal may have done it), so b24auth did not repeat it: check on the portal before running it again"
            ));
        }
        self.next_wait(started).ok_or_else(|| {
            anyhow!(
                "{method}: the portal's gateway answered HTTP {status} with {what}, {} times in {} s; the portal is unreachable behind it, try again later",
                self.gateway + 1,
                started.elapsed().as_secs()
            )
        })
    }

    /// A request that got no answer in time (`--http-timeout`): how long to back off before
    /// repeating a call that only reads, within the gateway's bounds; else `error` as it was. A
    /// write is never repeated: the portal may be running it still.
    pub fn after_timeout(
        &mut self,
        method: &str,
        params: &Map<String, Value>,
        error: anyhow::Error,
        started: Instant,
    ) -> Result<Duration> {
        if !is_read(method, params) {
            return Err(error);
        }
        self.next_wait(started).ok_or(error)
    }

    /// The next back-off (from 1 s doubling up to 8 s), counted, while the count and the
    /// patience last.
    fn next_wait(&mut self, started: Instant) -> Option<Duration> {
        let wait = Duration::from_secs(1 << self.gateway.min(3));
        if self.gateway >= GATEWAY_RETRIES || started.elapsed() + wait > GATEWAY_PATIENCE {
            return None;
        }
        self.gateway += 1;
        Some(wait)
    }

    /// Gateway retries made so far.
    pub fn gateway_retries(&self) -> u32 {
        self.gateway
    }
}

/// A gateway's answer rather than the portal's: a non-JSON 502, 503 or 504, or an HTML page
/// with any 5xx (fast_bitrix24 issues 216 and 85: the portal behind it is down or slow).
pub fn is_gateway_page(status: reqwest::StatusCode, body: &[u8]) -> bool {
    let html = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'<');
    matches!(status.as_u16(), 502..=504) || (status.is_server_error() && html)
}

/// Whole method names that only read, beside the suffixes in [`READ_SUFFIXES`].
const READ_METHODS: [&str; 8] = [
    "profile",
    "app.info",
    "user.current",
    "user.admin",
    "scope",
    "methods",
    "server.time",
    "access.name",
];

/// The last part of a method name that reads (`crm.deal.list`, `crm.deal.get`, …).
const READ_SUFFIXES: [&str; 6] = ["list", "get", "fields", "search", "getlist", "getfields"];

/// Whether `method` (with `params`, for `batch`: every command in `cmd`) only reads. Bitrix24
/// spells methods in any case.
pub fn is_read(method: &str, params: &Map<String, Value>) -> bool {
    let method = method.to_ascii_lowercase();
    if method == "batch" {
        return batch_reads(params);
    }
    let last = method.rsplit('.').next().unwrap_or(&method);
    READ_METHODS.contains(&method.as_str())
        || (method.contains('.') && READ_SUFFIXES.contains(&last))
}

/// Every command of a `batch` reads (a `cmd` b24auth cannot read counts as a write).
fn batch_reads(params: &Map<String, Value>) -> bool {
    let commands: Vec<&Value> = match params.get("cmd") {
        Some(Value::Object(cmd)) => cmd.values().collect(),
        Some(Value::Array(cmd)) => cmd.iter().collect(),
        _ => return false,
    };
    commands.into_iter().all(|c| {
        c.as_str()
            .map(|c| c.split('?').next().unwrap_or(c))
            .is_some_and(|m| m != "batch" && is_read(m, &Map::new()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn batch(cmd: Value) -> Map<String, Value> {
        json!({"cmd": cmd}).as_object().unwrap().clone()
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
    fn reads_are_told_from_writes() {
        let none = Map::new();
        for m in [
            "crm.deal.list",
            "CRM.Deal.Get",
            "crm.deal.fields",
            "profile",
            "user.current",
        ] {
            assert!(is_read(m, &none), "{m}");
        }
        for m in [
            "crm.deal.add",
            "crm.deal.update",
            "crm.deal.delete",
            "list",
            "im.notify",
        ] {
            assert!(!is_read(m, &none), "{m}");
        }
        let reads = batch(json!({"a": "crm.deal.list?start=0", "b": "user.current"}));
        assert!(is_read("batch", &reads));
        assert!(is_read("batch", &batch(json!(["crm.deal.get?id=1"]))));
        let mixed = batch(json!({"a": "crm.deal.list", "b": "crm.deal.add?fields[TITLE]=x"}));
        assert!(!is_read("batch", &mixed));
        assert!(!is_read("batch", &batch(json!({"a": 1}))));
        assert!(!is_read("batch", &none));
    }
}
