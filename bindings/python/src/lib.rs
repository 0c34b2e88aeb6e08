//! `babushka._core`: the thin layer between Python and `babushka-core`.
//!
//! ## Layout
//!
//! - `client`: `Client` (`execute` blocks with the GIL released, `call`
//!   invokes callbacks: the ffi transport) and `ManagedSender` (`submit`
//!   completes into a queue: the managed transport for asyncio).
//! - `completions`: `CompletionQueue`, the managed transport's batch wake-up.
//! - `reply_future`: `ReplyFuture`, the asyncio future `ManagedSender.submit`
//!   returns, whose done-callbacks a drain runs in place.
//! - `args`: Python arguments to command bytes (redis-py's encoding rules).
//! - `request`: the Python form of a request (kind and command tuples), read
//!   the same way by every transport's `execute_request`.
//! - `reply`: server replies to Python objects, in the shape each command returns;
//!   `reply_data` the structured shapes of streams, geo and RESP2-only replies.
//! - `pubsub`: `Subscriber` (managed and ffi) and pub/sub messages as
//!   redis-py's dicts, for every transport.
//! - `table`: the core's command table (shape numbers, entries, key lookup).
//! - `encoding`: `encoding`, `encoding_errors` and `decode_responses`.
//! - `events`: the core's events to `babushka._logging`, a batch per GIL.
//! - `errors`: core errors to `babushka.exceptions` classes, in one function.
//! - `runtime`: worker-thread configuration and shutdown.
//! - `debug`: `_debug_panic_next`, a test hook present in debug builds only.
//! - `tls`: `TlsSettings`, a client's TLS settings (`Client(tls=...)`).
//! - `uds`: `start_socket_listener`, `UdsCodec` (the uds transport's frames)
//!   and `UdsLease` (a lease on a uds stream, by id).
//! - `uds_pubsub`: `UdsSubscriber` (a subscriber on a uds stream, by id).

mod args;
mod client;
mod completions;
mod credentials;
mod debug;
mod encoding;
mod errors;
mod events;
mod pubsub;
mod reply;
mod reply_data;
mod reply_future;
mod request;
mod runtime;
mod table;
mod tls;
mod uds;
mod uds_pubsub;

use pyo3::prelude::*;

/// The cluster hash slot of `key` (its bytes, as the server will see them).
#[pyfunction]
fn keyslot(key: &[u8]) -> u16 {
    babushka_core::cluster::slot_of(key)
}

/// The process's connection counters (`babushka_core::stats`):
/// `(connections_opened, connect_failures, reconnects)`.
#[pyfunction]
fn connection_stats() -> (u64, u64, u64) {
    let stats = babushka_core::stats::snapshot();
    (
        stats.connections_opened,
        stats.connect_failures,
        stats.reconnects,
    )
}

#[pymodule]
fn _core(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add_class::<client::PyClient>()?;
    module.add_class::<client::ManagedSender>()?;
    module.add_class::<client::WriterWake>()?;
    module.add_class::<client::PyLease>()?;
    module.add_class::<client::PyCancel>()?;
    module.add_class::<completions::PyCompletionQueue>()?;
    module.add_class::<reply_future::ReplyFuture>()?;
    module.add_class::<pubsub::PySubscriber>()?;
    module.add(
        "DEFAULT_MAX_BUFFERED_MESSAGES",
        babushka_core::pubsub::DEFAULT_MAX_BUFFERED,
    )?;
    module.add_class::<tls::PyTlsSettings>()?;
    module.add_function(wrap_pyfunction!(keyslot, module)?)?;
    module.add_function(wrap_pyfunction!(connection_stats, module)?)?;
    runtime::register(module)?;
    table::register(module)?;
    uds::register(module)?;
    debug::register(module)?;
    events::register(module)?;
    Ok(())
}
