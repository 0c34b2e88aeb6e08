//! Connection commands.
//!
//! Written by `tools/command_table.py` from the servers' `COMMAND INFO`
//! (flags, key specs, policies); reply shapes, timeouts and Babushka's own
//! flags are set by hand here, and the script keeps them.

use crate::table::spec::prelude::*;

pub(super) static COMMANDS: &[CommandSpec] = &[
    cmd("AUTH", &[Noscript, Fast, NoAuth]).reply(Shape::Ok),
    cmd("CLIENT", &[]).subcommands(&[
        cmd("CLIENT CACHING", &[Noscript]),
        cmd("CLIENT CAPA", &[Noscript]),
        cmd("CLIENT GETNAME", &[Noscript]).reply(Shape::Str),
        cmd("CLIENT GETREDIR", &[Noscript]),
        cmd("CLIENT ID", &[Noscript]),
        cmd("CLIENT IMPORT-SOURCE", &[Noscript]),
        cmd("CLIENT INFO", &[Noscript]).reply(Shape::ClientInfo),
        cmd("CLIENT KILL", &[Admin, Noscript]).reply(Shape::ClientKill),
        cmd("CLIENT LIST", &[Admin, Noscript]).reply(Shape::ClientList),
        cmd("CLIENT NO-EVICT", &[Admin, Noscript]),
        cmd("CLIENT NO-TOUCH", &[Noscript]),
        cmd("CLIENT PAUSE", &[Admin, Noscript]).reply(Shape::Ok),
        cmd("CLIENT REPLY", &[Noscript, NoMulti, Unpaired]),
        cmd("CLIENT SETINFO", &[Noscript])
            .reply(Shape::Ok)
            .policy(RequestPolicy::AllNodes, ResponsePolicy::AllSucceeded),
        cmd("CLIENT SETNAME", &[Noscript])
            .reply(Shape::Ok)
            .policy(RequestPolicy::AllNodes, ResponsePolicy::AllSucceeded),
        cmd("CLIENT TRACKING", &[Noscript]),
        cmd("CLIENT TRACKINGINFO", &[Noscript]).reply(Shape::TrackingInfo),
        cmd("CLIENT UNBLOCK", &[Admin, Noscript]).reply(Shape::Bool),
        cmd("CLIENT UNPAUSE", &[Admin, Noscript]),
    ]),
    cmd("ECHO", &[Fast, Idempotent]),
    cmd("HELLO", &[Noscript, Fast, NoAuth, Alone]),
    cmd("PING", &[Fast, Idempotent])
        .reply(Shape::Pong)
        .policy(RequestPolicy::AllShards, ResponsePolicy::AllSucceeded),
    cmd("QUIT", &[Noscript, Fast, NoAuth, Alone]).reply(Shape::Ok),
    cmd("RESET", &[Noscript, Fast, NoAuth, Alone]).reply(Shape::Str),
    cmd("SELECT", &[Fast]).reply(Shape::Ok),
];
