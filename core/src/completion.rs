//! The completion queue of the managed transport.
//!
//! Requests run on the runtime's workers; each one that finishes pushes its
//! outcome here. The consumer (an asyncio event loop) is not woken per item:
//! only the push that finds the queue empty writes to the eventfd, so one
//! wake-up covers every completion that lands before the consumer drains.
//!
//! Why no wake-up is lost: the consumer clears the eventfd *before* it takes
//! the items. A push that lands after the take finds the queue empty and
//! signals again; a push that lands before the take is taken with the rest.

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use parking_lot::Mutex;

use crate::eventfd::EventFd;

/// A multi-producer queue drained in batches by one consumer, with an eventfd
/// that becomes readable when the queue goes from empty to non-empty.
pub struct CompletionQueue<T> {
    items: Mutex<Vec<T>>,
    signal: EventFd,
}

impl<T> CompletionQueue<T> {
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            items: Mutex::new(Vec::new()),
            signal: EventFd::new()?,
        })
    }

    /// The descriptor to watch for readability.
    pub fn fd(&self) -> RawFd {
        self.signal.as_raw_fd()
    }

    /// Adds one outcome; wakes the consumer only if the queue was empty.
    pub fn push(&self, item: T) {
        let was_empty = {
            let mut items = self.items.lock();
            let was_empty = items.is_empty();
            items.push(item);
            was_empty
        };
        if was_empty {
            self.signal.notify();
        }
    }

    /// Takes every queued outcome, in completion order, and clears the signal.
    /// `spare` is an empty vector whose allocation the queue reuses, so a steady
    /// load allocates nothing here.
    pub fn drain_into(&self, spare: &mut Vec<T>) {
        self.signal.clear();
        std::mem::swap(&mut *self.items.lock(), spare);
    }

    /// Calls `visit` on every queued outcome, in order, without taking them
    /// (a Python binding reports them to the garbage collector this way).
    pub fn for_each(&self, mut visit: impl FnMut(&T)) {
        for item in self.items.lock().iter() {
            visit(item);
        }
    }

    /// Takes every queued outcome (convenience form of [`Self::drain_into`]).
    pub fn drain(&self) -> Vec<T> {
        let mut items = Vec::new();
        self.drain_into(&mut items);
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn readable(fd: RawFd) -> bool {
        let mut pollfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, zero timeout.
        unsafe { libc::poll(&raw mut pollfd, 1, 0) == 1 }
    }

    #[test]
    fn signals_once_per_batch_and_keeps_order() {
        let queue = CompletionQueue::new().unwrap();
        assert!(!readable(queue.fd()));
        queue.push(1);
        queue.push(2);
        assert!(readable(queue.fd()));
        assert_eq!(queue.drain(), vec![1, 2]);
        assert!(!readable(queue.fd()));
        assert!(queue.drain().is_empty());
    }

    #[test]
    fn no_item_is_lost_under_concurrent_pushes() {
        let queue = Arc::new(CompletionQueue::new().unwrap());
        let producers: Vec<_> = (0..4)
            .map(|p| {
                let queue = Arc::clone(&queue);
                std::thread::spawn(move || {
                    for i in 0..10_000 {
                        queue.push(p * 10_000 + i);
                    }
                })
            })
            .collect();
        let mut seen = Vec::new();
        let mut spare = Vec::new();
        while seen.len() < 40_000 {
            let mut pollfd = libc::pollfd {
                fd: queue.fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd; waits at most 1 s so a lost wake-up fails the test.
            let ready = unsafe { libc::poll(&raw mut pollfd, 1, 1000) };
            assert_eq!(ready, 1, "a completion was queued without a wake-up");
            queue.drain_into(&mut spare);
            seen.append(&mut spare);
        }
        for producer in producers {
            producer.join().unwrap();
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..40_000).collect::<Vec<_>>());
    }
}
