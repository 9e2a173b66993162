/*!
The event queue a store can hold for `serve` when several hosts share it (the PostgreSQL store):
an accepted event is a row committed before its 200; a host claims the oldest unclaimed ones
with `FOR UPDATE SKIP LOCKED` for a short lease, renews the lease while their handlers run, then
deletes each (or marks it failed). A host that dies stops renewing: within one lease its events
are handed out again (at least once, and twice only after a crash). Plain values only, so the
store knows nothing of `events/`.
*/

use std::time::Duration;

use anyhow::Result;
use futures_util::future::LocalBoxFuture;

/// One event as the queue keeps it.
#[derive(Debug, Clone)]
pub(crate) struct Queued {
    pub id: String,
    pub profile: String,
    pub event: String,
    pub received_at: i64,
    /// The handler's JSON, as text.
    pub payload: String,
}

pub(crate) trait EventQueue {
    /// Keeps `event` durably (committed) before returning.
    fn push<'a>(&'a self, event: &'a Queued) -> LocalBoxFuture<'a, Result<()>>;
    /// Claims for `holder` the `most` oldest events no live claim holds, each for `lease`
    /// (none when there is none).
    fn claim<'a>(
        &'a self,
        holder: &'a str,
        lease: Duration,
        most: usize,
    ) -> LocalBoxFuture<'a, Result<Vec<Queued>>>;
    /// Extends by `lease` those of `ids` that `holder` still holds; the ids it extended (one
    /// not among them may be another host's by now).
    fn renew<'a>(
        &'a self,
        holder: &'a str,
        ids: &'a [String],
        lease: Duration,
    ) -> LocalBoxFuture<'a, Result<Vec<String>>>;
    /// The event's handler is done: gone from the queue.
    fn done<'a>(&'a self, id: &'a str) -> LocalBoxFuture<'a, Result<()>>;
    /// The event's handler failed for good: kept as failed, handed out no more (unless
    /// `holder` lost the claim meanwhile: then its new holder decides).
    fn fail<'a>(&'a self, holder: &'a str, id: &'a str) -> LocalBoxFuture<'a, Result<()>>;
    fn failed(&self) -> LocalBoxFuture<'_, Result<Vec<Queued>>>;
    /// A cheap round trip (`SELECT 1`): Ok while the queue can be reached.
    fn ping(&self) -> LocalBoxFuture<'_, Result<()>>;
    /// A failed event back in the queue; false when there is no such failed event.
    fn retry<'a>(&'a self, id: &'a str) -> LocalBoxFuture<'a, Result<bool>>;
}
