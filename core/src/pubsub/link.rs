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

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::future::{BoxFuture, OptionFuture};
use futures::StreamExt;
use parking_lot::Mutex;
use tokio::io::AsyncWriteExt;
use tokio::runtime::Handle;
use tokio::sync::Notify;

use super::inbox::Inbox;
use super::message::{Event, Message, MessageKind, Payload};
use super::subscriptions::{Kind, Subscriptions};
use crate::command::Command;
use crate::connection::{Reader, Writer};
use crate::error::{Error, ErrorKind, Result};

/// Opens a connection whose handshake is done. The client's opens a socket
/// to its server; tests hand out in-memory streams.
pub(crate) type Connect =
    Arc<dyn Fn() -> BoxFuture<'static, Result<(Reader, Writer)>> + Send + Sync>;

/// The first pause after a failed attempt to reconnect; it doubles with every
/// failure up to [`MAX_RETRY`]. The first attempt after a loss is immediate.
const FIRST_RETRY: Duration = Duration::from_millis(10);
const MAX_RETRY: Duration = Duration::from_secs(1);
/// A written batch's buffer is kept for the next one unless it grew past this.
const KEEP_BUFFER: usize = 1 << 20;

pub(crate) struct Link {
    state: Mutex<State>,
    pub(crate) inbox: Arc<Inbox>,
    /// Rung when commands are queued.
    doorbell: Notify,
    stop: Notify,
}

struct State {
    subscriptions: Subscriptions,
    /// Commands not yet written, in call order.
    out: Vec<u8>,
    closed: bool,
}

impl Link {
    /// Starts the task on `runtime`; it connects once there is a command to send.
    pub(crate) fn start(
        connect: Connect,
        max_buffered: usize,
        runtime: &Handle,
    ) -> Result<Arc<Self>> {
        let link = Arc::new(Self {
            state: Mutex::new(State {
                subscriptions: Subscriptions::default(),
                out: Vec::new(),
                closed: false,
            }),
            inbox: Arc::new(Inbox::new(max_buffered)?),
            doorbell: Notify::new(),
            stop: Notify::new(),
        });
        // The guard is an argument, so it closes the inbox even if the task
        // is dropped before it first runs (the runtime shutting down).
        runtime.spawn(run(CloseOnExit(Arc::clone(&link)), connect));
        Ok(link)
    }

    pub(crate) fn subscribe(&self, kind: Kind, names: &[Vec<u8>]) -> Result<()> {
        self.queue(|subscriptions| subscriptions.subscribe(kind, names))
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

    /// Records a command (under the lock, so the subscriptions and the
    /// output agree on the order of calls) and wakes the task.
    fn queue(&self, build: impl FnOnce(&mut Subscriptions) -> Result<Command>) -> Result<()> {
        {
            let mut state = self.state.lock();
            if state.closed {
                return Err(Error::new(ErrorKind::Closed, "the subscriber is closed"));
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
        {
            let mut state = self.state.lock();
            state.closed = true;
            state.out = Vec::new();
        }
        self.stop.notify_one();
        self.inbox.close();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    fn has_output(&self) -> bool {
        !self.state.lock().out.is_empty()
    }

    /// Puts the commands that restore every subscription in front of what
    /// is queued; returns how many there are.
    fn prepare_restore(&self) -> usize {
        let mut state = self.state.lock();
        let mut restore = Vec::new();
        let count = state.subscriptions.restore_into(&mut restore);
        restore.extend_from_slice(&state.out);
        state.out = restore;
        count
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
    Closed,
}

async fn run(guard: CloseOnExit, connect: Connect) {
    let link = &guard.0;
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
    let mut reported = false;
    loop {
        if link.is_closed() {
            return;
        }
        let opened = tokio::select! {
            opened = connect() => opened,
            () = link.stop.notified() => return,
        };
        let (reader, writer) = match opened {
            Ok(halves) => halves,
            Err(err) => {
                // The first connection's failure is reported once (where
                // redis-py's subscribe() would raise it); the task keeps
                // trying. Later losses are silent until restored.
                if !connected_before && !std::mem::replace(&mut reported, true) {
                    link.inbox.push(Event::Error(err));
                }
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
            if count == 0 {
                link.inbox.push(reconnected(0));
            }
            count
        } else {
            0
        };
        connected_before = true;
        if let Ended::Closed = session(link, reader, writer, restoring).await {
            return;
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
    Stopped,
}

/// Runs one connection until it is lost or the subscriber is closed.
/// `restoring` replies answer the restoring commands and are counted off.
async fn session(link: &Link, mut reader: Reader, writer: Writer, mut restoring: usize) -> Ended {
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
        let step = tokio::select! {
            frame = reader.next() => Step::Frame(frame),
            Some(written) = OptionFuture::from(writing.as_mut()), if writing.is_some() => {
                Step::Written(written)
            }
            () = link.doorbell.notified(), if writing.is_none() => Step::Rung,
            () = link.stop.notified() => Step::Stopped,
        };
        match step {
            Step::Frame(Some(Ok(frame))) => {
                let Some(event) = Event::from_frame(frame) else {
                    continue;
                };
                if restoring > 0 && answers_restore(&event) {
                    restoring -= 1;
                    // A subscription the server refused to restore (its
                    // ACL changed) is the user's to know about.
                    if let Event::Error(_) = event {
                        link.inbox.push(event);
                    }
                    if restoring == 0 {
                        link.inbox.push(reconnected(restored));
                    }
                    continue;
                }
                link.inbox.push(event);
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
            Step::Stopped => return Ended::Closed,
        }
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
