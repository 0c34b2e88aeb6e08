//! A subscriber's connection: one task that connects, writes the
//! subscriber's commands, reads everything the server sends into the inbox,
//! and, when the connection is lost, connects again (with a capped backoff)
//! and restores the subscriptions.
//!
//! The task reads while it writes (both are branches of one `select!`), so
//! a long write never stops the reading, and it reads whatever the inbox's
//! consumer does: nothing the consumer does can slow the socket down.
//!
//! ## Restoring
//!
//! A new connection after a lost one is first sent one subscribe command
//! per name the subscriber holds ([`Subscriptions::restore_into`]), then
//! whatever the user queued meanwhile. The server answers the restoring
//! commands first and each with exactly one confirmation (or one error), so
//! the task counts them off, keeps them out of the inbox (the user asked for
//! nothing), and then queues one [`MessageKind::Reconnected`] message: from
//! that message on, every subscription holds again. Messages published while
//! no connection was subscribed are lost; the server keeps none.
//!
//! ## Subscribes wait for their confirmation
//!
//! A subscribe command is answered to its caller (an [`Ack`]) once the
//! server confirmed each of its names: see [`super::acks`] for why, and for
//! what a failed one leaves behind (nothing). A failed connection fails
//! every subscribe in flight with its error; a confirmation overdue by the
//! client's `socket_timeout` fails its subscribe with a timeout and closes
//! the connection, which is then restored like a lost one. When the very
//! first connection fails, the subscriber goes back to how it was made:
//! nothing subscribed, nothing queued, no connection until the next command.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::{BoxFuture, OptionFuture};
use futures::StreamExt;
use parking_lot::Mutex;
use tokio::io::AsyncWriteExt;
use tokio::runtime::Handle;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::acks::{overdue, Ack, Acks, Waiting};
use super::inbox::Inbox;
use super::message::{Event, Message, MessageKind, Payload};
use super::subscriptions::{Kind, Subscriptions};
use crate::command::Command;
use crate::connection::{Reader, Writer};
use crate::error::{Error, ErrorKind, Result};
use crate::events::{self, Context, Level, Topic};

/// Opens a connection whose handshake is done. The client's opens a socket
/// to its server; tests hand out in-memory streams.
/// Its argument is the slot of the subscriber's shard channels (`None`
/// without any): a cluster's connector opens the connection on the node that
/// serves it (a subscriber's shard channels share one slot, see
/// `Subscriptions::shard_slot`).
pub(crate) type Connect =
    Arc<dyn Fn(Option<u16>) -> BoxFuture<'static, Result<(Reader, Writer)>> + Send + Sync>;

/// The first pause after a failed attempt to reconnect; it doubles with every
/// failure up to [`MAX_RETRY`]. The first attempt after a loss is immediate.
const FIRST_RETRY: Duration = Duration::from_millis(10);
const MAX_RETRY: Duration = Duration::from_secs(1);
/// How long a subscriber whose node left its shard channels' slot waits
/// before it reconnects.
const MOVED_PAUSE: Duration = Duration::from_millis(100);
/// A written batch's buffer is kept for the next one unless it grew past this.
const KEEP_BUFFER: usize = 1 << 20;

pub(crate) struct Link {
    state: Mutex<State>,
    pub(crate) inbox: Arc<Inbox>,
    /// Rung when commands are queued.
    doorbell: Notify,
    stop: Notify,
    /// How long a written subscribe may wait for its confirmation (the
    /// client's `socket_timeout`).
    ack_timeout: Option<Duration>,
    /// The client's context, for the events reported about this subscriber.
    context: Arc<Context>,
    /// `MONITOR` was sent: the reader takes status lines as monitor lines.
    /// Atomic so the reader does not take the lock once per frame.
    monitoring: AtomicBool,
    /// How many times the server moved under the subscriber (a Sentinel
    /// failover, [`Link::move_on`]); a session opened before the last move
    /// ends, and the subscriber reconnects to where the server is now.
    moves: AtomicU64,
    /// Rung on every move.
    moved: Notify,
}

struct State {
    subscriptions: Subscriptions,
    /// Commands not yet written, in call order.
    out: Vec<u8>,
    /// The subscribe commands waiting for their confirmations.
    acks: Acks,
    closed: bool,
}

impl Link {
    /// Starts the task on `runtime`; it connects once there is a command to send.
    pub(crate) fn start(
        connect: Connect,
        max_buffered: usize,
        ack_timeout: Option<Duration>,
        runtime: &Handle,
        context: Arc<Context>,
    ) -> Result<Arc<Self>> {
        let link = Arc::new(Self {
            state: Mutex::new(State {
                subscriptions: Subscriptions::default(),
                out: Vec::new(),
                acks: Acks::default(),
                closed: false,
            }),
            inbox: Arc::new(Inbox::new(max_buffered)?.reporting(Arc::clone(&context))),
            context,
            doorbell: Notify::new(),
            stop: Notify::new(),
            ack_timeout,
            monitoring: AtomicBool::new(false),
            moves: AtomicU64::new(0),
            moved: Notify::new(),
        });
        // The guard is an argument, so it closes the inbox even if the task
        // is dropped before it first runs (the runtime shutting down).
        runtime.spawn(run(CloseOnExit(Arc::clone(&link)), connect));
        Ok(link)
    }

    /// Queues a subscribe command; `ack` gets its outcome once the server
    /// confirmed every name (not called if this returns an error).
    pub(crate) fn subscribe(&self, kind: Kind, names: &[Vec<u8>], ack: Ack) -> Result<()> {
        {
            let mut state = self.state.lock();
            if state.closed {
                return Err(closed());
            }
            let (cmd, added) = state.subscriptions.subscribe(kind, names)?;
            let start = state.out.len();
            state.out.extend_from_slice(cmd.packed());
            let at = start..state.out.len();
            state.acks.push(Waiting::new(kind, names, added, at, ack));
        }
        self.doorbell.notify_one();
        Ok(())
    }

    pub(crate) fn unsubscribe(&self, kind: Kind, names: &[Vec<u8>]) -> Result<()> {
        self.queue(|subscriptions| subscriptions.unsubscribe(kind, names))
    }

    pub(crate) fn ping(&self, message: Option<&[u8]>) -> Result<()> {
        self.queue(|_| match message {
            Some(message) => Command::from_args([&b"PING"[..], message]),
            None => Command::from_args([b"PING"]),
        })
    }

    /// Sends `MONITOR`: from its `OK` on, the connection receives a line
    /// per command the server runs. It is not restored after a lost
    /// connection (the `reconnected` notice then counts no subscription);
    /// the wrapper ends the monitor there, as redis-py's raises.
    pub(crate) fn monitor(&self) -> Result<()> {
        self.monitoring.store(true, Ordering::Release);
        self.queue(|_| Command::from_args([b"MONITOR"]))
    }

    /// Records a command (under the lock, so the subscriptions and the
    /// output agree on the order of calls) and wakes the task.
    fn queue(&self, build: impl FnOnce(&mut Subscriptions) -> Result<Command>) -> Result<()> {
        {
            let mut state = self.state.lock();
            if state.closed {
                return Err(closed());
            }
            let cmd = build(&mut state.subscriptions)?;
            state.out.extend_from_slice(cmd.packed());
        }
        self.doorbell.notify_one();
        Ok(())
    }

    /// Stops the task (which closes the connection) and the inbox. Events
    /// already queued can still be taken.
    pub(crate) fn close(&self) {
        let acks = {
            let mut state = self.state.lock();
            state.closed = true;
            state.out = Vec::new();
            std::mem::take(&mut state.acks)
        };
        // Dropped outside the lock: each fails its caller (a closed subscriber).
        drop(acks);
        self.stop.notify_one();
        self.inbox.close();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    /// The server moved (the sentinels failed the service over): the
    /// connection open now (or being opened) is given up, and the
    /// subscriptions restored on a new one, as after a lost connection.
    pub(crate) fn move_on(&self) {
        self.moves.fetch_add(1, Ordering::AcqRel);
        // A stored permit when no session waits: the next one checks the
        // count and ends only if it was opened before this move.
        self.moved.notify_one();
    }

    fn has_output(&self) -> bool {
        !self.state.lock().out.is_empty()
    }

    /// What a frame from the server means: a monitor line once `MONITOR`
    /// was sent, a pub/sub message otherwise.
    fn decode(&self, frame: redis::Value) -> Option<Event> {
        if self.monitoring.load(Ordering::Acquire) {
            Event::from_monitor_frame(frame)
        } else {
            Event::from_frame(frame)
        }
    }

    /// Reports an event about the subscriber's connection (`crate::events`).
    fn report(&self, level: Level, name: &'static str, message: impl FnOnce() -> String) {
        events::emit(Topic::Pubsub, level, || {
            events::Event::new(Topic::Pubsub, level, name, message()).within(&self.context)
        });
    }

    /// The slot a new connection must be served by (see [`Connect`]).
    fn shard_slot(&self) -> Option<u16> {
        self.state.lock().subscriptions.shard_slot()
    }

    /// Whether the server dropped a shard channel the subscriber still wants:
    /// a cluster node sends `sunsubscribe` unasked when the channel's slot
    /// leaves it (resharded away, or the node became a replica in a
    /// failover). The subscriber then reconnects to the slot's new node.
    fn lost_shard(&self, message: &Message) -> bool {
        message.kind == MessageKind::SUnsubscribe
            && message
                .channel
                .as_ref()
                .is_some_and(|name| self.state.lock().subscriptions.contains(Kind::Shard, name))
    }

    /// Puts the commands that restore every subscription in front of what
    /// is queued; returns how many there are.
    fn prepare_restore(&self) -> usize {
        let mut state = self.state.lock();
        let mut restore = Vec::new();
        let count = state.subscriptions.restore_into(&mut restore);
        state.acks.shifted(restore.len());
        restore.extend_from_slice(&state.out);
        state.out = restore;
        count
    }

    /// A confirmation arrived: completes the subscribe it was the last one for.
    fn confirm(&self, message: &Message) {
        let done = self.state.lock().acks.confirmed(message);
        if let Some(waiting) = done {
            waiting.finish(Ok(()));
        }
    }

    /// An error reply arrived: fails the subscribe the server refused.
    /// Returns the error back if no written subscribe waits (it is then the
    /// inbox's).
    fn refuse(&self, err: Error) -> Option<Error> {
        let refused = {
            let mut state = self.state.lock();
            let State {
                acks,
                subscriptions,
                ..
            } = &mut *state;
            acks.refused(subscriptions)
        };
        match refused {
            Some(waiting) => {
                waiting.finish(Err(err));
                None
            }
            None => Some(err),
        }
    }

    /// A connection attempt failed with `err`: every subscribe in flight
    /// fails with it. Before any connection was made, the subscriber also
    /// forgets everything queued (the caller goes back to waiting for a
    /// command); whether any subscribe was told is returned.
    fn connect_failed(&self, err: &Error, first: bool) -> bool {
        let failed = {
            let mut state = self.state.lock();
            let State {
                acks,
                subscriptions,
                out,
                ..
            } = &mut *state;
            let failed = acks.fail_all(subscriptions, out);
            if first {
                out.clear();
                *subscriptions = Subscriptions::default();
            }
            failed
        };
        let told = !failed.is_empty();
        for waiting in failed {
            waiting.finish(Err(err.clone()));
        }
        told
    }

    /// Fails the subscribes whose confirmation is overdue; returns whether
    /// there were any (their connection must then be closed).
    fn expire(&self) -> bool {
        let expired = {
            let mut state = self.state.lock();
            let State {
                acks,
                subscriptions,
                ..
            } = &mut *state;
            acks.expired(subscriptions, Instant::now())
        };
        let any = !expired.is_empty();
        for waiting in expired {
            waiting.finish(Err(overdue()));
        }
        any
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.state.lock().acks.next_deadline()
    }
}

#[cold]
fn closed() -> Error {
    Error::new(ErrorKind::Closed, "the subscriber is closed")
}

/// Sleeps until `deadline`, or for ever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Closes the link when its task ends, however it ends, so nobody waits on
/// an inbox that will never be filled.
struct CloseOnExit(Arc<Link>);

impl Drop for CloseOnExit {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Why a connection's session ended.
enum Ended {
    Lost,
    /// The server moved ([`Link::move_on`]).
    Moved,
    Closed,
}

async fn run(guard: CloseOnExit, connect: Connect) {
    let link = &guard.0;
    'idle: loop {
        // A subscriber that is never used opens no connection.
        while !link.has_output() {
            if link.is_closed() {
                return;
            }
            tokio::select! {
                () = link.doorbell.notified() => {}
                () = link.stop.notified() => return,
            }
        }
        let mut backoff = Backoff::new();
        let mut connected_before = false;
        loop {
            if link.is_closed() {
                return;
            }
            // Taken before connecting: a move announced while the
            // connection is being opened (perhaps to the old server) ends it.
            let moves = link.moves.load(Ordering::Acquire);
            let Some(opened) = open(link, &connect).await else {
                return;
            };
            let (reader, writer) = match opened {
                Ok(halves) => halves,
                Err(err) => {
                    let told = link.connect_failed(&err, !connected_before);
                    if !connected_before {
                        // Where redis-py's subscribe() would raise it: the
                        // subscribes waiting get it; with none (a lone
                        // PING), get_message raises it.
                        if !told {
                            link.inbox.push(Event::Error(err));
                        }
                        continue 'idle;
                    }
                    // Later losses are silent until restored (but logged).
                    link.report(Level::Warning, "subscriber_connect_failed", || {
                        format!("a subscriber's reconnection attempt failed: {err}")
                    });
                    let pause = backoff.next();
                    tokio::select! {
                        () = tokio::time::sleep(pause) => continue,
                        () = link.stop.notified() => return,
                    }
                }
            };
            backoff = Backoff::new();
            let restoring = if connected_before {
                let count = link.prepare_restore();
                link.report(Level::Info, "resubscribed", || {
                    format!("a subscriber reconnected; restoring {count} subscriptions")
                });
                if count == 0 {
                    link.inbox.push(reconnected(0));
                }
                count
            } else {
                0
            };
            connected_before = true;
            match session(link, reader, writer, restoring, moves).await {
                Ended::Closed => return,
                Ended::Moved => link.report(Level::Info, "subscriber_moved", || {
                    "the sentinels moved a subscriber's server; reconnecting".to_owned()
                }),
                Ended::Lost => link.report(Level::Warning, "subscriber_lost", || {
                    "a subscriber lost its connection; reconnecting".to_owned()
                }),
            }
        }
    }
}

/// Opens a connection, failing the subscribes that become overdue
/// meanwhile; `None` when the subscriber is closed.
async fn open(link: &Link, connect: &Connect) -> Option<Result<(Reader, Writer)>> {
    let connecting = connect(link.shard_slot());
    tokio::pin!(connecting);
    loop {
        let deadline = link.next_deadline();
        tokio::select! {
            opened = &mut connecting => return Some(opened),
            () = link.stop.notified() => return None,
            () = sleep_until(deadline) => {
                link.expire();
            }
        }
    }
}

/// A write in progress: it owns the writer and the batch, and gives both back.
type Writing = Pin<Box<dyn Future<Output = io::Result<(Writer, Vec<u8>)>> + Send>>;

/// One turn of a session's loop.
enum Step {
    Frame(Option<crate::error::Result<redis::Value>>),
    Written(io::Result<(Writer, Vec<u8>)>),
    Rung,
    Overdue,
    Moved,
    Stopped,
}

/// Runs one connection until it is lost, the server moves past `moves`
/// ([`Link::move_on`]) or the subscriber is closed. `restoring` replies
/// answer the restoring commands and are counted off.
async fn session(
    link: &Link,
    mut reader: Reader,
    writer: Writer,
    mut restoring: usize,
    moves: u64,
) -> Ended {
    let restored = restoring;
    let mut writer = Some(writer);
    let mut writing: Option<Writing> = None;
    let mut spare = Vec::new();
    loop {
        if writing.is_none() {
            let mut batch = std::mem::take(&mut spare);
            {
                let mut state = link.state.lock();
                if state.closed {
                    return Ended::Closed;
                }
                std::mem::swap(&mut state.out, &mut batch);
                if !batch.is_empty() {
                    state.acks.written(link.ack_timeout);
                }
            }
            if batch.is_empty() {
                spare = batch;
            } else {
                // The writer is back whenever no write is in progress; if it
                // were not, the connection could not be trusted with more.
                let Some(mut out) = writer.take() else {
                    return Ended::Lost;
                };
                writing = Some(Box::pin(async move {
                    out.write_all(&batch).await?;
                    out.flush().await?;
                    Ok((out, batch))
                }));
            }
        }
        let deadline = link.next_deadline();
        let step = tokio::select! {
            frame = reader.next() => Step::Frame(frame),
            Some(written) = OptionFuture::from(writing.as_mut()), if writing.is_some() => {
                Step::Written(written)
            }
            () = link.doorbell.notified(), if writing.is_none() => Step::Rung,
            () = sleep_until(deadline) => Step::Overdue,
            () = link.moved.notified() => Step::Moved,
            () = link.stop.notified() => Step::Stopped,
        };
        match step {
            Step::Frame(Some(Ok(frame))) => {
                let Some(event) = link.decode(frame) else {
                    continue;
                };
                if left_the_slot(link, &event) {
                    // Reconnect (reading the slot map again) after a pause
                    // that keeps this from spinning while the cluster settles.
                    tokio::time::sleep(MOVED_PAUSE).await;
                    return Ended::Lost;
                }
                if restoring > 0 && answers_restore(&event) {
                    restoring -= 1;
                    match event {
                        // A subscription the server refused to restore (its
                        // ACL changed) is the user's to know about.
                        Event::Error(_) => link.inbox.push(event),
                        // It answers a subscribe whose own command was lost
                        // with the last connection, too.
                        Event::Message(message) => link.confirm(&message),
                    }
                    if restoring == 0 {
                        link.inbox.push(reconnected(restored));
                    }
                    continue;
                }
                let event = match event {
                    // The subscribe that waits for it raises it instead.
                    Event::Error(err) => match link.refuse(err) {
                        Some(err) => Event::Error(err),
                        None => continue,
                    },
                    event @ Event::Message(_) => event,
                };
                // Queued before its subscribe returns, so a get_message
                // right after that finds it.
                let confirmation = event
                    .as_message()
                    .filter(|message| message.kind.is_subscribe_confirmation())
                    .cloned();
                link.inbox.push(event);
                if let Some(message) = confirmation {
                    link.confirm(&message);
                }
            }
            Step::Frame(_) | Step::Written(Err(_)) => return Ended::Lost,
            Step::Written(Ok((out, mut batch))) => {
                writer = Some(out);
                writing = None;
                batch.clear();
                if batch.capacity() <= KEEP_BUFFER {
                    spare = batch;
                }
            }
            Step::Rung => {}
            // A permit stored by a move before this connection was opened
            // is spent here, once.
            Step::Moved if link.moves.load(Ordering::Acquire) == moves => {}
            Step::Moved => return Ended::Moved,
            Step::Overdue => {
                if link.expire() {
                    return Ended::Lost;
                }
            }
            Step::Stopped => return Ended::Closed,
        }
    }
}

/// Whether `event` says the node no longer serves the subscriber's shard
/// channels: `MOVED` (a map read mid-failover sent it to the wrong node), or
/// a `sunsubscribe` it did not ask for (see [`Link::lost_shard`]).
fn left_the_slot(link: &Link, event: &Event) -> bool {
    match event {
        Event::Error(err) => err.code() == Some("MOVED"),
        Event::Message(message) => link.lost_shard(message),
    }
}

/// Whether `event` is what a restoring subscribe command is answered with.
fn answers_restore(event: &Event) -> bool {
    match event {
        Event::Message(message) => message.kind.is_subscribe_confirmation(),
        Event::Error(err) => err.kind() == ErrorKind::Response,
    }
}

fn reconnected(restored: usize) -> Event {
    Event::Message(Message {
        kind: MessageKind::Reconnected,
        pattern: None,
        channel: None,
        data: Payload::Count(i64::try_from(restored).unwrap_or(i64::MAX)),
    })
}

/// Pauses between failed attempts to connect: doubling from
/// [`FIRST_RETRY`] up to [`MAX_RETRY`], each between half and all of its
/// step, so subscribers that lost the same server do not all come back at
/// the same instant.
struct Backoff {
    step: Duration,
}

impl Backoff {
    fn new() -> Self {
        Self { step: FIRST_RETRY }
    }

    fn next(&mut self) -> Duration {
        let step = self.step;
        self.step = (step * 2).min(MAX_RETRY);
        step / 2 + step.mul_f64(jitter() / 2.0)
    }
}

/// A number in [0, 1), different on every call.
fn jitter() -> f64 {
    use std::hash::BuildHasher;
    let bits = std::collections::hash_map::RandomState::new().hash_one(std::time::Instant::now());
    // The top 53 bits fill a double's mantissa exactly.
    #[allow(clippy::cast_precision_loss)]
    let fraction = (bits >> 11) as f64 / (1u64 << 53) as f64;
    fraction
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_its_cap_with_jitter() {
        let mut backoff = Backoff::new();
        let pauses: Vec<Duration> = (0..12).map(|_| backoff.next()).collect();
        assert!(pauses[0] >= FIRST_RETRY / 2 && pauses[0] <= FIRST_RETRY);
        assert!(pauses[3] >= FIRST_RETRY * 4 && pauses[3] <= FIRST_RETRY * 8);
        for pause in &pauses[8..] {
            assert!(*pause >= MAX_RETRY / 2 && *pause <= MAX_RETRY, "{pause:?}");
        }
    }
}
