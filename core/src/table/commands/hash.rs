//! Hash commands.
//!
//! Written by `tools/command_table.py` from the servers' `COMMAND INFO`
//! (flags, key specs, policies); reply shapes, timeouts and Babushka's own
//! flags are set by hand here, and the script keeps them.

use crate::table::spec::prelude::*;

pub(super) static COMMANDS: &[CommandSpec] = &[
    cmd("HDEL", &[Write, Fast]).keys(&[at(1).flags(&[Rw, Delete])]),
    cmd("HEXISTS", &[Readonly, Fast])
        .keys(&[at(1).flags(&[Ro])])
        .reply(Shape::Bool),
    cmd("HEXPIRE", &[Write, Fast]).keys(&[at(1).flags(&[Rw, Update])]),
    cmd("HEXPIREAT", &[Write, Fast]).keys(&[at(1).flags(&[Rw, Update])]),
    cmd("HEXPIRETIME", &[Readonly, Fast]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("HGET", &[Readonly, Fast]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("HGETALL", &[Readonly])
        .keys(&[at(1).flags(&[Ro, Access])])
        .reply(Shape::Pairs),
    cmd("HGETDEL", &[Write, Fast]).keys(&[at(1).flags(&[Rw, Access, Delete])]),
    cmd("HGETEX", &[Write, Fast]).keys(&[at(1).flags(&[Rw, Access, Update])]),
    cmd("HINCRBY", &[Write, Denyoom, Fast]).keys(&[at(1).flags(&[Rw, Access, Update])]),
    cmd("HINCRBYFLOAT", &[Write, Denyoom, Fast])
        .keys(&[at(1).flags(&[Rw, Access, Update])])
        .reply(Shape::Float),
    cmd("HKEYS", &[Readonly]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("HLEN", &[Readonly, Fast]).keys(&[at(1).flags(&[Ro])]),
    cmd("HMGET", &[Readonly, Fast]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("HMSET", &[Write, Denyoom, Fast])
        .keys(&[at(1).flags(&[Rw, Update])])
        .reply(Shape::Ok),
    cmd("HPERSIST", &[Write, Fast]).keys(&[at(1).flags(&[Rw, Update])]),
    cmd("HPEXPIRE", &[Write, Fast]).keys(&[at(1).flags(&[Rw, Update])]),
    cmd("HPEXPIREAT", &[Write, Fast]).keys(&[at(1).flags(&[Rw, Update])]),
    cmd("HPEXPIRETIME", &[Readonly, Fast]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("HPTTL", &[Readonly, Fast]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("HRANDFIELD", &[Readonly])
        .keys(&[at(1).flags(&[Ro, Access])])
        .reply(Shape::Flat),
    cmd("HSCAN", &[Readonly])
        .keys(&[at(1).flags(&[Ro, Access])])
        .reply(Shape::ScanPairs),
    cmd("HSET", &[Write, Denyoom, Fast]).keys(&[at(1).flags(&[Rw, Update])]),
    cmd("HSETEX", &[Write, Denyoom, Fast]).keys(&[at(1).flags(&[Rw, Insert])]),
    cmd("HSETNX", &[Write, Denyoom, Fast])
        .keys(&[at(1).flags(&[Rw, Insert])])
        .reply(Shape::Bool),
    cmd("HSTRLEN", &[Readonly, Fast]).keys(&[at(1).flags(&[Ro])]),
    cmd("HTTL", &[Readonly, Fast]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("HVALS", &[Readonly]).keys(&[at(1).flags(&[Ro, Access])]),
];
