//! A multiplexed server connection that reopens itself.
//!
//! redis-rs's `MultiplexedConnection` pipelines every request sent through it
//! over one socket and matches replies to requests in order, so a request whose
//! caller gave up still consumes its own reply and can never hand it to another.
//! What it does not do is come back after the socket breaks. This wrapper
//! connects lazily on the first request, shares one connection attempt between
//! every request that arrives while it runs, and drops a broken connection so
//! the next request opens a fresh one (running `CLIENT SETNAME` again).

use futures::future::{BoxFuture, FutureExt, Shared};
use parking_lot::Mutex;
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Cmd};

use crate::config::ConnectionConfig;
use crate::error::{Error, Result};

type ConnectFuture = Shared<BoxFuture<'static, Result<MultiplexedConnection>>>;

enum State {
    /// No connection yet, or the last one broke.
    Idle,
    /// An attempt is under way; requests that arrive now wait for it.
    Connecting(ConnectFuture, u64),
    Ready(MultiplexedConnection, u64),
    Closed,
}

pub(crate) struct Connection {
    client: redis::Client,
    async_config: AsyncConnectionConfig,
    client_name: Option<String>,
    state: Mutex<State>,
    /// Counts connection attempts, so a late failure report about an old
    /// connection cannot tear down the new one.
    generation: Mutex<u64>,
}

/// A connection to send one request on, tagged with its generation.
pub(crate) struct Lease {
    pub(crate) connection: MultiplexedConnection,
    pub(crate) generation: u64,
}

impl Connection {
    pub(crate) fn new(config: &ConnectionConfig) -> Result<Self> {
        let client = redis::Client::open(config.connection_info()?)?;
        let mut async_config = AsyncConnectionConfig::new()
            .set_connection_timeout(config.connect_timeout)
            .set_response_timeout(config.response_timeout);
        if let Some(limit) = config.max_in_flight {
            async_config = async_config.set_concurrency_limit(limit);
        }
        Ok(Self {
            client,
            async_config,
            client_name: config.client_name.clone(),
            state: Mutex::new(State::Idle),
            generation: Mutex::new(0),
        })
    }

    /// A live connection, opening one if needed.
    pub(crate) async fn lease(&self) -> Result<Lease> {
        let (attempt, generation) = {
            let mut state = self.state.lock();
            match &*state {
                State::Ready(connection, generation) => {
                    return Ok(Lease {
                        connection: connection.clone(),
                        generation: *generation,
                    })
                }
                State::Connecting(attempt, generation) => (attempt.clone(), *generation),
                State::Closed => return Err(Error::closed()),
                State::Idle => {
                    let generation = {
                        let mut counter = self.generation.lock();
                        *counter += 1;
                        *counter
                    };
                    let attempt = self.connect().boxed().shared();
                    *state = State::Connecting(attempt.clone(), generation);
                    (attempt, generation)
                }
            }
        };
        let outcome = attempt.await;
        let mut state = self.state.lock();
        if matches!(&*state, State::Connecting(_, g) if *g == generation) {
            *state = match &outcome {
                Ok(connection) => State::Ready(connection.clone(), generation),
                Err(_) => State::Idle,
            };
        }
        if matches!(&*state, State::Closed) {
            return Err(Error::closed());
        }
        outcome.map(|connection| Lease {
            connection,
            generation,
        })
    }

    fn connect(
        &self,
    ) -> impl std::future::Future<Output = Result<MultiplexedConnection>> + 'static {
        let client = self.client.clone();
        let config = self.async_config.clone();
        let client_name = self.client_name.clone();
        async move {
            let mut connection = client
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            if let Some(name) = client_name {
                let mut cmd = Cmd::new();
                cmd.arg("CLIENT").arg("SETNAME").arg(name);
                connection.req_packed_command(&cmd).await?;
            }
            Ok(connection)
        }
    }

    /// Forgets a connection that broke, unless a newer one already replaced it.
    pub(crate) fn report_broken(&self, generation: u64) {
        let mut state = self.state.lock();
        if matches!(&*state, State::Ready(_, g) if *g == generation) {
            *state = State::Idle;
        }
    }

    /// Drops the connection; requests sent after this fail with a closed error.
    pub(crate) fn close(&self) {
        *self.state.lock() = State::Closed;
    }

    pub(crate) fn is_closed(&self) -> bool {
        matches!(&*self.state.lock(), State::Closed)
    }
}
