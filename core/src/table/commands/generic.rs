//! Generic (keyspace) commands.
//!
//! Written by `tools/command_table.py` from the servers' `COMMAND INFO`
//! (flags, key specs, policies); reply shapes, timeouts and Babushka's own
//! flags are set by hand here, and the script keeps them.

use crate::table::spec::prelude::*;

pub(super) static COMMANDS: &[CommandSpec] = &[
    cmd("COPY", &[Write, Denyoom])
        .keys(&[at(1).flags(&[Ro, Access]), at(2).flags(&[Ow, Update])])
        .reply(Shape::Bool),
    cmd("DEL", &[Write])
        .keys(&[at(1).range(-1, 1, 0).flags(&[Rm, Delete])])
        .policy(RequestPolicy::MultiShard, ResponsePolicy::AggSum),
    cmd("DUMP", &[Readonly])
        .keys(&[at(1).flags(&[Ro, Access])])
        .reply(Shape::Bytes),
    cmd("EXISTS", &[Readonly, Fast])
        .keys(&[at(1).range(-1, 1, 0).flags(&[Ro])])
        .policy(RequestPolicy::MultiShard, ResponsePolicy::AggSum),
    cmd("EXPIRE", &[Write, Fast])
        .keys(&[at(1).flags(&[Rw, Update])])
        .reply(Shape::Bool),
    cmd("EXPIREAT", &[Write, Fast])
        .keys(&[at(1).flags(&[Rw, Update])])
        .reply(Shape::Bool),
    cmd("EXPIRETIME", &[Readonly, Fast]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("KEYS", &[Readonly]).policy(RequestPolicy::AllShards, ResponsePolicy::Default),
    cmd("MIGRATE", &[Write]).keys(&[
        at(3).flags(&[Rw, Access, Delete]),
        keyword("KEYS", -2)
            .range(-1, 1, 0)
            .flags(&[Rw, Access, Delete, Incomplete]),
    ]),
    cmd("MOVE", &[Write, Fast])
        .keys(&[at(1).flags(&[Rw, Access, Update])])
        .reply(Shape::Bool),
    cmd("OBJECT", &[]).subcommands(&[
        cmd("OBJECT ENCODING", &[Readonly]).keys(&[at(2).flags(&[Ro])]),
        cmd("OBJECT FREQ", &[Readonly]).keys(&[at(2).flags(&[Ro])]),
        cmd("OBJECT IDLETIME", &[Readonly]).keys(&[at(2).flags(&[Ro])]),
        cmd("OBJECT REFCOUNT", &[Readonly]).keys(&[at(2).flags(&[Ro])]),
    ]),
    cmd("PERSIST", &[Write, Fast])
        .keys(&[at(1).flags(&[Rw, Update])])
        .reply(Shape::Bool),
    cmd("PEXPIRE", &[Write, Fast])
        .keys(&[at(1).flags(&[Rw, Update])])
        .reply(Shape::Bool),
    cmd("PEXPIREAT", &[Write, Fast])
        .keys(&[at(1).flags(&[Rw, Update])])
        .reply(Shape::Bool),
    cmd("PEXPIRETIME", &[Readonly, Fast]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("PTTL", &[Readonly, Fast]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("RANDOMKEY", &[Readonly]).policy(RequestPolicy::AllShards, ResponsePolicy::Special),
    cmd("RENAME", &[Write])
        .keys(&[
            at(1).flags(&[Rw, Access, Delete]),
            at(2).flags(&[Ow, Update]),
        ])
        .reply(Shape::Ok),
    cmd("RENAMENX", &[Write, Fast])
        .keys(&[
            at(1).flags(&[Rw, Access, Delete]),
            at(2).flags(&[Ow, Insert]),
        ])
        .reply(Shape::Bool),
    // Raw: redis-py's restore() answers b"OK", not True.
    cmd("RESTORE", &[Write, Denyoom]).keys(&[at(1).flags(&[Ow, Update])]),
    cmd("SCAN", &[Readonly])
        .reply(Shape::Scan)
        .policy(RequestPolicy::Special, ResponsePolicy::Special),
    cmd("SORT", &[Write, Denyoom]).keys(&[
        at(1).flags(&[Ro, Access]),
        unknown().flags(&[Ro, Access]),
        unknown().flags(&[Ow, Update]),
    ]),
    cmd("SORT_RO", &[Readonly]).keys(&[at(1).flags(&[Ro, Access]), unknown().flags(&[Ro, Access])]),
    cmd("TOUCH", &[Readonly, Fast])
        .keys(&[at(1).range(-1, 1, 0).flags(&[Ro])])
        .policy(RequestPolicy::MultiShard, ResponsePolicy::AggSum),
    cmd("TTL", &[Readonly, Fast]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("TYPE", &[Readonly, Fast]).keys(&[at(1).flags(&[Ro])]),
    cmd("UNLINK", &[Write, Fast])
        .keys(&[at(1).range(-1, 1, 0).flags(&[Rm, Delete])])
        .policy(RequestPolicy::MultiShard, ResponsePolicy::AggSum),
    cmd("WAIT", &[Blocking])
        .timeout(Timeout::AtMillis(2))
        .policy(RequestPolicy::AllShards, ResponsePolicy::AggMin),
    cmd("WAITAOF", &[Blocking])
        .timeout(Timeout::AtMillis(3))
        .policy(RequestPolicy::AllShards, ResponsePolicy::AggMin),
];
