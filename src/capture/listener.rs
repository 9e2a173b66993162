/*!
The HTTP listener every flow that waits for a request uses: `authorize`'s redirect and
`install-listen`'s callback (both end at the first request they accept) and `serve` (its
install, event and health paths under one prefix, until it is stopped).

What is common lives here: binding with a helpful error, HTTP/1 only, header and body read
timeouts, the body size cap, the served path (or every path under a prefix), the `Host` guard
against DNS rebinding, a bound on open connections below the descriptor limit (the quietest
goes first, see [`slots`]), and ending when the handler says the flow is done — with its reply
flushed before [`serve`] returns. What differs (methods, what a valid request is, the reply) is
the caller's [`Handler`].
*/

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use anyhow::{anyhow, Result};
use futures_util::stream::{FuturesUnordered, StreamExt};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use hyper::{Method, StatusCode};
use tokio::net::TcpListener;

use crate::capture::slots::{self, Held, Slot, Slots};

/// Slow clients lose the connection after this: a callback is one small request.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);
/// The longest the requests still with the handler are waited for once the flow is done.
const DRAIN: Duration = Duration::from_secs(30);
/// The longest a single connection may stay open, keep-alive included.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);

/// A request that passed the listener's checks, body read whole.
pub struct Request {
    pub method: Method,
    /// The request's path (one of several when [`Rules::path`] is a prefix).
    pub path: String,
    pub query: Option<String>,
    pub content_type: Option<String>,
    pub body: Bytes,
}

pub struct Reply {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: String,
}

impl Reply {
    pub fn html(status: StatusCode, body: String) -> Reply {
        Reply {
            status,
            content_type: "text/html; charset=utf-8",
            body,
        }
    }

    pub fn text(status: StatusCode, body: &str) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.to_string(),
        }
    }

    pub fn json(status: StatusCode, body: String) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body,
        }
    }
}

/// A handler's verdict: answer and keep waiting, or answer and end the flow with `T`.
pub enum Outcome<T> {
    Continue(Reply),
    Done(Reply, T),
}

/// What the listener enforces before a request reaches the handler.
pub struct Rules {
    /// The one path served; anything else is 404. A path ending in `/` serves every path
    /// under it (`serve`'s install, event and health routes).
    pub path: String,
    pub methods: &'static [Method],
    pub max_body: usize,
    /// `Host` values accepted (`host:port`, lowercase); empty accepts any.
    pub hosts: Vec<String>,
}

pub trait Handler<T> {
    fn handle(&self, req: Request) -> impl Future<Output = Outcome<T>>;

    /// True when requests may be handled at the same time: the handler then serializes its own
    /// final step (so one slow check cannot hold every other request in a queue).
    fn concurrent(&self) -> bool {
        false
    }

    /// True when requests that complete after the flow is done still reach the handler (it
    /// keeps what they carry) instead of "already completed".
    fn after_done(&self) -> bool {
        false
    }
}

/// Binds `addr`; a failure names the address and the options that choose another. The
/// descriptor limit is raised first, before anyone is told where to connect.
pub async fn bind(addr: SocketAddr, hint: &str) -> Result<TcpListener> {
    slots::raise_descriptor_limit();
    listen(addr).map_err(|e| crate::exit::usage(format!("cannot listen on {addr}: {e}; {hint}")))
}

/// A listening socket with a long accept queue ([`slots::BACKLOG`]): under a flood a full queue
/// drops the genuine sender's SYN, which it repeats only after 1 s, then 3 s, 7 s.
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(slots::BACKLOG)
}

/// Serves `listener` until the handler says `Done`, and returns its value once the final reply
/// has been written. Requests are handled one at a time, so two racing callbacks cannot both
/// complete the flow.
pub async fn serve<T, H: Handler<T>>(
    listener: TcpListener,
    rules: Rules,
    handler: &H,
) -> Result<T> {
    let shared = Shared {
        rules,
        handler,
        turn: tokio::sync::Mutex::new(()),
        handling: tokio::sync::Semaphore::new(slots::HANDLERS),
        finished: Cell::new(false),
    };
    let slots = Slots::for_this_process();
    let mut connections = FuturesUnordered::new();
    loop {
        tokio::select! {
            accepted = listener.accept(), if slots.has_room(connections.len()) => {
                match accepted {
                    Ok((stream, _)) => {
                        let held = slots.admit(&stream);
                        connections.push(connection(&shared, stream, held))
                    }
                    // Out of file descriptors, say: pause briefly instead of spinning on
                    // accept; the error clears as connections close.
                    Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
                }
            }
            Some(done) = connections.next(), if !connections.is_empty() => {
                if let Some(value) = done {
                    finish(&slots, connections).await;
                    return Ok(value);
                }
            }
            _ = tokio::time::sleep(slots::RECHECK), if !slots.has_room(connections.len()) => {
                slots.make_room();
            }
        }
    }
}

/// Once the flow is done: requests already complete are answered (the handler's verdict, or
/// "already completed"), for at most [`DRAIN`]; the other connections close at once.
async fn finish<F: Future>(slots: &Slots, mut connections: FuturesUnordered<F>) {
    slots.dismiss_idle();
    let drained = async { while connections.next().await.is_some() {} };
    let _ = tokio::time::timeout(DRAIN, drained).await;
}

struct Shared<'h, H> {
    rules: Rules,
    handler: &'h H,
    turn: tokio::sync::Mutex<()>,
    /// Turns for a concurrent handler: at most [`slots::HANDLERS`] requests at once.
    handling: tokio::sync::Semaphore,
    finished: Cell<bool>,
}

/// Serves one connection until it ends or is told to make room; returns the flow's value when
/// this connection completed it.
async fn connection<T, H: Handler<T>>(
    shared: &Shared<'_, H>,
    stream: tokio::net::TcpStream,
    held: Held<'_>,
) -> Option<T> {
    let seen = held.slot();
    tokio::select! {
        value = http(shared, stream, seen) => value,
        _ = seen.told_to_go() => None,
    }
}

async fn http<T, H: Handler<T>>(
    shared: &Shared<'_, H>,
    stream: tokio::net::TcpStream,
    seen: &Rc<Slot>,
) -> Option<T> {
    // A socket that sends nothing costs no HTTP state, and goes after the header timeout.
    if !matches!(
        tokio::time::timeout(HEADER_TIMEOUT, stream.readable()).await,
        Ok(Ok(()))
    ) {
        return None;
    }
    let watched = slots::Watched::new(stream, Rc::clone(seen));
    let slot: RefCell<Option<T>> = RefCell::new(None);
    let service = hyper::service::service_fn(|req| {
        let slot = &slot;
        async move {
            let (reply, value) = route(shared, seen, req).await;
            // A refused request ends its connection once answered: a sender of invalid
            // requests cannot keep a slot by trickling one after another on it, and is the
            // first to leave (a genuine sender has nothing more to send after its answer).
            let close = value.is_some() || reply.status.is_client_error();
            if let Some(v) = value {
                *slot.borrow_mut() = Some(v);
            }
            Ok::<_, std::convert::Infallible>(to_response(reply, close))
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(hyper_util::rt::TokioIo::new(watched), service);
    tokio::pin!(conn);
    // The lifetime bounds a client, not our own work: a request still with the handler (a
    // verification, a save) is answered first.
    if tokio::time::timeout(CONNECTION_LIFETIME, &mut conn)
        .await
        .is_err()
        && seen.is_busy()
    {
        let _ = conn.await;
    }
    slot.take()
}

async fn route<T, H: Handler<T>>(
    shared: &Shared<'_, H>,
    seen: &Slot,
    req: hyper::Request<Incoming>,
) -> (Reply, Option<T>) {
    if let Some(reply) = refused(&shared.rules, &req) {
        return (reply, None);
    }
    let request = match read(req, shared.rules.max_body).await {
        Ok(request) => request,
        Err(reply) => return (reply, None),
    };
    // A whole request: never the one pushed out to make room.
    let busy = seen.busy();
    let (_turn, _handling) = match shared.handler.concurrent() {
        true => (None, shared.handling.acquire().await.ok()),
        false => (Some(shared.turn.lock().await), None),
    };
    if shared.finished.get() && !shared.handler.after_done() {
        return (Reply::text(StatusCode::GONE, "Already completed"), None);
    }
    match shared.handler.handle(request).await {
        Outcome::Continue(reply) => (reply, None),
        Outcome::Done(reply, value) => {
            shared.finished.set(true);
            // Its reply is not written yet: the connection must not be the one pushed out.
            busy.keep();
            (reply, Some(value))
        }
    }
}

/// The reply to a request the rules refuse before its body is read: another `Host`, path or
/// method, or a declared body over the cap.
fn refused(rules: &Rules, req: &hyper::Request<Incoming>) -> Option<Reply> {
    if !host_allowed(&rules.hosts, req.headers().get(HOST)) {
        return Some(Reply::text(StatusCode::FORBIDDEN, "Unexpected Host header"));
    }
    let path = req.uri().path();
    if path != rules.path && !(rules.path.ends_with('/') && path.starts_with(&rules.path)) {
        return Some(Reply::text(StatusCode::NOT_FOUND, "Not found"));
    }
    if !rules.methods.contains(req.method()) {
        return Some(Reply::text(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed",
        ));
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > rules.max_body as u64) {
        return Some(too_large());
    }
    None
}

/// The whole request, its body read within [`BODY_TIMEOUT`] and at most `max_body` bytes.
async fn read(req: hyper::Request<Incoming>, max_body: usize) -> Result<Request, Reply> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(String::from);
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let body = match tokio::time::timeout(
        BODY_TIMEOUT,
        Limited::new(req.into_body(), max_body).collect(),
    )
    .await
    {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        _ => {
            return Err(Reply::text(
                StatusCode::BAD_REQUEST,
                "Could not read the body",
            ))
        }
    };
    Ok(Request {
        method,
        path,
        query,
        content_type,
        body,
    })
}

fn too_large() -> Reply {
    Reply::text(StatusCode::PAYLOAD_TOO_LARGE, "Body too large")
}

fn host_allowed(allowed: &[String], host: Option<&HeaderValue>) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let Some(host) = host.and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let host = host.to_ascii_lowercase();
    allowed.contains(&host)
}

fn to_response(reply: Reply, close: bool) -> hyper::Response<Full<Bytes>> {
    let mut builder = hyper::Response::builder()
        .status(reply.status)
        .header(CONTENT_TYPE, reply.content_type)
        .header("cache-control", "no-store")
        .header("referrer-policy", "no-referrer")
        .header("x-content-type-options", "nosniff");
    if close {
        builder = builder.header(CONNECTION, "close");
    }
    builder
        .body(Full::new(Bytes::from(reply.body)))
        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new())))
}

/// The `Host` values a loopback listener on `addr` answers to, plus `extra` (a public or
/// redirect host). An unspecified address (0.0.0.0) accepts any Host: the caller chose to
/// be reachable under names it cannot list.
/// A request's media type from its `Content-Type`, lower-cased, without parameters
/// (`Application/JSON; charset=utf-8` → `application/json`): media types are case-insensitive.
pub fn media_type(content_type: Option<&str>) -> String {
    let full = content_type.unwrap_or("");
    full.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

pub fn hosts_for(addr: SocketAddr, extra: &[String]) -> Vec<String> {
    if addr.ip().is_unspecified() {
        return Vec::new();
    }
    let port = addr.port();
    let mut hosts = vec![addr.to_string()];
    if addr.ip().is_loopback() {
        hosts.extend([
            format!("localhost:{port}"),
            format!("127.0.0.1:{port}"),
            format!("[::1]:{port}"),
        ]);
    }
    hosts.extend(extra.iter().map(|h| h.to_ascii_lowercase()));
    hosts.sort();
    hosts.dedup();
    hosts
}

/// Ctrl-C, caught from the moment this exists: create it before telling anyone where to send
/// requests, so an early Ctrl-C is an orderly exit 130 rather than the default kill.
pub struct Interrupt(tokio::signal::unix::Signal, crate::signals::CatchInterrupt);

impl Interrupt {
    pub fn catch() -> Result<Interrupt> {
        let signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        Ok(Interrupt(signal, crate::signals::catch_interrupt()))
    }

    /// The next Ctrl-C that may end the wait: one during a critical section is left to
    /// `signals`, which stops the run once the pair is saved.
    async fn recv(&mut self) {
        loop {
            if self.0.recv().await.is_none() {
                return std::future::pending().await;
            }
            if !crate::signals::in_critical() {
                return;
            }
        }
    }
}

/// Races `work` against the deadline, Ctrl-C and (on a terminal) a spinner with the time left.
/// The deadline waits while a critical section is open: a pair being saved is saved first.
pub async fn wait<T>(
    work: impl Future<Output = Result<T>>,
    timeout: Option<Duration>,
    interrupt: Interrupt,
    what: &str,
    ui: &crate::ui::Ui,
) -> Result<T> {
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let expire = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    };
    let bounded = async {
        tokio::pin!(work);
        tokio::select! {
            r = &mut work => return r,
            _ = expire => {}
        }
        if crate::signals::in_critical() {
            return work.await;
        }
        Err(crate::exit::Error::TimedOut(format!(
            "{what} did not arrive within {}; nothing was written (raise --timeout to wait longer)",
            crate::ui::human_duration(timeout.unwrap_or_default().as_secs() as i64)
        ))
        .into())
    };
    watch(bounded, deadline, interrupt, what, ui).await
}

/// Races `work`, which keeps its own `deadline` (shown by the spinner), against Ctrl-C.
pub async fn watch<T>(
    work: impl Future<Output = Result<T>>,
    deadline: Option<tokio::time::Instant>,
    mut interrupt: Interrupt,
    what: &str,
    ui: &crate::ui::Ui,
) -> Result<T> {
    let result = tokio::select! {
        r = work => r,
        _ = interrupt.recv() => Err(crate::signals::interrupted()),
        _ = ui.spinner(what, deadline) => Err(anyhow!("the spinner stopped")),
    };
    ui.clear_spinner();
    result
}
