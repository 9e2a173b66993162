/*!
`serve`'s receiver: an event POST is believed only when its `auth[application_token]` equals, in
constant time, the one stored for its `auth[member_id]` (the only check of a sender Bitrix24
offers); anything else is 401 and nothing runs. An accepted event is written to the spool
durably before its 200; ONAPPUNINSTALL also marks the portal's profile uninstalled first.

The table member_id → (profile, application_token) is read from the store at start and again
(at most once a second) when an unknown `member_id` knocks, so a portal installed meanwhile is
found without letting a flood of made-up ids read the store for every request.
*/

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use hyper::StatusCode;
use serde_json::{Map, Value};

use super::backlog::Backlog;
use super::exec::handler_json;
use super::journal::JournalWriter;
use super::spool::{new_id, Entry};
use crate::capture::listener::{media_type, Reply, Request};
use crate::secret::{constant_time_eq, Secret};
use crate::session::Session;

const RELOAD_EVERY: Duration = Duration::from_secs(1);

/// An install's identity as stored: its profile and its `application_token`.
struct StoredInstall {
    profile: String,
    application_token: Secret,
}

pub(crate) struct EventReceiver<'a> {
    session: &'a Session,
    backlog: Backlog<'a>,
    /// Groups the journal's writes of concurrent events (none for a shared queue).
    writer: Option<JournalWriter>,
    installs: RefCell<HashMap<String, StoredInstall>>,
    loaded_at: RefCell<Option<Instant>>,
}

impl<'a> EventReceiver<'a> {
    /// `writer` keeps the events when `backlog` is the spool.
    pub fn new(
        session: &'a Session,
        backlog: Backlog<'a>,
        writer: Option<JournalWriter>,
    ) -> EventReceiver<'a> {
        EventReceiver {
            session,
            backlog,
            writer,
            installs: RefCell::new(HashMap::new()),
            loaded_at: RefCell::new(None),
        }
    }

    pub fn session(&self) -> &'a Session {
        self.session
    }

    /// With `--profile NAME` (or `B24AUTH_PROFILE`), serve keeps that one profile; else every
    /// profile, one per portal.
    pub fn only(&self) -> Option<&'a str> {
        let name = self.session.profile_name();
        (name != "default").then_some(name)
    }

    /// Reads every profile's `member_id` and `application_token` from the store.
    pub async fn load(&self) -> anyhow::Result<usize> {
        let listing = self.session.store.list().await?;
        let mut table = HashMap::new();
        for (name, profile) in listing {
            if self.only().is_some_and(|only| only != name) {
                continue;
            }
            let Ok(p) = profile else { continue };
            // An uninstalled portal sends nothing any more; whatever claims to is no sender.
            if crate::store::marks::uninstalled_at(&p).is_some() {
                continue;
            }
            // An install the trusted server has not proven proves no sender either.
            if p.is_unverified() {
                continue;
            }
            let (Some(member), Some(token)) = (p.member_id(), p.application_token()) else {
                continue;
            };
            table.insert(
                member.to_string(),
                StoredInstall {
                    profile: name,
                    application_token: token,
                },
            );
        }
        let n = table.len();
        *self.installs.borrow_mut() = table;
        *self.loaded_at.borrow_mut() = Some(Instant::now());
        Ok(n)
    }

    /// Marks uninstalled every profile of this app holding `member` (two profiles may hold one
    /// portal; the table names one of them, `proven`), before the 200. `member_id` names the
    /// portal, not the app: another app's profile of the same portal is left alone.
    async fn uninstalled(&self, member: &str, token: &str, proven: &str) -> Result<(), Reply> {
        let store = &self.session.store;
        let listing = store.list().await.unwrap_or_default();
        let mut names: Vec<String> = listing
            .into_iter()
            .filter(|(name, p)| {
                self.only().is_none_or(|only| only == name)
                    && p.as_ref()
                        .is_ok_and(|p| p.member_id() == Some(member) && self.ours(p, token))
            })
            .map(|(name, _)| name)
            .collect();
        if !names.iter().any(|n| n == proven) {
            names.push(proven.to_string());
        }
        for profile in names {
            let now = crate::profile::now();
            if let Err(e) = crate::store::marks::mark_uninstalled(store, &profile, now).await {
                self.session.cfg.ui.warn(format_args!(
                    "b24auth: cannot mark profile `{profile}` uninstalled: {e:#}"
                ));
                return Err(Reply::text(StatusCode::INTERNAL_SERVER_ERROR, "Not kept"));
            }
            self.session.cfg.ui.info(format_args!(
                "b24auth: the app was uninstalled from profile `{profile}`'s portal; it is marked and never refreshed"
            ));
        }
        self.installs.borrow_mut().remove(member);
        Ok(())
    }

    /// A profile of this app: it holds the `application_token` just proven, or this app's
    /// `client_id`.
    fn ours(&self, p: &crate::profile::Profile, token: &str) -> bool {
        let held = p
            .application_token()
            .is_some_and(|t| constant_time_eq(t.expose().as_bytes(), token.as_bytes()));
        let client = self.session.cfg.client_id.as_deref();
        held || (client.is_some() && p.client_id() == client && !p.is_webhook())
    }

    /// An event POST: 200 once durably kept, 401 for an unproven sender, 400 for a body that
    /// is no event.
    pub async fn event(&self, req: Request) -> Result<Entry, Reply> {
        let post = parse(req.content_type.as_deref(), &req.body)?;
        let auth = post.get("auth").and_then(Value::as_object);
        let field = |k: &str| auth.and_then(|a| a.get(k)).and_then(Value::as_str);
        let (Some(member), Some(token)) = (field("member_id"), field("application_token")) else {
            return Err(unauthorized());
        };
        let profile = self.sender(member, token).await.ok_or_else(unauthorized)?;
        let event = post
            .get("event")
            .and_then(Value::as_str)
            .filter(|e| plain_event(e))
            .ok_or_else(|| Reply::text(StatusCode::BAD_REQUEST, "No event name"))?
            .to_ascii_uppercase();
        if event == "ONAPPUNINSTALL" {
            self.uninstalled(member, token, &profile).await?;
        }
        let entry = Entry {
            id: new_id(),
            event,
            profile,
            received_at: crate::profile::now(),
            payload: handler_json(&post),
        };
        self.keep(&entry).await?;
        Ok(entry)
    }

    /// The profile whose stored `application_token` the sender proved, if any.
    async fn sender(&self, member: &str, token: &str) -> Option<String> {
        if !self.installs.borrow().contains_key(member) && self.may_reload() {
            let _ = self.load().await;
        }
        let installs = self.installs.borrow();
        let install = installs.get(member)?;
        let stored = install.application_token.expose().as_bytes();
        constant_time_eq(stored, token.as_bytes()).then(|| install.profile.clone())
    }

    fn may_reload(&self) -> bool {
        self.loaded_at
            .borrow()
            .is_none_or(|at| at.elapsed() >= RELOAD_EVERY)
    }

    /// The durable write (fsync, or a commit) before any answer.
    async fn keep(&self, entry: &Entry) -> Result<(), Reply> {
        self.backlog
            .keep(self.writer.as_ref(), entry)
            .await
            .map_err(|e| {
                self.session
                    .cfg
                    .ui
                    .warn(format_args!("b24auth: cannot keep an event: {e:#}"));
                Reply::text(StatusCode::INTERNAL_SERVER_ERROR, "Not kept")
            })
    }
}

fn unauthorized() -> Reply {
    Reply::text(StatusCode::UNAUTHORIZED, "Unknown application_token")
}

fn plain_event(e: &str) -> bool {
    !e.is_empty() && e.len() <= 128 && e.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The POST as JSON: a PHP bracket form (as Bitrix24 sends events) or a JSON object.
fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Map<String, Value>, Reply> {
    let bad = || Reply::text(StatusCode::BAD_REQUEST, "Not an event");
    let value: Value = match media_type(content_type).as_str() {
        "application/x-www-form-urlencoded" => form(body).ok_or_else(bad)?,
        "application/json" => serde_json::from_slice(body).map_err(|_| bad())?,
        _ => {
            return Err(Reply::text(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Send application/x-www-form-urlencoded or application/json",
            ))
        }
    };
    match value {
        Value::Object(m) => Ok(m),
        _ => Err(bad()),
    }
}

/// Keys nest at most this deep (`data[FIELDS][UF_CRM_1][0]`); deeper brackets stay in the key.
const FORM_DEPTH: usize = 6;

/// A PHP bracket form as nested JSON objects (`a[b][c]=v`; `a[]=v` numbers the items), every
/// value a string, as PHP reads it.
fn form(body: &[u8]) -> Option<Value> {
    let mut root = Map::new();
    for (key, value) in url::form_urlencoded::parse(body) {
        let mut parts = key_path(&key);
        let last = parts.pop()?;
        let mut node = &mut root;
        for part in parts {
            let next = node
                .entry(part)
                .or_insert_with(|| Value::Object(Map::new()));
            if !next.is_object() {
                *next = Value::Object(Map::new());
            }
            node = next.as_object_mut()?;
        }
        let last = match last.is_empty() {
            true => node.len().to_string(),
            false => last,
        };
        node.insert(last, Value::String(value.into_owned()));
    }
    Some(Value::Object(root))
}

/// `a[b][c]` → `["a", "b", "c"]`, at most [`FORM_DEPTH`] parts (the rest stays in the last).
fn key_path(key: &str) -> Vec<String> {
    let Some(open) = key.find('[').filter(|&i| i > 0 && key.ends_with(']')) else {
        return vec![key.to_string()];
    };
    let mut parts = vec![key[..open].to_string()];
    let mut rest = &key[open..];
    while let Some(inner) = rest.strip_prefix('[') {
        let Some(close) = inner.find(']') else { break };
        if parts.len() == FORM_DEPTH {
            let last = parts.pop().unwrap_or_default();
            parts.push(format!("{last}{rest}"));
            return parts;
        }
        parts.push(inner[..close].to_string());
        rest = &inner[close + 1..];
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bitrix_form_becomes_nested_json() {
        let body = b"event=ONCRMDEALADD&data%5BFIELDS%5D%5BID%5D=7&auth%5Bmember_id%5D=m&auth%5Bapplication_token%5D=t";
        let m = parse(Some("application/x-www-form-urlencoded"), body)
            .ok()
            .unwrap();
        assert_eq!(m["data"]["FIELDS"]["ID"], "7");
        assert_eq!(m["auth"]["member_id"], "m");
        assert!(parse(Some("text/plain"), body).is_err());
    }
}
