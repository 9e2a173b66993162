/*!
Candidates in PostgreSQL: one row each in `b24auth_candidates`, sealed like a profile (bound to
its profile and id, so a row moved to another profile or made a profile does not open).
*/

use anyhow::Result;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;

use super::PgStore;
use crate::store::candidates::{Candidate, Full, MAX_BYTES, MAX_CANDIDATES};

/// Created with the other tables ([`super::migrate`]), and here before the first write.
pub(super) const CREATE: &str = "CREATE TABLE IF NOT EXISTS b24auth_candidates (
       profile text NOT NULL,
       id text NOT NULL,
       document text NOT NULL,
       PRIMARY KEY (profile, id))";

/// What a candidate's document is sealed to.
fn sealed_name(profile: &str, id: &str) -> String {
    format!("{profile}#candidate:{id}")
}

impl PgStore {
    /// Every profile name with a candidate row.
    pub(in crate::store) async fn candidate_profile_rows(&self) -> Result<Vec<String>> {
        let client = self.client().await?;
        match client
            .query_typed(
                "SELECT DISTINCT profile FROM b24auth_candidates ORDER BY profile",
                &[],
            )
            .await
        {
            Ok(rows) => Ok(rows.into_iter().map(|r| r.get(0)).collect()),
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => Ok(Vec::new()),
            Err(e) => Err(self.db_error("cannot read the candidates", e)),
        }
    }

    pub(in crate::store) async fn candidate_rows(&self, name: &str) -> Result<Vec<Candidate>> {
        let client = self.client().await?;
        let rows = match client
            .query_typed(
                "SELECT id, document FROM b24auth_candidates WHERE profile = $1 ORDER BY id",
                &[(&name, Type::TEXT)],
            )
            .await
        {
            Ok(rows) => rows,
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => return Ok(Vec::new()),
            Err(e) => return Err(self.db_error("cannot read the candidates", e)),
        };
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let (id, doc): (String, String) = (r.get(0), r.get(1));
                if !Candidate::valid_id(&id) || doc.len() as u64 > MAX_BYTES * 2 {
                    return None;
                }
                let profile = self.open_document(&sealed_name(name, &id), &doc).ok()?;
                Some(Candidate { id, profile })
            })
            .collect())
    }

    pub(in crate::store) async fn keep_candidate_row(
        &self,
        name: &str,
        c: &Candidate,
    ) -> Result<()> {
        self.ensure_schema().await?;
        let client = self.client().await?;
        client
            .batch_execute(CREATE)
            .await
            .map_err(|e| self.db_error("cannot create the candidates table", e))?;
        let doc = self.seal_document(&sealed_name(name, &c.id), &c.profile)?;
        let limit = MAX_CANDIDATES as i64;
        // One statement: the bound is checked where the row goes in.
        let rows = client
            .execute_typed(
                "INSERT INTO b24auth_candidates (profile, id, document)
                 SELECT $1, $2, $3
                 WHERE (SELECT count(*) FROM b24auth_candidates WHERE profile = $1) < $4
                    OR EXISTS (SELECT 1 FROM b24auth_candidates WHERE profile = $1 AND id = $2)
                 ON CONFLICT (profile, id) DO UPDATE SET document = excluded.document",
                &[
                    (&name, Type::TEXT),
                    (&c.id, Type::TEXT),
                    (&doc, Type::TEXT),
                    (&limit, Type::INT8),
                ],
            )
            .await
            .map_err(|e| self.db_error("cannot keep the candidate", e))?;
        match rows {
            0 => Err(Full.into()),
            _ => Ok(()),
        }
    }

    pub(in crate::store) async fn drop_candidate_row(&self, name: &str, id: &str) -> Result<()> {
        let client = self.client().await?;
        match client
            .execute_typed(
                "DELETE FROM b24auth_candidates WHERE profile = $1 AND id = $2",
                &[(&name, Type::TEXT), (&id, Type::TEXT)],
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => Ok(()),
            Err(e) => Err(self.db_error("cannot remove the candidate", e)),
        }
    }
}
