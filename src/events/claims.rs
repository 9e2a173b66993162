/*!
One `serve` host's claims on the shared queue's events: short leases (30 s), renewed every third
of a lease while their handlers run, so a host that dies holds its events for at most one lease,
while a live one keeps a handler that runs for hours.

Each claim has a deadline on this host's clock, counted from before the claim or renewal was
asked (so never later than the database's own): a claim not renewed by then is given up and its
handler stopped before another host can take the event. Two live hosts never run one event at
once, even when this one cannot reach the database.
*/

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use anyhow::Result;
use tokio::time::Instant;

use crate::store::queue::{EventQueue, Queued};
use crate::ui::Ui;

const DEFAULT_LEASE: Duration = Duration::from_secs(30);
const SHORTEST_LEASE: Duration = Duration::from_secs(1);

/// The lease of a claim: 30 s, or `B24AUTH_EVENT_LEASE` (e.g. `2s`; at least 1 s), which tests
/// shorten so that a dead host's events come free sooner.
pub(crate) fn lease() -> Duration {
    std::env::var("B24AUTH_EVENT_LEASE")
        .ok()
        .and_then(|v| humantime::parse_duration(&v).ok())
        .map_or(DEFAULT_LEASE, |d| d.max(SHORTEST_LEASE))
}

pub(crate) struct Claims {
    /// This host's mark on its claims: only it renews them.
    holder: String,
    lease: Duration,
    /// The events this host holds and until when, on its own clock.
    held: RefCell<HashMap<String, Instant>>,
}

impl Claims {
    pub fn new(lease: Duration) -> Claims {
        Claims {
            holder: crate::secret::random_hex(16),
            lease,
            held: RefCell::new(HashMap::new()),
        }
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// A sixth of the lease to spare for the clocks' drift and the statement's way back.
    fn until(&self, asked: Instant) -> Instant {
        asked + self.lease - self.lease / 6
    }

    /// Claims at most `most` events.
    pub async fn take(&self, queue: &dyn EventQueue, most: usize) -> Result<Vec<Queued>> {
        let asked = Instant::now();
        let taken = queue.claim(&self.holder, self.lease, most).await?;
        let mut held = self.held.borrow_mut();
        for q in &taken {
            held.insert(q.id.clone(), self.until(asked));
        }
        Ok(taken)
    }

    /// Renews every held claim each third of a lease; never returns.
    pub async fn keep_renewing(&self, queue: &dyn EventQueue, ui: &Ui) {
        loop {
            tokio::time::sleep(self.lease / 3).await;
            let ids: Vec<String> = self.held.borrow().keys().cloned().collect();
            if ids.is_empty() {
                continue;
            }
            let asked = Instant::now();
            match queue.renew(&self.holder, &ids, self.lease).await {
                Ok(renewed) => {
                    let mut held = self.held.borrow_mut();
                    for id in &ids {
                        if let Some(until) = held.get_mut(id) {
                            // Not renewed: no longer this host's (or gone), so stop at once.
                            *until = match renewed.contains(id) {
                                true => self.until(asked),
                                false => asked,
                            };
                        }
                    }
                }
                // The deadlines stay: the next renewal may still come in time.
                Err(e) => ui.warn(format_args!(
                    "b24auth: cannot renew the event claims: {e:#}"
                )),
            }
        }
    }

    /// True while this host holds `id`'s claim.
    pub fn holds(&self, id: &str) -> bool {
        let held = self
            .held
            .borrow()
            .get(id)
            .is_some_and(|u| *u > Instant::now());
        if !held {
            self.settled(id);
        }
        held
    }

    /// Claims taken and not started (at a stop): free at once for any host.
    pub async fn release(&self, queue: &dyn EventQueue, ids: &[String]) {
        for id in ids {
            self.settled(id);
        }
        // Renewed for no time; should that fail, they come free when their lease ends anyway.
        let _ = queue.renew(&self.holder, ids, Duration::ZERO).await;
    }

    /// Returns once the claim on `id` has run out without renewal.
    pub async fn lost(&self, id: &str) {
        loop {
            let Some(until) = self.held.borrow().get(id).copied() else {
                return;
            };
            if until <= Instant::now() {
                return;
            }
            tokio::time::sleep_until(until).await;
        }
    }

    /// The event's handler is over: its claim is renewed no more.
    pub fn settled(&self, id: &str) {
        self.held.borrow_mut().remove(id);
    }
}
