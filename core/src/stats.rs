//! Process-wide connection counters, for observable metrics (the Python
//! package's OpenTelemetry instruments read them on each collection).
//!
//! They count connection events, never requests, so they cost nothing on
//! the request path; process-wide, so connections the uds listener opens
//! for its streams count as every other transport's do.

use std::sync::atomic::{AtomicU64, Ordering};

static OPENED: AtomicU64 = AtomicU64::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);
static RECONNECTS: AtomicU64 = AtomicU64::new(0);

/// The counters at one moment; each only ever grows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections opened: connected, and their handshake done.
    pub connections_opened: u64,
    /// Connection attempts that failed (refused, timed out, handshake refused).
    pub connect_failures: u64,
    /// Shared connections replaced after they broke (a lost connection, a
    /// failed health check, a failed attempt).
    pub reconnects: u64,
}

/// The counters now.
#[must_use]
pub fn snapshot() -> Stats {
    Stats {
        connections_opened: OPENED.load(Ordering::Relaxed),
        connect_failures: FAILED.load(Ordering::Relaxed),
        reconnects: RECONNECTS.load(Ordering::Relaxed),
    }
}

pub(crate) fn opened(ok: bool) {
    let counter = if ok { &OPENED } else { &FAILED };
    counter.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn reconnected() {
    RECONNECTS.fetch_add(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_counts_in_its_own_counter() {
        // Other tests open connections in parallel: the counters only grow,
        // so each is at least one more after its event.
        let before = snapshot();
        opened(true);
        opened(false);
        reconnected();
        let after = snapshot();
        assert!(after.connections_opened > before.connections_opened);
        assert!(after.connect_failures > before.connect_failures);
        assert!(after.reconnects > before.reconnects);
    }
}
