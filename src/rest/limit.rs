/*!
Bitrix24's limits beyond the request bucket (`rest::Bucket`): the plan presets of the bucket
and the operating-time budget — each method may spend 480 s of the portal's processing time per
10 minutes (which errors mean "slow down" is `bitrix::ErrorCode`'s call). Answers report what a method has spent
(`time.operating`) and when the window releases it (`time.operating_reset_at`); the budget
remembers both per method and says how long to wait before a call that would run it out.
*/

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Map, Value};

/// The portal's plan: how fast its bucket drains and how much it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Plan {
    /// 2 requests/s, burst 50 (every cloud plan but Enterprise)
    Standard,
    /// 5 requests/s, burst 250
    Enterprise,
}

impl Plan {
    /// (requests per second, burst).
    pub fn limits(self) -> (f64, u32) {
        match self {
            Plan::Standard => (2.0, 50),
            Plan::Enterprise => (5.0, 250),
        }
    }
}

/// A method's operating time per window, in seconds.
pub const OPERATING_LIMIT: f64 = 480.0;

/// Headroom kept below the limit: a call that starts below it may still run long (a batch of
/// 50 list pages costs seconds), and one that starts above it would be refused.
pub const OPERATING_MARGIN: f64 = 60.0;

/// The per-method operating time the portal last reported.
#[derive(Debug, Default)]
pub struct Budget {
    /// method → (seconds spent, unix time the window releases them).
    spent: HashMap<String, (f64, f64)>,
}

/// A wait the budget asks for: which method, what it spent, how long.
#[derive(Debug, Clone, PartialEq)]
pub struct Wait {
    pub method: String,
    pub spent: f64,
    pub duration: Duration,
}

impl std::fmt::Display for Wait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} has used {:.0} s of its {OPERATING_LIMIT:.0} s per 10 min operating time; waiting {:.0} s for the portal to release it",
            self.method,
            self.spent,
            self.duration.as_secs_f64().ceil()
        )
    }
}

impl Budget {
    /// Records the `time` of an answer to `method`; for `batch`, also each command's
    /// `result_time` under the method its `cmd` names.
    pub fn observe(
        &mut self,
        method: &str,
        params: &Map<String, Value>,
        answer: &Map<String, Value>,
    ) {
        if let Some(time) = answer.get("time") {
            self.record(method, time);
        }
        if method != "batch" {
            return;
        }
        let times = answer
            .get("result")
            .and_then(|r| r.get("result_time"))
            .and_then(Value::as_object);
        for (key, time) in times.into_iter().flatten() {
            if let Some(inner) = inner_method(params, key) {
                self.record(inner, time);
            }
        }
    }

    fn record(&mut self, method: &str, time: &Value) {
        let (Some(spent), Some(reset)) = (
            time.get("operating").and_then(Value::as_f64),
            time.get("operating_reset_at").and_then(Value::as_f64),
        ) else {
            return;
        };
        self.spent.insert(method.to_string(), (spent, reset));
    }

    /// The portal refused `method` for its operating time: nothing is left until the reset.
    pub fn exhausted(&mut self, method: &str) {
        if let Some(entry) = self.spent.get_mut(method) {
            entry.0 = entry.0.max(OPERATING_LIMIT);
        }
    }

    /// How long to wait before calling `method` (with `params`, for `batch`) at unix time
    /// `now`: until the window resets, when what is spent is within the margin of the limit.
    pub fn wait(&self, method: &str, params: &Map<String, Value>, now: f64) -> Option<Wait> {
        let mut methods = vec![method];
        if method == "batch" {
            if let Some(Value::Object(cmd)) = params.get("cmd") {
                methods.extend(cmd.keys().filter_map(|k| inner_method(params, k)));
            }
        }
        methods
            .into_iter()
            .filter_map(|m| {
                let &(spent, reset) = self.spent.get(m)?;
                let left = reset - now;
                (spent >= OPERATING_LIMIT - OPERATING_MARGIN && left > 0.0).then(|| Wait {
                    method: m.to_string(),
                    spent,
                    // A little past the reset: the portal's clock counts whole seconds.
                    duration: Duration::from_secs_f64(left.min(600.0) + 0.1),
                })
            })
            .max_by(|a, b| a.duration.cmp(&b.duration))
    }
}

/// The method of the batch command `key`: `cmd[key]` up to its `?`.
fn inner_method<'a>(params: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    let cmd = params.get("cmd")?.get(key)?.as_str()?;
    Some(cmd.split('?').next().unwrap_or(cmd))
}

/// Seconds since the Unix epoch, as the portal's `operating_reset_at` counts.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn plans() {
        assert_eq!(Plan::Enterprise.limits(), (5.0, 250));
        assert_eq!(Plan::Standard.limits(), (2.0, 50));
    }

    #[test]
    fn the_budget_waits_only_near_the_limit_and_until_the_reset() {
        let mut b = Budget::default();
        let none = Map::new();
        b.observe(
            "crm.deal.list",
            &none,
            &obj(json!({"time": {"operating": 100.0, "operating_reset_at": 1000}})),
        );
        assert_eq!(b.wait("crm.deal.list", &none, 990.0), None);
        b.observe(
            "crm.deal.list",
            &none,
            &obj(json!({"time": {"operating": 430.5, "operating_reset_at": 1000}})),
        );
        let w = b.wait("crm.deal.list", &none, 990.0).unwrap();
        assert_eq!(w.method, "crm.deal.list");
        assert!((w.duration.as_secs_f64() - 10.1).abs() < 1e-6);
        assert!(w
            .to_string()
            .starts_with("crm.deal.list has used 430 s of its 480 s"));
        assert_eq!(
            b.wait("crm.deal.list", &none, 1000.5),
            None,
            "after the reset"
        );
        assert_eq!(b.wait("user.current", &none, 990.0), None);
    }

    #[test]
    fn batch_answers_charge_each_commands_method() {
        let mut b = Budget::default();
        let params =
            obj(json!({"cmd": {"cmd0": "crm.deal.list?start=50", "cmd1": "user.current"}}));
        b.observe(
            "batch",
            &params,
            &obj(json!({"result": {"result_time": {
                "cmd0": {"operating": 475.0, "operating_reset_at": 2000},
                "cmd1": {"operating": 1.0, "operating_reset_at": 2000}
            }}, "time": {"operating": 0.1, "operating_reset_at": 2000}})),
        );
        let w = b.wait("batch", &params, 1990.0).unwrap();
        assert_eq!(w.method, "crm.deal.list");
        assert!(b.wait("crm.deal.list", &Map::new(), 1990.0).is_some());
        assert!(b.wait("user.current", &Map::new(), 1990.0).is_none());
        b.exhausted("user.current");
        assert!(b.wait("user.current", &Map::new(), 1990.0).is_some());
    }
}
