/*!
`serve`'s dispatcher: hands kept events to the handler, at most `--concurrency` at once, until
an orderly stop; a failed event (after `--tries`) is kept as failed, a handled one removed.
From the spool, events are read back one at a time when a handler slot is free (the pending
files, then the journal), so a flood waits on disk, not in memory; the receiver only wakes the
reading. From a shared queue, they are claimed (any host's) as there is room, the receiver's channel
only waking the claims early.
*/

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, Notify};

use super::backlog::from_queued;
use super::claims::{lease, Claims};
use super::exec::{Delivery, HandlerCommand};
use super::journal::{Feed, Place};
use super::spool::{Entry, Spool};
use super::stop::Stopping;
use crate::session::Session;
use crate::store::queue::{EventQueue, Queued};

/// A wake-up for a shared queue's dispatcher: an event was committed (it stays in the queue).
pub(crate) struct Arrived;

/// Pauses between claims while a shared queue is empty: from 50 ms, doubling, at most 1 s.
const IDLE_FIRST: Duration = Duration::from_millis(50);
const IDLE_MAX: Duration = Duration::from_secs(1);
/// While idle, the spool's dispatcher looks again this often (`events retry` adds pending files
/// without waking it).
const SPOOL_IDLE: Duration = Duration::from_secs(1);

pub(crate) struct Dispatcher<'a> {
    pub session: &'a Session,
    pub handler: Option<HandlerCommand>,
    pub concurrency: usize,
    pub stop: &'a Stopping,
    /// One session per profile, kept: a database store connects once, not once an event.
    sessions: RefCell<HashMap<String, Rc<Session>>>,
    /// Each profile's `exec` variables, read at most once per [`ENV_KEPT`] (not once an event).
    envs: RefCell<HashMap<String, (Instant, Rc<Env>)>>,
}

type Env = Vec<(String, String)>;

/// How long a profile's `exec` variables are reused.
const ENV_KEPT: Duration = Duration::from_secs(1);
/// The access token a handler gets is valid this long when it starts: read valid for this much
/// more than [`ENV_KEPT`].
const HANDLER_TTL: i64 = 60;

impl<'a> Dispatcher<'a> {
    pub fn new(
        session: &'a Session,
        handler: Option<HandlerCommand>,
        concurrency: usize,
        stop: &'a Stopping,
    ) -> Dispatcher<'a> {
        Dispatcher {
            session,
            handler,
            concurrency: concurrency.max(1),
            stop,
            sessions: RefCell::new(HashMap::new()),
            envs: RefCell::new(HashMap::new()),
        }
    }

    /// Events from the spool, read from `feed` while a handler slot is free (at most
    /// `--concurrency` events in memory); each is settled in its place once handled or failed.
    pub async fn drain_spool(&self, wake: &Notify, feed: Feed, spool: &Spool) {
        let feed = RefCell::new(feed);
        let mut running = FuturesUnordered::new();
        loop {
            while running.len() < self.concurrency && !self.stop.is_stopping() {
                let Some((place, entry)) = feed.borrow_mut().next() else {
                    break;
                };
                running.push(self.settle_spooled(place, entry, spool, &feed));
            }
            if self.stop.is_stopping() && running.is_empty() {
                return;
            }
            let free = running.len() < self.concurrency;
            tokio::select! {
                () = self.stop.begun(), if !self.stop.is_stopping() => {}
                () = wake.notified(), if !self.stop.is_stopping() => {}
                Some(()) = running.next(), if !running.is_empty() => {}
                () = tokio::time::sleep(SPOOL_IDLE), if free && !self.stop.is_stopping() => {}
            }
        }
    }

    /// Events claimed from a shared queue, each for a short lease this host renews while it
    /// holds the event ([`Claims`]). Claims come in batches: when none is waiting to start, as
    /// many as would fill the running slots twice, so a round trip is not paid per event.
    pub async fn drain_queue(
        &self,
        mut wake: mpsc::UnboundedReceiver<Arrived>,
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

    /// One spooled event: a failure goes to `failed/`; then it is settled where it was kept.
    async fn settle_spooled(
        &self,
        place: Place,
        entry: Entry,
        spool: &Spool,
        feed: &RefCell<Feed>,
    ) {
        if !self.run(&entry).await {
            if let Err(e) = spool.fail(&entry) {
                // Left unsettled: handed out again at the next start rather than lost.
                self.session.cfg.ui.warn(format_args!("b24auth: {e:#}"));
                return;
            }
            // Said once it is so: `events failed` lists it from now on.
            self.said_failed(&entry);
        }
        feed.borrow_mut().settled(place);
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
    async fn env_for(&self, profile: &str) -> Rc<Env> {
        if let Some((at, env)) = self.envs.borrow().get(profile) {
            if at.elapsed() < ENV_KEPT {
                return Rc::clone(env);
            }
        }
        let Some(session) = self.session_for(profile) else {
            return Rc::default();
        };
        let min_ttl = HANDLER_TTL + ENV_KEPT.as_secs() as i64;
        let env = match session.valid_profile(min_ttl).await {
            Ok(p) => Rc::new(crate::session::child_env::exec_env(&p, &session.cfg)),
            Err(e) => {
                crate::ui::log::note(format_args!("profile `{profile}`: {e:#}"));
                Rc::default()
            }
        };
        let kept = (Instant::now(), Rc::clone(&env));
        self.envs.borrow_mut().insert(profile.to_string(), kept);
        env
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
