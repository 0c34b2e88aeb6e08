//! Asking one sentinel where the service is: a connection of its own, one
//! command, its reply read into an address.

use std::time::Duration;

use futures::StreamExt;
use redis::Value;
use tokio::io::AsyncWriteExt;

use crate::command::Command;
use crate::config::{Address, SentinelOptions};
use crate::connection::{open_session, Endpoint};
use crate::error::{Error, ErrorKind, Result};

/// How long a sentinel may take to answer when the client has no
/// `socket_timeout`: a sentinel that does not answer is skipped for the next.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// The primary's address, if this sentinel sees it as up and in the
/// company of enough other sentinels (redis-py's `check_master_state`);
/// `None` when it does not know the service or does not vouch for it.
pub(super) async fn primary(
    sentinel: &Endpoint,
    options: &SentinelOptions,
) -> Result<Option<Address>> {
    let reply = ask(
        sentinel,
        &[b"SENTINEL", b"MASTER", options.service.as_bytes()],
    )
    .await?;
    let fields = match reply {
        // An unknown name is an error reply: "ERR No such master with that name".
        Value::ServerError(_) => return Ok(None),
        other => Fields::of(&other)?,
    };
    let flags = fields.text("flags").unwrap_or_default();
    let flagged = |flag: &str| flags.split(',').any(|f| f == flag);
    let others = fields
        .text("num-other-sentinels")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    if !flagged("master") || flagged("s_down") || flagged("o_down") {
        return Ok(None);
    }
    if others < options.min_other_sentinels {
        return Ok(None);
    }
    fields.address(options.force_host.as_deref()).map(Some)
}

/// A replica in good health (the `turn`-th of them, so connections spread
/// over them), else the primary, as redis-py's `slave_for` falls back to it.
pub(super) async fn replica(
    sentinel: &Endpoint,
    options: &SentinelOptions,
    turn: usize,
) -> Result<Option<Address>> {
    let reply = ask(
        sentinel,
        &[b"SENTINEL", b"REPLICAS", options.service.as_bytes()],
    )
    .await?;
    let mut healthy = Vec::new();
    if let Value::Array(replicas) = &reply {
        for replica in replicas {
            let fields = Fields::of(replica)?;
            let flags = fields.text("flags").unwrap_or_default();
            let down = flags
                .split(',')
                .any(|f| matches!(f, "s_down" | "o_down" | "disconnected"));
            if !down {
                healthy.push(fields.address(None)?);
            }
        }
    }
    if healthy.is_empty() {
        return primary(sentinel, options).await;
    }
    Ok(Some(healthy.swap_remove(turn % healthy.len())))
}

/// Sends one command to a sentinel on a connection of its own and returns
/// the reply (an error reply as `Value::ServerError`).
async fn ask(sentinel: &Endpoint, words: &[&[u8]]) -> Result<Value> {
    let limit = sentinel.config.response_timeout.unwrap_or(ANSWER_TIMEOUT);
    let asking = async {
        // Boxed: opening a connection may ask a sentinel, which opens one.
        let mut opened = Box::pin(open_session(sentinel)).await?;
        let command = Command::from_args(words)?;
        opened
            .writer
            .write_all(command.packed())
            .await
            .map_err(|err| Error::from(redis::RedisError::from(err)))?;
        opened
            .writer
            .flush()
            .await
            .map_err(|err| Error::from(redis::RedisError::from(err)))?;
        match opened.reader.next().await {
            Some(reply) => reply,
            None => Err(Error::new(
                ErrorKind::Connection,
                "the sentinel closed the connection",
            )),
        }
    };
    tokio::time::timeout(limit, asking)
        .await
        .unwrap_or_else(|_| {
            Err(Error::new(
                ErrorKind::Timeout,
                format!("the sentinel did not answer in {limit:?}"),
            ))
        })
}

/// A sentinel's description of an instance: field names and values, flat
/// (RESP2) or a map (RESP3).
struct Fields(Vec<(String, String)>);

impl Fields {
    fn of(value: &Value) -> Result<Self> {
        let text = |v: &Value| match v {
            Value::BulkString(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
            Value::SimpleString(s) => Some(s.clone()),
            Value::Int(n) => Some(n.to_string()),
            _ => None,
        };
        let pairs: Vec<(String, String)> = match value {
            Value::Array(items) => items
                .chunks(2)
                .filter_map(|pair| match pair {
                    [name, value] => Some((text(name)?, text(value)?)),
                    _ => None,
                })
                .collect(),
            Value::Map(items) => items
                .iter()
                .filter_map(|(name, value)| Some((text(name)?, text(value)?)))
                .collect(),
            other => {
                return Err(Error::new(
                    ErrorKind::Protocol,
                    format!("a sentinel described an instance as {other:?}"),
                ))
            }
        };
        Ok(Self(pairs))
    }

    fn text(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.clone())
    }

    /// `ip` and `port`, with `force_host` instead of the ip when given.
    fn address(&self, force_host: Option<&str>) -> Result<Address> {
        let host = force_host.map(str::to_owned).or_else(|| self.text("ip"));
        let port = self.text("port").and_then(|port| port.parse::<u16>().ok());
        match (host, port) {
            (Some(host), Some(port)) => Ok(Address::Tcp { host, port }),
            _ => Err(Error::new(
                ErrorKind::Protocol,
                "a sentinel described an instance without its ip and port",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn fields_read_flat_arrays_and_maps_alike() {
        let flat = Value::Array(vec![
            bulk("ip"),
            bulk("10.0.0.1"),
            bulk("port"),
            bulk("6380"),
        ]);
        let map = Value::Map(vec![
            (bulk("ip"), bulk("10.0.0.1")),
            (bulk("port"), Value::Int(6380)),
        ]);
        let expected = Address::Tcp {
            host: "10.0.0.1".into(),
            port: 6380,
        };
        assert_eq!(Fields::of(&flat).unwrap().address(None).unwrap(), expected);
        assert_eq!(Fields::of(&map).unwrap().address(None).unwrap(), expected);
        let forced = Fields::of(&flat).unwrap().address(Some("public")).unwrap();
        assert_eq!(
            forced,
            Address::Tcp {
                host: "public".into(),
                port: 6380
            }
        );
    }

    #[test]
    fn an_instance_without_a_port_is_a_protocol_error() {
        let fields = Fields::of(&Value::Array(vec![bulk("ip"), bulk("h")])).unwrap();
        assert_eq!(
            fields.address(None).unwrap_err().kind(),
            ErrorKind::Protocol
        );
    }
}
