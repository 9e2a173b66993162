/*!
Floods for the loopback listener, shared by `bench/flood.rs` and `tests/cases/flood.rs`. Every
flood is bounded in sockets, rounds and time, and only ever connects to the address it is given
(a loopback listener the caller started).

- [`Kind::Idle`]: sockets that connect, send nothing, wait for a byte (at most [`HOLD`]) and
  reconnect as soon as they are dropped.
- [`Kind::Trickle`]: keep-alive sockets sending `GET {path}?state=wrong` in small chunks
  [`GAP`] apart (each request complete well within 2 s), reading each answer and sending the
  next request on the same connection; reconnecting when closed.
*/

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long an idle socket waits for a byte before it gives up and reconnects.
pub const HOLD: Duration = Duration::from_secs(60);
/// The pause between two chunks of a trickled request.
pub const GAP: Duration = Duration::from_millis(80);
/// Bytes per chunk of a trickled request.
const CHUNK: usize = 6;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Idle,
    Trickle,
}

/// What the flood saw.
#[derive(Default)]
pub struct Counts {
    /// Connections made, reconnections included.
    pub connects: AtomicUsize,
    /// Connections the listener closed (idle: while they had sent nothing).
    pub closed: AtomicUsize,
    /// Trickled requests answered.
    pub answered: AtomicUsize,
    /// Trickled requests complete on the wire whose connection closed with no answer.
    pub unanswered: AtomicUsize,
    /// Sockets connected at least once.
    started: Mutex<usize>,
    all_started: Condvar,
    /// Notified at each answer.
    answer: Condvar,
}

impl Counts {
    pub fn get(&self, counter: &AtomicUsize) -> usize {
        counter.load(Ordering::Relaxed)
    }
}

/// A running flood; [`Flood::stop`] ends it.
pub struct Flood {
    pub counts: Arc<Counts>,
    sockets: usize,
    stop: tokio::sync::watch::Sender<bool>,
    thread: std::thread::JoinHandle<()>,
}

/// The bounds of one flood.
#[derive(Clone, Copy)]
pub struct Bounds {
    pub sockets: usize,
    /// Connections per socket, reconnections included.
    pub rounds: usize,
    /// The flood ends by itself after this.
    pub lifetime: Duration,
}

impl Flood {
    /// Starts `bounds.sockets` sockets of `kind` against `addr`; `path` is what a trickle asks for.
    pub fn start(kind: Kind, addr: &str, path: &str, bounds: Bounds) -> Flood {
        let counts = Arc::new(Counts::default());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let (addr, path, shared) = (addr.to_string(), path.to_string(), Arc::clone(&counts));
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let deadline = tokio::time::Instant::now() + bounds.lifetime;
                let tasks: Vec<_> = (0..bounds.sockets)
                    .map(|i| {
                        let socket = Socket {
                            addr: addr.clone(),
                            path: path.clone(),
                            counts: Arc::clone(&shared),
                            stop: stopped.clone(),
                            deadline,
                            sockets: bounds.sockets,
                            // Trickles start spread over a second, as an attacker's would
                            // drift apart: not all finishing (and freeing slots) at once.
                            stagger: match kind {
                                Kind::Idle => Duration::ZERO,
                                Kind::Trickle => Duration::from_millis((i as u64 * 997) % 1000),
                            },
                        };
                        tokio::spawn(socket.run(kind, bounds.rounds))
                    })
                    .collect();
                for t in tasks {
                    let _ = t.await;
                }
            });
        });
        Flood {
            counts,
            sockets: bounds.sockets,
            stop,
            thread,
        }
    }

    /// Blocks until every socket has connected once (at most `secs`); true if they all did.
    pub fn wait_all_started(&self, secs: u64) -> bool {
        let started = self.counts.started.lock().unwrap();
        let (_started, timeout) = self
            .counts
            .all_started
            .wait_timeout_while(started, Duration::from_secs(secs), |n| *n < self.sockets)
            .unwrap();
        !timeout.timed_out()
    }

    /// Blocks until `n` trickled requests were answered (at most `secs`); true if they were.
    pub fn wait_answered(&self, n: usize, secs: u64) -> bool {
        let started = self.counts.started.lock().unwrap();
        let (_started, timeout) = self
            .counts
            .answer
            .wait_timeout_while(started, Duration::from_secs(secs), |_| {
                self.counts.get(&self.counts.answered) < n
            })
            .unwrap();
        !timeout.timed_out()
    }

    pub fn stop(self) -> Arc<Counts> {
        self.stop.send_replace(true);
        self.thread.join().unwrap();
        self.counts
    }
}

struct Socket {
    addr: String,
    path: String,
    counts: Arc<Counts>,
    stop: tokio::sync::watch::Receiver<bool>,
    deadline: tokio::time::Instant,
    sockets: usize,
    stagger: Duration,
}

impl Socket {
    async fn run(mut self, kind: Kind, rounds: usize) {
        tokio::time::sleep(self.stagger).await;
        let mut started = false;
        for _ in 0..rounds {
            let connect =
                tokio::time::timeout_at(self.deadline, TcpStream::connect(self.addr.as_str()));
            let socket = tokio::select! {
                c = connect => match c {
                    Ok(Ok(socket)) => socket,
                    Ok(Err(_)) => continue,
                    Err(_) => return,
                },
                _ = self.stop.wait_for(|s| *s) => return,
            };
            self.counts.connects.fetch_add(1, Ordering::Relaxed);
            if !started {
                started = true;
                let mut n = self.counts.started.lock().unwrap();
                *n += 1;
                if *n == self.sockets {
                    self.counts.all_started.notify_all();
                }
            }
            let hold = tokio::time::Instant::now() + HOLD;
            let until = hold.min(self.deadline);
            let mut stop = self.stop.clone();
            let counts = Arc::clone(&self.counts);
            let ended = tokio::select! {
                _ = stop.wait_for(|s| *s) => true,
                _ = tokio::time::sleep_until(until) => tokio::time::Instant::now() >= self.deadline,
                _ = self.use_socket(kind, socket) => false,
            };
            if ended {
                return;
            }
            counts.closed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Returns when the listener closed the connection.
    async fn use_socket(&self, kind: Kind, mut socket: TcpStream) {
        match kind {
            Kind::Idle => {
                let mut byte = [0u8; 1];
                let _ = socket.read(&mut byte).await;
            }
            Kind::Trickle => self.trickle(socket).await,
        }
    }

    async fn trickle(&self, mut socket: TcpStream) {
        let request = format!(
            "GET {}?state=wrong&code=x HTTP/1.1\r\nHost: {}\r\n\r\n",
            self.path, self.addr
        );
        loop {
            for chunk in request.as_bytes().chunks(CHUNK) {
                if socket.write_all(chunk).await.is_err() {
                    return;
                }
                tokio::time::sleep(GAP).await;
            }
            let Some(close) = read_answer(&mut socket).await else {
                self.counts.unanswered.fetch_add(1, Ordering::Relaxed);
                return;
            };
            {
                // Under the lock, so a waiter cannot miss the notification.
                let _held = self.counts.started.lock().unwrap();
                self.counts.answered.fetch_add(1, Ordering::Relaxed);
                self.counts.answer.notify_all();
            }
            if close {
                return;
            }
        }
    }
}

/// Reads one answer (head and `Content-Length` body): whether it closes the connection, or
/// `None` when the connection closed first.
async fn read_answer(socket: &mut TcpStream) -> Option<bool> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return Some(head.lines().any(|l| l == "connection: close"));
            }
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}
