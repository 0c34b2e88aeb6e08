//! Stream commands.
//!
//! Written by `tools/command_table.py` from the servers' `COMMAND INFO`
//! (flags, key specs, policies); reply shapes, timeouts and Babushka's own
//! flags are set by hand here, and the script keeps them.

use crate::table::spec::prelude::*;

pub(super) static COMMANDS: &[CommandSpec] = &[
    cmd("XACK", &[Write, Fast]).keys(&[at(1).flags(&[Rw, Update])]),
    cmd("XADD", &[Write, Denyoom, Fast]).keys(&[at(1).flags(&[Rw, Update])]),
    cmd("XAUTOCLAIM", &[Write, Fast])
        .keys(&[at(1).flags(&[Rw, Delete])])
        .reply(Shape::AutoClaim),
    cmd("XCLAIM", &[Write, Fast])
        .keys(&[at(1).flags(&[Rw, Update])])
        .reply(Shape::StreamEntries),
    cmd("XDEL", &[Write, Fast]).keys(&[at(1).flags(&[Rw, Delete])]),
    cmd("XGROUP", &[]).subcommands(&[
        cmd("XGROUP CREATE", &[Write, Denyoom])
            .keys(&[at(2).flags(&[Rw, Insert])])
            .reply(Shape::Ok),
        cmd("XGROUP CREATECONSUMER", &[Write, Denyoom]).keys(&[at(2).flags(&[Rw, Insert])]),
        cmd("XGROUP DELCONSUMER", &[Write]).keys(&[at(2).flags(&[Rw, Delete])]),
        cmd("XGROUP DESTROY", &[Write])
            .keys(&[at(2).flags(&[Rw, Delete])])
            .reply(Shape::Bool),
        cmd("XGROUP SETID", &[Write])
            .keys(&[at(2).flags(&[Rw, Update])])
            .reply(Shape::Ok),
    ]),
    cmd("XINFO", &[]).subcommands(&[
        cmd("XINFO CONSUMERS", &[Readonly])
            .keys(&[at(2).flags(&[Ro, Access])])
            .reply(Shape::StrDicts),
        cmd("XINFO GROUPS", &[Readonly])
            .keys(&[at(2).flags(&[Ro, Access])])
            .reply(Shape::StrDicts),
        cmd("XINFO STREAM", &[Readonly])
            .keys(&[at(2).flags(&[Ro, Access])])
            .reply(Shape::StreamInfo),
    ]),
    cmd("XLEN", &[Readonly, Fast]).keys(&[at(1).flags(&[Ro])]),
    cmd("XPENDING", &[Readonly])
        .keys(&[at(1).flags(&[Ro, Access])])
        .reply(Shape::Pending),
    cmd("XRANGE", &[Readonly])
        .keys(&[at(1).flags(&[Ro, Access])])
        .reply(Shape::StreamEntries),
    cmd("XREAD", &[Readonly, Blocking, Dedicated])
        .keys(&[keyword("STREAMS", 1).range(-1, 1, 2).flags(&[Ro, Access])])
        .timeout(Timeout::BlockOption)
        .reply(Shape::StreamsRead),
    cmd("XREADGROUP", &[Write, Blocking, Dedicated])
        .keys(&[keyword("STREAMS", 4).range(-1, 1, 2).flags(&[Ro, Access])])
        .timeout(Timeout::BlockOption)
        .reply(Shape::StreamsRead),
    cmd("XREVRANGE", &[Readonly])
        .keys(&[at(1).flags(&[Ro, Access])])
        .reply(Shape::StreamEntries),
    cmd("XSETID", &[Write, Denyoom, Fast]).keys(&[at(1).flags(&[Rw, Update])]),
    cmd("XTRIM", &[Write]).keys(&[at(1).flags(&[Rw, Delete])]),
];
