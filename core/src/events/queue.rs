//! The sink that hands events to a slow consumer (Python's `logging`, which
//! needs the GIL) without ever making the thread that has the event wait
//! for it: events go into a bounded queue, and a dedicated thread takes
//! them out in batches and calls the [`Handler`] once per batch.
//!
//! - Bounded: with [`CAPACITY`] events waiting, more are counted and
//!   dropped; the count goes to the handler with the next batch, so the
//!   loss is itself reported.
//! - Fork: a forked child inherits the queue's memory but not its thread,
//!   and perhaps a lock some parent thread held. So the queue lives in a
//!   heap record owned by one process id; the first event in a child leaves
//!   the parent's record behind (leaked: it may be locked, and the parent's
//!   events are not the child's to report) and starts a record and a thread
//!   of its own. No `pthread_atfork` hook is needed.
//! - The thread is started on the first event, so a process that never
//!   enables logging never has it.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};

use super::Event;

/// Called on the queue's thread with a batch of events, oldest first, and
/// how many were dropped since the last batch (the queue was full).
pub type Handler = Box<dyn Fn(Vec<Event>, u64) + Send + Sync>;

/// At most this many events wait; more are dropped (and counted). Events
/// are per connection, not per request: only a storm (hundreds of clients
/// reconnecting while the consumer is stuck) fills it.
pub const CAPACITY: usize = 4096;

/// The thread's name, so it is easy to spot in `top -H`.
pub const THREAD_NAME: &str = "babushka-events";

static HANDLER: OnceLock<Handler> = OnceLock::new();
/// The current process's record (see the module doc); null before the
/// first event.
static CURRENT: AtomicPtr<Record> = AtomicPtr::new(ptr::null_mut());
/// Set by [`stop`]: events are discarded from then on.
static STOPPED: AtomicBool = AtomicBool::new(false);

struct Record {
    pid: u32,
    state: Mutex<State>,
    ready: Condvar,
}

#[derive(Default)]
struct State {
    events: VecDeque<Event>,
    dropped: u64,
    /// The thread runs (started on the first event).
    draining: bool,
}

impl State {
    /// Queues `event`, or counts it as dropped when the queue is full.
    fn add(&mut self, event: Event) {
        if self.events.len() < CAPACITY {
            self.events.push_back(event);
        } else {
            self.dropped += 1;
        }
    }
}

/// Makes the queue the core's event sink, delivering to `handler`; the
/// first call wins.
pub fn start(handler: Handler) {
    if HANDLER.set(handler).is_ok() {
        super::set_sink(Box::new(push));
    }
}

/// Discards every event from now on (at interpreter exit, before the
/// consumer goes away); events already queued are dropped unreported.
pub fn stop() {
    STOPPED.store(true, Ordering::Release);
    if let Some(record) = current_if_any() {
        lock(record).events.clear();
        record.ready.notify_all();
    }
}

/// The sink: queues `event` (or counts it as dropped) and wakes the thread.
fn push(event: Event) {
    if STOPPED.load(Ordering::Acquire) {
        return;
    }
    let record = current();
    let mut state = lock(record);
    state.add(event);
    if !state.draining {
        let spawned = std::thread::Builder::new()
            .name(THREAD_NAME.to_owned())
            .spawn(move || drain(record));
        // Without a thread (out of resources) the events wait for the next
        // attempt, at the next event.
        state.draining = spawned.is_ok();
    }
    drop(state);
    record.ready.notify_all();
}

/// The thread: hands each batch to the handler, outside the lock.
fn drain(record: &'static Record) {
    let Some(handler) = HANDLER.get() else {
        return;
    };
    loop {
        let (batch, dropped) = {
            let mut state = lock(record);
            while state.events.is_empty() && state.dropped == 0 {
                if STOPPED.load(Ordering::Acquire) {
                    state.draining = false;
                    return;
                }
                state = record
                    .ready
                    .wait(state)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            (
                Vec::from(std::mem::take(&mut state.events)),
                std::mem::take(&mut state.dropped),
            )
        };
        if STOPPED.load(Ordering::Acquire) {
            continue;
        }
        // A handler that panics loses its batch, not the thread.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| handler(batch, dropped)));
    }
}

fn lock(record: &Record) -> MutexGuard<'_, State> {
    // Nothing panics under this lock; if something did, the queue is whole.
    record
        .state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn current_if_any() -> Option<&'static Record> {
    // SAFETY: `CURRENT` holds null or a leaked, never freed `Record`.
    let record = unsafe { CURRENT.load(Ordering::Acquire).as_ref() }?;
    (record.pid == std::process::id()).then_some(record)
}

/// This process's record, made on its first event (and in a forked child,
/// on the child's first).
fn current() -> &'static Record {
    loop {
        let seen = CURRENT.load(Ordering::Acquire);
        // SAFETY: as in `current_if_any`.
        if let Some(record) = unsafe { seen.as_ref() } {
            if record.pid == std::process::id() {
                return record;
            }
        }
        let fresh = Box::into_raw(Box::new(Record {
            pid: std::process::id(),
            state: Mutex::new(State::default()),
            ready: Condvar::new(),
        }));
        match CURRENT.compare_exchange(seen, fresh, Ordering::AcqRel, Ordering::Acquire) {
            // The parent's record (if any) is leaked: see the module doc.
            // SAFETY: just installed, and never freed.
            Ok(_) => return unsafe { &*fresh },
            Err(_) => {
                // Another thread installed one first: use that.
                // SAFETY: `fresh` was never shared.
                drop(unsafe { Box::from_raw(fresh) });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Level, Topic};

    fn event(n: usize) -> Event {
        Event::new(Topic::Uds, Level::Info, "test", n.to_string())
    }

    #[test]
    fn a_full_queue_counts_what_it_drops_and_keeps_the_oldest() {
        let mut state = State::default();
        for n in 0..CAPACITY + 5 {
            state.add(event(n));
        }
        assert_eq!(state.events.len(), CAPACITY);
        assert_eq!(state.dropped, 5);
        assert_eq!(state.events.front().map(|e| e.message.as_str()), Some("0"));
    }

    #[test]
    fn a_record_of_another_process_is_replaced() {
        let parent: &'static Record = Box::leak(Box::new(Record {
            pid: std::process::id().wrapping_add(1),
            state: Mutex::new(State::default()),
            ready: Condvar::new(),
        }));
        lock(parent).events.push_back(event(1));
        let installed = CURRENT.compare_exchange(
            ptr::null_mut(),
            ptr::from_ref(parent).cast_mut(),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        if installed.is_err() {
            return; // another test made the record first; nothing to check
        }
        assert!(current_if_any().is_none(), "a parent's record is not ours");
        let ours = current();
        assert_eq!(ours.pid, std::process::id());
        assert!(
            lock(ours).events.is_empty(),
            "the parent's events stay behind"
        );
    }
}
