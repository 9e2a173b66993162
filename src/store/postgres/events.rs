/*!
The PostgreSQL event queue (`store::queue`): one table, autocommitted single statements sent
unnamed (`*_typed`), so it works through pgbouncer in transaction pooling. Concurrent pushes
go in one multi-row INSERT ([`group`](super::group)): one commit for all, each caller answered
after it. Claims are short leases taken with `FOR UPDATE SKIP LOCKED` and marked with the
holder, so two hosts never hold one event at once, and only its holder renews a claim.
*/

use std::time::Duration;

use anyhow::Result;
use futures_util::future::{FutureExt, LocalBoxFuture};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;

use super::PgStore;
use crate::store::queue::{EventQueue, Queued};

/// The table, and the `holder` column a queue made before claims were renewed lacks.
const CREATE: &str = "CREATE TABLE IF NOT EXISTS b24auth_events (
    id text PRIMARY KEY, profile text NOT NULL, event text NOT NULL, payload text NOT NULL,
    received_at bigint NOT NULL, failed boolean NOT NULL DEFAULT false,
    claimed_until timestamptz, holder text);
    ALTER TABLE b24auth_events ADD COLUMN IF NOT EXISTS holder text";

const PUSH: &str = "INSERT INTO b24auth_events (id, profile, event, received_at, payload)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::text[])";

const CLAIM: &str = "UPDATE b24auth_events e
    SET claimed_until = now() + make_interval(secs => $1), holder = $2
    FROM (SELECT id FROM b24auth_events
        WHERE NOT failed AND (claimed_until IS NULL OR claimed_until < now())
        ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) free
    WHERE e.id = free.id
    RETURNING e.id, e.profile, e.event, e.received_at, e.payload";

const RENEW: &str = "UPDATE b24auth_events
    SET claimed_until = now() + make_interval(secs => $1)
    WHERE holder = $2 AND id = ANY($3::text[]) AND NOT failed
    RETURNING id";

impl PgStore {
    /// Runs `sql` with `params`; a missing table is created once and the statement repeated.
    async fn queue_exec(
        &self,
        sql: &str,
        params: &[(&(dyn tokio_postgres::types::ToSql + Sync), Type)],
    ) -> Result<Vec<tokio_postgres::Row>> {
        self.exec_on(self.client().await?, sql, params).await
    }

    async fn exec_on(
        &self,
        client: &tokio_postgres::Client,
        sql: &str,
        params: &[(&(dyn tokio_postgres::types::ToSql + Sync), Type)],
    ) -> Result<Vec<tokio_postgres::Row>> {
        match client.query_typed(sql, params).await {
            Err(e)
                if e.code() == Some(&SqlState::UNDEFINED_TABLE)
                    || e.code() == Some(&SqlState::UNDEFINED_COLUMN) =>
            {
                match client.batch_execute(CREATE).await {
                    // Another host created or upgraded it meanwhile.
                    Err(e)
                        if e.code() != Some(&SqlState::UNIQUE_VIOLATION)
                            && e.code() != Some(&SqlState::DUPLICATE_COLUMN)
                            && e.code() != Some(&SqlState::T_R_SERIALIZATION_FAILURE) =>
                    {
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

impl PgStore {
    /// One INSERT for every event of a group: one commit.
    async fn insert(&self, rows: Vec<Queued>) -> Result<()> {
        let mut columns = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for q in rows {
            columns.0.push(q.id);
            columns.1.push(q.profile);
            columns.2.push(q.event);
            columns.3.push(q.received_at);
            columns.4.push(q.payload);
        }
        let (ids, profiles, events, times, payloads) = columns;
        self.exec_on(
            self.push_client().await?,
            PUSH,
            &[
                (&ids, Type::TEXT_ARRAY),
                (&profiles, Type::TEXT_ARRAY),
                (&events, Type::TEXT_ARRAY),
                (&times, Type::INT8_ARRAY),
                (&payloads, Type::TEXT_ARRAY),
            ],
        )
        .await
        .map(|_| ())
    }

    /// The handled events of a group gone in one DELETE, committed without waiting for the
    /// disk (`synchronous_commit` off for this transaction alone, set inside the statement so
    /// that it holds through pgbouncer): a removal lost in a database crash only means an event
    /// handled again, at least once.
    async fn remove(&self, ids: Vec<String>) -> Result<()> {
        self.queue_exec(
            "DELETE FROM b24auth_events WHERE id = ANY($1::text[])
             AND set_config('synchronous_commit', 'off', true) IS NOT NULL",
            &[(&ids, Type::TEXT_ARRAY)],
        )
        .await
        .map(|_| ())
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
            self.pushes
                .submit(e.clone(), |rows| self.insert(rows))
                .await
        }
        .boxed_local()
    }

    fn claim<'a>(
        &'a self,
        holder: &'a str,
        lease: Duration,
        most: usize,
    ) -> LocalBoxFuture<'a, Result<Vec<Queued>>> {
        async move {
            let secs = lease.as_secs_f64();
            let most = i64::try_from(most).unwrap_or(i64::MAX);
            let rows = self
                .queue_exec(
                    CLAIM,
                    &[
                        (&secs, Type::FLOAT8),
                        (&holder, Type::TEXT),
                        (&most, Type::INT8),
                    ],
                )
                .await?;
            let mut claimed: Vec<Queued> = rows.iter().map(queued).collect();
            // Handed out oldest first (RETURNING keeps no order).
            claimed.sort_by(|a, b| a.id.cmp(&b.id));
            Ok(claimed)
        }
        .boxed_local()
    }

    fn renew<'a>(
        &'a self,
        holder: &'a str,
        ids: &'a [String],
        lease: Duration,
    ) -> LocalBoxFuture<'a, Result<Vec<String>>> {
        async move {
            let secs = lease.as_secs_f64();
            let rows = self
                .queue_exec(
                    RENEW,
                    &[
                        (&secs, Type::FLOAT8),
                        (&holder, Type::TEXT),
                        (&ids, Type::TEXT_ARRAY),
                    ],
                )
                .await?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        }
        .boxed_local()
    }

    fn done<'a>(&'a self, id: &'a str) -> LocalBoxFuture<'a, Result<()>> {
        async move {
            self.removals
                .submit(id.to_string(), |ids| self.remove(ids))
                .await
        }
        .boxed_local()
    }

    fn fail<'a>(&'a self, holder: &'a str, id: &'a str) -> LocalBoxFuture<'a, Result<()>> {
        async move {
            self.queue_exec(
                "UPDATE b24auth_events SET failed = true, claimed_until = NULL, holder = NULL
                 WHERE id = $1 AND holder = $2",
                &[(&id, Type::TEXT), (&holder, Type::TEXT)],
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
                    "UPDATE b24auth_events SET failed = false, claimed_until = NULL, holder = NULL
                     WHERE id = $1 AND failed RETURNING id",
                    &[(&id, Type::TEXT)],
                )
                .await?;
            Ok(!rows.is_empty())
        }
        .boxed_local()
    }
}
