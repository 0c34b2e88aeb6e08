//! A Redis Cluster client's router: it sits between [`crate::Client`] and the
//! connections, one [`Connections`] per node (the same pipelined connection,
//! handshake, TLS and deadlines as a standalone client), and sends each
//! request where the cluster serves it.
//!
//! - `slot`: key to hash slot (CRC16, hash tags).
//! - `topology`: the slot map, read from `CLUSTER SLOTS`.
//! - `default_node`: where keyless commands go (the caller's choice, or
//!   the map's first primary).
//! - `plan`: where one command goes, by the command table (its keys' slot,
//!   a split by slot, every primary, any node) and how replies combine.
//! - `redirect`: what a `MOVED`, `ASK`, `TRYAGAIN`, `CLUSTERDOWN` or
//!   `READONLY` reply asks for.
//! - this file: [`Cluster`]: sending, following redirections, retrying
//!   within the request's deadline, gathering split replies, and keeping
//!   the slot map fresh (at the first request, after `MOVED`, `READONLY`
//!   or a lost connection, and every [`REFRESH_PERIOD`]).
//!
//! Requests that arrive before the first slot map wait for it in `pending`,
//! so no transport has to know whether the map is there yet.

mod default_node;
mod plan;
mod redirect;
mod slot;
mod topology;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::future::BoxFuture;
use parking_lot::{Mutex, RwLock};
use redis::Value;
use tokio::time::Instant;

use crate::client::{send_leased, Submitted};
use crate::command::Command;
use crate::config::{Address, ClusterOptions, ConnectionConfig};
use crate::connection::{Connections, Lease};
use crate::error::{Error, ErrorKind, Result};
use crate::events::{self, Event, Level, Topic};
use crate::pubsub::{Connect, PushSink, ShardRouter};
use crate::request::{complete, Batch, Sink};
use crate::runtime;
use crate::table;
pub use default_node::{Chosen, DefaultNode};
use plan::{Combine, Plan};
use redirect::Redirect;
pub use slot::{slot_of, SLOTS};
pub use topology::{split_name, NodeName, SlotMap};

/// How often the slot map is read again when nothing prompted it.
const REFRESH_PERIOD: Duration = Duration::from_secs(10);
/// At most this many redirections and retries per request.
const MAX_ATTEMPTS: u8 = 16;
/// A lost connection is retried this many times (after a refresh) before
/// its error reaches the caller: a node that is down stays down until its
/// replica takes over, which the caller should hear of.
const CONNECTION_ATTEMPTS: u8 = 3;
/// How long one node may take to answer `CLUSTER SLOTS`.
const REFRESH_TIMEOUT: Duration = Duration::from_secs(2);
/// Refreshes prompted by replies are at least this far apart (a slot
/// migration answers every request for the slot with `MOVED` at once).
const REFRESH_GAP: Duration = Duration::from_millis(100);

/// Why the slot map is read (reported with the read).
#[derive(Debug, Clone, Copy)]
enum Why {
    /// The client's first request (or first after a failed read).
    First,
    /// A `MOVED` reply.
    Moved,
    /// A slot no known primary serves.
    Unserved,
    /// `TRYAGAIN` or `CLUSTERDOWN`.
    Later,
    /// A node's connection was lost.
    Lost,
    /// A node the map names a primary answered `READONLY`.
    Demoted,
    /// The periodic read.
    Periodic,
    /// The client asked (connecting).
    Asked,
}

impl Why {
    fn text(self) -> &'static str {
        match self {
            Self::First => "first request",
            Self::Moved => "MOVED",
            Self::Unserved => "a slot without a primary",
            Self::Later => "TRYAGAIN or CLUSTERDOWN",
            Self::Lost => "a node was lost",
            Self::Demoted => "READONLY",
            Self::Periodic => "periodic",
            Self::Asked => "connecting",
        }
    }
}

/// Where a request goes.
#[derive(Debug, Clone)]
pub enum Target {
    /// Routed by its keys and the command table.
    Auto,
    /// To this node (`target_nodes=` a node), whatever its keys say.
    Node(NodeName),
}

/// One attempt at sending a batch to one place.
struct Job {
    batch: Batch,
    to: To,
    deadline: Option<Instant>,
    attempt: u8,
    connection_attempt: u8,
    /// Preceded by `ASKING` (after an `ASK` redirection).
    asking: bool,
}

/// A job waiting for the first slot map.
struct Parked {
    job: Job,
    sink: Sink,
    replan: bool,
}

#[derive(Debug, Clone)]
enum To {
    /// The slot's primary by the map (or, for a read with
    /// `read_from_replicas`, one of its nodes in turn). A fan-out to every
    /// primary sends to each primary's first slot, so that a share resent
    /// after a failover finds the shard's new primary.
    Slot {
        slot: u16,
        read: bool,
    },
    /// A node the caller named (`target_nodes=`), or an `ASK` named.
    Node(NodeName),
    /// Where a `MOVED` reply sent the slot's command; routed by the map
    /// again if that node turns out lost or demoted.
    Moved {
        slot: u16,
        node: NodeName,
    },
    Default,
}

impl To {
    /// Routed by the map again: the node a `MOVED` named is lost or demoted.
    fn by_map(self) -> Self {
        match self {
            Self::Moved { slot, .. } => Self::Slot { slot, read: false },
            other => other,
        }
    }
}

/// The router of one cluster client.
pub struct Cluster {
    /// The settings every node's connections are made from (the address
    /// replaced by the node's).
    template: ConnectionConfig,
    options: ClusterOptions,
    map: RwLock<Option<Arc<SlotMap>>>,
    nodes: Mutex<HashMap<NodeName, Arc<Connections>>>,
    /// Requests waiting for the first slot map.
    pending: Mutex<Vec<Parked>>,
    refreshing: AtomicBool,
    last_refresh: Mutex<Option<Instant>>,
    /// The map as last read from the cluster (`map` may have had slots
    /// moved since), to tell whether a refresh found a change.
    last_read: Mutex<Option<Arc<SlotMap>>>,
    periodic_started: AtomicBool,
    /// Disconnected ([`Self::disconnect`]) and not used since: the periodic
    /// read is skipped, so a closed client opens no connection by itself.
    dormant: AtomicBool,
    closed: AtomicBool,
    /// Turns of `read_from_replicas` between a slot's nodes.
    turn: AtomicUsize,
    /// Where keyless commands go (`To::Default`).
    default_node: Arc<DefaultNode>,
    push_sink: Mutex<Option<PushSink>>,
    me: Weak<Cluster>,
}

impl Cluster {
    /// A router for the cluster `config.address` belongs to. Connects on
    /// the first request (or [`Self::refresh`]).
    pub(crate) fn new(config: &ConnectionConfig) -> Result<Arc<Self>> {
        let options = config.cluster.clone().unwrap_or_default();
        if config.db != 0 {
            return Err(Error::new(
                ErrorKind::Cluster,
                "Argument 'db' must be 0 or None in cluster mode",
            ));
        }
        if let Address::Unix(_) = config.address {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "a cluster is reached over TCP; unix_socket_path cannot name a cluster node",
            ));
        }
        let mut template = config.clone();
        template.cluster = None;
        template.readonly = options.read_from_replicas;
        Ok(Arc::new_cyclic(|me| Self {
            template,
            options,
            map: RwLock::new(None),
            nodes: Mutex::new(HashMap::new()),
            pending: Mutex::new(Vec::new()),
            refreshing: AtomicBool::new(false),
            last_refresh: Mutex::new(None),
            last_read: Mutex::new(None),
            periodic_started: AtomicBool::new(false),
            dormant: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            turn: AtomicUsize::new(0),
            default_node: Arc::default(),
            push_sink: Mutex::new(None),
            me: me.clone(),
        }))
    }

    fn this(&self) -> Arc<Self> {
        self.me
            .upgrade()
            .expect("a cluster is used only through its Arc")
    }

    /// Sends `batch` where `target` says; `sink` gets the outcome.
    pub(crate) fn submit(
        &self,
        batch: Batch,
        target: &Target,
        deadline: Option<Instant>,
        sink: Sink,
    ) -> Submitted {
        self.wake();
        let cancel = match (batch, target) {
            (batch, Target::Node(node)) => {
                self.run(Job::new(batch, To::Node(node.clone()), deadline), sink)
            }
            (Batch::One(cmd), Target::Auto) => self.route_one(cmd, deadline, sink),
            (Batch::Pipeline(commands), Target::Auto) => {
                self.route_pipeline(commands, deadline, sink);
                None
            }
            (Batch::Transaction(commands), Target::Auto) => match transaction_slot(&commands) {
                Ok(to) => self.run(Job::new(Batch::Transaction(commands), to, deadline), sink),
                Err(err) => {
                    complete(sink, Err(err));
                    None
                }
            },
        };
        Submitted {
            wake_owed: false,
            cancel,
        }
    }

    /// One command, routed by the table.
    fn route_one(
        &self,
        cmd: Command,
        deadline: Option<Instant>,
        sink: Sink,
    ) -> Option<crate::client::Cancel> {
        match plan::plan(&cmd) {
            Ok(plan) => self.route_planned(cmd, plan, deadline, sink),
            Err(err) => {
                complete(sink, Err(err));
                None
            }
        }
    }

    /// One command, where its plan says.
    fn route_planned(
        &self,
        cmd: Command,
        plan: Plan,
        deadline: Option<Instant>,
        sink: Sink,
    ) -> Option<crate::client::Cancel> {
        match plan {
            Plan::Slot { slot, read } => self.run(
                Job::new(Batch::One(cmd), To::Slot { slot, read }, deadline),
                sink,
            ),
            Plan::Default => self.run(Job::new(Batch::One(cmd), To::Default, deadline), sink),
            Plan::Split { parts, combine } => {
                let positions: Vec<Vec<usize>> =
                    parts.iter().map(|part| part.positions.clone()).collect();
                let jobs = parts
                    .into_iter()
                    .map(|part| {
                        let to = To::Slot {
                            slot: part.slot,
                            read: false,
                        };
                        Job::new(Batch::One(part.cmd), to, deadline)
                    })
                    .collect();
                self.gather(jobs, combine, positions, sink);
                None
            }
            Plan::Fanout { all_nodes, combine } => {
                match self.fanout_targets(all_nodes) {
                    Some(targets) => {
                        let jobs = targets
                            .into_iter()
                            .map(|to| Job::new(Batch::One(cmd.clone()), to, deadline))
                            .collect();
                        self.gather(jobs, combine, Vec::new(), sink);
                    }
                    // No map yet: wait for one, then plan again.
                    None => self.wait_for_map(
                        Job::new(Batch::One(cmd), To::Default, deadline),
                        sink,
                        true,
                    ),
                }
                None
            }
        }
    }

    /// A pipeline: each command routed on its own (the node's connection
    /// pipelines them), the replies put back in order, an error reply in
    /// its command's place.
    fn route_pipeline(&self, commands: Vec<Command>, deadline: Option<Instant>, sink: Sink) {
        if commands.is_empty() {
            complete(sink, Ok(Value::Array(Vec::new())));
            return;
        }
        // Every command is planned before any is sent: one that cannot be
        // routed (a key missing, `MSET` across slots) fails the pipeline
        // with nothing sent, as redis-py's cluster pipeline refuses it.
        let plans = match commands.iter().map(plan::plan).collect::<Result<Vec<_>>>() {
            Ok(plans) => plans,
            Err(err) => {
                complete(sink, Err(err));
                return;
            }
        };
        let count = commands.len();
        let gathered = Gathered::new(
            count,
            move |outcomes: Vec<Result<Value>>| {
                let mut replies = Vec::with_capacity(outcomes.len());
                for outcome in outcomes {
                    match outcome {
                        Ok(value) => replies.push(value),
                        Err(err) if err.kind() == ErrorKind::Response => {
                            replies.push(redirect::as_error_value(&err));
                        }
                        // A lost connection fails the pipeline, as on one server.
                        Err(err) => return Err(err),
                    }
                }
                Ok(Value::Array(replies))
            },
            sink,
        );
        for (at, (cmd, plan)) in commands.into_iter().zip(plans).enumerate() {
            let part = gathered.part(at);
            self.route_planned(cmd, plan, deadline, part);
        }
    }

    /// Sends every job; `sink` gets their outcomes combined.
    fn gather(&self, jobs: Vec<Job>, how: Combine, positions: Vec<Vec<usize>>, sink: Sink) {
        if jobs.is_empty() {
            complete(sink, plan::combine(&how, Vec::new(), &positions));
            return;
        }
        let gathered = Gathered::new(
            jobs.len(),
            move |outcomes| plan::combine(&how, outcomes, &positions),
            sink,
        );
        for (at, job) in jobs.into_iter().enumerate() {
            self.run(job, gathered.part(at));
        }
    }

    /// Where a fan-out goes: each primary (as its first slot, see
    /// [`To::Slot`]) and, with `all_nodes`, each replica; `None` before the
    /// first slot map.
    fn fanout_targets(&self, all_nodes: bool) -> Option<Vec<To>> {
        let map = self.map.read().clone()?;
        let mut targets: Vec<To> = map
            .primary_slots()
            .into_iter()
            .map(|(_, slot)| To::Slot { slot, read: false })
            .collect();
        if all_nodes {
            targets.extend(map.replicas().into_iter().map(To::Node));
        }
        Some(targets)
    }

    /// Sends one job, following what the reply asks. Returns the cancel
    /// handle of a blocking command's dedicated connection.
    fn run(&self, job: Job, sink: Sink) -> Option<crate::client::Cancel> {
        if self.closed.load(Ordering::Acquire) {
            complete(sink, Err(Error::closed()));
            return None;
        }
        let Some(map) = self.map.read().clone() else {
            self.wait_for_map(job, sink, false);
            return None;
        };
        let node = match self.node_for(&map, &job.to) {
            Ok(node) => node,
            Err(err) => {
                // A slot nobody serves (yet): a failover or a migration may
                // be under way; the map is read again and the job retried.
                self.refresh_soon(Why::Unserved);
                self.retry_later(job, sink, err);
                return None;
            }
        };
        let connections = match self.connections(&node) {
            Ok(connections) => connections,
            Err(err) => {
                complete(sink, Err(err));
                return None;
            }
        };
        let this = self.this();
        let asking = job.asking;
        let sent_to = node.clone();
        let batch = if asking {
            match &job.batch {
                Batch::One(cmd) => Batch::Pipeline(vec![asking_command(), cmd.clone()]),
                other => other.clone(),
            }
        } else {
            job.batch.clone()
        };
        let deadline = job.deadline;
        let on_reply: Sink = Box::new(move |outcome| {
            let outcome = if asking && matches!(job.batch, Batch::One(_)) {
                redirect::after_asking(outcome)
            } else {
                outcome
            };
            this.follow(job, &sent_to, outcome, sink);
        });
        let blocking =
            matches!(&batch, Batch::One(cmd) if table::blocking(cmd).is_some_and(|b| b.dedicated));
        if blocking {
            return match Lease::take(&connections) {
                Ok(lease) => send_leased(lease, &batch, deadline, on_reply).cancel,
                Err(err) => {
                    complete(on_reply, Err(err));
                    None
                }
            };
        }
        match connections.shared() {
            Ok(pipe) => pipe.send(&batch, deadline, on_reply),
            Err(err) => complete(on_reply, Err(err)),
        }
        None
    }

    /// What to do with a job's outcome: deliver it, or follow the cluster
    /// where it says (a new node, `ASKING` first, later).
    fn follow(&self, mut job: Job, sent_to: &NodeName, outcome: Result<Value>, sink: Sink) {
        let err = match outcome {
            Ok(value) => return complete(sink, Ok(value)),
            Err(err) => err,
        };
        let redirect = redirect::classify(&err, sent_to);
        if matches!(redirect, Redirect::No) || job.attempt >= MAX_ATTEMPTS {
            return complete(sink, Err(err));
        }
        job.attempt += 1;
        match redirect {
            Redirect::No => complete(sink, Err(err)),
            Redirect::Moved { slot, node } => {
                if let Some(map) = &mut *self.map.write() {
                    Arc::make_mut(map).move_slot(slot, &node);
                }
                events::emit(Topic::Cluster, Level::Debug, || {
                    Event::new(
                        Topic::Cluster,
                        Level::Debug,
                        "moved",
                        format!("MOVED: slot {slot} is served by {node} now"),
                    )
                    .with("address", sent_to.as_ref())
                    .with("slot", i64::from(slot))
                    .with("node", node.as_ref())
                });
                self.refresh_soon(Why::Moved);
                job.to = To::Moved { slot, node };
                job.asking = false;
                self.run(job, sink);
            }
            Redirect::Ask { node } => {
                job.to = To::Node(node);
                job.asking = true;
                self.run(job, sink);
            }
            Redirect::Later => {
                self.refresh_soon(Why::Later);
                self.retry_later(job, sink, err);
            }
            // A node the caller named was not chosen as a primary: its
            // answer stands, as any other reply of that node's would.
            Redirect::Demoted if matches!(job.to, To::Node(_)) => complete(sink, Err(err)),
            Redirect::Demoted => {
                // A MOVED without an address: the map is read again and
                // the command (which did not run) goes to the primary the
                // new map names, after the pause `retry_later` gives the
                // read; a resend that still meets the demoted node waits
                // longer, within the request's deadline.
                self.report_demoted(sent_to);
                self.refresh_soon(Why::Demoted);
                job.to = job.to.by_map();
                job.asking = false;
                self.retry_later(job, sink, err);
            }
            Redirect::Lost => {
                self.refresh_soon(Why::Lost);
                job.connection_attempt += 1;
                if job.connection_attempt >= CONNECTION_ATTEMPTS {
                    return complete(sink, Err(err));
                }
                // Routed again by the (refreshed) map, not to the lost node.
                job.to = job.to.by_map();
                job.asking = false;
                self.retry_later(job, sink, err);
            }
        }
    }

    /// Runs `job` again after a pause that grows with its attempts, unless
    /// its deadline comes first (then `err` is its outcome).
    fn retry_later(&self, mut job: Job, sink: Sink, err: Error) {
        job.attempt = job.attempt.saturating_add(1);
        if job.attempt >= MAX_ATTEMPTS {
            return complete(sink, Err(err));
        }
        let pause = Duration::from_millis(10 << job.attempt.min(6)).min(Duration::from_millis(500));
        if job
            .deadline
            .is_some_and(|deadline| Instant::now() + pause >= deadline)
        {
            return complete(sink, Err(err));
        }
        let Ok(handle) = runtime::handle() else {
            return complete(sink, Err(err));
        };
        let this = self.this();
        handle.spawn(async move {
            tokio::time::sleep(pause).await;
            this.run(job, sink);
        });
    }

    /// Reports a `READONLY` from `node`, a primary by the map (as a
    /// `MOVED` is reported).
    #[cold]
    fn report_demoted(&self, node: &NodeName) {
        events::emit(Topic::Cluster, Level::Debug, || {
            let event = Event::new(
                Topic::Cluster,
                Level::Debug,
                "readonly",
                format!(
                    "READONLY: {node} is a replica now (a failover the slot map has not seen); \
                     the map is read again and the command sent to the new primary"
                ),
            )
            .with("address", node.as_ref());
            match &self.template.client_name {
                Some(name) => event.with("client_name", name.as_str()),
                None => event,
            }
        });
    }

    /// The node a job goes to on `map`.
    fn node_for(&self, map: &SlotMap, to: &To) -> Result<NodeName> {
        match to {
            To::Node(node) | To::Moved { node, .. } => Ok(node.clone()),
            To::Default => self.default_node.on(map),
            To::Slot { slot, read } => {
                let shard = map.shard(*slot).ok_or_else(|| {
                    Error::with_code(
                        ErrorKind::Cluster,
                        Some("SLOTNOTCOVERED".to_owned()),
                        format!("Slot {slot} is not covered by the cluster"),
                    )
                })?;
                if *read && self.options.read_from_replicas && !shard.replicas.is_empty() {
                    // In turn: the primary, then each replica (as redis-py).
                    let turn =
                        self.turn.fetch_add(1, Ordering::Relaxed) % (1 + shard.replicas.len());
                    return Ok(if turn == 0 {
                        shard.primary.clone()
                    } else {
                        shard.replicas[turn - 1].clone()
                    });
                }
                Ok(shard.primary.clone())
            }
        }
    }

    /// Sends on a `WATCH` session's lease (a connection to one node). What
    /// it sends is never redirected, since the watch stays behind on that
    /// node: a `MOVED` or `ASK` reply goes back as it is (the wrapper gives
    /// the session up, as redis-py does), and the slot map is read again so
    /// that the next session's lease goes to the slot's new node.
    pub(crate) fn send_on_lease(
        &self,
        lease: Lease,
        batch: &Batch,
        deadline: Option<Instant>,
        sink: Sink,
    ) -> Submitted {
        self.wake();
        let cluster = Weak::clone(&self.me);
        let sink: Sink = Box::new(move |outcome: Result<Value>| {
            if let (Err(err), Some(cluster)) = (&outcome, cluster.upgrade()) {
                cluster.after_lease_error(err);
            }
            complete(sink, outcome);
        });
        send_leased(lease, batch, deadline, sink)
    }

    /// A `MOVED` on a lease moves the slot in the map at once, before the
    /// wrapper hears of it, so a session it starts again (a `WATCH` sent
    /// anew, a `transaction()` retried) leases from the slot's new node; the
    /// whole map is read again soon. (The node's own name is not at hand
    /// here: a reply naming no host only leads to the read.)
    fn after_lease_error(&self, err: &Error) {
        // An `ASK` is about one key in a slot being moved: the map stands.
        if let Redirect::Moved { slot, node } = redirect::classify(err, "") {
            if !node.starts_with(':') {
                if let Some(map) = &mut *self.map.write() {
                    Arc::make_mut(map).move_slot(slot, &node);
                }
            }
            self.refresh_soon(Why::Moved);
        }
    }

    /// The connections to the primary serving `slot` by the current slot map
    /// (a `WATCH` session's lease comes from them). A stale map sends the
    /// session to a node that answers `MOVED`; the wrapper then reads the map
    /// again ([`Self::refresh`]) and starts over, as redis-py does.
    pub(crate) fn slot_connections(&self, slot: u16) -> Result<Arc<Connections>> {
        let map = self.slot_map().ok_or_else(|| {
            Error::new(
                ErrorKind::Cluster,
                "the cluster's slot map is not known yet",
            )
        })?;
        let node = self.node_for(&map, &To::Slot { slot, read: false })?;
        self.connections(&node)
    }

    /// The connections to `node`, opened on first use.
    fn connections(&self, node: &NodeName) -> Result<Arc<Connections>> {
        let mut nodes = self.nodes.lock();
        if let Some(connections) = nodes.get(node) {
            return Ok(Arc::clone(connections));
        }
        let (host, port) = split_name(node).ok_or_else(|| {
            Error::new(
                ErrorKind::Protocol,
                format!("a node named {node:?} has no port"),
            )
        })?;
        let mut config = self.template.clone();
        config.address = Address::Tcp {
            host: host.to_owned(),
            port,
        };
        let connections = Connections::new(&config)?;
        connections.set_push_sink(self.push_sink.lock().clone());
        nodes.insert(node.clone(), Arc::clone(&connections));
        Ok(connections)
    }

    /// Parks a job until the first slot map (starting its refresh); with
    /// `replan`, the command is routed from scratch then (a fan-out needs
    /// the map to know its nodes).
    fn wait_for_map(&self, job: Job, sink: Sink, replan: bool) {
        self.pending.lock().push(Parked { job, sink, replan });
        // The map may have come while the job was parked: then its refresh
        // has let the parked jobs go already, so this one goes now.
        if self.map.read().is_some() {
            self.release_parked();
        } else {
            self.start_refresh(Why::First);
        }
    }

    /// Routes the parked jobs (the map is there).
    fn release_parked(&self) {
        let parked = std::mem::take(&mut *self.pending.lock());
        for Parked { job, sink, replan } in parked {
            match job.batch {
                Batch::One(cmd) if replan => {
                    self.route_one(cmd, job.deadline, sink);
                }
                _ => {
                    self.run(job, sink);
                }
            }
        }
    }

    /// Reads the slot map again soon, unless a refresh runs or just ran.
    fn refresh_soon(&self, why: Why) {
        let recent = self
            .last_refresh
            .lock()
            .is_some_and(|at| at.elapsed() < REFRESH_GAP);
        if recent {
            return;
        }
        self.start_refresh(why);
    }

    /// Starts a refresh unless one runs.
    fn start_refresh(&self, why: Why) {
        if self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(handle) = runtime::handle() else {
            self.refreshing.store(false, Ordering::Release);
            return;
        };
        let this = self.this();
        handle.spawn(async move {
            let outcome = this.read_map().await;
            *this.last_refresh.lock() = Some(Instant::now());
            this.refreshing.store(false, Ordering::Release);
            this.after_refresh(why, outcome);
        });
    }

    /// Reads the slot map now, and waits for it: the first time, a client
    /// learns here whether the cluster can be reached at all.
    pub async fn refresh(&self) -> Result<()> {
        let outcome = self.read_map().await;
        *self.last_refresh.lock() = Some(Instant::now());
        let failed = outcome.as_ref().err().cloned();
        self.after_refresh(Why::Asked, outcome);
        failed.map_or(Ok(()), Err)
    }

    /// Installs a new map and lets the parked requests go, or fails them
    /// when no node could be asked.
    fn after_refresh(&self, why: Why, outcome: Result<SlotMap>) {
        match &outcome {
            Ok(map) => self.report_map(why, map),
            Err(err) => self.report_refresh_failed(why, err),
        }
        match outcome {
            Ok(map) => {
                let map = Arc::new(map);
                *self.last_read.lock() = Some(Arc::clone(&map));
                *self.map.write() = Some(map);
                self.start_periodic();
                self.release_parked();
            }
            // Parked jobs wait for the first map only: with none, they fail.
            Err(err) if self.map.read().is_none() => {
                let parked = std::mem::take(&mut *self.pending.lock());
                for Parked { sink, .. } in parked {
                    complete(sink, Err(err.clone()));
                }
            }
            Err(_) => {}
        }
    }

    /// Reports a map just read: the first (DEBUG), a changed layout (INFO:
    /// a migration, a failover, nodes added or removed), or no change (DEBUG).
    fn report_map(&self, why: Why, map: &SlotMap) {
        let previous = self.last_read.lock().clone();
        let (level, name) = match &previous {
            None => (Level::Debug, "slot_map_read"),
            Some(previous) if !previous.same_layout(map) => (Level::Info, "slot_map_changed"),
            Some(_) => (Level::Debug, "slot_map_unchanged"),
        };
        events::emit(Topic::Cluster, level, || {
            let primaries = map.primaries();
            let replicas = map.replicas();
            let what = match name {
                "slot_map_read" => "read the cluster's slot map",
                "slot_map_changed" => "the cluster's slot map changed",
                _ => "read the cluster's slot map again, unchanged",
            };
            Event::new(
                Topic::Cluster,
                level,
                name,
                format!(
                    "{what} ({}): {} primaries ({}), {} replicas",
                    why.text(),
                    primaries.len(),
                    primaries.join(", "),
                    replicas.len()
                ),
            )
            .with("reason", why.text())
            .with("primaries", primaries.join(","))
            .with("replicas", replicas.join(","))
            .with("address", events::address(&self.template.address))
        });
    }

    #[cold]
    fn report_refresh_failed(&self, why: Why, err: &Error) {
        // A read cut short by the client's own close is no failure.
        if err.kind() == ErrorKind::Closed && self.is_closed() {
            return;
        }
        events::emit(Topic::Cluster, Level::Warning, || {
            Event::new(
                Topic::Cluster,
                Level::Warning,
                "slot_map_failed",
                format!("cannot read the cluster's slot map ({}): {err}", why.text()),
            )
            .with("reason", why.text())
            .with("address", events::address(&self.template.address))
            .error(err)
        });
    }

    /// Asks the known nodes, then the seeds, for `CLUSTER SLOTS`, until one
    /// answers with a usable map.
    async fn read_map(&self) -> Result<SlotMap> {
        let mut candidates: Vec<NodeName> = Vec::new();
        if let Some(map) = self.map.read().clone() {
            candidates.extend(map.primaries());
            candidates.extend(map.replicas());
        }
        for seed in std::iter::once(&self.template.address).chain(&self.options.seeds) {
            if let Address::Tcp { host, port } = seed {
                let name: NodeName = Arc::from(format!("{host}:{port}"));
                if !candidates.contains(&name) {
                    candidates.push(name);
                }
            }
        }
        let mut last_error = Error::new(
            ErrorKind::Cluster,
            "no cluster node to ask for the slot map",
        );
        for node in candidates {
            if self.closed.load(Ordering::Acquire) {
                return Err(Error::closed());
            }
            match self.ask_slots(&node).await {
                Ok(map) if map.is_complete() || !self.options.require_full_coverage => {
                    return Ok(map)
                }
                Ok(_) => {
                    last_error = Error::new(
                        ErrorKind::Cluster,
                        format!("{node}: not every slot is covered (require_full_coverage)"),
                    );
                }
                Err(err) => last_error = err,
            }
        }
        Err(last_error)
    }

    async fn ask_slots(&self, node: &NodeName) -> Result<SlotMap> {
        let connections = self.connections(node)?;
        let pipe = connections.shared()?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        let cmd = Command::from_args([&b"CLUSTER"[..], b"SLOTS"])?;
        let timeout = self
            .template
            .connect_timeout
            .map_or(REFRESH_TIMEOUT, |connect| connect.max(REFRESH_TIMEOUT));
        pipe.send(
            &Batch::One(cmd),
            Some(Instant::now() + timeout),
            Box::new(move |outcome| {
                let _ = reply.send(outcome);
            }),
        );
        let value = answer
            .await
            .unwrap_or_else(|_| Err(Error::new(ErrorKind::Internal, "the reply was lost")))?;
        let host = split_name(node).map_or("", |(host, _)| host);
        SlotMap::from_cluster_slots(&value, host)
    }

    /// Reads the map every [`REFRESH_PERIOD`] while the client lives (and
    /// is not dormant after a disconnect).
    fn start_periodic(&self) {
        if self.periodic_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(handle) = runtime::handle() else {
            return;
        };
        let me = self.me.clone();
        handle.spawn(async move {
            loop {
                tokio::time::sleep(REFRESH_PERIOD).await;
                let Some(this) = me.upgrade() else { return };
                if this.closed.load(Ordering::Acquire) {
                    return;
                }
                if !this.dormant.load(Ordering::Relaxed) {
                    this.start_refresh(Why::Periodic);
                }
            }
        });
    }

    /// The current slot map, if one was read.
    pub fn slot_map(&self) -> Option<Arc<SlotMap>> {
        self.map.read().clone()
    }

    /// Where keyless commands go: the choice (redis-py's
    /// `set_default_node`) and the node it means on the current map.
    pub fn default_node(&self) -> &Arc<DefaultNode> {
        &self.default_node
    }

    /// Opens connections for a subscriber: to the node serving its shard
    /// channels' slot, else to the default node (classic pub/sub reaches
    /// every node of a cluster). A reconnection reads the slot map first,
    /// so a subscriber whose node failed over or lost the slot follows it.
    pub(crate) fn connector(&self) -> Connect {
        let me = self.me.clone();
        let first = AtomicBool::new(true);
        Arc::new(move |slot| {
            let me = me.clone();
            let reconnecting = !first.swap(false, Ordering::AcqRel);
            Box::pin(async move {
                let cluster = me.upgrade().ok_or_else(Error::closed)?;
                if reconnecting || cluster.slot_map().is_none() {
                    // A failed read keeps the last map: the connection
                    // attempt below then fails or lands, and is retried.
                    let _ = cluster.refresh().await;
                }
                let node = cluster.subscriber_node(slot)?;
                let connect = cluster.connections(&node)?.connector();
                connect(None).await
            })
        })
    }

    /// What a subscriber's shard channels need of the cluster: their
    /// nodes, the slot map read again, connections to a node.
    pub(crate) fn shard_router(&self) -> Arc<dyn ShardRouter> {
        Arc::new(Router(self.me.clone()))
    }

    /// The node a subscriber connects to (see [`Self::connector`]).
    fn subscriber_node(&self, slot: Option<u16>) -> Result<NodeName> {
        match self.slot_map() {
            Some(map) => {
                let to = slot.map_or(To::Default, |slot| To::Slot { slot, read: false });
                self.node_for(&map, &to)
            }
            None => match &self.template.address {
                Address::Tcp { host, port } => Ok(Arc::from(format!("{host}:{port}"))),
                Address::Unix(_) => unreachable!("refused in Cluster::new"),
            },
        }
    }

    pub(crate) fn set_push_sink(&self, sink: Option<PushSink>) {
        *self.push_sink.lock() = sink;
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let nodes = std::mem::take(&mut *self.nodes.lock());
        for connections in nodes.values() {
            connections.close();
        }
        for Parked { sink, .. } in std::mem::take(&mut *self.pending.lock()) {
            complete(sink, Err(Error::closed()));
        }
    }

    /// Closes every node's connections (requests in flight fail with a
    /// closed error) but stays usable: the next request opens new ones
    /// (redis-py's `close()` then use again).
    pub(crate) fn disconnect(&self) {
        self.dormant.store(true, Ordering::Relaxed);
        let nodes = std::mem::take(&mut *self.nodes.lock());
        for connections in nodes.values() {
            connections.close();
        }
    }

    /// Lets go of every node's connections, which close once the requests
    /// waiting on them are answered (a client dropped while its requests
    /// are in flight: `await RedisCluster(...).get(k)`); nothing new starts.
    pub(crate) fn close_when_idle(&self) {
        self.closed.store(true, Ordering::Release);
        // Each `Connections`, dropped by its last holder, closes when idle.
        drop(std::mem::take(&mut *self.nodes.lock()));
        for Parked { sink, .. } in std::mem::take(&mut *self.pending.lock()) {
            complete(sink, Err(Error::closed()));
        }
    }

    /// A request came: the periodic read resumes after a disconnect. (A
    /// load first, so the common case writes no shared cache line.)
    fn wake(&self) {
        if self.dormant.load(Ordering::Relaxed) {
            self.dormant.store(false, Ordering::Relaxed);
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

impl Job {
    fn new(batch: Batch, to: To, deadline: Option<Instant>) -> Self {
        Self {
            batch,
            to,
            deadline,
            attempt: 0,
            connection_attempt: 0,
            asking: false,
        }
    }
}

fn asking_command() -> Command {
    Command::from_args([&b"ASKING"[..]]).expect("a named command")
}

/// Where a transaction goes: the one slot of all its commands' keys (any
/// node when it has none); refused when the keys are in several slots or
/// a command lacks its key.
fn transaction_slot(commands: &[Command]) -> Result<To> {
    let mut first: Option<(u16, Vec<u8>)> = None;
    for cmd in commands {
        let keys = table::keys(cmd);
        if keys.is_empty() && table::lookup(cmd).is_some_and(plan::needs_key) {
            return Err(plan::missing_key(&cmd.args().collect::<Vec<_>>()));
        }
        for key in keys {
            let slot = slot_of(key);
            match &first {
                None => first = Some((slot, key.to_vec())),
                Some((known, first_key)) if *known != slot => {
                    return Err(plan::cross_slot(
                        "MULTI",
                        [first_key.as_slice(), key].into_iter(),
                    ))
                }
                Some(_) => {}
            }
        }
    }
    Ok(first.map_or(To::Default, |(slot, _)| To::Slot { slot, read: false }))
}

/// Turns the parts' outcomes (in part order) into the request's.
type Finish = Box<dyn FnOnce(Vec<Result<Value>>) -> Result<Value> + Send>;

/// The outcomes of the parts of one request, combined when the last arrives.
struct Gathered {
    state: Mutex<GatherState>,
}

struct GatherState {
    outcomes: Vec<Option<Result<Value>>>,
    missing: usize,
    finish: Option<(Finish, Sink)>,
}

impl Gathered {
    fn new(
        count: usize,
        finish: impl FnOnce(Vec<Result<Value>>) -> Result<Value> + Send + 'static,
        sink: Sink,
    ) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(GatherState {
                outcomes: (0..count).map(|_| None).collect(),
                missing: count,
                finish: Some((Box::new(finish), sink)),
            }),
        })
    }

    /// The sink of part `at`.
    fn part(self: &Arc<Self>, at: usize) -> Sink {
        let this = Arc::clone(self);
        Box::new(move |outcome| {
            let mut state = this.state.lock();
            state.outcomes[at] = Some(outcome);
            state.missing -= 1;
            if state.missing > 0 {
                return;
            }
            let outcomes = std::mem::take(&mut state.outcomes)
                .into_iter()
                .map(|outcome| {
                    outcome
                        .unwrap_or_else(|| Err(Error::new(ErrorKind::Internal, "a part was lost")))
                })
                .collect();
            let finish = state.finish.take();
            drop(state);
            if let Some((finish, sink)) = finish {
                complete(sink, finish(outcomes));
            }
        })
    }
}

/// A subscriber's view of its cluster (see [`Cluster::shard_router`]); it
/// does not keep the cluster alive.
struct Router(Weak<Cluster>);

impl ShardRouter for Router {
    fn node_of(&self, slot: u16) -> Result<NodeName> {
        let cluster = self.0.upgrade().ok_or_else(Error::closed)?;
        cluster
            .subscriber_node(Some(slot))
            .or_else(|_| cluster.subscriber_node(None))
    }

    fn has_map(&self) -> bool {
        self.0
            .upgrade()
            .is_some_and(|cluster| cluster.slot_map().is_some())
    }

    fn refresh(&self) -> BoxFuture<'static, ()> {
        let cluster = self.0.clone();
        Box::pin(async move {
            if let Some(cluster) = cluster.upgrade() {
                // A failed read keeps the last map; the links retry.
                let _ = cluster.refresh().await;
            }
        })
    }

    fn connector(&self, node: &NodeName) -> Connect {
        let cluster = self.0.clone();
        let node = node.clone();
        Arc::new(move |_slot| {
            let cluster = cluster.clone();
            let node = node.clone();
            Box::pin(async move {
                let cluster = cluster.upgrade().ok_or_else(Error::closed)?;
                let connect = cluster.connections(&node)?.connector();
                connect(None).await
            })
        })
    }
}
