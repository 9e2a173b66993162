/*!
Where `serve` keeps accepted events: the spool beside the profiles (the file store: one host),
or the store's own queue (PostgreSQL: every host behind one address shares it, each event
claimed by one host at a time). The dispatcher and the door speak only to this.
*/

use anyhow::{anyhow, Result};

use super::queue::{Entry, Spool};
use crate::store::queue::{EventQueue, Queued};

#[derive(Clone, Copy)]
pub(crate) enum Backlog<'a> {
    Spool(&'a Spool),
    Shared(&'a dyn EventQueue),
}

impl Backlog<'_> {
    /// Keeps `entry` durably: fsynced in the spool, or committed in the database.
    pub async fn keep(&self, entry: &Entry) -> Result<()> {
        match self {
            Backlog::Spool(spool) => {
                // Off the async thread, so the writes of concurrent events overlap.
                let (spool, entry) = ((*spool).clone(), entry.clone());
                tokio::task::spawn_blocking(move || spool.put(&entry.id.clone(), &[entry]))
                    .await
                    .map_err(|e| anyhow!("the write stopped: {e}"))?
            }
            Backlog::Shared(queue) => queue.push(&to_queued(entry)).await,
        }
    }

    /// The failed events, oldest first.
    pub async fn failed(&self) -> Result<Vec<Entry>> {
        match self {
            Backlog::Spool(spool) => spool.failed(),
            Backlog::Shared(queue) => Ok(queue.failed().await?.iter().map(from_queued).collect()),
        }
    }

    /// A failed event back in the queue; false when there is no such failed event.
    pub async fn retry(&self, id: &str) -> Result<bool> {
        match self {
            Backlog::Spool(spool) => spool.retry(id),
            Backlog::Shared(queue) => queue.retry(id).await,
        }
    }
}

pub(crate) fn to_queued(e: &Entry) -> Queued {
    Queued {
        id: e.id.clone(),
        profile: e.profile.clone(),
        event: e.event.clone(),
        received_at: e.received_at,
        payload: e.payload.to_string(),
    }
}

/// An event read back from the database: its payload was written by b24auth as JSON; a row
/// that is not is handed on as a JSON string rather than dropped.
pub(crate) fn from_queued(q: &Queued) -> Entry {
    Entry {
        id: q.id.clone(),
        profile: q.profile.clone(),
        event: q.event.clone(),
        received_at: q.received_at,
        payload: serde_json::from_str(&q.payload)
            .unwrap_or_else(|_| serde_json::Value::String(q.payload.clone())),
    }
}
