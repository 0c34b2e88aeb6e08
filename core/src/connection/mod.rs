//! A client's connections to its server: the shared, pipelined one that
//! serves ordinary requests, and a small pool of dedicated ones leased to
//! work that holds a connection (blocking commands, `WATCH` sessions).
//!
//! - `pipe`: one connection: output buffer, waiting replies, writer and reader.
//! - `session`: opening one: the socket, TLS and the handshake.
//! - `tls`: TLS with rustls, set up once per client.
//! - [`Connections`]: the shared pipe (replaced when it breaks) and the pool;
//!   while the client's connection attempts are spent, new connections are
//!   refused at once (see `crate::retry`).
//!
//! ## After `fork`
//!
//! In a forked child, a pipe opened by the parent belongs to the parent's
//! runtime (see [`runtime::generation`]): its socket is shared with the
//! parent and its tasks' threads are gone. The child leaves it alone (it is
//! leaked, never closed: closing would shut the parent's socket down and drop
//! its registration from the epoll instance both processes share) and opens
//! its own.

mod pipe;
mod session;
mod tls;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;

use crate::command::Command;
use crate::config::ConnectionConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::events::{self, Event, Level, Topic};
use crate::pubsub::{Closer, Connect, PushSink};
use crate::request::Batch;
use crate::runtime;
use crate::stats;
use pipe::HealthCheck;
pub(crate) use pipe::{Pipe, WakeNeed};
pub(crate) use session::open as open_session;
pub(crate) use session::Endpoint;
pub(crate) use session::{Reader, Writer};

/// How a forked child waits for a lock a parent thread may have held at the
/// fork, before giving up with an error.
const FORK_LOCK_WAIT: Duration = Duration::from_secs(5);
/// Dedicated connections kept open while unused; more are closed when returned.
const IDLE_DEDICATED: usize = 2;
/// How long a health check's `PING` may take when the client has no
/// `socket_timeout` (then nothing else would ever give up on it).
const HEALTH_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

struct Slots {
    /// The shared connection; `None` before the first request and after close.
    shared: Option<Pipe>,
    /// Dedicated connections not in use.
    idle: Vec<Pipe>,
    /// Every dedicated connection open (leased or idle), bounded by
    /// `max_connections`, so `close` reaches the leased ones too.
    dedicated: Vec<Pipe>,
    /// Dedicated connections that were leased when the service moved: they
    /// are on the old node, so they are closed when given back, not reused.
    stale: Vec<Pipe>,
    /// Callers waiting for a dedicated connection while all
    /// `max_connections` are in use (a `BlockingConnectionPool`), first
    /// come first served, by the id their timer knows them by.
    waiters: VecDeque<(u64, Waiter)>,
    next_waiter: u64,
    closed: bool,
}

/// Called once with a dedicated connection (or why there is none).
type Waiter = Box<dyn FnOnce(Result<Pipe>) + Send>;

/// Every connection of one client.
pub(crate) struct Connections {
    endpoint: Arc<Endpoint>,
    slots: Mutex<Slots>,
    /// The runtime generation `slots` belongs to.
    generation: AtomicU64,
    /// Where every connection opened from now on sends RESP3 pushes.
    push_sink: Mutex<Option<PushSink>>,
    /// A Sentinel-managed primary's subscribers, moved by [`Self::follow`].
    subscribers: Mutex<Vec<Closer>>,
    /// Itself, for the shared connection's adopter (held requests of a
    /// failed connection go to the next one).
    me: Weak<Connections>,
}

impl Connections {
    pub(crate) fn new(config: &ConnectionConfig) -> Result<Arc<Self>> {
        if config.db < 0 {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("db must be a non-negative integer, got {}", config.db),
            ));
        }
        let endpoint = Arc::new(Endpoint::new(config)?);
        let connections = Arc::new_cyclic(|me: &Weak<Self>| Self {
            me: me.clone(),
            endpoint,
            slots: Mutex::new(Slots {
                shared: None,
                idle: Vec::new(),
                dedicated: Vec::new(),
                stale: Vec::new(),
                waiters: VecDeque::new(),
                next_waiter: 0,
                closed: false,
            }),
            generation: AtomicU64::new(runtime::generation()),
            push_sink: Mutex::new(None),
            subscribers: Mutex::new(Vec::new()),
        });
        if let Some(sentinel) = &connections.endpoint.sentinel {
            let me = Arc::downgrade(&connections);
            sentinel.set_follower(Arc::new(move || {
                if let Some(connections) = me.upgrade() {
                    connections.follow();
                }
            }));
        }
        Ok(connections)
    }

    /// Makes a subscriber of this Sentinel-managed primary's follow the
    /// service when it moves (nothing for any other client).
    pub(crate) fn move_with_service(&self, subscriber: Closer) {
        if !self.follows_primary() {
            return;
        }
        let mut subscribers = self.subscribers.lock();
        subscribers.retain(|closer| !closer.is_gone());
        subscribers.push(subscriber);
    }

    /// Whether this client's server is a Sentinel-managed primary (whose
    /// `READONLY` replies mean the service moved).
    pub(crate) fn follows_primary(&self) -> bool {
        self.endpoint
            .sentinel
            .as_ref()
            .is_some_and(|sentinel| sentinel.role() == crate::config::SentinelRole::Primary)
    }

    /// The service moved (a sentinel announced it): the shared connection
    /// and the idle dedicated ones are retired, so the next request opens a
    /// connection to the new primary. Requests already sent on them get
    /// their replies (or fail, as the old node answers); leased ones keep
    /// their connection until they end, then it is closed (it is on the
    /// old node). Subscribers reconnect (to the new
    /// primary) and subscribe again: a node that is demoted keeps its
    /// subscribers' connections open, so without this they would stay on
    /// the old node, hearing only what is replicated to it.
    pub(crate) fn follow(&self) {
        let Ok(mut slots) = self.slots() else { return };
        let shared = slots.shared.take();
        let idle = std::mem::take(&mut slots.idle);
        slots
            .dedicated
            .retain(|open| !idle.iter().any(|pipe| pipe.is(open)));
        let leased = slots.dedicated.clone();
        slots.stale = leased;
        drop(slots);
        if let Some(pipe) = shared {
            pipe.close_when_idle();
        }
        for pipe in idle {
            pipe.shut_down(&Error::new(ErrorKind::Closed, "the service moved"));
        }
        let mut subscribers = self.subscribers.lock();
        subscribers.retain(Closer::move_on);
    }

    /// A `READONLY` reply came on `pipe`: the node is no longer the
    /// primary. If the shared connection is still `pipe` (many replies of
    /// one connection report it; the first acts, and is told so), the
    /// sentinels are asked again next time and everything on the old node
    /// is retired as if they had announced the move ([`Self::follow`]: the
    /// idle dedicated connections, the subscribers).
    pub(crate) fn retire_shared(&self, pipe: &Pipe) -> bool {
        {
            let Ok(slots) = self.slots() else {
                return false;
            };
            if !slots.shared.as_ref().is_some_and(|shared| shared.is(pipe)) {
                return false;
            }
        }
        if let Some(sentinel) = &self.endpoint.sentinel {
            sentinel.forget_pinned();
        }
        self.follow();
        true
    }

    /// Locks the slots, first leaving a parent process's connections behind.
    fn slots(&self) -> Result<parking_lot::MutexGuard<'_, Slots>> {
        if self.generation.load(Ordering::Acquire) == runtime::generation() {
            return Ok(self.slots.lock());
        }
        self.disown_inherited(FORK_LOCK_WAIT)
    }

    /// In a forked child: leaves the parent's connections to the parent.
    /// Waits at most `patience` for the lock (which a parent thread may have
    /// held at the fork, and then nobody ever releases).
    #[cold]
    fn disown_inherited(&self, patience: Duration) -> Result<parking_lot::MutexGuard<'_, Slots>> {
        let Some(mut slots) = self.slots.try_lock_for(patience) else {
            return Err(Error::new(
                ErrorKind::Internal,
                "this client was in use by another thread when the process forked, and its \
                 lock was never released in the child; create a new client after fork",
            ));
        };
        let generation = runtime::generation();
        if self.generation.load(Ordering::Acquire) != generation {
            std::mem::forget(slots.shared.take());
            std::mem::forget(std::mem::take(&mut slots.idle));
            std::mem::forget(std::mem::take(&mut slots.dedicated));
            std::mem::forget(std::mem::take(&mut slots.stale));
            self.generation.store(generation, Ordering::Release);
            let config = &self.endpoint.config;
            events::emit(Topic::Connection, Level::Debug, || {
                Event::new(
                    Topic::Connection,
                    Level::Debug,
                    "fork_disowned",
                    format!(
                        "in a forked child: leaving the parent's connections to {} alone, \
                         opening new ones",
                        events::address(&config.address)
                    ),
                )
                .about(config)
            });
        }
        Ok(slots)
    }

    /// The shared connection, opening a new one if there is none or it broke.
    pub(crate) fn shared(&self) -> Result<Pipe> {
        let mut slots = self.slots()?;
        if slots.closed {
            return Err(Error::closed());
        }
        match &slots.shared {
            Some(pipe) if !pipe.is_broken() => Ok(pipe.clone()),
            replaced => {
                self.refuse_while_down()?;
                if replaced.is_some() {
                    stats::reconnected();
                }
                let pipe = self.open(self.health_check())?;
                let me = self.me.clone();
                pipe.set_adopter(Box::new(move |orphans| {
                    let next = me
                        .upgrade()
                        .ok_or_else(Error::closed)
                        .and_then(|connections| connections.shared());
                    match next {
                        Ok(pipe) => pipe.adopt(orphans),
                        Err(err) => Pipe::fail_orphans(orphans, &err),
                    }
                }));
                slots.shared = Some(pipe.clone());
                Ok(pipe)
            }
        }
    }

    /// Hands `then` a dedicated connection for the caller alone (give it
    /// back with [`Self::give_back`]; a [`Lease`] does): at once when one is
    /// idle or fewer than `max_connections` are open, else (with a lease
    /// wait configured) when one comes back, or an error when the wait ends.
    fn take_dedicated_then(self: &Arc<Self>, then: Waiter) {
        let mut slots = match self.slots() {
            Ok(slots) => slots,
            Err(err) => return then(Err(err)),
        };
        if slots.closed {
            drop(slots);
            return then(Err(Error::closed()));
        }
        if let Some(outcome) = self.take_now(&mut slots) {
            drop(slots);
            return then(outcome);
        }
        let Some(wait) = self.endpoint.config.lease_wait else {
            drop(slots);
            return then(Err(self.none_free()));
        };
        let id = slots.next_waiter;
        slots.next_waiter += 1;
        slots.waiters.push_back((id, then));
        drop(slots);
        if let Some(wait) = wait {
            let owner = Arc::downgrade(self);
            if let Ok(handle) = runtime::handle() {
                handle.spawn(async move {
                    tokio::time::sleep(wait).await;
                    let Some(owner) = owner.upgrade() else { return };
                    owner.give_up_waiting(id);
                });
            }
        }
    }

    /// An idle dedicated connection, or a new one if the limit allows;
    /// `None` when all `max_connections` are in use.
    fn take_now(&self, slots: &mut Slots) -> Option<Result<Pipe>> {
        let interval = self.endpoint.config.health_check_interval;
        while let Some(pipe) = slots.idle.pop() {
            // An idle dedicated connection past the health check interval is
            // replaced rather than checked: its lease could not move a
            // request to a new connection the way the shared one does.
            let stale = interval
                .zip(pipe.idle_for())
                .is_some_and(|(interval, idle)| idle > interval);
            if !pipe.is_broken() && !stale {
                return Some(Ok(pipe));
            }
            slots.dedicated.retain(|open| !open.is(&pipe));
            if stale {
                pipe.shut_down(&Error::new(ErrorKind::Closed, "idle too long"));
            }
        }
        if let Some(limit) = self.endpoint.config.max_connections {
            if slots.dedicated.len() >= limit {
                return None;
            }
        }
        if let Err(err) = self.refuse_while_down() {
            return Some(Err(err));
        }
        // Dedicated connections keep `last_active` (for the check above),
        // but are never probed: a probe's held requests could not move.
        let opened = self.open(self.health_check().map(|check| HealthCheck {
            interval: Duration::MAX,
            ..check
        }));
        Some(opened.inspect(|pipe| slots.dedicated.push(pipe.clone())))
    }

    /// Why no dedicated connection can be had now: redis-py's messages.
    #[cold]
    fn none_free(&self) -> Error {
        if self.endpoint.config.lease_wait.is_some() {
            return Error::new(ErrorKind::Connection, "No connection available.");
        }
        let limit = self.endpoint.config.max_connections.unwrap_or(0);
        Error::new(
            ErrorKind::Connection,
            format!(
                "Too many connections: all {limit} dedicated connections \
                 (max_connections) are in use"
            ),
        )
    }

    /// A waiter's time is up: it fails as redis-py's `BlockingConnectionPool`
    /// does, unless it was served meanwhile.
    fn give_up_waiting(&self, id: u64) {
        let Ok(mut slots) = self.slots() else { return };
        let Some(at) = slots.waiters.iter().position(|(waiting, _)| *waiting == id) else {
            return;
        };
        let (_, waiter) = slots.waiters.remove(at).expect("found above");
        drop(slots);
        waiter(Err(self.none_free()));
    }

    /// Gives connections to waiters while there are some to give; called
    /// with the lock held, returns the calls to make once it is released.
    fn serve_waiters(&self, slots: &mut Slots) -> Vec<(Waiter, Result<Pipe>)> {
        let mut served = Vec::new();
        while !slots.waiters.is_empty() {
            let Some(outcome) = self.take_now(slots) else {
                break;
            };
            let (_, waiter) = slots.waiters.pop_front().expect("not empty");
            served.push((waiter, outcome));
        }
        served
    }

    /// Takes back a dedicated connection: handed to a waiter or kept for
    /// reuse if it is healthy and nothing waits on it, else closed.
    fn give_back(&self, pipe: Pipe, reusable: bool) {
        let Ok(mut slots) = self.slots() else {
            return; // a forked child whose lock is lost: nothing to give back to
        };
        let stale = slots.stale.iter().any(|old| old.is(&pipe));
        slots.stale.retain(|old| !old.is(&pipe));
        let healthy = reusable && !stale && !slots.closed && !pipe.is_broken() && pipe.is_idle();
        if healthy && (!slots.waiters.is_empty() || slots.idle.len() < IDLE_DEDICATED) {
            slots.idle.push(pipe);
            let served = self.serve_waiters(&mut slots);
            drop(slots);
            for (waiter, outcome) in served {
                waiter(outcome);
            }
            return;
        }
        slots.dedicated.retain(|open| !open.is(&pipe));
        let served = if slots.closed {
            Vec::new()
        } else {
            self.serve_waiters(&mut slots)
        };
        drop(slots);
        pipe.shut_down(&Error::new(
            ErrorKind::Closed,
            "the dedicated connection was closed",
        ));
        for (waiter, outcome) in served {
            waiter(outcome);
        }
    }

    /// Asks the server to close the connection with id `id`, on the shared
    /// connection, without waiting (its reply is of no use: the connection
    /// may be gone already, or the user may lack the right).
    fn kill_on_server(&self, id: i64) {
        let Ok(shared) = self.shared() else {
            return;
        };
        let id = id.to_string();
        if let Ok(kill) = Command::from_args([&b"CLIENT"[..], b"KILL", b"ID", id.as_bytes()]) {
            shared.send(&Batch::One(kill), None, Box::new(|_| {}));
        }
    }

    /// Fails at once while the connection attempts are spent and the next
    /// is not due (see `crate::retry`): requests fail fast in an outage.
    fn refuse_while_down(&self) -> Result<()> {
        match self.endpoint.schedule.refusal(&self.endpoint.config.retry) {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    /// The health check of the client's connections, if it asked for one.
    fn health_check(&self) -> Option<HealthCheck> {
        let config = &self.endpoint.config;
        config.health_check_interval.map(|interval| HealthCheck {
            interval,
            // Half the request timeout: a request held behind a check that
            // fails keeps the other half for the new connection (its
            // deadline counts from its call, and is never extended).
            timeout: config
                .response_timeout
                .map_or(HEALTH_CHECK_TIMEOUT, |timeout| timeout / 2),
        })
    }

    fn open(&self, health_check: Option<HealthCheck>) -> Result<Pipe> {
        let handle = runtime::handle()?;
        let _entered = handle.enter();
        let pipe = Pipe::open(Arc::clone(&self.endpoint), health_check)?;
        // Set before any request is sent, so no push is answered earlier.
        pipe.set_push_sink(self.push_sink.lock().clone());
        Ok(pipe)
    }

    /// Sends the RESP3 pushes of connections opened from now on to `sink`
    /// (or drops them, as before, with `None`).
    pub(crate) fn set_push_sink(&self, sink: Option<PushSink>) {
        *self.push_sink.lock() = sink;
    }

    /// Opens connections to this client's server outside the pool, for work
    /// that owns its connection outright (a subscriber).
    pub(crate) fn connector(&self) -> Connect {
        let endpoint = Arc::clone(&self.endpoint);
        // One server serves every slot: the slot is not needed.
        Arc::new(move |_slot| {
            let endpoint = Arc::clone(&endpoint);
            Box::pin(async move {
                let opened = session::open(&endpoint).await?;
                Ok((opened.reader, opened.writer))
            })
        })
    }

    /// Closes every connection: requests waiting fail with a closed error,
    /// and so does every later one.
    pub(crate) fn close(&self) {
        self.shut(Shut::Close);
    }

    /// Closes every connection as [`Self::close`] does, but the next request
    /// opens a new one (redis-py's `ConnectionPool.disconnect`).
    pub(crate) fn disconnect(&self) {
        self.shut(Shut::Disconnect);
    }

    /// Closes every connection, but lets the requests already waiting on the
    /// shared one finish first; refuses later ones.
    fn close_when_idle(&self) {
        self.shut(Shut::WhenIdle);
    }

    fn shut(&self, how: Shut) {
        if how != Shut::WhenIdle {
            if let Some(sentinel) = &self.endpoint.sentinel {
                sentinel.stop_watching();
            }
        }
        // No waiting here: this also runs in `drop`, perhaps under the GIL.
        let mut slots = if self.generation.load(Ordering::Acquire) == runtime::generation() {
            self.slots.lock()
        } else {
            match self.disown_inherited(Duration::ZERO) {
                Ok(slots) => slots,
                Err(_) => return, // the lock is lost with a parent thread
            }
        };
        let waiters = if how == Shut::Disconnect {
            VecDeque::new()
        } else {
            slots.closed = true;
            std::mem::take(&mut slots.waiters)
        };
        let shared = slots.shared.take();
        slots.idle.clear();
        slots.stale.clear();
        let dedicated = std::mem::take(&mut slots.dedicated);
        drop(slots);
        for (_, waiter) in waiters {
            waiter(Err(Error::closed()));
        }
        if let Some(pipe) = shared {
            if how == Shut::WhenIdle {
                pipe.close_when_idle();
            } else {
                pipe.shut_down(&Error::closed());
            }
        }
        for pipe in dedicated {
            pipe.shut_down(&Error::closed());
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.slots().is_ok_and(|slots| slots.closed)
    }
}

/// How [`Connections::shut`] closes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shut {
    /// For good, failing what waits.
    Close,
    /// For good, once the shared connection's waiting requests are answered.
    WhenIdle,
    /// Every connection now, but later requests open new ones.
    Disconnect,
}

impl Drop for Connections {
    /// A client dropped without `close()` still stops its tasks and sockets,
    /// once the requests it had in flight are answered: an async program may
    /// drop its last reference to a client while awaiting a reply
    /// (`await Redis().get(k)`). Leased connections hold their client, so
    /// only idle ones are left here.
    fn drop(&mut self) {
        self.close_when_idle();
    }
}

/// A dedicated connection held by one caller: a blocking command for its
/// duration, or a `WATCH` session until it ends. Dropping the last clone
/// gives the connection back to its client.
#[derive(Clone)]
pub struct Lease {
    inner: Arc<Leased>,
}

struct Leased {
    pipe: Pipe,
    owner: Arc<Connections>,
    /// Cleared when the session may have left state on the connection
    /// (`WATCH` without `EXEC`/`UNWATCH`, a cancelled command): then it is
    /// closed rather than reused.
    reusable: std::sync::atomic::AtomicBool,
}

impl Lease {
    /// A dedicated connection now, or an error if none is free, whatever
    /// lease wait is configured: for callers that must not wait (a runtime
    /// thread).
    pub(crate) fn take(owner: &Arc<Connections>) -> Result<Self> {
        let mut slots = owner.slots()?;
        if slots.closed {
            return Err(Error::closed());
        }
        let taken = owner.take_now(&mut slots);
        drop(slots);
        match taken {
            Some(pipe) => Ok(Self::of(owner, pipe?)),
            None => Err(owner.none_free()),
        }
    }

    /// A dedicated connection, waiting for one (blocking the thread) as
    /// long as the lease wait allows.
    pub(crate) fn take_waiting(owner: &Arc<Connections>) -> Result<Self> {
        let (sender, receiver) = std::sync::mpsc::channel();
        Self::take_then(owner, move |outcome| {
            let _ = sender.send(outcome);
        });
        receiver
            .recv()
            .unwrap_or_else(|_| Err(Error::new(ErrorKind::Internal, "the lease was lost")))
    }

    /// Calls `then` with a dedicated connection, when one is free (see
    /// `Connections::take_dedicated_then`); perhaps on another thread.
    pub(crate) fn take_then(
        owner: &Arc<Connections>,
        then: impl FnOnce(Result<Self>) + Send + 'static,
    ) {
        let held = Arc::clone(owner);
        owner.take_dedicated_then(Box::new(move |outcome| {
            then(outcome.map(|pipe| Self::of(&held, pipe)));
        }));
    }

    fn of(owner: &Arc<Connections>, pipe: Pipe) -> Self {
        Self {
            inner: Arc::new(Leased {
                pipe,
                owner: Arc::clone(owner),
                reusable: std::sync::atomic::AtomicBool::new(true),
            }),
        }
    }

    pub(crate) fn pipe(&self) -> &Pipe {
        &self.inner.pipe
    }

    /// Marks the connection as not to be reused (it may hold session state).
    pub fn set_reusable(&self, reusable: bool) {
        self.inner.reusable.store(reusable, Ordering::Release);
    }

    /// Closes the connection now: a request waiting on it fails, and later
    /// requests on this lease fail too. Cancelling a blocking command does
    /// this, so it can never take an element nobody will receive.
    pub fn close(&self) {
        self.inner.reusable.store(false, Ordering::Release);
        // Fail it here first, so whatever happens next (the kill below
        // closing the socket under the reader) its requests see this reason.
        self.inner.pipe.shut_down(&Error::new(
            ErrorKind::Closed,
            "the request was cancelled, so its dedicated connection was closed",
        ));
        // Closing our socket is not enough: the server may serve another
        // client's push before it notices the close, and the blocked command
        // would take that element. `CLIENT KILL` on the shared connection
        // runs before any later request this client sends there.
        if let Some(id) = self.inner.pipe.client_id() {
            self.inner.owner.kill_on_server(id);
        }
    }
}

impl Drop for Leased {
    fn drop(&mut self) {
        let reusable = self.reusable.load(Ordering::Acquire);
        self.owner.give_back(self.pipe.clone(), reusable);
    }
}

#[cfg(test)]
mod tests {
    use tokio_util::codec::FramedRead;

    use super::*;
    use crate::resp::RespCodec;

    /// A dedicated connection over an in-memory stream, counted as open
    /// (leased) by `connections`; the test only hands it back.
    fn lease(connections: &Connections) -> (Pipe, tokio::io::DuplexStream) {
        let (ours, theirs) = tokio::io::duplex(1 << 10);
        let (reader, writer) = tokio::io::split(ours);
        let reader: session::Reader = FramedRead::new(Box::pin(reader), RespCodec::default());
        let pipe = Pipe::over(reader, Box::pin(writer), None);
        connections.slots.lock().dedicated.push(pipe.clone());
        (pipe, theirs)
    }

    #[tokio::test]
    async fn a_connection_leased_when_the_service_moved_is_closed_when_given_back() {
        let connections = Connections::new(&ConnectionConfig::tcp("127.0.0.1", 1)).unwrap();
        let (kept, _server) = lease(&connections);
        connections.give_back(kept.clone(), true);
        assert!(connections
            .slots
            .lock()
            .idle
            .iter()
            .any(|idle| idle.is(&kept)));

        let (leased, _server) = lease(&connections);
        connections.follow();
        assert!(
            connections.slots.lock().idle.is_empty(),
            "idle ones retired"
        );
        connections.give_back(leased.clone(), true);
        let slots = connections.slots.lock();
        assert!(
            slots.idle.is_empty(),
            "the old node's connection was reused"
        );
        assert!(!slots.dedicated.iter().any(|open| open.is(&leased)));
        assert!(slots.stale.is_empty());
    }
}
