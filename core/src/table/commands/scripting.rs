//! Scripting commands.
//!
//! Written by `tools/command_table.py` from the servers' `COMMAND INFO`
//! (flags, key specs, policies); reply shapes, timeouts and Babushka's own
//! flags are set by hand here, and the script keeps them.

use crate::table::spec::prelude::*;

pub(super) static COMMANDS: &[CommandSpec] = &[
    cmd("EVAL", &[Noscript, NoMandatoryKeys])
        .keys(&[at(2).keynum(0, 1, 1).flags(&[Rw, Access, Update])]),
    cmd("EVALSHA", &[Noscript, NoMandatoryKeys])
        .keys(&[at(2).keynum(0, 1, 1).flags(&[Rw, Access, Update])]),
    cmd("EVALSHA_RO", &[Readonly, Noscript, NoMandatoryKeys])
        .keys(&[at(2).keynum(0, 1, 1).flags(&[Ro, Access])]),
    cmd("EVAL_RO", &[Readonly, Noscript, NoMandatoryKeys])
        .keys(&[at(2).keynum(0, 1, 1).flags(&[Ro, Access])]),
    cmd("FCALL", &[Noscript, NoMandatoryKeys])
        .keys(&[at(2).keynum(0, 1, 1).flags(&[Rw, Access, Update])]),
    cmd("FCALL_RO", &[Readonly, Noscript, NoMandatoryKeys])
        .keys(&[at(2).keynum(0, 1, 1).flags(&[Ro, Access])]),
    cmd("FUNCTION", &[]).subcommands(&[
        cmd("FUNCTION DELETE", &[Write, Noscript])
            .reply(Shape::Ok)
            .policy(RequestPolicy::AllShards, ResponsePolicy::AllSucceeded),
        cmd("FUNCTION DUMP", &[Noscript]).reply(Shape::Bytes),
        cmd("FUNCTION FLUSH", &[Write, Noscript])
            .reply(Shape::Ok)
            .policy(RequestPolicy::AllShards, ResponsePolicy::AllSucceeded),
        cmd("FUNCTION KILL", &[Noscript])
            .policy(RequestPolicy::AllShards, ResponsePolicy::OneSucceeded),
        cmd("FUNCTION LIST", &[Noscript]),
        cmd("FUNCTION LOAD", &[Write, Denyoom, Noscript])
            .policy(RequestPolicy::AllShards, ResponsePolicy::AllSucceeded),
        cmd("FUNCTION RESTORE", &[Write, Denyoom, Noscript])
            .reply(Shape::Ok)
            .policy(RequestPolicy::AllShards, ResponsePolicy::AllSucceeded),
        cmd("FUNCTION STATS", &[Noscript])
            .policy(RequestPolicy::AllShards, ResponsePolicy::Special),
    ]),
    cmd("SCRIPT", &[]).subcommands(&[
        cmd("SCRIPT DEBUG", &[Noscript]),
        cmd("SCRIPT EXISTS", &[Noscript])
            .reply(Shape::BoolList)
            .policy(RequestPolicy::AllShards, ResponsePolicy::AggLogicalAnd),
        cmd("SCRIPT FLUSH", &[Noscript])
            .reply(Shape::Ok)
            .policy(RequestPolicy::AllNodes, ResponsePolicy::AllSucceeded),
        cmd("SCRIPT KILL", &[Noscript])
            .reply(Shape::Ok)
            .policy(RequestPolicy::AllShards, ResponsePolicy::OneSucceeded),
        cmd("SCRIPT LOAD", &[Noscript])
            .policy(RequestPolicy::AllNodes, ResponsePolicy::AllSucceeded),
        cmd("SCRIPT SHOW", &[Noscript]),
    ]),
];
