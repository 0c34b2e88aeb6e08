//! Subscribe commands waiting for the server's word on them.
//!
//! A subscribe returns to its caller only once the server has confirmed
//! every name it sent (or refused the command, or the connection failed).
//! redis-py's `subscribe()` returns once the command is written; waiting for
//! the confirmation is stronger, and it is what programs rely on: once
//! `subscribe()` has returned, a `PUBLISH` sent afterwards on another
//! connection cannot reach the server before the subscription does. A write
//! alone would not promise that here, since the subscriber's connection is
//! written by its own task, and possibly not even open yet.
//!
//! The confirmations themselves still go to the inbox, as messages, for
//! `get_message`/`listen` to return as redis-py does.
//!
//! A subscribe that fails leaves nothing behind: the names it added are
//! taken out of the subscriptions (so no reconnection restores them), and
//! its bytes out of the output if they were not written yet. That is only
//! sound when the server cannot hold them either: the command was refused,
//! or its connection is gone (a failed connection, or one closed because an
//! answer was overdue, as the shared connection does with a late reply).

use std::collections::VecDeque;
use std::ops::Range;

use tokio::time::{Duration, Instant};

use super::message::{Message, MessageKind};
use super::subscriptions::{Kind, Subscriptions};
use crate::error::{Error, ErrorKind, Result};

/// Called once with a subscribe's outcome, on whichever thread has it.
/// Never called with a lock of the subscriber held.
pub type Ack = Box<dyn FnOnce(Result<()>) + Send>;

/// One subscribe command in flight.
pub(super) struct Waiting {
    kind: Kind,
    /// The names whose confirmation has not come yet, one per name sent
    /// (the server confirms a name given twice twice).
    awaiting: Vec<Vec<u8>>,
    /// The names this command added to the subscriptions.
    added: Vec<Vec<u8>>,
    /// Where its bytes are in the output, until they are taken to be written.
    unwritten: Option<Range<usize>>,
    /// When its answer is overdue (set once it is written, if the client
    /// has a `socket_timeout`).
    deadline: Option<Instant>,
    /// Sent by the subscriber itself (a shard channel subscribed again on
    /// the node its slot moved to): its confirmations are not the user's.
    quiet: bool,
    ack: Option<Ack>,
}

impl Waiting {
    pub(super) fn new(
        kind: Kind,
        names: &[Vec<u8>],
        added: Vec<Vec<u8>>,
        at: Range<usize>,
        ack: Ack,
    ) -> Self {
        Self {
            kind,
            awaiting: names.to_vec(),
            added,
            unwritten: Some(at),
            deadline: None,
            quiet: false,
            ack: Some(ack),
        }
    }

    /// A subscribe the subscriber sends of its own accord (see `quiet`);
    /// it adds nothing, so a failed one takes nothing back: the names stay
    /// to be restored by the next connection.
    pub(super) fn quiet(kind: Kind, names: &[Vec<u8>], at: Range<usize>, ack: Ack) -> Self {
        let mut waiting = Self::new(kind, names, Vec::new(), at, ack);
        waiting.quiet = true;
        waiting
    }

    /// The names whose confirmation has not come yet.
    pub(super) fn awaiting(&self) -> &[Vec<u8>] {
        &self.awaiting
    }

    /// Its command was put in a new output at `at` (it moved to another
    /// connection): written and timed again from there.
    pub(super) fn requeued(mut self, at: Range<usize>) -> Self {
        self.unwritten = Some(at);
        self.deadline = None;
        self
    }

    /// Completes it. Call without the subscriber's lock held.
    pub(super) fn finish(mut self, outcome: Result<()>) {
        if let Some(ack) = self.ack.take() {
            ack(outcome);
        }
    }
}

impl Drop for Waiting {
    /// One dropped unanswered (the subscriber closed) fails, so no caller
    /// waits for ever.
    fn drop(&mut self) {
        if let Some(ack) = self.ack.take() {
            ack(Err(Error::new(
                ErrorKind::Closed,
                "the subscriber is closed",
            )));
        }
    }
}

/// The subscribe commands in flight, oldest first.
#[derive(Default)]
pub(super) struct Acks {
    waiting: VecDeque<Waiting>,
}

impl Acks {
    pub(super) fn push(&mut self, waiting: Waiting) {
        self.waiting.push_back(waiting);
    }

    /// The output is being taken to be written: every command in it is
    /// written from now on, and its answer due within `timeout`.
    pub(super) fn written(&mut self, timeout: Option<Duration>) {
        let now = Instant::now();
        for waiting in &mut self.waiting {
            if waiting.unwritten.take().is_some() {
                waiting.deadline = timeout.map(|timeout| now + timeout);
            }
        }
    }

    /// `len` bytes were put in front of the output (commands that restore
    /// the subscriptions).
    pub(super) fn shifted(&mut self, len: usize) {
        for waiting in &mut self.waiting {
            if let Some(at) = &mut waiting.unwritten {
                *at = at.start + len..at.end + len;
            }
        }
    }

    /// The oldest command waiting for the confirmation `message`.
    fn waiting_for(&self, message: &Message) -> Option<usize> {
        let kind = match message.kind {
            MessageKind::Subscribe => Kind::Channel,
            MessageKind::PSubscribe => Kind::Pattern,
            MessageKind::SSubscribe => Kind::Shard,
            _ => return None,
        };
        let name = message.channel.as_ref()?;
        self.waiting
            .iter()
            .position(|waiting| waiting.kind == kind && waiting.awaiting.iter().any(|n| n == name))
    }

    /// Whether the confirmation `message` answers a quiet command (one the
    /// user is not shown).
    pub(super) fn is_quiet(&self, message: &Message) -> bool {
        self.waiting_for(message)
            .is_some_and(|at| self.waiting[at].quiet)
    }

    /// A subscribe confirmation arrived: the oldest command waiting for it
    /// is one name closer to done. Returns the command if that was its last.
    pub(super) fn confirmed(&mut self, message: &Message) -> Option<Waiting> {
        let name = message.channel.as_ref()?;
        let at = self.waiting_for(message)?;
        let waiting = &mut self.waiting[at];
        if let Some(i) = waiting.awaiting.iter().position(|n| n == name) {
            waiting.awaiting.swap_remove(i);
        }
        if waiting.awaiting.is_empty() {
            return self.waiting.remove(at);
        }
        None
    }

    /// An error reply arrived outside a restore: the server refused the
    /// oldest written command. Returns it, its names rolled back, or `None`
    /// if none is written (the error is then the inbox's).
    pub(super) fn refused(&mut self, subscriptions: &mut Subscriptions) -> Option<Waiting> {
        let at = self.waiting.iter().position(|w| w.unwritten.is_none())?;
        let waiting = self.waiting.remove(at)?;
        self.roll_back(subscriptions, &waiting);
        Some(waiting)
    }

    /// Every command in flight fails (its connection failed): each is
    /// rolled back, its bytes taken out of `out` if they are still there.
    pub(super) fn fail_all(
        &mut self,
        subscriptions: &mut Subscriptions,
        out: &mut Vec<u8>,
    ) -> Vec<Waiting> {
        let mut failed: Vec<Waiting> = self.waiting.drain(..).collect();
        // From the back, so the ranges still to cut stay where they were.
        let mut unwritten: Vec<Range<usize>> =
            failed.iter().filter_map(|w| w.unwritten.clone()).collect();
        unwritten.sort_by_key(|at| std::cmp::Reverse(at.start));
        for at in unwritten {
            out.drain(at);
        }
        for waiting in &mut failed {
            waiting.unwritten = None;
        }
        for waiting in &failed {
            self.roll_back(subscriptions, waiting);
        }
        failed
    }

    /// Takes out the shard subscribes awaiting a name `leaving` says goes
    /// (the names of one command share a slot, so a command goes whole),
    /// their bytes cut from `out` if still there, for another connection
    /// to send them again.
    pub(super) fn take_shards(
        &mut self,
        leaving: &dyn Fn(&[u8]) -> bool,
        out: &mut Vec<u8>,
    ) -> Vec<Waiting> {
        let mut taken = Vec::new();
        let mut at = 0;
        while at < self.waiting.len() {
            let waiting = &self.waiting[at];
            if waiting.kind == Kind::Shard && waiting.awaiting.iter().any(|n| leaving(n)) {
                taken.extend(self.waiting.remove(at));
            } else {
                at += 1;
            }
        }
        // From the back, shifting what stays behind each cut.
        let mut cuts: Vec<Range<usize>> =
            taken.iter().filter_map(|w| w.unwritten.clone()).collect();
        cuts.sort_by_key(|cut| std::cmp::Reverse(cut.start));
        for cut in cuts {
            let len = cut.len();
            out.drain(cut.clone());
            for waiting in &mut self.waiting {
                if let Some(range) = &mut waiting.unwritten {
                    if range.start >= cut.end {
                        *range = range.start - len..range.end - len;
                    }
                }
            }
        }
        taken
    }

    pub(super) fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// The commands whose answer is overdue at `now`, rolled back. Their
    /// connection must then be closed (the server may still hold them).
    pub(super) fn expired(
        &mut self,
        subscriptions: &mut Subscriptions,
        now: Instant,
    ) -> Vec<Waiting> {
        let mut expired = Vec::new();
        let mut at = 0;
        while at < self.waiting.len() {
            if self.waiting[at]
                .deadline
                .is_some_and(|deadline| deadline <= now)
            {
                expired.extend(self.waiting.remove(at));
            } else {
                at += 1;
            }
        }
        for waiting in &expired {
            self.roll_back(subscriptions, waiting);
        }
        expired
    }

    /// The earliest deadline of a command in flight.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.waiting.iter().filter_map(|w| w.deadline).min()
    }

    /// Takes the names `failed` added out of the subscriptions, but not
    /// one that a command still in flight also names.
    fn roll_back(&self, subscriptions: &mut Subscriptions, failed: &Waiting) {
        let kept: Vec<Vec<u8>> = failed
            .added
            .iter()
            .filter(|name| {
                !self
                    .waiting
                    .iter()
                    .any(|w| w.kind == failed.kind && w.awaiting.contains(name))
            })
            .cloned()
            .collect();
        subscriptions.forget(failed.kind, &kept);
    }
}

/// The error a subscribe fails with when its answer is overdue.
#[cold]
pub(super) fn overdue() -> Error {
    Error::new(
        ErrorKind::Timeout,
        "the server did not confirm the subscription within socket_timeout",
    )
}
