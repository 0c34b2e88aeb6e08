//! What an error reply from a cluster node asks of the client.
//!
//! - `MOVED <slot> <host:port>`: the slot lives elsewhere now; send it there
//!   (and read the slot map again).
//! - `ASK <slot> <host:port>`: this one key is being migrated; send this one
//!   request there, preceded by `ASKING`.
//! - `TRYAGAIN` (a multi-key request during a migration), `CLUSTERDOWN` (the
//!   cluster cannot serve the slot), `MASTERDOWN`: try again shortly.
//! - `READONLY`: the node was demoted to a replica by a failover the slot map
//!   has not seen. A replica answers a keyed write `MOVED` (its slots are its
//!   primary's); the writes it refuses this way are the keyless ones
//!   (`FLUSHALL`, `FUNCTION LOAD`, a keyless script or transaction). The
//!   command did not run, so it can be sent again to the new primary.
//! - A lost or refused connection: the node may be gone; read the map again.

use std::sync::Arc;

use redis::Value;

use super::topology::{split_name, NodeName};
use crate::error::{Error, ErrorKind, Result};

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Redirect {
    /// The outcome stands.
    No,
    Moved {
        slot: u16,
        node: NodeName,
    },
    Ask {
        node: NodeName,
    },
    /// Try again after a pause.
    Later,
    /// The node is a replica now (`READONLY`): a `MOVED` without an address.
    Demoted,
    /// The connection to the node was lost.
    Lost,
}

/// What `err` (from `sent_to`) asks for.
pub(crate) fn classify(err: &Error, sent_to: &str) -> Redirect {
    match err.kind() {
        ErrorKind::Connection => return Redirect::Lost,
        ErrorKind::Response => {}
        _ => return Redirect::No,
    }
    match err.code() {
        Some("MOVED") => parse_target(err.message(), sent_to)
            .map_or(Redirect::No, |(slot, node)| Redirect::Moved { slot, node }),
        Some("ASK") => parse_target(err.message(), sent_to)
            .map_or(Redirect::No, |(_, node)| Redirect::Ask { node }),
        Some("TRYAGAIN" | "CLUSTERDOWN" | "MASTERDOWN") => Redirect::Later,
        Some("READONLY") => Redirect::Demoted,
        _ => Redirect::No,
    }
}

/// `MOVED 3999 127.0.0.1:6381` as `(3999, "127.0.0.1:6381")`. A node with an
/// unknown endpoint (`:6381`) is on the host the request went to.
fn parse_target(message: &str, sent_to: &str) -> Option<(u16, NodeName)> {
    let mut words = message.split_whitespace().skip(1);
    let slot = words.next()?.parse().ok()?;
    let node = words.next()?;
    let (host, port) = split_name(node)?;
    let host = if host.is_empty() {
        split_name(sent_to).map_or("", |(host, _)| host)
    } else {
        host
    };
    Some((slot, Arc::from(format!("{host}:{port}"))))
}

/// The outcome of `ASKING` + a command: the command's.
pub(crate) fn after_asking(outcome: Result<Value>) -> Result<Value> {
    match outcome? {
        Value::Array(mut replies) if replies.len() == 2 => match replies.pop() {
            Some(Value::ServerError(err)) => Err(Error::from(redis::RedisError::from(err))),
            Some(value) => Ok(value),
            None => unreachable!("two replies"),
        },
        other => Err(Error::new(
            ErrorKind::Protocol,
            format!("ASKING and its command answered {other:?}"),
        )),
    }
}

/// An error reply as a value in a pipeline's replies (where the pipeline
/// puts a command's error), rebuilt with redis-rs's parser: its
/// `ServerError` has no public constructor.
pub(crate) fn as_error_value(err: &Error) -> Value {
    let line: String = err
        .message()
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect();
    redis::parse_redis_value(format!("-{line}\r\n").as_bytes())
        .unwrap_or_else(|_| Value::SimpleString(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply_error(text: &str) -> Error {
        let Value::ServerError(err) =
            redis::parse_redis_value(format!("-{text}\r\n").as_bytes()).unwrap()
        else {
            panic!("not an error")
        };
        Error::from(redis::RedisError::from(err))
    }

    #[test]
    fn moved_and_ask_name_their_node() {
        assert_eq!(
            classify(&reply_error("MOVED 3999 127.0.0.1:6381"), "127.0.0.1:7000"),
            Redirect::Moved {
                slot: 3999,
                node: Arc::from("127.0.0.1:6381")
            }
        );
        assert_eq!(
            classify(&reply_error("ASK 1 :6381"), "10.0.0.1:7000"),
            Redirect::Ask {
                node: Arc::from("10.0.0.1:6381")
            }
        );
    }

    #[test]
    fn retries_and_the_rest() {
        assert_eq!(
            classify(&reply_error("TRYAGAIN Multiple keys"), "h:1"),
            Redirect::Later
        );
        assert_eq!(
            classify(&reply_error("CLUSTERDOWN The cluster is down"), "h:1"),
            Redirect::Later
        );
        assert_eq!(
            classify(
                &reply_error("READONLY You can't write against a read only replica."),
                "h:1"
            ),
            Redirect::Demoted
        );
        assert_eq!(classify(&reply_error("WRONGTYPE no"), "h:1"), Redirect::No);
        assert_eq!(
            classify(&reply_error("CROSSSLOT Keys"), "h:1"),
            Redirect::No
        );
        assert_eq!(
            classify(&Error::new(ErrorKind::Connection, "reset"), "h:1"),
            Redirect::Lost
        );
        assert_eq!(
            classify(&Error::new(ErrorKind::Timeout, "slow"), "h:1"),
            Redirect::No
        );
    }

    #[test]
    fn an_error_becomes_a_pipeline_value_again() {
        let value = as_error_value(&reply_error("WRONGTYPE Operation against a key"));
        assert!(matches!(value, Value::ServerError(err) if err.code() == "WRONGTYPE"));
    }
}
