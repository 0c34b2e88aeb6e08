//! A stream's subscribers, by the ids the wrapper chose.
//!
//! Each open subscriber has one task that answers the wrapper's fetches: it
//! waits for a `fetch_messages` frame, then for the subscriber's inbox to
//! hold something, and writes what it holds (up to [`MAX_BATCH`] events) as
//! one `PushBatch`. The wrapper asks again once it has taken the batch, so
//! an unread backlog stays in the core's inbox, under its bound and its
//! drop policy, never in the socket or the wrapper. The listener decides
//! nothing about pub/sub: it carries commands to the core's [`Subscriber`]
//! and its events back.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

use super::convert::{error_to_proto, malformed, value_to_proto};
use super::listener::Outgoing;
use super::proto::{self, response};
use super::pushes::{event_to_proto, SubscriberCall};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::pubsub::{Ack, Event, Inbox, Subscriber};

/// The most events one `PushBatch` carries.
const MAX_BATCH: usize = 4096;
/// The most subscribers one stream may hold open at once; each may hold a
/// server connection.
const MAX_SUBSCRIBERS: usize = 65_536;

/// An open subscriber and its fetch-answering task.
struct Open {
    /// Why opening it failed: the first fetch reports it, and a subscribe
    /// is answered with it.
    subscriber: std::result::Result<Subscriber, Error>,
    fetch: Arc<Notify>,
    task: JoinHandle<()>,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Default)]
pub(super) struct Subscribers {
    open: HashMap<u64, Open>,
}

impl Subscribers {
    pub(super) fn open(
        &mut self,
        client: &Client,
        id: u64,
        max_buffered: usize,
        tx: &mpsc::UnboundedSender<Outgoing>,
    ) -> Result<()> {
        if self.open.contains_key(&id) {
            return Err(malformed(&format!("subscriber id {id} is already open")));
        }
        if self.open.len() >= MAX_SUBSCRIBERS {
            return Err(malformed(&format!(
                "more than {MAX_SUBSCRIBERS} subscribers open on one stream"
            )));
        }
        let fetch = Arc::new(Notify::new());
        let (subscriber, task) = match client.subscriber(max_buffered) {
            Ok(subscriber) => {
                let ready = Arc::new(Notify::new());
                let ring = Arc::clone(&ready);
                subscriber
                    .inbox()
                    .set_waker(Some(Arc::new(move || ring.notify_one())));
                let inbox = Arc::clone(subscriber.inbox());
                let task = tokio::spawn(forward(id, inbox, Arc::clone(&fetch), ready, tx.clone()));
                (Ok(subscriber), task)
            }
            Err(err) => (
                Err(err.clone()),
                tokio::spawn(report(id, err, Arc::clone(&fetch), tx.clone())),
            ),
        };
        self.open.insert(
            id,
            Open {
                subscriber,
                fetch,
                task,
            },
        );
        Ok(())
    }

    /// Carries out a subscriber command. A subscribe (`request_id` set) is
    /// answered on `tx` once the server confirmed it, or at once if it
    /// cannot be sent.
    pub(super) fn command(
        &self,
        id: u64,
        request_id: u64,
        call: SubscriberCall,
        tx: &mpsc::UnboundedSender<Outgoing>,
    ) -> Result<()> {
        let open = self.get(id)?;
        let answered = call.is_answered();
        let reply = tx.clone();
        let ack: Ack = Box::new(move |outcome: Result<()>| {
            respond(&reply, request_id, outcome);
        });
        let applied = match &open.subscriber {
            Ok(subscriber) => call.apply(subscriber, ack),
            Err(err) => Err(err.clone()),
        };
        // What else fails (an unsubscribe on a closed subscriber) has nobody
        // to answer: the wrapper learns of a closed subscriber from its batches.
        if let (true, Err(err)) = (answered, applied) {
            respond(tx, request_id, Err(err));
        }
        Ok(())
    }

    pub(super) fn fetch(&self, id: u64) -> Result<()> {
        self.get(id)?.fetch.notify_one();
        Ok(())
    }

    pub(super) fn close(&mut self, id: u64) -> Result<()> {
        // Dropping it closes the subscriber and stops its task.
        self.open
            .remove(&id)
            .map(drop)
            .ok_or_else(|| unknown_subscriber(id))
    }

    fn get(&self, id: u64) -> Result<&Open> {
        self.open.get(&id).ok_or_else(|| unknown_subscriber(id))
    }
}

#[cold]
fn unknown_subscriber(id: u64) -> Error {
    malformed(&format!("subscriber id {id} is not open on this stream"))
}

/// Answers each fetch with what the inbox holds, once it holds something.
async fn forward(
    id: u64,
    inbox: Arc<Inbox>,
    fetch: Arc<Notify>,
    ready: Arc<Notify>,
    tx: mpsc::UnboundedSender<Outgoing>,
) {
    loop {
        fetch.notified().await;
        loop {
            // Read before draining: a close after this leaves its events for
            // the next batch, which then says closed.
            let closed = inbox.is_closed();
            let events = inbox.drain(MAX_BATCH);
            if !events.is_empty() || closed {
                let last = closed && inbox.is_empty();
                send(&tx, id, events, inbox.dropped(), last);
                if last {
                    return;
                }
                break;
            }
            ready.notified().await;
        }
    }
}

/// A subscriber that could not be opened: the first fetch says why.
async fn report(id: u64, err: Error, fetch: Arc<Notify>, tx: mpsc::UnboundedSender<Outgoing>) {
    fetch.notified().await;
    send(&tx, id, vec![Event::Error(err)], 0, true);
}

/// Answers a subscribe: `OK`, or the error it failed with.
fn respond(tx: &mpsc::UnboundedSender<Outgoing>, request_id: u64, outcome: Result<()>) {
    let result = match outcome {
        Ok(()) => response::Result::Value(value_to_proto(redis::Value::Okay)),
        Err(err) => response::Result::Error(error_to_proto(&err)),
    };
    // The writer is gone only when the stream is closing.
    let _ = tx.send(Outgoing::Frame(proto::Response {
        request_id,
        result: Some(result),
    }));
}

fn send(
    tx: &mpsc::UnboundedSender<Outgoing>,
    id: u64,
    events: Vec<Event>,
    dropped: u64,
    closed: bool,
) {
    let batch = proto::PushBatch {
        subscriber_id: id,
        events: events.into_iter().map(event_to_proto).collect(),
        dropped,
        closed,
    };
    // The writer is gone only when the stream is closing.
    let _ = tx.send(Outgoing::Frame(proto::Response {
        request_id: 0,
        result: Some(response::Result::Pushed(batch)),
    }));
}
