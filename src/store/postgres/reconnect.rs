/*!
A connection kept for reuse and made again once it has died: a PostgreSQL restart, a pgbouncer
recycle or an idle-timeout kill must cost the statement in flight at most, never every later
one. A dead client is noticed two ways: its connection task has ended (`is_closed`), or a
statement on it failed with a connection error ([`lost`]); either way the next use connects anew.
Nothing is retried here: whether a statement may run again is its caller's call.
*/

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::Result;
use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

#[derive(Default)]
pub(super) struct ReusedClient {
    kept: Mutex<Option<Arc<Client>>>,
    /// One connect at a time: concurrent callers wait for it rather than each opening one.
    connecting: tokio::sync::Mutex<()>,
}

impl ReusedClient {
    /// The kept client while its connection lives, else a new one from `connect`; true when
    /// it is new.
    pub async fn get<F, Fut>(&self, connect: F) -> Result<(Arc<Client>, bool)>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Client>>,
    {
        if let Some(c) = self.live() {
            return Ok((c, false));
        }
        let _turn = self.connecting.lock().await;
        if let Some(c) = self.live() {
            return Ok((c, false));
        }
        let client = Arc::new(connect().await?);
        *self.lock() = Some(client.clone());
        Ok((client, true))
    }

    /// After `e` on `client`: a connection error means the next use connects again.
    pub fn failed(&self, client: &Arc<Client>, e: &tokio_postgres::Error) {
        if !lost(e) {
            return;
        }
        let mut kept = self.lock();
        if kept.as_ref().is_some_and(|k| Arc::ptr_eq(k, client)) {
            *kept = None;
        }
    }

    fn live(&self) -> Option<Arc<Client>> {
        let mut kept = self.lock();
        if kept.as_ref().is_some_and(|c| c.is_closed()) {
            *kept = None;
        }
        kept.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Option<Arc<Client>>> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An error after which the connection is no use: closed, broken (I/O), or the server's word
/// that it is going away (class 08, or a shutdown: `pg_terminate_backend`, a restart).
pub(super) fn lost(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()) {
        return true;
    }
    e.code().is_some_and(|c| {
        c.code().starts_with("08")
            || *c == SqlState::ADMIN_SHUTDOWN
            || *c == SqlState::CRASH_SHUTDOWN
            || *c == SqlState::CANNOT_CONNECT_NOW
    })
}
