//! A pipelined connection to one server: one output buffer, one queue of
//! waiting replies, a writer task and a reader task.
//!
//! Requests are appended to the output buffer under a short lock, together
//! with what to do with their replies, in the same order; the writer task sends
//! whatever has accumulated in one write, and the reader task parses replies
//! and hands each to the oldest waiting request. Order on the socket is order
//! in the queue, so a reply can only ever reach the request it answers: a
//! caller that gave up leaves its entry in the queue and its reply is dropped
//! there.
//!
//! A pipe exists before its socket does: the writer task opens the connection
//! (and runs the handshake) while the first requests accumulate, so requests
//! are queued in call order whatever state the connection is in; a failed
//! attempt is tried again as the client's retry policy says (`crate::retry`),
//! the requests still queued. When the connection fails, every waiting
//! request fails with it and the pipe is broken for good; its owner makes a
//! new one for the next request. Requests it held back, never sent, go to
//! that new one (the shared connection's adopter).
//!
//! ## Health checks
//!
//! With `health_check_interval`, a request for a connection that has been
//! idle longer than that first queues a `PING` and is itself held until the
//! answer comes; a check that times out (after half the request timeout)
//! fails the connection and the held requests move, unsent, to a new one.
//!
//! Appending costs the caller no wake-up when the writer has one coming
//! already, so an event loop that queues a hundred commands in one iteration
//! wakes the runtime once ([`Pipe::enqueue`] says when a wake is owed).
//!
//! ## Deadlines and the in-flight limit
//!
//! Both live with the waiting entries; nothing is spawned per request.
//! - Each entry may carry a deadline. The writer, which is woken for every
//!   new request anyway, sleeps until the oldest entry's deadline as well as
//!   its doorbell. The server answers a connection's requests in order, so
//!   when the oldest reply is overdue every later one is stuck behind it: the
//!   connection is given up, its requests fail with a timeout, and the next
//!   request opens a new one.
//! - With `max_in_flight`, requests beyond the limit wait in a second queue,
//!   still in call order, and move to the output buffer as replies free room.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use parking_lot::Mutex;
use redis::Value;
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncWrite, AsyncWriteExt, Interest};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::session::{self, Endpoint, Reader, Writer};
use crate::debug::{self, PanicSite};
use crate::error::{Error, ErrorKind, Result};
use crate::eventfd::EventFd;
use crate::events::{self, Event, Level, Topic};
use crate::pubsub::PushSink;
use crate::request::{complete, finish_batch, Batch, BatchKind, Sink};

/// When a caller of [`Pipe::enqueue`] must wake the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WakeNeed {
    /// Nothing was queued (the request already failed, or is held back).
    None,
    /// The connection was idle: wake now, latency is what matters.
    Now,
    /// Others are in flight: a wake once this batch is queued is enough (an
    /// event loop defers it to the end of the iteration, when every ready task
    /// has queued). Every caller that gets this owes a wake of its own, so a
    /// deferred wake that never runs cannot stall anyone else.
    Soon,
}

/// How the replies of one request are collected.
enum Collect {
    One(Sink),
    Batch(Box<BatchReplies>),
    /// The health check's `PING`: its reply lets the held requests go.
    Probe,
}

struct BatchReplies {
    kind: BatchKind,
    expected: usize,
    values: Vec<Value>,
    sink: Sink,
}

/// A request whose bytes are in the output buffer or on the wire.
struct Waiting {
    collect: Collect,
    deadline: Option<Instant>,
}

/// A request held back (by the in-flight limit, or behind a health check),
/// not yet in the output buffer. When its connection fails it has not
/// reached the server, so it can go to a new connection as it is.
pub(crate) struct Held {
    bytes: Vec<u8>,
    waiting: Waiting,
}

struct State {
    /// Bytes queued for the socket, in request order.
    out: Vec<u8>,
    waiting: VecDeque<Waiting>,
    held: VecDeque<Held>,
    /// Set once the connection is unusable; every later request fails with it.
    broken: Option<Error>,
    /// The socket, for direct writes; `None` until connected and once broken.
    direct: Option<OwnedFd>,
    /// Whether the writer task is sending a batch (taken from `out`) now.
    writing: bool,
    /// The server's id for the connection, once open (see `session::Opened`).
    client_id: Option<i64>,
    /// Set by [`Pipe::close_when_idle`]: shut down once nothing waits.
    closing: bool,
    /// A health check's `PING` is out: requests are held until it is answered.
    probing: bool,
    /// When the connection last answered (or opened); `None` until it is
    /// open. Kept only with a health check.
    last_active: Option<Instant>,
}

/// Checks a connection idle for longer than `interval` before using it.
#[derive(Clone, Copy)]
pub(crate) struct HealthCheck {
    pub(crate) interval: Duration,
    /// How long the check's `PING` may take before the connection is given up.
    pub(crate) timeout: Duration,
}

/// Where a failed connection's held requests go (a new connection).
pub(crate) type Adopter = Box<dyn Fn(Vec<Held>) + Send + Sync>;

struct Shared {
    state: Mutex<State>,
    /// Mirrors `state.broken.is_some()`, so callers can check it without
    /// taking the lock the reader and writer use.
    broken: AtomicBool,
    max_in_flight: Option<usize>,
    doorbell: Doorbell,
    stop_writer: Notify,
    stop_reader: Notify,
    /// Where the reader sends RESP3 pushes, which answer no request.
    push_sink: Mutex<Option<PushSink>>,
    health_check: Option<HealthCheck>,
    /// Takes the held requests when the connection fails; without one they fail.
    adopter: Mutex<Option<Adopter>>,
    /// Where the pipe connects; `None` for a pipe over given streams (tests).
    endpoint: Option<Arc<Endpoint>>,
    /// The connection opened (its handshake done): losing it is an event.
    /// Set under the state lock.
    connected: AtomicBool,
}

/// A handle on one pipelined connection; clones share it.
#[derive(Clone)]
pub(crate) struct Pipe {
    shared: Arc<Shared>,
}

/// How the writer task sleeps and is woken: an eventfd in Tokio's reactor.
///
/// Why not a `Notify`: a task woken from outside the runtime (a Python
/// thread) goes through the runtime's inject queue, and the worker unparked
/// for it wakes a second worker to look for more work, so every request at
/// low concurrency cost two worker wake-ups (measured: 3.0 worker context
/// switches per request with 2 workers, against 1.5 with one). An eventfd wakes
/// the worker parked in the reactor, which runs the writer itself, just as a
/// reply arriving on the socket wakes the reader.
struct Doorbell {
    fd: AsyncFd<EventFd>,
    /// Set by the writer just before it sleeps; a ring writes to the eventfd
    /// only when it clears this, so ringing a busy writer costs one atomic swap.
    armed: AtomicBool,
}

impl Doorbell {
    /// Must run inside the runtime (it registers with the reactor).
    fn new() -> io::Result<Self> {
        // SAFETY: the EventFd owns its descriptor, closes it only when
        // dropped, and always reports the same one.
        let fd = unsafe { AsyncFd::register_with_interest(EventFd::new()?, Interest::READABLE) }?;
        Ok(Self {
            fd,
            armed: AtomicBool::new(false),
        })
    }

    /// Wakes the writer if it sleeps or is about to.
    fn ring(&self) {
        if self.armed.swap(false, Ordering::SeqCst) {
            self.fd.get_ref().notify();
        }
    }

    /// Announces that the writer is about to sleep. The writer must look for
    /// work once more after this: a request queued before it was armed
    /// rang nobody.
    fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    /// Sleeps until rung (returns at once if rung since the last wait).
    async fn wait(&self) -> io::Result<()> {
        let mut ready = self.fd.readable().await?;
        ready.get_inner().clear();
        // A ring after the clear is a new reactor event, so it is not lost.
        ready.clear_ready();
        Ok(())
    }
}

impl Pipe {
    /// A pipe to the server `endpoint` names. Its writer task connects
    /// (within the connect timeout) while requests queue. Must run inside
    /// the runtime.
    pub(crate) fn open(endpoint: Arc<Endpoint>, health_check: Option<HealthCheck>) -> Result<Self> {
        let mut pipe = Self::new(endpoint.config.max_in_flight)?;
        let unshared = Arc::get_mut(&mut pipe.shared).expect("not shared yet");
        unshared.health_check = health_check;
        unshared.endpoint = Some(Arc::clone(&endpoint));
        let shared = Arc::clone(&pipe.shared);
        // The guard is an argument, so it exists (and fails the waiting
        // requests when dropped) even if the task is dropped before it runs.
        let task = connect_then_run(FailOnDrop(Arc::clone(&shared)), endpoint);
        tokio::spawn(contain_panics(shared, "a connection's writer", task));
        Ok(pipe)
    }

    /// A pipe over a connected stream whose handshake is done (tests drive
    /// one over in-memory streams). Must run inside the runtime.
    #[cfg(test)]
    pub(crate) fn over(reader: Reader, writer: Writer, max_in_flight: Option<usize>) -> Self {
        let pipe = Self::new(max_in_flight).expect("an eventfd");
        let shared = Arc::clone(&pipe.shared);
        let task = run(FailOnDrop(Arc::clone(&shared)), reader, writer);
        tokio::spawn(contain_panics(shared, "a connection's writer", task));
        pipe
    }

    /// [`Self::over`] with a health check, the connection counted as just used.
    #[cfg(test)]
    pub(crate) fn over_checked(reader: Reader, writer: Writer, check: HealthCheck) -> Self {
        let mut pipe = Self::new(None).expect("an eventfd");
        Arc::get_mut(&mut pipe.shared)
            .expect("not shared yet")
            .health_check = Some(check);
        pipe.shared.state.lock().last_active = Some(Instant::now());
        let shared = Arc::clone(&pipe.shared);
        let task = run(FailOnDrop(Arc::clone(&shared)), reader, writer);
        tokio::spawn(contain_panics(shared, "a connection's writer", task));
        pipe
    }

    fn new(max_in_flight: Option<usize>) -> Result<Self> {
        let doorbell = Doorbell::new().map_err(|err| {
            Error::new(
                ErrorKind::Internal,
                format!("cannot make an eventfd: {err}"),
            )
        })?;
        Ok(Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    out: Vec::new(),
                    waiting: VecDeque::new(),
                    held: VecDeque::new(),
                    broken: None,
                    direct: None,
                    writing: false,
                    client_id: None,
                    closing: false,
                    probing: false,
                    last_active: None,
                }),
                broken: AtomicBool::new(false),
                max_in_flight: max_in_flight.filter(|&limit| limit > 0),
                doorbell,
                stop_writer: Notify::new(),
                stop_reader: Notify::new(),
                push_sink: Mutex::new(None),
                health_check: None,
                adopter: Mutex::new(None),
                endpoint: None,
                connected: AtomicBool::new(false),
            }),
        })
    }

    /// Queues a request without waking the writer; see [`WakeNeed`].
    pub(crate) fn enqueue(&self, batch: &Batch, deadline: Option<Instant>, sink: Sink) -> WakeNeed {
        let collect = match batch {
            Batch::One(_) => Collect::One(sink),
            Batch::Pipeline(_) | Batch::Transaction(_) => {
                let expected = batch.reply_count();
                if expected == 0 {
                    // An empty pipeline: nothing to send, nothing to wait for.
                    complete(sink, Ok(Value::Array(Vec::new())));
                    return WakeNeed::None;
                }
                let kind = if matches!(batch, Batch::Transaction(_)) {
                    BatchKind::Transaction
                } else {
                    BatchKind::Pipeline
                };
                Collect::Batch(Box::new(BatchReplies {
                    kind,
                    expected,
                    // Reserved as replies arrive: a 100,000-command pipeline
                    // should not allocate its whole result before it is sent.
                    values: Vec::new(),
                    sink,
                }))
            }
        };
        let waiting = Waiting { collect, deadline };
        let mut state = self.shared.state.lock();
        if let Some(err) = &state.broken {
            let err = err.clone();
            drop(state);
            waiting.fail(err);
            return WakeNeed::None;
        }
        let probe = self.shared.health_check.filter(|check| {
            state.waiting.is_empty()
                && !state.probing
                && state
                    .last_active
                    .is_some_and(|at| at.elapsed() > check.interval)
        });
        if let Some(check) = probe {
            start_probe(&mut state, check.timeout);
        }
        let limited = self
            .shared
            .max_in_flight
            .is_some_and(|limit| state.waiting.len() >= limit);
        if state.probing || limited || !state.held.is_empty() {
            let mut bytes = Vec::new();
            batch.write_to(&mut bytes);
            state.held.push_back(Held { bytes, waiting });
            // A new probe's PING must go out now.
            return if probe.is_some() {
                WakeNeed::Now
            } else {
                WakeNeed::None
            };
        }
        let was_idle = state.waiting.is_empty();
        let was_empty = state.out.is_empty();
        // Only for a connection with nothing in flight: under load, requests
        // that accumulate while the writer sleeps go out in one write (a
        // direct send each would cost the caller a system call per request:
        // measured 3x slower at 100 tasks).
        let direct = was_idle && was_empty && !state.writing && deadline.is_none();
        state.waiting.push_back(waiting);
        if direct {
            let state = &mut *state;
            if let Some(fd) = &state.direct {
                // Nothing is queued or being written, so bytes written here
                // land right after everything sent before: the order holds.
                if write_directly(fd, batch, &mut state.out) {
                    return WakeNeed::None;
                }
                return WakeNeed::Now;
            }
        }
        batch.write_to(&mut state.out);
        if was_empty && was_idle {
            WakeNeed::Now
        } else {
            WakeNeed::Soon
        }
    }

    /// Takes requests held by a connection that failed before sending them,
    /// in their order, behind anything queued here already.
    pub(crate) fn adopt(&self, orphans: Vec<Held>) {
        let mut state = self.shared.state.lock();
        if let Some(err) = state.broken.clone() {
            drop(state);
            for orphan in orphans {
                orphan.waiting.fail(err.clone());
            }
            return;
        }
        state.held.extend(orphans);
        let released = !state.probing && release_held(&self.shared, &mut state);
        drop(state);
        if released {
            self.wake_writer();
        }
    }

    /// Fails requests no connection could take.
    #[cold]
    pub(crate) fn fail_orphans(orphans: Vec<Held>, err: &Error) {
        for orphan in orphans {
            orphan.waiting.fail(err.clone());
        }
    }

    /// Gives the held requests to `adopter` when this connection fails.
    pub(crate) fn set_adopter(&self, adopter: Adopter) {
        *self.shared.adopter.lock() = Some(adopter);
    }

    /// How long since the connection last answered; `None` before it opens
    /// or without a health check.
    pub(crate) fn idle_for(&self) -> Option<Duration> {
        self.shared.state.lock().last_active.map(|at| at.elapsed())
    }

    /// Queues a request and wakes the writer (which costs nothing when it is
    /// awake already).
    pub(crate) fn send(&self, batch: &Batch, deadline: Option<Instant>, sink: Sink) {
        if self.enqueue(batch, deadline, sink) != WakeNeed::None {
            self.wake_writer();
        }
    }

    /// Wakes the writer (costs one atomic swap when it is awake already).
    pub(crate) fn wake_writer(&self) {
        self.shared.doorbell.ring();
    }

    /// The server's id for this connection, once it is open.
    pub(crate) fn client_id(&self) -> Option<i64> {
        self.shared.state.lock().client_id
    }

    /// Whether `other` is a handle on the same connection.
    pub(crate) fn is(&self, other: &Pipe) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    pub(crate) fn is_broken(&self) -> bool {
        self.shared.broken.load(Ordering::Acquire)
    }

    /// Whether no request waits on it (a dedicated connection may be reused).
    pub(crate) fn is_idle(&self) -> bool {
        let state = self.shared.state.lock();
        state.waiting.is_empty() && state.held.is_empty()
    }

    /// Sends the RESP3 pushes this connection receives to `sink` (dropped
    /// when there is none).
    pub(crate) fn set_push_sink(&self, sink: Option<PushSink>) {
        *self.shared.push_sink.lock() = sink;
    }

    /// Shuts the pipe down once the requests waiting on it are answered (at
    /// once if none is). Its owner sends it nothing more.
    pub(crate) fn close_when_idle(&self) {
        let idle = {
            let mut state = self.shared.state.lock();
            state.closing = true;
            state.waiting.is_empty() && state.held.is_empty()
        };
        if idle {
            fail(&self.shared, &Error::closed());
        }
    }

    /// Fails every waiting request with `err`, refuses later ones, and stops
    /// both tasks (which closes the socket).
    ///
    /// The socket is shut down here, on the caller's thread, rather than when
    /// the tasks next run: a cancelled `BLPOP`'s connection must be seen gone
    /// by the server as soon as possible, or an element another client pushes
    /// right after the cancel can still be handed to it (and lost). (This
    /// client's own later requests wait behind the `CLIENT KILL` the lease
    /// sends.) Measured, 100 rounds of 4 `BLPOP`s cancelled 2 ms after they
    /// were sent and 4 elements pushed by another client right after: 211 of
    /// 400 elements lost when only the tasks closed the socket, none with this.
    pub(crate) fn shut_down(&self, err: &Error) {
        let direct = self.shared.state.lock().direct.take();
        // Failed first, so the requests see `err`, not the reader's view of
        // the socket shut down under it.
        fail(&self.shared, err);
        if let Some(fd) = direct {
            // SAFETY: `fd` is a live descriptor the pipe owned until now (a
            // duplicate of the socket's), closed only when dropped below;
            // shutting the socket down only makes its other uses fail, which
            // is what is wanted.
            unsafe { libc::shutdown(fd.as_raw_fd(), libc::SHUT_RDWR) };
        }
    }
}

impl Waiting {
    #[cold]
    fn fail(self, err: Error) {
        match self.collect {
            Collect::One(sink) => complete(sink, Err(err)),
            Collect::Batch(batch) => complete(batch.sink, Err(err)),
            Collect::Probe => {}
        }
    }
}

/// Queues a health check's `PING` ahead of everything; requests are held
/// until it is answered, so a connection that died while idle fails only
/// the check and the held requests move to a new connection unsent.
fn start_probe(state: &mut State, timeout: Duration) {
    state.out.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
    state.waiting.push_back(Waiting {
        collect: Collect::Probe,
        deadline: Some(Instant::now() + timeout),
    });
    state.probing = true;
}

/// Writes a request to the socket from the caller's thread, without waking
/// the writer task: at low concurrency that saves a cross-thread wake-up per
/// request (the reader's wake-up for the reply is the only one left). Never
/// blocks: whatever the socket does not take at once goes to `out`, for the
/// writer. Says whether everything was written.
///
/// Only when nothing is in flight and the request has no deadline: the
/// writer keeps the deadline timer, and it must be woken to arm it.
fn write_directly(fd: &OwnedFd, batch: &Batch, out: &mut Vec<u8>) -> bool {
    let single;
    let bytes: &[u8] = if let Batch::One(cmd) = batch {
        cmd.packed()
    } else {
        batch.write_to(out);
        single = std::mem::take(out);
        &single
    };
    let sent = send_now(fd, bytes);
    if sent == bytes.len() {
        return true;
    }
    out.extend_from_slice(&bytes[sent..]);
    false
}

/// A non-blocking `send`; how many bytes the socket took (0 on any error:
/// the writer task then meets the error itself and fails the pipe).
fn send_now(fd: &OwnedFd, bytes: &[u8]) -> usize {
    // SAFETY: `fd` is a live socket descriptor owned by the pipe, closed only
    // under the state lock that our caller holds; the buffer is valid for
    // `bytes.len()` bytes.
    let sent = unsafe {
        libc::send(
            fd.as_raw_fd(),
            bytes.as_ptr().cast(),
            bytes.len(),
            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        )
    };
    usize::try_from(sent).unwrap_or(0)
}

#[cold]
fn fail(shared: &Shared, err: &Error) {
    let mut lost = None;
    let (waiting, held) = {
        let mut state = shared.state.lock();
        if state.broken.is_none() {
            state.broken = Some(err.clone());
            shared.broken.store(true, Ordering::Release);
            if shared.connected.load(Ordering::Acquire) && err.kind() != ErrorKind::Closed {
                lost = Some(state.probing);
            }
        }
        state.direct = None;
        state.out = Vec::new();
        (
            std::mem::take(&mut state.waiting),
            std::mem::take(&mut state.held),
        )
    };
    if let Some(probing) = lost {
        report_loss(shared, err, probing);
    }
    for entry in waiting {
        entry.fail(err.clone());
    }
    shared.stop_writer.notify_one();
    shared.stop_reader.notify_one();
    // Held requests never reached the server: a new connection can take
    // them (unless the client is closing).
    let adopter = shared.adopter.lock().take();
    match adopter {
        Some(adopt) if !held.is_empty() && err.kind() != ErrorKind::Closed => {
            adopt(held.into());
        }
        _ => {
            for entry in held {
                entry.waiting.fail(err.clone());
            }
        }
    }
}

/// Fails the waiting requests if a task of the pipe is dropped before it
/// ends by itself (the runtime shut down), so no caller waits forever.
struct FailOnDrop(Arc<Shared>);

impl Drop for FailOnDrop {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // The task panicked and its locals are unwinding: leave it to
            // `contain_panics`, which every task runs in, to fail the
            // requests once it has caught the panic, with its message.
            return;
        }
        fail(
            &self.0,
            &Error::new(
                ErrorKind::Closed,
                "the connection was dropped with requests in flight (runtime shut down)",
            ),
        );
    }
}

/// A far-off instant for a timer that is not armed.
fn never() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

/// The writer task: connects, then writes until the pipe breaks.
async fn connect_then_run(guard: FailOnDrop, endpoint: Arc<Endpoint>) {
    let shared = Arc::clone(&guard.0);
    let Some(opened) = connect(&shared, &endpoint).await else {
        return;
    };
    {
        let mut state = shared.state.lock();
        if state.broken.is_none() {
            shared.connected.store(true, Ordering::Release);
            state.direct = opened.direct;
            state.client_id = opened.client_id;
            if shared.health_check.is_some() {
                state.last_active = Some(Instant::now());
            }
        }
    }
    run(guard, opened.reader, opened.writer).await;
}

/// Opens the connection while requests queue, trying again as the client's
/// retry policy allows (see `crate::retry`): attempts wait for the client's
/// schedule, and end when this pipe has made its share or the client's
/// consecutive failures reach the budget. `None` when the pipe failed.
async fn connect(shared: &Shared, endpoint: &Endpoint) -> Option<session::Opened> {
    let policy = endpoint.config.retry;
    let mut attempts = 0;
    loop {
        let due = endpoint.schedule.next_at();
        let attempt = async {
            if let Some(at) = due {
                tokio::time::sleep_until(at).await;
            }
            session::open(endpoint).await
        };
        let err = match while_queueing(shared, attempt).await? {
            Ok(opened) => {
                endpoint.schedule.succeeded();
                report_connected(endpoint);
                return Some(opened);
            }
            Err(err) => err,
        };
        // Nothing was sent: the requests' outcome is known (nothing happened).
        let err = err.unsent();
        let mut failures = 0;
        if matches!(err.kind(), ErrorKind::Connection | ErrorKind::Timeout) && !err.is_permanent() {
            attempts += 1;
            failures = endpoint.schedule.failed(&policy, &err);
            if attempts < policy.attempts && failures < policy.attempts {
                report_attempt_failed(endpoint, &err, failures);
                continue;
            }
        }
        if err.kind() != ErrorKind::Closed {
            report_gave_up(endpoint, &err, failures);
        }
        fail(shared, &err);
        return None;
    }
}

/// A connection opened: the first (DEBUG), or the next after a loss (INFO).
fn report_connected(endpoint: &Endpoint) {
    let reconnected = endpoint.lost.swap(false, Ordering::AcqRel);
    let (level, name, what) = if reconnected {
        (Level::Info, "reconnected", "reconnected to")
    } else {
        (Level::Debug, "connected", "connected to")
    };
    events::emit(Topic::Connection, level, || {
        let address = events::address(&endpoint.config.address);
        Event::new(Topic::Connection, level, name, format!("{what} {address}"))
            .about(&endpoint.config)
    });
}

/// An attempt failed and another will be made (WARNING).
#[cold]
fn report_attempt_failed(endpoint: &Endpoint, err: &Error, failures: u32) {
    events::emit(Topic::Connection, Level::Warning, || {
        let address = events::address(&endpoint.config.address);
        Event::new(
            Topic::Connection,
            Level::Warning,
            "connect_failed",
            format!("connection attempt {failures} to {address} failed, trying again: {err}"),
        )
        .about(&endpoint.config)
        .error(err)
        .with("attempt", failures)
    });
}

/// The attempts are spent (or the error is not worth another): the queued
/// requests fail (ERROR).
#[cold]
fn report_gave_up(endpoint: &Endpoint, err: &Error, failures: u32) {
    events::emit(Topic::Connection, Level::Error, || {
        let address = events::address(&endpoint.config.address);
        Event::new(
            Topic::Connection,
            Level::Error,
            "connect_gave_up",
            format!("giving up on {address} for now, after {failures} failed attempts: {err}"),
        )
        .about(&endpoint.config)
        .error(err)
        .with("attempt", failures)
    });
}

/// An open connection failed (WARNING): the server closed it, the socket
/// broke, a reply was overdue, or a health check went unanswered. The
/// client's next connection is then reported as a reconnect.
#[cold]
fn report_loss(shared: &Shared, err: &Error, probing: bool) {
    let Some(endpoint) = &shared.endpoint else {
        return;
    };
    endpoint.lost.store(true, Ordering::Release);
    let (name, what) = if probing {
        (
            "health_check_failed",
            "health check failed on the connection to",
        )
    } else {
        ("connection_lost", "lost the connection to")
    };
    events::emit(Topic::Connection, Level::Warning, || {
        let address = events::address(&endpoint.config.address);
        Event::new(
            Topic::Connection,
            Level::Warning,
            name,
            format!("{what} {address}: {err}"),
        )
        .about(&endpoint.config)
        .error(err)
    });
}

/// Runs `work` while requests queue: the oldest one's deadline counts from
/// its call, so it covers connecting too. `None` when the pipe was stopped
/// or failed meanwhile.
async fn while_queueing<T>(shared: &Shared, work: impl Future<Output = T>) -> Option<T> {
    tokio::pin!(work);
    let stop = shared.stop_writer.notified();
    tokio::pin!(stop);
    let timer = tokio::time::sleep_until(never());
    tokio::pin!(timer);
    loop {
        shared.doorbell.arm();
        let deadline = front_deadline(shared);
        if let Some(deadline) = deadline {
            timer.as_mut().reset(deadline);
        }
        tokio::select! {
            done = &mut work => return Some(done),
            () = &mut stop => return None,
            () = &mut timer, if deadline.is_some() => {
                if expire_overdue(shared) {
                    return None;
                }
            }
            rung = shared.doorbell.wait() => {
                if let Err(err) = rung {
                    fail(shared, &Error::from(redis::RedisError::from(err)));
                    return None;
                }
            }
        }
    }
}

/// Runs a connected pipe: starts the reader, then writes until it breaks.
async fn run(guard: FailOnDrop, reader: Reader, writer: Writer) {
    let shared = Arc::clone(&guard.0);
    let reading = read_loop(guard, reader);
    tokio::spawn(contain_panics(
        Arc::clone(&shared),
        "a connection's reader",
        reading,
    ));
    write_loop(shared, writer).await;
}

/// Runs one of a pipe's tasks. A panic in it is a bug; it is caught here so
/// that the requests waiting on the pipe fail with an error that says so
/// (the task's guard would report a runtime shutdown), and the pipe is
/// broken for good, as its state may be half updated: the next request
/// opens a new connection. Tokio would keep the worker thread alive anyway.
async fn contain_panics(shared: Arc<Shared>, what: &str, task: impl Future<Output = ()>) {
    // Unwind safety: after a panic the pipe is only failed, never used.
    if let Err(panic) = AssertUnwindSafe(task).catch_unwind().await {
        fail(&shared, &Error::from_panic(what, &*panic));
    }
}

/// The oldest waiting request's deadline.
fn front_deadline(shared: &Shared) -> Option<Instant> {
    shared
        .state
        .lock()
        .waiting
        .front()
        .and_then(|entry| entry.deadline)
}

/// Gives the connection up if its oldest request is overdue; says whether it did.
fn expire_overdue(shared: &Shared) -> bool {
    let overdue = front_deadline(shared).is_some_and(|deadline| deadline <= Instant::now());
    if overdue {
        fail(
            shared,
            &Error::new(
                ErrorKind::Timeout,
                "no reply within the timeout; the connection was closed, and requests \
                 waiting on it failed too",
            ),
        );
    }
    overdue
}

async fn write_loop<W: AsyncWrite + Unpin>(shared: Arc<Shared>, mut writer: W) {
    let mut batch = Vec::new();
    // One registration for the task's life, not one per wait.
    let stop = shared.stop_writer.notified();
    tokio::pin!(stop);
    let timer = tokio::time::sleep_until(never());
    tokio::pin!(timer);
    let mut timer_set_for = None;
    loop {
        let deadline = {
            let mut state = shared.state.lock();
            if state.broken.is_some() {
                return;
            }
            std::mem::swap(&mut state.out, &mut batch);
            // Callers write directly only while this is false.
            state.writing = !batch.is_empty();
            state.waiting.front().and_then(|entry| entry.deadline)
        };
        if let Some(at) = deadline.filter(|_| deadline != timer_set_for) {
            timer.as_mut().reset(at);
        }
        timer_set_for = deadline;
        if batch.is_empty() {
            shared.doorbell.arm();
            if !shared.state.lock().out.is_empty() {
                continue;
            }
            tokio::select! {
                rung = shared.doorbell.wait() => {
                    if let Err(err) = rung {
                        fail(&shared, &Error::from(redis::RedisError::from(err)));
                        return;
                    }
                }
                () = &mut stop => return,
                () = &mut timer, if timer_set_for.is_some() => {
                    if expire_overdue(&shared) {
                        return;
                    }
                    timer_set_for = None;
                }
            }
            continue;
        }
        // A peer that stops reading must not keep this task (and the socket)
        // alive after the connection has been given up or its deadline passed.
        // The write future lives across wake-ups: dropping it mid-way would
        // lose track of what part of the batch went out. The flush sends
        // what a TLS writer may still hold; over TCP it costs nothing.
        let write = async {
            writer.write_all(&batch).await?;
            writer.flush().await
        };
        tokio::pin!(write);
        let written = loop {
            tokio::select! {
                written = &mut write => break written,
                () = &mut stop => return,
                () = &mut timer, if timer_set_for.is_some() => {
                    if expire_overdue(&shared) {
                        return;
                    }
                    // The oldest was answered meanwhile: wait for the next one.
                    timer_set_for = front_deadline(&shared);
                    timer.as_mut().reset(timer_set_for.unwrap_or_else(never));
                }
            }
        };
        if let Err(err) = written {
            fail(&shared, &Error::from(redis::RedisError::from(err)));
            return;
        }
        batch.clear();
        // A burst of large values can leave a huge buffer; don't keep it forever.
        if batch.capacity() > 4 << 20 {
            batch = Vec::new();
        }
    }
}

async fn read_loop(guard: FailOnDrop, mut frames: Reader) {
    let shared = Arc::clone(&guard.0);
    // One registration for the task's life, not one per frame.
    let stop = shared.stop_reader.notified();
    tokio::pin!(stop);
    loop {
        let frame = tokio::select! {
            frame = frames.next() => frame,
            () = &mut stop => return,
        };
        let value = match frame {
            Some(Ok(value)) => value,
            Some(Err(err)) => {
                fail(&shared, &err);
                return;
            }
            None => {
                fail(
                    &shared,
                    &Error::new(ErrorKind::Connection, "the server closed the connection"),
                );
                return;
            }
        };
        // Out-of-band messages (RESP3 pushes) answer no request: they go
        // to the push sink, if there is one.
        if matches!(value, Value::Push { .. }) {
            let sink = shared.push_sink.lock().clone();
            if let Some(sink) = sink {
                sink(value);
            }
            continue;
        }
        debug::maybe_panic(PanicSite::Reader);
        if let Err(err) = deliver(&shared, value) {
            fail(&shared, &err);
            return;
        }
    }
}

/// Hands one reply to the oldest waiting request.
fn deliver(shared: &Shared, value: Value) -> Result<()> {
    let mut state = shared.state.lock();
    if shared.health_check.is_some() {
        state.last_active = Some(Instant::now());
    }
    let Some(front) = state.waiting.front_mut() else {
        return Err(Error::new(
            ErrorKind::Protocol,
            "the server sent a reply no request was waiting for",
        ));
    };
    if let Collect::Batch(batch) = &mut front.collect {
        if batch.values.len() + 1 < batch.expected {
            if batch.values.is_empty() {
                batch.values.reserve_exact(batch.expected.min(1 << 16));
            }
            batch.values.push(value);
            return Ok(());
        }
    }
    let done = state.waiting.pop_front().expect("checked above");
    if matches!(done.collect, Collect::Probe) {
        // Any reply (even an error) shows the connection is alive.
        state.probing = false;
    }
    let released = !state.probing && release_held(shared, &mut state);
    let last = state.closing && state.waiting.is_empty() && state.held.is_empty();
    drop(state);
    if released {
        shared.doorbell.ring();
    }
    match done.collect {
        Collect::One(sink) => complete(sink, into_outcome(value)),
        Collect::Batch(mut batch) => {
            batch.values.push(value);
            complete(batch.sink, finish_batch(batch.kind, batch.values));
        }
        Collect::Probe => {}
    }
    if last {
        fail(shared, &Error::closed());
    }
    Ok(())
}

/// Moves requests held back by the in-flight limit into the output buffer
/// while there is room; says whether any moved.
fn release_held(shared: &Shared, state: &mut State) -> bool {
    let limit = shared.max_in_flight.unwrap_or(usize::MAX);
    let mut moved = false;
    while state.waiting.len() < limit {
        let Some(held) = state.held.pop_front() else {
            break;
        };
        state.out.extend_from_slice(&held.bytes);
        state.waiting.push_back(held.waiting);
        moved = true;
    }
    moved
}

#[cfg(test)]
#[path = "pipe_tests.rs"]
mod tests;

/// A top-level error reply is the request's failure; nested ones stay values.
fn into_outcome(value: Value) -> Result<Value> {
    match value {
        Value::ServerError(err) => Err(Error::from(redis::RedisError::from(err))),
        value => Ok(value),
    }
}
