//! The two decoders that read bytes from outside the process, against
//! streams cut every way and against garbage:
//!
//! - the RESP decoder (`babushka_core::resp::RespCodec`, which a
//!   connection's reader runs under a `FramedRead`) reads what a server, or
//!   anything that answers on its port, sends; on every valid stream it must
//!   give what redis-rs's own decoder (`ValueCodec`) gives;
//! - the uds `FrameDecoder` reads what a wrapper writes to the listener (and
//!   the wrapper reads the listener's frames with it).
//!
//! What must hold: valid streams decode to the same values however the
//! reads cut them; arbitrary bytes end in values, an error, or a wait for
//! more bytes, never a panic; every value consumes bytes (so a read loop
//! cannot spin); a stream cut short never yields the reply it cut, and its
//! end is an error; garbage is an error wherever a read ends; status and
//! error lines that are not UTF-8 decode (lossily) instead of breaking the
//! stream; and a length that claims a huge value does not allocate it ahead
//! of the bytes.

use std::pin::Pin;
use std::task::{Context, Poll};

use babushka_core::resp::RespCodec;
use babushka_core::socket::proto;
use babushka_core::socket::{encode_frame, FrameDecoder, FrameError, MAX_FRAME_LEN};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use proptest::prelude::*;
use redis::{PushKind, Value, ValueCodec, VerbatimFormat};
use tokio::io::{AsyncRead, ReadBuf};
use tokio_util::codec::{Decoder, FramedRead};

// ---------------------------------------------------------------------------
// RESP: a model of replies, written the way a server writes them
// ---------------------------------------------------------------------------

/// A reply, as a server could send it. Each node knows its wire form and
/// the `Value` the decoder must make of it.
#[derive(Debug, Clone)]
enum Reply {
    Nil,
    Null,
    Int(i64),
    Bulk(Vec<u8>),
    Simple(String),
    Error(String, String),
    BlobError(String, String),
    Double(f64),
    Boolean(bool),
    Verbatim(String),
    BigNumber(String),
    Array(Vec<Reply>),
    Set(Vec<Reply>),
    Map(Vec<(Reply, Reply)>),
    Push(&'static str, Vec<Reply>),
    Attribute(Vec<(Reply, Reply)>, Box<Reply>),
}

/// Push kinds the decoder knows by name, and one it does not.
const PUSH_KINDS: [&str; 4] = ["message", "invalidate", "subscribe", "tracking-other"];

impl Reply {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Self::Nil => out.extend_from_slice(b"$-1\r\n"),
            Self::Null => out.extend_from_slice(b"_\r\n"),
            Self::Int(n) => out.extend_from_slice(format!(":{n}\r\n").as_bytes()),
            Self::Bulk(data) => {
                out.extend_from_slice(format!("${}\r\n", data.len()).as_bytes());
                out.extend_from_slice(data);
                out.extend_from_slice(b"\r\n");
            }
            Self::Simple(text) => out.extend_from_slice(format!("+{text}\r\n").as_bytes()),
            Self::Error(code, detail) => {
                out.extend_from_slice(format!("-{code} {detail}\r\n").as_bytes());
            }
            Self::BlobError(code, detail) => {
                let text = format!("{code} {detail}");
                out.extend_from_slice(format!("!{}\r\n{text}\r\n", text.len()).as_bytes());
            }
            // Display writes the shortest form that parses back exactly.
            Self::Double(x) => out.extend_from_slice(format!(",{x}\r\n").as_bytes()),
            Self::Boolean(b) => out.extend_from_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
            Self::Verbatim(text) => {
                let body = format!("txt:{text}");
                out.extend_from_slice(format!("={}\r\n{body}\r\n", body.len()).as_bytes());
            }
            Self::BigNumber(digits) => out.extend_from_slice(format!("({digits}\r\n").as_bytes()),
            Self::Array(items) => write_aggregate(out, b'*', items.len(), items),
            Self::Set(items) => write_aggregate(out, b'~', items.len(), items),
            Self::Map(pairs) => {
                out.extend_from_slice(format!("%{}\r\n", pairs.len()).as_bytes());
                for (key, value) in pairs {
                    key.write(out);
                    value.write(out);
                }
            }
            Self::Push(kind, items) => {
                out.extend_from_slice(format!(">{}\r\n", items.len() + 1).as_bytes());
                Self::Bulk(kind.as_bytes().to_vec()).write(out);
                for item in items {
                    item.write(out);
                }
            }
            Self::Attribute(pairs, data) => {
                out.extend_from_slice(format!("|{}\r\n", pairs.len()).as_bytes());
                for (key, value) in pairs {
                    key.write(out);
                    value.write(out);
                }
                data.write(out);
            }
        }
    }

    /// The value the decoder must produce for this reply.
    fn expected(&self) -> Value {
        match self {
            Self::Nil | Self::Null => Value::Nil,
            Self::Int(n) => Value::Int(*n),
            Self::Bulk(data) => Value::BulkString(data.clone()),
            Self::Simple(text) if text == "OK" => Value::Okay,
            Self::Simple(text) => Value::SimpleString(text.clone()),
            // redis-rs's error type has no public constructor: the reference
            // is the decoder's reading of that one error line, alone and whole.
            Self::Error(..) | Self::BlobError(..) => decode_whole(&self.wire())
                .pop()
                .expect("an error reply decodes on its own"),
            Self::Double(x) => Value::Double(*x),
            Self::Boolean(b) => Value::Boolean(*b),
            Self::Verbatim(text) => Value::VerbatimString {
                format: VerbatimFormat::Text,
                text: text.clone(),
            },
            Self::BigNumber(digits) => Value::BigNumber(digits.as_bytes().to_vec()),
            Self::Array(items) => Value::Array(items.iter().map(Self::expected).collect()),
            Self::Set(items) => Value::Set(items.iter().map(Self::expected).collect()),
            Self::Map(pairs) => Value::Map(expected_pairs(pairs)),
            Self::Push(kind, items) => Value::Push {
                kind: push_kind(kind),
                data: items.iter().map(Self::expected).collect(),
            },
            Self::Attribute(pairs, data) => Value::Attribute {
                data: Box::new(data.expected()),
                attributes: expected_pairs(pairs),
            },
        }
    }

    fn wire(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }
}

fn write_aggregate(out: &mut Vec<u8>, marker: u8, len: usize, items: &[Reply]) {
    out.push(marker);
    out.extend_from_slice(format!("{len}\r\n").as_bytes());
    for item in items {
        item.write(out);
    }
}

fn expected_pairs(pairs: &[(Reply, Reply)]) -> Vec<(Value, Value)> {
    pairs
        .iter()
        .map(|(key, value)| (key.expected(), value.expected()))
        .collect()
}

fn push_kind(kind: &str) -> PushKind {
    match kind {
        "message" => PushKind::Message,
        "invalidate" => PushKind::Invalidate,
        "subscribe" => PushKind::Subscribe,
        other => PushKind::Other(other.to_owned()),
    }
}

/// Text that fits on one RESP line: no CR or LF.
fn line_text() -> impl Strategy<Value = String> {
    "[^\r\n]{0,20}"
}

fn error_code() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("ERR".to_owned()),
        Just("WRONGTYPE".to_owned()),
        Just("NOSCRIPT".to_owned()),
        Just("MOVED".to_owned()),
        "[A-Z]{1,10}",
    ]
}

fn leaf() -> impl Strategy<Value = Reply> {
    prop_oneof![
        Just(Reply::Nil),
        Just(Reply::Null),
        any::<i64>().prop_map(Reply::Int),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(Reply::Bulk),
        line_text().prop_map(Reply::Simple),
        Just(Reply::Simple("OK".to_owned())),
        (error_code(), line_text()).prop_map(|(code, detail)| Reply::Error(code, detail)),
        (error_code(), "[^\r\n]{0,20}").prop_map(|(code, detail)| Reply::BlobError(code, detail)),
        any::<f64>()
            .prop_filter("finite: NaN is not equal to itself", |x| x.is_finite())
            .prop_map(Reply::Double),
        any::<bool>().prop_map(Reply::Boolean),
        // Any UTF-8 text, CR and LF included: its length is given.
        ".{0,20}".prop_map(Reply::Verbatim),
        "-?[1-9][0-9]{18,40}".prop_map(Reply::BigNumber),
    ]
}

fn reply() -> impl Strategy<Value = Reply> {
    leaf().prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Reply::Array),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Reply::Set),
            prop::collection::vec((inner.clone(), inner.clone()), 0..4).prop_map(Reply::Map),
            (
                prop::sample::select(&PUSH_KINDS[..]),
                prop::collection::vec(inner.clone(), 0..4)
            )
                .prop_map(|(kind, items)| Reply::Push(kind, items)),
            (
                prop::collection::vec((inner.clone(), inner.clone()), 0..3),
                inner
            )
                .prop_map(|(pairs, data)| Reply::Attribute(pairs, Box::new(data))),
        ]
    })
}

// ---------------------------------------------------------------------------
// RESP: driving the decoder as FramedRead does
// ---------------------------------------------------------------------------

/// What feeding a stream to the decoder came to.
#[derive(Debug)]
struct Decoded {
    values: Vec<Value>,
    /// The error that ended decoding, if any (at a read, or at the end).
    error: Option<String>,
}

/// Feeds `stream` to the core's decoder in the pieces `cuts` makes (each
/// cut a length; they repeat to the end), then ends the stream, as
/// `FramedRead` does: decode after every read until it asks for more, then
/// `decode_eof` at the end, where bytes left over are an error.
fn decode_in_pieces(stream: &[u8], cuts: &[usize]) -> Decoded {
    decode_with(RespCodec::default(), stream, cuts)
}

/// [`decode_in_pieces`] with any decoder of replies (redis-rs's, to compare).
fn decode_with<D>(mut codec: D, stream: &[u8], cuts: &[usize]) -> Decoded
where
    D: Decoder<Item = Value>,
    D::Error: std::fmt::Display,
{
    let mut buffer = BytesMut::new();
    let mut values = Vec::new();
    let mut rest = stream;
    let mut cuts = cuts.iter().copied().filter(|&cut| cut > 0).cycle();
    let mut step = || cuts.next().unwrap_or(usize::MAX);
    loop {
        let eof = rest.is_empty();
        if !eof {
            let take = step().min(rest.len());
            buffer.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
        }
        loop {
            let before = buffer.len();
            let decoded = if eof {
                codec.decode_eof(&mut buffer)
            } else {
                codec.decode(&mut buffer)
            };
            match decoded {
                Ok(Some(value)) => {
                    // A value is made of bytes: the loop cannot spin in place.
                    assert!(buffer.len() < before, "a value consumed no bytes");
                    values.push(value);
                }
                Ok(None) => break,
                Err(err) => {
                    return Decoded {
                        values,
                        error: Some(err.to_string()),
                    }
                }
            }
        }
        if eof {
            let error = (!buffer.is_empty()).then(|| "bytes remaining on stream".to_owned());
            return Decoded { values, error };
        }
    }
}

/// The stream decoded from one piece.
fn decode_whole(stream: &[u8]) -> Vec<Value> {
    let decoded = decode_in_pieces(stream, &[]);
    assert_eq!(decoded.error, None, "{:?}", String::from_utf8_lossy(stream));
    decoded.values
}

fn wire_of(replies: &[Reply]) -> Vec<u8> {
    let mut stream = Vec::new();
    for reply in replies {
        reply.write(&mut stream);
    }
    stream
}

/// An `AsyncRead` that returns one given piece per read, then end of stream.
struct Pieces(std::collections::VecDeque<Vec<u8>>);

impl AsyncRead for Pieces {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if let Some(mut piece) = self.0.pop_front() {
            let room = buf.remaining();
            if piece.len() > room {
                self.0.push_front(piece.split_off(room));
            }
            buf.put_slice(&piece);
        }
        Poll::Ready(Ok(()))
    }
}

fn split(stream: &[u8], cuts: &[usize]) -> std::collections::VecDeque<Vec<u8>> {
    let mut pieces = std::collections::VecDeque::new();
    let mut rest = stream;
    for &cut in cuts.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let take = cut.clamp(1, rest.len());
        pieces.push_back(rest[..take].to_vec());
        rest = &rest[take..];
    }
    pieces
}

/// The stream read through a `FramedRead`, as a connection's reader reads.
fn read_framed(stream: &[u8], cuts: &[usize]) -> (Vec<Value>, bool) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut frames = FramedRead::new(Pieces(split(stream, cuts)), RespCodec::default());
        let mut values = Vec::new();
        while let Some(frame) = frames.next().await {
            match frame {
                Ok(value) => values.push(value),
                Err(_) => return (values, true),
            }
        }
        (values, false)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Replies cut at every byte, one split at a time and all at once, and
    /// at random, decode to the values the server sent.
    #[test]
    fn resp_replies_decode_the_same_however_cut(
        replies in prop::collection::vec(reply(), 1..6),
        cuts in prop::collection::vec(1usize..32, 1..16),
    ) {
        let stream = wire_of(&replies);
        let expected: Vec<Value> = replies.iter().map(Reply::expected).collect();
        prop_assert_eq!(&decode_whole(&stream), &expected);
        // What redis-rs's own decoder makes of it, whole and byte by byte.
        let theirs = decode_with(ValueCodec::default(), &stream, &[]);
        prop_assert_eq!(theirs.error, None);
        prop_assert_eq!(&theirs.values, &expected);
        prop_assert_eq!(&decode_with(ValueCodec::default(), &stream, &[1]).values, &expected);
        for at in 0..=stream.len() {
            let decoded = decode_in_pieces(&stream, &[at.max(1), usize::MAX]);
            prop_assert_eq!(decoded.error, None, "split at {}", at);
            prop_assert_eq!(&decoded.values, &expected, "split at {}", at);
        }
        let byte_by_byte = decode_in_pieces(&stream, &[1]);
        prop_assert_eq!(byte_by_byte.error, None);
        prop_assert_eq!(&byte_by_byte.values, &expected);
        let (framed, failed) = read_framed(&stream, &cuts);
        prop_assert!(!failed);
        prop_assert_eq!(&framed, &expected);
    }

    /// A stream cut short gives exactly the replies that were whole before
    /// the cut, never one made of the part that came; cut inside a reply,
    /// its end is an error (the reader reports a broken connection).
    #[test]
    fn resp_stream_cut_short_gives_only_whole_replies(
        replies in prop::collection::vec(reply(), 1..4),
        keep in any::<prop::sample::Index>(),
        cuts in prop::collection::vec(1usize..16, 1..8),
    ) {
        let stream = wire_of(&replies);
        let cut = keep.index(stream.len() + 1);
        let mut whole = 0;
        let mut end = 0;
        let mut on_boundary = cut == 0;
        for reply in &replies {
            end += reply.wire().len();
            if end <= cut {
                whole += 1;
            }
            on_boundary |= end == cut;
        }
        let expected: Vec<Value> = replies[..whole].iter().map(Reply::expected).collect();
        let decoded = decode_in_pieces(&stream[..cut], &cuts);
        prop_assert_eq!(decoded.values, expected, "{} of {} bytes", cut, stream.len());
        prop_assert_eq!(decoded.error.is_none(), on_boundary);
    }

    /// Status and error lines are text by the protocol, but servers put
    /// whatever they were given in them (an unknown command's name and
    /// arguments). Any bytes but CR and LF decode, lossily, and the replies
    /// after them are read as usual.
    #[test]
    fn resp_status_and_error_lines_of_any_bytes_decode(
        status in prop::collection::vec(any::<u8>().prop_filter("no CR or LF", |b| *b != b'\r' && *b != b'\n'), 0..40),
        detail in prop::collection::vec(any::<u8>().prop_filter("no CR or LF", |b| *b != b'\r' && *b != b'\n'), 0..40),
        cuts in prop::collection::vec(1usize..8, 1..8),
    ) {
        let mut stream = b"+".to_vec();
        stream.extend_from_slice(&status);
        stream.extend_from_slice(b"\r\n-ERR ");
        stream.extend_from_slice(&detail);
        stream.extend_from_slice(b"\r\n:7\r\n");
        let decoded = decode_in_pieces(&stream, &cuts);
        prop_assert_eq!(decoded.error, None);
        prop_assert_eq!(decoded.values.len(), 3);
        let lossy = String::from_utf8_lossy(&status).into_owned();
        match &decoded.values[0] {
            Value::Okay => prop_assert_eq!(lossy.as_str(), "OK"),
            Value::SimpleString(text) => prop_assert_eq!(text, &lossy),
            other => prop_assert!(false, "{:?}", other),
        }
        let is_err = matches!(&decoded.values[1], Value::ServerError(err) if err.code() == "ERR");
        prop_assert!(is_err, "{:?}", decoded.values[1]);
        prop_assert_eq!(&decoded.values[2], &Value::Int(7));
    }

    /// Arbitrary bytes, cut arbitrarily: values, then an error or the end;
    /// no panic, and no value from nothing.
    #[test]
    fn resp_garbage_never_panics(
        data in prop::collection::vec(any::<u8>(), 0..512),
        cuts in prop::collection::vec(1usize..64, 1..16),
    ) {
        // `decode_in_pieces` checks that every value consumed bytes.
        decode_in_pieces(&data, &[]);
        decode_in_pieces(&data, &cuts);
        decode_in_pieces(&data, &[1]);
    }

    /// Bytes that mostly look like RESP (type markers, digits, CRLF), which
    /// reach deeper into the decoder than uniform noise does.
    #[test]
    fn resp_near_misses_never_panic(
        tokens in prop::collection::vec(prop::sample::select(&[
            "*", "$", "+", "-", ":", "%", "~", ">", "|", "_", ",", "#", "!", "=", "(",
            "\r\n", "\r", "\n", "0", "1", "2", "-1", "-2", "3", "99", "9223372036854775807",
            "18446744073709551616", "OK", "t", "f", "txt:", "x", "inf", "nan", "1e309",
        ][..]), 0..80),
        cuts in prop::collection::vec(1usize..16, 1..8),
    ) {
        let data: Vec<u8> = tokens.concat().into_bytes();
        decode_in_pieces(&data, &[]);
        decode_in_pieces(&data, &cuts);
        decode_in_pieces(&data, &[1]);
    }

    /// A byte that starts no RESP type is an error, wherever the read ends:
    /// the reader does not wait for bytes that cannot make it valid (redis-rs's
    /// decoder dropped it when it was the last byte of a read).
    #[test]
    fn resp_unknown_type_byte_is_an_error(
        replies in prop::collection::vec(reply(), 0..3),
        first in any::<u8>().prop_filter("not a RESP type", |b| !b"*$+-:%~>|_,#!=(".contains(b)),
        rest in prop::collection::vec(any::<u8>(), 0..16),
        cuts in prop::collection::vec(1usize..8, 1..8),
    ) {
        let mut stream = wire_of(&replies);
        let good = stream.len();
        stream.push(first);
        stream.extend_from_slice(&rest);
        let expected: Vec<Value> = replies.iter().map(Reply::expected).collect();
        // The garbage byte alone at the end of what has arrived.
        let mut codec = RespCodec::default();
        let mut buffer = BytesMut::from(&stream[..=good]);
        let mut values = Vec::new();
        let failed = loop {
            match codec.decode(&mut buffer) {
                Ok(Some(value)) => values.push(value),
                Ok(None) => break false,
                Err(_) => break true,
            }
        };
        prop_assert!(failed);
        prop_assert_eq!(&values, &expected);
        let decoded = decode_in_pieces(&stream, &cuts);
        prop_assert!(decoded.error.is_some());
        prop_assert_eq!(&decoded.values, &expected);
    }

    /// Inside an aggregate too, however the reads fall.
    #[test]
    fn resp_unknown_type_byte_inside_an_aggregate_is_an_error(
        first in any::<u8>().prop_filter("not a RESP type", |b| !b"*$+-:%~>|_,#!=(".contains(b)),
        cut in 1usize..8,
    ) {
        let mut stream = b"*2\r\n:1\r\n".to_vec();
        stream.push(first);
        stream.extend_from_slice(b":5\r\n");
        let decoded = decode_in_pieces(&stream, &[cut]);
        prop_assert!(decoded.values.is_empty());
        prop_assert!(decoded.error.is_some());
    }
}

/// What redis-rs's decoder got wrong, right here (the reasons this decoder
/// exists; see `core/src/resp.rs`).
#[test]
fn resp_cases_redis_rs_decoder_got_wrong() {
    // An unknown command's error, echoing a byte that is not UTF-8, and the
    // reply after it: redis-rs's decoder failed the stream at the error.
    let wire = b"-ERR unknown command 'x\x80', with args beginning with: \r\n$1\r\nv\r\n";
    assert!(decode_with(ValueCodec::default(), wire, &[])
        .error
        .is_some());
    let ours = decode_in_pieces(wire, &[]);
    assert_eq!(ours.error, None);
    assert!(matches!(&ours.values[0], Value::ServerError(err)
        if err.code() == "ERR" && err.details().is_some_and(|d| d.contains('\u{fffd}'))));
    assert_eq!(ours.values[1], Value::BulkString(b"v".to_vec()));
    // A bad type byte ending a read: redis-rs's decoder dropped it.
    assert_eq!(
        decode_with(ValueCodec::default(), b"?:1\r\n", &[1]).values,
        vec![Value::Int(1)]
    );
    assert!(decode_in_pieces(b"?:1\r\n", &[1]).error.is_some());
    // A stream ending mid-reply: redis-rs's decoder called it a clean end.
    assert_eq!(
        decode_with(ValueCodec::default(), b"*2\r\n:1\r\n", &[1]).error,
        None
    );
    assert!(decode_in_pieces(b"*2\r\n:1\r\n", &[1]).error.is_some());
}

#[test]
fn resp_nesting_past_the_limit_is_an_error_not_a_stack_overflow() {
    let mut stream = b"*1\r\n".repeat(10_000);
    stream.extend_from_slice(b":1\r\n");
    let decoded = decode_in_pieces(&stream, &[4096]);
    assert!(decoded.values.is_empty());
    assert!(decoded.error.is_some());
}

#[test]
fn resp_huge_lengths_wait_for_bytes_without_allocating_them() {
    for header in [
        &b"$9223372036854775807\r\n"[..],
        b"*9223372036854775807\r\n",
        b"~9223372036854775807\r\n",
        b"%4611686018427387903\r\n",
        b">9223372036854775807\r\n",
        b"=9223372036854775807\r\n",
    ] {
        let mut codec = RespCodec::default();
        let mut buffer = BytesMut::from(header);
        // Waiting for the rest is all it can do, however much more comes;
        // the end of the stream is an error, not a value.
        for _ in 0..64 {
            buffer.extend_from_slice(b":1\r\n");
            assert!(matches!(codec.decode(&mut buffer), Ok(None)), "{header:?}");
        }
        assert!(codec.decode_eof(&mut buffer).is_err(), "{header:?}");
    }
    // Negative lengths where only a bulk string, an array or a set may have one.
    for wire in [&b"%-1\r\n"[..], b"|-1\r\n", b"!-1\r\n", b"=-1\r\n"] {
        let mut codec = RespCodec::default();
        assert!(codec.decode(&mut BytesMut::from(wire)).is_err(), "{wire:?}");
    }
    // Aggregates reserve at most 1,024 elements ahead whatever they claim,
    // so 99 levels that each claim 2^63 cost a few MB, not 2^63 of anything;
    // and the decoder only waits.
    let mut codec = RespCodec::default();
    let mut buffer = BytesMut::from(b"*9223372036854775807\r\n".repeat(99).as_slice());
    assert!(matches!(codec.decode(&mut buffer), Ok(None)));
}

#[test]
fn resp_negative_and_garbage_lengths() {
    for (wire, nil) in [
        (&b"$-1\r\n"[..], true),
        (b"*-1\r\n", true),
        (b"$-7\r\n", true),
        (b":12a\r\n", false),
        (b"$1x\r\n", false),
        (b"#x\r\n", false),
        (b",not-a-number\r\n", false),
    ] {
        let decoded = decode_in_pieces(wire, &[]);
        if nil {
            assert_eq!(decoded.values, vec![Value::Nil], "{wire:?}");
            assert_eq!(decoded.error, None);
        } else {
            assert!(decoded.values.is_empty(), "{wire:?}");
            assert!(decoded.error.is_some(), "{wire:?}");
        }
    }
}

// ---------------------------------------------------------------------------
// uds frames
// ---------------------------------------------------------------------------

fn frame_request(id: u64, args: &[Vec<u8>]) -> proto::Request {
    proto::Request {
        request_id: id,
        args: args.iter().map(|arg| Bytes::copy_from_slice(arg)).collect(),
        ..proto::Request::default()
    }
}

/// Feeds `stream` in the pieces `cuts` makes; the messages, then how the
/// stream ended: `Ok` on a frame boundary, else the error.
fn frames_in_pieces(
    stream: &[u8],
    cuts: &[usize],
) -> (Vec<proto::Request>, Result<(), FrameError>) {
    let mut decoder = FrameDecoder::new();
    let mut messages = Vec::new();
    let mut rest = stream;
    let mut cuts = cuts.iter().copied().filter(|&cut| cut > 0).cycle();
    while !rest.is_empty() {
        let take = cuts.next().unwrap_or(usize::MAX).min(rest.len());
        decoder.extend(&rest[..take]);
        rest = &rest[take..];
        loop {
            let before = decoder.pending_len();
            match decoder.next_message::<proto::Request>() {
                Ok(Some(message)) => {
                    assert!(decoder.pending_len() < before, "a frame consumed no bytes");
                    messages.push(message);
                }
                Ok(None) => break,
                Err(err) => return (messages, Err(err)),
            }
        }
    }
    let end = decoder.finish();
    (messages, end)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Frames cut at every byte, one split at a time and all at once, give
    /// back the messages that were written.
    #[test]
    fn frames_decode_the_same_however_cut(
        messages in prop::collection::vec(
            (1u64.., prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..4)),
            1..6,
        ),
    ) {
        let requests: Vec<proto::Request> =
            messages.iter().map(|(id, args)| frame_request(*id, args)).collect();
        let mut stream = Vec::new();
        for request in &requests {
            encode_frame(request, &mut stream);
        }
        for at in 0..=stream.len() {
            let (decoded, end) = frames_in_pieces(&stream, &[at.max(1), usize::MAX]);
            prop_assert_eq!(end, Ok(()), "split at {}", at);
            prop_assert_eq!(&decoded, &requests, "split at {}", at);
        }
        let (decoded, end) = frames_in_pieces(&stream, &[1]);
        prop_assert_eq!(end, Ok(()));
        prop_assert_eq!(&decoded, &requests);
        // Cut short anywhere inside: the end of the stream is an error.
        for at in 1..stream.len() {
            let (_, end) = frames_in_pieces(&stream[..at], &[7]);
            let on_boundary = {
                let mut length = 0;
                let mut boundary = false;
                for request in &requests {
                    let mut one = Vec::new();
                    encode_frame(request, &mut one);
                    length += one.len();
                    boundary |= length == at;
                }
                boundary
            };
            prop_assert_eq!(end.is_ok(), on_boundary, "cut at {}", at);
        }
    }

    /// Arbitrary bytes: messages, an error, or a wait; never a panic, and
    /// the same however they are cut.
    #[test]
    fn frame_garbage_never_panics(
        data in prop::collection::vec(any::<u8>(), 0..1024),
        cuts in prop::collection::vec(1usize..64, 1..16),
    ) {
        let (one, one_end) = frames_in_pieces(&data, &[usize::MAX]);
        let (cut, cut_end) = frames_in_pieces(&data, &cuts);
        prop_assert_eq!(one, cut);
        prop_assert_eq!(one_end.is_ok(), cut_end.is_ok());
    }

    /// A length prefix claiming a frame of any size up to the limit reserves
    /// a bounded amount ahead of the bytes that actually came.
    #[test]
    fn frame_length_claims_do_not_allocate_ahead(claim in 1u64..=MAX_FRAME_LEN as u64) {
        let mut prefix = Vec::new();
        prost::encoding::encode_varint(claim, &mut prefix);
        let mut decoder = FrameDecoder::new();
        decoder.extend(&prefix);
        prop_assert_eq!(decoder.next_frame(), Ok(None));
        prop_assert!(decoder.buffer_mut().capacity() <= 8 << 20);
        prop_assert_eq!(decoder.finish(), Err(FrameError::Truncated));
    }
}

#[test]
fn frame_prefixes_past_the_limit_or_the_varint_are_errors() {
    let mut prefix = Vec::new();
    prost::encoding::encode_varint(MAX_FRAME_LEN as u64 + 1, &mut prefix);
    let (_, end) = frames_in_pieces(&prefix, &[1]);
    assert!(matches!(end, Err(FrameError::TooLong(_))));
    let (_, end) = frames_in_pieces(&[0xff; 11], &[1]);
    assert_eq!(end, Err(FrameError::BadLength));
    // A well-formed frame whose body is not a request.
    let (_, end) = frames_in_pieces(&[2, 0xff, 0xff], &[1]);
    assert!(matches!(end, Err(FrameError::BadMessage(_))));
}
