//! What the core tells the application about its connections: connects,
//! losses and reconnects, failed attempts, health checks, cluster slot maps,
//! pub/sub backlogs and resubscribes, the uds listener's streams, and forks.
//!
//! The core knows nothing of Python's `logging`: it calls the one [`Sink`]
//! the binding installs ([`set_sink`]) with an [`Event`]. Whether an event
//! is wanted at all is one relaxed atomic load ([`enabled`]): the binding
//! keeps a threshold per [`Topic`] ([`set_threshold`]) that mirrors the
//! effective level of the matching Python logger, and nothing is built or
//! sent below it. With logging off (every threshold at [`OFF`], as before
//! any sink is set) an event costs that load and nothing else.
//!
//! Events happen per connection, never per request, so none of this is on
//! the request path. A sink must never block for long: it is called on the
//! runtime's worker threads. The one the binding uses is [`start`]'s: a
//! bounded queue drained by a thread of its own (`queue`), so no worker
//! ever waits for the consumer (Python's GIL).

mod queue;

pub use queue::{start, stop, Handler, CAPACITY, THREAD_NAME};

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};

use crate::config::{Address, ConnectionConfig};
use crate::error::Error;

/// How serious an event is; the values are Python's `logging` levels, so
/// the binding passes them through and thresholds compare directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// Routine: a connection opened, a slot map read, a stream accepted.
    Debug = 10,
    /// Worth knowing: a reconnect succeeded, the cluster's layout changed.
    Info = 20,
    /// Something failed and the core is dealing with it: a connection was
    /// lost, an attempt failed, a health check failed, messages were dropped.
    Warning = 30,
    /// The core gave up: connection attempts are spent, requests fail.
    Error = 40,
}

/// Which part of the core an event is about; the binding maps each to a
/// logger (`babushka.<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Topic {
    /// A client's connections: opening, losing, reopening them, and fork.
    Connection = 0,
    /// A cluster client's slot map.
    Cluster = 1,
    /// Subscribers: their connection, resubscribes, dropped backlog.
    Pubsub = 2,
    /// The uds transport's listener and its streams.
    Uds = 3,
}

impl Topic {
    /// Every topic, in the order of their numbers.
    pub const ALL: [Self; 4] = [Self::Connection, Self::Cluster, Self::Pubsub, Self::Uds];

    /// The logger's last name part.
    pub fn name(self) -> &'static str {
        match self {
            Self::Connection => "connection",
            Self::Cluster => "cluster",
            Self::Pubsub => "pubsub",
            Self::Uds => "uds",
        }
    }
}

/// A field's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Int(i64),
}

/// One thing that happened.
#[derive(Debug, Clone)]
pub struct Event {
    pub topic: Topic,
    pub level: Level,
    /// A stable short name (`"reconnected"`), for filters and tests.
    pub name: &'static str,
    /// A sentence for people.
    pub message: String,
    /// Context: the address, the client's name, the error, counts. Never a
    /// credential: only the fields built here and in [`context`] go in.
    pub fields: Vec<(&'static str, Value)>,
}

impl Event {
    pub fn new(topic: Topic, level: Level, name: &'static str, message: String) -> Self {
        Self {
            topic,
            level,
            name,
            message,
            fields: Vec::new(),
        }
    }

    #[must_use]
    pub fn with(mut self, key: &'static str, value: impl Into<Value>) -> Self {
        self.fields.push((key, value.into()));
        self
    }

    /// Adds context fields kept from [`context`].
    #[must_use]
    pub fn within(mut self, context: &Context) -> Self {
        self.fields.extend(context.iter().cloned());
        self
    }

    /// Adds the connection's context (see [`context`]).
    #[must_use]
    pub fn about(mut self, config: &ConnectionConfig) -> Self {
        self.fields.extend(context(config));
        self
    }

    /// Adds `error`: the error's message (never holds a password: the
    /// server's `AUTH` errors do not repeat it, and ours never include it).
    #[must_use]
    pub fn error(self, err: &Error) -> Self {
        self.with("error", err.to_string())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<Arc<str>> for Value {
    fn from(text: Arc<str>) -> Self {
        Self::Text(text.to_string())
    }
}

impl From<i64> for Value {
    fn from(number: i64) -> Self {
        Self::Int(number)
    }
}

impl From<usize> for Value {
    fn from(number: usize) -> Self {
        Self::Int(i64::try_from(number).unwrap_or(i64::MAX))
    }
}

impl From<u64> for Value {
    fn from(number: u64) -> Self {
        Self::Int(i64::try_from(number).unwrap_or(i64::MAX))
    }
}

impl From<u32> for Value {
    fn from(number: u32) -> Self {
        Self::Int(i64::from(number))
    }
}

/// The fields [`context`] gives, kept by what reports about a client later.
pub type Context = Vec<(&'static str, Value)>;

/// A connection's context fields: `address`, and `client_name` and `db` when
/// set. Deliberately not the username or password.
pub fn context(config: &ConnectionConfig) -> Context {
    let mut fields = vec![("address", Value::Text(address(&config.address)))];
    if let Some(name) = &config.client_name {
        fields.push(("client_name", Value::Text(name.clone())));
    }
    if config.db != 0 {
        fields.push(("db", Value::Int(config.db)));
    }
    fields
}

/// `host:port`, or the socket's path.
pub fn address(address: &Address) -> String {
    match address {
        Address::Tcp { host, port } => format!("{host}:{port}"),
        Address::Unix(path) => path.display().to_string(),
    }
}

/// Where events go; the binding's, called on whatever thread the event
/// happens on.
pub type Sink = Box<dyn Fn(Event) + Send + Sync>;

/// Above every level: the topic is off.
pub const OFF: u8 = u8::MAX;

static THRESHOLDS: [AtomicU8; Topic::ALL.len()] = [const { AtomicU8::new(OFF) }; Topic::ALL.len()];
static SINK: OnceLock<Sink> = OnceLock::new();

/// Installs the sink; the first call wins (there is one per process).
pub fn set_sink(sink: Sink) {
    let _ = SINK.set(sink);
}

/// Sets the lowest level of `topic` that is sent to the sink (a Python
/// level number; [`OFF`] for none).
pub fn set_threshold(topic: Topic, level: u8) {
    THRESHOLDS[topic as usize].store(level, Ordering::Relaxed);
}

/// The lowest level of `topic` sent now.
pub fn threshold(topic: Topic) -> u8 {
    THRESHOLDS[topic as usize].load(Ordering::Relaxed)
}

/// Whether an event of `topic` at `level` would be sent: one atomic load.
#[inline]
pub fn enabled(topic: Topic, level: Level) -> bool {
    level as u8 >= THRESHOLDS[topic as usize].load(Ordering::Relaxed)
}

/// Sends the event `build` makes, if its topic wants `level` and a sink is
/// set; `build` runs only then, so a disabled event costs one atomic load.
#[inline]
pub fn emit(topic: Topic, level: Level, build: impl FnOnce() -> Event) {
    if enabled(topic, level) {
        deliver(build());
    }
}

#[cold]
fn deliver(event: Event) {
    if let Some(sink) = SINK.get() {
        sink(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_is_off_until_its_threshold_is_set_and_then_filters_by_level() {
        // Only the uds topic, which no other unit test emits on.
        assert!(!enabled(Topic::Uds, Level::Error));
        set_threshold(Topic::Uds, Level::Warning as u8);
        assert!(!enabled(Topic::Uds, Level::Info));
        assert!(enabled(Topic::Uds, Level::Warning));
        assert!(enabled(Topic::Uds, Level::Error));
        let mut built = false;
        emit(Topic::Uds, Level::Debug, || {
            built = true;
            Event::new(Topic::Uds, Level::Debug, "test", String::new())
        });
        assert!(!built, "a disabled event is never built");
        set_threshold(Topic::Uds, OFF);
        assert!(!enabled(Topic::Uds, Level::Error));
    }

    #[test]
    fn the_context_names_the_address_and_never_the_credentials() {
        let config = ConnectionConfig {
            password: Some("sekrit".into()),
            username: Some("user".into()),
            client_name: Some("app".into()),
            ..ConnectionConfig::tcp("localhost", 6379)
        };
        let fields = context(&config);
        assert_eq!(
            fields,
            vec![
                ("address", Value::Text("localhost:6379".into())),
                ("client_name", Value::Text("app".into())),
            ]
        );
    }
}
