//! Set commands.
//!
//! Written by `tools/command_table.py` from the servers' `COMMAND INFO`
//! (flags, key specs, policies); reply shapes, timeouts and Babushka's own
//! flags are set by hand here, and the script keeps them.

use crate::table::spec::prelude::*;

pub(super) static COMMANDS: &[CommandSpec] = &[
    cmd("SADD", &[Write, Denyoom, Fast]).keys(&[at(1).flags(&[Rw, Insert])]),
    cmd("SCARD", &[Readonly, Fast]).keys(&[at(1).flags(&[Ro])]),
    cmd("SDIFF", &[Readonly])
        .keys(&[at(1).range(-1, 1, 0).flags(&[Ro, Access])])
        .reply(Shape::Set),
    cmd("SDIFFSTORE", &[Write, Denyoom]).keys(&[
        at(1).flags(&[Ow, Update]),
        at(2).range(-1, 1, 0).flags(&[Ro, Access]),
    ]),
    cmd("SINTER", &[Readonly])
        .keys(&[at(1).range(-1, 1, 0).flags(&[Ro, Access])])
        .reply(Shape::Set),
    cmd("SINTERCARD", &[Readonly]).keys(&[at(1).keynum(0, 1, 1).flags(&[Ro, Access])]),
    cmd("SINTERSTORE", &[Write, Denyoom]).keys(&[
        at(1).flags(&[Ow, Update]),
        at(2).range(-1, 1, 0).flags(&[Ro, Access]),
    ]),
    cmd("SISMEMBER", &[Readonly, Fast])
        .keys(&[at(1).flags(&[Ro])])
        .reply(Shape::Bool),
    cmd("SMEMBERS", &[Readonly])
        .keys(&[at(1).flags(&[Ro, Access])])
        .reply(Shape::Set),
    cmd("SMISMEMBER", &[Readonly, Fast])
        .keys(&[at(1).flags(&[Ro, Access])])
        .reply(Shape::BoolList),
    cmd("SMOVE", &[Write, Fast])
        .keys(&[
            at(1).flags(&[Rw, Access, Delete]),
            at(2).flags(&[Rw, Insert]),
        ])
        .reply(Shape::Bool),
    cmd("SPOP", &[Write, Fast]).keys(&[at(1).flags(&[Rw, Access, Delete])]),
    cmd("SRANDMEMBER", &[Readonly]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("SREM", &[Write, Fast]).keys(&[at(1).flags(&[Rw, Delete])]),
    cmd("SSCAN", &[Readonly])
        .keys(&[at(1).flags(&[Ro, Access])])
        .reply(Shape::Scan),
    cmd("SUNION", &[Readonly])
        .keys(&[at(1).range(-1, 1, 0).flags(&[Ro, Access])])
        .reply(Shape::Set),
    cmd("SUNIONSTORE", &[Write, Denyoom]).keys(&[
        at(1).flags(&[Ow, Update]),
        at(2).range(-1, 1, 0).flags(&[Ro, Access]),
    ]),
];
