//! Conversions between the frames' messages and the core's own types:
//! requests, reply values, errors and connection settings.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use redis::{Value, VerbatimFormat};

use super::proto::{self, connection_request, request::Action, value::Kind};
use super::pushes::SubscriberCall;
use crate::cluster::{Chosen, NodeName};
use crate::command::Command;
use crate::config::{
    Address, ClusterOptions, ConnectionConfig, Credentials, Keepalive, Protocol, SentinelOptions,
    SentinelRole, TlsConfig, TlsVersion,
};
use crate::error::{Error, ErrorKind};
use crate::request::Batch;
use crate::retry::{Backoff, RetryPolicy};
use crate::table;

/// What one `Request` frame asks the listener to do, once its rules are
/// checked (see `request.proto`).
#[derive(Debug)]
pub enum Frame {
    /// Run a command or a batch, on the client's routing (`lease_id` 0) or on
    /// a lease. `batch` is the error the request fails with when a command
    /// cannot be built (an empty one).
    Submit {
        request_id: u64,
        lease_id: u64,
        /// A cluster client's node to send it to (`host:port`), if any.
        node: Option<NodeName>,
        batch: Result<Batch, Error>,
    },
    OpenLease {
        lease_id: u64,
        /// A cluster client's: the slot whose primary the lease connects to.
        slot: Option<u16>,
    },
    ReleaseLease {
        lease_id: u64,
        reusable: bool,
    },
    CloseLease(u64),
    Cancel(u64),
    /// Open a subscriber; `max_buffered` is its backlog's bound.
    OpenSubscriber {
        subscriber_id: u64,
        max_buffered: usize,
    },
    /// A command for a subscriber; a subscribe carries a request id and is
    /// answered once the server confirmed it (others carry 0).
    SubscriberCommand {
        subscriber_id: u64,
        request_id: u64,
        call: SubscriberCall,
    },
    FetchMessages(u64),
    CloseSubscriber(u64),
    /// The wrapper's answer to a credentials request.
    Credentials {
        ask_id: u64,
        answer: Result<Credentials, Error>,
    },
    /// A cluster client's default node, `None` for the slot map's first
    /// primary.
    SetDefaultNode(Option<Chosen>),
}

/// Reads a request frame. `Err` when the frame breaks a rule of the schema:
/// the stream is closed with that error, since a wrapper that writes such
/// frames cannot be trusted to read the answers right either.
pub fn frame_from_proto(request: proto::Request) -> Result<Frame, Error> {
    let proto::Request {
        request_id,
        args,
        action,
        lease_id,
        node,
        lease_slot,
    } = request;
    if lease_slot.is_some() && !matches!(action, Some(Action::OpenLease(_))) {
        return Err(malformed("`lease_slot` goes with `open_lease` only"));
    }
    let Some(action) = action else {
        // The common case: one command.
        let batch = Command::from_args(&args).map(Batch::One);
        return submit(request_id, lease_id, &node, batch);
    };
    let control = |frame: Frame| {
        if request_id != 0 || !args.is_empty() || lease_id != 0 || !node.is_empty() {
            return Err(malformed(
                "a control frame (lease, cancel, subscriber or default node) carries no request \
                 id, arguments, lease id or node",
            ));
        }
        Ok(frame)
    };
    let nonzero = |id: u64, what: &str| {
        if id == 0 {
            Err(malformed(&format!("{what} 0 is reserved")))
        } else {
            Ok(id)
        }
    };
    match action {
        Action::Batch(batch) => {
            if !args.is_empty() {
                return Err(malformed(
                    "a batch frame carries its commands in `batch`, not `args`",
                ));
            }
            submit(request_id, lease_id, &node, batch_from_proto(&batch)?)
        }
        Action::OpenLease(id) => control(Frame::OpenLease {
            lease_id: nonzero(id, "lease id")?,
            slot: lease_slot.map(slot_from_proto).transpose()?,
        }),
        Action::ReleaseLease(release) => control(Frame::ReleaseLease {
            lease_id: nonzero(release.lease_id, "lease id")?,
            reusable: release.reusable,
        }),
        Action::CloseLease(id) => control(Frame::CloseLease(nonzero(id, "lease id")?)),
        Action::Cancel(id) => control(Frame::Cancel(nonzero(id, "request id")?)),
        Action::OpenSubscriber(open) => control(Frame::OpenSubscriber {
            subscriber_id: nonzero(open.subscriber_id, "subscriber id")?,
            max_buffered: match open.max_buffered_messages {
                0 => crate::pubsub::DEFAULT_MAX_BUFFERED,
                n => usize::try_from(n).unwrap_or(usize::MAX),
            },
        }),
        Action::SubscriberCommand(command) => {
            let subscriber_id = nonzero(command.subscriber_id, "subscriber id")?;
            let call = SubscriberCall::from_proto(command.action, command.names)?;
            if !call.is_answered() {
                return control(Frame::SubscriberCommand {
                    subscriber_id,
                    request_id: 0,
                    call,
                });
            }
            if !args.is_empty() || lease_id != 0 {
                return Err(malformed(
                    "a subscribe frame carries no arguments or lease id",
                ));
            }
            Ok(Frame::SubscriberCommand {
                subscriber_id,
                request_id: nonzero(request_id, "request id")?,
                call,
            })
        }
        Action::FetchMessages(id) => control(Frame::FetchMessages(nonzero(id, "subscriber id")?)),
        Action::CloseSubscriber(id) => {
            control(Frame::CloseSubscriber(nonzero(id, "subscriber id")?))
        }
        Action::SetDefaultNode(chosen) => control(Frame::SetDefaultNode(
            (!chosen.node.is_empty()).then(|| Chosen {
                node: chosen.node.into(),
                replica: chosen.replica,
            }),
        )),
        Action::Credentials(answer) => control(Frame::Credentials {
            ask_id: nonzero(answer.ask_id, "credentials ask id")?,
            answer: match answer.error {
                Some(why) => Err(Error::new(ErrorKind::Authentication, why)),
                None => Ok(Credentials {
                    username: answer.username,
                    password: answer.password,
                }),
            },
        }),
    }
}

/// A batch frame's commands as the core's batch: `Err` (outer) for a frame
/// that breaks the schema, `Ok(Err)` for a command the caller gets an error
/// for (its index says which).
fn batch_from_proto(batch: &proto::Batch) -> Result<Result<Batch, Error>, Error> {
    let commands = batch
        .commands
        .iter()
        .enumerate()
        .map(|(at, cmd)| {
            Command::from_args(&cmd.args).map_err(|err| {
                Error::new(
                    err.kind(),
                    format!("command {at} of the batch: {}", err.message()),
                )
                .at_index(at)
            })
        })
        .collect::<Result<Vec<_>, Error>>();
    match proto::BatchKind::try_from(batch.kind) {
        Ok(proto::BatchKind::Pipeline) => Ok(commands.map(Batch::Pipeline)),
        Ok(proto::BatchKind::Transaction) => Ok(commands.map(Batch::Transaction)),
        Ok(proto::BatchKind::Unspecified) | Err(_) => Err(malformed(&format!(
            "unknown batch kind {} (1 is a pipeline, 2 a transaction)",
            batch.kind
        ))),
    }
}

/// Whether the request in this frame may run on a dedicated connection (a
/// lease, or a blocking command the table sends on one), so that cancelling
/// it must reach the listener. A superset of what the listener finds: the
/// wrapper watches these from the moment it sends them, without waiting
/// for the `dedicated` notice.
pub fn may_run_dedicated(request: &proto::Request) -> bool {
    let name = |args: &[Bytes]| {
        args.first()
            .is_some_and(|name| table::may_be_dedicated(name))
    };
    if request.lease_id != 0 {
        return true;
    }
    match &request.action {
        None => name(&request.args),
        Some(Action::Batch(batch)) => {
            batch.kind == proto::BatchKind::Pipeline as i32
                && batch.commands.iter().any(|cmd| name(&cmd.args))
        }
        Some(_) => false,
    }
}

fn submit(
    request_id: u64,
    lease_id: u64,
    node: &str,
    batch: Result<Batch, Error>,
) -> Result<Frame, Error> {
    if request_id == 0 {
        return Err(malformed("request id 0 is reserved"));
    }
    if lease_id != 0 && !node.is_empty() {
        return Err(malformed(
            "a request goes on a lease or to a node, not both",
        ));
    }
    Ok(Frame::Submit {
        request_id,
        lease_id,
        node: (!node.is_empty()).then(|| NodeName::from(node)),
        batch,
    })
}

/// A frame that breaks the schema's rules: the stream closes with this.
#[cold]
/// A lease's slot: one of the cluster's 16384.
fn slot_from_proto(slot: u32) -> Result<u16, Error> {
    u16::try_from(slot)
        .ok()
        .filter(|slot| *slot < 16384)
        .ok_or_else(|| malformed(&format!("lease slot {slot} is not a hash slot (0-16383)")))
}

pub(crate) fn malformed(detail: &str) -> Error {
    Error::new(ErrorKind::Protocol, format!("malformed frame: {detail}"))
}

/// A reply value as a frame message. Bulk strings move into the message
/// without a copy.
pub fn value_to_proto(value: Value) -> proto::Value {
    let kind = match value {
        Value::Nil => Kind::Nil(true),
        Value::Int(n) => Kind::Int(n),
        Value::BulkString(data) => Kind::Bulk(Bytes::from(data)),
        Value::SimpleString(text) => Kind::Simple(text),
        Value::Okay => Kind::Okay(true),
        Value::Array(items) => Kind::Array(array(items)),
        Value::Set(items) => Kind::Set(array(items)),
        Value::Map(entries) => Kind::Map(proto::Map {
            entries: entries
                .into_iter()
                .map(|(key, value)| proto::MapEntry {
                    key: Some(value_to_proto(key)),
                    value: Some(value_to_proto(value)),
                })
                .collect(),
        }),
        // Attributes are metadata about a reply; the reply is what callers use.
        Value::Attribute { data, .. } => return value_to_proto(*data),
        Value::Double(number) => Kind::Double(number),
        Value::Boolean(flag) => Kind::Boolean(flag),
        Value::VerbatimString { format, text } => Kind::Verbatim(proto::Verbatim {
            format: format.to_string(),
            text,
        }),
        Value::BigNumber(digits) => Kind::BigNumber(Bytes::from(digits)),
        Value::Push { kind, data } => {
            let mut items = Vec::with_capacity(data.len() + 1);
            items.push(proto::Value {
                kind: Some(Kind::Bulk(Bytes::from(kind.to_string()))),
            });
            items.extend(data.into_iter().map(value_to_proto));
            Kind::Push(proto::Array { items })
        }
        Value::ServerError(err) => {
            Kind::Error(error_to_proto(&Error::from(redis::RedisError::from(err))))
        }
        // A variant added by a later redis-rs is reported rather than dropped.
        #[allow(unreachable_patterns)]
        other => Kind::Error(proto::Error {
            kind: proto::ErrorKind::Protocol.into(),
            code: String::new(),
            index: None,
            message: format!("unsupported reply type: {other:?}"),
        }),
    };
    proto::Value { kind: Some(kind) }
}

fn array(items: Vec<Value>) -> proto::Array {
    proto::Array {
        items: items.into_iter().map(value_to_proto).collect(),
    }
}

/// A frame's value as a reply value. A value with no kind set reads as nil.
pub fn value_from_proto(value: proto::Value) -> Value {
    let Some(kind) = value.kind else {
        return Value::Nil;
    };
    match kind {
        Kind::Nil(_) => Value::Nil,
        Kind::Int(n) => Value::Int(n),
        Kind::Bulk(data) => Value::BulkString(Vec::from(data)),
        Kind::Simple(text) => Value::SimpleString(text),
        Kind::Okay(_) => Value::Okay,
        // A push's kind leads its data; the reply shaping sees a plain array.
        Kind::Array(items) | Kind::Push(items) => Value::Array(values(items)),
        Kind::Set(items) => Value::Set(values(items)),
        Kind::Map(map) => Value::Map(
            map.entries
                .into_iter()
                .map(|entry| {
                    (
                        entry.key.map_or(Value::Nil, value_from_proto),
                        entry.value.map_or(Value::Nil, value_from_proto),
                    )
                })
                .collect(),
        ),
        Kind::Double(number) => Value::Double(number),
        Kind::Boolean(flag) => Value::Boolean(flag),
        Kind::Verbatim(verbatim) => Value::VerbatimString {
            format: match verbatim.format.as_str() {
                "txt" => VerbatimFormat::Text,
                "mkd" => VerbatimFormat::Markdown,
                _ => VerbatimFormat::Unknown(verbatim.format),
            },
            text: verbatim.text,
        },
        Kind::BigNumber(digits) => Value::BigNumber(Vec::from(digits)),
        Kind::Error(err) => nested_error(&err),
    }
}

fn values(array: proto::Array) -> Vec<Value> {
    array.items.into_iter().map(value_from_proto).collect()
}

/// Rebuilds an error nested in a reply. redis-rs builds its `ServerError`s
/// only by parsing, so the error is given to its parser as the server sent it.
#[cold]
fn nested_error(err: &proto::Error) -> Value {
    let line: String = err
        .message
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect();
    redis::parse_redis_value(format!("-{line}\r\n").as_bytes())
        .unwrap_or_else(|_| Value::SimpleString(line))
}

pub fn error_to_proto(err: &Error) -> proto::Error {
    let kind = match err.kind() {
        ErrorKind::Response => proto::ErrorKind::Response,
        ErrorKind::Authentication => proto::ErrorKind::Authentication,
        ErrorKind::Connection => proto::ErrorKind::Connection,
        ErrorKind::Timeout => proto::ErrorKind::Timeout,
        ErrorKind::Closed => proto::ErrorKind::Closed,
        ErrorKind::InvalidInput => proto::ErrorKind::InvalidInput,
        ErrorKind::Protocol => proto::ErrorKind::Protocol,
        ErrorKind::Watch => proto::ErrorKind::Watch,
        ErrorKind::Cluster => proto::ErrorKind::Cluster,
        _ => proto::ErrorKind::Internal,
    };
    proto::Error {
        kind: kind.into(),
        code: err.code().unwrap_or_default().to_owned(),
        message: err.message().to_owned(),
        index: err.index().map(|at| at as u64),
    }
}

pub fn error_from_proto(err: proto::Error) -> Error {
    let kind = match proto::ErrorKind::try_from(err.kind) {
        Ok(proto::ErrorKind::Response) => ErrorKind::Response,
        Ok(proto::ErrorKind::Authentication) => ErrorKind::Authentication,
        Ok(proto::ErrorKind::Connection) => ErrorKind::Connection,
        Ok(proto::ErrorKind::Timeout) => ErrorKind::Timeout,
        Ok(proto::ErrorKind::Closed) => ErrorKind::Closed,
        Ok(proto::ErrorKind::InvalidInput) => ErrorKind::InvalidInput,
        Ok(proto::ErrorKind::Protocol) => ErrorKind::Protocol,
        Ok(proto::ErrorKind::Watch) => ErrorKind::Watch,
        Ok(proto::ErrorKind::Cluster) => ErrorKind::Cluster,
        _ => ErrorKind::Internal,
    };
    let code = (!err.code.is_empty()).then_some(err.code);
    let rebuilt = Error::with_code(kind, code, err.message);
    // An index past any batch's length is passed on as it is: it only
    // labels the error, nothing is indexed with it.
    match err.index.and_then(|at| usize::try_from(at).ok()) {
        Some(at) => rebuilt.at_index(at),
        None => rebuilt,
    }
}

/// The setup frame for a client of `config`, speaking this build's protocol version.
pub fn connection_request(config: &ConnectionConfig) -> proto::ConnectionRequest {
    let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    proto::ConnectionRequest {
        protocol_version: proto::ProtocolVersion::Current as u32,
        address: Some(match &config.address {
            Address::Tcp { host, port } => connection_request::Address::Tcp(proto::TcpAddress {
                host: host.clone(),
                port: u32::from(*port),
            }),
            Address::Unix(path) => {
                connection_request::Address::UnixPath(path.to_string_lossy().into_owned())
            }
        }),
        db: config.db,
        username: config.username.clone(),
        password: config.password.clone(),
        client_name: config.client_name.clone(),
        resp_protocol: match config.protocol {
            Protocol::Resp2 => 2,
            Protocol::Resp3 => 3,
        },
        connect_timeout_ms: config.connect_timeout.map(millis),
        response_timeout_ms: config.response_timeout.map(millis),
        max_in_flight: config
            .max_in_flight
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        max_connections: config
            .max_connections
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        tls: config.tls.as_ref().map(tls_to_proto),
        lease_wait: config.lease_wait.is_some(),
        lease_wait_ms: config.lease_wait.flatten().map(millis),
        single_connection: config.single_connection,
        keepalive: config.keepalive.map(|keepalive| proto::Keepalive {
            idle_ms: keepalive.idle.map(millis),
            interval_ms: keepalive.interval.map(millis),
            count: keepalive.count,
        }),
        lib_name: config.lib_name.clone(),
        lib_version: config.lib_version.clone(),
        retry: Some(retry_to_proto(&config.retry)),
        health_check_interval_ms: config.health_check_interval.map(millis),
        credentials_from_wrapper: config.credential_provider.is_some(),
        cluster: config
            .cluster
            .as_ref()
            .map(|cluster| proto::ClusterSettings {
                seeds: cluster
                    .seeds
                    .iter()
                    .filter_map(|seed| match seed {
                        Address::Tcp { host, port } => Some(proto::TcpAddress {
                            host: host.clone(),
                            port: u32::from(*port),
                        }),
                        Address::Unix(_) => None,
                    })
                    .collect(),
                read_from_replicas: cluster.read_from_replicas,
                require_full_coverage: cluster.require_full_coverage,
            }),
        sentinel: config.sentinel.as_ref().map(sentinel_to_proto),
        sentinel_unix_paths: config
            .sentinel
            .iter()
            .flat_map(|sentinel| &sentinel.sentinels)
            .filter_map(|address| match address {
                Address::Unix(path) => Some(path.display().to_string()),
                Address::Tcp { .. } => None,
            })
            .collect(),
    }
}

fn sentinel_to_proto(sentinel: &SentinelOptions) -> proto::SentinelSettings {
    proto::SentinelSettings {
        sentinels: sentinel
            .sentinels
            .iter()
            .filter_map(|address| match address {
                Address::Tcp { host, port } => Some(proto::TcpAddress {
                    host: host.clone(),
                    port: u32::from(*port),
                }),
                Address::Unix(_) => None,
            })
            .collect(),
        service: sentinel.service.clone(),
        replica: sentinel.role == SentinelRole::Replica,
        username: sentinel.username.clone(),
        password: sentinel.password.clone(),
        tls: sentinel.tls.as_ref().map(tls_to_proto),
        min_other_sentinels: u32::try_from(sentinel.min_other_sentinels).unwrap_or(u32::MAX),
        force_host: sentinel.force_host.clone(),
    }
}

fn sentinel_from_proto(
    sentinel: proto::SentinelSettings,
    unix_paths: Vec<String>,
) -> Result<SentinelOptions, Error> {
    let mut sentinels = sentinel
        .sentinels
        .into_iter()
        .map(|address| {
            let port = u16::try_from(address.port).map_err(|_| {
                Error::new(
                    ErrorKind::InvalidInput,
                    format!("a sentinel's port {} is out of range", address.port),
                )
            })?;
            Ok(Address::Tcp {
                host: address.host,
                port,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    sentinels.extend(
        unix_paths
            .into_iter()
            .map(|path| Address::Unix(path.into())),
    );
    Ok(SentinelOptions {
        sentinels,
        service: sentinel.service,
        role: if sentinel.replica {
            SentinelRole::Replica
        } else {
            SentinelRole::Primary
        },
        username: sentinel.username,
        password: sentinel.password,
        tls: sentinel.tls.map(tls_from_proto).transpose()?,
        min_other_sentinels: sentinel.min_other_sentinels as usize,
        force_host: sentinel.force_host,
    })
}

fn retry_to_proto(policy: &RetryPolicy) -> proto::RetryPolicy {
    use proto::BackoffKind as Kind;
    let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    let (kind, base, cap) = match policy.backoff {
        Backoff::Constant(delay) => (Kind::Constant, delay, delay),
        Backoff::Exponential { base, cap } => (Kind::Exponential, base, cap),
        Backoff::FullJitter { base, cap } => (Kind::FullJitter, base, cap),
        Backoff::EqualJitter { base, cap } => (Kind::EqualJitter, base, cap),
        Backoff::DecorrelatedJitter { base, cap } => (Kind::DecorrelatedJitter, base, cap),
        Backoff::ExponentialWithJitter { base, cap } => (Kind::ExponentialWithJitter, base, cap),
    };
    proto::RetryPolicy {
        backoff: kind as i32,
        base_us: micros(base),
        cap_us: micros(cap),
        attempts: policy.attempts,
        on_timeout: policy.on_timeout,
        writes: policy.writes,
        on_connection: policy.on_connection,
    }
}

fn retry_from_proto(policy: proto::RetryPolicy) -> Result<RetryPolicy, Error> {
    use proto::BackoffKind as Kind;
    let base = Duration::from_micros(policy.base_us);
    let cap = Duration::from_micros(policy.cap_us);
    let backoff = match Kind::try_from(policy.backoff) {
        Ok(Kind::Constant) => Backoff::Constant(base),
        Ok(Kind::Exponential) => Backoff::Exponential { base, cap },
        Ok(Kind::FullJitter) => Backoff::FullJitter { base, cap },
        Ok(Kind::EqualJitter) => Backoff::EqualJitter { base, cap },
        Ok(Kind::DecorrelatedJitter) => Backoff::DecorrelatedJitter { base, cap },
        Ok(Kind::ExponentialWithJitter) => Backoff::ExponentialWithJitter { base, cap },
        Ok(Kind::Unspecified) | Err(_) => {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("unknown backoff kind {}", policy.backoff),
            ))
        }
    };
    if policy.attempts == 0 {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "retry attempts must be at least 1",
        ));
    }
    Ok(RetryPolicy {
        backoff,
        attempts: policy.attempts,
        on_timeout: policy.on_timeout,
        writes: policy.writes,
        on_connection: policy.on_connection,
    })
}

fn tls_to_proto(tls: &TlsConfig) -> proto::TlsSettings {
    let path = |path: &Option<PathBuf>| {
        path.as_deref()
            .map(|p: &Path| p.to_string_lossy().into_owned())
    };
    proto::TlsSettings {
        verify_peer: tls.verify_peer,
        check_hostname: tls.check_hostname,
        ca_file: path(&tls.ca_file),
        ca_dir: path(&tls.ca_dir),
        ca_data: tls.ca_data.clone().map(Bytes::from),
        cert_file: path(&tls.cert_file),
        key_file: path(&tls.key_file),
        key_password: tls.key_password.clone().map(Bytes::from),
        min_version: match tls.min_version {
            TlsVersion::Tls12 => 12,
            TlsVersion::Tls13 => 13,
        },
        ciphers: tls.ciphers.clone(),
    }
}

fn tls_from_proto(tls: proto::TlsSettings) -> Result<TlsConfig, Error> {
    let min_version = match tls.min_version {
        12 => TlsVersion::Tls12,
        13 => TlsVersion::Tls13,
        other => {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("TLS min_version must be 12 or 13, got {other}"),
            ))
        }
    };
    Ok(TlsConfig {
        verify_peer: tls.verify_peer,
        check_hostname: tls.check_hostname,
        ca_file: tls.ca_file.map(PathBuf::from),
        ca_dir: tls.ca_dir.map(PathBuf::from),
        ca_data: tls.ca_data.map(Vec::from),
        cert_file: tls.cert_file.map(PathBuf::from),
        key_file: tls.key_file.map(PathBuf::from),
        key_password: tls.key_password.map(Vec::from),
        min_version,
        ciphers: tls.ciphers,
    })
}

/// Whether the setup frame asks the core to get credentials from the wrapper.
pub fn wants_wrapper_credentials(request: &proto::ConnectionRequest) -> bool {
    request.credentials_from_wrapper
}

/// The client settings a setup frame asks for, after checking its version.
pub fn connection_config(request: proto::ConnectionRequest) -> Result<ConnectionConfig, Error> {
    let current = proto::ProtocolVersion::Current as u32;
    if request.protocol_version != current {
        return Err(Error::new(
            ErrorKind::Protocol,
            format!(
                "socket protocol version mismatch: the wrapper speaks version {}, this core speaks version {current}; install matching versions of babushka",
                request.protocol_version
            ),
        ));
    }
    let invalid = |message: String| Error::new(ErrorKind::InvalidInput, message);
    let address = match request.address {
        Some(connection_request::Address::Tcp(tcp)) => Address::Tcp {
            port: u16::try_from(tcp.port)
                .map_err(|_| invalid(format!("port {} is out of range", tcp.port)))?,
            host: tcp.host,
        },
        Some(connection_request::Address::UnixPath(path)) => Address::Unix(PathBuf::from(path)),
        None => return Err(invalid("the connection request has no address".to_owned())),
    };
    let protocol = u8::try_from(request.resp_protocol)
        .map_err(|_| {
            invalid(format!(
                "protocol must be 2 or 3, got {}",
                request.resp_protocol
            ))
        })
        .and_then(Protocol::from_number)?;
    Ok(ConnectionConfig {
        address,
        db: request.db,
        username: request.username,
        password: request.password,
        client_name: request.client_name,
        protocol,
        connect_timeout: request.connect_timeout_ms.map(Duration::from_millis),
        response_timeout: request.response_timeout_ms.map(Duration::from_millis),
        max_in_flight: request.max_in_flight.map(|n| n as usize),
        max_connections: request.max_connections.map(|n| n as usize),
        tls: request.tls.map(tls_from_proto).transpose()?,
        lease_wait: request
            .lease_wait
            .then(|| request.lease_wait_ms.map(Duration::from_millis)),
        single_connection: request.single_connection,
        keepalive: request.keepalive.map(|keepalive| Keepalive {
            idle: keepalive.idle_ms.map(Duration::from_millis),
            interval: keepalive.interval_ms.map(Duration::from_millis),
            count: keepalive.count,
        }),
        lib_name: request.lib_name,
        lib_version: request.lib_version,
        retry: request
            .retry
            .map(retry_from_proto)
            .transpose()?
            .unwrap_or_default(),
        health_check_interval: request.health_check_interval_ms.map(Duration::from_millis),
        // Set by the listener when the setup frame asks for it (see
        // `wants_wrapper_credentials`).
        credential_provider: None,
        readonly: false,
        cluster: request.cluster.map(cluster_from_proto).transpose()?,
        sentinel: request
            .sentinel
            .map(|sentinel| sentinel_from_proto(sentinel, request.sentinel_unix_paths))
            .transpose()?,
    })
}

fn cluster_from_proto(cluster: proto::ClusterSettings) -> Result<ClusterOptions, Error> {
    let seeds = cluster
        .seeds
        .into_iter()
        .map(|seed| {
            let port = u16::try_from(seed.port).map_err(|_| {
                Error::new(
                    ErrorKind::InvalidInput,
                    format!("a cluster seed's port {} is out of range", seed.port),
                )
            })?;
            Ok(Address::Tcp {
                host: seed.host,
                port,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(ClusterOptions {
        seeds,
        read_from_replicas: cluster.read_from_replicas,
        require_full_coverage: cluster.require_full_coverage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_that_may_run_dedicated_are_the_leased_and_the_blocking_ones() {
        let args = |words: &[&str]| words.iter().map(|w| Bytes::from(w.to_string())).collect();
        let one = |words: &[&str]| proto::Request {
            args: args(words),
            ..proto::Request::default()
        };
        let batch = |kind: proto::BatchKind, words: &[&str]| proto::Request {
            action: Some(Action::Batch(proto::Batch {
                kind: kind.into(),
                commands: vec![
                    proto::BatchCommand {
                        args: args(&["GET", "k"]),
                    },
                    proto::BatchCommand { args: args(words) },
                ],
            })),
            ..proto::Request::default()
        };
        assert!(may_run_dedicated(&one(&["blpop", "q", "5"])));
        assert!(!may_run_dedicated(&one(&["GET", "k"])));
        assert!(may_run_dedicated(&proto::Request {
            lease_id: 3,
            ..one(&["GET", "k"])
        }));
        assert!(may_run_dedicated(&batch(
            proto::BatchKind::Pipeline,
            &["BLPOP", "q", "1"]
        )));
        // Inside MULTI nothing blocks.
        assert!(!may_run_dedicated(&batch(
            proto::BatchKind::Transaction,
            &["BLPOP", "q", "1"]
        )));
        assert!(!may_run_dedicated(&control(Action::Cancel(1))));
    }

    fn control(action: Action) -> proto::Request {
        proto::Request {
            action: Some(action),
            ..proto::Request::default()
        }
    }

    #[test]
    fn a_lease_slot_is_a_hash_slot_on_an_open_lease() {
        let open = |slot: Option<u32>| {
            frame_from_proto(proto::Request {
                lease_slot: slot,
                ..control(Action::OpenLease(4))
            })
        };
        assert!(matches!(
            open(Some(16383)),
            Ok(Frame::OpenLease {
                lease_id: 4,
                slot: Some(16383)
            })
        ));
        assert!(matches!(
            open(None),
            Ok(Frame::OpenLease {
                lease_id: 4,
                slot: None
            })
        ));
        assert!(open(Some(16384)).is_err());
        assert!(open(Some(u32::MAX)).is_err());
        // Only a lease has a slot: on a command it would be ignored.
        let on_a_command = proto::Request {
            request_id: 1,
            args: vec![b"GET".to_vec().into(), b"k".to_vec().into()],
            lease_slot: Some(1),
            ..proto::Request::default()
        };
        assert!(frame_from_proto(on_a_command).is_err());
        assert!(frame_from_proto(proto::Request {
            lease_slot: Some(1),
            ..control(Action::Cancel(1))
        })
        .is_err());
    }

    #[test]
    fn a_default_node_frame_is_a_control_frame() {
        let chosen = |node: &str| proto::DefaultNode {
            node: node.to_owned(),
            replica: true,
        };
        let set = |node: &str| frame_from_proto(control(Action::SetDefaultNode(chosen(node))));
        assert!(matches!(
            set("127.0.0.1:7000"),
            Ok(Frame::SetDefaultNode(Some(Chosen { node, replica: true }))) if &*node == "127.0.0.1:7000"
        ));
        // Empty: the slot map's first primary again.
        assert!(matches!(set(""), Ok(Frame::SetDefaultNode(None))));
        assert!(frame_from_proto(proto::Request {
            request_id: 3,
            ..control(Action::SetDefaultNode(chosen("127.0.0.1:7000")))
        })
        .is_err());
    }

    #[test]
    fn tls_settings_round_trip() {
        let mut config = ConnectionConfig::tcp("localhost", 6380);
        config.tls = Some(TlsConfig {
            verify_peer: true,
            check_hostname: false,
            ca_file: Some("/ca.pem".into()),
            ca_dir: Some("/cas".into()),
            ca_data: Some(b"-----BEGIN CERTIFICATE-----".to_vec()),
            cert_file: Some("/client.pem".into()),
            key_file: Some("/client.key".into()),
            key_password: Some(b"secret".to_vec()),
            min_version: TlsVersion::Tls13,
            ciphers: Some("TLS_AES_128_GCM_SHA256".into()),
        });
        let back = connection_config(connection_request(&config)).unwrap();
        assert_eq!(back.tls, config.tls);

        let mut request = connection_request(&config);
        request.tls.as_mut().unwrap().min_version = 11;
        assert!(connection_config(request).is_err());
    }

    #[test]
    fn values_round_trip() {
        let value = Value::Array(vec![
            Value::Nil,
            Value::Int(-7),
            Value::BulkString(b"\x00\xff".to_vec()),
            Value::SimpleString("PONG".into()),
            Value::Okay,
            Value::Set(vec![Value::Int(1)]),
            Value::Map(vec![(Value::BulkString(b"k".to_vec()), Value::Double(1.5))]),
            Value::Boolean(true),
            Value::VerbatimString {
                format: VerbatimFormat::Text,
                text: "hello".into(),
            },
            Value::BigNumber(b"123456789012345678901234567890".to_vec()),
        ]);
        assert_eq!(value_from_proto(value_to_proto(value.clone())), value);
    }

    #[test]
    fn nested_server_errors_round_trip() {
        let value =
            redis::parse_redis_value(b"*1\r\n-WRONGTYPE Operation against a key\r\n").unwrap();
        assert_eq!(value_from_proto(value_to_proto(value.clone())), value);
    }

    #[test]
    fn errors_keep_kind_and_code() {
        let err = Error::with_code(ErrorKind::Response, Some("NOSCRIPT".into()), "NOSCRIPT no");
        let back = error_from_proto(error_to_proto(&err));
        assert_eq!(back.kind(), ErrorKind::Response);
        assert_eq!(back.code(), Some("NOSCRIPT"));
        assert_eq!(back.message(), "NOSCRIPT no");
        assert_eq!(back.index(), None);

        // What a transaction fails with: a watch failure, or a queueing
        // error that names its command.
        let watch = error_from_proto(error_to_proto(&Error::new(ErrorKind::Watch, "changed")));
        assert_eq!(watch.kind(), ErrorKind::Watch);
        let queueing =
            Error::with_code(ErrorKind::Response, Some("ERR".into()), "ERR arity").at_index(3);
        assert_eq!(error_from_proto(error_to_proto(&queueing)).index(), Some(3));
    }

    #[test]
    fn frames_become_requests_or_closing_errors() {
        let words = |args: &[&str]| -> Vec<Bytes> {
            args.iter()
                .map(|a| Bytes::copy_from_slice(a.as_bytes()))
                .collect()
        };
        let one = proto::Request {
            request_id: 1,
            args: words(&["GET", "k"]),
            lease_id: 4,
            ..proto::Request::default()
        };
        match frame_from_proto(one).unwrap() {
            Frame::Submit {
                request_id: 1,
                lease_id: 4,
                node: None,
                batch: Ok(Batch::One(cmd)),
            } => assert_eq!(cmd.name(), b"GET"),
            other => panic!("{other:?}"),
        }
        // A cluster node to send it to; never together with a lease.
        let to_node = proto::Request {
            request_id: 7,
            args: words(&["DBSIZE"]),
            node: "127.0.0.1:7000".to_owned(),
            ..proto::Request::default()
        };
        assert!(matches!(
            frame_from_proto(to_node).unwrap(),
            Frame::Submit { node: Some(node), .. } if &*node == "127.0.0.1:7000"
        ));
        let both = proto::Request {
            request_id: 8,
            args: words(&["DBSIZE"]),
            lease_id: 1,
            node: "127.0.0.1:7000".to_owned(),
            ..proto::Request::default()
        };
        assert!(frame_from_proto(both).is_err());
        let transaction = proto::Request {
            request_id: 2,
            action: Some(Action::Batch(proto::Batch {
                kind: proto::BatchKind::Transaction.into(),
                commands: vec![
                    proto::BatchCommand {
                        args: words(&["INCR", "n"]),
                    },
                    proto::BatchCommand {
                        args: words(&["GET", "n"]),
                    },
                ],
            })),
            ..proto::Request::default()
        };
        assert!(matches!(
            frame_from_proto(transaction).unwrap(),
            Frame::Submit { batch: Ok(Batch::Transaction(commands)), .. } if commands.len() == 2
        ));
        let release = proto::Request {
            action: Some(Action::ReleaseLease(proto::LeaseRelease {
                lease_id: 3,
                reusable: false,
            })),
            ..proto::Request::default()
        };
        assert!(matches!(
            frame_from_proto(release).unwrap(),
            Frame::ReleaseLease {
                lease_id: 3,
                reusable: false
            }
        ));
        // An empty command fails its request; a frame that breaks a rule
        // is refused.
        let empty = proto::Request {
            request_id: 5,
            ..proto::Request::default()
        };
        assert!(matches!(
            frame_from_proto(empty).unwrap(),
            Frame::Submit { batch: Err(_), .. }
        ));
        let unknown_kind = proto::Request {
            request_id: 6,
            action: Some(Action::Batch(proto::Batch {
                kind: 42,
                commands: Vec::new(),
            })),
            ..proto::Request::default()
        };
        let err = frame_from_proto(unknown_kind).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol);
        assert!(err.message().contains("unknown batch kind 42"), "{err}");
    }

    #[test]
    fn config_round_trips_and_version_is_checked() {
        let mut config = ConnectionConfig::tcp("127.0.0.1", 6380);
        config.db = 3;
        config.password = Some("secret".into());
        config.response_timeout = Some(Duration::from_millis(250));
        let request = connection_request(&config);
        let back = connection_config(request.clone()).unwrap();
        assert_eq!(back.address, config.address);
        assert_eq!(back.db, 3);
        assert_eq!(back.password.as_deref(), Some("secret"));
        assert_eq!(back.response_timeout, Some(Duration::from_millis(250)));

        assert_eq!(back.tls, None);
        assert_eq!(back.cluster, None);

        // A cluster client's settings come through whole.
        let mut cluster = ConnectionConfig::tcp("127.0.0.1", 7000);
        cluster.cluster = Some(ClusterOptions {
            seeds: vec![Address::Tcp {
                host: "10.0.0.2".into(),
                port: 7001,
            }],
            read_from_replicas: true,
            require_full_coverage: false,
        });
        let back = connection_config(connection_request(&cluster)).unwrap();
        assert_eq!(back.cluster, cluster.cluster);

        // So are a Sentinel-managed client's (fields 30-39).
        let mut sentinel = ConnectionConfig::tcp("localhost", 6379);
        sentinel.sentinel = Some(SentinelOptions {
            sentinels: vec![
                Address::Tcp {
                    host: "10.0.0.3".into(),
                    port: 26379,
                },
                Address::Tcp {
                    host: "10.0.0.4".into(),
                    port: 26380,
                },
                Address::Unix("/run/sentinel.sock".into()),
            ],
            service: "mymaster".into(),
            role: SentinelRole::Replica,
            username: Some("watcher".into()),
            password: Some("s3cret".into()),
            tls: Some(TlsConfig::default()),
            min_other_sentinels: 1,
            force_host: Some("public.example".into()),
        });
        let back = connection_config(connection_request(&sentinel)).unwrap();
        assert_eq!(back.sentinel, sentinel.sentinel);
        assert_eq!(back.cluster, None);

        let mut future = request;
        future.protocol_version = 99;
        let err = connection_config(future).unwrap_err();
        assert!(err.message().contains("version mismatch"), "{err}");
        assert!(err.message().contains("99"), "{err}");
    }

    #[test]
    fn pool_keepalive_and_library_settings_round_trip() {
        let mut config = ConnectionConfig::tcp("127.0.0.1", 6380);
        // The defaults: keep-alive on with redis-py's timings, babushka's name.
        let back = connection_config(connection_request(&config)).unwrap();
        assert_eq!(back.keepalive, Some(Keepalive::default()));
        assert_eq!(back.lib_name.as_deref(), Some("babushka"));
        assert_eq!(back.lease_wait, None);
        assert!(!back.single_connection);
        for wait in [None, Some(Duration::from_millis(1500))] {
            config.lease_wait = Some(wait);
            config.single_connection = true;
            config.keepalive = Some(Keepalive {
                idle: Some(Duration::from_secs(200)),
                interval: None,
                count: Some(9),
            });
            config.lib_name = None;
            config.lib_version = Some("1.2".into());
            let back = connection_config(connection_request(&config)).unwrap();
            assert_eq!(back.lease_wait, Some(wait));
            assert!(back.single_connection);
            assert_eq!(back.keepalive, config.keepalive);
            assert_eq!(back.lib_name, None);
            assert_eq!(back.lib_version.as_deref(), Some("1.2"));
        }
        config.keepalive = None;
        let back = connection_config(connection_request(&config)).unwrap();
        assert_eq!(back.keepalive, None);
    }
}
