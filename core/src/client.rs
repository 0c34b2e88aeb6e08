//! A client of one standalone server or of a Redis Cluster: the object every
//! transport drives, through one entry, [`Client::submit`].

use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use redis::Value;
use tokio::time::Instant;

use crate::cluster::{Cluster, NodeName, Target};
use crate::config::ConnectionConfig;
use crate::connection::{Connections, Lease, Pipe, WakeNeed};
use crate::error::{Error, ErrorKind, Result};
use crate::pubsub::{Closer, PushSink, Subscriber};
use crate::request::{complete, Batch, Request, Route, Sink};
use crate::runtime;
use crate::table::Blocking;

/// A client of one server (or one cluster). Cheap to share: every method
/// takes `&self`, and any number of requests may be in flight at once on its
/// pipelined connection(s).
pub struct Client {
    topology: Topology,
    response_timeout: Option<Duration>,
    /// The subscribers made from this client, which `close` closes too.
    subscribers: Mutex<Vec<Closer>>,
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

/// Cancels a request on a dedicated connection by closing the connection.
/// Holds it weakly: the connection goes back to the client when its request
/// completes, whoever still holds this.
pub struct Cancel(Weak<LeaseCell>);

/// What a [`Cancel`] points at.
pub struct LeaseCell(Lease);

impl Cancel {
    pub fn cancel(&self) {
        if let Some(cell) = self.0.upgrade() {
            cell.0.close();
        }
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

impl Client {
    /// Builds a client (of a cluster when `config.cluster` says so). It does
    /// not connect: the first request does.
    pub fn new(config: &ConnectionConfig) -> Result<Arc<Self>> {
        let topology = if config.cluster.is_some() {
            Topology::Cluster(Cluster::new(config)?)
        } else {
            Topology::Standalone(Connections::new(config)?)
        };
        Ok(Arc::new(Self {
            topology,
            response_timeout: config.response_timeout,
            subscribers: Mutex::new(Vec::new()),
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
                    Route::Auto => Target::Auto,
                    Route::Node(node) => Target::Node(node),
                    Route::Lease(_) => {
                        return refuse(sink, not_in_cluster("a dedicated connection (WATCH)"));
                    }
                };
                return cluster.submit(batch, &target, deadline, sink);
            }
        };
        match route {
            Route::Node(_) => refuse(
                sink,
                Error::new(
                    ErrorKind::InvalidInput,
                    "target_nodes needs a cluster client (RedisCluster)",
                ),
            ),
            Route::Lease(lease) => send_leased(lease, &batch, deadline, sink),
            Route::Auto if blocking.is_some_and(|b| b.dedicated) => {
                match Lease::take(connections) {
                    Ok(lease) => send_leased(lease, &batch, deadline, sink),
                    Err(err) => {
                        complete(sink, Err(err));
                        Submitted {
                            wake_owed: false,
                            cancel: None,
                        }
                    }
                }
            }
            Route::Auto => {
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
                let wake_owed = match pipe.enqueue(&batch, deadline, sink) {
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
        }
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

    /// A dedicated connection held across requests (a `WATCH` session); send
    /// on it with [`Route::Lease`]. Dropping it gives the connection back.
    pub fn lease(&self) -> Result<Lease> {
        match &self.topology {
            Topology::Standalone(connections) => Lease::take(connections),
            Topology::Cluster(_) => Err(not_in_cluster("a dedicated connection (WATCH)")),
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
        let connector = match &self.topology {
            Topology::Standalone(connections) => connections.connector(),
            Topology::Cluster(cluster) => cluster.connector()?,
        };
        let subscriber = Subscriber::start(connector, max_buffered, runtime)?;
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

/// Sends on a dedicated connection. The request holds its lease until its
/// reply, then lets go of it before the caller hears of it, so a caller that
/// blocks again at once finds the connection idle and reuses it.
pub(crate) fn send_leased(
    lease: Lease,
    batch: &Batch,
    deadline: Option<Instant>,
    sink: Sink,
) -> Submitted {
    let cell = Arc::new(LeaseCell(lease));
    let cancel = Cancel(Arc::downgrade(&cell));
    let pipe: Pipe = cell.0.pipe().clone();
    pipe.send(
        batch,
        deadline,
        Box::new(move |outcome| {
            drop(cell);
            sink(outcome);
        }),
    );
    Submitted {
        wake_owed: false,
        cancel: Some(cancel),
    }
}
