//! Commands as the server reads them, encoded once.
//!
//! Transports hand the core each argument already as bytes (the binding
//! encodes Python values; the socket listener takes them from frames), and a
//! [`CommandBuilder`] writes them straight into the RESP wire format in one
//! buffer. Queuing a [`Command`] on a connection is then a single copy, and a
//! typical command costs one allocation.

use redis::Cmd;

use crate::error::{Error, ErrorKind, Result};

/// The longest argument a server takes: its `proto-max-bulk-len`, 512 MiB
/// unless configured otherwise. A longer one is not an error reply: the
/// server answers "invalid bulk length" and closes the connection, failing
/// every other request in flight on it, so it is refused before it is sent.
pub const MAX_ARG_LEN: usize = 512 * 1024 * 1024;

/// Room kept in front of the arguments for the array header `*<count>\r\n`,
/// written once the count is known.
const HEADER_ROOM: usize = LINE_MAX;
/// Initial capacity: enough for the header and a short command such as a GET.
const INITIAL_CAPACITY: usize = 96;

/// A command encoded as a RESP array of bulk strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    buf: Vec<u8>,
    /// Where the header starts within `buf`.
    start: usize,
}

impl Command {
    /// Builds a command from its name and arguments, each a byte string.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when there is no argument at all, or one
    /// is longer than [`MAX_ARG_LEN`].
    pub fn from_args<I, A>(args: I) -> Result<Self>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        let mut builder = CommandBuilder::new();
        for arg in args {
            let arg = arg.as_ref();
            check_arg_len(arg.len())?;
            builder.arg(arg);
        }
        builder.finish()
    }

    /// The bytes to write to the server.
    pub fn packed(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// The command's words (name first), read back from the packed form.
    pub fn args(&self) -> Args<'_> {
        let packed = self.packed();
        // Skip the `*<count>\r\n` header.
        let body = packed
            .iter()
            .position(|&b| b == b'\n')
            .map_or(&[][..], |end| &packed[end + 1..]);
        Args { rest: body }
    }

    /// The command's name, as sent (any case).
    pub fn name(&self) -> &[u8] {
        self.args().next().unwrap_or_default()
    }
}

/// The words of a [`Command`], in order.
pub struct Args<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Args<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        // Each word is `$<len>\r\n<data>\r\n`, written by `CommandBuilder`
        // (or by redis-rs, whose packing a test checks against ours).
        let line_end = self.rest.iter().position(|&b| b == b'\r')?;
        let len: usize = std::str::from_utf8(self.rest.get(1..line_end)?)
            .ok()?
            .parse()
            .ok()?;
        let start = line_end + 2;
        let word = self.rest.get(start..start + len)?;
        self.rest = self.rest.get(start + len + 2..).unwrap_or_default();
        Some(word)
    }
}

impl From<&Cmd> for Command {
    fn from(cmd: &Cmd) -> Self {
        Self {
            buf: cmd.get_packed_command(),
            start: 0,
        }
    }
}

/// Encodes arguments one by one; [`Self::finish`] adds the header.
pub struct CommandBuilder {
    buf: Vec<u8>,
    count: usize,
}

impl Default for CommandBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl CommandBuilder {
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(INITIAL_CAPACITY);
        buf.resize(HEADER_ROOM, 0);
        Self { buf, count: 0 }
    }

    /// Appends one argument as a bulk string. The caller checks its length
    /// first ([`check_arg_len`]), before it has copied anything.
    pub fn arg(&mut self, data: &[u8]) {
        let mut line = [0; LINE_MAX];
        let prefix = length_line(b'$', data.len(), &mut line);
        self.buf.reserve(prefix.len() + data.len() + 2);
        self.buf.extend_from_slice(prefix);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
        self.count += 1;
    }

    /// The command, or an error if it has no argument at all: the server
    /// answers an empty array with nothing, which would leave every later
    /// reply on the connection paired with the request before it.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when no argument was added.
    pub fn finish(self) -> Result<Command> {
        let Self { mut buf, count } = self;
        if count == 0 {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "a command needs at least its name",
            ));
        }
        let mut line = [0; LINE_MAX];
        let header = length_line(b'*', count, &mut line);
        let start = HEADER_ROOM - header.len();
        buf[start..HEADER_ROOM].copy_from_slice(header);
        Ok(Command { buf, start })
    }
}

/// Refuses an argument of `len` bytes if the server would not take it.
///
/// # Errors
/// [`ErrorKind::InvalidInput`] when `len` is over [`MAX_ARG_LEN`].
pub fn check_arg_len(len: usize) -> Result<()> {
    if len > MAX_ARG_LEN {
        return Err(arg_too_long(len));
    }
    Ok(())
}

#[cold]
fn arg_too_long(len: usize) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!(
            "an argument of {len} bytes is over the server's limit of {MAX_ARG_LEN} bytes \
             (proto-max-bulk-len); nothing was sent"
        ),
    )
}

/// The longest `<marker><decimal>\r\n` line: a `usize` has at most 20 digits.
const LINE_MAX: usize = 23;

/// Formats `<marker><value>\r\n` at the end of `out` (on the stack, without
/// going through `fmt`) and returns it.
fn length_line(marker: u8, value: usize, out: &mut [u8; LINE_MAX]) -> &[u8] {
    out[LINE_MAX - 2..].copy_from_slice(b"\r\n");
    let mut at = write_digits(value as u64, &mut out[..LINE_MAX - 2]);
    at -= 1;
    out[at] = marker;
    &out[at..]
}

/// `value` in decimal, formatted on the stack (an `i64` needs at most 20
/// bytes): how integer arguments are sent.
pub fn decimal(value: i64, out: &mut [u8; 20]) -> &[u8] {
    let mut at = write_digits(value.unsigned_abs(), out);
    if value < 0 {
        at -= 1;
        out[at] = b'-';
    }
    &out[at..]
}

/// Writes `value`'s digits at the end of `out`; returns where they start.
fn write_digits(mut value: u64, out: &mut [u8]) -> usize {
    let mut at = out.len();
    loop {
        at -= 1;
        // The remainder is below 10, so the cast cannot truncate.
        #[allow(clippy::cast_possible_truncation)]
        let digit = (value % 10) as u8;
        out[at] = b'0' + digit;
        value /= 10;
        if value == 0 {
            return at;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decimal_matches_display() {
        for value in [0, 7, -7, 10, -10, 1_234_567, i64::MAX, i64::MIN] {
            assert_eq!(decimal(value, &mut [0; 20]), value.to_string().as_bytes());
        }
    }

    #[test]
    fn refuses_an_empty_command() {
        let err = Command::from_args(Vec::<Vec<u8>>::new()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn refuses_an_argument_over_the_servers_limit() {
        assert!(check_arg_len(MAX_ARG_LEN).is_ok());
        let err = check_arg_len(MAX_ARG_LEN + 1).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.message().contains("proto-max-bulk-len"), "{err}");
    }

    #[test]
    fn packs_binary_arguments_verbatim() {
        let cmd = Command::from_args([&b"SET"[..], b"k", b"\x00\r\n"]).unwrap();
        assert_eq!(
            cmd.packed(),
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n\x00\r\n\r\n"
        );
    }

    #[test]
    fn reads_its_words_back() {
        let cmd = Command::from_args([&b"BLPOP"[..], b"a\r\nb", b"", b"0"]).unwrap();
        let words: Vec<&[u8]> = cmd.args().collect();
        assert_eq!(words, vec![&b"BLPOP"[..], b"a\r\nb", b"", b"0"]);
        assert_eq!(cmd.name(), b"BLPOP");
    }

    proptest! {
        #[test]
        fn words_read_back_are_the_words_given(args in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..300), 1..40,
        )) {
            let cmd = Command::from_args(&args).unwrap();
            let words: Vec<Vec<u8>> = cmd.args().map(<[u8]>::to_vec).collect();
            prop_assert_eq!(words, args);
        }

        #[test]
        fn matches_redis_rs_packing(args in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..300), 1..40,
        )) {
            let mut cmd = Cmd::new();
            for arg in &args {
                cmd.arg(arg.as_slice());
            }
            let ours = Command::from_args(&args).unwrap();
            let theirs = cmd.get_packed_command();
            prop_assert_eq!(ours.packed(), theirs.as_slice());
        }
    }
}
