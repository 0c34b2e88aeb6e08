//! A cluster subscriber's shard channels against scripted nodes: each node
//! is a name whose connections the test plays as the server, and the slot
//! map is whatever the test says it is when the subscriber reads it.

use std::collections::HashMap;

use futures::future::BoxFuture;

use super::*;
use crate::cluster::{slot_of, NodeName};

/// The scripted cluster: a slot map the test edits, and the far ends of the
/// connections opened to each node.
#[derive(Default)]
struct Nodes {
    map: parking_lot::Mutex<HashMap<u16, NodeName>>,
    ends: parking_lot::Mutex<HashMap<String, mpsc::UnboundedSender<DuplexStream>>>,
    refreshes: AtomicUsize,
}

struct Router(Arc<Nodes>);

impl ShardRouter for Router {
    fn node_of(&self, slot: u16) -> crate::error::Result<NodeName> {
        Ok(self
            .0
            .map
            .lock()
            .get(&slot)
            .cloned()
            .unwrap_or_else(|| "seed".into()))
    }

    fn has_map(&self) -> bool {
        true
    }

    fn refresh(&self) -> BoxFuture<'static, ()> {
        self.0.refreshes.fetch_add(1, Ordering::SeqCst);
        Box::pin(async {})
    }

    fn connector(&self, node: &NodeName) -> Connect {
        let nodes = Arc::clone(&self.0);
        let node = node.to_string();
        Arc::new(move |_slot| {
            let (ours, theirs) = tokio::io::duplex(1 << 16);
            let sent = nodes
                .ends
                .lock()
                .get(&node)
                .map(|tx| tx.send(theirs).is_ok());
            let outcome = if sent == Some(true) {
                let (reader, writer) = tokio::io::split(ours);
                let reader: Reader = FramedRead::new(Box::pin(reader), RespCodec::default());
                let writer: Writer = Box::pin(writer);
                Ok((reader, writer))
            } else {
                Err(Error::new(ErrorKind::Connection, "no such node"))
            };
            Box::pin(async move { outcome })
        })
    }
}

/// A node's connections, as the test accepts them.
struct Node(mpsc::UnboundedReceiver<DuplexStream>);

impl Node {
    async fn accept_after(&mut self, commands: &[&[&str]]) -> DuplexStream {
        let mut server = tokio::time::timeout(Duration::from_secs(5), self.0.recv())
            .await
            .expect("the subscriber connected in time")
            .expect("the subscriber is alive");
        expect_written(&mut server, &packed(commands)).await;
        server
    }
}

/// A cluster subscriber of the scripted `nodes`, with a connection queue
/// per node named.
fn cluster_subscriber(names: &[&str]) -> (Subscriber, Arc<Nodes>, Vec<Node>) {
    let nodes = Arc::new(Nodes::default());
    let queues = names
        .iter()
        .map(|name| {
            let (tx, rx) = mpsc::unbounded_channel();
            nodes.ends.lock().insert((*name).to_owned(), tx);
            Node(rx)
        })
        .collect();
    let main: Connect = Arc::new(|_| {
        Box::pin(async { Err(Error::new(ErrorKind::Connection, "not in these tests")) })
    });
    let subscriber = Subscriber::start_cluster(
        main,
        Arc::new(Router(Arc::clone(&nodes))),
        100,
        None,
        &Handle::current(),
        Arc::default(),
    )
    .unwrap();
    (subscriber, nodes, queues)
}

impl Nodes {
    fn serve(&self, channel: &str, node: &str) {
        self.map
            .lock()
            .insert(slot_of(channel.as_bytes()), node.into());
    }
}

/// Two channels of different slots.
const A: &str = "a";
const B: &str = "b";

/// Waits until the far end reads the end of the stream: the subscriber
/// closed that connection.
async fn closed(server: &mut DuplexStream) {
    let mut byte = [0; 1];
    let read = tokio::time::timeout(Duration::from_secs(5), server.read(&mut byte))
        .await
        .expect("the connection closed in time");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

/// Subscribes to `a` on node `A` and `b` on node `B`, confirmed.
async fn on_two_nodes() -> (
    Subscriber,
    Arc<Nodes>,
    DuplexStream,
    DuplexStream,
    Node,
    Node,
) {
    assert_ne!(slot_of(A.as_bytes()), slot_of(B.as_bytes()));
    let (subscriber, nodes, queues) = cluster_subscriber(&["A", "B"]);
    let [mut node_a, mut node_b]: [Node; 2] = queues.try_into().ok().unwrap();
    nodes.serve(A, "A");
    nodes.serve(B, "B");
    let ack = subscribe(&subscriber, Kind::Shard, &[A, B]);
    let mut a = node_a.accept_after(&[&["SSUBSCRIBE", A]]).await;
    let mut b = node_b.accept_after(&[&["SSUBSCRIBE", B]]).await;
    send(&mut a, &confirmation("ssubscribe", A, 1)).await;
    send(&mut b, &confirmation("ssubscribe", B, 1)).await;
    acked(ack).await.unwrap();
    let mut confirmed = vec![
        next_message(&subscriber).await,
        next_message(&subscriber).await,
    ];
    confirmed.sort();
    assert_eq!(
        confirmed,
        vec![
            owned(("ssubscribe", "", A, "1")),
            owned(("ssubscribe", "", B, "1"))
        ]
    );
    assert_eq!(subscriber.shard_nodes(), vec!["A", "B"]);
    (subscriber, nodes, a, b, node_a, node_b)
}

#[tokio::test]
async fn shard_channels_of_two_nodes_share_one_inbox() {
    let (subscriber, _nodes, mut a, mut b, _, _) = on_two_nodes().await;
    send(&mut b, b"*3\r\n$8\r\nsmessage\r\n$1\r\nb\r\n$2\r\nhi\r\n").await;
    assert_eq!(
        next_message(&subscriber).await,
        owned(("smessage", "", B, "hi"))
    );
    send(&mut a, b"*3\r\n$8\r\nsmessage\r\n$1\r\na\r\n$2\r\nho\r\n").await;
    let event = next(&subscriber).await;
    let message = event.as_message().expect("a message");
    // Each names the node whose connection it came on.
    assert_eq!(message.node.as_deref(), Some("A"));
    assert_eq!(message.channel.as_deref(), Some(A.as_bytes()));
}

#[tokio::test]
async fn a_slot_that_leaves_its_node_moves_to_the_new_one_quietly() {
    let (subscriber, nodes, mut a, mut b, _, _) = on_two_nodes().await;
    // a's slot goes to B: A says sunsubscribe unasked.
    nodes.serve(A, "B");
    send(&mut a, &confirmation("sunsubscribe", A, 0)).await;
    expect_written(&mut b, &packed(&[&["SSUBSCRIBE", A]])).await;
    // A holds nothing any more: its connection closes.
    closed(&mut a).await;
    send(&mut b, &confirmation("ssubscribe", A, 2)).await;
    // Neither the unasked sunsubscribe nor the new confirmation is shown:
    // one notice that the channel holds again.
    assert_eq!(
        next_message(&subscriber).await,
        owned(("reconnected", "", "", "1"))
    );
    send(&mut b, b"*3\r\n$8\r\nsmessage\r\n$1\r\na\r\n$2\r\nhi\r\n").await;
    assert_eq!(
        next_message(&subscriber).await,
        owned(("smessage", "", A, "hi"))
    );
    assert_eq!(subscriber.shard_nodes(), vec!["B"]);
    assert!(
        nodes.refreshes.load(Ordering::SeqCst) >= 1,
        "the map was read again"
    );
}

#[tokio::test]
async fn a_subscribe_answered_moved_follows_its_slot() {
    let (subscriber, nodes, mut queues) = cluster_subscriber(&["A", "B"]);
    nodes.serve(A, "A");
    let ack = subscribe(&subscriber, Kind::Shard, &[A]);
    let mut a = queues[0].accept_after(&[&["SSUBSCRIBE", A]]).await;
    nodes.serve(A, "B");
    let slot = slot_of(A.as_bytes());
    send(&mut a, format!("-MOVED {slot} B:1\r\n").as_bytes()).await;
    let mut b = queues[1].accept_after(&[&["SSUBSCRIBE", A]]).await;
    closed(&mut a).await;
    send(&mut b, &confirmation("ssubscribe", A, 1)).await;
    // The user's own subscribe: its confirmation is the user's.
    acked(ack).await.unwrap();
    assert_eq!(
        next_message(&subscriber).await,
        owned(("ssubscribe", "", A, "1"))
    );
    assert!(subscriber.inbox().is_empty(), "MOVED is not the user's");
}

#[tokio::test]
async fn sunsubscribe_of_everything_reaches_every_node_and_closes_them() {
    let (subscriber, _nodes, mut a, mut b, _, _) = on_two_nodes().await;
    subscriber.unsubscribe(Kind::Shard, &[]).unwrap();
    expect_written(&mut a, &packed(&[&["SUNSUBSCRIBE"]])).await;
    expect_written(&mut b, &packed(&[&["SUNSUBSCRIBE"]])).await;
    send(&mut a, &confirmation("sunsubscribe", A, 0)).await;
    closed(&mut a).await;
    send(&mut b, &confirmation("sunsubscribe", B, 0)).await;
    closed(&mut b).await;
    let mut dropped = vec![
        next_message(&subscriber).await,
        next_message(&subscriber).await,
    ];
    dropped.sort();
    assert_eq!(
        dropped,
        vec![
            owned(("sunsubscribe", "", A, "0")),
            owned(("sunsubscribe", "", B, "0"))
        ]
    );
    assert!(subscriber.shard_nodes().is_empty());
}

#[tokio::test]
async fn a_subscribe_refused_on_one_node_leaves_nothing_on_the_other() {
    let (subscriber, nodes, mut queues) = cluster_subscriber(&["A", "B"]);
    nodes.serve(A, "A");
    nodes.serve(B, "B");
    let ack = subscribe(&subscriber, Kind::Shard, &[A, B]);
    let mut a = queues[0].accept_after(&[&["SSUBSCRIBE", A]]).await;
    let mut b = queues[1].accept_after(&[&["SSUBSCRIBE", B]]).await;
    send(&mut a, &confirmation("ssubscribe", A, 1)).await;
    assert_eq!(
        next_message(&subscriber).await,
        owned(("ssubscribe", "", A, "1"))
    );
    send(&mut b, b"-NOPERM no access to b\r\n").await;
    let err = acked(ack).await.unwrap_err();
    assert!(err.message().contains("NOPERM"), "{err}");
    // B holds nothing: its connection closes.
    closed(&mut b).await;
    // The part that held is taken back, without showing its confirmation.
    expect_written(&mut a, &packed(&[&["SUNSUBSCRIBE", A]])).await;
    send(&mut a, &confirmation("sunsubscribe", A, 0)).await;
    closed(&mut a).await;
    assert!(next_or_none_soon(&subscriber).await.is_none());
}

/// The next event if one comes within 200 ms.
async fn next_or_none_soon(subscriber: &Subscriber) -> Option<Event> {
    let inbox = Arc::clone(subscriber.inbox());
    tokio::task::spawn_blocking(move || inbox.wait(Some(Duration::from_millis(200))).event())
        .await
        .unwrap()
}
