//! A client of one standalone server or of a Redis Cluster: the object every
//! transport drives, through one entry, [`Client::submit`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use redis::Value;
use tokio::time::Instant;

use crate::cluster::{Chosen, Cluster, NodeName, Target as ClusterTarget};
use crate::config::ConnectionConfig;
use crate::connection::{Connections, Lease, Pipe, WakeNeed};
use crate::error::{Error, ErrorKind, Result};
use crate::events::{self, Context, Level, Topic};
use crate::pubsub::{Closer, PushSink, Subscriber};
use crate::request::{complete, Batch, Request, Route, Sink};
use crate::retry::RetryPolicy;
use crate::runtime;
use crate::sentinel::readonly::{self, Verdict};
use crate::table::Blocking;

/// A client of one server (or one cluster). Cheap to share: every method
/// takes `&self`, and any number of requests may be in flight at once on its
/// pipelined connection(s).
pub struct Client {
    topology: Topology,
    response_timeout: Option<Duration>,
    /// Blocking commands run on the shared connection too.
    single_connection: bool,
    retry: RetryPolicy,
    /// Itself, for requests sent again after a failure.
    me: Weak<Client>,
    /// The subscribers made from this client, which `close` closes too.
    subscribers: Mutex<Vec<Closer>>,
    /// What the events about this client say of it (`crate::events`).
    context: Arc<Context>,
}

/// What [`Client::submit`] tells its caller.
pub struct Submitted {
    /// The caller owes a deferred [`Client::wake`]: others are in flight, and
    /// the writer is woken once the caller's batch of requests is queued.
    pub wake_owed: bool,
    /// For a request on a dedicated connection: cancelling it closes that
    /// connection (a cancelled `BLPOP` must not take an element later).
    pub cancel: Option<Cancel>,
}

/// Cancels a request that holds its connection (a blocking command) by
/// closing that connection. Holds the request weakly: the connection goes
/// back to the client when its request completes, whoever still holds this.
pub struct Cancel(Weak<InFlight>);

/// A request that holds its connection, from submission to reply.
pub struct InFlight {
    target: Mutex<Target>,
    cancelled: AtomicBool,
}

impl InFlight {
    fn new(target: Target) -> Arc<Self> {
        Arc::new(Self {
            target: Mutex::new(target),
            cancelled: AtomicBool::new(false),
        })
    }

    /// What submitting it gives the caller: no wake-up owed, and its cancel.
    fn submitted(self: &Arc<Self>) -> Submitted {
        Submitted {
            wake_owed: false,
            cancel: Some(Cancel(Arc::downgrade(self))),
        }
    }

    /// Sends `batch` on `pipe`, holding this request (and so a lease) until
    /// the reply, then letting go of it before the caller hears of it, so a
    /// caller that blocks again at once finds the connection idle and reuses it.
    fn send(self: Arc<Self>, pipe: &Pipe, batch: &Batch, deadline: Option<Instant>, sink: Sink) {
        pipe.send(
            batch,
            deadline,
            Box::new(move |outcome| {
                drop(self);
                sink(outcome);
            }),
        );
    }
}

/// Where an [`InFlight`] request is.
enum Target {
    /// Waiting for a dedicated connection to come free.
    Waiting,
    /// Sent on a dedicated connection.
    Leased(Lease),
    /// Sent on the shared connection (a single-connection client).
    Shared(Pipe),
}

impl Cancel {
    pub fn cancel(&self) {
        let Some(request) = self.0.upgrade() else {
            return;
        };
        request.cancelled.store(true, Ordering::Release);
        match &*request.target.lock() {
            // Its waiter sees the flag and never sends it.
            Target::Waiting => {}
            Target::Leased(lease) => lease.close(),
            // The command would still run on the server (and a `BLPOP` take
            // an element nobody receives): close the one connection, as
            // redis-py disconnects a connection whose command was cancelled.
            Target::Shared(pipe) => pipe.shut_down(&cancelled_error()),
        };
    }

    /// Whether the request still waits for its reply (so cancelling it would
    /// do something). Lets a holder of many (the uds listener, per stream)
    /// forget the finished ones.
    pub fn is_pending(&self) -> bool {
        self.0.strong_count() > 0
    }
}

/// What a client's requests go through.
enum Topology {
    /// One server: its connections.
    Standalone(Arc<Connections>),
    /// A cluster: the router, which holds each node's connections.
    Cluster(Arc<Cluster>),
}

/// How many times a Sentinel-managed primary's request answered `READONLY`
/// is sent at most, and the pause that grows between those sends.
const FOLLOW_TRIES: u32 = 8;
const FOLLOW_PAUSE: Duration = Duration::from_millis(100);

#[cold]
fn cancelled_error() -> Error {
    Error::new(
        ErrorKind::Closed,
        "the request was cancelled, so its connection was closed",
    )
}

impl Client {
    /// Builds a client (of a cluster when `config.cluster` says so). It does
    /// not connect: the first request does.
    pub fn new(config: &ConnectionConfig) -> Result<Arc<Self>> {
        let topology = if config.cluster.is_some() {
            Topology::Cluster(Cluster::new(config)?)
        } else {
            Topology::Standalone(Connections::new(config)?)
        };
        Ok(Arc::new_cyclic(|me| Self {
            topology,
            response_timeout: config.response_timeout,
            single_connection: config.single_connection,
            retry: config.retry,
            me: me.clone(),
            subscribers: Mutex::new(Vec::new()),
            context: Arc::new(events::context(config)),
        }))
    }

    /// Sends a request from any thread without waiting; `sink` gets the
    /// outcome (once, on whichever thread has it). Requests submitted one
    /// after the other reach the server in that order (on the same route).
    pub fn submit(&self, request: Request, sink: Sink) -> Submitted {
        let Request { batch, route } = request;
        let blocking = batch.blocking();
        let deadline = self.deadline(blocking);
        let connections = match &self.topology {
            Topology::Standalone(connections) => connections,
            Topology::Cluster(cluster) => {
                let target = match route {
                    Route::Auto => ClusterTarget::Auto,
                    Route::Node(node) => ClusterTarget::Node(node),
                    // A WATCH session's connection, to the node of its slot.
                    Route::Lease(lease) => {
                        return cluster.send_on_lease(lease, &batch, deadline, sink);
                    }
                };
                return cluster.submit(batch, &target, deadline, sink);
            }
        };
        let holds_connection = blocking.is_some_and(|b| b.dedicated);
        match route {
            Route::Node(_) => refuse(
                sink,
                Error::new(
                    ErrorKind::InvalidInput,
                    "target_nodes needs a cluster client (RedisCluster)",
                ),
            ),
            Route::Lease(lease) => send_leased(lease, &batch, deadline, sink),
            Route::Auto if holds_connection && !self.single_connection => {
                self.send_on_dedicated(batch, deadline, sink)
            }
            Route::Auto if holds_connection => self.send_shared_blocking(&batch, deadline, sink),
            // A Sentinel-managed primary's `READONLY` means the service
            // moved: the command did not run, and goes to the new primary.
            Route::Auto if blocking.is_none() && connections.follows_primary() => {
                let batch = Arc::new(batch);
                let sink = if self.retry.attempts > 1 {
                    self.retrying(Arc::clone(&batch), deadline, 1, Duration::ZERO, sink)
                } else {
                    sink
                };
                self.send_following(connections, &batch, deadline, 1, sink)
            }
            // Blocking commands are not sent again: they hold a connection
            // of their own, which a cancel closes, and wait on their own terms.
            Route::Auto if blocking.is_none() && self.retry.attempts > 1 => {
                let batch = Arc::new(batch);
                let sink = self.retrying(Arc::clone(&batch), deadline, 1, Duration::ZERO, sink);
                send_shared(connections, &batch, deadline, sink)
            }
            Route::Auto => send_shared(connections, &batch, deadline, sink),
        }
    }

    /// Wraps `sink` so that a failure the retry policy covers sends the
    /// request again (after the backoff, on the shared connection, within
    /// its original deadline) instead of reaching the caller. `tries` counts
    /// the sends so far; `previous` is the last backoff delay.
    fn retrying(
        &self,
        batch: Arc<Batch>,
        deadline: Option<Instant>,
        tries: u32,
        previous: Duration,
        sink: Sink,
    ) -> Sink {
        let me = self.me.clone();
        let policy = self.retry;
        Box::new(move |outcome| {
            let again = match &outcome {
                Err(err) if policy.retries(&batch, err, tries) => me.upgrade(),
                _ => None,
            };
            let Some(client) = again else {
                return sink(outcome);
            };
            let delay = policy.backoff.delay(tries, previous);
            let too_late = deadline.is_some_and(|at| Instant::now() + delay >= at);
            let runtime = match runtime::handle() {
                Ok(runtime) if !too_late && !client.is_closed() => runtime,
                _ => return sink(outcome),
            };
            runtime.spawn(async move {
                tokio::time::sleep(delay).await;
                let next = client.retrying(Arc::clone(&batch), deadline, tries + 1, delay, sink);
                let submitted = match client.standalone() {
                    Ok(connections) => send_shared(connections, &batch, deadline, next),
                    Err(err) => refuse(next, err),
                };
                if submitted.wake_owed {
                    client.wake();
                }
            });
        })
    }

    /// Sends a request of a Sentinel-managed primary's on the shared
    /// connection; when that connection's node answers `READONLY` (it was
    /// demoted: the command did not run), retires the connection and sends
    /// the request again, on a connection opened to where the sentinels now
    /// say the primary is, within its deadline, if nothing in it ran that
    /// changed anything (`sentinel::readonly`). `tries` counts the sends.
    fn send_following(
        &self,
        connections: &Arc<Connections>,
        batch: &Arc<Batch>,
        deadline: Option<Instant>,
        tries: u32,
        sink: Sink,
    ) -> Submitted {
        let pipe = match connections.shared() {
            Ok(pipe) => pipe,
            Err(err) => return refuse(sink, err),
        };
        let me = self.me.clone();
        let answered_on = pipe.clone();
        let again = Arc::clone(batch);
        let wrapped: Sink = Box::new(move |outcome| {
            let verdict = readonly::verdict(&again, &outcome);
            if verdict == Verdict::Answered {
                return sink(outcome);
            }
            let Some(client) = me.upgrade() else {
                return sink(outcome);
            };
            let Ok(connections) = client.standalone() else {
                return sink(outcome);
            };
            // Demoted: the client leaves the node whether or not this
            // request may go again.
            if connections.retire_shared(&answered_on) {
                client.report_readonly();
            }
            if verdict == Verdict::Surface || tries >= FOLLOW_TRIES {
                return sink(outcome);
            }
            // At once the first time; then a pause, while the sentinels
            // catch up with the demotion.
            let delay = FOLLOW_PAUSE * (tries - 1);
            let too_late = deadline.is_some_and(|at| Instant::now() + delay >= at);
            let runtime = match runtime::handle() {
                Ok(runtime) if !too_late && !client.is_closed() => runtime,
                _ => return sink(outcome),
            };
            runtime.spawn(async move {
                tokio::time::sleep(delay).await;
                let submitted = match client.standalone() {
                    Ok(connections) => {
                        client.send_following(connections, &again, deadline, tries + 1, sink)
                    }
                    Err(err) => refuse(sink, err),
                };
                if submitted.wake_owed {
                    client.wake();
                }
            });
        });
        let wake_owed = match pipe.enqueue(batch, deadline, wrapped) {
            WakeNeed::None => false,
            WakeNeed::Now => {
                pipe.wake_writer();
                false
            }
            WakeNeed::Soon => true,
        };
        Submitted {
            wake_owed,
            cancel: None,
        }
    }

    /// Logs that a `READONLY` reply moved this Sentinel-managed primary
    /// client (once per retired connection): the sentinels' announcement
    /// did not reach it first.
    fn report_readonly(&self) {
        events::emit(Topic::Connection, Level::Info, || {
            events::Event::new(
                Topic::Connection,
                Level::Info,
                "sentinel_readonly",
                "the primary answered READONLY (it was demoted): asking the sentinels again"
                    .to_owned(),
            )
            .within(&self.context)
        });
    }

    /// Sends a request and waits for its outcome.
    pub async fn execute(&self, request: Request) -> Result<Value> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let submitted = self.submit(
            request,
            Box::new(move |outcome| {
                // The caller may have stopped waiting.
                let _ = reply.send(outcome);
            }),
        );
        // Nothing batches a lone caller's wake-ups: pay it now.
        if submitted.wake_owed {
            self.wake();
        }
        answer
            .await
            .unwrap_or_else(|_| Err(Error::new(ErrorKind::Internal, "the reply was lost")))
    }

    /// Sends a blocking command on a dedicated connection of its own, once
    /// one is free.
    fn send_on_dedicated(&self, batch: Batch, deadline: Option<Instant>, sink: Sink) -> Submitted {
        let request = InFlight::new(Target::Waiting);
        let submitted = request.submitted();
        let connections = match self.standalone() {
            Ok(connections) => connections,
            Err(err) => return refuse(sink, err),
        };
        Lease::take_then(connections, move |outcome| {
            let lease = match outcome {
                Ok(lease) => lease,
                Err(err) => return complete(sink, Err(err)),
            };
            let pipe: Pipe = lease.pipe().clone();
            {
                // Checked under the lock `cancel` takes after setting the
                // flag: either it sees the lease and closes it, or this sees
                // the flag and never sends.
                let mut target = request.target.lock();
                if request.cancelled.load(Ordering::Acquire) {
                    drop(target);
                    drop(lease); // never used: goes back as it came
                    return complete(sink, Err(cancelled_error()));
                }
                *target = Target::Leased(lease);
            }
            request.send(&pipe, &batch, deadline, sink);
        });
        submitted
    }

    /// A single-connection client's blocking command: on the shared
    /// connection, in order with everything else (so it holds up what comes
    /// after it, as on redis-py's one connection).
    fn send_shared_blocking(
        &self,
        batch: &Batch,
        deadline: Option<Instant>,
        sink: Sink,
    ) -> Submitted {
        let pipe = match self
            .standalone()
            .and_then(|connections| connections.shared())
        {
            Ok(pipe) => pipe,
            Err(err) => {
                complete(sink, Err(err));
                return Submitted {
                    wake_owed: false,
                    cancel: None,
                };
            }
        };
        let request = InFlight::new(Target::Shared(pipe.clone()));
        let submitted = request.submitted();
        request.send(&pipe, batch, deadline, sink);
        submitted
    }

    /// A dedicated connection held across requests (a `WATCH` session); send
    /// on it with [`Route::Lease`]. Dropping it gives the connection back.
    /// A cluster client leases a connection to the primary that serves
    /// `slot` (the slot of the keys to watch), which it must be given.
    /// With a lease wait configured this blocks the thread until one is free
    /// or the wait ends; never call it from a runtime thread.
    pub fn lease(&self, slot: Option<u16>) -> Result<Lease> {
        Lease::take_waiting(&self.lease_pool(slot)?)
    }

    /// As [`Self::lease`], but fails at once when every dedicated connection
    /// is in use, for callers that must not block (a runtime task).
    pub fn lease_now(&self, slot: Option<u16>) -> Result<Lease> {
        Lease::take(&self.lease_pool(slot)?)
    }

    /// The connections a lease comes from: a standalone client's own, or
    /// those of the node serving `slot` by the cluster's current slot map.
    fn lease_pool(&self, slot: Option<u16>) -> Result<Arc<Connections>> {
        match (&self.topology, slot) {
            (Topology::Standalone(connections), None) => Ok(Arc::clone(connections)),
            (Topology::Standalone(_), Some(_)) => Err(Error::new(
                ErrorKind::InvalidInput,
                "a lease for a slot needs a cluster client",
            )),
            (Topology::Cluster(cluster), Some(slot)) => cluster.slot_connections(slot),
            (Topology::Cluster(_), None) => Err(Error::new(
                ErrorKind::Cluster,
                "a cluster client leases a connection for a slot (the watched keys')",
            )),
        }
    }

    /// A standalone client's connections; a cluster client has none of
    /// its own (its leases come from a node's, by slot: [`Self::lease`]).
    fn standalone(&self) -> Result<&Arc<Connections>> {
        match &self.topology {
            Topology::Standalone(connections) => Ok(connections),
            Topology::Cluster(_) => Err(not_in_cluster("a dedicated connection")),
        }
    }

    /// The cluster's router, for a cluster client.
    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        match &self.topology {
            Topology::Cluster(cluster) => Some(cluster),
            Topology::Standalone(_) => None,
        }
    }

    /// For a cluster client: reads the slot map now and waits for it (a
    /// standalone client has nothing to read).
    pub async fn refresh_topology(&self) -> Result<()> {
        match &self.topology {
            Topology::Cluster(cluster) => cluster.refresh().await,
            Topology::Standalone(_) => Ok(()),
        }
    }

    /// For a cluster client: `(primaries, replicas)` of the current slot map
    /// (empty before it is read).
    pub fn cluster_nodes(&self) -> (Vec<NodeName>, Vec<NodeName>) {
        self.cluster()
            .and_then(|cluster| cluster.slot_map())
            .map_or_else(Default::default, |map| (map.primaries(), map.replicas()))
    }

    /// For a cluster client: sends keyless commands (those the command
    /// table sends to one node) to the node chosen from now on (see
    /// [`crate::cluster::DefaultNode::on`]); `None` goes back to the map's
    /// first primary. Refused for a standalone client and a name that is
    /// not `host:port`.
    pub fn set_default_node(&self, chosen: Option<Chosen>) -> Result<()> {
        let cluster = self.cluster().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                "only a cluster client has a default node",
            )
        })?;
        cluster.default_node().set(chosen)
    }

    /// For a cluster client: the node keyless commands go to on the current
    /// slot map (`None` before it is read, or for a standalone client).
    pub fn default_node(&self) -> Option<NodeName> {
        let cluster = self.cluster()?;
        let map = cluster.slot_map()?;
        cluster.default_node().on(&map).ok()
    }

    /// For a cluster client: the nodes serving `slot` by the current slot
    /// map, its primary first, then its replicas (empty when no node serves
    /// it, the map is not read yet, or the client is standalone).
    pub fn slot_nodes(&self, slot: u16) -> Vec<NodeName> {
        self.cluster()
            .and_then(|cluster| cluster.slot_map())
            .and_then(|map| {
                map.shard(slot).map(|shard| {
                    std::iter::once(Arc::clone(&shard.primary))
                        .chain(shard.replicas.iter().cloned())
                        .collect()
                })
            })
            .unwrap_or_default()
    }

    /// A subscriber to this client's server: a connection of its own, opened
    /// on its first command (see [`crate::pubsub`]). At most `max_buffered`
    /// published messages wait unread in its inbox; more drop the oldest.
    /// Closing the client closes it too.
    pub fn subscriber(&self, max_buffered: usize) -> Result<Subscriber> {
        let runtime = runtime::handle()?;
        let mut subscribers = self.subscribers.lock();
        if self.is_closed() {
            return Err(Error::closed());
        }
        let subscriber = match &self.topology {
            Topology::Standalone(connections) => Subscriber::start(
                connections.connector(),
                max_buffered,
                self.response_timeout,
                runtime,
                Arc::clone(&self.context),
            )?,
            Topology::Cluster(cluster) => Subscriber::start_cluster(
                cluster.connector(),
                cluster.shard_router(),
                max_buffered,
                self.response_timeout,
                runtime,
                Arc::clone(&self.context),
            )?,
        };
        if let Topology::Standalone(connections) = &self.topology {
            // A Sentinel-managed primary's subscriber follows the service
            // to its new primary, as the client's connections do.
            connections.move_with_service(subscriber.closer());
        }
        subscribers.retain(|closer| !closer.is_gone());
        subscribers.push(subscriber.closer());
        Ok(subscriber)
    }

    /// Sends the RESP3 pushes that arrive on this client's connections
    /// (client-side caching's invalidations) to `sink`; without one they are
    /// dropped. Applies to connections opened from now on: set it before the
    /// first request.
    pub fn set_push_sink(&self, sink: Option<PushSink>) {
        match &self.topology {
            Topology::Standalone(connections) => connections.set_push_sink(sink),
            Topology::Cluster(cluster) => cluster.set_push_sink(sink),
        }
    }

    /// When a request submitted now must be answered by, if ever.
    fn deadline(&self, blocking: Option<Blocking>) -> Option<Instant> {
        let timeout = self.response_timeout?;
        match blocking {
            None => Some(Instant::now() + timeout),
            // The command's own timeout counts on top of the socket timeout.
            Some(Blocking {
                at_most: Some(wait),
                ..
            }) => Some(Instant::now() + timeout + wait),
            Some(Blocking { at_most: None, .. }) => None,
        }
    }

    /// Wakes the writer of the shared connection (the deferred wake-up
    /// [`Self::submit`] asks for).
    pub fn wake(&self) {
        // A cluster's router wakes each node's writer as it sends.
        if let Topology::Standalone(connections) = &self.topology {
            if let Ok(pipe) = connections.shared() {
                pipe.wake_writer();
            }
        }
    }

    /// Closes the client: requests in flight and later ones fail with a
    /// closed error.
    pub fn close(&self) {
        // The subscribers' lock is held until the connections are closed, so
        // a subscriber made meanwhile either is in the list or is refused.
        let mut registered = self.subscribers.lock();
        match &self.topology {
            Topology::Standalone(connections) => connections.close(),
            Topology::Cluster(cluster) => cluster.close(),
        }
        let subscribers = std::mem::take(&mut *registered);
        drop(registered);
        for subscriber in subscribers {
            subscriber.close();
        }
    }

    /// Closes every connection as [`Self::close`] does (requests in flight
    /// fail with a closed error, subscribers close), but the client stays
    /// usable: the next request opens a new connection (redis-py's
    /// `close()` then use again).
    pub fn disconnect(&self) {
        let registered = std::mem::take(&mut *self.subscribers.lock());
        match &self.topology {
            Topology::Standalone(connections) => connections.disconnect(),
            Topology::Cluster(cluster) => cluster.disconnect(),
        }
        for subscriber in registered {
            subscriber.close();
        }
    }

    pub fn is_closed(&self) -> bool {
        match &self.topology {
            Topology::Standalone(connections) => connections.is_closed(),
            Topology::Cluster(cluster) => cluster.is_closed(),
        }
    }
}

impl Drop for Client {
    /// A cluster's router is held by its own tasks (retries, refreshes), so
    /// the client lets go of its connections when it goes (they close once
    /// their requests are answered, as a standalone client's do).
    fn drop(&mut self) {
        if let Topology::Cluster(cluster) = &self.topology {
            cluster.close_when_idle();
        }
    }
}

#[cold]
fn refuse(sink: Sink, err: Error) -> Submitted {
    complete(sink, Err(err));
    Submitted {
        wake_owed: false,
        cancel: None,
    }
}

#[cold]
fn not_in_cluster(what: &str) -> Error {
    Error::new(
        ErrorKind::Cluster,
        format!("{what} is not supported by a cluster client yet"),
    )
}

/// Sends on a dedicated connection the caller holds (a `WATCH` session's).
/// The request holds the lease until its reply, then lets go of it before
/// the caller hears of it.
pub(crate) fn send_leased(
    lease: Lease,
    batch: &Batch,
    deadline: Option<Instant>,
    sink: Sink,
) -> Submitted {
    let pipe: Pipe = lease.pipe().clone();
    let request = InFlight::new(Target::Leased(lease));
    let submitted = request.submitted();
    request.send(&pipe, batch, deadline, sink);
    submitted
}

/// Queues a request on a standalone client's shared connection.
fn send_shared(
    connections: &Connections,
    batch: &Batch,
    deadline: Option<Instant>,
    sink: Sink,
) -> Submitted {
    let pipe = match connections.shared() {
        Ok(pipe) => pipe,
        Err(err) => {
            complete(sink, Err(err));
            return Submitted {
                wake_owed: false,
                cancel: None,
            };
        }
    };
    let wake_owed = match pipe.enqueue(batch, deadline, sink) {
        WakeNeed::None => false,
        WakeNeed::Now => {
            pipe.wake_writer();
            false
        }
        WakeNeed::Soon => true,
    };
    Submitted {
        wake_owed,
        cancel: None,
    }
}
