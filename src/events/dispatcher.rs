/*!
`serve`'s dispatcher: hands kept events to the handler, at most `--concurrency` at once, until
an orderly stop; a failed event (after `--tries`) is kept as failed, a handled one removed.
From the spool, events come through a channel (the door's, and the pending files at start); from
a shared queue, they are claimed (any host's) as there is room, the door's channel only waking
the claims early.
*/

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::mpsc;

use super::backlog::from_queued;
use super::claims::{lease, Claims};
use super::dispatch::{Delivery, Handler};
use super::queue::{Entry, Spool};
use super::stop::Stopping;
use crate::session::Session;
use crate::store::queue::{EventQueue, Queued};

/// Events of a pending spool file (`total` in all: a file holds the events written together,
/// which may come as several jobs); for a shared queue, only a wake-up.
pub(crate) struct HandlerRun {
    pub file: String,
    pub entries: Vec<Entry>,
    pub total: usize,
}

/// Pauses between claims while a shared queue is empty: from 50 ms, doubling, at most 1 s.
const IDLE_FIRST: Duration = Duration::from_millis(50);
const IDLE_MAX: Duration = Duration::from_secs(1);

pub(crate) struct Dispatcher<'a> {
    pub session: &'a Session,
    pub handler: Option<Handler>,
    pub concurrency: usize,
    pub stop: &'a Stopping,
    /// One session per profile, kept: a database store connects once, not once an event.
    sessions: RefCell<HashMap<String, Rc<Session>>>,
}

impl<'a> Dispatcher<'a> {
    pub fn new(
        session: &'a Session,
        handler: Option<Handler>,
        concurrency: usize,
        stop: &'a Stopping,
    ) -> Dispatcher<'a> {
        Dispatcher {
            session,
            handler,
            concurrency: concurrency.max(1),
            stop,
            sessions: RefCell::new(HashMap::new()),
        }
    }

    /// Events from the spool, as the channel brings them; a file goes once all its events are
    /// settled.
    pub async fn drain_spool(&self, mut jobs: mpsc::UnboundedReceiver<HandlerRun>, spool: &Spool) {
        let remaining: RefCell<HashMap<String, usize>> = RefCell::new(HashMap::new());
        let mut waiting: VecDeque<(String, Entry)> = VecDeque::new();
        let mut running = FuturesUnordered::new();
        loop {
            while running.len() < self.concurrency && !self.stop.is_stopping() {
                let Some((file, entry)) = waiting.pop_front() else {
                    break;
                };
                running.push(self.settle_spooled(file, entry, spool, &remaining));
            }
            if self.stop.is_stopping() && running.is_empty() {
                return;
            }
            tokio::select! {
                () = self.stop.begun(), if !self.stop.is_stopping() => {}
                job = jobs.recv(), if !self.stop.is_stopping() => match job {
                    Some(job) => {
                        remaining.borrow_mut().entry(job.file.clone()).or_insert(job.total);
                        waiting.extend(job.entries.into_iter().map(|e| (job.file.clone(), e)));
                    }
                    None => return,
                },
                Some(()) = running.next(), if !running.is_empty() => {}
            }
        }
    }

    /// Events claimed from a shared queue, each for a short lease this host renews while it
    /// holds the event ([`Claims`]). Claims come in batches: when none is waiting to start, as
    /// many as would fill the running slots twice, so a round trip is not paid per event.
    pub async fn drain_queue(
        &self,
        mut wake: mpsc::UnboundedReceiver<HandlerRun>,
        queue: &dyn EventQueue,
    ) {
        let claims = Claims::new(lease());
        let claiming = async {
            let mut ready: VecDeque<Queued> = VecDeque::new();
            let mut running = FuturesUnordered::new();
            let mut idle = IDLE_FIRST;
            loop {
                while running.len() < self.concurrency && !self.stop.is_stopping() {
                    let Some(q) = ready.pop_front() else { break };
                    // Waiting too long without renewal: maybe another host's by now.
                    if claims.holds(&q.id) {
                        running.push(self.settle_claimed(from_queued(&q), queue, &claims));
                    }
                }
                if self.stop.is_stopping() {
                    if !ready.is_empty() {
                        let ids: Vec<String> = ready.drain(..).map(|q| q.id).collect();
                        claims.release(queue, &ids).await;
                    }
                    if running.is_empty() {
                        return;
                    }
                }
                let room = (2 * self.concurrency).saturating_sub(running.len());
                if ready.is_empty() && !self.stop.is_stopping() {
                    match claims.take(queue, room).await {
                        Ok(taken) if !taken.is_empty() => {
                            ready.extend(taken);
                            idle = IDLE_FIRST;
                            continue;
                        }
                        Ok(_) => {}
                        Err(e) => self.session.cfg.ui.warn(format_args!("b24auth: {e:#}")),
                    }
                }
                tokio::select! {
                    () = self.stop.begun(), if !self.stop.is_stopping() => {}
                    Some(_) = wake.recv(), if !self.stop.is_stopping() => idle = IDLE_FIRST,
                    Some(()) = running.next(), if !running.is_empty() => {}
                    () = tokio::time::sleep(idle), if ready.is_empty() => {
                        idle = (idle * 2).min(IDLE_MAX);
                    }
                }
            }
        };
        tokio::select! {
            () = claiming => {}
            () = claims.keep_renewing(queue, &self.session.cfg.ui) => {}
        }
    }

    /// Runs a claimed event's handler while this host holds its claim; a claim it could not
    /// renew in time stops the handler, as another host may take the event from then on.
    async fn settle_claimed(&self, entry: Entry, queue: &dyn EventQueue, claims: &Claims) {
        let ran = tokio::select! {
            ran = self.run(&entry) => ran,
            () = claims.lost(&entry.id) => {
                claims.settled(&entry.id);
                self.session.cfg.ui.warn(format_args!(
                    "b24auth: event {}: its claim could not be renewed in time; its handler was stopped and another host will run it",
                    entry.id
                ));
                return;
            }
        };
        let outcome = match ran {
            true => queue.done(&entry.id).await,
            false => {
                self.said_failed(&entry);
                queue.fail(claims.holder(), &entry.id).await
            }
        };
        claims.settled(&entry.id);
        // Not recorded: the claim expires and the event is handed out again, never lost.
        if let Err(e) = outcome {
            self.session.cfg.ui.warn(format_args!("b24auth: {e:#}"));
        }
    }

    /// One spooled event: a failure goes to `failed/`; the file goes with its last event.
    async fn settle_spooled(
        &self,
        file: String,
        entry: Entry,
        spool: &Spool,
        remaining: &RefCell<HashMap<String, usize>>,
    ) {
        if !self.run(&entry).await {
            self.said_failed(&entry);
            if let Err(e) = spool.fail(&entry) {
                // Its file stays pending: handled again at the next start rather than lost.
                self.session.cfg.ui.warn(format_args!("b24auth: {e:#}"));
                return;
            }
        }
        let last = {
            let mut left = remaining.borrow_mut();
            let n = left.entry(file.clone()).or_insert(1);
            *n = n.saturating_sub(1);
            *n == 0
        };
        if last {
            remaining.borrow_mut().remove(&file);
            if let Err(e) = spool.done_lazily(&file) {
                self.session.cfg.ui.warn(format_args!("b24auth: {e:#}"));
            }
        }
    }

    fn said_failed(&self, entry: &Entry) {
        self.session.cfg.ui.warn(format_args!(
            "b24auth: event {} ({}) failed its handler's tries; kept as failed (`b24auth events failed`)",
            entry.id, entry.event
        ));
    }

    /// The handler's runs for one event (or its JSON line without `--exec`); true when done.
    async fn run(&self, entry: &Entry) -> bool {
        let Some(handler) = &self.handler else {
            return print_line(&entry.payload);
        };
        let env = self.env_for(&entry.profile).await;
        let d = Delivery {
            name: &entry.event,
            id: &entry.id,
            json: &entry.payload,
            env: &env,
        };
        handler.deliver(&d).await
    }

    /// The `exec` variables of `profile`, refreshed when due; none when it cannot be used (an
    /// uninstalled portal's events still reach the handler, without a token).
    async fn env_for(&self, profile: &str) -> Vec<(String, String)> {
        let Some(session) = self.session_for(profile) else {
            return Vec::new();
        };
        match session.valid_profile(60).await {
            Ok(p) => crate::session::child_env::exec_env(&p, &session.cfg),
            Err(e) => {
                crate::ui::log::note(format_args!("profile `{profile}`: {e:#}"));
                Vec::new()
            }
        }
    }

    fn session_for(&self, profile: &str) -> Option<Rc<Session>> {
        if let Some(s) = self.sessions.borrow().get(profile) {
            return Some(Rc::clone(s));
        }
        let mut cfg = self.session.cfg.clone();
        cfg.profile = profile.to_string();
        let session = Rc::new(Session::open(cfg).ok()?);
        self.sessions
            .borrow_mut()
            .insert(profile.to_string(), Rc::clone(&session));
        Some(session)
    }
}

fn print_line(v: &serde_json::Value) -> bool {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{v}").and_then(|()| out.flush()).is_ok()
}
