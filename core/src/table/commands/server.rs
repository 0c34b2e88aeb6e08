//! Server commands.
//!
//! Written by `tools/command_table.py` from the servers' `COMMAND INFO`
//! (flags, key specs, policies); reply shapes, timeouts and Babushka's own
//! flags are set by hand here, and the script keeps them.

use crate::table::spec::prelude::*;

pub(super) static COMMANDS: &[CommandSpec] = &[
    cmd("ACL", &[]).subcommands(&[
        cmd("ACL CAT", &[Noscript]),
        cmd("ACL DELUSER", &[Admin, Noscript])
            .policy(RequestPolicy::AllNodes, ResponsePolicy::AllSucceeded),
        cmd("ACL DRYRUN", &[Admin, Noscript]),
        cmd("ACL GENPASS", &[Noscript]),
        cmd("ACL GETUSER", &[Admin, Noscript]),
        cmd("ACL LIST", &[Admin, Noscript]),
        cmd("ACL LOAD", &[Admin, Noscript]),
        cmd("ACL LOG", &[Admin, Noscript]),
        cmd("ACL SAVE", &[Admin, Noscript])
            .policy(RequestPolicy::AllNodes, ResponsePolicy::AllSucceeded),
        cmd("ACL SETUSER", &[Admin, Noscript])
            .policy(RequestPolicy::AllNodes, ResponsePolicy::AllSucceeded),
        cmd("ACL USERS", &[Admin, Noscript]),
        cmd("ACL WHOAMI", &[Noscript]),
    ]),
    cmd("BGREWRITEAOF", &[Admin, Noscript]),
    cmd("BGSAVE", &[Admin, Noscript]),
    cmd("COMMAND", &[]).subcommands(&[
        cmd("COMMAND COUNT", &[]),
        cmd("COMMAND DOCS", &[]),
        cmd("COMMAND GETKEYS", &[]),
        cmd("COMMAND GETKEYSANDFLAGS", &[]),
        cmd("COMMAND INFO", &[]),
        cmd("COMMAND LIST", &[]),
    ]),
    cmd("COMMANDLOG", &[]).subcommands(&[
        cmd("COMMANDLOG GET", &[Admin]).policy(RequestPolicy::AllNodes, ResponsePolicy::Default),
        cmd("COMMANDLOG LEN", &[Admin]).policy(RequestPolicy::AllNodes, ResponsePolicy::AggSum),
        cmd("COMMANDLOG RESET", &[Admin])
            .policy(RequestPolicy::AllNodes, ResponsePolicy::AllSucceeded),
    ]),
    cmd("CONFIG", &[]).subcommands(&[
        cmd("CONFIG GET", &[Admin, Noscript]).reply(Shape::Pairs),
        cmd("CONFIG RESETSTAT", &[Admin, Noscript])
            .policy(RequestPolicy::AllNodes, ResponsePolicy::AllSucceeded),
        cmd("CONFIG REWRITE", &[Admin, Noscript])
            .policy(RequestPolicy::AllNodes, ResponsePolicy::AllSucceeded),
        cmd("CONFIG SET", &[Admin, Noscript])
            .reply(Shape::Ok)
            .policy(RequestPolicy::AllNodes, ResponsePolicy::AllSucceeded),
    ]),
    cmd("DBSIZE", &[Readonly, Fast]).policy(RequestPolicy::AllShards, ResponsePolicy::AggSum),
    cmd("DEBUG", &[Admin, Noscript]),
    cmd("FAILOVER", &[Admin, Noscript]),
    cmd("FLUSHALL", &[Write])
        .reply(Shape::Ok)
        .policy(RequestPolicy::AllShards, ResponsePolicy::AllSucceeded),
    cmd("FLUSHDB", &[Write])
        .reply(Shape::Ok)
        .policy(RequestPolicy::AllShards, ResponsePolicy::AllSucceeded),
    cmd("INFO", &[]).policy(RequestPolicy::AllShards, ResponsePolicy::Special),
    cmd("LASTSAVE", &[Fast]),
    cmd("LATENCY", &[]).subcommands(&[
        cmd("LATENCY DOCTOR", &[Admin, Noscript])
            .policy(RequestPolicy::AllNodes, ResponsePolicy::Special),
        cmd("LATENCY GRAPH", &[Admin, Noscript])
            .policy(RequestPolicy::AllNodes, ResponsePolicy::Special),
        cmd("LATENCY HISTOGRAM", &[Admin, Noscript])
            .policy(RequestPolicy::AllNodes, ResponsePolicy::Special),
        cmd("LATENCY HISTORY", &[Admin, Noscript])
            .policy(RequestPolicy::AllNodes, ResponsePolicy::Special),
        cmd("LATENCY LATEST", &[Admin, Noscript])
            .policy(RequestPolicy::AllNodes, ResponsePolicy::Special),
        cmd("LATENCY RESET", &[Admin, Noscript])
            .policy(RequestPolicy::AllNodes, ResponsePolicy::AggSum),
    ]),
    cmd("LOLWUT", &[Readonly, Fast]),
    cmd("MEMORY", &[]).subcommands(&[
        cmd("MEMORY DOCTOR", &[]).policy(RequestPolicy::AllShards, ResponsePolicy::Special),
        cmd("MEMORY MALLOC-STATS", &[]).policy(RequestPolicy::AllShards, ResponsePolicy::Special),
        cmd("MEMORY PURGE", &[]).policy(RequestPolicy::AllShards, ResponsePolicy::AllSucceeded),
        cmd("MEMORY STATS", &[]).policy(RequestPolicy::AllShards, ResponsePolicy::Special),
        cmd("MEMORY USAGE", &[Readonly]).keys(&[at(2).flags(&[Ro])]),
    ]),
    cmd("MODULE", &[]).subcommands(&[
        cmd("MODULE LIST", &[Admin, Noscript]),
        cmd("MODULE LOAD", &[Admin, Noscript]),
        cmd("MODULE LOADEX", &[Admin, Noscript]),
        cmd("MODULE UNLOAD", &[Admin, Noscript]),
    ]),
    cmd("MONITOR", &[Admin, Noscript, Unpaired]),
    cmd("PSYNC", &[Admin, Noscript, NoMulti, Unpaired]),
    cmd("REPLICAOF", &[Admin, Noscript]),
    cmd("ROLE", &[Noscript, Fast]),
    cmd("SAVE", &[Admin, Noscript, NoMulti]),
    cmd("SHUTDOWN", &[Admin, Noscript, NoMulti]),
    cmd("SLAVEOF", &[Admin, Noscript]),
    cmd("SLOWLOG", &[]).subcommands(&[
        cmd("SLOWLOG GET", &[Admin]).policy(RequestPolicy::AllNodes, ResponsePolicy::Default),
        cmd("SLOWLOG LEN", &[Admin]).policy(RequestPolicy::AllNodes, ResponsePolicy::AggSum),
        cmd("SLOWLOG RESET", &[Admin])
            .policy(RequestPolicy::AllNodes, ResponsePolicy::AllSucceeded),
    ]),
    cmd("SWAPDB", &[Write, Fast]),
    cmd("SYNC", &[Admin, Noscript, NoMulti, Unpaired]),
    cmd("TIME", &[Fast]),
];
