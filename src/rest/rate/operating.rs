/*!
The portal's operating-time window — each method may spend the portal's configured processing
time per 10 minutes (480 s is the cloud's example; on-premise portals have no limit unless switched on;
which errors mean "slow down" is `bitrix::ErrorCode`'s call). Answers report what a method has
spent (`time.operating`) and when the window releases it (`time.operating_reset_at`); the
[`Window`] (kept in the shared state of `bucket.rs`) remembers both per method for every process
on the host, and the functions here say how long to wait before a call that would run it out.
*/

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What every process on the host knows about the portal's operating-time window.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Window {
    /// method → (operating seconds spent, unix time the window releases them).
    pub operating: BTreeMap<String, (f64, f64)>,
    /// The operating limit the portal showed by refusing a method (seconds), if it did.
    pub learned_limit: Option<f64>,
    /// Unix time the window it was shown in ends: the limit is forgotten then (a limit learned
    /// from a stale spend must not slow every later window).
    pub learned_until: Option<f64>,
}

impl Window {
    /// Whether every number is one the window can work with (finite, not negative, not
    /// absurd) as of `now`.
    pub fn sane(&self, now: f64) -> bool {
        let ok = |x: f64| x.is_finite() && x >= 0.0;
        self.operating.values().all(|&(spent, reset)| {
            ok(spent) && spent <= 1e6 && ok(reset) && reset <= now + LONGEST_RESET
        }) && self
            .learned_limit
            .is_none_or(|l| ok(l) && l <= LARGEST_LIMIT)
            && self
                .learned_until
                .is_none_or(|u| ok(u) && u <= now + LONGEST_RESET)
    }

    /// The limit the portal showed, while the window it was shown in lasts, never below
    /// [`SMALLEST_LIMIT`].
    pub fn learned(&self, now: f64) -> Option<f64> {
        let until = self.learned_until?;
        let limit = self.learned_limit?;
        (now < until).then_some(limit.max(SMALLEST_LIMIT))
    }
}

/// A method's operating time per window when nobody said otherwise, in seconds: the cloud's.
pub const OPERATING_LIMIT: f64 = 480.0;

/// Headroom kept below the limit, as a share of it: a call that starts below may still run long
/// (a batch of 50 list pages costs seconds), and one that starts above would be refused.
const OPERATING_MARGIN: f64 = 0.125;

/// The longest wait for a window to release a method: the window itself (10 min) and a second.
pub const LONGEST_WAIT: Duration = Duration::from_secs(601);

/// The furthest a window's reset may lie past now, in seconds: the window itself (10 min) and a
/// minute for clocks apart. A reset further off is a server's nonsense, not a window.
pub const LONGEST_RESET: f64 = 660.0;

/// The smallest operating limit a refusal may teach, in seconds: a spend recorded before the
/// window turned (0.01 s, say) is no limit, and taken for one it would hold every call of the
/// method for a whole window. A portal set lower is told with `--operating-limit`.
pub const SMALLEST_LIMIT: f64 = 60.0;

/// A window's length, in seconds.
const WINDOW: f64 = 600.0;

/// The largest operating limit a refusal may teach, in seconds: a window's length.
pub const LARGEST_LIMIT: f64 = 600.0;

/// `left` seconds (and a little past, for the portal's whole-second clock) as a wait, never
/// longer than `LONGEST_WAIT`; clamped before converting, so no server's number can panic it.
fn wait_for(left: f64) -> Duration {
    Duration::from_secs_f64((left + 0.1).clamp(0.0, LONGEST_WAIT.as_secs_f64()))
}

/// A wait the budget asks for: which method, what it spent, how long.
#[derive(Debug, Clone, PartialEq)]
pub struct Wait {
    pub method: String,
    pub spent: f64,
    pub limit: f64,
    pub duration: Duration,
}

impl std::fmt::Display for Wait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} has used {:.0} s of its {:.0} s per 10 min operating time; waiting {:.0} s for the portal to release it",
            self.method,
            self.spent,
            self.limit,
            self.duration.as_secs_f64().ceil()
        )
    }
}

/// Records the `time` of an answer to `method`; for `batch`, also each command's
/// `result_time` under the method its `cmd` names.
pub fn observe(
    state: &mut Window,
    now: f64,
    method: &str,
    params: &Map<String, Value>,
    answer: &Map<String, Value>,
) {
    if let Some(time) = answer.get("time") {
        record(state, now, method, time);
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
            record(state, now, inner, time);
        }
    }
}

fn record(state: &mut Window, now: f64, method: &str, time: &Value) {
    let number = |k: &str| {
        time.get(k)
            .and_then(Value::as_f64)
            .filter(|x| x.is_finite())
    };
    let (Some(spent), Some(reset)) = (number("operating"), number("operating_reset_at")) else {
        return;
    };
    // A window is 10 minutes: a reset further off than that (or an absurd spend) is refused,
    // never kept for every process on the host to wait on.
    if (0.0..=1e6).contains(&spent) && reset >= 0.0 && reset <= now + LONGEST_RESET {
        // The portal counts a method in any case as one (it lower-cases the name).
        state
            .operating
            .insert(method.to_ascii_lowercase(), (spent, reset));
    }
}

/// The portal refused `method` for its operating time: what it had spent is its limit (learned,
/// for every process on the host), and nothing is left until the reset. Returns how long until
/// the reset, when the portal has said when that is.
pub fn exhausted(state: &mut Window, method: &str, now: f64) -> Option<Duration> {
    let before = state.learned(now);
    let entry = state.operating.get_mut(&method.to_ascii_lowercase())?;
    if entry.0 > 0.0 {
        let spent = entry.0.clamp(SMALLEST_LIMIT, LARGEST_LIMIT);
        let learned = before.map_or(spent, |l| l.min(spent));
        state.learned_limit = Some(learned);
        let ends = if entry.1 > now { entry.1 } else { now + WINDOW };
        state.learned_until = Some(ends.min(now + LONGEST_RESET));
        entry.0 = entry.0.max(learned);
    }
    let left = entry.1 - now;
    (left > 0.0).then(|| wait_for(left))
}

/// How long to wait before calling `method` (with `params`, for `batch`) at unix time `now`:
/// until the window resets, when what is spent is within the margin of the limit. `limit` is
/// `--operating-limit` (`Some(0)`: none), else what the portal showed, else the cloud's.
pub fn wait(
    state: &Window,
    limit: Option<f64>,
    method: &str,
    params: &Map<String, Value>,
    now: f64,
) -> Option<Wait> {
    let limit = limit.or(state.learned(now)).unwrap_or(OPERATING_LIMIT);
    if limit <= 0.0 {
        return None;
    }
    let mut methods = vec![method];
    if method == "batch" {
        if let Some(Value::Object(cmd)) = params.get("cmd") {
            methods.extend(cmd.keys().filter_map(|k| inner_method(params, k)));
        }
    }
    methods
        .into_iter()
        .filter_map(|m| {
            let &(spent, reset) = state.operating.get(&m.to_ascii_lowercase())?;
            let left = reset - now;
            (spent >= limit * (1.0 - OPERATING_MARGIN) && left > 0.0).then(|| Wait {
                method: m.to_string(),
                spent,
                limit,
                duration: wait_for(left),
            })
        })
        .max_by(|a, b| a.duration.cmp(&b.duration))
}

/// The method of the batch command `key`: `cmd[key]` up to its `?`.
fn inner_method<'a>(params: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    let cmd = params.get("cmd")?.get(key)?.as_str()?;
    Some(cmd.split('?').next().unwrap_or(cmd))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn the_budget_waits_only_near_the_limit_and_until_the_reset() {
        let mut b = Window::default();
        let none = Map::new();
        let answer =
            |spent: f64| obj(json!({"time": {"operating": spent, "operating_reset_at": 1000}}));
        observe(&mut b, 990.0, "crm.deal.list", &none, &answer(100.0));
        assert_eq!(wait(&b, None, "crm.deal.list", &none, 990.0), None);
        observe(&mut b, 990.0, "crm.deal.list", &none, &answer(430.5));
        let w = wait(&b, None, "crm.deal.list", &none, 990.0).unwrap();
        assert_eq!(w.method, "crm.deal.list");
        assert!((w.duration.as_secs_f64() - 10.1).abs() < 1e-6);
        assert!(w
            .to_string()
            .starts_with("crm.deal.list has used 430 s of its 480 s"));
        assert_eq!(
            wait(&b, None, "crm.deal.list", &none, 1000.5),
            None,
            "after the reset"
        );
        assert_eq!(wait(&b, None, "user.current", &none, 990.0), None);
        assert_eq!(
            wait(&b, Some(0.0), "crm.deal.list", &none, 990.0),
            None,
            "no limit"
        );
        assert!(wait(&b, Some(1000.0), "crm.deal.list", &none, 990.0).is_none());
        assert!(wait(&b, Some(100.0), "crm.deal.list", &none, 990.0).is_some());
    }

    #[test]
    fn a_refusal_teaches_the_limit() {
        let mut b = Window::default();
        let none = Map::new();
        observe(
            &mut b,
            990.0,
            "crm.deal.list",
            &none,
            &obj(json!({"time": {"operating": 200.0, "operating_reset_at": 1000}})),
        );
        assert!(wait(&b, None, "crm.deal.list", &none, 990.0).is_none());
        let left = exhausted(&mut b, "crm.deal.list", 990.0).unwrap();
        assert!((left.as_secs_f64() - 10.1).abs() < 1e-6);
        assert_eq!(b.learned_limit, Some(200.0));
        assert!(wait(&b, None, "crm.deal.list", &none, 990.0).is_some());
        assert_eq!(exhausted(&mut b, "unknown", 990.0), None);
    }

    #[test]
    fn a_learned_limit_is_floored_and_forgotten_with_its_window() {
        let mut b = Window::default();
        let none = Map::new();
        let spent = |s: f64, reset: f64| {
            obj(json!({"time": {"operating": s, "operating_reset_at": reset}}))
        };
        observe(&mut b, 990.0, "crm.deal.list", &none, &spent(0.01, 1000.0));
        exhausted(&mut b, "crm.deal.list", 990.0).unwrap();
        assert_eq!(b.learned_limit, Some(SMALLEST_LIMIT), "floored");
        assert_eq!(b.learned(990.0), Some(SMALLEST_LIMIT));
        // The next window: a few seconds spent is far from any limit.
        observe(&mut b, 1001.0, "crm.deal.list", &none, &spent(5.0, 1600.0));
        assert_eq!(wait(&b, None, "crm.deal.list", &none, 1001.0), None);
        assert_eq!(b.learned(1001.0), None, "forgotten with its window");
        // A planted tiny limit with no window is no limit either.
        let planted = Window {
            learned_limit: Some(0.01),
            ..Window::default()
        };
        assert_eq!(planted.learned(1001.0), None);
    }

    #[test]
    fn method_names_are_counted_in_lower_case() {
        let mut b = Window::default();
        let none = Map::new();
        let answer = obj(json!({"time": {"operating": 470.0, "operating_reset_at": 1000}}));
        observe(&mut b, 990.0, "crm.Deal.List", &none, &answer);
        assert!(wait(&b, None, "crm.deal.list", &none, 990.0).is_some());
        assert!(wait(&b, None, "CRM.DEAL.LIST", &none, 990.0).is_some());
        assert!(exhausted(&mut b, "Crm.Deal.List", 990.0).is_some());
    }

    #[test]
    fn batch_answers_charge_each_commands_method() {
        let mut b = Window::default();
        let params =
            obj(json!({"cmd": {"cmd0": "crm.deal.list?start=50", "cmd1": "user.current"}}));
        observe(
            &mut b,
            1990.0,
            "batch",
            &params,
            &obj(json!({"result": {"result_time": {
                "cmd0": {"operating": 475.0, "operating_reset_at": 2000},
                "cmd1": {"operating": 1.0, "operating_reset_at": 2000}
            }}, "time": {"operating": 0.1, "operating_reset_at": 2000}})),
        );
        let w = wait(&b, None, "batch", &params, 1990.0).unwrap();
        assert_eq!(w.method, "crm.deal.list");
        assert!(wait(&b, None, "crm.deal.list", &Map::new(), 1990.0).is_some());
        assert!(wait(&b, None, "user.current", &Map::new(), 1990.0).is_none());
    }

    #[test]
    fn a_servers_absurd_numbers_neither_panic_nor_stay() {
        let mut b = Window::default();
        let none = Map::new();
        let far = obj(json!({"time": {"operating": 479.0, "operating_reset_at": 1e20}}));
        observe(&mut b, 1000.0, "crm.deal.list", &none, &far);
        assert!(b.operating.is_empty(), "a reset past the window is refused");
        // A planted entry still waits no longer than the window, and no panic.
        b.operating.insert("crm.deal.list".into(), (1e9, 1e20));
        let w = wait(&b, None, "crm.deal.list", &none, 1000.0).unwrap();
        assert_eq!(w.duration, LONGEST_WAIT);
        assert_eq!(
            exhausted(&mut b, "crm.deal.list", 1000.0),
            Some(LONGEST_WAIT)
        );
        assert_eq!(b.learned_limit, Some(LARGEST_LIMIT));
    }
}
