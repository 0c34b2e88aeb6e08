//! # babushka-core
//!
//! The I/O core of Babushka, a Redis / Valkey client for Python. Nothing here
//! knows about Python: the `babushka-python` crate is a thin layer that turns
//! Python calls into calls on this crate, so `cargo test` runs without an
//! interpreter.
//!
//! ## Layout
//!
//! - [`runtime`]: the one Tokio runtime of the process and its worker count.
//! - [`fork`]: the one place `fork` is handled; pieces with locks register hooks.
//! - [`config`]: where and how to connect (address, credentials, timeouts, TLS).
//! - [`request`]: the one request type (a command or a batch, and its route).
//! - [`client`]: a client of one server or one cluster; every transport
//!   drives one of these through [`Client::submit`].
//! - [`cluster`]: a cluster client's router: the slot map, routing by the
//!   command table's keys and policies, `MOVED`/`ASK`, retries, refreshes.
//! - `connection`: the shared pipelined connection (`pipe`: output buffer,
//!   waiting replies, deadlines, writer and reader tasks), the dedicated ones
//!   leased to blocking commands and `WATCH`, `session` (open + handshake)
//!   and `tls` (rustls, set up once per client, run in the open step).
//! - [`table`]: the command table: each command's key positions, flags,
//!   blocking timeout and default reply shape (checked against the servers).
//! - [`completion`]: the managed transport's completion queue with its eventfd.
//! - `eventfd`: the Linux eventfd both the completion queue and the pipe's writer wait on.
//! - [`pubsub`]: subscribers (a connection of their own, an inbox, the
//!   subscriptions restored after a reconnection) and the push sink.
//! - [`command`]: commands encoded once, straight into RESP.
//! - [`resp`]: the decoder of the server's replies.
//! - [`retry`]: the reconnect and retry policy (backoff, which requests are
//!   sent again) and the schedule that spaces a client's connection attempts.
//! - [`stats`]: process-wide connection counters (opened, failed, reconnects).
//! - [`sentinel`]: a Sentinel-managed service: the address asked of the
//!   sentinels at each connect, `+switch-master` followed.
//! - [`debug`]: panics on demand at chosen sites, for tests (debug builds).
//! - [`error`]: the one error type, with kinds the binding maps to exceptions.
//! - [`events`]: connection events for the application's logs (a sink the
//!   binding sets, a threshold per topic read with one atomic load).
//! - [`socket`]: the uds transport: frames (from `proto/*.proto`) and the listener.

pub mod client;
pub mod cluster;
pub mod command;
pub mod completion;
pub mod config;
mod connection;
pub mod debug;
pub mod error;
mod eventfd;
pub mod events;
pub mod fork;
pub mod pubsub;
pub mod request;
pub mod resp;
pub mod retry;
pub mod runtime;
pub mod sentinel;
pub mod socket;
pub mod stats;
pub mod table;

pub use client::{Cancel, Client, Submitted};
pub use command::{Command, CommandBuilder};
pub use config::{
    Address, ClusterOptions, ConnectionConfig, CredentialFuture, CredentialProvider, Credentials,
    Keepalive, Protocol, SentinelOptions, SentinelRole, TlsConfig, TlsVersion,
};
pub use connection::Lease;
pub use error::{Error, ErrorKind, Result};
pub use pubsub::{PushSink, Subscriber};
pub use redis::{Cmd, Value};
pub use request::{Batch, Request, Route, Sink};
pub use retry::{Backoff, RetryPolicy};
