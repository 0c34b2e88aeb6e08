//! Publish/subscribe. A subscriber is a connection state with a push sink:
//! [`crate::Client::subscriber`] gives a [`Subscriber`], which owns a
//! connection of its own, the set of channels, patterns and shard channels
//! it is subscribed to, and an [`Inbox`] that its connection's reader fills
//! with every [`Event`] the server pushes. Nothing here pairs replies with
//! requests: (un)subscribe commands are written, and what the server says
//! about them (confirmations, messages, pongs, errors) arrives in the inbox
//! in the order the server sent it.
//!
//! - `message`: frames to events, RESP2 arrays and RESP3 pushes alike.
//! - `acks`: subscribe commands waiting for their confirmations.
//! - `inbox`: the bounded queue, its backlog policy and its wake-ups.
//! - `subscriptions`: what to restore, and the commands' bytes.
//! - `link`: the connection task: connect, write, read, reconnect, restore.
//!
//! ## A connection of its own, on RESP3 too
//!
//! With RESP3 the server could push a subscriber's messages on a connection
//! that also answers commands, and the shared connection does hand any push
//! it meets to the client's [`PushSink`] (see [`crate::Client::set_push_sink`]).
//! Subscribers still get their own connection, as in redis-py: a subscriber
//! is then its own unit of failure and recovery (a lost connection restores
//! exactly its subscriptions, and dropping a subscriber closes nothing the
//! client's requests use), its backlog can never sit in front of another
//! request's reply, and the two protocols behave the same.
//!
//! ## Reconnection
//!
//! When the connection is lost (the server restarted, the network dropped
//! it), the subscriber connects again at once and then with a backoff
//! doubling from 10 ms to 1 s, restores every subscription, and then queues
//! a [`MessageKind::Reconnected`] message. Messages published in between are
//! lost: the server keeps nothing for a subscriber it does not know.

mod acks;
mod inbox;
mod link;
mod message;
mod subscriptions;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Weak};
use std::time::Duration;

use redis::Value;
use tokio::runtime::Handle;

pub use acks::Ack;
pub use inbox::{Inbox, Waited, Waker, DEFAULT_MAX_BUFFERED};
pub(crate) use link::Connect;
use link::Link;
pub use message::{Event, Message, MessageKind, Payload};
pub use subscriptions::{check_subscribe, Kind};

use crate::error::Result;
use crate::events::Context;

/// Where a connection that also answers requests sends the RESP3 pushes it
/// receives (client-side caching's invalidations). Called on the reader's
/// thread, once per push, in the order they came.
pub type PushSink = Arc<dyn Fn(Value) + Send + Sync>;

/// A subscriber: its own connection to the server, the subscriptions it
/// restores after a reconnection, and the inbox its messages wait in.
/// Dropping it closes it.
pub struct Subscriber {
    link: Arc<Link>,
}

impl Subscriber {
    /// Starts a subscriber whose connections `connect` opens; it connects on
    /// its first command. At most `max_buffered` published messages wait in
    /// its inbox (see [`Inbox`] for what happens to more). A subscribe's
    /// confirmation is due within `ack_timeout` of its writing, if given.
    /// Its events (`crate::events`) carry `context`.
    pub(crate) fn start(
        connect: Connect,
        max_buffered: usize,
        ack_timeout: Option<Duration>,
        runtime: &Handle,
        context: Arc<Context>,
    ) -> Result<Self> {
        Ok(Self {
            link: Link::start(connect, max_buffered, ack_timeout, runtime, context)?,
        })
    }

    /// Subscribes to `names` (at least one); `ack` is told once the server
    /// confirmed them all, refused the command, or could not be reached
    /// (a failed subscribe holds nothing). The confirmations also arrive in
    /// the inbox; the subscriptions are restored after every reconnection.
    pub fn subscribe(&self, kind: Kind, names: &[Vec<u8>], ack: Ack) -> Result<()> {
        self.link.subscribe(kind, names, ack)
    }

    /// Unsubscribes from `names`, or from every name of the kind if empty.
    pub fn unsubscribe(&self, kind: Kind, names: &[Vec<u8>]) -> Result<()> {
        self.link.unsubscribe(kind, names)
    }

    /// Sends a `PING`; its pong arrives in the inbox.
    pub fn ping(&self, message: Option<&[u8]>) -> Result<()> {
        self.link.ping(message)
    }

    /// Sends `MONITOR` (see [`Link::monitor`]); its `OK` and the lines that
    /// follow arrive in the inbox as [`MessageKind::Monitor`] messages.
    pub fn monitor(&self) -> Result<()> {
        self.link.monitor()
    }

    /// Where the events wait.
    pub fn inbox(&self) -> &Arc<Inbox> {
        &self.link.inbox
    }

    /// Closes the connection; later commands fail, and waits on the inbox
    /// end once what is queued has been taken.
    pub fn close(&self) {
        self.link.close();
    }

    pub fn is_closed(&self) -> bool {
        self.link.is_closed()
    }

    /// A handle that can close the subscriber without keeping it alive.
    pub(crate) fn closer(&self) -> Closer {
        Closer(Arc::downgrade(&self.link))
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.link.close();
    }
}

/// Closes a subscriber if it still exists (a client closing its subscribers).
pub(crate) struct Closer(Weak<Link>);

impl Closer {
    pub(crate) fn close(&self) {
        if let Some(link) = self.0.upgrade() {
            link.close();
        }
    }

    /// The subscriber's server moved (a Sentinel failover): it reconnects
    /// and subscribes again. Returns whether the subscriber still exists.
    pub(crate) fn move_on(&self) -> bool {
        match self.0.upgrade() {
            Some(link) if !link.is_closed() => {
                link.move_on();
                true
            }
            _ => false,
        }
    }

    pub(crate) fn is_gone(&self) -> bool {
        self.0.upgrade().is_none_or(|link| link.is_closed())
    }
}
