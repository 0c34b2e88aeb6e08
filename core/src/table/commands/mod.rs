//! The entries, one file per command group (the servers' `COMMAND DOCS`
//! groups). `tools/command_table.py` writes the files from the servers'
//! `COMMAND INFO` and keeps what was set by hand (reply shapes, timeouts,
//! Babushka's flags); this file, the group list and [`ABSENT`], is written
//! by hand.

mod bitmap;
mod cluster;
mod connection;
mod generic;
mod geo;
mod hash;
mod hyperloglog;
mod list;
mod pubsub;
mod scripting;
mod server;
mod set;
mod sorted_set;
mod stream;
mod string;
mod transactions;

use super::spec::CommandSpec;

/// Every group's entries (each sorted by name).
pub(super) static GROUPS: &[&[CommandSpec]] = &[
    bitmap::COMMANDS,
    cluster::COMMANDS,
    connection::COMMANDS,
    generic::COMMANDS,
    geo::COMMANDS,
    hash::COMMANDS,
    hyperloglog::COMMANDS,
    list::COMMANDS,
    pubsub::COMMANDS,
    scripting::COMMANDS,
    server::COMMANDS,
    set::COMMANDS,
    sorted_set::COMMANDS,
    stream::COMMANDS,
    string::COMMANDS,
    transactions::COMMANDS,
];

/// A command of Redis 7.0 or Valkey 9.1 that the table leaves out on purpose.
/// Sent through `execute_command` it still works, as an unknown command
/// does: on the shared connection, its reply raw, its keys unknown.
#[derive(Debug, Clone, Copy)]
pub struct Absent {
    pub name: &'static str,
    pub reason: &'static str,
}

const SERVER_TO_SERVER: &str =
    "sent between servers (replication, migration), never by a client: the servers mark it syscmd";
const SELF_TEST: &str = "a server's self-test, for its developers: the servers mark it syscmd";
const HELP: &str =
    "help text: its container's entry stands for it (no keys, a raw reply, nothing special)";

pub static ABSENT: &[Absent] = &[
    Absent {
        name: "CLUSTER SYNCSLOTS",
        reason: SERVER_TO_SERVER,
    },
    Absent {
        name: "PFDEBUG",
        reason: SELF_TEST,
    },
    Absent {
        name: "PFSELFTEST",
        reason: SELF_TEST,
    },
    Absent {
        name: "REPLCONF",
        reason: SERVER_TO_SERVER,
    },
    Absent {
        name: "RESTORE-ASKING",
        reason: SERVER_TO_SERVER,
    },
    Absent {
        name: "CLIENT HELP",
        reason: HELP,
    },
    Absent {
        name: "CLUSTER HELP",
        reason: HELP,
    },
    Absent {
        name: "COMMAND HELP",
        reason: HELP,
    },
    Absent {
        name: "COMMANDLOG HELP",
        reason: HELP,
    },
    Absent {
        name: "CONFIG HELP",
        reason: HELP,
    },
    Absent {
        name: "FUNCTION HELP",
        reason: HELP,
    },
    Absent {
        name: "LATENCY HELP",
        reason: HELP,
    },
    Absent {
        name: "MEMORY HELP",
        reason: HELP,
    },
    Absent {
        name: "MODULE HELP",
        reason: HELP,
    },
    Absent {
        name: "OBJECT HELP",
        reason: HELP,
    },
    Absent {
        name: "PUBSUB HELP",
        reason: HELP,
    },
    Absent {
        name: "SCRIPT HELP",
        reason: HELP,
    },
    Absent {
        name: "SLOWLOG HELP",
        reason: HELP,
    },
    Absent {
        name: "XGROUP HELP",
        reason: HELP,
    },
    Absent {
        name: "XINFO HELP",
        reason: HELP,
    },
];
