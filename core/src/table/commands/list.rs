//! List commands.
//!
//! Written by `tools/command_table.py` from the servers' `COMMAND INFO`
//! (flags, key specs, policies); reply shapes, timeouts and Babushka's own
//! flags are set by hand here, and the script keeps them.

use crate::table::spec::prelude::*;

pub(super) static COMMANDS: &[CommandSpec] = &[
    cmd("BLMOVE", &[Write, Denyoom, Blocking, Dedicated])
        .keys(&[
            at(1).flags(&[Rw, Access, Delete]),
            at(2).flags(&[Rw, Insert]),
        ])
        .timeout(Timeout::LastSeconds),
    cmd("BLMPOP", &[Write, Blocking, Dedicated])
        .keys(&[at(2).keynum(0, 1, 1).flags(&[Rw, Access, Delete])])
        .timeout(Timeout::FirstSeconds),
    cmd("BLPOP", &[Write, Blocking, Dedicated])
        .keys(&[at(1).range(-2, 1, 0).flags(&[Rw, Access, Delete])])
        .timeout(Timeout::LastSeconds)
        .reply(Shape::Tuple),
    cmd("BRPOP", &[Write, Blocking, Dedicated])
        .keys(&[at(1).range(-2, 1, 0).flags(&[Rw, Access, Delete])])
        .timeout(Timeout::LastSeconds)
        .reply(Shape::Tuple),
    cmd("BRPOPLPUSH", &[Write, Denyoom, Blocking, Dedicated])
        .keys(&[
            at(1).flags(&[Rw, Access, Delete]),
            at(2).flags(&[Rw, Insert]),
        ])
        .timeout(Timeout::LastSeconds),
    // Newer than both test servers: the timeout comes before the
    // optional COUNT words.
    cmd("BLMOVEM", &[Write, Denyoom, Blocking, Dedicated])
        .keys(&[
            at(1).flags(&[Rw, Access, Delete]),
            at(2).flags(&[Rw, Insert]),
        ])
        .timeout(Timeout::AtSeconds(5)),
    cmd("LINDEX", &[Readonly]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("LINSERT", &[Write, Denyoom]).keys(&[at(1).flags(&[Rw, Insert])]),
    cmd("LLEN", &[Readonly, Fast]).keys(&[at(1).flags(&[Ro])]),
    cmd("LMOVE", &[Write, Denyoom]).keys(&[
        at(1).flags(&[Rw, Access, Delete]),
        at(2).flags(&[Rw, Insert]),
    ]),
    // Newer than both test servers.
    cmd("LMOVEM", &[Write, Denyoom]).keys(&[
        at(1).flags(&[Rw, Access, Delete]),
        at(2).flags(&[Rw, Insert]),
    ]),
    cmd("LMPOP", &[Write]).keys(&[at(1).keynum(0, 1, 1).flags(&[Rw, Access, Delete])]),
    cmd("LPOP", &[Write, Fast]).keys(&[at(1).flags(&[Rw, Access, Delete])]),
    cmd("LPOS", &[Readonly]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("LPUSH", &[Write, Denyoom, Fast]).keys(&[at(1).flags(&[Rw, Insert])]),
    cmd("LPUSHX", &[Write, Denyoom, Fast]).keys(&[at(1).flags(&[Rw, Insert])]),
    cmd("LRANGE", &[Readonly]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("LREM", &[Write]).keys(&[at(1).flags(&[Rw, Delete])]),
    cmd("LSET", &[Write, Denyoom])
        .keys(&[at(1).flags(&[Rw, Update])])
        .reply(Shape::Ok),
    cmd("LTRIM", &[Write])
        .keys(&[at(1).flags(&[Rw, Delete])])
        .reply(Shape::Ok),
    cmd("RPOP", &[Write, Fast]).keys(&[at(1).flags(&[Rw, Access, Delete])]),
    cmd("RPOPLPUSH", &[Write, Denyoom]).keys(&[
        at(1).flags(&[Rw, Access, Delete]),
        at(2).flags(&[Rw, Insert]),
    ]),
    cmd("RPUSH", &[Write, Denyoom, Fast]).keys(&[at(1).flags(&[Rw, Insert])]),
    cmd("RPUSHX", &[Write, Denyoom, Fast]).keys(&[at(1).flags(&[Rw, Insert])]),
];
