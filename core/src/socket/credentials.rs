//! Credentials asked of the wrapper over its stream, for a client whose
//! `credential_provider` lives in the wrapper's process (uds transport).
//!
//! Every connection the stream's client opens asks once: the listener writes
//! a `credentials_request` frame with a fresh ask id and the opening waits
//! (within its connect timeout) for the wrapper's `credentials` frame with
//! that id. The stream's read loop hands answers over here. Asking through
//! the stream, rather than calling into the wrapper some other way, keeps
//! the rule that frames carry values only, and works whichever thread or
//! event loop reads the wrapper's end.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};

use super::listener::Outgoing;
use super::proto::{self, response};
use crate::config::{CredentialProvider, Credentials};
use crate::error::{Error, ErrorKind, Result};

/// The asks of one stream still waiting for their answers.
#[derive(Default)]
pub(crate) struct Asks {
    next: AtomicU64,
    waiting: Mutex<HashMap<u64, oneshot::Sender<Result<Credentials>>>>,
}

impl Asks {
    /// A provider that asks the wrapper at the other end of `tx`.
    /// Holds the stream's writer weakly: the client (which keeps the
    /// provider) must not keep the stream open after the wrapper left.
    pub(crate) fn provider(
        self: &Arc<Self>,
        tx: mpsc::WeakUnboundedSender<Outgoing>,
    ) -> CredentialProvider {
        let asks = Arc::clone(self);
        CredentialProvider(Arc::new(move || {
            let id = asks.next.fetch_add(1, Ordering::Relaxed) + 1;
            let (answer, answered) = oneshot::channel();
            asks.waiting.lock().insert(id, answer);
            let sent = tx.upgrade().is_some_and(|tx| {
                tx.send(Outgoing::Frame(proto::Response {
                    request_id: 0,
                    result: Some(response::Result::CredentialsRequest(id)),
                }))
                .is_ok()
            });
            let asks = Arc::clone(&asks);
            Box::pin(async move {
                if !sent {
                    asks.waiting.lock().remove(&id);
                    return Err(gone());
                }
                answered.await.unwrap_or_else(|_| Err(gone()))
            })
        }))
    }

    /// Hands the wrapper's answer to the ask waiting for it; an answer to an
    /// ask that gave up (its connect timed out) is dropped.
    pub(crate) fn answer(&self, id: u64, answer: Result<Credentials>) {
        if let Some(waiting) = self.waiting.lock().remove(&id) {
            let _ = waiting.send(answer);
        }
    }

    /// The stream ended: every ask still waiting fails.
    pub(crate) fn abandon(&self) {
        self.waiting.lock().clear();
    }
}

#[cold]
fn gone() -> Error {
    Error::new(
        ErrorKind::Connection,
        "the wrapper's stream closed before it gave credentials",
    )
}
