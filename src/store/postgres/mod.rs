/*!
The PostgreSQL backend: one shared copy of each profile for several hosts.

One row per profile holds the same JSON document as `auth.json`, a version counter and
`updated_at`. Single-flight across hosts is a row lock: `SELECT … FOR UPDATE` inside a
transaction, bounded by `lock_timeout`, released by the server if the holder dies ([`rows`]).

The connection is made as libpq would make it ([`libpq`]: the URL, then the `PG*` variables and
`.pgpass`; [`tls`]: `sslmode`, `sslrootcert`, client certificates), so a URL that works with
`psql` works here, on every host. Every statement keeps no state past its transaction —
no named prepared statement (only unnamed ones, `query_typed`), no session advisory lock, no
`SET` outside a transaction — so the store works through pgbouncer in transaction pooling, where
each transaction may get another server connection.

With `B24AUTH_STORE_KEY` set, the whole document is sealed ([`seal`]); schema changes are
[`migrate`]'s.
*/

mod candidates;
mod events;
mod group;
mod key;
mod libpq;
mod migrate;
mod pgpass;
mod reconnect;
mod rows;

pub(crate) use rows::PgLock;
mod seal;
mod tls;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use chacha20poly1305::ChaCha20Poly1305;
use tokio_postgres::Client;

use crate::exit;
use crate::profile::Profile;
use crate::secret::Secret;
use crate::ui::Ui;

/// With a key, a document that is not sealed as a whole: refused (after one upgrade attempt
/// while the store is still at schema 1).
#[derive(Debug, thiserror::Error)]
#[error("profile `{name}` in {store} is not sealed with B24AUTH_STORE_KEY (stored without the key, or modified by someone without it): refused; authorize again with --force to replace it")]
struct Unsealed {
    name: String,
    store: String,
}

pub(crate) struct PgStore {
    options: libpq::ConnectOptions,
    /// The store URL as `without_password` prints it: for messages.
    display: String,
    key: Option<ChaCha20Poly1305>,
    ui: Ui,
    /// Where a refreshed pair goes when the database cannot take it.
    rescue_dir: std::path::PathBuf,
    client: reconnect::ReusedClient,
    /// A second connection for accepted events only, so that their commits (each one a
    /// request's answer) never wait behind the handlers' claims and profile reads.
    push_client: reconnect::ReusedClient,
    warned: AtomicBool,
    /// Events accepted by concurrent requests, inserted together.
    pushes: group::Group<crate::store::queue::Queued>,
    /// Handled events' ids, deleted together.
    removals: group::Group<String>,
}

impl PgStore {
    pub(crate) fn new(
        url: &str,
        rescue_dir: std::path::PathBuf,
        key: Option<&Secret>,
        ui: Ui,
    ) -> Result<PgStore> {
        let display = crate::ui::password::without_password(url)
            .unwrap_or_else(|| "the PostgreSQL store".into());
        let options = libpq::ConnectOptions::resolve(url, &ui)?;
        let key = key.map(key::store_key).transpose()?;
        Ok(PgStore {
            options,
            display,
            key,
            ui,
            rescue_dir,
            client: Default::default(),
            push_client: Default::default(),
            warned: AtomicBool::new(false),
            pushes: group::Group::default(),
            removals: group::Group::default(),
        })
    }

    /// The main connection (made again if it died since the last use).
    async fn client(&self) -> Result<Arc<Client>> {
        Ok(self.client.get(|| self.connect()).await?.0)
    }

    /// The URL's hosts in order (shuffled for `load_balance_hosts=random`), each with its own
    /// password; the first that takes the connection (and, with `target_session_attrs`, has
    /// the wanted kind of session — tokio-postgres checks that per host) is used.
    async fn connect(&self) -> Result<Client> {
        let mut last = None;
        for one in self.options.in_order() {
            let connector = tls::connector(&self.options.ssl_for(one))?;
            match one.connect(connector).await {
                Ok((client, connection)) => {
                    tokio::spawn(connection);
                    return Ok(client);
                }
                Err(e) => last = Some(e),
            }
        }
        let e = last.ok_or_else(|| anyhow!("--store names no host"))?;
        Err(anyhow!(
            "cannot connect to the PostgreSQL store {}: {}",
            self.display,
            self.connect_error(&e)
        ))
    }

    /// A failed connection on one line, with what to do for the causes people meet.
    fn connect_error(&self, e: &tokio_postgres::Error) -> String {
        if let Some(hint) = tls::explain(e, &self.options.ssl) {
            return hint;
        }
        let text = exit::one_line(e);
        if text.contains("password missing") {
            return format!("{text}: the server asks for a password; put it in ~/.pgpass (mode 0600) or the file PGPASSFILE names, or set PGPASSWORD");
        }
        if text.contains("server does not support TLS") {
            return format!("{text}: the server has ssl = off; connect without TLS with sslmode=prefer (or sslmode=disable), or turn ssl on in its postgresql.conf");
        }
        text
    }

    fn db_error(&self, what: &str, e: tokio_postgres::Error) -> anyhow::Error {
        anyhow!("{what} in {}: {}", self.display, exit::one_line(&e))
    }
}

impl PgStore {
    pub(super) fn location(&self, name: &str) -> String {
        format!("{} (profile {name})", self.display)
    }

    pub(super) async fn exists(&self, name: &str) -> Result<bool> {
        Ok(self.load_document(name).await?.is_some())
    }

    /// The database's copy is dead: the new pair is kept in a 0600 file rather than lost, and
    /// the error says how to put it back.
    pub(super) fn rescue(
        &self,
        name: &str,
        profile: &Profile,
        cause: anyhow::Error,
    ) -> anyhow::Error {
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
