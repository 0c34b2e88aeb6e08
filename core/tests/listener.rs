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
