//! Pubsub commands.
//!
//! Written by `tools/command_table.py` from the servers' `COMMAND INFO`
//! (flags, key specs, policies); reply shapes, timeouts and Babushka's own
//! flags are set by hand here, and the script keeps them.

use crate::table::spec::prelude::*;

pub(super) static COMMANDS: &[CommandSpec] = &[
    cmd("PSUBSCRIBE", &[Pubsub, Noscript, Unpaired]),
    cmd("PUBLISH", &[Pubsub, Fast]),
    cmd("PUBSUB", &[]).subcommands(&[
        cmd("PUBSUB CHANNELS", &[Pubsub]),
        cmd("PUBSUB NUMPAT", &[Pubsub]),
        cmd("PUBSUB NUMSUB", &[Pubsub]),
        cmd("PUBSUB SHARDCHANNELS", &[Pubsub]),
        cmd("PUBSUB SHARDNUMSUB", &[Pubsub]),
    ]),
    cmd("PUNSUBSCRIBE", &[Pubsub, Noscript, Unpaired]),
    cmd("SPUBLISH", &[Pubsub, Fast]).keys(&[at(1).flags(&[NotKey])]),
    cmd("SSUBSCRIBE", &[Pubsub, Noscript, Unpaired])
        .keys(&[at(1).range(-1, 1, 0).flags(&[NotKey])]),
    cmd("SUBSCRIBE", &[Pubsub, Noscript, Unpaired]),
    cmd("SUNSUBSCRIBE", &[Pubsub, Noscript, Unpaired])
        .keys(&[at(1).range(-1, 1, 0).flags(&[NotKey])]),
    cmd("UNSUBSCRIBE", &[Pubsub, Noscript, Unpaired]),
];
