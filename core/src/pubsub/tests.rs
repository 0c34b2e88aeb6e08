//! The subscriber against scripted peers: each connection it opens is an
//! in-memory duplex stream whose far end the test plays as the server,
//! writing pushes split anywhere, dropping the connection, or refusing new
//! ones.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::resp::RespCodec;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;

use super::*;
use crate::command::Command;
use crate::connection::{Reader, Writer};
use crate::error::{Error, ErrorKind};

/// Opens in-memory connections for a subscriber and hands their far ends
/// to the test; refuses them while `down` is set.
struct Peer {
    ends: mpsc::UnboundedReceiver<DuplexStream>,
    down: Arc<AtomicBool>,
    attempts: Arc<AtomicUsize>,
    /// The slot each connection attempt was asked to reach.
    slots: Arc<parking_lot::Mutex<Vec<Option<u16>>>>,
}

fn scripted(max_buffered: usize) -> (Subscriber, Peer) {
    scripted_with(max_buffered, None)
}

fn scripted_with(max_buffered: usize, ack_timeout: Option<Duration>) -> (Subscriber, Peer) {
    let (tx, ends) = mpsc::unbounded_channel();
    let down = Arc::new(AtomicBool::new(false));
    let attempts = Arc::new(AtomicUsize::new(0));
    let slots = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let (refuse, count, asked) = (Arc::clone(&down), Arc::clone(&attempts), Arc::clone(&slots));
    let connect: Connect = Arc::new(move |slot| {
        count.fetch_add(1, Ordering::SeqCst);
        asked.lock().push(slot);
        let outcome = if refuse.load(Ordering::SeqCst) {
            Err(Error::new(ErrorKind::Connection, "connection refused"))
        } else {
            let (ours, theirs) = tokio::io::duplex(1 << 16);
            let _ = tx.send(theirs);
            let (reader, writer) = tokio::io::split(ours);
            let reader: Reader = FramedRead::new(Box::pin(reader), RespCodec::default());
            let writer: Writer = Box::pin(writer);
            Ok((reader, writer))
        };
        Box::pin(async move { outcome })
    });
    let subscriber = Subscriber::start(
        connect,
        max_buffered,
        ack_timeout,
        &Handle::current(),
        Arc::default(),
    )
    .unwrap();
    (
        subscriber,
        Peer {
            ends,
            down,
            attempts,
            slots,
        },
    )
}

impl Peer {
    async fn accept(&mut self) -> DuplexStream {
        tokio::time::timeout(Duration::from_secs(5), self.ends.recv())
            .await
            .expect("the subscriber connected in time")
            .expect("the subscriber is alive")
    }

    /// The next connection, once the subscriber has written `commands` on it.
    async fn accept_after(&mut self, commands: &[&[&str]]) -> DuplexStream {
        let mut server = self.accept().await;
        expect_written(&mut server, &packed(commands)).await;
        server
    }

    async fn attempts_reach(&self, count: usize) {
        tokio::time::timeout(Duration::from_secs(5), async {
            while self.attempts.load(Ordering::SeqCst) < count {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await
        .expect("the subscriber kept trying");
    }
}

fn names(words: &[&str]) -> Vec<Vec<u8>> {
    words.iter().map(|w| w.as_bytes().to_vec()).collect()
}

/// Subscribes; the receiver gets the subscribe's outcome.
fn subscribe(
    subscriber: &Subscriber,
    kind: Kind,
    words: &[&str],
) -> tokio::sync::oneshot::Receiver<crate::error::Result<()>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    subscriber
        .subscribe(
            kind,
            &names(words),
            Box::new(move |outcome| {
                let _ = tx.send(outcome);
            }),
        )
        .unwrap();
    rx
}

/// The outcome a subscribe's ack got.
async fn acked(
    ack: tokio::sync::oneshot::Receiver<crate::error::Result<()>>,
) -> crate::error::Result<()> {
    tokio::time::timeout(Duration::from_secs(5), ack)
        .await
        .expect("the subscribe was answered in time")
        .expect("the ack was called")
}

/// A subscription's confirmation as a RESP2 server sends it
/// (`kind` is `subscribe`, `psubscribe`, ...).
fn confirmation(kind: &str, name: &str, count: usize) -> Vec<u8> {
    let (k, n) = (kind.len(), name.len());
    format!("*3\r\n${k}\r\n{kind}\r\n${n}\r\n{name}\r\n:{count}\r\n").into_bytes()
}

/// Writes `bytes` as the server.
async fn send(server: &mut DuplexStream, bytes: &[u8]) {
    server.write_all(bytes).await.unwrap();
}

/// Subscribes to channel `name` on the subscriber's first connection, and
/// confirms it as the server; returns that connection.
async fn subscribed_to(subscriber: &Subscriber, peer: &mut Peer, name: &str) -> DuplexStream {
    let ack = subscribe(subscriber, Kind::Channel, &[name]);
    let mut server = peer.accept_after(&[&["SUBSCRIBE", name]]).await;
    send(&mut server, &confirmation("subscribe", name, 1)).await;
    acked(ack).await.unwrap();
    server
}

fn packed(commands: &[&[&str]]) -> Vec<u8> {
    let mut out = Vec::new();
    for words in commands {
        out.extend_from_slice(Command::from_args(words.iter()).unwrap().packed());
    }
    out
}

async fn expect_written(server: &mut DuplexStream, expected: &[u8]) {
    let mut got = vec![0; expected.len()];
    tokio::time::timeout(Duration::from_secs(5), server.read_exact(&mut got))
        .await
        .expect("the subscriber wrote in time")
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected)
    );
}

/// The next event, waited for off the runtime's threads (the wait blocks).
async fn next(subscriber: &Subscriber) -> Event {
    next_or_none(subscriber).await.expect("an event in time")
}

/// The next event, or `None` if none comes in 5 s (or the inbox is closed).
async fn next_or_none(subscriber: &Subscriber) -> Option<Event> {
    let inbox = Arc::clone(subscriber.inbox());
    tokio::task::spawn_blocking(move || inbox.wait(Some(Duration::from_secs(5))).event())
        .await
        .unwrap()
}

/// `(type, pattern, channel, data)` of the next event, for short asserts.
async fn next_message(subscriber: &Subscriber) -> (&'static str, String, String, String) {
    let event = next(subscriber).await;
    let Event::Message(message) = event else {
        panic!("not a message: {event:?}");
    };
    let text = |bytes: Option<Vec<u8>>| String::from_utf8(bytes.unwrap_or_default()).unwrap();
    let data = match message.data {
        Payload::Bytes(data) => String::from_utf8(data).unwrap(),
        Payload::Count(n) => n.to_string(),
    };
    (
        message.kind.name(),
        text(message.pattern),
        text(message.channel),
        data,
    )
}

fn owned(expected: (&'static str, &str, &str, &str)) -> (&'static str, String, String, String) {
    (
        expected.0,
        expected.1.to_owned(),
        expected.2.to_owned(),
        expected.3.to_owned(),
    )
}

#[tokio::test]
async fn confirmations_and_messages_arrive_in_order_however_the_reads_split() {
    let pushes: &[u8] = b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n\
        *3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:2\r\n\
        *3\r\n$7\r\nmessage\r\n$1\r\na\r\n$5\r\nhe\r\no\r\n\
        *4\r\n$8\r\npmessage\r\n$2\r\np*\r\n$2\r\npq\r\n$0\r\n\r\n";
    for split in 1..pushes.len() {
        let (subscriber, mut peer) = scripted(100);
        subscribe(&subscriber, Kind::Channel, &["a"]);
        subscribe(&subscriber, Kind::Pattern, &["p*"]);
        let mut server = peer
            .accept_after(&[&["SUBSCRIBE", "a"], &["PSUBSCRIBE", "p*"]])
            .await;
        send(&mut server, &pushes[..split]).await;
        tokio::task::yield_now().await;
        send(&mut server, &pushes[split..]).await;
        assert_eq!(
            next_message(&subscriber).await,
            owned(("subscribe", "", "a", "1"))
        );
        assert_eq!(
            next_message(&subscriber).await,
            owned(("psubscribe", "", "p*", "2"))
        );
        assert_eq!(
            next_message(&subscriber).await,
            owned(("message", "", "a", "he\r\no")),
            "split at {split}"
        );
        assert_eq!(
            next_message(&subscriber).await,
            owned(("pmessage", "p*", "pq", ""))
        );
    }
}

#[tokio::test]
async fn resp3_pushes_and_a_plain_ping_reply_share_the_inbox() {
    let (subscriber, mut peer) = scripted(100);
    subscribe(&subscriber, Kind::Shard, &["s"]);
    subscriber.ping(Some(b"hi")).unwrap();
    let mut server = peer
        .accept_after(&[&["SSUBSCRIBE", "s"], &["PING", "hi"]])
        .await;
    send(&mut server, b">3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n$2\r\nhi\r\n>3\r\n$8\r\nsmessage\r\n$1\r\ns\r\n$1\r\nx\r\n-ERR nope\r\n").await;
    assert_eq!(
        next_message(&subscriber).await,
        owned(("ssubscribe", "", "s", "1"))
    );
    assert_eq!(
        next_message(&subscriber).await,
        owned(("pong", "", "", "hi"))
    );
    assert_eq!(
        next_message(&subscriber).await,
        owned(("smessage", "", "s", "x"))
    );
    assert!(matches!(next(&subscriber).await, Event::Error(err) if err.code() == Some("ERR")));
}

#[tokio::test]
async fn a_lost_connection_is_restored_then_announced() {
    let (subscriber, mut peer) = scripted(100);
    let acks = [
        subscribe(&subscriber, Kind::Channel, &["a"]),
        subscribe(&subscriber, Kind::Pattern, &["p*"]),
    ];
    let mut first = peer
        .accept_after(&[&["SUBSCRIBE", "a"], &["PSUBSCRIBE", "p*"]])
        .await;
    send(
        &mut first,
        b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n\
              *3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:2\r\n",
    )
    .await;
    for ack in acks {
        acked(ack).await.unwrap();
    }
    assert_eq!(next_message(&subscriber).await.0, "subscribe");
    assert_eq!(next_message(&subscriber).await.0, "psubscribe");

    // The server goes away and refuses connections for a while; a
    // subscription made meanwhile waits for it.
    peer.down.store(true, Ordering::SeqCst);
    drop(first);
    peer.attempts_reach(3).await;
    let waiting = subscribe(&subscriber, Kind::Shard, &["s"]);
    peer.down.store(false, Ordering::SeqCst);

    // Every subscription is restored, one name per command, before what
    // was queued while disconnected.
    let mut second = peer
        .accept_after(&[
            &["SUBSCRIBE", "a"],
            &["PSUBSCRIBE", "p*"],
            &["SSUBSCRIBE", "s"],
            &["SSUBSCRIBE", "s"],
        ])
        .await;
    // The restore's confirmations are counted off, not shown; a message that
    // arrives between them is; the notice follows the last one.
    send(
        &mut second,
        b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n\
              *3\r\n$7\r\nmessage\r\n$1\r\na\r\n$5\r\nearly\r\n\
              *3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:2\r\n\
              *3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n\
              *3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n",
    )
    .await;
    assert_eq!(
        next_message(&subscriber).await,
        owned(("message", "", "a", "early"))
    );
    assert_eq!(
        next_message(&subscriber).await,
        owned(("reconnected", "", "", "3"))
    );
    // The confirmation of the command made while disconnected is the user's;
    // the restore's confirmation answered it already.
    assert_eq!(
        next_message(&subscriber).await,
        owned(("ssubscribe", "", "s", "1"))
    );
    acked(waiting).await.unwrap();
    assert!(subscriber.inbox().is_empty());
}

#[tokio::test]
async fn the_first_connections_failure_fails_the_subscribe_and_forgets_it() {
    let (subscriber, mut peer) = scripted(100);
    peer.down.store(true, Ordering::SeqCst);
    let err = acked(subscribe(&subscriber, Kind::Channel, &["a"]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection);
    // The subscribe raised it, so get_message does not; and the subscriber
    // is as new: no retries, nothing to restore.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(peer.attempts.load(Ordering::SeqCst), 1);
    assert!(subscriber.inbox().is_empty());
    peer.down.store(false, Ordering::SeqCst);
    let _server = subscribed_to(&subscriber, &mut peer, "b").await;
    assert_eq!(
        next_message(&subscriber).await,
        owned(("subscribe", "", "b", "1"))
    );
}

#[tokio::test]
async fn a_lone_pings_first_connection_failure_goes_to_the_inbox() {
    let (subscriber, peer) = scripted(100);
    peer.down.store(true, Ordering::SeqCst);
    subscriber.ping(None).unwrap();
    let Event::Error(err) = next(&subscriber).await else {
        panic!("the failure is reported");
    };
    assert_eq!(err.kind(), ErrorKind::Connection);
}

#[tokio::test]
async fn a_subscribe_is_answered_once_every_name_is_confirmed() {
    let (subscriber, mut peer) = scripted(100);
    let mut ack = subscribe(&subscriber, Kind::Channel, &["a", "b"]);
    let mut server = peer.accept_after(&[&["SUBSCRIBE", "a", "b"]]).await;
    send(&mut server, &confirmation("subscribe", "a", 1)).await;
    assert_eq!(
        next_message(&subscriber).await,
        owned(("subscribe", "", "a", "1"))
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(ack.try_recv().is_err(), "b is not confirmed yet");
    send(&mut server, &confirmation("subscribe", "b", 2)).await;
    acked(ack).await.unwrap();
    // The confirmation was queued before the subscribe was answered.
    assert_eq!(subscriber.inbox().len(), 1);
}

#[tokio::test]
async fn a_refused_subscribe_raises_and_is_not_restored() {
    let (subscriber, mut peer) = scripted(100);
    let first = subscribe(&subscriber, Kind::Channel, &["a"]);
    let refused = subscribe(&subscriber, Kind::Channel, &["secret"]);
    let mut first_server = peer
        .accept_after(&[&["SUBSCRIBE", "a"], &["SUBSCRIBE", "secret"]])
        .await;
    send(
        &mut first_server,
        b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n-NOPERM no\r\n",
    )
    .await;
    acked(first).await.unwrap();
    let err = acked(refused).await.unwrap_err();
    assert_eq!(err.code(), Some("NOPERM"));
    assert_eq!(next_message(&subscriber).await.0, "subscribe");
    assert!(
        subscriber.inbox().is_empty(),
        "the error went to the caller only"
    );
    // After a lost connection only `a` comes back.
    drop(first_server);
    let _second = peer.accept_after(&[&["SUBSCRIBE", "a"]]).await;
}

#[tokio::test]
async fn an_overdue_confirmation_times_out_and_the_connection_is_replaced() {
    let (subscriber, mut peer) = scripted_with(100, Some(Duration::from_millis(100)));
    let mut first = subscribed_to(&subscriber, &mut peer, "a").await;
    let late = subscribe(&subscriber, Kind::Channel, &["late"]);
    expect_written(&mut first, &packed(&[&["SUBSCRIBE", "late"]])).await;
    // The server never answers it.
    let err = acked(late).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    // That connection is given up; the next restores what held, not `late`.
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), first.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the connection was closed");
    let _second = peer.accept_after(&[&["SUBSCRIBE", "a"]]).await;
}

#[tokio::test]
async fn a_subscribe_waiting_when_the_connection_fails_again_fails_and_is_rolled_back() {
    let (subscriber, mut peer) = scripted(100);
    let mut first = subscribed_to(&subscriber, &mut peer, "a").await;
    let lost = subscribe(&subscriber, Kind::Pattern, &["p*"]);
    expect_written(&mut first, &packed(&[&["PSUBSCRIBE", "p*"]])).await;
    peer.down.store(true, Ordering::SeqCst);
    drop(first);
    let err = acked(lost).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection);
    peer.down.store(false, Ordering::SeqCst);
    let _second = peer.accept_after(&[&["SUBSCRIBE", "a"]]).await;
}

#[tokio::test]
async fn closing_fails_the_subscribes_still_waiting() {
    let (subscriber, mut peer) = scripted(100);
    let waiting = subscribe(&subscriber, Kind::Channel, &["a"]);
    let _server = peer.accept_after(&[&["SUBSCRIBE", "a"]]).await;
    subscriber.close();
    assert_eq!(acked(waiting).await.unwrap_err().kind(), ErrorKind::Closed);
}

#[tokio::test]
async fn a_reader_that_falls_behind_loses_the_oldest_messages_not_the_connection() {
    let (subscriber, mut peer) = scripted(10);
    subscribe(&subscriber, Kind::Channel, &["a"]);
    let mut server = peer.accept_after(&[&["SUBSCRIBE", "a"]]).await;
    let mut pushes = b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n".to_vec();
    for n in 0..1000 {
        let data = format!("{n:04}");
        pushes.extend_from_slice(
            format!("*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$4\r\n{data}\r\n").as_bytes(),
        );
    }
    // Ten times the duplex stream's buffer: the writes complete only because
    // the subscriber keeps reading while nobody takes its messages.
    for _ in 0..10 {
        tokio::time::timeout(Duration::from_secs(5), server.write_all(&pushes))
            .await
            .expect("the subscriber kept reading")
            .unwrap();
    }
    subscriber.ping(None).unwrap();
    expect_written(&mut server, &packed(&[&["PING"]])).await;
    send(&mut server, b"+PONG\r\n").await;
    tokio::time::timeout(Duration::from_secs(5), async {
        while subscriber.inbox().len() < 21 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the pong arrived");
    assert_eq!(subscriber.inbox().dropped(), 10 * 1000 - 10);
    // Every confirmation kept, then the newest ten messages, then the pong.
    for _ in 0..10 {
        assert_eq!(next_message(&subscriber).await.0, "subscribe");
    }
    for n in 990..1000 {
        let expected = format!("{n:04}");
        assert_eq!(
            next_message(&subscriber).await,
            owned(("message", "", "a", &expected))
        );
    }
    assert_eq!(next_message(&subscriber).await, owned(("pong", "", "", "")));
}

#[tokio::test]
async fn closing_closes_the_connection_and_refuses_later_commands() {
    let (subscriber, mut peer) = scripted(100);
    subscribe(&subscriber, Kind::Channel, &["a"]);
    let mut server = peer.accept_after(&[&["SUBSCRIBE", "a"]]).await;
    subscriber.close();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), server.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "the connection was closed");
    let err = subscriber.ping(None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed);
    assert!(next_or_none(&subscriber).await.is_none());
}

#[tokio::test]
async fn an_unused_subscriber_opens_no_connection() {
    let (subscriber, peer) = scripted(100);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(peer.attempts.load(Ordering::SeqCst), 0);
    drop(subscriber);
}

#[tokio::test]
async fn a_shard_channel_its_node_dropped_is_subscribed_again_on_a_new_connection() {
    let (subscriber, mut peer) = scripted(100);
    let ack = subscribe(&subscriber, Kind::Shard, &["{room}a"]);
    let mut first = peer.accept().await;
    expect_written(&mut first, &packed(&[&["SSUBSCRIBE", "{room}a"]])).await;
    first
        .write_all(b"*3\r\n$10\r\nssubscribe\r\n$7\r\n{room}a\r\n:1\r\n")
        .await
        .unwrap();
    acked(ack).await.unwrap();
    assert_eq!(next_message(&subscriber).await.0, "ssubscribe");

    // The slot left the node (a failover, a resharding): the node says
    // sunsubscribe unasked. The subscriber opens a new connection, for the
    // same slot, and subscribes again there.
    first
        .write_all(b"*3\r\n$12\r\nsunsubscribe\r\n$7\r\n{room}a\r\n:0\r\n")
        .await
        .unwrap();
    let mut second = peer.accept().await;
    expect_written(&mut second, &packed(&[&["SSUBSCRIBE", "{room}a"]])).await;
    second
        .write_all(b"*3\r\n$10\r\nssubscribe\r\n$7\r\n{room}a\r\n:1\r\n")
        .await
        .unwrap();
    assert_eq!(
        next_message(&subscriber).await,
        owned(("reconnected", "", "", "1"))
    );
    let slot = Some(crate::cluster::slot_of(b"{room}a"));
    assert_eq!(*peer.slots.lock(), vec![slot, slot]);
    // The unasked sunsubscribe is not the user's: nothing else waits.
    assert!(subscriber.inbox().is_empty());
}

#[tokio::test]
async fn an_unsubscribe_the_user_asked_for_keeps_the_connection() {
    let (subscriber, mut peer) = scripted(100);
    let ack = subscribe(&subscriber, Kind::Shard, &["s"]);
    let mut first = peer.accept().await;
    expect_written(&mut first, &packed(&[&["SSUBSCRIBE", "s"]])).await;
    first
        .write_all(b"*3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n")
        .await
        .unwrap();
    acked(ack).await.unwrap();
    subscriber.unsubscribe(Kind::Shard, &names(&["s"])).unwrap();
    expect_written(&mut first, &packed(&[&["SUNSUBSCRIBE", "s"]])).await;
    first
        .write_all(b"*3\r\n$12\r\nsunsubscribe\r\n$1\r\ns\r\n:0\r\n")
        .await
        .unwrap();
    assert_eq!(next_message(&subscriber).await.0, "ssubscribe");
    assert_eq!(next_message(&subscriber).await.0, "sunsubscribe");
    // One connection, asked for the channel's slot.
    assert_eq!(
        *peer.slots.lock(),
        vec![Some(crate::cluster::slot_of(b"s"))]
    );
}

#[tokio::test]
async fn a_move_reconnects_and_subscribes_again_while_the_old_connection_stays_up() {
    let (subscriber, mut peer) = scripted(100);
    let closer = subscriber.closer();
    // A move before any connection was opened leaves the first one alone.
    assert!(closer.move_on());
    let ack = subscribe(&subscriber, Kind::Channel, &["news"]);
    let mut first = peer.accept_after(&[&["SUBSCRIBE", "news"]]).await;
    first
        .write_all(&confirmation("subscribe", "news", 1))
        .await
        .unwrap();
    acked(ack).await.unwrap();
    assert_eq!(next_message(&subscriber).await.0, "subscribe");
    assert_eq!(peer.attempts.load(Ordering::SeqCst), 1);

    // The sentinels moved the service: the old node keeps the connection
    // open (a demoted node does), yet the subscriber opens a new one and
    // subscribes there, then says so.
    assert!(closer.move_on());
    let mut second = peer.accept_after(&[&["SUBSCRIBE", "news"]]).await;
    second
        .write_all(&confirmation("subscribe", "news", 1))
        .await
        .unwrap();
    assert_eq!(
        next_message(&subscriber).await,
        owned(("reconnected", "", "", "1"))
    );
    // The old connection was let go of: its far end reads the end.
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), first.read_to_end(&mut rest))
        .await
        .expect("the old connection was closed")
        .unwrap();
    assert!(subscriber.inbox().is_empty());
    subscriber.close();
    assert!(!closer.move_on(), "a closed subscriber is let go of");
}
