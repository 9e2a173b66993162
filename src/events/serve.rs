/*!
`serve`: one app, any number of portals, long-running. The shared listener serves the routes
under the prefix (`/event`, `/install`, `GET /healthz`); [`receive`](super::receive) decides
which event POSTs are believed and keeps them; the dispatcher hands each kept event to `--exec`
(bounded concurrency, `--tries` with back-off, then `failed/`), or without `--exec` prints it as
a JSON line. With the file store, accepted events wait in the journal on disk, not in memory: a
receiver's 200 only wakes the dispatcher, which reads the next event back when a handler slot is
free. Events a stopped run left are handed out first, so an event accepted (answered 200) is
handled at least once whatever happens to the process.
*/

use std::ffi::CString;
use std::net::SocketAddr;
use std::os::unix::ffi::OsStrExt;

use anyhow::Result;
use hyper::{Method, StatusCode};
use tokio::sync::{mpsc, Notify};

use super::backlog::Backlog;
use super::dispatcher::{Arrived, Dispatcher};
use super::exec::HandlerCommand;
use super::installs::{self, InstallPost};
use super::journal::{self, Feed};
use super::receive::EventReceiver;
use super::spool::{PendingFiles, Spool};
use super::stop::{Stopping, GRACE};
use crate::capture::listener::{self, Outcome, Reply, Request, Rules};
use crate::session::Session;

const MAX_BODY: usize = 64 * 1024;
/// The spool's queue name for `serve`.
pub(crate) const QUEUE: &str = "serve";

pub(crate) struct ServeOptions {
    pub listen: SocketAddr,
    pub public_url: Option<url::Url>,
    pub prefix: String,
    pub handler: Option<HandlerCommand>,
    pub concurrency: usize,
}

struct Routes<'a> {
    receiver: EventReceiver<'a>,
    prefix: String,
    backlog: Backlog<'a>,
    /// Wakes a shared queue's dispatcher (the event itself stays in the queue).
    jobs: mpsc::UnboundedSender<Arrived>,
    /// Wakes the spool's dispatcher: an event is in the journal.
    wake: &'a Notify,
    installs: mpsc::UnboundedSender<InstallPost>,
    stop: &'a Stopping,
}

pub(crate) async fn run(session: &Session, opts: ServeOptions) -> Result<()> {
    // Caught before anyone is told where to send: a SIGTERM from then on is an orderly stop.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let _caught = crate::signals::catch_terminate();
    let spool = Spool::open(&session.cfg.config_dir, QUEUE)?;
    let backlog = match session.store.event_queue() {
        Some(shared) => Backlog::Shared(shared),
        None => Backlog::Spool(&spool),
    };
    let (writer, reader) = match backlog {
        Backlog::Spool(spool) => journal::open(spool).map(|(w, r)| (Some(w), Some(r)))?,
        Backlog::Shared(_) => (None, None),
    };
    let receiver = EventReceiver::new(session, backlog, writer);
    let portals = receiver.load().await?;
    let tcp = listener::bind(opts.listen, "choose another address with --listen").await?;
    let local = tcp.local_addr()?;
    tell(session, local, &opts, portals);
    let (jobs, queue) = mpsc::unbounded_channel();
    let wake = Notify::new();
    let extra: Vec<String> = opts
        .public_url
        .iter()
        .filter_map(crate::profile::host_port)
        .collect();
    let rules = Rules {
        path: format!("{}/", opts.prefix),
        methods: &[Method::GET, Method::POST],
        max_body: MAX_BODY,
        hosts: listener::hosts_for(local, &extra),
    };
    let checks = installs::checks(session)?;
    let (callbacks, arrived) = mpsc::unbounded_channel();
    let stop = Stopping::default();
    let routes = Routes {
        receiver,
        prefix: opts.prefix.clone(),
        backlog,
        jobs,
        wake: &wake,
        installs: callbacks,
        stop: &stop,
    };
    let dispatcher = Dispatcher::new(session, opts.handler.clone(), opts.concurrency, &stop);
    let dispatching = async {
        match (backlog, reader) {
            (Backlog::Spool(spool), Some(journal)) => {
                let files = PendingFiles::new(spool.clone());
                let feed = Feed { files, journal };
                dispatcher.drain_spool(&wake, feed, spool).await
            }
            (Backlog::Shared(shared), _) => dispatcher.drain_queue(queue, shared).await,
            (Backlog::Spool(_), None) => unreachable!("a spool has its journal"),
        }
    };
    // A new or replaced install is believed for its events at once.
    let reread = async || {
        if let Err(e) = routes.receiver.load().await {
            session
                .cfg
                .ui
                .warn(format_args!("b24auth: cannot re-read the installs: {e:#}"));
        }
    };
    let installer = installs::run(session, &checks, arrived, reread);
    let served = listener::serve(tcp, rules, &routes);
    tokio::pin!(served, dispatching, installer);
    tokio::select! {
        served = &mut served => return served,
        () = &mut dispatching => return Ok(()),
        () = &mut installer => return Ok(()),
        _ = term.recv() => {}
    }
    session.cfg.ui.info(
        "b24auth: SIGTERM: taking no new request; finishing the ones in flight (what is left stays kept for the next start)",
    );
    stop.begin();
    // The listener keeps answering (503 to newcomers) while the requests in flight finish,
    // then the handlers running do.
    let finished = async {
        let _ = tokio::time::timeout(GRACE, stop.drained()).await;
        let _ = tokio::time::timeout(GRACE, &mut dispatching).await;
    };
    // The installer is polled through the grace: a callback in flight is saved and answered,
    // never dropped with its pair.
    tokio::select! {
        served = &mut served => served,
        () = finished => Ok(()),
        () = &mut installer => Ok(()),
    }
}

/// The URLs to register, on stderr (also under `-q`: they are what the user must act on).
fn tell(session: &Session, local: SocketAddr, opts: &ServeOptions, portals: usize) {
    let ui = &session.cfg.ui;
    let base = match &opts.public_url {
        Some(u) => u.as_str().trim_end_matches('/').to_string(),
        None => format!("http://{local}"),
    };
    ui.always(format_args!(
        "serving events on http://{local}{}/event",
        opts.prefix
    ));
    ui.always(format_args!(
        "event handler URL to bind (`b24auth events bind EVENT --handler URL`): {base}{}/event",
        opts.prefix
    ));
    ui.always(format_args!(
        "installation path: {base}{}/install",
        opts.prefix
    ));
    ui.info(format_args!(
        "b24auth: {portals} installed portal(s) known; health at {base}{}/healthz",
        opts.prefix
    ));
}

impl listener::Handler<()> for Routes<'_> {
    fn concurrent(&self) -> bool {
        true
    }

    async fn handle(&self, req: Request) -> Outcome<()> {
        let Some(_in_flight) = self.stop.enter() else {
            return Outcome::Continue(Reply::text(StatusCode::SERVICE_UNAVAILABLE, "Stopping"));
        };
        let route = req
            .path
            .strip_prefix(&self.prefix)
            .unwrap_or("")
            .to_string();
        let reply = match (route.as_str(), &req.method) {
            ("/event", &Method::POST) => match self.receiver.event(req).await {
                Ok(_) => {
                    self.wake();
                    Reply::json(StatusCode::OK, "{\"status\":\"ok\"}".into())
                }
                Err(reply) => reply,
            },
            ("/healthz", &Method::GET) => healthz(&self.backlog).await,
            ("/install", &Method::POST) => self.install(req).await,
            ("/event" | "/healthz" | "/install", _) => {
                Reply::text(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
            }
            _ => Reply::text(StatusCode::NOT_FOUND, "Not found"),
        };
        Outcome::Continue(reply)
    }
}

impl Routes<'_> {
    /// The dispatcher is told an event is kept; it reads it from where it was kept.
    fn wake(&self) {
        match self.backlog {
            Backlog::Spool(_) => self.wake.notify_one(),
            Backlog::Shared(_) => {
                let _ = self.jobs.send(Arrived);
            }
        }
    }

    /// The one profile `--profile` names, if it was given (else one profile per portal).
    fn only(&self) -> Option<&str> {
        self.receiver.only()
    }

    /// An installation callback, handed to the installer (which no connection owns).
    async fn install(&self, req: Request) -> Reply {
        let profile = match installs::profile_for(self.receiver.session(), self.only(), &req).await
        {
            Ok(profile) => profile,
            Err(reply) => return reply,
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        let callback = InstallPost {
            request: req,
            profile,
            reply,
        };
        if self.installs.send(callback).is_err() {
            return Reply::text(StatusCode::SERVICE_UNAVAILABLE, "Stopping");
        }
        answer.await.unwrap_or_else(|_| {
            Reply::text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Could not save the tokens",
            )
        })
    }
}

/// 200 while an event would be kept: the journal's directory is writable, or the shared
/// queue's database answers (503 while it cannot be reached).
async fn healthz(backlog: &Backlog<'_>) -> Reply {
    let (ok, why) = match backlog {
        Backlog::Spool(spool) => (writable(spool), "the event queue is not writable"),
        Backlog::Shared(queue) => (
            queue.ping().await.is_ok(),
            "the event queue's database cannot be reached",
        ),
    };
    match ok {
        true => Reply::text(StatusCode::OK, "ok"),
        false => Reply::text(StatusCode::SERVICE_UNAVAILABLE, why),
    }
}

/// True while the journal's directory accepts new segments.
fn writable(spool: &Spool) -> bool {
    let Ok(path) = CString::new(spool.dir().join("journal").as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated path; access(2) only reads it.
    unsafe { libc::access(path.as_ptr(), libc::W_OK) == 0 }
}
