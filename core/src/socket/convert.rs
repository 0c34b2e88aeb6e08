//! Conversions between the frames' messages and the core's own types:
//! reply values, errors and connection settings.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use redis::{Value, VerbatimFormat};

use super::proto::{self, connection_request, value::Kind};
use crate::config::{Address, ConnectionConfig, Protocol};
use crate::error::{Error, ErrorKind};

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
        _ => proto::ErrorKind::Internal,
    };
    proto::Error {
        kind: kind.into(),
        code: err.code().unwrap_or_default().to_owned(),
        message: err.message().to_owned(),
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
        _ => ErrorKind::Internal,
    };
    let code = (!err.code.is_empty()).then_some(err.code);
    Error::with_code(kind, code, err.message)
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
    }
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

        let mut future = request;
        future.protocol_version = 99;
        let err = connection_config(future).unwrap_err();
        assert!(err.message().contains("version mismatch"), "{err}");
        assert!(err.message().contains("99"), "{err}");
    }
}
