/*!
Where `serve` keeps accepted events: the spool beside the profiles (the file store: one host),
or the store's own queue (PostgreSQL: every host behind one address shares it, each event
claimed by one host at a time). The dispatcher and the receiver speak only to this.
*/

use anyhow::Result;

use super::journal::JournalWriter;
use super::spool::{Entry, Spool};

use crate::store::queue::{EventQueue, Queued};

#[derive(Clone, Copy)]
pub(crate) enum Backlog<'a> {
    Spool(&'a Spool),
    Shared(&'a dyn EventQueue),
}

impl Backlog<'_> {
    /// Keeps `entry` durably: synced in the journal by `writer` (with the events of the
    /// requests beside it), or committed in the database.
    pub async fn keep(&self, writer: Option<&JournalWriter>, entry: &Entry) -> Result<()> {
        match (self, writer) {
            (Backlog::Spool(_), Some(writer)) => writer.keep(entry).await,
            (Backlog::Spool(spool), None) => spool.put(&entry.id, std::slice::from_ref(entry)),
            (Backlog::Shared(queue), _) => queue.push(&to_queued(entry)).await,
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
