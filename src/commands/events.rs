/*!
`b24auth events pull | bind | failed | retry`: flags → one flow in `events/` → print.
*/

use std::io::Write;

use anyhow::{anyhow, Result};
use serde_json::{Map, Value};

use crate::cli::{
    EventsBindArgs, EventsCommand, EventsFailedArgs, EventsPullArgs, EventsRetryArgs,
};
use crate::events::exec::HandlerCommand;
use crate::events::pull;
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

async fn failed(s: &Session, args: &EventsFailedArgs) -> Result<()> {
    let rows = crate::events::failed::list(s).await?;
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

async fn retry(s: &Session, args: &EventsRetryArgs) -> Result<()> {
    let ids = (!args.all).then_some(args.ids.as_slice());
    let (moved, reserved) = crate::events::failed::retry(s, ids).await?;
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
