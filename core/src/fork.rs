//! The one place `fork` is handled: a registry of hooks that the pieces
//! holding process-wide locks join, run by one set of `pthread_atfork`
//! handlers.
//!
//! A forked child inherits memory but only the forking thread, so a lock
//! another thread held at the fork would stay locked for ever in the child.
//! Each piece with such a lock registers a [`ForkHook`] that takes the lock
//! before the fork and releases it after, in the parent and in the child.
//! Hooks run in ascending [`ForkHook::rank`] before the fork and in reverse
//! after it, whatever order they registered in: locks are taken in the order
//! the code nests them (a forking thread cannot deadlock with one that holds
//! the first and waits for the second) and released in the reverse one.
//!
//! The handlers run in a process that may be in any state, so they only move
//! memory: the registry is a fixed array of pointers to `'static` hooks,
//! registered (with an allocation-free atomic push) long before any fork.

use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::Once;

/// What one piece does around `fork`.
pub struct ForkHook {
    /// Where the piece's lock nests: a lock the code takes while holding
    /// another has a higher rank than that one.
    pub rank: u8,
    /// Takes the piece's locks (in the thread that forks).
    pub prepare: fn(),
    /// Releases them in the parent.
    pub parent: fn(),
    /// Releases them in the child, and drops what belongs to the parent.
    pub child: fn(),
}

/// More than the core has pieces with locks; registering more panics at once
/// (a bug to fix in this file), never at fork time.
const CAPACITY: usize = 8;

static HOOKS: [AtomicPtr<ForkHook>; CAPACITY] =
    [const { AtomicPtr::new(ptr::null_mut()) }; CAPACITY];
static COUNT: AtomicUsize = AtomicUsize::new(0);
static INSTALLED: Once = Once::new();

/// Adds `hook`; call once per piece, before it first takes its locks.
pub fn register(hook: &'static ForkHook) {
    install();
    let slot = COUNT.fetch_add(1, Ordering::AcqRel);
    assert!(slot < CAPACITY, "more fork hooks than fork::CAPACITY");
    HOOKS[slot].store(ptr::from_ref(hook).cast_mut(), Ordering::Release);
}

fn install() {
    INSTALLED.call_once(|| {
        // SAFETY: the three handlers are plain functions that live as long as
        // the process and only run registered hooks (see the module doc).
        unsafe {
            libc::pthread_atfork(Some(prepare), Some(parent), Some(child));
        }
    });
}

/// The registered hooks, in registration order.
fn registered() -> impl Iterator<Item = &'static ForkHook> {
    let count = COUNT.load(Ordering::Acquire).min(CAPACITY);
    HOOKS[..count].iter().filter_map(|slot| {
        // SAFETY: slots hold null or a pointer from a `&'static ForkHook`.
        unsafe { slot.load(Ordering::Acquire).as_ref() }
    })
}

/// Calls `run` on every hook by rank, ascending or descending; allocates
/// nothing (a scan per rank: there are a handful of hooks).
fn by_rank(ascending: bool, run: impl Fn(&ForkHook)) {
    for step in 0..=u8::MAX {
        let rank = if ascending { step } else { u8::MAX - step };
        for hook in registered().filter(|hook| hook.rank == rank) {
            run(hook);
        }
    }
}

extern "C" fn prepare() {
    by_rank(true, |hook| (hook.prepare)());
}

extern "C" fn parent() {
    by_rank(false, |hook| (hook.parent)());
}

extern "C" fn child() {
    by_rank(false, |hook| (hook.child)());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    static SEEN: Mutex<Vec<&str>> = Mutex::new(Vec::new());

    #[test]
    fn hooks_run_by_rank_whatever_their_registration_order() {
        static LATE: ForkHook = ForkHook {
            rank: 200,
            prepare: || SEEN.lock().unwrap().push("prepare 200"),
            parent: || SEEN.lock().unwrap().push("parent 200"),
            child: || SEEN.lock().unwrap().push("child 200"),
        };
        static EARLY: ForkHook = ForkHook {
            rank: 199,
            prepare: || SEEN.lock().unwrap().push("prepare 199"),
            parent: || SEEN.lock().unwrap().push("parent 199"),
            child: || SEEN.lock().unwrap().push("child 199"),
        };
        register(&LATE);
        register(&EARLY);
        prepare();
        parent();
        child();
        let seen: Vec<&str> = SEEN
            .lock()
            .unwrap()
            .iter()
            .copied()
            .filter(|entry| entry.ends_with("199") || entry.ends_with("200"))
            .collect();
        assert_eq!(
            seen,
            vec![
                "prepare 199",
                "prepare 200",
                "parent 200",
                "parent 199",
                "child 200",
                "child 199"
            ]
        );
    }
}
