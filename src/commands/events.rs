/*!
`b24auth events pull | bind | failed | retry`: flags → one flow in `events/` → print.
*/

use std::io::Write;

use anyhow::{anyhow, Result};
use serde_json::{json, Map, Value};

use crate::cli::{
    EventsBindArgs, EventsCommand, EventsFailedArgs, EventsPullArgs, EventsRetryArgs,
};
use crate::events::backlog::Backlog;
use crate::events::exec::HandlerCommand;
use crate::events::spool::{Entry, Spool};
use crate::events::{pull, serve};
use crate::rest::Caller;
use crate::session::Session;

/// A handler run longer than this is killed and counts as failed (`serve`'s default).
const HANDLER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

pub(crate) async fn run(s: &Session, action: &EventsCommand) -> Result<()> {
    match action {
        EventsCommand::Pull(args) => pull_events(s, args).await,
        EventsCommand::Bind(args) => bind(s, args).await,
        EventsCommand::Failed(args) => failed(s, args).await,
        EventsCommand::Retry(args) => retry(s, args).await,
    }
}

async fn pull_events(s: &Session, args: &EventsPullArgs) -> Result<()> {
    let caller = Caller::new(s, Default::default(), false).await?;
    // CLI.md gives `events pull` no `--timeout-handler`: `serve`'s default bounds a handler.
    let handler = args.exec.clone().map(|command| HandlerCommand {
        command,
        tries: args.tries,
        timeout: Some(HANDLER_TIMEOUT),
    });
    let opts = pull::PullOptions {
        handler,
        follow: args.follow,
        limit: args.limit,
    };
    pull::run(s, &caller, opts).await
}

async fn bind(s: &Session, args: &EventsBindArgs) -> Result<()> {
    let caller = Caller::new(s, Default::default(), false).await?;
    for event in &args.events {
        let mut params = Map::new();
        params.insert("event".into(), event.as_str().into());
        match &args.handler {
            Some(url) => params.insert("handler".into(), url.as_str().into()),
            None => params.insert("event_type".into(), "offline".into()),
        };
        match caller.call("event.bind", &params).await {
            Ok(_) => s.cfg.ui.info(format_args!("b24auth: bound {event}")),
            Err(e) if format!("{e:#}").contains("Handler already binded") => s
                .cfg
                .ui
                .info(format_args!("b24auth: {event} was already bound")),
            Err(e) if format!("{e:#}").starts_with("ACCESS_DENIED") => {
                return Err(not_admin(s, event, &e).await)
            }
            Err(e) => return Err(e.context(format!("event.bind for {event}"))),
        }
    }
    Ok(())
}

/// `event.bind` refused for want of an administrator: the fix names this profile's portal and
/// options, ready to paste.
async fn not_admin(s: &Session, event: &str, e: &anyhow::Error) -> anyhow::Error {
    let portal = match s.store.load(s.profile_name()).await {
        Ok(Some(p)) => crate::ui::hint::domain_of(p.portal(), p.client_endpoint()),
        _ => "PORTAL".into(),
    };
    // The portal's words only: the table's general advice (rights, plan) is not this case's.
    let said = match e.downcast_ref::<crate::bitrix::errors::Explained>() {
        Some(x) => x.error.to_string(),
        None => format!("{e:#}"),
    };
    anyhow!(
        "event.bind for {}: the portal requires an administrator ({}); the stored authorization belongs to a user who is not one: reinstall the app, or sign in to the portal as an administrator and {}",
        crate::ui::sanitize::strip_controls(event),
        crate::ui::sanitize::strip_controls(&said),
        crate::ui::hint::authorize_again(&portal, true)
    )
}

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

async fn failed(s: &Session, args: &EventsFailedArgs) -> Result<()> {
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
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", Value::Array(rows))?;
    } else {
        for r in &rows {
            let text = |k: &str| match r.get(k) {
                Some(Value::String(v)) => crate::ui::sanitize::strip_controls(v),
                Some(v) => v.to_string(),
                None => String::new(),
            };
            writeln!(
                out,
                "{}\t{}\t{}\t{}",
                text("id"),
                text("event"),
                text("profile"),
                text("where")
            )?;
        }
    }
    out.flush()?;
    Ok(())
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

async fn retry(s: &Session, args: &EventsRetryArgs) -> Result<()> {
    let mut moved = 0;
    let mut left: Vec<String> = args.ids.clone();
    let kept = FailedPlaces::open(s)?;
    for backlog in kept.backlogs(s) {
        let ids: Vec<String> = match args.all {
            true => backlog.failed().await?.into_iter().map(|e| e.id).collect(),
            false => left.clone(),
        };
        for id in ids {
            if backlog.retry(&id).await? {
                moved += 1;
                left.retain(|l| l != &id);
            }
        }
    }
    let mut reserved = 0;
    if args.all || !left.is_empty() {
        if let Some(caller) = portal_caller(s).await? {
            let ids = (!args.all).then_some(left.as_slice());
            reserved = pull::retry_failed(s, &caller, ids).await?;
        }
    }
    s.cfg.ui.info(format_args!(
        "b24auth: {moved} event(s) back in the spool (a running `serve` takes them within seconds; `events pull` at its next run), {reserved} portal event(s) reserved for the next `events pull`"
    ));
    if moved + reserved == 0 {
        return Err(crate::exit::usage(
            "no such failed event (one an earlier `events retry` reserved waits for the next `b24auth events pull`): see `b24auth events failed`",
        ));
    }
    Ok(())
}
