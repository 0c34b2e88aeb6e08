//! The pipe against a scripted peer: an in-memory duplex stream whose far
//! end the test plays as the server, writing replies byte by byte, split
//! anywhere, late, or not at all.

use std::time::Duration;

use redis::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::codec::FramedRead;

use super::*;
use crate::command::Command;
use crate::request::Batch;
use crate::resp::RespCodec;

type Outcomes = mpsc::UnboundedReceiver<(usize, Result<Value>)>;

/// A pipe over one end of a duplex stream; the other end is the "server".
fn scripted(max_in_flight: Option<usize>) -> (Pipe, DuplexStream) {
    let (ours, theirs) = tokio::io::duplex(1 << 20);
    let (reader, writer) = tokio::io::split(ours);
    let reader: Reader = FramedRead::new(Box::pin(reader), RespCodec::default());
    (Pipe::over(reader, Box::pin(writer), max_in_flight), theirs)
}

/// A scripted pipe whose connection is checked once idle for 50 ms; an
/// unanswered check gives up after `timeout`.
fn scripted_checked(timeout: Duration) -> (Pipe, DuplexStream) {
    let (ours, theirs) = tokio::io::duplex(1 << 20);
    let (reader, writer) = tokio::io::split(ours);
    let reader: Reader = FramedRead::new(Box::pin(reader), RespCodec::default());
    let check = HealthCheck {
        interval: Duration::from_millis(50),
        timeout,
    };
    (Pipe::over_checked(reader, Box::pin(writer), check), theirs)
}

fn cmd(words: &[&str]) -> Command {
    Command::from_args(words).unwrap()
}

/// Sends `batch` with a sink that reports `(tag, outcome)` on `tx`.
fn send(
    pipe: &Pipe,
    batch: &Batch,
    deadline: Option<Instant>,
    tag: usize,
    tx: &mpsc::UnboundedSender<(usize, Result<Value>)>,
) {
    let tx = tx.clone();
    pipe.send(
        batch,
        deadline,
        Box::new(move |outcome| {
            let _ = tx.send((tag, outcome));
        }),
    );
}

/// Reads from the server's end until exactly `expected` has arrived.
async fn expect_written(server: &mut DuplexStream, expected: &[u8]) {
    let mut got = vec![0; expected.len()];
    tokio::time::timeout(Duration::from_secs(5), server.read_exact(&mut got))
        .await
        .expect("the pipe wrote in time")
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected)
    );
}

/// Nothing more arrives at the server within a short while.
async fn expect_silence(server: &mut DuplexStream) {
    let mut byte = [0; 1];
    let read = tokio::time::timeout(Duration::from_millis(100), server.read(&mut byte)).await;
    assert!(read.is_err(), "the pipe wrote more than expected");
}

async fn next(outcomes: &mut Outcomes) -> (usize, Result<Value>) {
    tokio::time::timeout(Duration::from_secs(5), outcomes.recv())
        .await
        .expect("an outcome in time")
        .expect("the sink was called")
}

#[tokio::test]
async fn replies_split_at_every_byte_reach_their_requests_in_order() {
    let replies: &[u8] = b"+OK\r\n$5\r\nhello\r\n:7\r\n-ERR no\r\n*2\r\n$1\r\na\r\n$-1\r\n";
    for split in 1..replies.len() {
        let (pipe, mut server) = scripted(None);
        let (tx, mut outcomes) = mpsc::unbounded_channel();
        for (tag, words) in [
            ["SET", "k"],
            ["GET", "k"],
            ["INCR", "k"],
            ["X", "k"],
            ["Y", "k"],
        ]
        .iter()
        .enumerate()
        {
            send(&pipe, &Batch::One(cmd(words)), None, tag, &tx);
        }
        let mut expected = Vec::new();
        for words in [
            ["SET", "k"],
            ["GET", "k"],
            ["INCR", "k"],
            ["X", "k"],
            ["Y", "k"],
        ] {
            expected.extend_from_slice(cmd(&words).packed());
        }
        expect_written(&mut server, &expected).await;
        server.write_all(&replies[..split]).await.unwrap();
        server.flush().await.unwrap();
        tokio::task::yield_now().await;
        server.write_all(&replies[split..]).await.unwrap();
        let got: Vec<_> = [
            next(&mut outcomes).await,
            next(&mut outcomes).await,
            next(&mut outcomes).await,
            next(&mut outcomes).await,
            next(&mut outcomes).await,
        ]
        .into_iter()
        .collect();
        let tags: Vec<usize> = got.iter().map(|(tag, _)| *tag).collect();
        assert_eq!(tags, vec![0, 1, 2, 3, 4], "split at {split}");
        assert_eq!(got[0].1.as_ref().unwrap(), &Value::Okay);
        assert_eq!(
            got[1].1.as_ref().unwrap(),
            &Value::BulkString(b"hello".to_vec())
        );
        assert_eq!(got[2].1.as_ref().unwrap(), &Value::Int(7));
        assert_eq!(got[3].1.as_ref().unwrap_err().code(), Some("ERR"));
        assert!(matches!(got[4].1.as_ref().unwrap(), Value::Array(items) if items.len() == 2));
    }
}

#[tokio::test]
async fn a_pipeline_collects_its_replies_with_errors_in_place() {
    let (pipe, mut server) = scripted(None);
    let (tx, mut outcomes) = mpsc::unbounded_channel();
    let batch = Batch::Pipeline(vec![cmd(&["A"]), cmd(&["B"]), cmd(&["C"])]);
    send(&pipe, &batch, None, 0, &tx);
    send(&pipe, &Batch::One(cmd(&["D"])), None, 1, &tx);
    let mut expected = Vec::new();
    batch.write_to(&mut expected);
    expected.extend_from_slice(cmd(&["D"]).packed());
    expect_written(&mut server, &expected).await;
    server
        .write_all(b":1\r\n-WRONGTYPE x\r\n:3\r\n+d\r\n")
        .await
        .unwrap();
    let (tag, outcome) = next(&mut outcomes).await;
    assert_eq!(tag, 0);
    let Value::Array(items) = outcome.unwrap() else {
        panic!("a pipeline answers with an array");
    };
    assert_eq!(items.len(), 3);
    assert!(matches!(&items[1], Value::ServerError(err) if err.code() == "WRONGTYPE"));
    let (tag, outcome) = next(&mut outcomes).await;
    assert_eq!(
        (tag, outcome.unwrap()),
        (1, Value::SimpleString("d".into()))
    );
}

#[tokio::test]
async fn a_transaction_is_contiguous_and_reports_exec() {
    let (pipe, mut server) = scripted(None);
    let (tx, mut outcomes) = mpsc::unbounded_channel();
    let batch = Batch::Transaction(vec![cmd(&["INCR", "a"]), cmd(&["INCR", "b"])]);
    send(&pipe, &batch, None, 0, &tx);
    expect_written(
        &mut server,
        b"*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\na\r\n*2\r\n$4\r\nINCR\r\n$1\r\nb\r\n*1\r\n$4\r\nEXEC\r\n",
    )
    .await;
    server
        .write_all(b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n-ERR not an int\r\n")
        .await
        .unwrap();
    let Value::Array(items) = next(&mut outcomes).await.1.unwrap() else {
        panic!("EXEC's results");
    };
    assert_eq!(items[0], Value::Int(1));
    assert!(matches!(&items[1], Value::ServerError(_)));

    // A watched key changed: EXEC answers nil.
    send(&pipe, &batch, None, 1, &tx);
    let mut written = Vec::new();
    batch.write_to(&mut written);
    expect_written(&mut server, &written).await;
    server
        .write_all(b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*-1\r\n")
        .await
        .unwrap();
    assert_eq!(
        next(&mut outcomes).await.1.unwrap_err().kind(),
        ErrorKind::Watch
    );

    // A command refused while queueing: the server discards the transaction,
    // and the failure names the command that caused it.
    send(&pipe, &batch, None, 2, &tx);
    expect_written(&mut server, &written).await;
    server
        .write_all(b"+OK\r\n+QUEUED\r\n-ERR wrong number of arguments\r\n-EXECABORT discarded\r\n")
        .await
        .unwrap();
    let err = next(&mut outcomes).await.1.unwrap_err();
    assert_eq!(err.code(), Some("ERR"));
    assert_eq!(err.index(), Some(1));

    // A queueing error that does not abort (a nested MULTI) stands in its
    // command's place among EXEC's results.
    send(&pipe, &batch, None, 3, &tx);
    expect_written(&mut server, &written).await;
    server
        .write_all(b"+OK\r\n-ERR MULTI calls can not be nested\r\n+QUEUED\r\n*1\r\n:5\r\n")
        .await
        .unwrap();
    let Value::Array(items) = next(&mut outcomes).await.1.unwrap() else {
        panic!("EXEC's results");
    };
    assert!(matches!(&items[0], Value::ServerError(_)));
    assert_eq!(items[1], Value::Int(5));
}

#[tokio::test]
async fn a_peer_closing_mid_reply_fails_every_waiting_request() {
    let (pipe, mut server) = scripted(None);
    let (tx, mut outcomes) = mpsc::unbounded_channel();
    send(&pipe, &Batch::One(cmd(&["GET", "a"])), None, 0, &tx);
    send(&pipe, &Batch::One(cmd(&["GET", "b"])), None, 1, &tx);
    let mut expected = cmd(&["GET", "a"]).packed().to_vec();
    expected.extend_from_slice(cmd(&["GET", "b"]).packed());
    expect_written(&mut server, &expected).await;
    server.write_all(b"$5\r\nhel").await.unwrap();
    drop(server);
    for _ in 0..2 {
        let (_, outcome) = next(&mut outcomes).await;
        let err = outcome.unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Connection | ErrorKind::Protocol),
            "{err:?}"
        );
    }
    assert!(pipe.is_broken());
    // Later requests fail at once rather than wait.
    send(&pipe, &Batch::One(cmd(&["GET", "c"])), None, 2, &tx);
    assert!(next(&mut outcomes).await.1.is_err());
}

#[tokio::test]
async fn a_reply_nobody_asked_for_breaks_the_pipe() {
    let (pipe, mut server) = scripted(None);
    server.write_all(b"+surprise\r\n").await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), async {
        while !pipe.is_broken() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the pipe noticed");
}

#[tokio::test]
async fn an_overdue_reply_fails_the_waiting_requests_with_a_timeout() {
    let (pipe, mut server) = scripted(None);
    let (tx, mut outcomes) = mpsc::unbounded_channel();
    let started = Instant::now();
    let deadline = Some(started + Duration::from_millis(100));
    send(&pipe, &Batch::One(cmd(&["GET", "a"])), deadline, 0, &tx);
    send(
        &pipe,
        &Batch::One(cmd(&["GET", "b"])),
        Some(started + Duration::from_secs(60)),
        1,
        &tx,
    );
    let (tag, outcome) = next(&mut outcomes).await;
    assert_eq!(tag, 0);
    assert_eq!(outcome.unwrap_err().kind(), ErrorKind::Timeout);
    assert!(started.elapsed() >= Duration::from_millis(100));
    // The one behind it could never be answered on this connection either.
    assert_eq!(
        next(&mut outcomes).await.1.unwrap_err().kind(),
        ErrorKind::Timeout
    );
    assert!(pipe.is_broken());
    drop(server.write_all(b"+late\r\n").await);
}

#[tokio::test]
async fn a_deadline_that_is_met_does_not_fire_later() {
    let (pipe, mut server) = scripted(None);
    let (tx, mut outcomes) = mpsc::unbounded_channel();
    let deadline = Some(Instant::now() + Duration::from_millis(100));
    send(&pipe, &Batch::One(cmd(&["GET", "a"])), deadline, 0, &tx);
    expect_written(&mut server, cmd(&["GET", "a"]).packed()).await;
    server.write_all(b"+a\r\n").await.unwrap();
    assert!(next(&mut outcomes).await.1.is_ok());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!pipe.is_broken());
    send(&pipe, &Batch::One(cmd(&["GET", "b"])), None, 1, &tx);
    expect_written(&mut server, cmd(&["GET", "b"]).packed()).await;
    server.write_all(b"+b\r\n").await.unwrap();
    assert!(next(&mut outcomes).await.1.is_ok());
}

#[tokio::test]
async fn the_in_flight_limit_holds_requests_back_in_order() {
    let (pipe, mut server) = scripted(Some(2));
    let (tx, mut outcomes) = mpsc::unbounded_channel();
    let commands: Vec<Command> = (0..5).map(|i| cmd(&["INCR", &i.to_string()])).collect();
    for (tag, command) in commands.iter().enumerate() {
        send(&pipe, &Batch::One(command.clone()), None, tag, &tx);
    }
    // Only two reach the server until one is answered.
    let mut first_two = commands[0].packed().to_vec();
    first_two.extend_from_slice(commands[1].packed());
    expect_written(&mut server, &first_two).await;
    expect_silence(&mut server).await;
    server.write_all(b":0\r\n").await.unwrap();
    expect_written(&mut server, commands[2].packed()).await;
    expect_silence(&mut server).await;
    server.write_all(b":1\r\n:2\r\n").await.unwrap();
    let mut rest = commands[3].packed().to_vec();
    rest.extend_from_slice(commands[4].packed());
    expect_written(&mut server, &rest).await;
    server.write_all(b":3\r\n:4\r\n").await.unwrap();
    for expected in 0..5 {
        let (tag, outcome) = next(&mut outcomes).await;
        assert_eq!(tag, expected);
        assert_eq!(outcome.unwrap(), Value::Int(expected as i64));
    }
}

#[tokio::test]
async fn shutting_down_fails_waiting_and_held_requests() {
    let (pipe, _server) = scripted(Some(1));
    let (tx, mut outcomes) = mpsc::unbounded_channel();
    send(&pipe, &Batch::One(cmd(&["GET", "a"])), None, 0, &tx);
    send(&pipe, &Batch::One(cmd(&["GET", "b"])), None, 1, &tx);
    pipe.shut_down(&Error::closed());
    for _ in 0..2 {
        assert_eq!(
            next(&mut outcomes).await.1.unwrap_err().kind(),
            ErrorKind::Closed
        );
    }
}

#[tokio::test]
async fn an_empty_pipeline_completes_at_once() {
    let (pipe, _server) = scripted(None);
    let (tx, mut outcomes) = mpsc::unbounded_channel();
    send(&pipe, &Batch::Pipeline(Vec::new()), None, 0, &tx);
    assert_eq!(next(&mut outcomes).await.1.unwrap(), Value::Array(vec![]));
}

#[tokio::test]
async fn a_sink_that_panics_fails_alone_and_the_reader_carries_on() {
    let (pipe, mut server) = scripted(None);
    let (tx, mut outcomes) = mpsc::unbounded_channel();
    send(&pipe, &Batch::One(cmd(&["GET", "a"])), None, 0, &tx);
    pipe.send(
        &Batch::One(cmd(&["GET", "b"])),
        None,
        Box::new(|_| panic!("a bug in whoever made this sink")),
    );
    send(&pipe, &Batch::One(cmd(&["GET", "c"])), None, 2, &tx);
    let mut expected = Vec::new();
    for key in ["a", "b", "c"] {
        expected.extend_from_slice(cmd(&["GET", key]).packed());
    }
    expect_written(&mut server, &expected).await;
    server.write_all(b":0\r\n:1\r\n:2\r\n").await.unwrap();
    for tag in [0, 2] {
        let (got, outcome) = next(&mut outcomes).await;
        assert_eq!((got, outcome.unwrap()), (tag, Value::Int(tag as i64)));
    }
    assert!(!pipe.is_broken());
    send(&pipe, &Batch::One(cmd(&["GET", "d"])), None, 3, &tx);
    expect_written(&mut server, cmd(&["GET", "d"]).packed()).await;
    server.write_all(b":3\r\n").await.unwrap();
    let (tag, outcome) = next(&mut outcomes).await;
    assert_eq!((tag, outcome.unwrap()), (3, Value::Int(3)));
}

#[tokio::test]
async fn pushes_go_to_the_push_sink_and_replies_still_pair_up() {
    let (pipe, mut server) = scripted(None);
    let (sink_tx, mut sink_rx) = mpsc::unbounded_channel();
    pipe.set_push_sink(Some(Arc::new(move |value| {
        let _ = sink_tx.send(value);
    })));
    let (tx, mut outcomes) = mpsc::unbounded_channel();
    send(&pipe, &Batch::One(cmd(&["GET", "a"])), None, 0, &tx);
    send(&pipe, &Batch::One(cmd(&["GET", "b"])), None, 1, &tx);
    let mut expected = cmd(&["GET", "a"]).packed().to_vec();
    expected.extend_from_slice(cmd(&["GET", "b"]).packed());
    expect_written(&mut server, &expected).await;
    // An invalidation lands between two replies (client-side caching).
    server
        .write_all(b"$1\r\n1\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\na\r\n$1\r\n2\r\n")
        .await
        .unwrap();
    for (tag, reply) in [(0, b"1"), (1, b"2")] {
        let (got, outcome) = next(&mut outcomes).await;
        assert_eq!(
            (got, outcome.unwrap()),
            (tag, Value::BulkString(reply.to_vec()))
        );
    }
    let push = tokio::time::timeout(Duration::from_secs(5), sink_rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(
            push,
            Value::Push {
                kind: redis::PushKind::Invalidate,
                ..
            }
        ),
        "{push:?}"
    );
}

#[tokio::test]
async fn closing_when_idle_lets_the_waiting_requests_finish() {
    let (pipe, mut server) = scripted(None);
    let (tx, mut outcomes) = mpsc::unbounded_channel();
    send(&pipe, &Batch::One(cmd(&["GET", "a"])), None, 0, &tx);
    expect_written(&mut server, cmd(&["GET", "a"]).packed()).await;
    pipe.close_when_idle();
    assert!(!pipe.is_broken(), "a request still waits");
    server.write_all(b"+a\r\n").await.unwrap();
    assert_eq!(
        next(&mut outcomes).await.1.unwrap(),
        Value::SimpleString("a".into())
    );
    assert!(pipe.is_broken(), "closed once nothing waits");
    // An idle pipe closes at once.
    let (idle, _server) = scripted(None);
    idle.close_when_idle();
    assert!(idle.is_broken());
}

const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";
const GET_K: &[u8] = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";

#[tokio::test]
async fn an_idle_connection_is_checked_before_a_request_is_written() {
    let (pipe, mut server) = scripted_checked(Duration::from_secs(5));
    let (tx, mut outcomes) = mpsc::unbounded_channel();
    // Busy: no check.
    send(&pipe, &Batch::One(cmd(&["GET", "k"])), None, 0, &tx);
    expect_written(&mut server, GET_K).await;
    server.write_all(b"$1\r\na\r\n").await.unwrap();
    assert_eq!(
        next(&mut outcomes).await.1.unwrap(),
        Value::BulkString(b"a".to_vec())
    );
    // Idle past the interval: the PING goes first and the GET waits for its answer.
    tokio::time::sleep(Duration::from_millis(80)).await;
    send(&pipe, &Batch::One(cmd(&["GET", "k"])), None, 1, &tx);
    expect_written(&mut server, PING).await;
    expect_silence(&mut server).await;
    server.write_all(b"+PONG\r\n").await.unwrap();
    expect_written(&mut server, GET_K).await;
    server.write_all(b"$1\r\nb\r\n").await.unwrap();
    let (tag, outcome) = next(&mut outcomes).await;
    assert_eq!(
        (tag, outcome.unwrap()),
        (1, Value::BulkString(b"b".to_vec()))
    );
}

#[tokio::test]
async fn a_failed_check_hands_the_held_requests_to_the_adopter_unsent() {
    let (pipe, mut silent) = scripted_checked(Duration::from_millis(100));
    let (next_pipe, mut server) = scripted(None);
    let adopter = next_pipe.clone();
    pipe.set_adopter(Box::new(move |orphans| adopter.adopt(orphans)));
    let (tx, mut outcomes) = mpsc::unbounded_channel();
    tokio::time::sleep(Duration::from_millis(80)).await;
    send(&pipe, &Batch::One(cmd(&["INCR", "n"])), None, 0, &tx);
    // The check is written and never answered; the INCR never is.
    expect_written(&mut silent, PING).await;
    expect_written(&mut server, b"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n").await;
    let mut rest = Vec::new();
    silent.read_to_end(&mut rest).await.unwrap();
    assert!(
        rest.is_empty(),
        "the failed connection carried more than its check"
    );
    server.write_all(b":1\r\n").await.unwrap();
    let (tag, outcome) = next(&mut outcomes).await;
    assert_eq!((tag, outcome.unwrap()), (0, Value::Int(1)));
    assert!(pipe.is_broken());
}
