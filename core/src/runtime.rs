//! The one Tokio runtime of the process, shared by every client.
//!
//! It starts lazily, on the first client, so that `configure_worker_threads`
//! can still change it before then. Its worker count comes, in order, from
//! that call, from `BABUSHKA_WORKER_THREADS`, or from the number of CPUs this
//! process may run on (`available_parallelism` honours CPU affinity and cgroup
//! quotas on Linux).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::runtime::{Handle, Runtime};

use crate::error::{Error, ErrorKind, Result};

/// The prefix of every worker thread's name, so they are easy to spot in `top -H`.
pub const THREAD_NAME: &str = "babushka-worker";
/// The name of the runtime's blocking-pool threads (DNS lookups and the like),
/// kept distinct so the worker count can be checked on the live threads.
pub const BLOCKING_THREAD_NAME: &str = "babushka-block";
/// The environment variable that sets the worker count when no call does.
pub const WORKER_THREADS_ENV: &str = "BABUSHKA_WORKER_THREADS";

struct State {
    configured_workers: Option<usize>,
    /// Owned here (not in the `OnceLock`) so `shutdown` can take it out.
    runtime: Option<Runtime>,
    workers: usize,
    shut_down: bool,
}

static STATE: Mutex<State> = Mutex::new(State {
    configured_workers: None,
    runtime: None,
    workers: 0,
    shut_down: false,
});
/// A clone of the runtime's handle: reading it on the hot path takes no lock.
static HANDLE: OnceLock<Handle> = OnceLock::new();
/// Set once by [`shutdown`]; checked without a lock before any work is spawned.
static SHUT_DOWN: AtomicBool = AtomicBool::new(false);

/// Sets the worker count. Only valid before the runtime has started.
pub fn configure_worker_threads(workers: usize) -> Result<()> {
    if workers == 0 {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "worker_threads must be at least 1",
        ));
    }
    let mut state = STATE.lock();
    if state.runtime.is_some() || state.shut_down {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "the runtime already runs with {} worker threads; configure it before the first client",
                state.workers
            ),
        ));
    }
    state.configured_workers = Some(workers);
    Ok(())
}

/// The worker count the runtime has, or would have if it started now.
pub fn worker_threads() -> Result<usize> {
    let state = STATE.lock();
    if state.runtime.is_some() {
        return Ok(state.workers);
    }
    resolve_workers(state.configured_workers)
}

/// Whether the runtime has started.
pub fn is_started() -> bool {
    STATE.lock().runtime.is_some()
}

/// The runtime's handle, starting the runtime on first use.
pub fn handle() -> Result<&'static Handle> {
    if let Some(handle) = HANDLE.get() {
        if !SHUT_DOWN.load(Ordering::Acquire) {
            return Ok(handle);
        }
    }
    start()
}

#[cold]
fn start() -> Result<&'static Handle> {
    let mut state = STATE.lock();
    if state.shut_down {
        return Err(Error::new(
            ErrorKind::Closed,
            "the Babushka runtime has been shut down",
        ));
    }
    if let Some(handle) = HANDLE.get() {
        return Ok(handle);
    }
    let workers = resolve_workers(state.configured_workers)?;
    // Tokio names worker and blocking threads alike; the workers are exactly
    // the threads it spawns while `build` runs, so name them by that.
    let building = Arc::new(AtomicBool::new(true));
    let building_flag = Arc::clone(&building);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name_fn(move || {
            let name = if building_flag.load(Ordering::Acquire) {
                THREAD_NAME
            } else {
                BLOCKING_THREAD_NAME
            };
            name.to_owned()
        })
        .enable_all()
        .build()
        .map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                format!("cannot start the runtime: {e}"),
            )
        })?;
    building.store(false, Ordering::Release);
    let handle = HANDLE.get_or_init(|| runtime.handle().clone());
    state.workers = workers;
    state.runtime = Some(runtime);
    Ok(handle)
}

fn resolve_workers(configured: Option<usize>) -> Result<usize> {
    if let Some(workers) = configured {
        return Ok(workers);
    }
    if let Ok(text) = std::env::var(WORKER_THREADS_ENV) {
        return match text.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(Error::new(
                ErrorKind::InvalidInput,
                format!("{WORKER_THREADS_ENV} must be a positive integer, got {text:?}"),
            )),
        };
    }
    Ok(std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
}

/// Stops the runtime: its workers finish what they hold within `grace` and exit.
/// Later calls to [`handle`] fail with [`ErrorKind::Closed`]. Called at interpreter exit.
pub fn shutdown(grace: Duration) {
    let runtime = {
        let mut state = STATE.lock();
        state.shut_down = true;
        SHUT_DOWN.store(true, Ordering::Release);
        state.runtime.take()
    };
    if let Some(runtime) = runtime {
        runtime.shutdown_timeout(grace);
    }
}
