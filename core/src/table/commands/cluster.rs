//! Cluster commands.
//!
//! Written by `tools/command_table.py` from the servers' `COMMAND INFO`
//! (flags, key specs, policies); reply shapes, timeouts and Babushka's own
//! flags are set by hand here, and the script keeps them.

use crate::table::spec::prelude::*;

pub(super) static COMMANDS: &[CommandSpec] = &[
    cmd("ASKING", &[Fast]),
    cmd("CLUSTER", &[]).subcommands(&[
        cmd("CLUSTER ADDSLOTS", &[Admin]),
        cmd("CLUSTER ADDSLOTSRANGE", &[Admin]),
        cmd("CLUSTER BUMPEPOCH", &[Admin]),
        cmd("CLUSTER CANCELSLOTMIGRATIONS", &[Admin]),
        cmd("CLUSTER COUNT-FAILURE-REPORTS", &[Admin]),
        cmd("CLUSTER COUNTKEYSINSLOT", &[]),
        cmd("CLUSTER DELSLOTS", &[Admin]),
        cmd("CLUSTER DELSLOTSRANGE", &[Admin]),
        cmd("CLUSTER FAILOVER", &[Admin]),
        cmd("CLUSTER FLUSHSLOT", &[Write, Admin]),
        cmd("CLUSTER FLUSHSLOTS", &[Admin]),
        cmd("CLUSTER FORGET", &[Admin]),
        cmd("CLUSTER GETKEYSINSLOT", &[]),
        cmd("CLUSTER GETSLOTMIGRATIONS", &[Admin]),
        cmd("CLUSTER INFO", &[]),
        cmd("CLUSTER KEYSLOT", &[]),
        cmd("CLUSTER LINKS", &[]),
        cmd("CLUSTER MEET", &[Admin]),
        cmd("CLUSTER MIGRATESLOTS", &[Admin]),
        cmd("CLUSTER MYID", &[]),
        cmd("CLUSTER MYSHARDID", &[]),
        cmd("CLUSTER NODES", &[]),
        cmd("CLUSTER REPLICAS", &[Admin]),
        cmd("CLUSTER REPLICATE", &[Admin]),
        cmd("CLUSTER RESET", &[Admin, Noscript]),
        cmd("CLUSTER SAVECONFIG", &[Admin]),
        cmd("CLUSTER SET-CONFIG-EPOCH", &[Admin]),
        cmd("CLUSTER SETSLOT", &[Admin]),
        cmd("CLUSTER SHARDS", &[]),
        cmd("CLUSTER SLAVES", &[Admin]),
        cmd("CLUSTER SLOT-STATS", &[]).policy(RequestPolicy::AllShards, ResponsePolicy::Default),
        cmd("CLUSTER SLOTS", &[]),
    ]),
    cmd("CLUSTERSCAN", &[Readonly])
        .keys(&[at(1).flags(&[NotKey])])
        .policy(RequestPolicy::Special, ResponsePolicy::Special),
    cmd("READONLY", &[Fast]).reply(Shape::Ok),
    cmd("READWRITE", &[Fast]).reply(Shape::Ok),
];
