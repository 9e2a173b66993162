/*!
How fast this process may call the portal: the plan's bucket (`--plan`, `--rate`, `--burst`,
else the plan `app.info`'s `LICENSE_FAMILY` names), the operating-time budget
(`--operating-limit`), the number of requests in flight (`--concurrency`), all applied through
the portal's state shared by every b24auth process on the host (`bucket.rs`).
*/

use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::{Map, Value};

use super::bucket::{BudgetFile, SAY_WAITING_AFTER};
use super::operating;
use super::plans::Plan;
use crate::ui::Ui;

/// Requests in flight at once for `--all` and `batch` when `--concurrency` is not given: enough
/// to keep the portal busy at the standard bucket's pace (2 requests/s, each up to 50 commands
/// that take the portal tens of milliseconds each), few enough to leave most of the burst to the
/// host's other callers.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// Slots of the portal's burst this host never counts on: a request admitted at its slot may
/// reach the portal a little before one admitted earlier (another process, a slower start), and
/// the portal counts arrivals.
fn headroom(burst: f64) -> f64 {
    (burst / 16.0).clamp(0.0, 3.0).floor()
}

/// What the user asked for (the command-line options, resolved by `cli`).
#[derive(Debug, Clone, Default)]
pub(crate) struct PaceOptions {
    pub rate: Option<f64>,
    pub burst: Option<u32>,
    pub plan: Option<Plan>,
    /// `--operating-limit` in seconds (`Some(0.0)`: the portal has none).
    pub operating_limit: Option<f64>,
    pub concurrency: Option<usize>,
}

impl PaceOptions {
    pub fn concurrency(&self) -> usize {
        self.concurrency.unwrap_or(DEFAULT_CONCURRENCY).max(1)
    }
}

/// The pace of one process towards one portal.
pub(crate) struct Pace {
    pub shared: BudgetFile,
    rate: f64,
    burst: f64,
    operating_limit: Option<f64>,
    /// A self-hosted portal without `--rate`: no request bucket to wait for.
    unlimited: bool,
    /// When this process last said it was waiting for the budget.
    said: std::sync::Mutex<Option<Instant>>,
    /// Whether this process has warned that it could not record what an answer said.
    warned: std::sync::atomic::AtomicBool,
    ui: Ui,
}

impl Pace {
    pub fn new(shared: BudgetFile, plan: Plan, options: &PaceOptions, ui: Ui) -> Pace {
        let mut pace = Pace {
            shared,
            rate: 1.0,
            burst: 1.0,
            operating_limit: options.operating_limit,
            unlimited: false,
            said: std::sync::Mutex::new(None),
            warned: std::sync::atomic::AtomicBool::new(false),
            ui,
        };
        pace.set_plan(plan, options);
        pace
    }

    /// Paces by `plan` from now on (learned after the start), the options still winning.
    pub fn set_plan(&mut self, plan: Plan, options: &PaceOptions) {
        let (rate, burst) = plan.limits();
        let burst = f64::from(options.burst.unwrap_or(burst));
        self.rate = options.rate.unwrap_or(rate);
        self.burst = (burst - headroom(burst)).max(1.0);
    }

    /// The portal is self-hosted: it has no cloud request bucket, so none is kept unless
    /// `--rate` asks for one.
    pub fn set_selfhosted(&mut self, options: &PaceOptions) {
        self.unlimited = options.rate.is_none();
    }

    /// Waits until `method` may be called: first for its operating-time window, then for a
    /// slot in the bucket.
    pub async fn admit(&self, method: &str, params: &Map<String, Value>) -> Result<()> {
        let limit = self.operating_limit;
        let wait = self
            .shared
            .with(|s, now| operating::wait(&s.window, limit, method, params, now))
            .await?;
        if let Some(wait) = wait {
            self.ui.info(format_args!("b24auth: {wait}"));
            tokio::time::sleep(wait.duration).await;
        }
        if self.unlimited {
            return Ok(());
        }
        let (rate, burst) = (self.rate, self.burst);
        let slot = self
            .shared
            .with(|s, now| s.reserve(rate, burst, now))
            .await?;
        if slot >= SAY_WAITING_AFTER {
            self.say_waiting(slot);
        }
        tokio::time::sleep(slot).await;
        Ok(())
    }

    /// Once every ten seconds at most: a caller that waits its turn says so.
    fn say_waiting(&self, slot: Duration) {
        let mut said = self.said.lock().unwrap_or_else(|e| e.into_inner());
        if said.is_some_and(|t| t.elapsed() < Duration::from_secs(10)) {
            return;
        }
        *said = Some(Instant::now());
        self.ui.info(format_args!(
            "b24auth: waiting {:.0} s for the portal's request budget (shared by every b24auth on this host)",
            slot.as_secs_f64().ceil()
        ));
    }

    /// The portal said its bucket is full.
    pub async fn congested(&self) -> Result<()> {
        let (rate, burst) = (self.rate, self.burst);
        self.shared
            .with(|s, now| s.congested(rate, burst, now))
            .await
    }

    /// Remembers what an answer says about the operating time, as far as it can: the portal
    /// has already run the call, so a budget file that cannot be locked or written (another
    /// holder past the patience, a full disk) must not fail it. Says so once per process;
    /// returns whether it was recorded.
    pub async fn observe(
        &self,
        method: &str,
        params: &Map<String, Value>,
        answer: &Map<String, Value>,
    ) -> bool {
        let recorded = self
            .shared
            .with(|s, now| operating::observe(&mut s.window, now, method, params, answer))
            .await;
        let Err(e) = recorded else {
            return true;
        };
        crate::ui::log::note(format_args!(
            "{method}: the answer's operating time is not recorded: {e:#}"
        ));
        if !self.warned.swap(true, std::sync::atomic::Ordering::Relaxed) {
            self.ui.warn(format_args!(
                "cannot record the portal's operating time in the shared budget ({e:#}); the calls go on"
            ));
        }
        false
    }

    /// The portal refused `method` for its operating time: how long until it resets.
    pub async fn exhausted(&self, method: &str) -> Result<Option<Duration>> {
        self.shared
            .with(|s, now| operating::exhausted(&mut s.window, method, now))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headroom_is_a_few_slots() {
        assert_eq!(headroom(50.0), 3.0);
        assert_eq!(headroom(250.0), 3.0);
        assert_eq!(headroom(10.0), 0.0);
        assert_eq!(headroom(1.0), 0.0);
    }

    #[tokio::test]
    async fn an_unwritable_budget_does_not_fail_a_call_the_portal_ran() {
        let tmp = tempfile::tempdir().unwrap();
        let shared = BudgetFile::open(tmp.path(), "p.example", 50.0, Ui::new(true)).unwrap();
        let pace = Pace::new(
            shared,
            Plan::Standard,
            &PaceOptions::default(),
            Ui::new(true),
        );
        let answer = serde_json::json!({"time": {"operating": 1.0, "operating_reset_at": 1.0}});
        let answer = answer.as_object().unwrap();
        assert!(pace.observe("profile", &Map::new(), answer).await);
        std::fs::remove_dir_all(tmp.path().join("budget")).unwrap();
        assert!(!pace.observe("profile", &Map::new(), answer).await);
        assert!(pace.warned.load(std::sync::atomic::Ordering::Relaxed));
    }
}
