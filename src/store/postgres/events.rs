/*!
The PostgreSQL event queue (`store::queue`): one table, autocommitted single statements sent
unnamed (`*_typed`), so it works through pgbouncer in transaction pooling; claims are leases
taken with `FOR UPDATE SKIP LOCKED`, so two hosts never claim one event at once.
*/

use std::time::Duration;

use anyhow::Result;
use futures_util::future::{FutureExt, LocalBoxFuture};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;

use super::PgStore;
use crate::store::queue::{EventQueue, Queued};

const CREATE: &str = "CREATE TABLE IF NOT EXISTS b24auth_events (
    id text PRIMARY KEY, profile text NOT NULL, event text NOT NULL, payload text NOT NULL,
    received_at bigint NOT NULL, failed boolean NOT NULL DEFAULT false,
    claimed_until timestamptz)";

const CLAIM: &str = "UPDATE b24auth_events SET claimed_until = now() + make_interval(secs => $1)
    WHERE id = (SELECT id FROM b24auth_events
        WHERE NOT failed AND (claimed_until IS NULL OR claimed_until < now())
        ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
    RETURNING id, profile, event, received_at, payload";

impl PgStore {
    /// Runs `sql` with `params`; a missing table is created once and the statement repeated.
    async fn queue_exec(
        &self,
        sql: &str,
        params: &[(&(dyn tokio_postgres::types::ToSql + Sync), Type)],
    ) -> Result<Vec<tokio_postgres::Row>> {
        let client = self.client().await?;
        match client.query_typed(sql, params).await {
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => {
                match client.batch_execute(CREATE).await {
                    // Another host created it meanwhile.
                    Err(e) if e.code() != Some(&SqlState::UNIQUE_VIOLATION) => {
                        return Err(self.db_error("cannot create the event queue", e))
                    }
                    _ => {}
                }
                client
                    .query_typed(sql, params)
                    .await
                    .map_err(|e| self.db_error("event queue", e))
            }
            other => other.map_err(|e| self.db_error("event queue", e)),
        }
    }
}

fn queued(r: &tokio_postgres::Row) -> Queued {
    Queued {
        id: r.get(0),
        profile: r.get(1),
        event: r.get(2),
        received_at: r.get(3),
        payload: r.get(4),
    }
}

impl EventQueue for PgStore {
    fn push<'a>(&'a self, e: &'a Queued) -> LocalBoxFuture<'a, Result<()>> {
        async move {
            self.queue_exec(
                "INSERT INTO b24auth_events (id, profile, event, received_at, payload)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    (&e.id, Type::TEXT),
                    (&e.profile, Type::TEXT),
                    (&e.event, Type::TEXT),
                    (&e.received_at, Type::INT8),
                    (&e.payload, Type::TEXT),
                ],
            )
            .await
            .map(|_| ())
        }
        .boxed_local()
    }

    fn claim(&self, lease: Duration) -> LocalBoxFuture<'_, Result<Option<Queued>>> {
        async move {
            let secs = lease.as_secs_f64();
            let rows = self.queue_exec(CLAIM, &[(&secs, Type::FLOAT8)]).await?;
            Ok(rows.first().map(queued))
        }
        .boxed_local()
    }

    fn done<'a>(&'a self, id: &'a str) -> LocalBoxFuture<'a, Result<()>> {
        async move {
            self.queue_exec(
                "DELETE FROM b24auth_events WHERE id = $1",
                &[(&id, Type::TEXT)],
            )
            .await
            .map(|_| ())
        }
        .boxed_local()
    }

    fn fail<'a>(&'a self, id: &'a str) -> LocalBoxFuture<'a, Result<()>> {
        async move {
            self.queue_exec(
                "UPDATE b24auth_events SET failed = true, claimed_until = NULL WHERE id = $1",
                &[(&id, Type::TEXT)],
            )
            .await
            .map(|_| ())
        }
        .boxed_local()
    }

    fn failed(&self) -> LocalBoxFuture<'_, Result<Vec<Queued>>> {
        async move {
            let rows = self
                .queue_exec(
                    "SELECT id, profile, event, received_at, payload FROM b24auth_events
                     WHERE failed ORDER BY id",
                    &[],
                )
                .await?;
            Ok(rows.iter().map(queued).collect())
        }
        .boxed_local()
    }

    fn retry<'a>(&'a self, id: &'a str) -> LocalBoxFuture<'a, Result<bool>> {
        async move {
            let rows = self
                .queue_exec(
                    "UPDATE b24auth_events SET failed = false, claimed_until = NULL
                     WHERE id = $1 AND failed RETURNING id",
                    &[(&id, Type::TEXT)],
                )
                .await?;
            Ok(!rows.is_empty())
        }
        .boxed_local()
    }
}
