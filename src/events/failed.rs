/*!
Failed events, wherever they are kept for a profile: `serve`'s backlog (its spool, or the
store's shared queue), the profile's `events pull` spool, and the portal's own errored offline
events; listed together (`events failed`) and put back to run again (`events retry`).
*/

use anyhow::Result;
use serde_json::{json, Value};

use super::backlog::Backlog;
use super::spool::{Entry, Spool};
use super::{pull, serve};
use crate::rest::Caller;
use crate::session::Session;

/// Where failed events may be kept for this profile: `serve`'s backlog (its spool, or the
/// store's shared queue) and the profile's `events pull` spool.
struct FailedPlaces {
    serve: Spool,
    pull: Spool,
}

impl FailedPlaces {
    fn open(s: &Session) -> Result<FailedPlaces> {
        let dir = &s.cfg.config_dir;
        Ok(FailedPlaces {
            serve: Spool::open(dir, serve::QUEUE)?,
            pull: Spool::open(dir, &pull::queue_name(s.profile_name()))?,
        })
    }

    fn backlogs<'a>(&'a self, s: &'a Session) -> [Backlog<'a>; 2] {
        let serve = match s.store.event_queue() {
            Some(shared) => Backlog::Shared(shared),
            None => Backlog::Spool(&self.serve),
        };
        [serve, Backlog::Spool(&self.pull)]
    }
}

/// Every failed event of the profile, as JSON rows (`id`, `event`, `profile`, `where`, and for
/// local ones `received_at` and `payload`).
pub(crate) async fn list(s: &Session) -> Result<Vec<Value>> {
    let mut rows: Vec<Value> = Vec::new();
    let kept = FailedPlaces::open(s)?;
    for backlog in kept.backlogs(s) {
        rows.extend(backlog.failed().await?.iter().map(local_row));
    }
    if let Some(caller) = portal_caller(s).await? {
        for row in pull::failed_on_portal(&caller).await? {
            rows.push(json!({"id": row.get("ID"), "event": row.get("EVENT_NAME"),
                "profile": s.profile_name(), "where": "portal"}));
        }
    }
    Ok(rows)
}

fn local_row(e: &Entry) -> Value {
    json!({"id": e.id, "event": e.event, "profile": e.profile, "received_at": e.received_at,
        "where": "spool", "payload": e.payload})
}

/// A caller for the profile's portal when one is stored and usable; `None` when nothing is (a
/// `serve` host's default profile may not exist) or when the portal uninstalled the app (its
/// events kept here are still listed and retried).
async fn portal_caller(s: &Session) -> Result<Option<Caller<'_>>> {
    match s.store.load(s.profile_name()).await? {
        Some(p) if crate::store::marks::uninstalled_at(&p).is_none() => {
            Ok(Some(Caller::new(s, Default::default(), false).await?))
        }
        _ => Ok(None),
    }
}

/// Puts the failed events `ids` (all with `None`) back to run: the local ones into their
/// queue, the portal's reserved for the next `events pull`. How many of each.
pub(crate) async fn retry(s: &Session, ids: Option<&[String]>) -> Result<(usize, usize)> {
    let mut moved = 0;
    let mut left: Vec<String> = ids.unwrap_or_default().to_vec();
    let kept = FailedPlaces::open(s)?;
    for backlog in kept.backlogs(s) {
        let these: Vec<String> = match ids {
            None => backlog.failed().await?.into_iter().map(|e| e.id).collect(),
            Some(_) => left.clone(),
        };
        for id in these {
            if backlog.retry(&id).await? {
                moved += 1;
                left.retain(|l| l != &id);
            }
        }
    }
    let mut reserved = 0;
    if ids.is_none() || !left.is_empty() {
        if let Some(caller) = portal_caller(s).await? {
            let asked = ids.is_some().then_some(left.as_slice());
            reserved = pull::retry_failed(s, &caller, asked).await?;
        }
    }
    Ok((moved, reserved))
}
