//! Length-delimited framing: each frame is a protobuf varint holding the
//! message's length, then the message.
//!
//! [`FrameDecoder`] cuts frames out of whatever a socket read produced, which
//! may be half a length prefix, several frames, or one frame in many pieces.
//! Everything it reads is untrusted: a prefix longer than a varint can be, or a
//! length over [`MAX_FRAME_LEN`], is an error rather than an allocation.

use std::fmt;

use bytes::{Buf, Bytes, BytesMut};
use prost::Message;

/// The largest frame accepted or produced (512 MiB, Redis's own bulk limit).
pub const MAX_FRAME_LEN: usize = 512 * 1024 * 1024;

/// The most the decoder reserves ahead of bytes actually received.
const RESERVE_STEP: usize = 4 * 1024 * 1024;

/// A varint of a length up to 2^64 takes at most 10 bytes.
const MAX_VARINT_LEN: usize = 10;

/// Why a stream's bytes are not a valid sequence of frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The length prefix is not a valid varint.
    BadLength,
    /// The length prefix names more than [`MAX_FRAME_LEN`] bytes.
    TooLong(u64),
    /// The frame ended before its message did (the stream closed mid-frame).
    Truncated,
    /// The frame's bytes are not the message they should be.
    BadMessage(String),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadLength => f.write_str("invalid frame length prefix"),
            Self::TooLong(len) => write!(
                f,
                "frame of {len} bytes exceeds the limit of {MAX_FRAME_LEN} bytes"
            ),
            Self::Truncated => f.write_str("the stream ended in the middle of a frame"),
            Self::BadMessage(detail) => write!(f, "malformed frame: {detail}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Reads the length prefix at the start of `data`: `Ok(None)` when more bytes
/// are needed, else the length and the prefix's own size.
fn read_length(data: &[u8]) -> Result<Option<(usize, usize)>, FrameError> {
    let mut value: u64 = 0;
    for (index, &byte) in data.iter().take(MAX_VARINT_LEN).enumerate() {
        let bits = u64::from(byte & 0x7f);
        // The tenth byte may only carry the top bit of a u64.
        if index == MAX_VARINT_LEN - 1 && byte > 1 {
            return Err(FrameError::BadLength);
        }
        value |= bits << (7 * index);
        if byte & 0x80 == 0 {
            if value > MAX_FRAME_LEN as u64 {
                return Err(FrameError::TooLong(value));
            }
            return Ok(Some((value as usize, index + 1)));
        }
    }
    if data.len() >= MAX_VARINT_LEN {
        return Err(FrameError::BadLength);
    }
    Ok(None)
}

/// Accumulates a stream's bytes and hands out whole frames.
#[derive(Default)]
pub struct FrameDecoder {
    buffer: BytesMut,
}

impl FrameDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The buffer to read more of the stream into.
    pub fn buffer_mut(&mut self) -> &mut BytesMut {
        &mut self.buffer
    }

    /// Appends bytes read from the stream.
    pub fn extend(&mut self, data: &[u8]) {
        self.buffer.extend_from_slice(data);
    }

    /// The next whole frame's message bytes, or `None` until more bytes arrive.
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, FrameError> {
        let Some((len, prefix)) = read_length(&self.buffer)? else {
            return Ok(None);
        };
        let Some(total) = prefix.checked_add(len) else {
            return Err(FrameError::BadLength);
        };
        if self.buffer.len() < total {
            // Reserve what the frame still needs, so a large frame is read
            // into few allocations; but no more than RESERVE_STEP at a time, so
            // five bytes claiming a huge frame do not allocate it up front.
            self.buffer
                .reserve((total - self.buffer.len()).min(RESERVE_STEP));
            return Ok(None);
        }
        self.buffer.advance(prefix);
        Ok(Some(self.buffer.split_to(len).freeze()))
    }

    /// The next whole frame decoded as `M`.
    pub fn next_message<M: Message + Default>(&mut self) -> Result<Option<M>, FrameError> {
        match self.next_frame()? {
            Some(frame) => M::decode(frame)
                .map(Some)
                .map_err(|err| FrameError::BadMessage(err.to_string())),
            None => Ok(None),
        }
    }

    /// Checks the stream ended on a frame boundary.
    pub fn finish(&self) -> Result<(), FrameError> {
        if self.buffer.is_empty() {
            Ok(())
        } else {
            Err(FrameError::Truncated)
        }
    }

    /// Bytes received but not yet handed out.
    pub fn pending_len(&self) -> usize {
        self.buffer.len()
    }
}

/// Appends `message` to `out` as one frame.
pub fn encode_frame<M: Message>(message: &M, out: &mut Vec<u8>) {
    // Encoding into a Vec cannot fail: it grows as needed.
    message
        .encode_length_delimited(out)
        .expect("a Vec has room for any frame");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::proto::Request;
    use proptest::prelude::*;

    fn request(id: u64, args: &[&[u8]]) -> Request {
        Request {
            request_id: id,
            args: args.iter().map(|a| Bytes::copy_from_slice(a)).collect(),
            ..Request::default()
        }
    }

    #[test]
    fn rejects_overlong_and_oversized_prefixes() {
        let mut decoder = FrameDecoder::new();
        decoder.extend(&[0xff; 11]);
        assert_eq!(decoder.next_frame(), Err(FrameError::BadLength));

        let mut decoder = FrameDecoder::new();
        let mut prefix = Vec::new();
        prost::encoding::encode_varint(MAX_FRAME_LEN as u64 + 1, &mut prefix);
        decoder.extend(&prefix);
        assert!(matches!(decoder.next_frame(), Err(FrameError::TooLong(_))));
    }

    #[test]
    fn waits_for_a_partial_prefix_and_reports_truncation() {
        let mut decoder = FrameDecoder::new();
        decoder.extend(&[0x80]);
        assert_eq!(decoder.next_frame(), Ok(None));
        assert_eq!(decoder.finish(), Err(FrameError::Truncated));
    }

    #[test]
    fn wrong_wire_type_is_a_bad_message() {
        // Field 1 (request_id, a varint) sent as a length-delimited field.
        let mut decoder = FrameDecoder::new();
        decoder.extend(&[3, 0x0a, 1, b'x']);
        assert!(matches!(
            decoder.next_message::<Request>(),
            Err(FrameError::BadMessage(_))
        ));
    }

    proptest! {
        /// However the stream is cut into reads, the decoder yields the same
        /// messages in the same order and ends on a frame boundary.
        #[test]
        fn round_trips_under_any_split(
            messages in prop::collection::vec(
                (1u64.., prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..6)),
                1..20,
            ),
            cuts in prop::collection::vec(1usize..64, 1..200),
        ) {
            let requests: Vec<Request> = messages
                .iter()
                .map(|(id, args)| {
                    let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
                    request(*id, &args)
                })
                .collect();
            let mut stream = Vec::new();
            for req in &requests {
                encode_frame(req, &mut stream);
            }
            let mut decoder = FrameDecoder::new();
            let mut decoded = Vec::new();
            let mut rest = stream.as_slice();
            let mut cuts = cuts.iter().cycle();
            while !rest.is_empty() {
                let take = (*cuts.next().unwrap()).min(rest.len());
                decoder.extend(&rest[..take]);
                rest = &rest[take..];
                while let Some(req) = decoder.next_message::<Request>().unwrap() {
                    decoded.push(req);
                }
            }
            prop_assert_eq!(decoded, requests);
            prop_assert_eq!(decoder.finish(), Ok(()));
        }

        /// Random bytes never panic the decoder: they yield frames, an error,
        /// or a wait for more.
        #[test]
        fn survives_random_bytes(data in prop::collection::vec(any::<u8>(), 0..2048)) {
            let mut decoder = FrameDecoder::new();
            decoder.extend(&data);
            while let Ok(Some(_)) = decoder.next_message::<Request>() {}
        }
    }
}
