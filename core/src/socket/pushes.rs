//! The subscriber frames' messages to and from the core's types: commands
//! for a subscriber (request side) and the events it received (response
//! side), so the wrapper's codec rebuilds exactly the events the other
//! transports hand over.

use bytes::Bytes;

use super::convert::{error_from_proto, error_to_proto, malformed};
use super::proto::{self, pub_sub_message, push_event};
use crate::error::Error;
use crate::pubsub::{Ack, Event, Kind, Message, MessageKind, Payload, Subscriber};

/// What a `subscriber_command` frame asks of its subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriberCall {
    Subscribe(Kind, Vec<Vec<u8>>),
    Unsubscribe(Kind, Vec<Vec<u8>>),
    Ping(Option<Vec<u8>>),
    Monitor,
}

impl SubscriberCall {
    /// Reads a frame's action and names; `Err` for a frame that breaks the
    /// schema's rules (the stream is then closed).
    pub fn from_proto(action: i32, names: Vec<Bytes>) -> Result<Self, Error> {
        use proto::SubscriberAction as A;
        let names: Vec<Vec<u8>> = names.into_iter().map(Vec::from).collect();
        Ok(match A::try_from(action) {
            Ok(A::Subscribe) => Self::Subscribe(Kind::Channel, names),
            Ok(A::Unsubscribe) => Self::Unsubscribe(Kind::Channel, names),
            Ok(A::Psubscribe) => Self::Subscribe(Kind::Pattern, names),
            Ok(A::Punsubscribe) => Self::Unsubscribe(Kind::Pattern, names),
            Ok(A::Ssubscribe) => Self::Subscribe(Kind::Shard, names),
            Ok(A::Sunsubscribe) => Self::Unsubscribe(Kind::Shard, names),
            Ok(A::Ping) if names.len() <= 1 => Self::Ping(names.into_iter().next()),
            Ok(A::Ping) => return Err(malformed("a subscriber's PING carries at most one name")),
            Ok(A::Monitor) if names.is_empty() => Self::Monitor,
            Ok(A::Monitor) => return Err(malformed("a subscriber's MONITOR carries no names")),
            Ok(A::Unspecified) | Err(_) => {
                return Err(malformed(&format!("unknown subscriber action {action}")))
            }
        })
    }

    /// The frame's action and names.
    pub fn to_proto(&self) -> (proto::SubscriberAction, Vec<Bytes>) {
        use proto::SubscriberAction as A;
        let bytes = |names: &[Vec<u8>]| names.iter().map(|n| Bytes::copy_from_slice(n)).collect();
        match self {
            Self::Subscribe(kind, names) => (
                match kind {
                    Kind::Channel => A::Subscribe,
                    Kind::Pattern => A::Psubscribe,
                    Kind::Shard => A::Ssubscribe,
                },
                bytes(names),
            ),
            Self::Unsubscribe(kind, names) => (
                match kind {
                    Kind::Channel => A::Unsubscribe,
                    Kind::Pattern => A::Punsubscribe,
                    Kind::Shard => A::Sunsubscribe,
                },
                bytes(names),
            ),
            Self::Ping(message) => (
                A::Ping,
                message.iter().map(|m| Bytes::copy_from_slice(m)).collect(),
            ),
            Self::Monitor => (A::Monitor, Vec::new()),
        }
    }

    /// Whether the call is answered (a subscribe, once confirmed): its
    /// frame then carries a request id.
    pub fn is_answered(&self) -> bool {
        matches!(self, Self::Subscribe(..))
    }

    /// Carries the call out on `subscriber`; `ack` gets a subscribe's
    /// outcome (and is dropped unused by the other calls, which are not
    /// answered). Not called when this returns an error.
    pub fn apply(self, subscriber: &Subscriber, ack: Ack) -> Result<(), Error> {
        match self {
            Self::Subscribe(kind, names) => subscriber.subscribe(kind, &names, ack),
            Self::Unsubscribe(kind, names) => subscriber.unsubscribe(kind, &names),
            Self::Ping(message) => subscriber.ping(message.as_deref()),
            Self::Monitor => subscriber.monitor(),
        }
    }
}

pub fn event_to_proto(event: Event) -> proto::PushEvent {
    let event = match event {
        Event::Message(message) => push_event::Event::Message(message_to_proto(message)),
        Event::Error(err) => push_event::Event::Error(error_to_proto(&err)),
    };
    proto::PushEvent { event: Some(event) }
}

fn message_to_proto(message: Message) -> proto::PubSubMessage {
    use proto::MessageKind as K;
    let kind = match message.kind {
        MessageKind::Message => K::Message,
        MessageKind::PMessage => K::Pmessage,
        MessageKind::SMessage => K::Smessage,
        MessageKind::Subscribe => K::Subscribe,
        MessageKind::Unsubscribe => K::Unsubscribe,
        MessageKind::PSubscribe => K::Psubscribe,
        MessageKind::PUnsubscribe => K::Punsubscribe,
        MessageKind::SSubscribe => K::Ssubscribe,
        MessageKind::SUnsubscribe => K::Sunsubscribe,
        MessageKind::Pong => K::Pong,
        MessageKind::Reconnected => K::Reconnected,
        MessageKind::Monitor => K::Monitor,
    };
    proto::PubSubMessage {
        kind: kind.into(),
        pattern: message.pattern.map(Bytes::from),
        channel: message.channel.map(Bytes::from),
        data: Some(match message.data {
            Payload::Bytes(bytes) => pub_sub_message::Data::Payload(Bytes::from(bytes)),
            Payload::Count(count) => pub_sub_message::Data::Count(count),
        }),
        node: message.node.map(|node| node.to_string()),
    }
}

/// The event a frame carries; `Err` for a kind this build does not know
/// (the listener never sends one).
pub fn event_from_proto(event: proto::PushEvent) -> Result<Event, Error> {
    use proto::MessageKind as K;
    let message = match event.event {
        Some(push_event::Event::Message(message)) => message,
        Some(push_event::Event::Error(err)) => return Ok(Event::Error(error_from_proto(err))),
        None => return Err(malformed("a pushed event with nothing in it")),
    };
    let kind = match K::try_from(message.kind) {
        Ok(K::Message) => MessageKind::Message,
        Ok(K::Pmessage) => MessageKind::PMessage,
        Ok(K::Smessage) => MessageKind::SMessage,
        Ok(K::Subscribe) => MessageKind::Subscribe,
        Ok(K::Unsubscribe) => MessageKind::Unsubscribe,
        Ok(K::Psubscribe) => MessageKind::PSubscribe,
        Ok(K::Punsubscribe) => MessageKind::PUnsubscribe,
        Ok(K::Ssubscribe) => MessageKind::SSubscribe,
        Ok(K::Sunsubscribe) => MessageKind::SUnsubscribe,
        Ok(K::Pong) => MessageKind::Pong,
        Ok(K::Reconnected) => MessageKind::Reconnected,
        Ok(K::Monitor) => MessageKind::Monitor,
        Ok(K::Unspecified) | Err(_) => {
            return Err(malformed(&format!("unknown message kind {}", message.kind)))
        }
    };
    Ok(Event::Message(Message {
        kind,
        pattern: message.pattern.map(Vec::from),
        channel: message.channel.map(Vec::from),
        data: match message.data {
            Some(pub_sub_message::Data::Count(count)) => Payload::Count(count),
            Some(pub_sub_message::Data::Payload(bytes)) => Payload::Bytes(Vec::from(bytes)),
            None => Payload::Bytes(Vec::new()),
        },
        node: message.node.map(std::sync::Arc::from),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn events_round_trip() {
        let events = [
            Event::Message(Message {
                node: None,
                kind: MessageKind::PMessage,
                pattern: Some(b"p*".to_vec()),
                channel: Some(b"pa".to_vec()),
                data: Payload::Bytes(b"\x00\xff".to_vec()),
            }),
            Event::Message(Message {
                kind: MessageKind::SMessage,
                pattern: None,
                channel: Some(b"s".to_vec()),
                data: Payload::Bytes(b"hi".to_vec()),
                node: Some("127.0.0.1:7001".into()),
            }),
            Event::Message(Message {
                node: None,
                kind: MessageKind::Unsubscribe,
                pattern: None,
                channel: None,
                data: Payload::Count(0),
            }),
            Event::Message(Message {
                node: None,
                kind: MessageKind::Reconnected,
                pattern: None,
                channel: None,
                data: Payload::Count(3),
            }),
        ];
        for event in events {
            let back = event_from_proto(event_to_proto(event.clone())).unwrap();
            assert_eq!(back.as_message(), event.as_message());
        }
        let err = Error::with_code(ErrorKind::Response, Some("ERR".into()), "ERR nope");
        let Event::Error(back) = event_from_proto(event_to_proto(Event::Error(err))).unwrap()
        else {
            panic!("an error stays an error");
        };
        assert_eq!(back.code(), Some("ERR"));
    }

    #[test]
    fn calls_round_trip_and_bad_ones_are_refused() {
        let calls = [
            SubscriberCall::Subscribe(Kind::Shard, vec![b"s".to_vec()]),
            SubscriberCall::Unsubscribe(Kind::Pattern, Vec::new()),
            SubscriberCall::Ping(Some(b"hi".to_vec())),
            SubscriberCall::Ping(None),
            SubscriberCall::Monitor,
        ];
        for call in calls {
            let (action, names) = call.to_proto();
            assert_eq!(
                SubscriberCall::from_proto(action.into(), names).unwrap(),
                call
            );
        }
        let two = vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")];
        assert!(SubscriberCall::from_proto(proto::SubscriberAction::Ping.into(), two).is_err());
        assert!(SubscriberCall::from_proto(42, Vec::new()).is_err());
    }
}
