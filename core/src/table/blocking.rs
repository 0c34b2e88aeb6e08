//! How long a blocking command may hold its connection, read from the
//! command itself at the place its table entry names ([`Timeout`]).
//!
//! A blocking command (`BLPOP k 5`) holds its connection until it returns, so
//! on the shared, pipelined connection it would hold up every other request of
//! the client: such commands go to a dedicated connection. Its own timeout is
//! added to the request's deadline, so `blpop(k, timeout=2)` with
//! `socket_timeout=0.5` waits its 2 s instead of failing after 0.5 s.

use std::time::Duration;

use super::spec::{CommandSpec, Flag, Timeout};
use crate::command::Command;

/// How a command blocks its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocking {
    /// Whether it must run on a connection of its own. `WAIT`/`WAITAOF` wait
    /// for the writes of the connection they are sent on, so they stay.
    pub dedicated: bool,
    /// How long the server may hold the reply back; `None` for ever.
    pub at_most: Option<Duration>,
}

/// How `cmd`, whose entry is `spec`, blocks its connection; `None` when it
/// answers at once.
pub(super) fn blocking(spec: &CommandSpec, cmd: &Command) -> Option<Blocking> {
    let timeout = spec.timeout?;
    let wait = match timeout {
        Timeout::LastSeconds => cmd.args().last().and_then(seconds),
        Timeout::FirstSeconds => cmd.args().nth(1).and_then(seconds),
        Timeout::AtMillis(at) => cmd.args().nth(usize::from(at)).and_then(millis),
        Timeout::AtSeconds(at) => cmd.args().nth(usize::from(at)).and_then(seconds),
        Timeout::BlockOption => {
            let mut words = cmd.args().skip(1);
            let mut block = None;
            while let Some(word) = words.next() {
                if word.eq_ignore_ascii_case(b"STREAMS") {
                    break;
                }
                if word.eq_ignore_ascii_case(b"BLOCK") {
                    block = Some(words.next().and_then(millis));
                    break;
                }
            }
            // No BLOCK: an XREAD that answers at once.
            block?
        }
    };
    Some(Blocking {
        dedicated: spec.has(Flag::Dedicated),
        at_most: match wait {
            Some(Wait::Forever) => None,
            Some(Wait::For(limit)) => Some(limit),
            // Not a number: the server refuses it at once.
            None => Some(Duration::ZERO),
        },
    })
}

/// A blocking command's own timeout.
enum Wait {
    /// A timeout of 0.
    Forever,
    For(Duration),
}

/// A timeout in seconds (a float); `None` when it is not a number.
fn seconds(word: &[u8]) -> Option<Wait> {
    let value: f64 = std::str::from_utf8(word).ok()?.parse().ok()?;
    if value == 0.0 {
        return Some(Wait::Forever);
    }
    Duration::try_from_secs_f64(value).ok().map(Wait::For)
}

/// A timeout in whole milliseconds; `None` when it is not a number.
fn millis(word: &[u8]) -> Option<Wait> {
    let value: u64 = std::str::from_utf8(word).ok()?.parse().ok()?;
    Some(if value == 0 {
        Wait::Forever
    } else {
        Wait::For(Duration::from_millis(value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(words: &[&str]) -> Option<Blocking> {
        crate::table::blocking(&Command::from_args(words).unwrap())
    }

    #[allow(clippy::unnecessary_wraps)] // compared with `check`'s result
    fn dedicated(at_most: Option<Duration>) -> Option<Blocking> {
        Some(Blocking {
            dedicated: true,
            at_most,
        })
    }

    #[test]
    fn ordinary_commands_do_not_block() {
        assert_eq!(check(&["GET", "k"]), None);
        assert_eq!(check(&["BITCOUNT", "k"]), None);
        assert_eq!(check(&["NOSUCHCOMMAND", "k"]), None);
        assert_eq!(check(&["XREAD", "COUNT", "1", "STREAMS", "s", "0"]), None);
        // A key named BLOCK is not the option.
        assert_eq!(check(&["XREAD", "STREAMS", "BLOCK", "0"]), None);
    }

    #[test]
    fn reads_the_timeout_where_each_command_has_it() {
        let half = Some(Duration::from_millis(500));
        assert_eq!(check(&["blpop", "a", "b", "0.5"]), dedicated(half));
        assert_eq!(check(&["BRPOP", "a", "0"]), dedicated(None));
        assert_eq!(
            check(&["BLMOVE", "a", "b", "LEFT", "RIGHT", "0.5"]),
            dedicated(half)
        );
        assert_eq!(check(&["BLMPOP", "0.5", "1", "a", "LEFT"]), dedicated(half));
        assert_eq!(check(&["BZMPOP", "0", "1", "a", "MIN"]), dedicated(None));
        assert_eq!(
            check(&[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "BLOCK",
                "500",
                "STREAMS",
                "s",
                ">"
            ]),
            dedicated(half)
        );
        assert_eq!(
            check(&["WAIT", "1", "500"]),
            Some(Blocking {
                dedicated: false,
                at_most: half
            })
        );
        assert_eq!(
            check(&["waitaof", "1", "0", "500"]),
            Some(Blocking {
                dedicated: false,
                at_most: half
            })
        );
    }

    #[test]
    fn a_bad_timeout_adds_nothing_to_the_deadline() {
        assert_eq!(
            check(&["BLPOP", "a", "soon"]),
            dedicated(Some(Duration::ZERO))
        );
    }
}
