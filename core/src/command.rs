//! Building commands from argument bytes.
//!
//! Transports hand the core each argument already as bytes (the binding
//! encodes Python values; the socket listener takes them from frames). The
//! core only assembles them into a RESP command.

use redis::Cmd;

/// Builds a command from its name and arguments, each a byte string.
pub fn build<I, A>(args: I) -> Cmd
where
    I: IntoIterator<Item = A>,
    A: AsRef<[u8]>,
{
    let mut cmd = Cmd::new();
    for arg in args {
        cmd.arg(arg.as_ref());
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_binary_arguments_verbatim() {
        let cmd = build([&b"SET"[..], b"k", b"\x00\r\n"]);
        assert_eq!(
            cmd.get_packed_command(),
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n\x00\r\n\r\n".to_vec()
        );
    }
}
