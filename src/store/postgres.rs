/*!
The PostgreSQL backend: one shared copy of each profile for several hosts.

One row per profile holds the same JSON document as `auth.json`, a version counter and
`updated_at`. Single-flight across hosts is a row lock: `SELECT … FOR UPDATE` inside a
transaction, bounded by `lock_timeout`, released by the server if the holder dies.

With `B24AUTH_STORE_KEY` set, the whole document is sealed as one ChaCha20-Poly1305 value with
the profile name as associated data (schema version 2): a database user without the key can
neither read it nor change one field of it (say, `b24auth.oauth_server`), nor move it to another
profile. A document that is not sealed so, or does not open, is refused, never used. Schema
version 1 sealed only the four secret fields; [`PgStore::migrate`] upgrades such rows once.
*/

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::{anyhow, Context as _, Result};
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use futures_util::future::{FutureExt, LocalBoxFuture};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::OnceCell;
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use tokio_postgres::{Client, Config};

use super::{Listing, Locked, SaveMode, Store};
use crate::exit::{self, Error};
use crate::profile::{Profile, SECRET_KEYS};
use crate::secret::Secret;
use crate::ui::Ui;

const SCHEMA_VERSION: i32 = 2;
/// Schema 1: one sealed secret field.
const SEALED_PREFIX: &str = "sealed:v1:";
/// Schema 2: the whole document, sealed.
const DOCUMENT_PREFIX: &str = "sealed-document:v2:";

/// With a key, a document that is not sealed as a whole: refused (after one upgrade attempt
/// while the store is still at schema 1).
#[derive(Debug, thiserror::Error)]
#[error("profile `{name}` in {store} is not sealed with B24AUTH_STORE_KEY (stored without the key, or modified by someone without it): refused; authorize again with --force to replace it")]
struct Unsealed {
    name: String,
    store: String,
}
/// The contract's lock wait, as PostgreSQL's `lock_timeout`.
const LOCK_TIMEOUT: &str = "30s";

pub(crate) struct PgStore {
    config: Config,
    /// `postgres://user@host:port/db`, never the password: for messages.
    display: String,
    key: Option<ChaCha20Poly1305>,
    ui: Ui,
    /// Where a refreshed pair goes when the database cannot take it.
    rescue_dir: std::path::PathBuf,
    client: OnceCell<Client>,
    warned: AtomicBool,
}

impl PgStore {
    pub(crate) fn new(
        url: &str,
        rescue_dir: std::path::PathBuf,
        key: Option<&Secret>,
        ui: Ui,
    ) -> Result<PgStore> {
        let mut config: Config = url
            .parse()
            .map_err(|e| exit::usage(format!("--store is not a valid PostgreSQL URL ({e})")))?;
        apply_pg_env(&mut config);
        config.connect_timeout(Duration::from_secs(10));
        config.application_name("b24auth");
        let display = describe(&config);
        let key = key.map(store_key).transpose()?;
        Ok(PgStore {
            config,
            display,
            key,
            ui,
            rescue_dir,
            client: OnceCell::new(),
            warned: AtomicBool::new(false),
        })
    }

    async fn client(&self) -> Result<&Client> {
        self.client
            .get_or_try_init(|| async {
                let (client, connection) = self
                    .config
                    .connect(RustlsConnect::new())
                    .await
                    .map_err(|e| {
                        anyhow!(
                            "cannot connect to the PostgreSQL store {}: {}",
                            self.display,
                            exit::one_line(&e)
                        )
                    })?;
                tokio::spawn(connection);
                Ok::<_, anyhow::Error>(client)
            })
            .await
    }

    async fn ensure_schema(&self) -> Result<()> {
        let client = self.client().await?;
        // The advisory lock keeps two first-time hosts from racing to create the tables.
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
            .query_one("SELECT max(version) FROM b24auth_schema", &[])
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
        let result = self.migrate_locked(client).await;
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
            .query_one("SELECT max(version) FROM b24auth_schema", &[])
            .await
            .map_err(fail)?;
        if row.get::<_, i32>(0) >= SCHEMA_VERSION {
            return Ok(());
        }
        let rows = client
            .query(
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
                .execute(
                    "UPDATE b24auth_profiles SET document = $2, version = version + 1, updated_at = now() WHERE name = $1",
                    &[&name, &upgraded],
                )
                .await
                .map_err(fail)?;
        }
        client
            .execute("UPDATE b24auth_schema SET version = $1", &[&SCHEMA_VERSION])
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

    /// The fresh path of `token`: one indexed SELECT. A missing table means nothing is stored.
    async fn load_profile(&self, name: &str) -> Result<Option<Profile>> {
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

    async fn load_document(&self, name: &str) -> Result<Option<String>> {
        let client = self.client().await?;
        match client
            .query_opt(
                "SELECT document FROM b24auth_profiles WHERE name = $1",
                &[&name],
            )
            .await
        {
            Ok(row) => Ok(row.map(|r| r.get(0))),
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => Ok(None),
            Err(e) => Err(self.db_error("cannot read the profile", e)),
        }
    }

    async fn save_profile(&self, name: &str, profile: &Profile, mode: SaveMode) -> Result<()> {
        self.ensure_schema().await?;
        let doc = self.seal_document(name, profile)?;
        let client = self.client().await?;
        let sql = match mode {
            SaveMode::Create => {
                "INSERT INTO b24auth_profiles (name, document) VALUES ($1, $2)
                 ON CONFLICT (name) DO NOTHING"
            }
            SaveMode::Replace => {
                "INSERT INTO b24auth_profiles (name, document) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET document = excluded.document,
                   version = b24auth_profiles.version + 1, updated_at = now()"
            }
        };
        let rows = client
            .execute(sql, &[&name, &doc])
            .await
            .map_err(|e| self.db_error("cannot save the profile", e))?;
        if rows == 0 {
            return Err(super::already_exists(name, &self.location(name)));
        }
        Ok(())
    }

    /// Opens a transaction and takes the row lock (`SELECT … FOR UPDATE`), bounded by
    /// `lock_timeout`; the server releases it if this process dies.
    /// The advisory lock (keyed by the profile name) also covers a row that does not exist yet,
    /// so two hosts creating the same profile take turns too.
    async fn lock_row<'a>(&'a self, name: &'a str) -> Result<PgLock<'a>> {
        self.ensure_schema().await?;
        let client = self.client().await?;
        client
            .batch_execute(&format!("BEGIN; SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            .await
            .map_err(|e| self.db_error("cannot lock the profile", e))?;
        let row = match client
            .execute(
                "SELECT pg_advisory_xact_lock(7243002, hashtext($1))",
                &[&name],
            )
            .await
        {
            Ok(_) => {
                client
                    .query_opt(
                        "SELECT document FROM b24auth_profiles WHERE name = $1 FOR UPDATE",
                        &[&name],
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
            .execute(
                "INSERT INTO b24auth_profiles (name, document) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET document = excluded.document,
                   version = b24auth_profiles.version + 1, updated_at = now()",
                &[&name, &doc],
            )
            .await
            .map_err(|e| self.db_error("cannot save the profile", e))?;
        client
            .batch_execute("COMMIT")
            .await
            .map_err(|e| self.db_error("cannot save the profile", e))
    }

    async fn delete_row(&self, name: &str) -> Result<bool> {
        let client = self.client().await?;
        match client
            .execute("DELETE FROM b24auth_profiles WHERE name = $1", &[&name])
            .await
        {
            Ok(n) => Ok(n > 0),
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => Ok(false),
            Err(e) => Err(self.db_error("cannot delete the profile", e)),
        }
    }

    async fn list_rows(&self) -> Result<Listing> {
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
            .query(
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

    fn db_error(&self, what: &str, e: tokio_postgres::Error) -> anyhow::Error {
        anyhow!("{what} in {}: {}", self.display, exit::one_line(&e))
    }

    /// The document as stored: sealed as a whole when there is a key.
    fn seal_document(&self, name: &str, profile: &Profile) -> Result<String> {
        let doc = profile.as_map().clone();
        match &self.key {
            Some(key) => {
                let plain = serde_json::to_string(&doc)?;
                return seal_with(key, &document_aad(name), &plain, DOCUMENT_PREFIX);
            }
            None => {
                if !self.warned.swap(true, Ordering::Relaxed) {
                    self.ui.warn(format_args!(
                        "B24AUTH_STORE_KEY is not set: tokens are stored in clear in {}",
                        self.display
                    ));
                }
            }
        }
        Ok(serde_json::to_string(&doc)?)
    }

    /// A stored document: with a key, only one sealed as a whole under this profile's name.
    fn open_document(&self, name: &str, stored: &str) -> Result<Profile> {
        let damaged = || format!("profile `{name}` in {} is damaged", self.display);
        if let Some(sealed) = stored.strip_prefix(DOCUMENT_PREFIX) {
            let key = self.key.as_ref().ok_or_else(|| {
                anyhow!("profile `{name}` is sealed: set B24AUTH_STORE_KEY to the key it was stored with")
            })?;
            let plain = open_with(key, &document_aad(name), sealed).map_err(|_| {
                anyhow!("B24AUTH_STORE_KEY does not open profile `{name}` in {}: wrong key, or the document was modified or moved from another profile", self.display)
            })?;
            return Profile::parse(plain.as_bytes()).with_context(damaged);
        }
        if self.key.is_some() {
            return Err(Unsealed {
                name: name.into(),
                store: self.display.clone(),
            }
            .into());
        }
        self.open_fields(name, stored)
    }

    /// Schema 1's form: JSON whose secret fields may be sealed one by one.
    fn open_fields(&self, name: &str, stored: &str) -> Result<Profile> {
        let mut value: Value = serde_json::from_str(stored)
            .with_context(|| format!("profile `{name}` in {} is damaged", self.display))?;
        if let Value::Object(doc) = &mut value {
            for field in SECRET_KEYS {
                let Some(Value::String(s)) = doc.get(field) else {
                    continue;
                };
                let Some(sealed) = s.strip_prefix(SEALED_PREFIX) else {
                    continue;
                };
                let key = self.key.as_ref().ok_or_else(|| {
                    anyhow!("the secrets of profile `{name}` are sealed: set B24AUTH_STORE_KEY to the key they were stored with")
                })?;
                let plain = open(key, name, field, sealed)?;
                doc.insert(field.to_string(), Value::String(plain));
            }
        }
        Profile::parse(&serde_json::to_vec(&value)?)
            .with_context(|| format!("profile `{name}` in {} is damaged", self.display))
    }
}

/// A row locked inside an open transaction; `write` updates and commits, `release` rolls back.
struct PgLock<'a> {
    store: &'a PgStore,
    client: &'a Client,
    name: &'a str,
    document: Option<String>,
    open: bool,
}

impl Locked for PgLock<'_> {
    fn read(&mut self) -> LocalBoxFuture<'_, Result<Option<Profile>>> {
        let read = match &self.document {
            Some(doc) => self.store.open_document(self.name, doc).map(Some),
            None => Ok(None),
        };
        std::future::ready(read).boxed_local()
    }

    fn write<'a>(&'a mut self, profile: &'a Profile) -> LocalBoxFuture<'a, Result<()>> {
        async move {
            self.open = false;
            let saved = match self.store.seal_document(self.name, profile) {
                Ok(doc) => {
                    self.store
                        .update_and_commit(self.client, self.name, &doc)
                        .await
                }
                Err(e) => Err(e),
            };
            if saved.is_err() {
                let _ = self.client.batch_execute("ROLLBACK").await;
            }
            saved
        }
        .boxed_local()
    }

    fn release(&mut self) -> LocalBoxFuture<'_, ()> {
        async move {
            if std::mem::take(&mut self.open) {
                let _ = self.client.batch_execute("ROLLBACK").await;
            }
        }
        .boxed_local()
    }
}

impl Store for PgStore {
    fn location(&self, name: &str) -> String {
        format!("{} (profile {name})", self.display)
    }

    fn exists<'a>(&'a self, name: &'a str) -> LocalBoxFuture<'a, Result<bool>> {
        async move { Ok(self.load_document(name).await?.is_some()) }.boxed_local()
    }

    fn load<'a>(&'a self, name: &'a str) -> LocalBoxFuture<'a, Result<Option<Profile>>> {
        self.load_profile(name).boxed_local()
    }

    fn save<'a>(
        &'a self,
        name: &'a str,
        profile: &'a Profile,
        mode: SaveMode,
    ) -> LocalBoxFuture<'a, Result<()>> {
        self.save_profile(name, profile, mode).boxed_local()
    }

    fn lock<'a>(&'a self, name: &'a str) -> LocalBoxFuture<'a, Result<Box<dyn Locked + 'a>>> {
        async move { Ok(Box::new(self.lock_row(name).await?) as Box<dyn Locked>) }.boxed_local()
    }

    fn delete<'a>(&'a self, name: &'a str) -> LocalBoxFuture<'a, Result<bool>> {
        self.delete_row(name).boxed_local()
    }

    fn list(&self) -> LocalBoxFuture<'_, Result<Listing>> {
        self.list_rows().boxed_local()
    }

    /// The database's copy is dead: the new pair is kept in a 0600 file rather than lost, and
    /// the error says how to put it back.
    fn rescue(&self, name: &str, profile: &Profile, cause: anyhow::Error) -> anyhow::Error {
        let kept = super::rescue::keep(&self.rescue_dir, name, profile);
        super::rescue::lost_save(cause, name, kept, |kept| {
            let dir = kept.parent().and_then(|p| {
                if name == "default" {
                    Some(p)
                } else {
                    p.parent()
                }
            });
            format!(
                "restore it with `b24auth --config-dir {} --profile {name} store copy --from file --to {} --force`",
                dir.map(|d| crate::ui::hint::quote(&d.display().to_string())).unwrap_or_default(),
                crate::ui::hint::store()
            )
        })
    }
}

/// `B24AUTH_STORE_KEY`: 32 random bytes, base64.
fn store_key(encoded: &Secret) -> Result<ChaCha20Poly1305> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.expose().trim())
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| {
            exit::usage("B24AUTH_STORE_KEY must be 32 random bytes in base64 (e.g. `openssl rand -base64 32`)")
        })?;
    let key = ChaCha20Poly1305::new_from_slice(&bytes)
        .map_err(|_| exit::usage("B24AUTH_STORE_KEY has the wrong length"))?;
    Ok(key)
}

/// The associated data binds a sealed value to its profile and field: a value copied into
/// another row or field does not open.
fn aad(name: &str, field: &str) -> Vec<u8> {
    format!("b24auth:v1:{name}:{field}").into_bytes()
}

/// Schema 2's associated data: the document opens only as this profile.
fn document_aad(name: &str) -> Vec<u8> {
    format!("b24auth:v2:document:{name}").into_bytes()
}

#[cfg(test)]
fn seal(key: &ChaCha20Poly1305, name: &str, field: &str, plain: &str) -> Result<String> {
    seal_with(key, &aad(name, field), plain, SEALED_PREFIX)
}

/// `prefix` + base64(nonce ‖ ciphertext) of `plain` under `aad`.
fn seal_with(key: &ChaCha20Poly1305, aad: &[u8], plain: &str, prefix: &str) -> Result<String> {
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).map_err(|e| anyhow!("no randomness for sealing: {e}"))?;
    let ciphertext = key
        .encrypt(
            &nonce.into(),
            Payload {
                msg: plain.as_bytes(),
                aad,
            },
        )
        .map_err(|_| anyhow!("cannot seal the profile"))?;
    let mut out = nonce.to_vec();
    out.extend(ciphertext);
    Ok(format!(
        "{prefix}{}",
        base64::engine::general_purpose::STANDARD.encode(out)
    ))
}

fn open(key: &ChaCha20Poly1305, name: &str, field: &str, sealed: &str) -> Result<String> {
    open_with(key, &aad(name, field), sealed).map_err(|_| {
        anyhow!(
            "B24AUTH_STORE_KEY does not open the sealed `{field}` of profile `{name}`: wrong key?"
        )
    })
}

/// The plaintext of a [`seal_with`] body (without its prefix); any failure is one error.
fn open_with(key: &ChaCha20Poly1305, aad: &[u8], sealed: &str) -> Result<String, ()> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(sealed)
        .map_err(|_| ())?;
    if bytes.len() < 12 {
        return Err(());
    }
    let (nonce, ciphertext) = bytes.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().map_err(|_| ())?;
    let plain = key
        .decrypt(
            &nonce.into(),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| ())?;
    String::from_utf8(plain).map_err(|_| ())
}

/// Fills what the URL left out from the usual `PG*` variables, as libpq would.
fn apply_pg_env(config: &mut Config) {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if config.get_hosts().is_empty() {
        match var("PGHOST") {
            Some(h) => {
                config.host(&h);
            }
            None if std::path::Path::new("/var/run/postgresql").exists() => {
                config.host_path("/var/run/postgresql");
            }
            None => {
                config.host("localhost");
            }
        }
    }
    if config.get_ports().is_empty() {
        if let Some(p) = var("PGPORT").and_then(|p| p.parse().ok()) {
            config.port(p);
        }
    }
    if config.get_user().is_none() {
        if let Some(u) = var("PGUSER").or_else(|| var("USER")) {
            config.user(&u);
        }
    }
    if config.get_password().is_none() {
        if let Some(p) = var("PGPASSWORD") {
            config.password(p);
        }
    }
    if config.get_dbname().is_none() {
        if let Some(d) = var("PGDATABASE") {
            config.dbname(&d);
        }
    }
    if let Some(mode) = var("PGSSLMODE") {
        use tokio_postgres::config::SslMode;
        match mode.as_str() {
            "disable" => config.ssl_mode(SslMode::Disable),
            "require" | "verify-ca" | "verify-full" => config.ssl_mode(SslMode::Require),
            _ => config.ssl_mode(SslMode::Prefer),
        };
    }
}

fn describe(config: &Config) -> String {
    use tokio_postgres::config::Host;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().or(config.get_user()).unwrap_or("")
    )
}

/// TLS to PostgreSQL with rustls (ring), verified against the web PKI roots.
#[derive(Clone)]
struct RustlsConnect(Arc<rustls::ClientConfig>);

impl RustlsConnect {
    fn new() -> RustlsConnect {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        RustlsConnect(Arc::new(config))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> MakeTlsConnect<S> for RustlsConnect {
    type Stream = PgTls<S>;
    type TlsConnect = RustlsConnectOne;
    type Error = std::convert::Infallible;

    /// Called for every host, Unix socket paths included (which never do TLS), so a name that
    /// is not a DNS name only fails if a TLS handshake is really attempted.
    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnectOne, Self::Error> {
        let name = rustls::pki_types::ServerName::try_from(domain.to_string()).ok();
        Ok(RustlsConnectOne {
            config: Arc::clone(&self.0),
            name,
        })
    }
}

struct RustlsConnectOne {
    config: Arc<rustls::ClientConfig>,
    name: Option<rustls::pki_types::ServerName<'static>>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> TlsConnect<S> for RustlsConnectOne {
    type Stream = PgTls<S>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = std::io::Result<PgTls<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let name = self.name.ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "the host is not a DNS name",
                )
            })?;
            let connector = tokio_rustls::TlsConnector::from(self.config);
            connector.connect(name, stream).await.map(PgTls)
        })
    }
}

struct PgTls<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for PgTls<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for PgTls<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for PgTls<S> {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealing_round_trips_and_binds_its_place() {
        let key = ChaCha20Poly1305::new_from_slice(&[7u8; 32]).unwrap();
        let sealed = seal(&key, "default", "refresh_token", "rt-123").unwrap();
        assert!(sealed.starts_with(SEALED_PREFIX) && !sealed.contains("rt-123"));
        let body = sealed.strip_prefix(SEALED_PREFIX).unwrap();
        assert_eq!(
            open(&key, "default", "refresh_token", body).unwrap(),
            "rt-123"
        );
        assert!(open(&key, "other", "refresh_token", body).is_err());
        assert!(open(&key, "default", "access_token", body).is_err());
        let wrong = ChaCha20Poly1305::new_from_slice(&[8u8; 32]).unwrap();
        assert!(open(&wrong, "default", "refresh_token", body).is_err());
    }

    #[test]
    fn a_sealed_document_opens_only_whole_and_as_its_profile() {
        let key = ChaCha20Poly1305::new_from_slice(&[7u8; 32]).unwrap();
        let sealed = seal_with(&key, &document_aad("a"), "{}", DOCUMENT_PREFIX).unwrap();
        let body = sealed.strip_prefix(DOCUMENT_PREFIX).unwrap();
        assert_eq!(open_with(&key, &document_aad("a"), body).unwrap(), "{}");
        assert!(open_with(&key, &document_aad("b"), body).is_err());
        let mut bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = base64::engine::general_purpose::STANDARD.encode(bytes);
        assert!(open_with(&key, &document_aad("a"), &tampered).is_err());
    }
}
