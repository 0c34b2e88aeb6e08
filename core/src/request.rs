//! The one request type every feature and every transport goes through.
//!
//! A [`Request`] is one command or a batch of them ([`Batch`]), and where it
//! goes ([`Route`]). [`crate::Client::submit`] turns it into bytes on a
//! connection and an entry in that connection's queue of waiting replies; the
//! outcome reaches the [`Sink`] the caller gave, on whichever thread read the
//! reply. Sync callers wait on the same sink as async ones.
//!
//! What a sink receives:
//! - [`Batch::One`]: the command's reply, or its error reply as `Err`.
//! - [`Batch::Pipeline`]: `Value::Array` of every command's reply, an error
//!   reply left in place as `Value::ServerError`.
//! - [`Batch::Transaction`]: `Value::Array` of EXEC's results (errors in place);
//!   `Err` of kind [`ErrorKind::Watch`] when a watched key changed, or the
//!   first queueing error (its [`Error::index`] set) when the server discarded
//!   the transaction.

use redis::Value;

use crate::command::Command;
use crate::connection::Lease;
use crate::error::{Error, ErrorKind, Result};
use crate::table::{self, Blocking};

/// What receives a request's outcome. Called exactly once: a request that is
/// dropped unanswered (its connection closed, the runtime shut down) is
/// failed, never forgotten.
pub type Sink = Box<dyn FnOnce(Result<Value>) + Send>;

/// Gives `sink` its outcome. A sink that panics (a bug in whoever made it)
/// is stopped here, so the connection whose reader or writer called it, and
/// the other requests waiting there, carry on. The request itself still
/// ends: every transport's sink fails its request when it is dropped without
/// having delivered, as it is while this panic unwinds.
pub(crate) fn complete(sink: Sink, outcome: Result<Value>) {
    // Unwind safety: nothing the closure touched is looked at again.
    let delivered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || sink(outcome)));
    // The panic was reported by the panic hook as it happened.
    drop(delivered);
}

/// One command, or several sent back to back as one request.
#[derive(Debug, Clone)]
pub enum Batch {
    One(Command),
    /// Commands sent together; each gets its own reply.
    Pipeline(Vec<Command>),
    /// Commands wrapped in `MULTI` … `EXEC`, contiguous on the connection.
    Transaction(Vec<Command>),
}

impl Batch {
    /// How many replies the server sends for it.
    pub(crate) fn reply_count(&self) -> usize {
        match self {
            Self::One(_) => 1,
            Self::Pipeline(commands) => commands.len(),
            Self::Transaction(commands) => commands.len() + 2,
        }
    }

    /// How the request blocks its connection, by the command table: a
    /// single command as its entry says, a pipeline by its blocking commands
    /// (their timeouts add up; one that waits for ever makes the pipeline
    /// wait for ever). Inside `MULTI` nothing blocks.
    pub(crate) fn blocking(&self) -> Option<Blocking> {
        match self {
            Self::One(cmd) => table::blocking(cmd),
            Self::Transaction(_) => None,
            Self::Pipeline(commands) => {
                commands
                    .iter()
                    .filter_map(table::blocking)
                    .reduce(|a, b| Blocking {
                        dedicated: a.dedicated || b.dedicated,
                        at_most: a.at_most.zip(b.at_most).map(|(a, b)| a + b),
                    })
            }
        }
    }

    /// Appends the bytes the server reads for this request to `out`.
    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Self::One(cmd) => out.extend_from_slice(cmd.packed()),
            Self::Pipeline(commands) => {
                for cmd in commands {
                    out.extend_from_slice(cmd.packed());
                }
            }
            Self::Transaction(commands) => {
                out.extend_from_slice(b"*1\r\n$5\r\nMULTI\r\n");
                for cmd in commands {
                    out.extend_from_slice(cmd.packed());
                }
                out.extend_from_slice(b"*1\r\n$4\r\nEXEC\r\n");
            }
        }
    }
}

/// Where a request goes.
#[derive(Clone, Default)]
pub enum Route {
    /// The client's shared, pipelined connection; a command that blocks the
    /// connection (`BLPOP`, `XREAD BLOCK`, …: [`crate::table::Flag::Dedicated`])
    /// is sent on a dedicated connection leased for it instead.
    #[default]
    Auto,
    /// A connection the caller holds across requests (a `WATCH` session).
    Lease(Lease),
    /// A cluster client's node, named `host:port` (`target_nodes=`),
    /// whatever the command's keys say.
    Node(crate::cluster::NodeName),
}

/// A unit of work for the core.
#[derive(Clone)]
pub struct Request {
    pub batch: Batch,
    pub route: Route,
}

impl Request {
    pub fn one(cmd: Command) -> Self {
        Self {
            batch: Batch::One(cmd),
            route: Route::Auto,
        }
    }
}

impl From<Command> for Request {
    fn from(cmd: Command) -> Self {
        Self::one(cmd)
    }
}

/// Turns the replies of a batch into the outcome its sink receives.
pub(crate) fn finish_batch(batch_kind: BatchKind, mut replies: Vec<Value>) -> Result<Value> {
    match batch_kind {
        BatchKind::Pipeline => Ok(Value::Array(replies)),
        BatchKind::Transaction => {
            let exec = replies.pop().unwrap_or(Value::Nil);
            // replies[0] answers MULTI, the rest are the QUEUED acknowledgements:
            // keep the errors among them, with the position of their command
            // (None for MULTI itself).
            let queue_errors: Vec<(Option<usize>, redis::ServerError)> = replies
                .into_iter()
                .enumerate()
                .filter_map(|(at, reply)| match reply {
                    Value::ServerError(err) => Some((at.checked_sub(1), err)),
                    _ => None,
                })
                .collect();
            match exec {
                // Queueing errors that did not abort (a nested MULTI) stand in
                // their command's place, as redis-py puts them.
                Value::Array(mut results) => {
                    for (at, err) in queue_errors {
                        if let Some(at) = at {
                            results.insert(at.min(results.len()), Value::ServerError(err));
                        }
                    }
                    Ok(Value::Array(results))
                }
                Value::Nil => Err(Error::new(ErrorKind::Watch, "Watched variable changed.")),
                Value::ServerError(abort) => Err(match queue_errors.into_iter().next() {
                    // MULTI itself failed (nested MULTI): report that.
                    Some((None, err)) => Error::from(redis::RedisError::from(err)),
                    // As redis-py does: the command that made the server
                    // discard the transaction, with its position.
                    Some((Some(at), err)) => Error::from(redis::RedisError::from(err)).at_index(at),
                    None => Error::from(redis::RedisError::from(abort)),
                }),
                other => Err(Error::new(
                    ErrorKind::Protocol,
                    format!("EXEC answered with {other:?}"),
                )),
            }
        }
    }
}

/// The two kinds of batch, as the reply collector needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BatchKind {
    Pipeline,
    Transaction,
}
