//! A pipelined connection to one server: one output buffer, one writer task,
//! one reader task.
//!
//! Requests are appended to the output buffer under a short lock, together
//! with what to do with their reply, in the same order; the writer task sends
//! whatever has accumulated in one write, and the reader task parses replies
//! (with redis-rs's RESP decoder) and hands each to the oldest waiting request.
//! Order on the socket is order in the queue, so a reply can only ever reach
//! the request it answers: a caller that gave up leaves its slot in the queue
//! and its reply is dropped there.
//!
//! Appending costs the caller no wake-up when the writer has one coming
//! already, so an event loop that queues a hundred commands in one iteration
//! wakes the runtime once ([`Pipe::enqueue`] says when a wake is owed).

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::StreamExt;
use parking_lot::Mutex;
use redis::{Value, ValueCodec};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, Interest};
use tokio::sync::Notify;
use tokio_util::codec::FramedRead;

use crate::command::Command;
use crate::error::{Error, ErrorKind, Result};
use crate::eventfd::EventFd;

/// What receives a request's reply.
pub type ReplySink = Box<dyn FnOnce(Result<Value>) + Send>;

/// When a caller of [`Pipe::enqueue`] must wake the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WakeNeed {
    /// Nothing was queued (the request already failed, or went another way).
    None,
    /// The connection was idle: wake now, latency is what matters.
    Now,
    /// Others are in flight: a wake once this batch is queued is enough (an
    /// event loop defers it to the end of the iteration, when every ready task
    /// has queued). Every caller that gets this owes a wake of its own, so a
    /// deferred wake that never runs cannot stall anyone else.
    Soon,
}

struct State {
    /// Bytes queued for the socket, in request order.
    out: Vec<u8>,
    /// One entry per request written or queued; `None` once its caller has
    /// been answered another way (a timeout), so its reply is dropped.
    waiting: VecDeque<ReplySink>,
    /// Set once the connection is unusable; every later request fails with it.
    broken: Option<Error>,
}

struct Shared {
    state: Mutex<State>,
    /// Mirrors `state.broken.is_some()`, so callers can check it without
    /// taking the lock the reader and writer use.
    broken: AtomicBool,
    doorbell: Doorbell,
    stop_writer: Notify,
    stop_reader: Notify,
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
    /// Starts the reader and writer tasks on `reader` and `writer` (the two
    /// halves of one connected socket). Must run inside the runtime.
    pub(crate) fn start<R, W>(reader: R, writer: W) -> io::Result<Self>
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                out: Vec::new(),
                waiting: VecDeque::new(),
                broken: None,
            }),
            broken: AtomicBool::new(false),
            doorbell: Doorbell::new()?,
            stop_writer: Notify::new(),
            stop_reader: Notify::new(),
        });
        tokio::spawn(write_loop(Arc::clone(&shared), writer));
        // The guard is an argument, so it exists (and fails the waiting
        // requests when dropped) even if the task is dropped before it runs.
        tokio::spawn(read_loop(FailOnDrop(Arc::clone(&shared)), reader));
        Ok(Self { shared })
    }

    /// Queues a request without waking the writer; see [`WakeNeed`].
    pub(crate) fn enqueue(&self, cmd: &Command, sink: ReplySink) -> WakeNeed {
        let mut state = self.shared.state.lock();
        if let Some(err) = &state.broken {
            let err = err.clone();
            drop(state);
            sink(Err(err));
            return WakeNeed::None;
        }
        let was_idle = state.waiting.is_empty();
        let was_empty = state.out.is_empty();
        state.out.extend_from_slice(cmd.packed());
        state.waiting.push_back(sink);
        if was_empty && was_idle {
            WakeNeed::Now
        } else {
            WakeNeed::Soon
        }
    }

    /// Queues a request and wakes the writer (which costs nothing when it is
    /// awake already).
    pub(crate) fn send(&self, cmd: &Command, sink: ReplySink) {
        if self.enqueue(cmd, sink) != WakeNeed::None {
            self.wake_writer();
        }
    }

    /// Sends a request and waits for its reply.
    pub(crate) async fn request(&self, cmd: &Command) -> Result<Value> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.send(
            cmd,
            Box::new(move |outcome| {
                // The caller may have stopped waiting (timeout, cancellation).
                let _ = reply.send(outcome);
            }),
        );
        answer
            .await
            .unwrap_or_else(|_| Err(Error::new(ErrorKind::Internal, "the reply was lost")))
    }

    /// Wakes the writer (costs one atomic swap when it is awake already).
    pub(crate) fn wake_writer(&self) {
        self.shared.doorbell.ring();
    }

    pub(crate) fn is_broken(&self) -> bool {
        self.shared.broken.load(Ordering::Acquire)
    }

    /// Fails every waiting request with `err`, refuses later ones, and stops
    /// both tasks (which closes the socket).
    pub(crate) fn shut_down(&self, err: &Error) {
        fail(&self.shared, err);
    }
}

#[cold]
fn fail(shared: &Shared, err: &Error) {
    let waiting = {
        let mut state = shared.state.lock();
        if state.broken.is_none() {
            state.broken = Some(err.clone());
            shared.broken.store(true, Ordering::Release);
        }
        state.out = Vec::new();
        std::mem::take(&mut state.waiting)
    };
    for sink in waiting {
        sink(Err(err.clone()));
    }
    shared.stop_writer.notify_one();
    shared.stop_reader.notify_one();
}

async fn write_loop<W: AsyncWrite + Unpin>(shared: Arc<Shared>, mut writer: W) {
    let mut batch = Vec::new();
    // One registration for the task's life, not one per wait.
    let stop = shared.stop_writer.notified();
    tokio::pin!(stop);
    loop {
        {
            let mut state = shared.state.lock();
            if state.broken.is_some() {
                return;
            }
            std::mem::swap(&mut state.out, &mut batch);
        }
        if batch.is_empty() {
            shared.doorbell.arm();
            if !shared.state.lock().out.is_empty() {
                continue;
            }
            let rung = tokio::select! {
                rung = shared.doorbell.wait() => rung,
                () = &mut stop => return,
            };
            if let Err(err) = rung {
                fail(&shared, &Error::from(redis::RedisError::from(err)));
                return;
            }
            continue;
        }
        // A peer that stops reading must not keep this task (and the socket)
        // alive after the connection has been given up.
        let written = tokio::select! {
            written = writer.write_all(&batch) => written,
            () = &mut stop => return,
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

/// Fails the waiting requests if the reader task is dropped before it ends
/// by itself (the runtime shut down), so no caller waits forever.
struct FailOnDrop(Arc<Shared>);

impl Drop for FailOnDrop {
    fn drop(&mut self) {
        fail(
            &self.0,
            &Error::new(
                ErrorKind::Closed,
                "the connection was dropped with requests in flight (runtime shut down)",
            ),
        );
    }
}

async fn read_loop<R: AsyncRead + Unpin>(guard: FailOnDrop, reader: R) {
    let shared = Arc::clone(&guard.0);
    let mut frames = FramedRead::with_capacity(reader, ValueCodec::default(), 64 * 1024);
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
                fail(&shared, &Error::from(err));
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
        // Out-of-band messages (RESP3 pushes) answer no request.
        if matches!(value, Value::Push { .. }) {
            continue;
        }
        let sink = shared.state.lock().waiting.pop_front();
        let Some(sink) = sink else {
            fail(
                &shared,
                &Error::new(
                    ErrorKind::Protocol,
                    "the server sent a reply no request was waiting for",
                ),
            );
            return;
        };
        sink(into_outcome(value));
    }
}

/// A top-level error reply is the request's failure; nested ones stay values.
fn into_outcome(value: Value) -> Result<Value> {
    match value {
        Value::ServerError(err) => Err(Error::from(redis::RedisError::from(err))),
        value => Ok(value),
    }
}
