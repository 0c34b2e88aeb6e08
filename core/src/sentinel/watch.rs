//! The `+switch-master` watcher: one task per sentinel client, subscribed on
//! one sentinel at a time. When its connection breaks (or cannot be opened)
//! it moves to the next sentinel, pausing a little once it has been round
//! them all, so a client whose sentinels are all down does not spin.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::StreamExt;
use redis::Value;
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

use super::Sentinel;
use crate::command::Command;
use crate::config::Address;
use crate::connection::open_session;
use crate::error::{Error, Result};

/// What the sentinel leading a failover publishes just before it sends
/// `SLAVEOF NO ONE` to the replica it chose: from then on the old primary's
/// writes are lost, so the client moves at once (the `+switch-master`
/// comes only once the sentinel has read the promotion back, up to a second
/// later). Only the leader publishes it; the others' `+switch-master` still
/// moves a client that watches one of them.
const PROMOTING: &[u8] = b"+failover-state-send-slaveof-noone";

/// The pause after every sentinel failed once in a row.
const ROUND_PAUSE: Duration = Duration::from_millis(500);

/// Runs until `stop` is cancelled or the client is gone.
pub(super) async fn run(owner: Weak<Sentinel>, stop: CancellationToken) {
    let mut at = 0;
    let mut failed_in_a_row = 0;
    loop {
        let Some(sentinel) = owner.upgrade() else {
            return;
        };
        let count = sentinel.sentinels.len();
        let endpoint = Arc::clone(&sentinel.sentinels[at % count]);
        let service = sentinel.options.service.clone();
        // Only the weak handle is held while waiting for events, so a
        // client dropped meanwhile is let go of.
        drop(sentinel);
        let outcome = tokio::select! {
            () = stop.cancelled() => return,
            outcome = listen(&endpoint, &service, &owner) => outcome,
        };
        match outcome {
            // The connection was up and then broke: try the next at once.
            Ok(()) => failed_in_a_row = 0,
            Err(_) => failed_in_a_row += 1,
        }
        at += 1;
        if failed_in_a_row >= count {
            failed_in_a_row = 0;
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(ROUND_PAUSE) => {}
            }
        }
    }
}

/// Subscribes on one sentinel and hands every `+switch-master` of `service`
/// to the client; returns when the connection ends (`Ok` once it had been
/// subscribed).
async fn listen(endpoint: &super::Endpoint, service: &str, owner: &Weak<Sentinel>) -> Result<()> {
    let mut opened = open_session(endpoint).await?;
    let subscribe = Command::from_args([&b"SUBSCRIBE"[..], b"+switch-master", PROMOTING])?;
    opened
        .writer
        .write_all(subscribe.packed())
        .await
        .map_err(|err| Error::from(redis::RedisError::from(err)))?;
    opened
        .writer
        .flush()
        .await
        .map_err(|err| Error::from(redis::RedisError::from(err)))?;
    while let Some(frame) = opened.reader.next().await {
        let Some(to) = switched_to(&frame?, service) else {
            continue;
        };
        match owner.upgrade() {
            Some(sentinel) => sentinel.switched(to),
            None => return Ok(()),
        }
    }
    Ok(())
}

/// The new primary's address if `frame` is a `+switch-master` message about
/// `service` (`<name> <old ip> <old port> <new ip> <new port>`), or the
/// replica being promoted if it is a [`PROMOTING`] one (`slave <ip>:<port>
/// <ip> <port> @ <name> <primary ip> <primary port>`).
fn switched_to(frame: &Value, service: &str) -> Option<Address> {
    let items = match frame {
        Value::Array(items) => items.as_slice(),
        Value::Push { data, .. } => data.as_slice(),
        _ => return None,
    };
    let [kind, Value::BulkString(channel), Value::BulkString(payload)] = items else {
        return None;
    };
    if !matches!(kind, Value::BulkString(k) if k == b"message") {
        return None;
    }
    let payload = std::str::from_utf8(payload).ok()?;
    let words: Vec<&str> = payload.split(' ').collect();
    let (ip, port) = match (channel.as_slice(), words.as_slice()) {
        (b"+switch-master", [name, _, _, ip, port]) if *name == service => (*ip, *port),
        (PROMOTING, ["slave", _, ip, port, "@", name, _, _]) if *name == service => (*ip, *port),
        _ => return None,
    };
    Some(Address::Tcp {
        host: ip.to_owned(),
        port: port.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(payload: &str) -> Value {
        Value::Array(vec![
            Value::BulkString(b"message".to_vec()),
            Value::BulkString(b"+switch-master".to_vec()),
            Value::BulkString(payload.as_bytes().to_vec()),
        ])
    }

    #[test]
    fn a_switch_of_this_service_names_the_new_primary() {
        let frame = message("mymaster 127.0.0.1 6379 127.0.0.1 6380");
        assert_eq!(
            switched_to(&frame, "mymaster"),
            Some(Address::Tcp {
                host: "127.0.0.1".into(),
                port: 6380
            })
        );
    }

    #[test]
    fn other_services_and_other_frames_are_ignored() {
        let other = message("othermaster 127.0.0.1 6379 127.0.0.1 6380");
        assert_eq!(switched_to(&other, "mymaster"), None);
        let confirmation = Value::Array(vec![
            Value::BulkString(b"subscribe".to_vec()),
            Value::BulkString(b"+switch-master".to_vec()),
            Value::Int(1),
        ]);
        assert_eq!(switched_to(&confirmation, "mymaster"), None);
        assert_eq!(switched_to(&message("mymaster 1 2"), "mymaster"), None);
    }

    #[test]
    fn a_promotion_under_way_names_the_replica() {
        let frame = |payload: &str| {
            Value::Array(vec![
                Value::BulkString(b"message".to_vec()),
                Value::BulkString(PROMOTING.to_vec()),
                Value::BulkString(payload.as_bytes().to_vec()),
            ])
        };
        let promoting = frame("slave 127.0.0.1:6380 127.0.0.1 6380 @ mymaster 127.0.0.1 6379");
        assert_eq!(
            switched_to(&promoting, "mymaster"),
            Some(Address::Tcp {
                host: "127.0.0.1".into(),
                port: 6380
            })
        );
        let other = frame("slave 127.0.0.1:6380 127.0.0.1 6380 @ other 127.0.0.1 6379");
        assert_eq!(switched_to(&other, "mymaster"), None);
    }
}
