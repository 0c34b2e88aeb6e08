//! A client of one standalone server: the object every transport drives.

use std::sync::Arc;

use redis::{Cmd, Value};

use crate::config::ConnectionConfig;
use crate::connection::Connection;
use crate::error::{Error, Result};

/// A client of one server. Cheap to share: every method takes `&self`, and any
/// number of requests may be in flight at once on its multiplexed connection.
pub struct Client {
    connection: Connection,
}

impl Client {
    /// Builds a client. It does not connect: the first request does.
    pub fn new(config: &ConnectionConfig) -> Result<Arc<Self>> {
        Ok(Arc::new(Self {
            connection: Connection::new(config)?,
        }))
    }

    /// Sends one command and waits for its reply.
    pub async fn execute(&self, cmd: &Cmd) -> Result<Value> {
        let mut lease = self.connection.lease().await?;
        match lease.connection.send_packed_command(cmd).await {
            // redis-rs hands a top-level error reply back as a value; to the
            // caller it is the command's failure.
            Ok(Value::ServerError(err)) => Err(Error::from(redis::RedisError::from(err))),
            Ok(value) => Ok(value),
            Err(err) => Err(self.failed(err, lease.generation)),
        }
    }

    #[cold]
    fn failed(&self, err: redis::RedisError, generation: u64) -> Error {
        let err = Error::from(err);
        if err.is_connection_dropped() {
            self.connection.report_broken(generation);
        }
        err
    }

    /// Closes the client. Requests already on the wire finish; later ones fail.
    pub fn close(&self) {
        self.connection.close();
    }

    pub fn is_closed(&self) -> bool {
        self.connection.is_closed()
    }
}
