/*!
The event queue a store can hold for `serve` when several hosts share it (the PostgreSQL store):
an accepted event is a row committed before its 200; a host claims the oldest unclaimed one with
`FOR UPDATE SKIP LOCKED` for a lease, runs its handler, then deletes it (or marks it failed). A
host that dies leaves its claim to expire: the event is handed out again (at least once, and
twice only after a crash). Plain values only, so the store knows nothing of `events/`.
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
    /// Claims the oldest event no live claim holds, for `lease`; `None` when there is none.
    fn claim(&self, lease: Duration) -> LocalBoxFuture<'_, Result<Option<Queued>>>;
    /// The event's handler is done: gone from the queue.
    fn done<'a>(&'a self, id: &'a str) -> LocalBoxFuture<'a, Result<()>>;
    /// The event's handler failed for good: kept as failed, handed out no more.
    fn fail<'a>(&'a self, id: &'a str) -> LocalBoxFuture<'a, Result<()>>;
    fn failed(&self) -> LocalBoxFuture<'_, Result<Vec<Queued>>>;
    /// A failed event back in the queue; false when there is no such failed event.
    fn retry<'a>(&'a self, id: &'a str) -> LocalBoxFuture<'a, Result<bool>>;
}
