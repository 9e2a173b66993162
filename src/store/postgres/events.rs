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
use tokio_postgres::{Client, Row};

use super::reconnect::{lost, ReusedClient};
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
    WHERE holder = $2 AND id = ANY($3::text[]) AND NOT failed AND claimed_until > now()
    RETURNING id";

type Params<'a> = [(&'a (dyn tokio_postgres::types::ToSql + Sync), Type)];

impl PgStore {
    /// Runs `sql` on the main connection.
    async fn queue_exec(&self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>> {
        self.exec_on(&self.client, sql, params).await
    }

    /// Runs `sql` on `conn`'s connection, once: a statement that failed with the connection
    /// may have run, so it is not repeated; the connection is made again for the next one.
    async fn exec_on(
        &self,
        conn: &ReusedClient,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<Vec<Row>> {
        let (client, _) = conn.get(|| self.connect()).await?;
        self.exec_creating(&client, sql, params)
            .await
            .map_err(|(what, e)| {
                conn.failed(&client, &e);
                self.db_error(what, e)
            })
    }

    /// Runs `sql` with `params`; a missing table is created once and the statement repeated.
    async fn exec_creating(
        &self,
        client: &Client,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<Vec<Row>, (&'static str, tokio_postgres::Error)> {
        match client.query_typed(sql, params).await {
            Err(e)
                if e.code() == Some(&SqlState::UNDEFINED_TABLE)
                    || e.code() == Some(&SqlState::UNDEFINED_COLUMN) =>
            {
                // Another host may create or upgrade it at the same moment (a unique or
                // duplicate error, a deadlock between the two): the statement is asked again
                // either way, and the creation's own error is named only if that fails too.
                let created = client.batch_execute(CREATE).await;
                match (client.query_typed(sql, params).await, created) {
                    (Ok(rows), _) => Ok(rows),
                    (Err(_), Err(c)) => Err(("cannot create the event queue", c)),
                    (Err(e), Ok(())) => Err(("event queue", e)),
                }
            }
            other => other.map_err(|e| ("event queue", e)),
        }
    }

    /// `SELECT 1` on the connection events are pushed on; an autocommitted read, so a kept
    /// connection found dead is replaced and asked once more.
    async fn ping_push(&self) -> Result<()> {
        let conn = &self.push_client;
        let (client, fresh) = conn.get(|| self.connect()).await?;
        match client.batch_execute("SELECT 1").await {
            Err(e) if !fresh && lost(&e) => {
                conn.failed(&client, &e);
                let (client, _) = conn.get(|| self.connect()).await?;
                client.batch_execute("SELECT 1").await
            }
            other => other,
        }
        .map_err(|e| self.db_error("event queue", e))
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
            &self.push_client,
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

/// A row as an event; an error for a NULL or a column of another type (a row someone edited
/// by hand), never a panic.
fn queued(r: &Row) -> Result<Queued, tokio_postgres::Error> {
    Ok(Queued {
        id: r.try_get(0)?,
        profile: r.try_get(1)?,
        event: r.try_get(2)?,
        received_at: r.try_get(3)?,
        payload: r.try_get(4)?,
    })
}

impl PgStore {
    /// The claimed rows as events; one that is no event is marked failed (kept for a person
    /// to look at, handed out no more) and left out.
    async fn claimed(&self, holder: &str, rows: &[Row]) -> Vec<Queued> {
        let mut out = Vec::new();
        for r in rows {
            match queued(r) {
                Ok(q) => out.push(q),
                Err(e) => {
                    let id = r.try_get::<_, String>(0).unwrap_or_default();
                    self.ui.warn(format_args!(
                        "event `{id}` in {} is unreadable ({}): kept as failed",
                        self.display,
                        crate::exit::one_line(&e)
                    ));
                    let _ = self.fail(holder, &id).await;
                }
            }
        }
        out
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
            let mut claimed = self.claimed(holder, &rows).await;
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
            Ok(rows.iter().filter_map(|r| r.try_get(0).ok()).collect())
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
            // A row that is no event is left out here (a claim marks it failed).
            Ok(rows.iter().filter_map(|r| queued(r).ok()).collect())
        }
        .boxed_local()
    }

    fn ping(&self) -> LocalBoxFuture<'_, Result<()>> {
        self.ping_push().boxed_local()
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
