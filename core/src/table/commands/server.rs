//! Server commands.
//!
//! Written by `tools/command_table.py` from the servers' `COMMAND INFO`
//! (flags, key specs, policies); reply shapes, timeouts and Babushka's own
//! flags are set by hand here, and the script keeps them.

use crate::table::spec::prelude::*;

pub(super) static COMMANDS: &[CommandSpec] = &[
    cmd("ACL", &[]).subcommands(&[
        cmd("ACL CAT", &[Noscript]).reply(Shape::StrList),
        cmd("ACL DELUSER", &[Admin, Noscript])
            .policy(RequestPolicy::AllNodes, ResponsePolicy::AllSucceeded),
        cmd("ACL DRYRUN", &[Admin, Noscript]),
        cmd("ACL GENPASS", &[Noscript]).reply(Shape::Str),
        cmd("ACL GETUSER", &[Admin, Noscript]).reply(Shape::AclGetuser),
        cmd("ACL HELP", &[]).reply(Shape::StrList),
        cmd("ACL LIST", &[Admin, Noscript]).reply(Shape::StrList),
        cmd("ACL LOAD", &[Admin, Noscript]).reply(Shape::Ok),
        cmd("ACL LOG", &[Admin, Noscript]).reply(Shape::AclLog),
        cmd("ACL SAVE", &[Admin, Noscript])
            .reply(Shape::Ok)
            .policy(RequestPolicy::AllNodes, ResponsePolicy::AllSucceeded),
        cmd("ACL SETUSER", &[Admin, Noscript])
            .reply(Shape::Ok)
            .policy(RequestPolicy::AllNodes, ResponsePolicy::AllSucceeded),
        cmd("ACL USERS", &[Admin, Noscript]).reply(Shape::StrList),
        cmd("ACL WHOAMI", &[Noscript]).reply(Shape::Str),
    ]),
    cmd("BGREWRITEAOF", &[Admin, Noscript]).reply(Shape::True),
    cmd("BGSAVE", &[Admin, Noscript]).reply(Shape::True),
    cmd("COMMAND", &[]).reply(Shape::CommandInfo).subcommands(&[
        cmd("COMMAND COUNT", &[]),
        cmd("COMMAND DOCS", &[]),
        cmd("COMMAND GETKEYS", &[]).reply(Shape::StrList),
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
        cmd("CONFIG GET", &[Admin, Noscript]).reply(Shape::ConfigGet),
        cmd("CONFIG RESETSTAT", &[Admin, Noscript])
            .reply(Shape::Ok)
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
    cmd("INFO", &[])
        .reply(Shape::Info)
        .policy(RequestPolicy::AllShards, ResponsePolicy::Special),
    cmd("LASTSAVE", &[Fast]).reply(Shape::Datetime),
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
        cmd("MEMORY PURGE", &[])
            .reply(Shape::Ok)
            .policy(RequestPolicy::AllShards, ResponsePolicy::AllSucceeded),
        cmd("MEMORY STATS", &[])
            .reply(Shape::MemoryStats)
            .policy(RequestPolicy::AllShards, ResponsePolicy::Special),
        cmd("MEMORY USAGE", &[Readonly]).keys(&[at(2).flags(&[Ro])]),
    ]),
    cmd("MODULE", &[]).subcommands(&[
        cmd("MODULE LIST", &[Admin, Noscript]).reply(Shape::PairsList),
        cmd("MODULE LOAD", &[Admin, Noscript]).reply(Shape::Bool),
        cmd("MODULE LOADEX", &[Admin, Noscript]),
        cmd("MODULE UNLOAD", &[Admin, Noscript]).reply(Shape::Bool),
    ]),
    cmd("MONITOR", &[Admin, Noscript, Unpaired]),
    cmd("PSYNC", &[Admin, Noscript, NoMulti, Unpaired]),
    cmd("REPLICAOF", &[Admin, Noscript]),
    cmd("ROLE", &[Noscript, Fast]),
    cmd("SAVE", &[Admin, Noscript, NoMulti]).reply(Shape::Ok),
    cmd("SHUTDOWN", &[Admin, Noscript, NoMulti]).reply(Shape::Ok),
    cmd("SLAVEOF", &[Admin, Noscript]).reply(Shape::Ok),
    cmd("SLOWLOG", &[]).subcommands(&[
        cmd("SLOWLOG GET", &[Admin])
            .reply(Shape::SlowlogGet)
            .policy(RequestPolicy::AllNodes, ResponsePolicy::Default),
        cmd("SLOWLOG LEN", &[Admin]).policy(RequestPolicy::AllNodes, ResponsePolicy::AggSum),
        cmd("SLOWLOG RESET", &[Admin])
            .reply(Shape::Ok)
            .policy(RequestPolicy::AllNodes, ResponsePolicy::AllSucceeded),
    ]),
    cmd("SWAPDB", &[Write, Fast]).reply(Shape::Ok),
    cmd("SYNC", &[Admin, Noscript, NoMulti, Unpaired]),
    cmd("TIME", &[Fast]).reply(Shape::Time),
];
