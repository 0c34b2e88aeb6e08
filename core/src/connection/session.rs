//! Opening a connection: the socket, TLS when the client asks for it, then
//! the session's handshake (`HELLO`/`AUTH`, `SELECT`, `CLIENT SETNAME`,
//! `CLIENT SETINFO`), all sent in one write and answered before any request
//! of the user's is written.
//!
//! The replies are parsed by the core's own decoder (`crate::resp`); its
//! tests are in `core/tests/decoders.rs`, and `tests::decoder_*` here check
//! the replies this module reads come out whole however they are split.

use std::os::fd::{AsFd, OwnedFd};
use std::pin::Pin;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use futures::StreamExt;
use redis::Value;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio_util::codec::FramedRead;

use super::tls;
use crate::command::Command;
use crate::config::{Address, ConnectionConfig, Credentials, Keepalive, Protocol, SentinelRole};
use crate::error::{Error, ErrorKind, Result};
use crate::resp::RespCodec;
use crate::retry::Schedule;
use crate::sentinel::Sentinel;
use crate::stats;

/// The read half of a connection, decoded into replies.
pub(crate) type Reader = FramedRead<Pin<Box<dyn AsyncRead + Send>>, RespCodec>;
/// The write half of a connection.
pub(crate) type Writer = Pin<Box<dyn AsyncWrite + Send>>;

/// The read buffer's initial size.
const READ_CAPACITY: usize = 64 * 1024;

/// Where and how to open a client's connections: its settings and, for TLS,
/// the connector made from them once (when the certificates were read).
pub(crate) struct Endpoint {
    pub(crate) config: ConnectionConfig,
    tls: Option<tls::Connector>,
    /// When the next connection attempt may be made (every connection of
    /// the client shares it, so attempts stay spaced).
    pub(crate) schedule: Schedule,
    /// For a Sentinel-managed service: where each connection goes is asked
    /// of the sentinels when it is opened.
    pub(crate) sentinel: Option<Arc<Sentinel>>,
    /// Set when an open connection of the client is lost, so the next one
    /// to open is reported as a reconnect (`crate::events`).
    pub(crate) lost: AtomicBool,
}

impl Endpoint {
    /// Checks the settings that can be checked before connecting, and
    /// reads the TLS material.
    pub(crate) fn new(config: &ConnectionConfig) -> Result<Self> {
        let sentinel = match &config.sentinel {
            Some(options) => Some(Arc::new(Sentinel::new(config, options)?)),
            None => None,
        };
        Ok(Self {
            tls: tls::Connector::new(config)?,
            config: config.clone(),
            schedule: Schedule::default(),
            sentinel,
            lost: AtomicBool::new(false),
        })
    }
}

/// An open connection whose handshake is done.
pub(crate) struct Opened {
    pub(crate) reader: Reader,
    pub(crate) writer: Writer,
    /// A second descriptor of the socket, for writes from a caller's thread
    /// (see `pipe`'s direct writes). Its own descriptor, so it stays valid as
    /// long as the pipe keeps it, whatever happens to the halves. Always
    /// `None` over TLS, where bytes written past the TLS stream would
    /// corrupt it.
    pub(crate) direct: Option<OwnedFd>,
    /// The server's id for this connection (`CLIENT ID`), so a cancelled
    /// blocking command can be killed on the server in order with the
    /// client's later requests; `None` if the server would not say.
    pub(crate) client_id: Option<i64>,
}

/// Opens a connection to `address` and runs the handshake (checking
/// `ROLE` for a Sentinel-managed primary).
async fn open_at(endpoint: &Endpoint, address: &Address) -> Result<Opened> {
    let config = &endpoint.config;
    let role = endpoint.sentinel.as_ref().map(|sentinel| sentinel.role());
    let (reader, mut writer, direct) = connect(config, address, endpoint.tls.as_ref()).await?;
    let mut reader = FramedRead::with_capacity(reader, RespCodec::default(), READ_CAPACITY);
    let credentials = credentials(config).await?;
    let client_id = handshake(&mut reader, &mut writer, config, credentials.as_ref(), role).await?;
    Ok(Opened {
        reader,
        writer,
        direct,
        client_id,
    })
}

/// How often a replica being promoted is asked again whether it is primary.
const PROMOTION_POLL: std::time::Duration = std::time::Duration::from_millis(5);

/// Connects and runs the handshake, within the connect timeout.
pub(crate) async fn open(endpoint: &Endpoint) -> Result<Opened> {
    let config = &endpoint.config;
    let opening = async {
        loop {
            let address = match &endpoint.sentinel {
                Some(sentinel) => sentinel.resolve().await?,
                None => config.address.clone(),
            };
            let opened = open_at(endpoint, &address).await;
            let Some(sentinel) = &endpoint.sentinel else {
                return opened;
            };
            if opened.is_ok() {
                return opened;
            }
            // A replica the sentinels are promoting reports itself a replica
            // for a few milliseconds more: wait for it rather than fail
            // (within the connect timeout).
            if sentinel.promoting(&address) {
                tokio::time::sleep(PROMOTION_POLL).await;
                continue;
            }
            sentinel.forget(&address);
            return opened;
        }
    };
    let opened = match config.connect_timeout {
        Some(limit) => tokio::time::timeout(limit, opening)
            .await
            .unwrap_or_else(|_| {
                Err(Error::new(
                    ErrorKind::Timeout,
                    format!("connecting took longer than {limit:?}"),
                ))
            }),
        None => opening.await,
    };
    stats::opened(opened.is_ok());
    opened
}

async fn connect(
    config: &ConnectionConfig,
    address: &Address,
    tls: Option<&tls::Connector>,
) -> Result<(Pin<Box<dyn AsyncRead + Send>>, Writer, Option<OwnedFd>)> {
    match address {
        Address::Tcp { host, port } => {
            let target = format!("{host}:{port}");
            let stream = TcpStream::connect((host.as_str(), *port))
                .await
                .map_err(|err| connect_error(&err, &target))?;
            // Requests are small and latency-bound; never wait to coalesce them.
            stream
                .set_nodelay(true)
                .map_err(|err| connect_error(&err, &target))?;
            // Probe an idle connection, so a server that vanished without
            // closing it (host down, network cut) is noticed, the requests
            // waiting on it fail, and the next one reconnects.
            if let Some(keepalive) = &config.keepalive {
                set_keepalive(&stream, keepalive).map_err(|err| connect_error(&err, &target))?;
            }
            if let Some(tls) = tls {
                let stream = tls.handshake(stream, &target).await?;
                let (reader, writer) = tls::split(stream, &target);
                // No direct writes: they would bypass the encryption.
                return Ok((Box::pin(reader), Box::pin(writer), None));
            }
            let direct = stream.as_fd().try_clone_to_owned().ok();
            let (reader, writer) = stream.into_split();
            Ok((Box::pin(reader), Box::pin(writer), direct))
        }
        Address::Unix(path) => {
            let stream = UnixStream::connect(path)
                .await
                .map_err(|err| connect_error(&err, &path.display().to_string()))?;
            let direct = stream.as_fd().try_clone_to_owned().ok();
            let (reader, writer) = stream.into_split();
            Ok((Box::pin(reader), Box::pin(writer), direct))
        }
    }
}

/// Turns TCP keep-alive on with `keepalive`'s timings (the system's for a
/// timing left unset).
fn set_keepalive(stream: &TcpStream, keepalive: &Keepalive) -> std::io::Result<()> {
    let socket = socket2::SockRef::from(stream);
    socket.set_keepalive(true)?;
    let mut params = socket2::TcpKeepalive::new();
    if let Some(idle) = keepalive.idle {
        params = params.with_time(idle);
    }
    if let Some(interval) = keepalive.interval {
        params = params.with_interval(interval);
    }
    if let Some(count) = keepalive.count {
        params = params.with_retries(count);
    }
    socket.set_tcp_keepalive(&params)
}

/// The credentials to authenticate with: asked of the provider at every
/// connect (so a rotated password or token is picked up), else the
/// configured ones.
async fn credentials(config: &ConnectionConfig) -> Result<Option<Credentials>> {
    if let Some(provider) = &config.credential_provider {
        return (provider.0)().await.map(Some);
    }
    Ok(config.password.as_ref().map(|password| Credentials {
        username: config.username.clone(),
        password: password.clone(),
    }))
}

#[cold]
fn connect_error(err: &std::io::Error, target: &str) -> Error {
    Error::new(
        ErrorKind::Connection,
        format!("cannot connect to {target}: {err}"),
    )
}

/// What a handshake reply means when it is an error.
#[derive(Clone, Copy)]
enum OnError {
    /// The credentials were refused.
    Authentication,
    /// The session cannot be set up as asked (`SELECT` of a bad db).
    Fail,
    /// Optional: servers before 7.2 do not know `CLIENT SETINFO`.
    Ignore,
    /// `CLIENT ID`: its reply is kept; an error (an ACL user without the
    /// right) only means the id is unknown.
    ClientId,
    /// `ROLE` of a sentinel client's node: a primary client refuses a node
    /// that reports itself a replica (the sentinels' view is moving).
    Role,
}

/// The handshake's commands, in order, with what an error reply means.
fn handshake_commands(
    config: &ConnectionConfig,
    credentials: Option<&Credentials>,
    role: Option<SentinelRole>,
) -> Vec<(Command, OnError)> {
    let words = |words: &[&[u8]]| Command::from_args(words).expect("a named command");
    let mut commands = Vec::new();
    let password = credentials.map(|given| given.password.as_bytes());
    let username = credentials.and_then(|given| given.username.as_deref().map(str::as_bytes));
    if config.protocol == Protocol::Resp3 {
        let mut hello: Vec<&[u8]> = vec![b"HELLO", b"3"];
        if let Some(password) = password {
            hello.extend([&b"AUTH"[..], username.unwrap_or(b"default"), password]);
        }
        commands.push((words(&hello), OnError::Authentication));
    } else if let Some(password) = password {
        let mut auth: Vec<&[u8]> = vec![b"AUTH"];
        auth.extend(username);
        auth.push(password);
        commands.push((words(&auth), OnError::Authentication));
    }
    let db = config.db.to_string();
    if config.db != 0 {
        commands.push((words(&[b"SELECT", db.as_bytes()]), OnError::Fail));
    }
    if let Some(name) = &config.client_name {
        commands.push((
            words(&[b"CLIENT", b"SETNAME", name.as_bytes()]),
            OnError::Fail,
        ));
    }
    // As redis-py, a server that lacks `CLIENT SETINFO` (before 7.2) or
    // refuses the value is no reason to fail the connection.
    for (attribute, value) in [
        (&b"LIB-NAME"[..], &config.lib_name),
        (b"LIB-VER", &config.lib_version),
    ] {
        if let Some(value) = value {
            commands.push((
                words(&[b"CLIENT", b"SETINFO", attribute, value.as_bytes()]),
                OnError::Ignore,
            ));
        }
    }
    if config.readonly {
        commands.push((words(&[b"READONLY"]), OnError::Fail));
    }
    commands.push((words(&[b"CLIENT", b"ID"]), OnError::ClientId));
    if role == Some(SentinelRole::Primary) {
        commands.push((words(&[b"ROLE"]), OnError::Role));
    }
    commands
}

/// Whether a `ROLE` reply says the node is a replica.
fn reports_replica(reply: &Value) -> bool {
    let first = match reply {
        Value::Array(items) => items.first(),
        _ => None,
    };
    matches!(first, Some(Value::BulkString(role)) if role == b"slave")
}

/// Sends the handshake in one write and checks every reply; returns the
/// connection's id on the server, if it told it.
async fn handshake(
    reader: &mut Reader,
    writer: &mut Writer,
    config: &ConnectionConfig,
    credentials: Option<&Credentials>,
    role: Option<SentinelRole>,
) -> Result<Option<i64>> {
    let commands = handshake_commands(config, credentials, role);
    let mut out = Vec::new();
    for (cmd, _) in &commands {
        out.extend_from_slice(cmd.packed());
    }
    // The flush matters over TLS, whose writer may hold the last record
    // until flushed; over TCP it costs nothing.
    async {
        writer.write_all(&out).await?;
        writer.flush().await
    }
    .await
    .map_err(|err| Error::from(redis::RedisError::from(err)))?;
    // Read every reply even after a failure, so the first failure is the one
    // reported (a refused AUTH makes the later commands fail with NOAUTH).
    let mut first_failure = None;
    let mut client_id = None;
    for (_, on_error) in commands {
        let reply = match reader.next().await {
            Some(Ok(reply)) => reply,
            Some(Err(err)) => return Err(first_failure.unwrap_or(err)),
            None => {
                return Err(first_failure.unwrap_or_else(|| {
                    Error::new(
                        ErrorKind::Connection,
                        "the server closed the connection during the handshake",
                    )
                }))
            }
        };
        let err = match (reply, on_error) {
            (Value::Int(id), OnError::ClientId) => {
                client_id = Some(id);
                continue;
            }
            (reply, OnError::Role) if reports_replica(&reply) => Error::new(
                ErrorKind::Connection,
                "the node the sentinels named as primary reports itself a replica \
                 (a failover is under way)",
            ),
            (Value::ServerError(err), _) => Error::from(redis::RedisError::from(err)),
            _ => continue,
        };
        let err = match on_error {
            OnError::Ignore | OnError::ClientId => continue,
            // A user whose ACL forbids `ROLE`: the check is skipped.
            OnError::Role if err.kind() == ErrorKind::Response => continue,
            // A refused AUTH/HELLO is an authentication failure whatever its code.
            OnError::Authentication if err.kind() == ErrorKind::Response => Error::with_code(
                ErrorKind::Authentication,
                err.code().map(str::to_owned),
                err.message(),
            ),
            OnError::Role | OnError::Fail | OnError::Authentication => err,
        };
        first_failure.get_or_insert(err);
    }
    first_failure.map_or(Ok(client_id), Err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_util::codec::Decoder;

    fn decode_all(bytes: &[u8], split_at: usize) -> Vec<Value> {
        let mut codec = RespCodec::default();
        let mut buffer = bytes::BytesMut::new();
        let mut values = Vec::new();
        for chunk in [&bytes[..split_at], &bytes[split_at..]] {
            buffer.extend_from_slice(chunk);
            while let Some(value) = codec.decode(&mut buffer).unwrap() {
                values.push(value);
            }
        }
        assert!(buffer.is_empty(), "bytes left over at split {split_at}");
        values
    }

    /// The decoder we depend on: replies split at every byte come out whole
    /// and in order, with the types this crate matches on.
    #[test]
    fn decoder_reassembles_replies_split_anywhere() {
        let wire = b"+OK\r\n:42\r\n$5\r\nhe\r\no\r\n$-1\r\n*2\r\n$1\r\na\r\n-ERR nested\r\n\
                     -WRONGTYPE top\r\n%1\r\n+k\r\n,1.5\r\n_\r\n>2\r\n+message\r\n:1\r\n";
        let expected = decode_all(wire, 0);
        assert_eq!(expected.len(), 9);
        assert_eq!(expected[0], Value::Okay);
        assert_eq!(expected[1], Value::Int(42));
        assert_eq!(expected[2], Value::BulkString(b"he\r\no".to_vec()));
        assert_eq!(expected[3], Value::Nil);
        assert!(matches!(&expected[4], Value::Array(items)
            if matches!(items[1], Value::ServerError(_))));
        assert!(matches!(&expected[5], Value::ServerError(err) if err.code() == "WRONGTYPE"));
        assert!(matches!(&expected[6], Value::Map(_)));
        assert_eq!(expected[7], Value::Nil);
        assert!(matches!(&expected[8], Value::Push { .. }));
        for split_at in 0..=wire.len() {
            assert_eq!(decode_all(wire, split_at), expected, "split at {split_at}");
        }
    }

    /// Runs the handshake against a scripted server that answers `replies`.
    async fn scripted_handshake(
        config: &ConnectionConfig,
        replies: &'static [u8],
    ) -> Result<Option<i64>> {
        use tokio::io::AsyncReadExt;
        let (ours, mut theirs) = tokio::io::duplex(1 << 16);
        let (reader, writer) = tokio::io::split(ours);
        let mut reader: Reader = FramedRead::new(Box::pin(reader), RespCodec::default());
        let mut writer: Writer = Box::pin(writer);
        let expected: usize = handshake_commands(config, credentials(config).await?.as_ref(), None)
            .iter()
            .map(|(cmd, _)| cmd.packed().len())
            .sum();
        let server = tokio::spawn(async move {
            // The whole handshake arrives before any reply is sent: one write.
            let mut got = vec![0; expected];
            theirs.read_exact(&mut got).await.unwrap();
            theirs.write_all(replies).await.unwrap();
            // Dropped here: what was not answered ends in a closed connection.
        });
        let outcome = handshake(
            &mut reader,
            &mut writer,
            config,
            credentials(config).await?.as_ref(),
            None,
        )
        .await;
        server.await.unwrap();
        outcome
    }

    #[tokio::test]
    async fn a_handshake_keeps_the_client_id_and_ignores_unknown_setinfo() {
        let config = ConnectionConfig::tcp("localhost", 6379);
        let replies = b"-ERR unknown subcommand 'SETINFO'\r\n-ERR unknown subcommand\r\n:42\r\n";
        assert_eq!(
            scripted_handshake(&config, replies).await.unwrap(),
            Some(42)
        );
    }

    #[tokio::test]
    async fn a_refused_password_is_an_authentication_failure_reported_first() {
        let mut config = ConnectionConfig::tcp("localhost", 6379);
        config.password = Some("wrong".into());
        config.db = 2;
        // AUTH is refused, and everything after it fails with NOAUTH: the
        // first failure is the one reported.
        let replies =
            b"-WRONGPASS invalid username-password pair\r\n-NOAUTH Authentication required.\r\n\
                        -NOAUTH x\r\n-NOAUTH x\r\n-NOAUTH x\r\n";
        let err = scripted_handshake(&config, replies).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Authentication);
        assert!(err.message().contains("WRONGPASS"), "{err:?}");
    }

    #[tokio::test]
    async fn a_bad_database_fails_the_handshake() {
        let mut config = ConnectionConfig::tcp("localhost", 6379);
        config.db = 99;
        let replies = b"-ERR DB index is out of range\r\n+OK\r\n+OK\r\n:7\r\n";
        let err = scripted_handshake(&config, replies).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Response);
    }

    #[tokio::test]
    async fn a_server_closing_mid_handshake_is_a_connection_error() {
        let config = ConnectionConfig::tcp("localhost", 6379);
        let err = scripted_handshake(&config, b"+OK\r\n").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Connection);
    }

    #[test]
    fn handshake_is_only_setinfo_and_client_id_for_a_default_config() {
        let config = ConnectionConfig::tcp("localhost", 6379);
        let names: Vec<Vec<u8>> = handshake_commands(&config, None, None)
            .iter()
            .map(|(cmd, _)| cmd.args().nth(1).unwrap().to_vec())
            .collect();
        assert_eq!(
            names,
            vec![b"SETINFO".to_vec(), b"SETINFO".to_vec(), b"ID".to_vec()]
        );
    }

    #[test]
    fn setinfo_sends_the_configured_library_and_none_when_unset() {
        let mut config = ConnectionConfig::tcp("localhost", 6379);
        config.lib_name = Some("mylib".into());
        config.lib_version = None;
        let commands: Vec<Vec<Vec<u8>>> = handshake_commands(&config, None, None)
            .iter()
            .map(|(cmd, _)| cmd.args().map(<[u8]>::to_vec).collect())
            .collect();
        assert_eq!(
            commands,
            vec![
                vec![
                    b"CLIENT".to_vec(),
                    b"SETINFO".to_vec(),
                    b"LIB-NAME".to_vec(),
                    b"mylib".to_vec()
                ],
                vec![b"CLIENT".to_vec(), b"ID".to_vec()],
            ]
        );
    }
}
