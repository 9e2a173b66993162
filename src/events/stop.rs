/*!
`serve`'s orderly stop on SIGTERM: no new request is taken (503 `Stopping`), the requests in
flight are answered (an event being written is kept and answered 200), the handlers running
finish within a grace, and whatever is left stays pending in the spool for the next start. The
run then ends 143, as any stop by SIGTERM does.
*/

use std::cell::Cell;
use std::time::Duration;

use tokio::sync::Notify;

/// How long the requests in flight, then the handlers running, may take once stopping.
pub(crate) const GRACE: Duration = Duration::from_secs(10);

#[derive(Default)]
pub(crate) struct Stopping {
    stopping: Cell<bool>,
    in_flight: Cell<usize>,
    changed: Notify,
}

/// A request being handled; its end is counted when dropped.
pub(crate) struct InFlight<'a>(&'a Stopping);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.set(self.0.in_flight.get() - 1);
        self.0.changed.notify_waiters();
    }
}

impl Stopping {
    /// A request may start; `None` once stopping.
    pub fn enter(&self) -> Option<InFlight<'_>> {
        if self.stopping.get() {
            return None;
        }
        self.in_flight.set(self.in_flight.get() + 1);
        Some(InFlight(self))
    }

    pub fn begin(&self) {
        self.stopping.set(true);
        self.changed.notify_waiters();
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.get()
    }

    /// Resolves once stopping and no request is in flight.
    pub async fn drained(&self) {
        loop {
            let changed = self.changed.notified();
            if self.stopping.get() && self.in_flight.get() == 0 {
                return;
            }
            changed.await;
        }
    }

    /// Resolves once stopping has begun.
    pub async fn begun(&self) {
        loop {
            let changed = self.changed.notified();
            if self.stopping.get() {
                return;
            }
            changed.await;
        }
    }
}
