/*!
The listener's descriptor budget: how many connections it holds at once, and which one it lets
go when a new one arrives at that bound.

Every connection costs a file descriptor, and so does what a genuine callback needs once it has
arrived: the HTTPS request that verifies it and the files (or the database connection) of the
save. Anyone who reaches the port can open connections, so they never get the descriptors those
need: the soft `RLIMIT_NOFILE` is raised to the hard one, and connections are bounded below it
with [`RESERVE`] descriptors kept free. At the bound, each new connection pushes out the one
that has been quiet longest (it sent nothing, or nothing lately): a sender in the middle of its
request has just sent bytes, and a request the handler has taken, or bytes that wait unread in
the kernel (a flood can keep the listener from reading a connection it accepted), are never
pushed out. A connection whose request was refused is closed once answered (see `listener`),
so trickling invalid requests keeps no slot.
*/

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::{Duration, Instant};

/// Descriptors kept free for what a callback needs after it arrived: [`HANDLERS`] verifications
/// (a socket each, and the resolver's socket and files while it looks the server up), the save
/// (directory, lock and temp files, or a database connection), a rescue file.
pub const RESERVE: usize = 128;
/// Requests handled side by side; more wait for a turn (the reserve is sized for these).
pub const HANDLERS: usize = 32;
/// Never more connections than this, however high the limit: each costs memory too.
pub const MAX_CONNECTIONS: usize = 4096;
/// The accept queue asked for (the kernel caps it at `net.core.somaxconn`, 4096 by default).
pub const BACKLOG: u32 = 4096;
/// A request that has not fully arrived this long after its connection opened (or after the
/// previous reply) is slow: it may be pushed out even while it still trickles in. Bitrix24's
/// servers send the whole callback, about 1 KiB, at once.
const SLOW: Duration = Duration::from_secs(2);
/// A connection that has sent nothing for less than this since it opened (or was last
/// answered) is not pushed out: a sender's first bytes follow its connection at once (a proxy
/// or tunnel connects when it has the request).
const GRACE: Duration = Duration::from_millis(100);
/// How often the quietest are looked for again while the bound keeps new connections out.
pub const RECHECK: Duration = GRACE;
/// Connections told to go before the bound, so that new ones are accepted while those close.
const HEADROOM: usize = 16;

/// Raises the soft `RLIMIT_NOFILE` to the hard one (as far as the system allows) and returns
/// the soft limit now in force.
pub fn raise_descriptor_limit() -> usize {
    let as_usize = |n: libc::rlim_t| usize::try_from(n).unwrap_or(usize::MAX);
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 256;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit only reads the struct; a refusal (macOS with an unlimited hard
        // limit) leaves the soft limit where it was.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return as_usize(limit.rlim_max);
        }
    }
    as_usize(limit.rlim_cur)
}

/// Descriptors this process has open now (counted in `/proc/self/fd` or `/dev/fd`).
pub fn descriptors_in_use() -> usize {
    ["/proc/self/fd", "/dev/fd"]
        .iter()
        .find_map(|dir| std::fs::read_dir(dir).ok())
        .map_or(64, Iterator::count)
}

/// The most connections open at once under a soft limit of `soft` with `in_use` descriptors
/// already taken: the rest minus the reserve (a quarter of a small limit), at least 2.
pub fn connection_bound(soft: usize, in_use: usize) -> usize {
    let reserve = RESERVE.min(soft / 4);
    soft.saturating_sub(in_use)
        .saturating_sub(reserve)
        .clamp(2, MAX_CONNECTIONS)
}

/// The open connections, in the order shedding looks at them.
pub struct Slots {
    bound: usize,
    /// Each open connection once, with when it was queued (accepted, or last seen active when
    /// it was passed over); entries of closed connections are dropped as they come up.
    queue: RefCell<VecDeque<(Instant, Rc<Slot>)>>,
    open: Cell<usize>,
    /// Open connections already told to go (they close at their next poll).
    leaving: Cell<usize>,
}

/// One connection's state, as shedding sees it.
pub struct Slot {
    /// When it was accepted or last sent a byte.
    active: Cell<Instant>,
    /// When its current request could start: its accept, or the end of the previous reply.
    since: Cell<Instant>,
    /// Its request is complete and with the handler.
    busy: Cell<bool>,
    /// Its socket, to ask the kernel whether bytes wait unread (-1 in unit tests): a connection
    /// accepted but not yet polled looks quiet here while its whole request waits for us.
    fd: RawFd,
    told: Cell<bool>,
    closed: Cell<bool>,
    go: Notify,
}

impl Slots {
    /// Slots for this process: the limit raised, the bound below it.
    pub fn for_this_process() -> Slots {
        let soft = raise_descriptor_limit();
        Slots::new(connection_bound(soft, descriptors_in_use()))
    }

    pub fn new(bound: usize) -> Slots {
        Slots {
            bound,
            queue: RefCell::new(VecDeque::new()),
            open: Cell::new(0),
            leaving: Cell::new(0),
        }
    }

    /// True while another connection may be accepted.
    pub fn has_room(&self, open: usize) -> bool {
        open < self.bound
    }

    /// Registers a connection just accepted and, past the bound less the headroom, tells the
    /// quietest one to go.
    pub fn admit(&self, stream: &TcpStream) -> Held<'_> {
        self.admit_fd(stream.as_raw_fd())
    }

    fn admit_fd(&self, fd: RawFd) -> Held<'_> {
        let now = Instant::now();
        let slot = Rc::new(Slot {
            active: Cell::new(now),
            since: Cell::new(now),
            busy: Cell::new(false),
            fd,
            told: Cell::new(false),
            closed: Cell::new(false),
            go: Notify::new(),
        });
        self.queue
            .borrow_mut()
            .push_back((slot.active.get(), Rc::clone(&slot)));
        self.open.set(self.open.get() + 1);
        self.make_room();
        self.compact();
        Held { slots: self, slot }
    }

    /// Past the bound less the headroom, tells the quietest connections to go. Called on each
    /// accept, and every [`RECHECK`] while the bound keeps new ones out (every open one may
    /// have been busy or sending at the last look, and become slow since).
    pub fn make_room(&self) {
        let target = self.bound.saturating_sub(HEADROOM).max(1);
        while self.open.get() - self.leaving.get() > target && self.shed_quietest() {}
    }

    /// Tells the connection quiet longest to go, looking at each once, longest queued first:
    /// one busy, with bytes not yet read, or in the middle of a request begun less than
    /// [`SLOW`] ago, is queued again as looked at now; one that has sent nothing since it
    /// opened or was last answered is left where it was for [`GRACE`]; the first other one
    /// goes. Each connection is looked at about once per connection shed.
    fn shed_quietest(&self) -> bool {
        let mut queue = self.queue.borrow_mut();
        let now = Instant::now();
        for _ in 0..queue.len() {
            let Some((queued, slot)) = queue.pop_front() else {
                break;
            };
            if slot.closed.get() || slot.told.get() {
                continue;
            }
            // A request begun (a byte since the connection or its last reply) keeps its slot
            // until it is slow: shedding it mid-request would close it just as it completes.
            let begun = slot.active.get() > slot.since.get();
            let waited = now.duration_since(slot.since.get());
            if slot.busy.get() || (begun && waited < SLOW) {
                queue.push_back((now, slot));
                continue;
            }
            if !begun && waited < GRACE {
                queue.push_back((queued, slot));
                continue;
            }
            // Bytes we have not read yet may complete a request: it is answered first (a
            // slow sender is shed once we have read what it sent; hyper's header timeout
            // bounds one we keep reading). Asked last: it costs a system call.
            if slot.has_unread() {
                slot.active.set(now);
                queue.push_back((now, slot));
                continue;
            }
            slot.told.set(true);
            slot.go.notify_one();
            self.leaving.set(self.leaving.get() + 1);
            return true;
        }
        false
    }

    /// Tells every connection to go but those whose request is with the handler.
    pub fn dismiss_idle(&self) {
        for (_, slot) in self.queue.borrow().iter() {
            if !slot.closed.get() && !slot.told.get() && !slot.busy.get() {
                slot.told.set(true);
                slot.go.notify_one();
                self.leaving.set(self.leaving.get() + 1);
            }
        }
    }

    /// Drops the entries of closed connections once they are half the queue.
    fn compact(&self) {
        let mut queue = self.queue.borrow_mut();
        if queue.len() > 2 * self.open.get() + 64 {
            queue.retain(|(_, slot)| !slot.closed.get());
        }
    }
}

/// A connection's place among the open ones, given up when it is dropped.
pub struct Held<'s> {
    slots: &'s Slots,
    slot: Rc<Slot>,
}

impl Held<'_> {
    pub fn slot(&self) -> &Rc<Slot> {
        &self.slot
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.slot.closed.set(true);
        self.slots.open.set(self.slots.open.get() - 1);
        if self.slot.told.get() {
            self.slots.leaving.set(self.slots.leaving.get() - 1);
        }
    }
}

impl Slot {
    /// Resolves once this connection was chosen to go.
    pub async fn told_to_go(&self) {
        self.go.notified().await
    }

    /// Its request is with the handler (or carries the reply that ends the flow).
    pub fn is_busy(&self) -> bool {
        self.busy.get()
    }

    /// Bytes wait in the kernel for this connection: it is sending, whether or not we have
    /// read them yet. Asked only while the connection is open, so the descriptor is its own.
    fn has_unread(&self) -> bool {
        if self.fd < 0 || self.closed.get() {
            return false;
        }
        let mut waiting: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int; the descriptor is this open connection's.
        let asked = unsafe { libc::ioctl(self.fd, libc::FIONREAD, &mut waiting) };
        asked == 0 && waiting > 0
    }

    /// Marks the request as taken by the handler until the guard is dropped.
    pub fn busy(&self) -> Busy<'_> {
        self.busy.set(true);
        Busy(self)
    }
}

pub struct Busy<'a>(&'a Slot);

impl Busy<'_> {
    /// Keeps the connection busy until it closes: it carries the reply that ends the flow.
    pub fn keep(self) {
        std::mem::forget(self)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        let now = Instant::now();
        self.0.busy.set(false);
        self.0.active.set(now);
        self.0.since.set(now);
    }
}

/// A connection's stream that notes when it last received a byte.
pub struct Watched {
    stream: TcpStream,
    slot: Rc<Slot>,
}

impl Watched {
    pub fn new(stream: TcpStream, slot: Rc<Slot>) -> Watched {
        Watched { stream, slot }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.slot.active.set(Instant::now());
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_keeps_the_reserve_free() {
        assert_eq!(connection_bound(1024, 20), 1024 - 20 - RESERVE);
        assert_eq!(connection_bound(64, 10), 64 - 10 - 16);
        assert_eq!(connection_bound(16, 15), 2);
        assert_eq!(connection_bound(usize::MAX, 20), MAX_CONNECTIONS);
    }

    #[test]
    fn the_limit_is_raised_to_the_hard_one() {
        let soft = raise_descriptor_limit();
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        assert_eq!(soft, usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX));
        assert!(descriptors_in_use() >= 3);
    }

    /// Moves every clock of `slots` back by `by`, as if that much time had passed.
    fn age(slots: &Slots, by: Duration) {
        for (queued, slot) in slots.queue.borrow_mut().iter_mut() {
            *queued -= by;
            slot.active.set(slot.active.get() - by);
            slot.since.set(slot.since.get() - by);
        }
    }

    #[test]
    fn the_quietest_goes_first_and_the_busy_never() {
        let slots = Slots::new(HEADROOM + 3);
        let (a, b, c) = (slots.admit_fd(-1), slots.admit_fd(-1), slots.admit_fd(-1));
        age(&slots, GRACE);
        let busy = a.slot().busy();
        // `a` is queued longest but busy, so a fourth connection pushes out `b`.
        let d = slots.admit_fd(-1);
        assert!(b.slot().told.get());
        assert!(!a.slot().told.get() && !c.slot().told.get() && !d.slot().told.get());
        assert_eq!(slots.leaving.get(), 1);
        drop(b);
        assert_eq!(slots.leaving.get(), 0);
        // Its reply sent, `a` has just been active: `c` is next.
        drop(busy);
        let _e = slots.admit_fd(-1);
        assert!(c.slot().told.get() && !a.slot().told.get());
    }

    #[test]
    fn a_new_connection_has_its_grace_and_a_trickle_turns_slow() {
        let slots = Slots::new(HEADROOM + 1);
        let trickle = slots.admit_fd(-1);
        trickle
            .slot()
            .active
            .set(Instant::now() + Duration::from_millis(1));
        // The trickle is sending, the newcomer has had no time to: neither goes.
        let newcomer = slots.admit_fd(-1);
        assert_eq!(slots.leaving.get(), 0);
        // Still sending, but its request began SLOW ago.
        trickle
            .slot()
            .active
            .set(Instant::now() + Duration::from_millis(1));
        trickle.slot().since.set(Instant::now() - SLOW);
        slots.make_room();
        assert!(trickle.slot().told.get() && !newcomer.slot().told.get());
    }

    #[test]
    fn a_connection_quiet_past_its_grace_goes() {
        let slots = Slots::new(HEADROOM + 1);
        let (idle, _next) = (slots.admit_fd(-1), slots.admit_fd(-1));
        assert_eq!(slots.leaving.get(), 0, "both within their grace");
        age(&slots, GRACE);
        slots.make_room();
        assert!(idle.slot().told.get());
    }

    /// A connection accepted while its whole request already waits in the kernel, not yet read
    /// because the listener was busy with a flood: it has sent, so it stays while quieter
    /// ones go.
    #[test]
    fn a_request_waiting_unread_is_never_pushed_out() {
        use std::io::Write as _;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut sender = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (genuine, _) = listener.accept().unwrap();
        let idle_sender = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (idle, _) = listener.accept().unwrap();
        sender.write_all(b"GET /callback HTTP/1.1\r\n\r\n").unwrap();
        let slots = Slots::new(HEADROOM + 1);
        let waiting = slots.admit_fd(genuine.as_raw_fd());
        let quiet = slots.admit_fd(idle.as_raw_fd());
        age(&slots, GRACE);
        // Bytes sent on loopback are in the peer's queue once `write` returns.
        slots.make_room();
        assert!(!waiting.slot().told.get(), "its request waits unread");
        assert!(quiet.slot().told.get());
        drop(idle_sender);
    }
}
