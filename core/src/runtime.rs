//! The one Tokio runtime of the process, shared by every client.
//!
//! It starts lazily, on the first client, so that `configure_worker_threads`
//! can still change it before then. Its worker count comes, in order, from
//! that call, from `BABUSHKA_WORKER_THREADS`, or from the number of CPUs this
//! process may run on (`available_parallelism` honours CPU affinity and cgroup
//! quotas on Linux).
//!
//! ## After `fork`
//!
//! A forked child inherits the runtime's memory but none of its threads, so
//! nothing spawned on it would ever run. A `pthread_atfork` handler therefore
//! abandons the parent's runtime in the child (it is leaked, not dropped:
//! dropping would wait for threads that do not exist) and bumps
//! [`generation`]; the next request starts a fresh runtime, and connections
//! opened in the parent see the new generation and reconnect.

use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::runtime::{Handle, Runtime};

use crate::error::{Error, ErrorKind, Result};
use crate::fork::{self, ForkHook};

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
/// A leaked clone of the running runtime's handle, or null when none runs:
/// reading it on the hot path takes no lock.
static HANDLE: AtomicPtr<Handle> = AtomicPtr::new(ptr::null_mut());
/// Bumped in every forked child; see [`generation`].
static GENERATION: AtomicU64 = AtomicU64::new(0);
static FORK_HANDLERS: Once = Once::new();

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

/// Which process's runtime this is: 0 in the process that first used
/// Babushka, one more in each forked child. Anything bound to the runtime
/// (a connection's socket and tasks) belongs to the generation it was made in.
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// The runtime's handle, starting the runtime on first use.
pub fn handle() -> Result<&'static Handle> {
    let handle = HANDLE.load(Ordering::Acquire);
    if !handle.is_null() {
        // SAFETY: HANDLE only ever holds a pointer leaked by `start`, never freed.
        return Ok(unsafe { &*handle });
    }
    start()
}

#[cold]
fn start() -> Result<&'static Handle> {
    register_fork_handlers();
    let mut state = STATE.lock();
    if state.shut_down {
        return Err(Error::new(
            ErrorKind::Closed,
            "the Babushka runtime has been shut down",
        ));
    }
    let running = HANDLE.load(Ordering::Acquire);
    if !running.is_null() {
        // SAFETY: as in `handle`.
        return Ok(unsafe { &*running });
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
    let handle: &'static Handle = Box::leak(Box::new(runtime.handle().clone()));
    HANDLE.store(ptr::from_ref(handle).cast_mut(), Ordering::Release);
    state.workers = workers;
    state.runtime = Some(runtime);
    Ok(handle)
}

/// Joins the fork registry (once): see [`crate::fork`]. Called before
/// anything takes the runtime's lock.
pub(crate) fn register_fork_handlers() {
    FORK_HANDLERS.call_once(|| {
        static HOOK: ForkHook = ForkHook {
            // Taken while the listener's (rank 0) is held: see `socket::start`.
            rank: 1,
            prepare: before_fork,
            parent: after_fork_in_parent,
            child: after_fork_in_child,
        };
        fork::register(&HOOK);
    });
}

/// Holds the runtime's lock across `fork`, so the child never inherits it
/// locked by a thread it does not have.
fn before_fork() {
    std::mem::forget(STATE.lock());
}

fn after_fork_in_parent() {
    // SAFETY: `before_fork` locked STATE on this thread and forgot the guard.
    unsafe { STATE.force_unlock() };
}

/// In the child: abandon the parent's runtime (its threads are gone) so the
/// next request starts a new one. Only moves memory: no lock but our own, no
/// allocation, no system call.
fn after_fork_in_child() {
    // SAFETY: `before_fork` locked STATE on this thread and forgot the guard,
    // and this thread is the only one in the child.
    let state = unsafe { &mut *STATE.data_ptr() };
    if let Some(runtime) = state.runtime.take() {
        // Dropping it would wait for worker threads that were not forked.
        std::mem::forget(runtime);
    }
    HANDLE.store(ptr::null_mut(), Ordering::Release);
    GENERATION.fetch_add(1, Ordering::AcqRel);
    // SAFETY: as above.
    unsafe { STATE.force_unlock() };
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
        HANDLE.store(ptr::null_mut(), Ordering::Release);
        state.runtime.take()
    };
    if let Some(runtime) = runtime {
        runtime.shutdown_timeout(grace);
    }
}
