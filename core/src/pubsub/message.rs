//! What a subscriber's connection says, as events.
//!
//! The server speaks two dialects: RESP2 sends pub/sub traffic as plain
//! arrays whose first word names the kind (`["message", channel, data]`),
//! RESP3 as push frames (`>3 message channel data`), and both answer `PING`
//! (RESP2 while subscribed with `["pong", data]`, otherwise with `+PONG` or
//! the echoed argument). [`Event::from_frame`] reads either into the same
//! [`Message`], so nothing after it knows which protocol the connection
//! speaks.

use std::sync::Arc;

use redis::{PushKind, Value};

use crate::error::{Error, ErrorKind};

/// What kind of pub/sub traffic a [`Message`] is. The names are the
/// server's (and redis-py's `type` field), plus `Reconnected`, which is ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// A message published on a channel the subscriber is subscribed to.
    Message,
    /// A message on a channel matching a subscribed pattern.
    PMessage,
    /// A message on a subscribed shard channel.
    SMessage,
    Subscribe,
    Unsubscribe,
    PSubscribe,
    PUnsubscribe,
    SSubscribe,
    SUnsubscribe,
    /// The answer to the subscriber's `PING`.
    Pong,
    /// The connection was lost and a new one now has every subscription
    /// back (the count is how many were restored). Messages published in
    /// between were lost: the server keeps none for a subscriber it does not
    /// know.
    Reconnected,
    /// A line of a connection that was sent `MONITOR`: the `OK` that
    /// answers it, then one line per command the server ran.
    Monitor,
}

impl MessageKind {
    /// The `type` a message of this kind has in redis-py's dicts.
    pub fn name(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::PMessage => "pmessage",
            Self::SMessage => "smessage",
            Self::Subscribe => "subscribe",
            Self::Unsubscribe => "unsubscribe",
            Self::PSubscribe => "psubscribe",
            Self::PUnsubscribe => "punsubscribe",
            Self::SSubscribe => "ssubscribe",
            Self::SUnsubscribe => "sunsubscribe",
            Self::Pong => "pong",
            Self::Reconnected => "reconnected",
            Self::Monitor => "monitor",
        }
    }

    /// Published data, as opposed to what the server says about the
    /// subscription itself. Only these count against the backlog's bound.
    pub fn is_published(self) -> bool {
        matches!(self, Self::Message | Self::PMessage | Self::SMessage)
    }

    /// A confirmation of a subscribe command (what a restore waits for).
    pub(crate) fn is_subscribe_confirmation(self) -> bool {
        matches!(self, Self::Subscribe | Self::PSubscribe | Self::SSubscribe)
    }

    fn from_word(word: &[u8]) -> Option<Self> {
        Some(match word {
            b"message" => Self::Message,
            b"pmessage" => Self::PMessage,
            b"smessage" => Self::SMessage,
            b"subscribe" => Self::Subscribe,
            b"unsubscribe" => Self::Unsubscribe,
            b"psubscribe" => Self::PSubscribe,
            b"punsubscribe" => Self::PUnsubscribe,
            b"ssubscribe" => Self::SSubscribe,
            b"sunsubscribe" => Self::SUnsubscribe,
            b"pong" => Self::Pong,
            _ => return None,
        })
    }

    fn from_push(kind: &PushKind) -> Option<Self> {
        Some(match kind {
            PushKind::Message => Self::Message,
            PushKind::PMessage => Self::PMessage,
            PushKind::SMessage => Self::SMessage,
            PushKind::Subscribe => Self::Subscribe,
            PushKind::Unsubscribe => Self::Unsubscribe,
            PushKind::PSubscribe => Self::PSubscribe,
            PushKind::PUnsubscribe => Self::PUnsubscribe,
            PushKind::SSubscribe => Self::SSubscribe,
            PushKind::SUnsubscribe => Self::SUnsubscribe,
            PushKind::Other(word) => Self::from_word(word.as_bytes())?,
            _ => return None,
        })
    }
}

/// A message's `data`: the published bytes (or a pong's), or for a
/// confirmation the number of subscriptions the connection now has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    Bytes(Vec<u8>),
    Count(i64),
}

/// One piece of pub/sub traffic, shaped as redis-py's message dicts are:
/// `pattern` only for `pmessage`, `channel` for everything but a pong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub kind: MessageKind,
    pub pattern: Option<Vec<u8>>,
    pub channel: Option<Vec<u8>>,
    pub data: Payload,
    /// The node whose connection it came on: set by a cluster subscriber's
    /// shard connections (one per node), for a reader that wants one node's
    /// messages (redis-py's `get_sharded_message(target_node=)`).
    pub node: Option<Arc<str>>,
}

/// What a subscriber's inbox holds.
#[derive(Debug, Clone)]
pub enum Event {
    Message(Message),
    /// An error reply (a command the server refused, such as `SSUBSCRIBE` on
    /// a server without it), or the first connection's failure.
    Error(Error),
}

impl Event {
    /// The event for one frame from the server; `None` for a frame that is
    /// no pub/sub traffic (a RESP3 push of another kind, such as a tracking
    /// invalidation), which the subscriber drops.
    pub(crate) fn from_frame(frame: Value) -> Option<Self> {
        match frame {
            Value::Push { kind, data } => {
                let kind = MessageKind::from_push(&kind)?;
                Some(Self::Message(message(kind, data)))
            }
            Value::Array(mut items) => {
                let kind = match items.first() {
                    Some(Value::BulkString(word)) => MessageKind::from_word(word),
                    Some(Value::SimpleString(word)) => MessageKind::from_word(word.as_bytes()),
                    _ => None,
                };
                match kind {
                    Some(kind) => {
                        items.remove(0);
                        Some(Self::Message(message(kind, items)))
                    }
                    None => Some(Self::Error(unexpected(&Value::Array(items)))),
                }
            }
            Value::ServerError(err) => Some(Self::Error(Error::from(redis::RedisError::from(err)))),
            // A plain reply answers a PING (RESP3, or RESP2 before the first
            // subscription): `PONG`, or the argument echoed. redis-py shows a
            // bare PONG as empty data.
            Value::SimpleString(text) if text == "PONG" => Some(pong(Vec::new())),
            Value::Okay => Some(pong(b"OK".to_vec())),
            Value::SimpleString(text) => Some(pong(text.into_bytes())),
            Value::BulkString(data) => Some(pong(data)),
            other => Some(Self::Error(unexpected(&other))),
        }
    }

    /// The event for one frame on a connection that was sent `MONITOR`: its
    /// status lines are what the server ran, not pongs (the connection
    /// sends no `PING`, and the server answers no other command there).
    pub(crate) fn from_monitor_frame(frame: Value) -> Option<Self> {
        let line = match frame {
            Value::Okay => b"OK".to_vec(),
            Value::SimpleString(text) => text.into_bytes(),
            other => return Self::from_frame(other),
        };
        Some(Self::Message(Message {
            node: None,
            kind: MessageKind::Monitor,
            pattern: None,
            channel: None,
            data: Payload::Bytes(line),
        }))
    }

    /// The published message, if this is one.
    pub fn as_message(&self) -> Option<&Message> {
        match self {
            Self::Message(message) => Some(message),
            Self::Error(_) => None,
        }
    }

    /// Whether this is published data (what the backlog bound counts).
    pub(crate) fn is_published(&self) -> bool {
        self.as_message()
            .is_some_and(|message| message.kind.is_published())
    }
}

fn pong(data: Vec<u8>) -> Event {
    Event::Message(Message {
        node: None,
        kind: MessageKind::Pong,
        pattern: None,
        channel: None,
        data: Payload::Bytes(data),
    })
}

/// Builds a message from the words after its kind.
fn message(kind: MessageKind, words: Vec<Value>) -> Message {
    let mut words = words.into_iter();
    let mut next = || words.next().unwrap_or(Value::Nil);
    match kind {
        MessageKind::PMessage => Message {
            node: None,
            kind,
            pattern: bytes(next()),
            channel: bytes(next()),
            data: payload(next()),
        },
        MessageKind::Pong => Message {
            node: None,
            kind,
            pattern: None,
            channel: None,
            data: payload(next()),
        },
        _ => Message {
            node: None,
            kind,
            pattern: None,
            channel: bytes(next()),
            data: payload(next()),
        },
    }
}

/// A channel or pattern: `None` for nil (`UNSUBSCRIBE` with nothing subscribed).
fn bytes(value: Value) -> Option<Vec<u8>> {
    match value {
        Value::BulkString(data) => Some(data),
        Value::SimpleString(text) => Some(text.into_bytes()),
        Value::Okay => Some(b"OK".to_vec()),
        Value::Int(n) => Some(n.to_string().into_bytes()),
        _ => None,
    }
}

fn payload(value: Value) -> Payload {
    match value {
        Value::Int(n) => Payload::Count(n),
        other => Payload::Bytes(bytes(other).unwrap_or_default()),
    }
}

#[cold]
fn unexpected(frame: &Value) -> Error {
    Error::new(
        ErrorKind::Protocol,
        format!("the subscriber's connection sent an unexpected frame: {frame:?}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    fn parse(frame: Value) -> Message {
        match Event::from_frame(frame) {
            Some(Event::Message(message)) => message,
            other => panic!("not a message: {other:?}"),
        }
    }

    #[test]
    fn resp2_arrays_and_resp3_pushes_read_the_same() {
        let resp2 = parse(Value::Array(vec![
            bulk("pmessage"),
            bulk("p*"),
            bulk("pa"),
            bulk("hi"),
        ]));
        let resp3 = parse(Value::Push {
            kind: PushKind::PMessage,
            data: vec![bulk("p*"), bulk("pa"), bulk("hi")],
        });
        assert_eq!(resp2, resp3);
        assert_eq!(resp2.pattern.as_deref(), Some(&b"p*"[..]));
        assert_eq!(resp2.channel.as_deref(), Some(&b"pa"[..]));
        assert_eq!(resp2.data, Payload::Bytes(b"hi".to_vec()));

        let confirmation = parse(Value::Array(vec![
            bulk("subscribe"),
            bulk("a"),
            Value::Int(1),
        ]));
        assert_eq!(confirmation.kind, MessageKind::Subscribe);
        assert_eq!(confirmation.data, Payload::Count(1));
        let none_left = parse(Value::Push {
            kind: PushKind::Unsubscribe,
            data: vec![Value::Nil, Value::Int(0)],
        });
        assert_eq!(none_left.channel, None);
    }

    #[test]
    fn pongs_in_every_form() {
        let resp2 = parse(Value::Array(vec![bulk("pong"), bulk("")]));
        assert_eq!(resp2.kind, MessageKind::Pong);
        assert_eq!(resp2.data, Payload::Bytes(Vec::new()));
        assert_eq!(parse(Value::SimpleString("PONG".into())), resp2);
        let echoed = parse(bulk("hello"));
        assert_eq!(echoed.data, Payload::Bytes(b"hello".to_vec()));
        assert_eq!(
            parse(Value::Array(vec![bulk("pong"), bulk("hello")])),
            echoed
        );
    }

    #[test]
    fn monitor_lines_are_monitor_messages() {
        let ok = parse_monitor(Value::Okay);
        assert_eq!(ok.kind, MessageKind::Monitor);
        assert_eq!(ok.data, Payload::Bytes(b"OK".to_vec()));
        let line = "1700000000.123456 [0 127.0.0.1:5000] \"GET\" \"k\"";
        let ran = parse_monitor(Value::SimpleString(line.into()));
        assert_eq!(ran.data, Payload::Bytes(line.as_bytes().to_vec()));
        let refused = redis::parse_redis_value(b"-NOPERM no\r\n").unwrap();
        assert!(matches!(
            Event::from_monitor_frame(refused),
            Some(Event::Error(err)) if err.code() == Some("NOPERM")
        ));
    }

    fn parse_monitor(frame: Value) -> Message {
        match Event::from_monitor_frame(frame) {
            Some(Event::Message(message)) => message,
            other => panic!("not a message: {other:?}"),
        }
    }

    #[test]
    fn other_pushes_are_dropped_and_errors_kept() {
        let invalidate = Value::Push {
            kind: PushKind::Invalidate,
            data: vec![Value::Array(vec![bulk("k")])],
        };
        assert!(Event::from_frame(invalidate).is_none());
        let refused = redis::parse_redis_value(b"-ERR unknown command 'SSUBSCRIBE'\r\n").unwrap();
        assert!(
            matches!(Event::from_frame(refused), Some(Event::Error(err)) if err.code() == Some("ERR"))
        );
        assert!(matches!(
            Event::from_frame(Value::Array(vec![bulk("surprise")])),
            Some(Event::Error(err)) if err.kind() == ErrorKind::Protocol
        ));
    }
}
