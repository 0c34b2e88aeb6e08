//! A cluster subscriber's shard channels: one connection (a shard [`Link`])
//! per node that serves at least one of them, all filling the subscriber's
//! one inbox, each in its own arrival order.
//!
//! A shard channel lives on the primary serving its slot, so a subscriber
//! of channels in several slots needs a connection to each of their nodes
//! (redis-py's cluster `PubSub` keeps one per node too). A subscribe of
//! several slots is sent as one command per slot (the server refuses a
//! cross-slot `SSUBSCRIBE`) on the link of the slot's node, and returns
//! once every part is confirmed; if a part fails, the parts that held are
//! unsubscribed again quietly, so a failed subscribe leaves nothing behind.
//!
//! ## Following the slots
//!
//! A link that learns its node does not serve a slot (any more) waits as a
//! single connection does ([`MOVED_PAUSE`]), then asks for a regroup: the
//! slot map is read again, and every link gives up the channels whose slot
//! another node now serves, with the subscribes in flight for them. Those
//! are sent again on the new node's link (opened if needed): the user's own
//! subscribes as they were, the channels the user already had quietly (no
//! confirmation shown), and once those are all back a `reconnected` message
//! says so, as after a lost connection. A link left holding nothing closes.
//! What tells a link is `MOVED` (a map read mid-failover sent a subscribe to
//! the wrong node) or a `sunsubscribe` it did not ask for (the node pushes
//! one for each channel of a slot it lost, resharded away or demoted in a
//! failover); a lost connection regroups before every attempt to reconnect.
//! The server's `sunsubscribe` for a channel a link gave up is not shown.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::future::BoxFuture;
use parking_lot::Mutex;
use tokio::runtime::Handle;

use super::acks::{Ack, Waiting};
use super::inbox::Inbox;
use super::link::{Connect, Link, ShardRole};
use super::message::{Event, Message, MessageKind, Payload};
use super::subscriptions::{check_subscribe, Kind};
use crate::cluster::{slot_of, NodeName};
use crate::error::{Error, ErrorKind, Result};
use crate::events::Context;

/// What a cluster subscriber needs of its cluster.
pub(crate) trait ShardRouter: Send + Sync {
    /// The node serving `slot` by the current slot map, or the node to try
    /// when the map is not known (yet) or does not cover the slot.
    fn node_of(&self, slot: u16) -> Result<NodeName>;
    /// Whether a slot map was read.
    fn has_map(&self) -> bool;
    /// Reads the slot map again (a failed read keeps the last one).
    fn refresh(&self) -> BoxFuture<'static, ()>;
    /// Opens connections to `node`.
    fn connector(&self, node: &NodeName) -> Connect;
}

pub(crate) struct Shards {
    router: Arc<dyn ShardRouter>,
    links: Mutex<Links>,
    inbox: Arc<Inbox>,
    ack_timeout: Option<Duration>,
    runtime: Handle,
    context: Arc<Context>,
    /// One regroup at a time: each reads the map and moves what it says.
    turn: tokio::sync::Mutex<()>,
    me: Weak<Shards>,
}

/// What must run once the lock on the links is let go.
type Later = Vec<Box<dyn FnOnce() + Send>>;

#[derive(Default)]
struct Links {
    by_node: HashMap<NodeName, Arc<Link>>,
    /// Commands given before the first slot map was read, in call order:
    /// routed once it is (the seed node could be a replica, which would
    /// take a shard channel's subscribe without being where it is published).
    before_map: Option<Vec<Queued>>,
    closed: bool,
}

enum Queued {
    Subscribe(Vec<Vec<u8>>, Ack),
    Unsubscribe(Vec<Vec<u8>>),
}

impl Shards {
    pub(crate) fn new(
        router: Arc<dyn ShardRouter>,
        inbox: Arc<Inbox>,
        ack_timeout: Option<Duration>,
        runtime: &Handle,
        context: Arc<Context>,
    ) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            router,
            links: Mutex::new(Links::default()),
            inbox,
            ack_timeout,
            runtime: runtime.clone(),
            context,
            turn: tokio::sync::Mutex::new(()),
            me: me.clone(),
        })
    }

    /// Subscribes to `names`, one command per slot on the link of the slot's
    /// node; `ack` is told once every part is confirmed, or with the first
    /// failure (the parts that held are then unsubscribed quietly).
    pub(crate) fn subscribe(&self, names: &[Vec<u8>], ack: Ack) -> Result<()> {
        check_subscribe(Kind::Shard, names)?;
        let mut links = self.links.lock();
        if links.closed {
            return Err(closed());
        }
        if self.wait_for_map(&mut links) {
            if let Some(queued) = &mut links.before_map {
                queued.push(Queued::Subscribe(names.to_vec(), ack));
            }
            return Ok(());
        }
        let outcome = self.subscribe_now(&mut links, names, ack);
        drop(links);
        match outcome {
            Ok(later) => {
                for finish in later {
                    finish();
                }
                Ok(())
            }
            // Not sent: the ack is dropped untold, the caller has the error.
            Err((err, _ack)) => Err(err),
        }
    }

    /// Sends a subscribe now. A failure to route it gives the ack back
    /// untold; once sent, every outcome goes to the ack, some through what
    /// it returns, to run once the lock is let go (an ack is its caller's
    /// code, never called with a lock held).
    fn subscribe_now(
        &self,
        links: &mut Links,
        names: &[Vec<u8>],
        ack: Ack,
    ) -> std::result::Result<Later, (Error, Ack)> {
        let mut by_slot: BTreeMap<u16, Vec<Vec<u8>>> = BTreeMap::new();
        for name in names {
            by_slot.entry(slot_of(name)).or_default().push(name.clone());
        }
        let mut parts = Vec::with_capacity(by_slot.len());
        for (slot, names) in by_slot {
            let routed = self
                .router
                .node_of(slot)
                .and_then(|node| self.link_to(links, &node));
            match routed {
                Ok(link) => parts.push((link, names)),
                Err(err) => return Err((err, ack)),
            }
        }
        let joined = Joined::new(parts.len(), ack);
        let mut later: Later = Vec::new();
        for (link, names) in parts {
            let part = joined.part(Arc::downgrade(&link), names.clone());
            if let Err(err) = link.subscribe(Kind::Shard, &names, part) {
                // Its part ack went unused: the part fails later instead.
                let (joined, link) = (Arc::clone(&joined), Arc::downgrade(&link));
                later.push(Box::new(move || joined.finished(link, names, Err(err))));
            }
        }
        Ok(later)
    }

    /// Unsubscribes from `names` on the links holding them (a name no link
    /// holds goes to its slot's node, which confirms it as redis-py's
    /// would), or from every shard channel on every link if empty.
    pub(crate) fn unsubscribe(&self, names: &[Vec<u8>]) -> Result<()> {
        let mut links = self.links.lock();
        if links.closed {
            return Err(closed());
        }
        if let Some(queued) = &mut links.before_map {
            queued.push(Queued::Unsubscribe(names.to_vec()));
            return Ok(());
        }
        self.unsubscribe_now(&mut links, names)
    }

    fn unsubscribe_now(&self, links: &mut Links, names: &[Vec<u8>]) -> Result<()> {
        if names.is_empty() {
            for link in links.by_node.values() {
                if link.holds_shards() {
                    link.unsubscribe(Kind::Shard, &[])?;
                }
            }
            return Ok(());
        }
        for name in names {
            let holder = links
                .by_node
                .values()
                .find(|link| link.holds_shard(name))
                .cloned();
            let link = match holder {
                Some(link) => link,
                None => self.link_to(links, &self.router.node_of(slot_of(name))?)?,
            };
            link.unsubscribe(Kind::Shard, std::slice::from_ref(name))?;
        }
        Ok(())
    }

    /// How many nodes the subscriber holds a connection (or one to come)
    /// to, for its shard channels.
    pub(crate) fn nodes(&self) -> Vec<NodeName> {
        let links = self.links.lock();
        let mut nodes: Vec<NodeName> = links
            .by_node
            .iter()
            .filter(|(_, link)| !link.is_closed())
            .map(|(node, _)| node.clone())
            .collect();
        nodes.sort();
        nodes
    }

    /// Closes every link; later commands fail.
    pub(crate) fn close(&self) {
        let links = {
            let mut links = self.links.lock();
            links.closed = true;
            std::mem::take(&mut links.by_node)
        };
        for link in links.values() {
            link.close();
        }
    }

    /// Whether commands must wait for the first slot map: none is read yet.
    /// The first to wait starts the read; once done, the queue is routed.
    fn wait_for_map(&self, links: &mut Links) -> bool {
        if links.before_map.is_some() {
            return true;
        }
        if self.router.has_map() {
            return false;
        }
        links.before_map = Some(Vec::new());
        let me = self.me.clone();
        let refresh = self.router.refresh();
        self.runtime.spawn(async move {
            refresh.await;
            if let Some(shards) = me.upgrade() {
                shards.map_known();
            }
        });
        true
    }

    /// The first map read ended (read or not: a failed read routes by the
    /// seed node, and a wrong node answers `MOVED`): sends what waited.
    fn map_known(&self) {
        let mut links = self.links.lock();
        let Some(queued) = links.before_map.take() else {
            return;
        };
        let mut failed = Vec::new();
        let mut told = Vec::new();
        let mut later: Later = Vec::new();
        for command in queued {
            match command {
                Queued::Subscribe(names, ack) => {
                    match self.subscribe_now(&mut links, &names, ack) {
                        Ok(finish) => later.extend(finish),
                        Err(refused) => told.push(refused),
                    }
                }
                Queued::Unsubscribe(names) => {
                    if let Err(err) = self.unsubscribe_now(&mut links, &names) {
                        failed.push(err);
                    }
                }
            }
        }
        drop(links);
        // Outside the lock: an ack is its caller's code.
        for finish in later {
            finish();
        }
        for (err, ack) in told {
            ack(Err(err));
        }
        // An unsubscribe nobody waits for: its error is the inbox's.
        for err in failed {
            self.inbox.push(Event::Error(err));
        }
    }

    /// The live link to `node`, started if there is none.
    fn link_to(&self, links: &mut Links, node: &NodeName) -> Result<Arc<Link>> {
        if links.closed {
            return Err(closed());
        }
        if let Some(link) = links.by_node.get(node).filter(|link| !link.is_closed()) {
            return Ok(Arc::clone(link));
        }
        let link = Link::start_shard(
            Arc::clone(&self.inbox),
            ShardRole {
                group: self.me.clone(),
                node: node.clone(),
            },
            self.router.connector(node),
            self.ack_timeout,
            &self.runtime,
            Arc::clone(&self.context),
        );
        links.by_node.insert(node.clone(), Arc::clone(&link));
        Ok(link)
    }

    /// Reads the slot map again and moves every shard channel whose slot
    /// another node serves now to that node's link (see the module's doc).
    /// `suspect` is a link and a slot it was just told it does not serve:
    /// its channels of that slot are subscribed again even if the map still
    /// names the same node (a map read mid-failover).
    pub(super) async fn regroup(&self, suspect: Option<(&Link, u16)>) {
        let _turn = self.turn.lock().await;
        self.router.refresh().await;
        let mut links = self.links.lock();
        if links.closed {
            return;
        }
        let mut moving: BTreeMap<NodeName, (Vec<Vec<u8>>, Vec<Waiting>)> = BTreeMap::new();
        for (node, link) in &links.by_node {
            let suspect_slot = suspect
                .filter(|(from, _)| std::ptr::eq(*from, Arc::as_ptr(link)))
                .map(|(_, slot)| slot);
            let home = |slot: u16| self.router.node_of(slot).unwrap_or_else(|_| node.clone());
            let leaving = |slot: u16| suspect_slot == Some(slot) || home(slot) != *node;
            let (names, waiting) = link.release_shards(&leaving);
            for name in names {
                moving.entry(home(slot_of(&name))).or_default().0.push(name);
            }
            for waiting in waiting {
                let slot = waiting.awaiting().first().map_or(0, |name| slot_of(name));
                moving.entry(home(slot)).or_default().1.push(waiting);
            }
        }
        let announce = Resubscribed::new(Arc::clone(&self.inbox));
        let mut lost = Vec::new();
        for (node, (names, waiting)) in moving {
            let adopted = match self.link_to(&mut links, &node) {
                Ok(link) => link.adopt(&names, waiting, &|| announce.ack()),
                Err(err) => Err((err, waiting)),
            };
            if let Err((err, waiting)) = adopted {
                // Only a closing subscriber gets here.
                tracing_lost(&node, &err);
                lost.extend(waiting);
            }
        }
        links.by_node.retain(|_, link| !link.retire_if_idle());
        drop(links);
        // Failed (dropped) with no lock held: an ack is its caller's code.
        drop(lost);
        announce.done();
    }

    /// Closes `link` if it holds nothing any more (its last shard channel
    /// was unsubscribed), as redis-py drops a node's `PubSub` then.
    pub(super) fn retire(&self, link: &Link) {
        let mut links = self.links.lock();
        let Some(node) = link.node().cloned() else {
            return;
        };
        let ours = links
            .by_node
            .get(&node)
            .is_some_and(|held| std::ptr::eq(Arc::as_ptr(held), link));
        if ours && link.retire_if_idle() {
            links.by_node.remove(&node);
        }
    }
}

/// The channels one regroup subscribed again quietly: once all are
/// confirmed, a `reconnected` message counts them (what a single
/// connection's restore says). If one failed, its link lost its connection
/// and that link's restore says it instead.
struct Resubscribed(Arc<Counts>);

struct Counts {
    inbox: Arc<Inbox>,
    /// Acks still to come, plus one held until every ack was handed out.
    remaining: AtomicUsize,
    total: AtomicUsize,
    failed: AtomicBool,
}

impl Resubscribed {
    fn new(inbox: Arc<Inbox>) -> Self {
        Self(Arc::new(Counts {
            inbox,
            remaining: AtomicUsize::new(1),
            total: AtomicUsize::new(0),
            failed: AtomicBool::new(false),
        }))
    }

    fn ack(&self) -> Ack {
        self.0.remaining.fetch_add(1, Ordering::AcqRel);
        self.0.total.fetch_add(1, Ordering::AcqRel);
        let counts = Arc::clone(&self.0);
        Box::new(move |outcome: Result<()>| {
            if outcome.is_err() {
                counts.failed.store(true, Ordering::Release);
            }
            counts.one_done();
        })
    }

    fn done(self) {
        self.0.one_done();
    }
}

impl Counts {
    fn one_done(&self) {
        if self.remaining.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        let total = self.total.load(Ordering::Acquire);
        if total > 0 && !self.failed.load(Ordering::Acquire) {
            self.inbox.push(Event::Message(Message {
                node: None,
                kind: MessageKind::Reconnected,
                pattern: None,
                channel: None,
                data: Payload::Count(i64::try_from(total).unwrap_or(i64::MAX)),
            }));
        }
    }
}

/// One subscribe sent as a command per slot: the caller's ack is told once
/// every part is confirmed, or with the first failure, after which the
/// parts that held are unsubscribed quietly.
struct Joined {
    state: Mutex<JoinedState>,
}

struct JoinedState {
    remaining: usize,
    ack: Option<Ack>,
    failure: Option<Error>,
    /// The parts confirmed so far: their link and names.
    held: Vec<(Weak<Link>, Vec<Vec<u8>>)>,
}

impl Joined {
    fn new(parts: usize, ack: Ack) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(JoinedState {
                remaining: parts,
                ack: Some(ack),
                failure: None,
                held: Vec::new(),
            }),
        })
    }

    fn part(self: &Arc<Self>, link: Weak<Link>, names: Vec<Vec<u8>>) -> Ack {
        let joined = Arc::clone(self);
        Box::new(move |outcome: Result<()>| joined.finished(link, names, outcome))
    }

    fn finished(&self, link: Weak<Link>, names: Vec<Vec<u8>>, outcome: Result<()>) {
        let done = {
            let mut state = self.state.lock();
            match outcome {
                Ok(()) => state.held.push((link, names)),
                Err(err) => {
                    state.failure.get_or_insert(err);
                }
            }
            state.remaining -= 1;
            if state.remaining > 0 {
                return;
            }
            let held = std::mem::take(&mut state.held);
            (state.ack.take(), state.failure.take(), held)
        };
        // Outside the lock: the ack is the caller's code.
        let (ack, failure, held) = done;
        match failure {
            None => {
                if let Some(ack) = ack {
                    ack(Ok(()));
                }
            }
            Some(err) => {
                for (link, names) in held {
                    if let Some(link) = link.upgrade() {
                        // A closed link holds nothing to take back.
                        let _ = link.release_quietly(&names);
                    }
                }
                if let Some(ack) = ack {
                    ack(Err(err));
                }
            }
        }
    }
}

#[cold]
fn closed() -> Error {
    Error::new(ErrorKind::Closed, "the subscriber is closed")
}

/// Reports that a regroup could not hand channels to `node`'s link.
#[cold]
fn tracing_lost(node: &NodeName, err: &Error) {
    crate::events::emit(
        crate::events::Topic::Pubsub,
        crate::events::Level::Warning,
        || {
            crate::events::Event::new(
                crate::events::Topic::Pubsub,
                crate::events::Level::Warning,
                "shard_regroup_failed",
                format!("a subscriber could not move shard channels to {node}: {err}"),
            )
        },
    );
}
