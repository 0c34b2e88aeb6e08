//! A client of a Sentinel-managed service: where its connections go is
//! asked of the sentinels at every connect, and the client follows them when
//! they fail the service over.
//!
//! - [`Sentinel::resolve`]: the address to connect to now: `SENTINEL MASTER`
//!   (a primary the sentinel sees as up, with enough other sentinels) or
//!   `SENTINEL REPLICAS` (a replica in good health, in turn; the primary when
//!   there is none), asking the sentinels in turn, the last one that answered
//!   first. A connection opened to the address then checks `ROLE` in its
//!   handshake (`session`): a primary client never stays on a node that
//!   reports itself a replica.
//! - `watch`: a task subscribed to `+switch-master` (and to the leading
//!   sentinel's `+failover-state-send-slaveof-noone`, a second earlier) on
//!   one sentinel (the next one when its connection breaks); when the
//!   service moves it calls the client's follower, which retires the
//!   connections to the old primary (the requests already sent there finish
//!   or fail; new ones open connections to the new primary) and moves its
//!   subscribers (they reconnect and subscribe again), and pins the
//!   announced address, so a sentinel that has not heard of the switch yet
//!   cannot send the client back. A replica announced a moment ago is asked
//!   `ROLE` again until it reports itself primary (`session`).
//! - A `READONLY` reply to a primary client's request is the other signal
//!   (`crate::client`): a command answered so did not run, so the request
//!   is sent again, within its deadline, on a connection opened after
//!   re-resolving, when nothing else in it ran that changed anything
//!   ([`readonly`]: a whole transaction, a pipeline whose every write was
//!   refused); otherwise the `READONLY` replies reach the caller.

mod query;
pub(crate) mod readonly;
mod watch;

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::config::{Address, ConnectionConfig, SentinelOptions, SentinelRole};
use crate::connection::Endpoint;
use crate::error::{Error, ErrorKind, Result};
use crate::events::{self, Event, Level, Topic};
use crate::runtime;

/// How long a newly announced primary is kept even when connecting to it
/// fails (see [`Sentinel::forget`]).
const PIN_GRACE: Duration = Duration::from_secs(1);

/// Called when the sentinels announce that the service moved.
pub(crate) type Follower = Arc<dyn Fn() + Send + Sync>;

/// The error codes the binding turns into redis-py's `MasterNotFoundError`
/// and `SlaveNotFoundError` (both connection errors).
pub const MASTER_NOT_FOUND: &str = "MASTERNOTFOUND";
pub const SLAVE_NOT_FOUND: &str = "SLAVENOTFOUND";

/// One client's view of its sentinels.
pub(crate) struct Sentinel {
    options: SentinelOptions,
    /// How to reach each sentinel (its credentials and TLS, the client's
    /// timeouts), in the order given.
    sentinels: Vec<Arc<Endpoint>>,
    /// The sentinel to ask first: the last one that answered.
    first: AtomicUsize,
    /// Replicas are taken in turn.
    next_replica: AtomicUsize,
    /// The primary a `+switch-master` (or a promotion under way) announced,
    /// and when: used until a connection to it fails after [`PIN_GRACE`]
    /// (then the sentinels are asked again).
    pinned: Mutex<Option<(Address, Instant)>>,
    /// What the watcher calls when the service moves.
    follower: Mutex<Option<Follower>>,
    /// The watcher task's stop, and the runtime generation it runs in (a
    /// forked child starts its own).
    watcher: Mutex<Option<(u64, CancellationToken)>>,
}

impl fmt::Debug for Sentinel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sentinel")
            .field("service", &self.options.service)
            .field("role", &self.options.role)
            .finish_non_exhaustive()
    }
}

impl Sentinel {
    /// The sentinel side of `config` (whose `sentinel` is set).
    pub(crate) fn new(config: &ConnectionConfig, options: &SentinelOptions) -> Result<Self> {
        if options.sentinels.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "a sentinel client needs at least one sentinel address",
            ));
        }
        if config.cluster.is_some() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "a client follows either a cluster or sentinels, not both",
            ));
        }
        let sentinels = options
            .sentinels
            .iter()
            .map(|address| Endpoint::new(&sentinel_config(config, options, address)).map(Arc::new))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            options: options.clone(),
            sentinels,
            first: AtomicUsize::new(0),
            next_replica: AtomicUsize::new(0),
            pinned: Mutex::new(None),
            follower: Mutex::new(None),
            watcher: Mutex::new(None),
        })
    }

    pub(crate) fn role(&self) -> SentinelRole {
        self.options.role
    }

    /// Who to tell when the service moves (the client's connections).
    pub(crate) fn set_follower(&self, follower: Follower) {
        *self.follower.lock() = Some(follower);
    }

    /// The address to connect to now (see the module's doc). Starts the
    /// `+switch-master` watcher the first time (in this process).
    pub(crate) async fn resolve(self: &Arc<Self>) -> Result<Address> {
        if self.options.role == SentinelRole::Primary {
            self.ensure_watcher();
            if let Some((pinned, _)) = self.pinned.lock().clone() {
                return Ok(pinned);
            }
        }
        let count = self.sentinels.len();
        let start = self.first.load(Ordering::Relaxed);
        let mut failures = Vec::new();
        for offset in 0..count {
            let at = (start + offset) % count;
            let asked = match self.options.role {
                SentinelRole::Primary => query::primary(&self.sentinels[at], &self.options).await,
                SentinelRole::Replica => {
                    let turn = self.next_replica.fetch_add(1, Ordering::Relaxed);
                    query::replica(&self.sentinels[at], &self.options, turn).await
                }
            };
            match asked {
                Ok(Some(address)) => {
                    self.first.store(at, Ordering::Relaxed);
                    return Ok(address);
                }
                Ok(None) => failures.push(format!("{}: no such service", self.name(at))),
                Err(err) => failures.push(format!("{}: {}", self.name(at), err.message())),
            }
        }
        let code = match self.options.role {
            SentinelRole::Primary => MASTER_NOT_FOUND,
            SentinelRole::Replica => SLAVE_NOT_FOUND,
        };
        let what = match self.options.role {
            SentinelRole::Primary => "No master found",
            SentinelRole::Replica => "No slave found",
        };
        Err(Error::with_code(
            ErrorKind::Connection,
            Some(code.to_owned()),
            format!(
                "{what} for '{}' : {}",
                self.options.service,
                failures.join(", ")
            ),
        ))
    }

    /// A connection to `address` failed or reported the wrong role: if it
    /// was the pinned primary, ask the sentinels next time.
    pub(crate) fn forget(&self, address: &Address) {
        let mut pinned = self.pinned.lock();
        if pinned.as_ref().is_some_and(|(at, _)| at == address) {
            *pinned = None;
        }
    }

    /// Whether `address` was announced a moment ago (less than
    /// [`PIN_GRACE`]): a replica told to become primary may still report
    /// itself a replica for a few milliseconds, so a connection that failed
    /// is tried again rather than given up.
    pub(crate) fn promoting(&self, address: &Address) -> bool {
        self.pinned
            .lock()
            .as_ref()
            .is_some_and(|(at, since)| at == address && since.elapsed() < PIN_GRACE)
    }

    /// The pinned primary answered `READONLY`: ask the sentinels next time.
    pub(crate) fn forget_pinned(&self) {
        *self.pinned.lock() = None;
    }

    /// The sentinels announced a new primary.
    fn switched(&self, to: Address) {
        let shown = events::address(&to);
        {
            let mut pinned = self.pinned.lock();
            // The `+switch-master` after a promotion already followed.
            if pinned.as_ref().is_some_and(|(at, _)| *at == to) {
                return;
            }
            *pinned = Some((to, Instant::now()));
        }
        events::emit(Topic::Connection, Level::Info, || {
            Event::new(
                Topic::Connection,
                Level::Info,
                "sentinel_switch",
                format!(
                    "the sentinels moved service {} to {shown}",
                    self.options.service
                ),
            )
            .with("address", shown.clone())
            .with("service", self.options.service.clone())
        });
        let follower = self.follower.lock().clone();
        if let Some(follow) = follower {
            follow();
        }
    }

    /// Starts the watcher unless one runs in this process already.
    fn ensure_watcher(self: &Arc<Self>) {
        let generation = runtime::generation();
        let mut watcher = self.watcher.lock();
        if watcher.as_ref().is_some_and(|(at, _)| *at == generation) {
            return;
        }
        let Ok(handle) = runtime::handle() else {
            return;
        };
        let stop = CancellationToken::new();
        handle.spawn(watch::run(Arc::downgrade(self), stop.clone()));
        *watcher = Some((generation, stop));
    }

    /// Stops the watcher (the client closed); the next connect starts it again.
    pub(crate) fn stop_watching(&self) {
        if let Some((_, stop)) = self.watcher.lock().take() {
            stop.cancel();
        }
    }

    fn name(&self, at: usize) -> String {
        match &self.options.sentinels[at] {
            Address::Tcp { host, port } => format!("{host}:{port}"),
            Address::Unix(path) => path.display().to_string(),
        }
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        self.stop_watching();
    }
}

/// How to reach one sentinel: its own credentials and TLS (redis-py's
/// `sentinel_kwargs`), the client's timeouts and keep-alive, no database,
/// name or library info (sentinels know none of those), RESP2.
fn sentinel_config(
    config: &ConnectionConfig,
    options: &SentinelOptions,
    address: &Address,
) -> ConnectionConfig {
    let mut own = ConnectionConfig::tcp("", 0);
    own.address = address.clone();
    own.username.clone_from(&options.username);
    own.password.clone_from(&options.password);
    own.tls.clone_from(&options.tls);
    own.connect_timeout = config.connect_timeout;
    own.response_timeout = config.response_timeout;
    own.keepalive = config.keepalive;
    own.lib_name = None;
    own.lib_version = None;
    own.retry = config.retry;
    own
}
