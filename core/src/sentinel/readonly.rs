//! What a Sentinel-managed primary's request that met `READONLY` may do:
//! be sent again whole to the new primary, or reach the caller as it is.
//!
//! A node answers `READONLY` to a write once it has been demoted, and runs
//! nothing of that write, so the request can go again when nothing in it
//! ran but commands that change nothing:
//!
//! - one command answered `READONLY`: it did not run;
//! - a transaction refused as a whole (a queued write answered `READONLY`
//!   made `EXEC` abort, or `EXEC` itself was refused `READONLY` because the
//!   node was demoted between `MULTI` and `EXEC`): none of it ran;
//! - a pipeline: its commands run one by one, so its reads ran on the old
//!   node and its writes may have run before the demotion. When every
//!   command that is not a read (`readonly` or Babushka's `idempotent` in
//!   the command table) was answered `READONLY`, nothing in it changed
//!   anything, and the whole pipeline goes again: its reads are run again
//!   on the new primary too, so they see the pipeline's own writes (sending
//!   only the refused writes would leave a `GET` after a `SET` answering
//!   from before the `SET`). When some write ran (the demotion came in the
//!   middle of the pipeline) or a command with effects that are not writes
//!   ran (`PUBLISH` on a replica), sending it again could run those twice:
//!   the `READONLY` replies stay in place and the caller sees them as
//!   `ReadOnlyError` for those commands. The client leaves the demoted node
//!   all the same, so its next request goes to the new primary.

use redis::Value;

use crate::error::{Error, Result};
use crate::request::Batch;
use crate::table::{self, Flag};

const READONLY: &str = "READONLY";

/// What a request answered by a node that may have been demoted does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// No `READONLY` in the outcome: it is the caller's.
    Answered,
    /// Nothing in it ran that changed anything: sent again whole to the new
    /// primary (see the module's doc).
    Resend,
    /// `READONLY` in it, but something else ran: the caller gets the
    /// outcome with the `READONLY` replies in place. The node was demoted
    /// all the same, so the client leaves it.
    Surface,
}

/// The [`Verdict`] for `batch`, answered with `outcome`.
pub(crate) fn verdict(batch: &Batch, outcome: &Result<Value>) -> Verdict {
    match (batch, outcome) {
        (Batch::One(_) | Batch::Transaction(_), Err(err)) if is_readonly(err) => Verdict::Resend,
        (Batch::Pipeline(commands), Ok(Value::Array(replies))) => {
            let mut refused = false;
            let mut ran = false;
            for (cmd, reply) in commands.iter().zip(replies) {
                match reply {
                    Value::ServerError(err) if err.code() == READONLY => refused = true,
                    _ if changes_nothing(cmd) => {}
                    // It ran (or failed for another reason) and may have
                    // changed something.
                    _ => ran = true,
                }
            }
            match (refused, ran) {
                (false, _) => Verdict::Answered,
                (true, false) => Verdict::Resend,
                (true, true) => Verdict::Surface,
            }
        }
        _ => Verdict::Answered,
    }
}

fn is_readonly(err: &Error) -> bool {
    err.code() == Some(READONLY)
}

fn changes_nothing(cmd: &crate::command::Command) -> bool {
    table::lookup(cmd)
        .is_some_and(|spec| spec.flags.has(Flag::Readonly) || spec.flags.has(Flag::Idempotent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Command;
    use crate::error::ErrorKind;

    fn cmd(words: &[&str]) -> Command {
        Command::from_args(words.iter().map(|w| w.as_bytes())).unwrap()
    }

    fn error_reply(text: &str) -> Value {
        redis::parse_redis_value(format!("-{text}\r\n").as_bytes()).unwrap()
    }

    fn readonly() -> Value {
        error_reply("READONLY You can't write against a read only replica.")
    }

    fn readonly_error() -> Error {
        let Value::ServerError(err) = readonly() else {
            panic!("not an error")
        };
        Error::from(redis::RedisError::from(err))
    }

    #[test]
    fn a_single_command_or_a_transaction_refused_goes_again() {
        let one = Batch::One(cmd(&["SET", "k", "v"]));
        assert_eq!(verdict(&one, &Err(readonly_error())), Verdict::Resend);
        assert_eq!(verdict(&one, &Ok(Value::Okay)), Verdict::Answered);
        let other = Error::new(ErrorKind::Response, "ERR something else");
        assert_eq!(verdict(&one, &Err(other)), Verdict::Answered);
        let transaction = Batch::Transaction(vec![cmd(&["SET", "k", "v"]), cmd(&["GET", "k"])]);
        assert_eq!(
            verdict(&transaction, &Err(readonly_error().at_index(0))),
            Verdict::Resend
        );
        assert_eq!(
            verdict(&transaction, &Ok(Value::Array(vec![Value::Okay]))),
            Verdict::Answered
        );
    }

    #[test]
    fn a_pipeline_goes_again_only_when_nothing_but_reads_ran() {
        let pipeline = Batch::Pipeline(vec![
            cmd(&["SET", "k", "v"]),
            cmd(&["GET", "k"]),
            cmd(&["RPUSH", "l", "x"]),
            cmd(&["PING"]),
        ]);
        let replies = |first: Value, third: Value| {
            Ok(Value::Array(vec![
                first,
                Value::Nil,
                third,
                Value::SimpleString("PONG".into()),
            ]))
        };
        // Every write refused: the reads ran, nothing changed.
        assert_eq!(
            verdict(&pipeline, &replies(readonly(), readonly())),
            Verdict::Resend
        );
        // The first write ran before the demotion: never twice.
        assert_eq!(
            verdict(&pipeline, &replies(Value::Okay, readonly())),
            Verdict::Surface
        );
        // Nothing refused: the replies are the caller's.
        assert_eq!(
            verdict(&pipeline, &replies(Value::Okay, Value::Int(1))),
            Verdict::Answered
        );
        // Another error on a write is not READONLY: it may have been refused
        // for another reason on a node that is still primary.
        let wrongtype = error_reply("WRONGTYPE Operation against a key");
        assert_eq!(
            verdict(&pipeline, &replies(readonly(), wrongtype)),
            Verdict::Surface
        );
    }

    #[test]
    fn a_command_with_effects_that_is_no_write_keeps_the_pipeline_from_going_again() {
        let pipeline = Batch::Pipeline(vec![
            cmd(&["SET", "k", "v"]),
            cmd(&["PUBLISH", "channel", "hello"]),
        ]);
        let outcome = Ok(Value::Array(vec![readonly(), Value::Int(1)]));
        assert_eq!(verdict(&pipeline, &outcome), Verdict::Surface);
    }
}
