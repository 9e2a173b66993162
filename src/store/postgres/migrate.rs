/*!
The tables and their schema version: created on first use, upgraded once (schema 1 sealed only
the four secret fields; schema 2 seals the whole document). Both run inside one transaction
under a transaction-scoped advisory lock, so two first-time hosts take turns and nothing outlives
the transaction (pgbouncer's transaction pooling).
*/

use anyhow::{anyhow, Result};
use tokio_postgres::types::Type;
use tokio_postgres::Client;

use super::seal::{DOCUMENT_PREFIX, SEALED_PREFIX};
use super::PgStore;

pub(super) const SCHEMA_VERSION: i32 = 2;

impl PgStore {
    pub(super) async fn ensure_schema(&self) -> Result<()> {
        let client = self.client().await?;
        client
            .batch_execute(&format!(
                "BEGIN;
                 SELECT pg_advisory_xact_lock(7243001);
                 CREATE TABLE IF NOT EXISTS b24auth_schema (version integer NOT NULL);
                 INSERT INTO b24auth_schema (version)
                   SELECT {SCHEMA_VERSION} WHERE NOT EXISTS (SELECT 1 FROM b24auth_schema);
                 CREATE TABLE IF NOT EXISTS b24auth_profiles (
                   name text PRIMARY KEY,
                   document text NOT NULL,
                   version bigint NOT NULL DEFAULT 1,
                   updated_at timestamptz NOT NULL DEFAULT now());
                 COMMIT;"
            ))
            .await
            .map_err(|e| self.db_error("cannot create the b24auth tables", e))?;
        let row = client
            .query_typed_one("SELECT max(version) FROM b24auth_schema", &[])
            .await
            .map_err(|e| self.db_error("cannot read the schema version", e))?;
        let version: i32 = row.get(0);
        if version > SCHEMA_VERSION {
            return Err(anyhow!(
                "the PostgreSQL store has schema version {version}, newer than this b24auth ({SCHEMA_VERSION}): upgrade b24auth"
            ));
        }
        if version < SCHEMA_VERSION {
            self.migrate().await?;
        }
        Ok(())
    }

    /// Schema 1 → 2, once, under the advisory lock: with a key, every row (field-sealed or in
    /// clear, as schema 1 accepted both) is sealed as a whole; without one, rows in clear stay
    /// as they are and field-sealed rows wait for a process that has the key.
    async fn migrate(&self) -> Result<()> {
        let client = self.client().await?;
        let fail = |e| self.db_error("cannot upgrade the b24auth tables", e);
        client
            .batch_execute("BEGIN; SELECT pg_advisory_xact_lock(7243001);")
            .await
            .map_err(fail)?;
        let result = self.migrate_locked(&client).await;
        match result {
            Ok(()) => client.batch_execute("COMMIT").await.map_err(fail),
            Err(e) => {
                let _ = client.batch_execute("ROLLBACK").await;
                Err(e)
            }
        }
    }

    async fn migrate_locked(&self, client: &Client) -> Result<()> {
        let fail = |e| self.db_error("cannot upgrade the b24auth tables", e);
        let row = client
            .query_typed_one("SELECT max(version) FROM b24auth_schema", &[])
            .await
            .map_err(fail)?;
        if row.get::<_, i32>(0) >= SCHEMA_VERSION {
            return Ok(());
        }
        let rows = client
            .query_typed(
                "SELECT name, document FROM b24auth_profiles FOR UPDATE",
                &[],
            )
            .await
            .map_err(fail)?;
        for r in rows {
            let (name, stored): (String, String) = (r.get(0), r.get(1));
            let Some(upgraded) = self.upgrade_v1(&name, &stored)? else {
                continue;
            };
            client
                .execute_typed(
                    "UPDATE b24auth_profiles SET document = $2, version = version + 1, updated_at = now() WHERE name = $1",
                    &[(&name, Type::TEXT), (&upgraded, Type::TEXT)],
                )
                .await
                .map_err(fail)?;
        }
        client
            .execute_typed(
                "UPDATE b24auth_schema SET version = $1",
                &[(&SCHEMA_VERSION, Type::INT4)],
            )
            .await
            .map_err(fail)?;
        Ok(())
    }

    /// A schema-1 document in schema 2's form (`None`: unchanged).
    fn upgrade_v1(&self, name: &str, stored: &str) -> Result<Option<String>> {
        if stored.starts_with(DOCUMENT_PREFIX) {
            return Ok(None);
        }
        if self.key.is_none() {
            if stored.contains(SEALED_PREFIX) {
                return Err(anyhow!(
                    "profile `{name}` in {} has sealed secrets: set B24AUTH_STORE_KEY once to upgrade the store",
                    self.display
                ));
            }
            return Ok(None);
        }
        match self.open_fields(name, stored) {
            Ok(profile) => self.seal_document(name, &profile).map(Some),
            // A damaged row stays as it is, and is reported when read.
            Err(_) => Ok(None),
        }
    }
}
