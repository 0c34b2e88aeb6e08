//! The socket listener end to end: a real listener on this process's socket,
//! driven the way a wrapper drives it, with and without a real server.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use babushka_core::socket::convert::connection_request;
use babushka_core::socket::proto::{self, response, value};
use babushka_core::socket::{self, encode_frame, FrameDecoder};
use babushka_core::{runtime, ConnectionConfig};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let handle = runtime::handle().unwrap();
    handle
        .block_on(async { tokio::time::timeout(Duration::from_secs(20), future).await })
        .expect("the test finished in time")
}

/// A config whose server refuses connections: enough for a stream that only
/// needs the listener (requests on it fail with a connection error).
fn unreachable_config() -> ConnectionConfig {
    let mut config = ConnectionConfig::tcp("127.0.0.1", 1);
    config.connect_timeout = Some(Duration::from_secs(2));
    config
}

fn request(id: u64, args: &[&str]) -> proto::Request {
    proto::Request {
        request_id: id,
        args: args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect(),
        ..proto::Request::default()
    }
}

struct Wrapper {
    stream: UnixStream,
    decoder: FrameDecoder,
}

impl Wrapper {
    async fn connect(config: &ConnectionConfig) -> Self {
        let path = socket::start().unwrap();
        let stream = UnixStream::connect(path).await.unwrap();
        let mut wrapper = Self {
            stream,
            decoder: FrameDecoder::new(),
        };
        wrapper.send(&connection_request(config)).await;
        wrapper
    }

    async fn send<M: prost::Message>(&mut self, message: &M) {
        let mut frame = Vec::new();
        encode_frame(message, &mut frame);
        self.stream.write_all(&frame).await.unwrap();
    }

    /// The next response, or `None` once the core closed the stream.
    async fn recv(&mut self) -> Option<proto::Response> {
        loop {
            if let Some(response) = self.decoder.next_message().unwrap() {
                return Some(response);
            }
            let read = self
                .stream
                .read_buf(self.decoder.buffer_mut())
                .await
                .unwrap_or(0);
            if read == 0 {
                return None;
            }
        }
    }

    /// Reads past the setup acknowledgement.
    async fn ready(mut self) -> Self {
        let ack = self.recv().await.expect("setup acknowledged");
        assert_eq!(ack.request_id, 0);
        assert!(matches!(ack.result, Some(response::Result::Value(_))));
        self
    }

    async fn closing_error(&mut self) -> proto::Error {
        loop {
            let response = self.recv().await.expect("a closing error before the end");
            if let Some(response::Result::ClosingError(err)) = response.result {
                assert!(self.recv().await.is_none(), "the stream closes after it");
                return err;
            }
        }
    }
}

async fn assert_served() {
    // A fresh stream still gets answers: a connection error from the
    // unreachable server, carried in a response to its request.
    let mut other = Wrapper::connect(&unreachable_config()).await.ready().await;
    other.send(&request(7, &["PING"])).await;
    let response = other.recv().await.unwrap();
    assert_eq!(response.request_id, 7);
    match response.result {
        Some(response::Result::Error(err)) => {
            assert_eq!(err.kind(), proto::ErrorKind::Connection, "{err:?}");
        }
        other => panic!("expected a connection error, got {other:?}"),
    }
}

#[test]
fn socket_and_directory_are_private() {
    let path: PathBuf = socket::start().unwrap();
    assert_eq!(socket::start().unwrap(), path, "one listener per process");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
}

#[test]
fn garbage_closes_only_its_stream() {
    let garbage: [&[u8]; 4] = [
        // A length prefix longer than any varint.
        &[0xff; 12],
        // A length over the frame limit.
        &[0x80, 0x80, 0x80, 0x80, 0x7f],
        // Field 1 (a varint) sent with the length-delimited wire type.
        &[3, 0x0a, 1, b'x'],
        // Bytes that are no protobuf at all.
        &[5, 0xff, 0xff, 0xff, 0xff, 0xff],
    ];
    for bytes in garbage {
        block_on(async {
            let mut bad = Wrapper::connect(&unreachable_config()).await.ready().await;
            bad.stream.write_all(bytes).await.unwrap();
            let err = bad.closing_error().await;
            assert_eq!(err.kind(), proto::ErrorKind::Protocol, "{err:?}");
            assert_served().await;
        });
    }
}

#[test]
fn truncated_setup_and_garbage_before_setup_are_refused() {
    block_on(async {
        let path = socket::start().unwrap();
        let mut stream = UnixStream::connect(&path).await.unwrap();
        stream.write_all(&[0x09, 0x08]).await.unwrap();
        stream.shutdown().await.unwrap();
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).await.unwrap();
        let mut decoder = FrameDecoder::new();
        decoder.extend(&rest);
        let response: proto::Response = decoder.next_message().unwrap().unwrap();
        assert!(matches!(
            response.result,
            Some(response::Result::ClosingError(_))
        ));
        assert_served().await;
    });
}

#[test]
fn version_mismatch_is_a_clear_closing_error() {
    block_on(async {
        let path = socket::start().unwrap();
        let stream = UnixStream::connect(path).await.unwrap();
        let mut wrapper = Wrapper {
            stream,
            decoder: FrameDecoder::new(),
        };
        let mut setup = connection_request(&unreachable_config());
        setup.protocol_version = 42;
        wrapper.send(&setup).await;
        let err = wrapper.closing_error().await;
        assert!(err.message.contains("version mismatch"), "{}", err.message);
        assert!(err.message.contains("42"), "{}", err.message);
    });
}

/// A throw-away `redis-server` (`BABUSHKA_REDIS_SERVER` names another binary).
/// A missing or failing server fails the test that needs it: a test that
/// returns early would pass without having run (`./dev test` installs it).
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start() -> Self {
        let binary =
            std::env::var("BABUSHKA_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let mut child = Command::new(&binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!(
                    "cannot run {binary}: {err}. This test needs a real server: install Debian's \
                     redis-server (./dev test does, as root) or set BABUSHKA_REDIS_SERVER"
                )
            });
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Self { child, port };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{binary} exited with {status} before accepting connections");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("{binary} did not accept connections on port {port} within 5 s");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn pipelined_requests_are_answered_by_id() {
    let server = Server::start();
    block_on(async {
        let config = ConnectionConfig::tcp("127.0.0.1", server.port);
        let mut wrapper = Wrapper::connect(&config).await.ready().await;
        for id in 1..=100u64 {
            let value = id.to_string();
            wrapper
                .send(&request(id, &["SET", &format!("k{id}"), &value]))
                .await;
        }
        // Requests in flight together may reach the server in any order (as on
        // every transport), so the reads wait for the writes' replies.
        let mut seen = std::collections::HashMap::new();
        while seen.len() < 100 {
            let response = wrapper.recv().await.unwrap();
            seen.insert(response.request_id, response.result.unwrap());
        }
        wrapper.send(&request(101, &["GET", "k42"])).await;
        wrapper.send(&request(102, &["LPUSH", "k1", "x"])).await;
        while seen.len() < 102 {
            let response = wrapper.recv().await.unwrap();
            seen.insert(response.request_id, response.result.unwrap());
        }
        for id in 1..=100 {
            assert!(matches!(
                &seen[&id],
                response::Result::Value(proto::Value {
                    kind: Some(value::Kind::Okay(_))
                })
            ));
        }
        assert!(matches!(
            &seen[&101],
            response::Result::Value(proto::Value { kind: Some(value::Kind::Bulk(b)) }) if b == "42"
        ));
        match &seen[&102] {
            response::Result::Error(err) => {
                assert_eq!(err.kind(), proto::ErrorKind::Response);
                assert_eq!(err.code, "WRONGTYPE");
            }
            other => panic!("expected WRONGTYPE, got {other:?}"),
        }
    });
}

/// The uid check of every stream, without root: `tests/test_uds.py` runs a
/// process as another user against a real listener when it runs as root (as
/// in CI); this checks the decision itself wherever `cargo test` runs.
#[test]
fn only_the_listeners_own_uid_is_served() {
    use babushka_core::socket::listener::peer_allowed;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let own = unsafe { libc::geteuid() };
    assert!(peer_allowed(own));
    for other in [
        0,
        1,
        65534,
        own.wrapping_add(1),
        own.wrapping_sub(1),
        u32::MAX,
    ] {
        if other != own {
            assert!(
                !peer_allowed(other),
                "uid {other} served by a listener of uid {own}"
            );
        }
    }
}

// -- batches, leases, cancellation ---------------------------------------------

fn words(args: &[&str]) -> Vec<Bytes> {
    args.iter()
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect()
}

fn batch(id: u64, kind: proto::BatchKind, commands: &[&[&str]]) -> proto::Request {
    proto::Request {
        request_id: id,
        action: Some(proto::request::Action::Batch(proto::Batch {
            kind: kind.into(),
            commands: commands
                .iter()
                .map(|args| proto::BatchCommand { args: words(args) })
                .collect(),
        })),
        ..proto::Request::default()
    }
}

fn on_lease(mut request: proto::Request, lease_id: u64) -> proto::Request {
    request.lease_id = lease_id;
    request
}

fn control(action: proto::request::Action) -> proto::Request {
    proto::Request {
        action: Some(action),
        ..proto::Request::default()
    }
}

fn open_lease(lease_id: u64) -> proto::Request {
    control(proto::request::Action::OpenLease(lease_id))
}

fn release_lease(lease_id: u64, reusable: bool) -> proto::Request {
    control(proto::request::Action::ReleaseLease(proto::LeaseRelease {
        lease_id,
        reusable,
    }))
}

fn cancel(request_id: u64) -> proto::Request {
    control(proto::request::Action::Cancel(request_id))
}

impl Wrapper {
    /// The outcome of request `id`, skipping `dedicated` notices (a stale
    /// one may follow the outcome of the request it names) and panicking on
    /// the outcome of another request.
    async fn outcome(&mut self, id: u64) -> response::Result {
        loop {
            let response = self.recv().await.expect("a response before the end");
            match response.result.expect("a result") {
                response::Result::Dedicated(_) => {}
                result => {
                    assert_eq!(response.request_id, id, "{result:?}");
                    return result;
                }
            }
        }
    }

    async fn value(&mut self, id: u64) -> value::Kind {
        match self.outcome(id).await {
            response::Result::Value(value) => value.kind.expect("a value"),
            other => panic!("expected a value for request {id}, got {other:?}"),
        }
    }

    async fn error(&mut self, id: u64) -> proto::Error {
        match self.outcome(id).await {
            response::Result::Error(err) => err,
            other => panic!("expected an error for request {id}, got {other:?}"),
        }
    }

    async fn items(&mut self, id: u64) -> Vec<value::Kind> {
        match self.value(id).await {
            value::Kind::Array(array) => array
                .items
                .into_iter()
                .map(|item| item.kind.expect("a value"))
                .collect(),
            other => panic!("expected an array for request {id}, got {other:?}"),
        }
    }

    async fn int(&mut self, id: u64) -> i64 {
        match self.value(id).await {
            value::Kind::Int(n) => n,
            other => panic!("expected an integer for request {id}, got {other:?}"),
        }
    }
}

fn bulk(text: &str) -> value::Kind {
    value::Kind::Bulk(Bytes::copy_from_slice(text.as_bytes()))
}

#[test]
fn pipelines_answer_with_every_reply_and_errors_in_place() {
    let server = Server::start();
    block_on(async {
        let config = ConnectionConfig::tcp("127.0.0.1", server.port);
        let mut wrapper = Wrapper::connect(&config).await.ready().await;
        let pipeline: &[&[&str]] = &[
            &["SET", "p", "1"],
            &["INCR", "p"],
            &["LPUSH", "p", "x"],
            &["GET", "p"],
        ];
        wrapper
            .send(&batch(1, proto::BatchKind::Pipeline, pipeline))
            .await;
        let items = wrapper.items(1).await;
        assert_eq!(items.len(), 4);
        assert!(matches!(items[0], value::Kind::Okay(_)), "{items:?}");
        assert_eq!(items[1], value::Kind::Int(2));
        match &items[2] {
            value::Kind::Error(err) => {
                assert_eq!(err.code, "WRONGTYPE", "{err:?}");
                assert_eq!(err.kind(), proto::ErrorKind::Response);
            }
            other => panic!("expected WRONGTYPE in place, got {other:?}"),
        }
        assert_eq!(items[3], bulk("2"));

        // An empty pipeline answers at once with an empty array.
        wrapper
            .send(&batch(2, proto::BatchKind::Pipeline, &[]))
            .await;
        assert!(wrapper.items(2).await.is_empty());

        // A command that cannot be built fails the request (not the
        // stream), naming its position.
        wrapper
            .send(&batch(3, proto::BatchKind::Pipeline, &[&["PING"], &[]]))
            .await;
        let err = wrapper.error(3).await;
        assert_eq!(err.kind(), proto::ErrorKind::InvalidInput, "{err:?}");
        assert_eq!(err.index, Some(1), "{err:?}");
        assert!(err.message.contains("command 1 of the batch"), "{err:?}");
        wrapper.send(&request(4, &["GET", "p"])).await;
        assert_eq!(wrapper.value(4).await, bulk("2"));
    });
}

#[test]
fn transactions_answer_with_exec_results_watch_and_queueing_errors() {
    let server = Server::start();
    block_on(async {
        let config = ConnectionConfig::tcp("127.0.0.1", server.port);
        let mut wrapper = Wrapper::connect(&config).await.ready().await;
        let transaction: &[&[&str]] = &[&["SET", "t", "a"], &["LPUSH", "t", "x"], &["GET", "t"]];
        wrapper
            .send(&batch(1, proto::BatchKind::Transaction, transaction))
            .await;
        let items = wrapper.items(1).await;
        assert!(matches!(items[0], value::Kind::Okay(_)), "{items:?}");
        assert!(
            matches!(&items[1], value::Kind::Error(err) if err.code == "WRONGTYPE"),
            "{items:?}"
        );
        assert_eq!(items[2], bulk("a"));

        // A command the server refuses to queue: EXECABORT, reported as that
        // command's error with its index.
        let refused: &[&[&str]] = &[&["SET", "t", "b"], &["GET"]];
        wrapper
            .send(&batch(2, proto::BatchKind::Transaction, refused))
            .await;
        let err = wrapper.error(2).await;
        assert_eq!(err.kind(), proto::ErrorKind::Response, "{err:?}");
        assert_eq!(err.index, Some(1), "{err:?}");
        assert!(err.message.contains("wrong number of arguments"), "{err:?}");
        wrapper.send(&request(3, &["GET", "t"])).await;
        assert_eq!(wrapper.value(3).await, bulk("a"), "nothing ran");
    });
}

#[test]
fn a_lease_holds_one_connection_for_a_watch_session() {
    let server = Server::start();
    block_on(async {
        let config = ConnectionConfig::tcp("127.0.0.1", server.port);
        let mut wrapper = Wrapper::connect(&config).await.ready().await;
        let mut other = Wrapper::connect(&config).await.ready().await;

        wrapper.send(&open_lease(5)).await;
        wrapper
            .send(&on_lease(request(1, &["CLIENT", "ID"]), 5))
            .await;
        // Responses come in completion order: one request at a time.
        let leased = wrapper.int(1).await;
        wrapper.send(&request(2, &["CLIENT", "ID"])).await;
        let shared = wrapper.int(2).await;
        assert_ne!(leased, shared, "a lease is a connection of its own");

        wrapper
            .send(&on_lease(request(3, &["WATCH", "w"]), 5))
            .await;
        assert!(matches!(wrapper.value(3).await, value::Kind::Okay(_)));
        other.send(&request(1, &["SET", "w", "theirs"])).await;
        assert!(matches!(other.value(1).await, value::Kind::Okay(_)));
        let mine: &[&[&str]] = &[&["SET", "w", "mine"]];
        wrapper
            .send(&on_lease(batch(4, proto::BatchKind::Transaction, mine), 5))
            .await;
        let err = wrapper.error(4).await;
        assert_eq!(err.kind(), proto::ErrorKind::Watch, "{err:?}");

        // The same connection serves the lease until it is released.
        wrapper
            .send(&on_lease(request(5, &["CLIENT", "ID"]), 5))
            .await;
        assert_eq!(wrapper.int(5).await, leased);
        wrapper.send(&release_lease(5, true)).await;
        wrapper.send(&on_lease(request(6, &["PING"]), 5)).await;
        let err = wrapper.error(6).await;
        assert!(err.message.contains("lease id 5 is not open"), "{err:?}");
        // Released as reusable, the connection serves the next lease.
        wrapper.send(&open_lease(6)).await;
        wrapper
            .send(&on_lease(request(7, &["CLIENT", "ID"]), 6))
            .await;
        assert_eq!(wrapper.int(7).await, leased);
        // Released as not reusable, it is closed instead.
        wrapper.send(&release_lease(6, false)).await;
        wrapper.send(&open_lease(7)).await;
        wrapper
            .send(&on_lease(request(8, &["CLIENT", "ID"]), 7))
            .await;
        let next = wrapper.int(8).await;
        assert_ne!(next, leased);
        assert_ne!(next, shared);

        // Closing a lease fails the requests on it until it is released.
        wrapper
            .send(&control(proto::request::Action::CloseLease(7)))
            .await;
        wrapper.send(&on_lease(request(9, &["PING"]), 7)).await;
        let err = wrapper.error(9).await;
        assert_eq!(err.kind(), proto::ErrorKind::Closed, "{err:?}");
        wrapper.send(&release_lease(7, true)).await;
        wrapper.send(&request(10, &["GET", "w"])).await;
        assert_eq!(wrapper.value(10).await, bulk("theirs"));
    });
}

#[test]
fn cancelling_a_blocking_request_closes_its_connection() {
    let server = Server::start();
    block_on(async {
        let config = ConnectionConfig::tcp("127.0.0.1", server.port);
        let mut wrapper = Wrapper::connect(&config).await.ready().await;
        wrapper.send(&request(1, &["BLPOP", "queue", "0"])).await;
        let notice = wrapper.recv().await.unwrap();
        assert_eq!(notice.request_id, 1);
        assert!(
            matches!(notice.result, Some(response::Result::Dedicated(_))),
            "{notice:?}"
        );
        // A shared-connection request is no cancel target: nothing happens.
        wrapper.send(&request(2, &["PING"])).await;
        assert!(matches!(wrapper.value(2).await, value::Kind::Simple(_)));
        wrapper.send(&cancel(2)).await;
        wrapper.send(&cancel(1)).await;
        let err = wrapper.error(1).await;
        assert_eq!(err.kind(), proto::ErrorKind::Closed, "{err:?}");
        assert!(err.message.contains("cancelled"), "{err:?}");
        // Cancelling again, or an id never used, does nothing.
        wrapper.send(&cancel(1)).await;
        wrapper.send(&cancel(99)).await;
        wrapper.send(&request(3, &["RPUSH", "queue", "job"])).await;
        assert_eq!(wrapper.int(3).await, 1);
        // Give a BLPOP that survived the cancel every chance to pop.
        tokio::time::sleep(Duration::from_millis(100)).await;
        wrapper
            .send(&request(4, &["LRANGE", "queue", "0", "-1"]))
            .await;
        assert_eq!(wrapper.items(4).await, vec![bulk("job")]);
    });
}

#[test]
fn requests_on_leases_that_are_not_open_fail_clearly() {
    block_on(async {
        let mut wrapper = Wrapper::connect(&unreachable_config()).await.ready().await;
        wrapper.send(&on_lease(request(1, &["PING"]), 9)).await;
        let err = wrapper.error(1).await;
        assert_eq!(err.kind(), proto::ErrorKind::InvalidInput, "{err:?}");
        assert!(
            err.message
                .contains("lease id 9 is not open on this stream"),
            "{err:?}"
        );
        let pipeline: &[&[&str]] = &[&["PING"]];
        wrapper
            .send(&on_lease(batch(2, proto::BatchKind::Pipeline, pipeline), 9))
            .await;
        assert!(wrapper.error(2).await.message.contains("lease id 9"));

        // A lease the core could not open fails its requests with the reason.
        let mut config = unreachable_config();
        config.max_connections = Some(0);
        let mut limited = Wrapper::connect(&config).await.ready().await;
        limited.send(&open_lease(1)).await;
        limited.send(&on_lease(request(1, &["PING"]), 1)).await;
        let err = limited.error(1).await;
        assert_eq!(err.kind(), proto::ErrorKind::Connection, "{err:?}");
        assert!(err.message.contains("max_connections"), "{err:?}");
        limited.send(&release_lease(1, true)).await;
        limited.send(&on_lease(request(2, &["PING"]), 1)).await;
        assert!(limited.error(2).await.message.contains("not open"));
    });
}

#[test]
fn malformed_batch_and_control_frames_close_the_stream() {
    let mut with_args = batch(1, proto::BatchKind::Pipeline, &[&["PING"]]);
    with_args.args = words(&["PING"]);
    let mut unknown_kind = batch(1, proto::BatchKind::Pipeline, &[&["PING"]]);
    if let Some(proto::request::Action::Batch(batch)) = &mut unknown_kind.action {
        batch.kind = 7;
    }
    let mut cancel_with_id = cancel(3);
    cancel_with_id.request_id = 4;
    let mut open_with_args = open_lease(1);
    open_with_args.args = words(&["PING"]);
    let cases: Vec<(&str, Vec<proto::Request>, &str)> = vec![
        (
            "unknown batch kind",
            vec![unknown_kind],
            "unknown batch kind 7",
        ),
        (
            "unspecified batch kind",
            vec![batch(1, proto::BatchKind::Unspecified, &[&["PING"]])],
            "unknown batch kind 0",
        ),
        ("batch and args", vec![with_args], "not `args`"),
        (
            "batch with request id 0",
            vec![batch(0, proto::BatchKind::Transaction, &[&["PING"]])],
            "request id 0",
        ),
        (
            "cancel with a request id",
            vec![cancel_with_id],
            "control frame",
        ),
        ("open with args", vec![open_with_args], "control frame"),
        ("cancel of id 0", vec![cancel(0)], "request id 0"),
        ("lease id 0", vec![open_lease(0)], "lease id 0"),
        (
            "lease opened twice",
            vec![open_lease(3), open_lease(3)],
            "lease id 3 is already open",
        ),
        (
            "release of a lease never opened",
            vec![release_lease(4, true)],
            "lease id 4 is not open",
        ),
        (
            "close of a lease never opened",
            vec![control(proto::request::Action::CloseLease(4))],
            "lease id 4 is not open",
        ),
    ];
    for (case, frames, expected) in cases {
        block_on(async {
            let mut bad = Wrapper::connect(&unreachable_config()).await.ready().await;
            for frame in &frames {
                bad.send(frame).await;
            }
            let err = bad.closing_error().await;
            assert_eq!(err.kind(), proto::ErrorKind::Protocol, "{case}: {err:?}");
            assert!(
                err.message.contains("malformed frame") && err.message.contains(expected),
                "{case}: {err:?}"
            );
            assert_served().await;
        });
    }
}

fn subscriber_frame(action: proto::request::Action) -> proto::Request {
    control(action)
}

fn subscriber_command(
    subscriber_id: u64,
    action: proto::SubscriberAction,
    names: &[&str],
) -> proto::Request {
    subscriber_frame(proto::request::Action::SubscriberCommand(
        proto::SubscriberCommand {
            subscriber_id,
            action: action.into(),
            names: words(names),
        },
    ))
}

/// A subscribe, answered as request `request_id` once the server confirmed it.
fn subscribe_frame(subscriber_id: u64, request_id: u64, names: &[&str]) -> proto::Request {
    proto::Request {
        request_id,
        ..subscriber_command(subscriber_id, proto::SubscriberAction::Subscribe, names)
    }
}

impl Wrapper {
    /// The next batch of subscriber `id`'s messages, skipping other frames.
    async fn pushed(&mut self, id: u64) -> proto::PushBatch {
        loop {
            let response = self.recv().await.expect("a batch before the end");
            if let Some(response::Result::Pushed(batch)) = response.result {
                assert_eq!(batch.subscriber_id, id);
                return batch;
            }
        }
    }
}

/// `(kind, channel, data)` of a pushed message, for short asserts.
fn pushed_message(event: &proto::PushEvent) -> (proto::MessageKind, String, String) {
    let Some(proto::push_event::Event::Message(message)) = &event.event else {
        panic!("not a message: {event:?}");
    };
    let text = |bytes: &Option<Bytes>| {
        String::from_utf8(bytes.clone().unwrap_or_default().to_vec()).unwrap()
    };
    let data = match &message.data {
        Some(proto::pub_sub_message::Data::Payload(bytes)) => {
            String::from_utf8(bytes.to_vec()).unwrap()
        }
        Some(proto::pub_sub_message::Data::Count(count)) => count.to_string(),
        None => String::new(),
    };
    (message.kind(), text(&message.channel), data)
}

#[test]
fn a_subscriber_answers_each_fetch_with_its_messages() {
    let server = Server::start();
    block_on(async {
        let config = ConnectionConfig::tcp("127.0.0.1", server.port);
        let mut wrapper = Wrapper::connect(&config).await.ready().await;
        wrapper
            .send(&subscriber_frame(proto::request::Action::OpenSubscriber(
                proto::OpenSubscriber {
                    subscriber_id: 3,
                    max_buffered_messages: 0,
                },
            )))
            .await;
        // The subscribe is answered once the server confirmed it; the
        // confirmation itself comes with the messages.
        wrapper.send(&subscribe_frame(3, 100, &["news"])).await;
        assert_eq!(wrapper.value(100).await, value::Kind::Okay(true));
        wrapper
            .send(&subscriber_frame(proto::request::Action::FetchMessages(3)))
            .await;
        let batch = wrapper.pushed(3).await;
        assert!(!batch.closed);
        assert_eq!(
            pushed_message(&batch.events[0]),
            (proto::MessageKind::Subscribe, "news".into(), "1".into())
        );

        // Published from a request on the same stream; the message waits in
        // the core until the wrapper asks for it.
        wrapper.send(&request(1, &["PUBLISH", "news", "hi"])).await;
        assert_eq!(wrapper.int(1).await, 1);
        wrapper
            .send(&subscriber_frame(proto::request::Action::FetchMessages(3)))
            .await;
        let batch = wrapper.pushed(3).await;
        assert_eq!(
            pushed_message(&batch.events[0]),
            (proto::MessageKind::Message, "news".into(), "hi".into())
        );

        // Closed, it is gone from the server (once the server has seen its
        // connection close) and its id from the stream.
        wrapper
            .send(&subscriber_frame(proto::request::Action::CloseSubscriber(
                3,
            )))
            .await;
        let mut id = 2;
        loop {
            wrapper
                .send(&request(id, &["PUBLISH", "news", "again"]))
                .await;
            if wrapper.int(id).await == 0 {
                break;
            }
            id += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        wrapper
            .send(&subscriber_frame(proto::request::Action::FetchMessages(3)))
            .await;
        let err = wrapper.closing_error().await;
        assert!(
            err.message.contains("subscriber id 3 is not open"),
            "{err:?}"
        );
    });
}

#[test]
fn malformed_subscriber_frames_close_the_stream() {
    let open = |subscriber_id| {
        subscriber_frame(proto::request::Action::OpenSubscriber(
            proto::OpenSubscriber {
                subscriber_id,
                max_buffered_messages: 0,
            },
        ))
    };
    let mut unknown_action = subscriber_command(1, proto::SubscriberAction::Subscribe, &["a"]);
    if let Some(proto::request::Action::SubscriberCommand(command)) = &mut unknown_action.action {
        command.action = 42;
    }
    let cases: Vec<(&str, Vec<proto::Request>, &str)> = vec![
        ("subscriber id 0", vec![open(0)], "subscriber id 0"),
        (
            "opened twice",
            vec![open(2), open(2)],
            "subscriber id 2 is already open",
        ),
        (
            "fetch from a subscriber never opened",
            vec![subscriber_frame(proto::request::Action::FetchMessages(5))],
            "subscriber id 5 is not open",
        ),
        (
            "unknown action",
            vec![open(1), unknown_action],
            "unknown subscriber action 42",
        ),
        (
            "subscribe without a request id",
            vec![
                open(1),
                subscriber_command(1, proto::SubscriberAction::Subscribe, &["a"]),
            ],
            "request id 0 is reserved",
        ),
        (
            "ping with two messages",
            vec![
                open(1),
                subscriber_command(1, proto::SubscriberAction::Ping, &["a", "b"]),
            ],
            "at most one",
        ),
    ];
    for (case, frames, expected) in cases {
        block_on(async {
            let mut bad = Wrapper::connect(&unreachable_config()).await.ready().await;
            for frame in &frames {
                bad.send(frame).await;
            }
            let err = bad.closing_error().await;
            assert_eq!(err.kind(), proto::ErrorKind::Protocol, "{case}: {err:?}");
            assert!(err.message.contains(expected), "{case}: {err:?}");
            assert_served().await;
        });
    }
}
