//! A subscriber's push sink: the bounded queue its connection's reader
//! hands every event to, and the ways a consumer learns there is something
//! to take.
//!
//! ## The backlog policy
//!
//! The reader never waits for the consumer: it reads the socket as fast as
//! the server writes, so a subscriber that reads slowly holds up nothing
//! (not its client's other connections, not the server, whose output buffer
//! for it stays empty). What the consumer has not taken yet waits here, up
//! to `max_published` published messages (`message`, `pmessage`,
//! `smessage`). One more drops the oldest published message and counts it
//! in [`Inbox::dropped`]: the newest messages are the ones kept.
//! Confirmations, pongs, errors and the reconnection notice are never
//! dropped and do not count (there are only as many as the subscriber's own
//! commands and reconnections).
//!
//! ## Wake-ups
//!
//! The queue going from empty to non-empty (or being closed) is signalled
//! three ways, so each transport waits its own way with one wake-up per
//! batch: a condition variable for a blocked [`Inbox::wait`] (a sync caller,
//! GIL released), an eventfd an event loop watches ([`Inbox::fd`]), and a
//! callback a transport may install ([`Inbox::set_waker`]: the ffi
//! transport's, the uds listener's). The eventfd is cleared by whoever took
//! the queue down to empty, or by the loop's reader ([`Inbox::clear_signal`])
//! before it looks, so no push that lands later is missed.

use std::collections::VecDeque;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::message::Event;
use crate::error::{Error, ErrorKind, Result};
use crate::eventfd::EventFd;
use crate::events::{self, Context, Level, Topic};

/// What a transport runs when the inbox turns non-empty or is closed. It is
/// called on the thread that pushed (a runtime worker), never under a lock.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// How an [`Inbox::wait`] ended.
#[derive(Debug)]
pub enum Waited {
    Event(Event),
    TimedOut,
    Interrupted,
    Closed,
}

impl Waited {
    /// The event, if one was taken.
    pub fn event(self) -> Option<Event> {
        match self {
            Self::Event(event) => Some(event),
            _ => None,
        }
    }
}

/// The default bound on published messages waiting to be read.
pub const DEFAULT_MAX_BUFFERED: usize = 100_000;

pub struct Inbox {
    state: Mutex<State>,
    ready: Condvar,
    signal: EventFd,
    waker: Mutex<Option<Waker>>,
    max_published: usize,
    /// The subscriber's client, named in the report of dropped messages.
    context: Arc<Context>,
}

struct State {
    events: VecDeque<Event>,
    /// How many of `events` are published messages.
    published: usize,
    dropped: u64,
    /// Messages are being dropped: reported once when it starts, again
    /// only after the backlog has drained to half its bound.
    overflowing: bool,
    closed: bool,
    /// Set by [`Inbox::interrupt`], taken by the wait it ends (or the next
    /// one, so an interrupt just before a wait begins is not lost).
    interrupted: bool,
}

impl Inbox {
    pub(crate) fn new(max_published: usize) -> Result<Self> {
        if max_published == 0 {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "max_buffered_messages must be at least 1",
            ));
        }
        let signal = EventFd::new().map_err(|err| {
            Error::new(
                ErrorKind::Internal,
                format!("cannot make an eventfd: {err}"),
            )
        })?;
        Ok(Self {
            state: Mutex::new(State {
                events: VecDeque::new(),
                published: 0,
                dropped: 0,
                overflowing: false,
                closed: false,
                interrupted: false,
            }),
            ready: Condvar::new(),
            signal,
            waker: Mutex::new(None),
            max_published,
            context: Arc::default(),
        })
    }

    /// The inbox, reporting dropped messages with `context`.
    #[must_use]
    pub(crate) fn reporting(mut self, context: Arc<Context>) -> Self {
        self.context = context;
        self
    }

    /// Queues an event, dropping the oldest published message if the bound
    /// is reached (see the module's doc). Nothing is queued once closed.
    pub(crate) fn push(&self, event: Event) {
        let was_empty = {
            let mut state = self.state.lock();
            if state.closed {
                return;
            }
            if event.is_published() {
                if state.published >= self.max_published {
                    // The oldest published message is almost always at the
                    // front; confirmations between are rare and kept.
                    if let Some(at) = state.events.iter().position(Event::is_published) {
                        state.events.remove(at);
                        state.published -= 1;
                        state.dropped += 1;
                        if !state.overflowing {
                            state.overflowing = true;
                            self.report_overflow(state.dropped);
                        }
                    }
                }
                state.published += 1;
            }
            let was_empty = state.events.is_empty();
            state.events.push_back(event);
            if was_empty {
                self.signal.notify();
                self.ready.notify_all();
            }
            was_empty
        };
        if was_empty {
            self.wake();
        }
    }

    /// Ends an overflow once the backlog is down to half its bound, so a
    /// reader that keeps up only just is not reported on every message.
    fn drained(state: &mut State, max_published: usize) {
        if state.overflowing && state.published <= max_published / 2 {
            state.overflowing = false;
        }
    }

    /// Reports that messages started to be dropped (WARNING). Called with
    /// the inbox's lock held: the sink only queues.
    #[cold]
    fn report_overflow(&self, dropped: u64) {
        let max = self.max_published;
        events::emit(Topic::Pubsub, Level::Warning, || {
            events::Event::new(
                Topic::Pubsub,
                Level::Warning,
                "backlog_dropped",
                format!(
                    "a subscriber's backlog is full ({max} messages unread): dropping the \
                     oldest messages ({dropped} dropped so far)"
                ),
            )
            .with("max_buffered", max)
            .with("dropped", dropped)
            .within(&self.context)
        });
    }

    /// Takes the oldest event, if any, without waiting.
    pub fn pop(&self) -> Option<Event> {
        let mut state = self.state.lock();
        self.pop_locked(&mut state)
    }

    fn pop_locked(&self, state: &mut State) -> Option<Event> {
        let event = state.events.pop_front();
        if let Some(event) = &event {
            if event.is_published() {
                state.published -= 1;
            }
        }
        Self::drained(state, self.max_published);
        if state.events.is_empty() && !state.closed {
            // Under the lock, so a push that lands after this signals anew.
            self.signal.clear();
        }
        event
    }

    /// Takes up to `max` events, oldest first, without waiting.
    pub fn drain(&self, max: usize) -> Vec<Event> {
        let mut state = self.state.lock();
        let take = state.events.len().min(max);
        let taken: Vec<Event> = state.events.drain(..take).collect();
        state.published -= taken.iter().filter(|event| event.is_published()).count();
        Self::drained(&mut state, self.max_published);
        if state.events.is_empty() && !state.closed {
            self.signal.clear();
        }
        taken
    }

    /// Takes the oldest event, waiting up to `timeout` (`None`: until one
    /// comes) for one to arrive, or says why there is none: the time is up,
    /// the inbox is closed and empty, or [`Self::interrupt`] was called
    /// (meanwhile, or since the last wait). Blocks the calling thread: a
    /// binding releases the GIL around it.
    pub fn wait(&self, timeout: Option<Duration>) -> Waited {
        let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
        let mut state = self.state.lock();
        loop {
            if std::mem::take(&mut state.interrupted) {
                return Waited::Interrupted;
            }
            if let Some(event) = self.pop_locked(&mut state) {
                return Waited::Event(event);
            }
            if state.closed {
                return Waited::Closed;
            }
            // No deadline: no timeout, or one too large for the clock (as
            // good as for ever).
            match deadline {
                None => self.ready.wait(&mut state),
                Some(deadline) => {
                    if self.ready.wait_until(&mut state, deadline).timed_out() {
                        return self
                            .pop_locked(&mut state)
                            .map_or(Waited::TimedOut, Waited::Event);
                    }
                }
            }
        }
    }

    /// Makes a blocked [`Self::wait`] (or the next one) return `None` now: a
    /// worker thread being stopped. Rings the event loop and the waker too.
    pub fn interrupt(&self) {
        {
            let mut state = self.state.lock();
            state.interrupted = true;
            self.ready.notify_all();
            self.signal.notify();
        }
        self.wake();
    }

    /// Refuses later events and wakes every waiter; what is queued can still
    /// be taken.
    pub(crate) fn close(&self) {
        {
            let mut state = self.state.lock();
            if state.closed {
                return;
            }
            state.closed = true;
            self.ready.notify_all();
            self.signal.notify();
        }
        self.wake();
        // The waker may hold what holds this inbox (a Python callable).
        let waker = self.waker.lock().take();
        drop(waker);
    }

    pub fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    /// How many published messages were dropped because the backlog was full.
    pub fn dropped(&self) -> u64 {
        self.state.lock().dropped
    }

    /// How many events wait to be taken.
    pub fn len(&self) -> usize {
        self.state.lock().events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A descriptor that is readable while there may be events to take (or
    /// the inbox closed), for an event loop to watch.
    pub fn fd(&self) -> RawFd {
        self.signal.as_raw_fd()
    }

    /// Clears the descriptor's readiness. An event loop's reader calls it
    /// before taking events, so the loop does not call it again for events
    /// it is about to take, and a push that lands later signals anew.
    pub fn clear_signal(&self) {
        self.signal.clear();
    }

    /// Installs (or removes) the callback run when the inbox turns non-empty
    /// or is closed. Runs it at once if events are already waiting.
    pub fn set_waker(&self, waker: Option<Waker>) {
        if self.is_closed() {
            return;
        }
        let pending = waker.is_some() && !self.is_empty();
        let replaced = std::mem::replace(&mut *self.waker.lock(), waker);
        drop(replaced);
        if pending {
            self.wake();
        }
    }

    fn wake(&self) {
        let waker = self.waker.lock().clone();
        if let Some(waker) = waker {
            waker();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::pubsub::{Message, MessageKind, Payload};

    fn published(n: u8) -> Event {
        Event::Message(Message {
            node: None,
            kind: MessageKind::Message,
            pattern: None,
            channel: Some(b"ch".to_vec()),
            data: Payload::Bytes(vec![n]),
        })
    }

    fn confirmation() -> Event {
        Event::Message(Message {
            node: None,
            kind: MessageKind::Subscribe,
            pattern: None,
            channel: Some(b"ch".to_vec()),
            data: Payload::Count(1),
        })
    }

    fn data(event: Option<Event>) -> Vec<u8> {
        match event.and_then(|event| event.as_message().cloned()) {
            Some(Message {
                data: Payload::Bytes(data),
                ..
            }) => data,
            other => panic!("not a published message: {other:?}"),
        }
    }

    fn readable(fd: RawFd) -> bool {
        let mut pollfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, zero timeout.
        unsafe { libc::poll(&raw mut pollfd, 1, 0) == 1 }
    }

    #[test]
    fn a_full_backlog_drops_the_oldest_published_messages_only() {
        let inbox = Inbox::new(3).unwrap();
        inbox.push(confirmation());
        for n in 0..5 {
            inbox.push(published(n));
        }
        assert_eq!(inbox.dropped(), 2);
        assert_eq!(inbox.len(), 4);
        // The confirmation stays, in its place; the newest three messages are kept.
        assert!(matches!(
            inbox.pop().unwrap().as_message().unwrap().kind,
            MessageKind::Subscribe
        ));
        assert_eq!(data(inbox.pop()), vec![2]);
        assert_eq!(data(inbox.pop()), vec![3]);
        assert_eq!(data(inbox.pop()), vec![4]);
        assert!(inbox.pop().is_none());
    }

    #[test]
    fn the_eventfd_is_readable_exactly_while_events_wait() {
        let inbox = Inbox::new(10).unwrap();
        assert!(!readable(inbox.fd()));
        inbox.push(published(1));
        inbox.push(published(2));
        assert!(readable(inbox.fd()));
        inbox.pop();
        assert!(readable(inbox.fd()), "one is still waiting");
        inbox.pop();
        assert!(!readable(inbox.fd()));
        inbox.push(published(3));
        assert_eq!(inbox.drain(10).len(), 1);
        assert!(!readable(inbox.fd()));
        inbox.close();
        assert!(readable(inbox.fd()), "closing wakes the loop");
    }

    #[test]
    fn the_waker_runs_once_per_batch() {
        let inbox = Inbox::new(10).unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        inbox.set_waker(Some(Arc::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        })));
        inbox.push(published(1));
        inbox.push(published(2));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        inbox.drain(10);
        inbox.push(published(3));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_blocked_wait_returns_on_a_push_a_timeout_or_an_interrupt() {
        let inbox = Arc::new(Inbox::new(10).unwrap());
        let started = Instant::now();
        assert!(matches!(
            inbox.wait(Some(Duration::from_millis(50))),
            Waited::TimedOut
        ));
        assert!(started.elapsed() >= Duration::from_millis(50));

        let pusher = Arc::clone(&inbox);
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            pusher.push(published(7));
        });
        assert_eq!(data(inbox.wait(None).event()), vec![7]);
        thread.join().unwrap();

        let interrupter = Arc::clone(&inbox);
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            interrupter.interrupt();
        });
        assert!(matches!(inbox.wait(None), Waited::Interrupted));
        thread.join().unwrap();

        // An interrupt before the wait begins is not lost; closing ends
        // waits once the queue is empty.
        inbox.push(published(8));
        inbox.interrupt();
        assert!(matches!(inbox.wait(None), Waited::Interrupted));
        inbox.close();
        assert_eq!(data(inbox.wait(None).event()), vec![8]);
        assert!(matches!(inbox.wait(None), Waited::Closed));
    }
}
