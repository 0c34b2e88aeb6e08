//! The managed transport's submission side: one dispatcher task per client.
//!
//! Spawning a Tokio task per request from the Python thread costs a trip
//! through the runtime's global queue and, whenever a worker sleeps, a futex
//! wake-up paid on the Python thread, once per command. Instead the Python
//! thread appends to this queue and wakes the dispatcher only when the queue
//! was empty; the dispatcher takes the whole batch and drives every request
//! of the client inside one task (a `FuturesUnordered`), so a busy client
//! costs the Python thread a mutex push per command and nothing else.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use futures::stream::{FuturesUnordered, StreamExt};
use parking_lot::Mutex;
use redis::{Cmd, Value};
use tokio::runtime::Handle;
use tokio::sync::Notify;

use crate::client::Client;
use crate::error::{Error, Result};

/// Receives the outcome of one request (the binding resolves a future with it).
pub trait Responder: Send + 'static {
    fn respond(self, outcome: Result<Value>);
}

struct Shared<R> {
    pending: Mutex<Vec<(Cmd, R)>>,
    wake: Arc<Notify>,
    closed: AtomicBool,
    /// Requests queued or in flight: zero means the client is idle.
    outstanding: AtomicUsize,
}

/// What a caller of [`Dispatcher::enqueue`] owes the dispatcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WakeNeed {
    /// A wake-up is already owed by whoever queued before.
    None,
    /// The client was idle: wake now, latency is what matters.
    Now,
    /// Others are in flight: wake once this batch is complete (an event loop
    /// defers it to the end of the iteration, when every ready task has queued).
    Soon,
}

/// Wakes a dispatcher; cheap to clone and hold apart from the dispatcher.
#[derive(Clone)]
pub struct Waker(Arc<Notify>);

impl Waker {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// Feeds a client's requests to its dispatcher task.
pub struct Dispatcher<R: Responder> {
    shared: Arc<Shared<R>>,
}

impl<R: Responder> Dispatcher<R> {
    /// Starts the dispatcher task of `client` on the runtime.
    pub fn start(client: Arc<Client>, runtime: &Handle) -> Self {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Vec::new()),
            wake: Arc::new(Notify::new()),
            closed: AtomicBool::new(false),
            outstanding: AtomicUsize::new(0),
        });
        runtime.spawn(run(client, Arc::clone(&shared)));
        Self { shared }
    }

    /// Queues a request and wakes the dispatcher. Never blocks; the outcome
    /// goes to `responder`.
    pub fn submit(&self, cmd: Cmd, responder: R) {
        if self.enqueue(cmd, responder) != WakeNeed::None {
            self.shared.wake.notify_one();
        }
    }

    /// Queues a request without waking the dispatcher, and says whether and
    /// when the caller must call [`Waker::wake`].
    pub fn enqueue(&self, cmd: Cmd, responder: R) -> WakeNeed {
        if self.shared.closed.load(Ordering::Acquire) {
            responder.respond(Err(Error::closed()));
            return WakeNeed::None;
        }
        let was_idle = self.shared.outstanding.fetch_add(1, Ordering::AcqRel) == 0;
        let mut pending = self.shared.pending.lock();
        let was_empty = pending.is_empty();
        pending.push((cmd, responder));
        drop(pending);
        match (was_empty, was_idle) {
            (false, _) => WakeNeed::None,
            (true, true) => WakeNeed::Now,
            (true, false) => WakeNeed::Soon,
        }
    }

    pub fn waker(&self) -> Waker {
        Waker(Arc::clone(&self.shared.wake))
    }

    /// Stops the dispatcher once the requests it holds have completed;
    /// requests submitted later fail with a closed error.
    pub fn close(&self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.wake.notify_one();
    }
}

impl<R: Responder> Drop for Dispatcher<R> {
    fn drop(&mut self) {
        self.close();
    }
}

type InFlight = Pin<Box<dyn Future<Output = ()> + Send>>;

async fn run<R: Responder>(client: Arc<Client>, shared: Arc<Shared<R>>) {
    let mut in_flight: FuturesUnordered<InFlight> = FuturesUnordered::new();
    let mut batch = Vec::new();
    loop {
        std::mem::swap(&mut *shared.pending.lock(), &mut batch);
        for (cmd, responder) in batch.drain(..) {
            let client = Arc::clone(&client);
            let shared = Arc::clone(&shared);
            in_flight.push(Box::pin(async move {
                let outcome = client.execute(&cmd).await;
                responder.respond(outcome);
                shared.outstanding.fetch_sub(1, Ordering::AcqRel);
            }));
        }
        if shared.closed.load(Ordering::Acquire) {
            // Finish what was accepted, then refuse whatever raced the close.
            while in_flight.next().await.is_some() {}
            for (_, responder) in shared.pending.lock().drain(..) {
                responder.respond(Err(Error::closed()));
            }
            return;
        }
        tokio::select! {
            biased;
            // Completions first: they free the caller sooner than new work does.
            Some(()) = in_flight.next(), if !in_flight.is_empty() => {}
            () = shared.wake.notified() => {}
        }
    }
}
