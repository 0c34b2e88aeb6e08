//! A server connection that opens lazily and reopens itself.
//!
//! The first request connects (and runs the handshake: `HELLO`/`AUTH`,
//! `SELECT`, `CLIENT SETNAME`); requests that arrive while an attempt runs
//! share it. When the connection breaks, every request waiting on it fails
//! with a connection error and the next request opens a fresh one.
//!
//! In a forked child, a connection opened by the parent belongs to the
//! parent's runtime (see [`runtime::generation`]): its socket is shared with
//! the parent and its tasks' threads are gone. The child leaves it alone (it
//! is leaked, never closed: closing would shut the parent's socket down and
//! drop its registration from the epoll instance both processes share) and
//! opens its own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt, Shared};
use parking_lot::Mutex;
use redis::{Cmd, Value};
use tokio::net::{TcpStream, UnixStream};

use crate::command::Command;
use crate::config::{Address, ConnectionConfig, Protocol};
use crate::error::{Error, ErrorKind, Result};
use crate::pipe::Pipe;
use crate::runtime;

type ConnectFuture = Shared<BoxFuture<'static, Result<Pipe>>>;

/// Idle time before the first keep-alive probe, and the time between probes.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
/// How long a forked child waits for a connection's lock, which a parent
/// thread may have held at the fork, before giving up with an error.
const FORK_LOCK_WAIT: Duration = Duration::from_secs(5);

enum State {
    /// No connection yet, or the last one broke.
    Idle,
    /// An attempt is under way; requests that arrive now wait for it.
    Connecting(ConnectFuture),
    Ready(Pipe),
    Closed,
}

pub(crate) struct Connection {
    config: ConnectionConfig,
    state: Mutex<State>,
    /// The runtime generation `state` belongs to.
    generation: AtomicU64,
}

impl Connection {
    pub(crate) fn new(config: &ConnectionConfig) -> Result<Self> {
        if config.db < 0 {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("db must be a non-negative integer, got {}", config.db),
            ));
        }
        Ok(Self {
            config: config.clone(),
            state: Mutex::new(State::Idle),
            generation: AtomicU64::new(runtime::generation()),
        })
    }

    /// Whether `state` was made by a parent process's runtime.
    fn is_inherited(&self) -> bool {
        self.generation.load(Ordering::Acquire) != runtime::generation()
    }

    /// In a forked child: leaves the parent's connection to the parent and
    /// starts over from `Idle` (or stays `Closed`).
    ///
    /// Waits at most `patience` for the lock (which a parent thread may have
    /// held at the fork, and then nobody ever releases).
    #[cold]
    fn disown_inherited(&self, patience: Duration) -> Result<()> {
        let Some(mut state) = self.state.try_lock_for(patience) else {
            return Err(Error::new(
                ErrorKind::Internal,
                "this client was in use by another thread when the process forked, and its \
                 lock was never released in the child; create a new client after fork",
            ));
        };
        let generation = runtime::generation();
        if self.generation.load(Ordering::Acquire) != generation {
            let fresh = if matches!(*state, State::Closed) {
                State::Closed
            } else {
                State::Idle
            };
            std::mem::forget(std::mem::replace(&mut *state, fresh));
            self.generation.store(generation, Ordering::Release);
        }
        Ok(())
    }

    /// The live connection, if there is one, without waiting.
    pub(crate) fn ready(&self) -> Option<Pipe> {
        if self.is_inherited() {
            return None; // `lease` disowns it
        }
        match &*self.state.lock() {
            State::Ready(pipe) if !pipe.is_broken() => Some(pipe.clone()),
            _ => None,
        }
    }

    /// A live connection, opening one if needed.
    pub(crate) async fn lease(&self) -> Result<Pipe> {
        if self.is_inherited() {
            self.disown_inherited(FORK_LOCK_WAIT)?;
        }
        let attempt = {
            let mut state = self.state.lock();
            match &*state {
                State::Ready(pipe) if !pipe.is_broken() => return Ok(pipe.clone()),
                State::Connecting(attempt) => attempt.clone(),
                State::Closed => return Err(Error::closed()),
                State::Ready(_) | State::Idle => {
                    let attempt = connect(self.config.clone()).boxed().shared();
                    *state = State::Connecting(attempt.clone());
                    attempt
                }
            }
        };
        let outcome = attempt.clone().await;
        let mut state = self.state.lock();
        match (&*state, &outcome) {
            (State::Closed, Ok(pipe)) => {
                drop(state);
                pipe.shut_down(&Error::closed());
                return Err(Error::closed());
            }
            (State::Closed, Err(_)) => return Err(Error::closed()),
            // Only the attempt this request waited on may settle the state.
            (State::Connecting(current), _) if current.ptr_eq(&attempt) => {
                *state = match &outcome {
                    Ok(pipe) => State::Ready(pipe.clone()),
                    Err(_) => State::Idle,
                };
            }
            _ => {}
        }
        outcome
    }

    /// Drops the connection: requests waiting on it fail with a closed
    /// error, and so does every later one.
    pub(crate) fn close(&self) {
        // No waiting here: this also runs in `drop`, perhaps under the GIL.
        if self.is_inherited() && self.disown_inherited(Duration::ZERO).is_err() {
            return; // the lock is lost with a parent thread: nothing to close here
        }
        let previous = std::mem::replace(&mut *self.state.lock(), State::Closed);
        if let State::Ready(pipe) = previous {
            pipe.shut_down(&Error::closed());
        }
    }
}

impl Drop for Connection {
    /// A client dropped without `close()` still stops its tasks and socket.
    fn drop(&mut self) {
        self.close();
    }
}

impl Connection {
    pub(crate) fn is_closed(&self) -> bool {
        if self.is_inherited() && self.disown_inherited(Duration::ZERO).is_err() {
            return false;
        }
        matches!(&*self.state.lock(), State::Closed)
    }
}

async fn connect(config: ConnectionConfig) -> Result<Pipe> {
    match config.connect_timeout {
        Some(limit) => tokio::time::timeout(limit, open(&config))
            .await
            .unwrap_or_else(|_| {
                Err(Error::new(
                    ErrorKind::Timeout,
                    format!("connecting took longer than {limit:?}"),
                ))
            }),
        None => open(&config).await,
    }
}

async fn open(config: &ConnectionConfig) -> Result<Pipe> {
    let pipe = match &config.address {
        Address::Tcp { host, port } => {
            let stream = TcpStream::connect((host.as_str(), *port))
                .await
                .map_err(|err| connect_error(&err, &format!("{host}:{port}")))?;
            // Requests are small and latency-bound; never wait to coalesce them.
            stream
                .set_nodelay(true)
                .map_err(|err| connect_error(&err, host))?;
            // Probe an idle connection, so a server that vanished without
            // closing it (host down, network cut) is noticed, the requests
            // waiting on it fail, and the next one reconnects.
            let keepalive = socket2::TcpKeepalive::new()
                .with_time(KEEPALIVE_IDLE)
                .with_interval(KEEPALIVE_INTERVAL);
            socket2::SockRef::from(&stream)
                .set_tcp_keepalive(&keepalive)
                .map_err(|err| connect_error(&err, host))?;
            let (reader, writer) = stream.into_split();
            Pipe::start(reader, writer).map_err(|err| connect_error(&err, host))?
        }
        Address::Unix(path) => {
            let stream = UnixStream::connect(path)
                .await
                .map_err(|err| connect_error(&err, &path.display().to_string()))?;
            let (reader, writer) = stream.into_split();
            Pipe::start(reader, writer)
                .map_err(|err| connect_error(&err, &path.display().to_string()))?
        }
    };
    // Until the handshake succeeds the pipe is ours alone: if this future is
    // dropped (connect timeout, caller gone), close it rather than leak it.
    let guard = ShutDownOnDrop(Some(pipe));
    let pipe = guard.0.as_ref().expect("set above");
    if let Err(err) = handshake(pipe, config).await {
        pipe.shut_down(&err);
        return Err(err);
    }
    Ok(guard.disarm())
}

struct ShutDownOnDrop(Option<Pipe>);

impl ShutDownOnDrop {
    fn disarm(mut self) -> Pipe {
        self.0.take().expect("disarmed once")
    }
}

impl Drop for ShutDownOnDrop {
    fn drop(&mut self) {
        if let Some(pipe) = self.0.take() {
            pipe.shut_down(&Error::new(
                ErrorKind::Connection,
                "the connection attempt was abandoned",
            ));
        }
    }
}

#[cold]
fn connect_error(err: &std::io::Error, target: &str) -> Error {
    Error::new(
        ErrorKind::Connection,
        format!("cannot connect to {target}: {err}"),
    )
}

/// Authenticates, picks the protocol and database, and names the connection.
async fn handshake(pipe: &Pipe, config: &ConnectionConfig) -> Result<()> {
    let password = config.password.as_deref();
    let username = config.username.as_deref();
    if config.protocol == Protocol::Resp3 {
        let mut hello = Cmd::new();
        hello.arg("HELLO").arg(3);
        if let Some(password) = password {
            hello
                .arg("AUTH")
                .arg(username.unwrap_or("default"))
                .arg(password);
        }
        pipe.request(&Command::from(&hello))
            .await
            .map_err(auth_error)?;
    } else if let Some(password) = password {
        let mut auth = Cmd::new();
        auth.arg("AUTH");
        if let Some(username) = username {
            auth.arg(username);
        }
        auth.arg(password);
        pipe.request(&Command::from(&auth))
            .await
            .map_err(auth_error)?;
    }
    if config.db != 0 {
        expect_ok(
            pipe.request(&Command::from(&*redis::cmd("SELECT").arg(config.db)))
                .await,
        )?;
    }
    if let Some(name) = &config.client_name {
        expect_ok(
            pipe.request(&Command::from(
                &*redis::cmd("CLIENT").arg("SETNAME").arg(name),
            ))
            .await,
        )?;
    }
    // Best effort: servers before 7.2 do not know CLIENT SETINFO.
    let mut info = Cmd::new();
    info.arg("CLIENT")
        .arg("SETINFO")
        .arg("LIB-NAME")
        .arg("babushka");
    let mut version = Cmd::new();
    version
        .arg("CLIENT")
        .arg("SETINFO")
        .arg("LIB-VER")
        .arg(env!("CARGO_PKG_VERSION"));
    let _ = futures::future::join(
        pipe.request(&Command::from(&info)),
        pipe.request(&Command::from(&version)),
    )
    .await;
    Ok(())
}

fn expect_ok(outcome: Result<Value>) -> Result<()> {
    outcome.map(|_| ())
}

/// A refused `AUTH`/`HELLO` is an authentication failure whatever its code.
#[cold]
fn auth_error(err: Error) -> Error {
    if err.kind() == ErrorKind::Response {
        Error::new(ErrorKind::Authentication, err.message().to_owned())
    } else {
        err
    }
}
