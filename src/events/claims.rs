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
    /// Wakes the handlers' watchers when a renewal moved their deadlines.
    renewed: tokio::sync::Notify,
}

impl Claims {
    pub fn new(lease: Duration) -> Claims {
        Claims {
            holder: crate::secret::random_hex(16),
            lease,
            held: RefCell::new(HashMap::new()),
            renewed: tokio::sync::Notify::new(),
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
            // A claim already run out is given up, never revived.
            let now = Instant::now();
            let ids: Vec<String> = self
                .held
                .borrow()
                .iter()
                .filter(|(_, until)| **until > now)
                .map(|(id, _)| id.clone())
                .collect();
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
                    self.renewed.notify_waiters();
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
            let renewed = self.renewed.notified();
            let Some(until) = self.held.borrow().get(id).copied() else {
                return;
            };
            if until <= Instant::now() {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep_until(until) => {}
                () = renewed => {}
            }
        }
    }

    /// The event's handler is over: its claim is renewed no more.
    pub fn settled(&self, id: &str) {
        self.held.borrow_mut().remove(id);
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use futures_util::future::{FutureExt, LocalBoxFuture};

    use super::*;

    /// A queue that hands out one event; its renewals succeed, fail, or find another holder.
    struct OneEvent {
        renewal: Cell<Option<bool>>,
    }

    impl EventQueue for OneEvent {
        fn push<'a>(&'a self, _: &'a Queued) -> LocalBoxFuture<'a, Result<()>> {
            async { Ok(()) }.boxed_local()
        }
        fn claim<'a>(
            &'a self,
            _: &'a str,
            _: Duration,
            _: usize,
        ) -> LocalBoxFuture<'a, Result<Vec<Queued>>> {
            let q = Queued {
                id: "e1".into(),
                profile: "default".into(),
                event: "ONCRMDEALADD".into(),
                received_at: 0,
                payload: "{}".into(),
            };
            async move { Ok(vec![q]) }.boxed_local()
        }
        fn renew<'a>(
            &'a self,
            _: &'a str,
            ids: &'a [String],
            _: Duration,
        ) -> LocalBoxFuture<'a, Result<Vec<String>>> {
            let answer = match self.renewal.get() {
                Some(true) => Ok(ids.to_vec()),
                Some(false) => Ok(Vec::new()),
                None => Err(anyhow::anyhow!("connection refused")),
            };
            async move { answer }.boxed_local()
        }
        fn done<'a>(&'a self, _: &'a str) -> LocalBoxFuture<'a, Result<()>> {
            async { Ok(()) }.boxed_local()
        }
        fn fail<'a>(&'a self, _: &'a str, _: &'a str) -> LocalBoxFuture<'a, Result<()>> {
            async { Ok(()) }.boxed_local()
        }
        fn failed(&self) -> LocalBoxFuture<'_, Result<Vec<Queued>>> {
            async { Ok(Vec::new()) }.boxed_local()
        }
        fn ping(&self) -> LocalBoxFuture<'_, Result<()>> {
            async { Ok(()) }.boxed_local()
        }
        fn retry<'a>(&'a self, _: &'a str) -> LocalBoxFuture<'a, Result<bool>> {
            async { Ok(false) }.boxed_local()
        }
    }

    /// How long the claim on the one event is held under `renewal` (`None`: still after 20
    /// leases).
    async fn held_for(renewal: Option<bool>) -> Option<Duration> {
        let queue = OneEvent {
            renewal: Cell::new(renewal),
        };
        let claims = Claims::new(DEFAULT_LEASE);
        let ui = Ui::new(true);
        let start = Instant::now();
        assert_eq!(claims.take(&queue, 8).await.unwrap().len(), 1);
        tokio::select! {
            () = claims.lost("e1") => Some(start.elapsed()),
            () = claims.keep_renewing(&queue, &ui) => unreachable!(),
            () = tokio::time::sleep(DEFAULT_LEASE * 20) => None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_renewed_claim_is_held_for_many_leases() {
        assert_eq!(held_for(Some(true)).await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_claim_that_cannot_be_renewed_is_given_up_before_its_lease_ends() {
        let held = held_for(None).await.expect("given up");
        assert!(held < DEFAULT_LEASE, "{held:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_claim_another_host_holds_is_given_up_at_the_first_renewal() {
        let held = held_for(Some(false)).await.expect("given up");
        assert_eq!(held, DEFAULT_LEASE / 3);
    }
}
