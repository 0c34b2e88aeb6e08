//! A client of one standalone server: the object every transport drives.

use std::sync::Arc;

use redis::Value;
use tokio::sync::Semaphore;

use crate::command::Command;
use crate::config::ConnectionConfig;
use crate::connection::Connection;
use crate::error::{Error, ErrorKind, Result};
pub use crate::pipe::ReplySink;
use crate::pipe::WakeNeed;

/// A client of one server. Cheap to share: every method takes `&self`, and any
/// number of requests may be in flight at once on its pipelined connection.
pub struct Client {
    connection: Connection,
    response_timeout: Option<std::time::Duration>,
    /// Bounds the requests waiting for replies when `max_in_flight` is set.
    in_flight: Option<Semaphore>,
}

impl Client {
    /// Builds a client. It does not connect: the first request does.
    pub fn new(config: &ConnectionConfig) -> Result<Arc<Self>> {
        Ok(Arc::new(Self {
            connection: Connection::new(config)?,
            response_timeout: config.response_timeout,
            in_flight: config.max_in_flight.map(Semaphore::new),
        }))
    }

    /// Sends one command and waits for its reply (or the response timeout).
    pub async fn execute(&self, cmd: &Command) -> Result<Value> {
        let _permit = match &self.in_flight {
            Some(limit) => Some(limit.acquire().await.map_err(|_| Error::closed())?),
            None => None,
        };
        let exchange = async {
            let pipe = self.connection.lease().await?;
            pipe.request(cmd).await
        };
        // The timeout covers connecting too: a server that accepts and then
        // stalls must not hold the caller longer than it asked.
        match self.response_timeout {
            None => exchange.await,
            Some(limit) => tokio::time::timeout(limit, exchange)
                .await
                .unwrap_or_else(|_| {
                    Err(Error::new(
                        ErrorKind::Timeout,
                        format!("no reply within {limit:?}"),
                    ))
                }),
        }
    }

    /// Queues a command from any thread without waiting; `sink` gets the
    /// outcome on a runtime thread. Returns whether the caller owes a deferred
    /// wake-up (others are in flight: call [`Self::wake`] once its batch of
    /// commands is queued); an idle connection's writer is woken here.
    ///
    /// When the connection is up and no per-request timer or limit applies,
    /// the command goes straight into the connection's output buffer;
    /// otherwise a task on `runtime` runs it through [`Self::execute`].
    pub fn submit(
        self: &Arc<Self>,
        runtime: &tokio::runtime::Handle,
        cmd: Command,
        sink: ReplySink,
    ) -> bool {
        if self.response_timeout.is_none() && self.in_flight.is_none() {
            if let Some(pipe) = self.connection.ready() {
                return match pipe.enqueue(&cmd, sink) {
                    WakeNeed::None => false,
                    WakeNeed::Now => {
                        pipe.wake_writer();
                        false
                    }
                    WakeNeed::Soon => true,
                };
            }
        }
        let client = Arc::clone(self);
        runtime.spawn(async move {
            let outcome = client.execute(&cmd).await;
            sink(outcome);
        });
        false
    }

    /// Wakes the writer of the live connection (the deferred wake-up
    /// [`Self::submit`] asks for).
    pub fn wake(&self) {
        if let Some(pipe) = self.connection.ready() {
            pipe.wake_writer();
        }
    }

    /// Closes the client: requests in flight and later ones fail with a
    /// closed error.
    pub fn close(&self) {
        self.connection.close();
        if let Some(limit) = &self.in_flight {
            limit.close();
        }
    }

    pub fn is_closed(&self) -> bool {
        self.connection.is_closed()
    }
}
