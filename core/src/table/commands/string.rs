//! String commands.
//!
//! Written by `tools/command_table.py` from the servers' `COMMAND INFO`
//! (flags, key specs, policies); reply shapes, timeouts and Babushka's own
//! flags are set by hand here, and the script keeps them.

use crate::table::spec::prelude::*;

pub(super) static COMMANDS: &[CommandSpec] = &[
    cmd("APPEND", &[Write, Denyoom, Fast]).keys(&[at(1).flags(&[Rw, Insert])]),
    cmd("DECR", &[Write, Denyoom, Fast]).keys(&[at(1).flags(&[Rw, Access, Update])]),
    cmd("DECRBY", &[Write, Denyoom, Fast]).keys(&[at(1).flags(&[Rw, Access, Update])]),
    cmd("DELIFEQ", &[Write, Fast]).keys(&[at(1).flags(&[Rm, Delete])]),
    cmd("GET", &[Readonly, Fast]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("GETDEL", &[Write, Fast]).keys(&[at(1).flags(&[Rw, Access, Delete])]),
    cmd("GETEX", &[Write, Fast]).keys(&[at(1).flags(&[Rw, Access, Update])]),
    cmd("GETRANGE", &[Readonly]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("GETSET", &[Write, Denyoom, Fast]).keys(&[at(1).flags(&[Rw, Access, Update])]),
    cmd("INCR", &[Write, Denyoom, Fast]).keys(&[at(1).flags(&[Rw, Access, Update])]),
    cmd("INCRBY", &[Write, Denyoom, Fast]).keys(&[at(1).flags(&[Rw, Access, Update])]),
    cmd("INCRBYFLOAT", &[Write, Denyoom, Fast])
        .keys(&[at(1).flags(&[Rw, Access, Update])])
        .reply(Shape::Float),
    // Newer than both test servers.
    cmd("INCREX", &[Write, Denyoom, Fast]).keys(&[at(1).flags(&[Rw, Access, Update])]),
    cmd("LCS", &[Readonly])
        .keys(&[at(1).range(1, 1, 0).flags(&[Ro, Access])])
        .reply(Shape::Flat),
    cmd("MGET", &[Readonly, Fast])
        .keys(&[at(1).range(-1, 1, 0).flags(&[Ro, Access])])
        .policy(RequestPolicy::MultiShard, ResponsePolicy::Default),
    cmd("MSET", &[Write, Denyoom])
        .keys(&[at(1).range(-1, 2, 0).flags(&[Ow, Update])])
        .reply(Shape::Ok)
        .policy(RequestPolicy::MultiShard, ResponsePolicy::AllSucceeded),
    cmd("MSETEX", &[Write, Denyoom])
        .keys(&[at(1).keynum(0, 1, 2).flags(&[Ow, Update])])
        .policy(RequestPolicy::MultiShard, ResponsePolicy::AllSucceeded),
    cmd("MSETNX", &[Write, Denyoom])
        .keys(&[at(1).range(-1, 2, 0).flags(&[Ow, Insert])])
        .reply(Shape::Bool),
    cmd("PSETEX", &[Write, Denyoom])
        .keys(&[at(1).flags(&[Ow, Update])])
        .reply(Shape::Ok),
    cmd("SET", &[Write, Denyoom])
        .keys(&[at(1).flags(&[Rw, Access, Update, VariableFlags])])
        .reply(Shape::Ok),
    cmd("SETEX", &[Write, Denyoom])
        .keys(&[at(1).flags(&[Ow, Update])])
        .reply(Shape::Ok),
    cmd("SETNX", &[Write, Denyoom, Fast])
        .keys(&[at(1).flags(&[Ow, Insert])])
        .reply(Shape::Bool),
    cmd("SETRANGE", &[Write, Denyoom]).keys(&[at(1).flags(&[Rw, Update])]),
    cmd("STRLEN", &[Readonly, Fast]).keys(&[at(1).flags(&[Ro])]),
    cmd("SUBSTR", &[Readonly]).keys(&[at(1).flags(&[Ro, Access])]),
];
