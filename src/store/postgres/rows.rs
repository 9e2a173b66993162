/*!
The rows and their locks: the fresh path's one indexed SELECT, saves, deletes, listings, and the
row lock that makes a refresh single-flight across hosts.

Every statement is sent unnamed (`*_typed`: Parse, Bind, Execute in one round trip) or as a
simple query: a named prepared statement would outlive its transaction on the server
connection, which pgbouncer in transaction pooling hands to another client next.
*/

use anyhow::Result;
use std::sync::Arc;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;

use tokio_postgres::Client;

use super::{PgStore, Unsealed};
use crate::exit::Error;
use crate::profile::Profile;
use crate::store::{Listing, SaveMode};

/// The contract's lock wait, as PostgreSQL's `lock_timeout`.
const LOCK_TIMEOUT: &str = "30s";

const UPSERT: &str = "INSERT INTO b24auth_profiles (name, document) VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE SET document = excluded.document,
       version = b24auth_profiles.version + 1, updated_at = now()";

impl PgStore {
    /// The fresh path of `token`: one indexed SELECT. A missing table means nothing is stored.
    pub(in crate::store) async fn load_profile(&self, name: &str) -> Result<Option<Profile>> {
        let Some(doc) = self.load_document(name).await? else {
            return Ok(None);
        };
        match self.open_document(name, &doc) {
            Err(e) if e.is::<Unsealed>() => {
                // A store still at schema 1: upgrade it once, then read again.
                self.ensure_schema().await?;
                match self.load_document(name).await? {
                    Some(doc) => self.open_document(name, &doc).map(Some),
                    None => Ok(None),
                }
            }
            other => other.map(Some),
        }
    }

    pub(super) async fn load_document(&self, name: &str) -> Result<Option<String>> {
        let client = self.client().await?;
        match client
            .query_typed_opt(
                "SELECT document FROM b24auth_profiles WHERE name = $1",
                &[(&name, Type::TEXT)],
            )
            .await
        {
            Ok(row) => Ok(row.map(|r| r.get(0))),
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => Ok(None),
            Err(e) => Err(self.db_error("cannot read the profile", e)),
        }
    }

    pub(in crate::store) async fn save_profile(
        &self,
        name: &str,
        profile: &Profile,
        mode: SaveMode,
    ) -> Result<()> {
        self.ensure_schema().await?;
        let doc = self.seal_document(name, profile)?;
        let client = self.client().await?;
        let sql = match mode {
            SaveMode::Create => {
                "INSERT INTO b24auth_profiles (name, document) VALUES ($1, $2)
                 ON CONFLICT (name) DO NOTHING"
            }
            SaveMode::Replace => UPSERT,
        };
        let rows = client
            .execute_typed(sql, &[(&name, Type::TEXT), (&doc, Type::TEXT)])
            .await
            .map_err(|e| self.db_error("cannot save the profile", e))?;
        if rows == 0 {
            return Err(crate::store::already_exists(name, &self.location(name)));
        }
        Ok(())
    }

    /// Opens a transaction and takes the row lock (`SELECT … FOR UPDATE`), bounded by
    /// `lock_timeout` (`SET LOCAL`: it ends with the transaction); the server releases it if
    /// this process dies. The transaction-scoped advisory lock (keyed by the profile name) also
    /// covers a row that does not exist yet, so two hosts creating the same profile take turns.
    pub(in crate::store) async fn lock_row<'a>(&'a self, name: &'a str) -> Result<PgLock<'a>> {
        self.ensure_schema().await?;
        let client = self.client().await?;
        client
            .batch_execute(&format!("BEGIN; SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            .await
            .map_err(|e| self.db_error("cannot lock the profile", e))?;
        let row = match client
            .execute_typed(
                "SELECT pg_advisory_xact_lock(7243002, hashtext($1))",
                &[(&name, Type::TEXT)],
            )
            .await
        {
            Ok(_) => {
                client
                    .query_typed_opt(
                        "SELECT document FROM b24auth_profiles WHERE name = $1 FOR UPDATE",
                        &[(&name, Type::TEXT)],
                    )
                    .await
            }
            Err(e) => Err(e),
        };
        let document = match row {
            Ok(row) => row.map(|r| r.get::<_, String>(0)),
            Err(e) => {
                let _ = client.batch_execute("ROLLBACK").await;
                if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) {
                    return Err(Error::TimedOut(format!(
                        "another b24auth held the row lock of profile `{name}` for {LOCK_TIMEOUT}; try again"
                    ))
                    .into());
                }
                return Err(self.db_error("cannot lock the profile", e));
            }
        };
        Ok(PgLock {
            store: self,
            client,
            name,
            document,
            open: true,
        })
    }

    async fn update_and_commit(&self, client: &Client, name: &str, doc: &str) -> Result<()> {
        client
            .execute_typed(UPSERT, &[(&name, Type::TEXT), (&doc, Type::TEXT)])
            .await
            .map_err(|e| self.db_error("cannot save the profile", e))?;
        client
            .batch_execute("COMMIT")
            .await
            .map_err(|e| self.db_error("cannot save the profile", e))
    }

    pub(in crate::store) async fn delete_row(&self, name: &str) -> Result<bool> {
        let client = self.client().await?;
        match client
            .execute_typed(
                "DELETE FROM b24auth_profiles WHERE name = $1",
                &[(&name, Type::TEXT)],
            )
            .await
        {
            Ok(n) => Ok(n > 0),
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => Ok(false),
            Err(e) => Err(self.db_error("cannot delete the profile", e)),
        }
    }

    pub(in crate::store) async fn list_rows(&self) -> Result<Listing> {
        let listed = self.list_once().await?;
        if listed
            .iter()
            .any(|(_, p)| p.as_ref().is_err_and(|e| e.is::<Unsealed>()))
        {
            self.ensure_schema().await?;
            return self.list_once().await;
        }
        Ok(listed)
    }

    async fn list_once(&self) -> Result<Listing> {
        let client = self.client().await?;
        let rows = match client
            .query_typed(
                "SELECT name, document FROM b24auth_profiles ORDER BY name",
                &[],
            )
            .await
        {
            Ok(rows) => rows,
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => return Ok(Vec::new()),
            Err(e) => return Err(self.db_error("cannot list the profiles", e)),
        };
        Ok(rows
            .into_iter()
            .map(|r| {
                let name: String = r.get(0);
                let profile = self.open_document(&name, &r.get::<_, String>(1));
                (name, profile)
            })
            .collect())
    }
}

/// A row locked inside an open transaction; `write` updates and commits, `release` rolls back.
pub(crate) struct PgLock<'a> {
    store: &'a PgStore,
    client: Arc<Client>,
    name: &'a str,
    document: Option<String>,
    open: bool,
}

impl PgLock<'_> {
    pub(in crate::store) fn read(&mut self) -> Result<Option<Profile>> {
        match &self.document {
            Some(doc) => self.store.open_document(self.name, doc).map(Some),
            None => Ok(None),
        }
    }

    /// Updates and commits; on failure rolls back (the stored profile stays as it was).
    pub(in crate::store) async fn write(&mut self, profile: &Profile) -> Result<()> {
        self.open = false;
        let saved = match self.store.seal_document(self.name, profile) {
            Ok(doc) => {
                self.store
                    .update_and_commit(&self.client, self.name, &doc)
                    .await
            }
            Err(e) => Err(e),
        };
        if saved.is_err() {
            let _ = self.client.batch_execute("ROLLBACK").await;
        }
        saved
    }

    pub(in crate::store) async fn release(&mut self) {
        if std::mem::take(&mut self.open) {
            let _ = self.client.batch_execute("ROLLBACK").await;
        }
    }
}
