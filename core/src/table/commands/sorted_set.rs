//! Sorted set commands.
//!
//! Written by `tools/command_table.py` from the servers' `COMMAND INFO`
//! (flags, key specs, policies); reply shapes, timeouts and Babushka's own
//! flags are set by hand here, and the script keeps them.

use crate::table::spec::prelude::*;

pub(super) static COMMANDS: &[CommandSpec] = &[
    cmd("BZMPOP", &[Write, Blocking, Dedicated])
        .keys(&[at(2).keynum(0, 1, 1).flags(&[Rw, Access, Delete])])
        .timeout(Timeout::FirstSeconds)
        .reply(Shape::Flat),
    cmd("BZPOPMAX", &[Write, Blocking, Fast, Dedicated])
        .keys(&[at(1).range(-2, 1, 0).flags(&[Rw, Access, Delete])])
        .timeout(Timeout::LastSeconds)
        .reply(Shape::KeyMemberScore),
    cmd("BZPOPMIN", &[Write, Blocking, Fast, Dedicated])
        .keys(&[at(1).range(-2, 1, 0).flags(&[Rw, Access, Delete])])
        .timeout(Timeout::LastSeconds)
        .reply(Shape::KeyMemberScore),
    cmd("ZADD", &[Write, Denyoom, Fast]).keys(&[at(1).flags(&[Rw, Update])]),
    cmd("ZCARD", &[Readonly, Fast]).keys(&[at(1).flags(&[Ro])]),
    cmd("ZCOUNT", &[Readonly, Fast]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("ZDIFF", &[Readonly])
        .keys(&[at(1).keynum(0, 1, 1).flags(&[Ro, Access])])
        .reply(Shape::Flat),
    cmd("ZDIFFSTORE", &[Write, Denyoom]).keys(&[
        at(1).flags(&[Ow, Update]),
        at(2).keynum(0, 1, 1).flags(&[Ro, Access]),
    ]),
    cmd("ZINCRBY", &[Write, Denyoom, Fast])
        .keys(&[at(1).flags(&[Rw, Access, Update])])
        .reply(Shape::Float),
    cmd("ZINTER", &[Readonly]).keys(&[at(1).keynum(0, 1, 1).flags(&[Ro, Access])]),
    cmd("ZINTERCARD", &[Readonly]).keys(&[at(1).keynum(0, 1, 1).flags(&[Ro, Access])]),
    cmd("ZINTERSTORE", &[Write, Denyoom]).keys(&[
        at(1).flags(&[Ow, Update]),
        at(2).keynum(0, 1, 1).flags(&[Ro, Access]),
    ]),
    cmd("ZLEXCOUNT", &[Readonly, Fast]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("ZMPOP", &[Write])
        .keys(&[at(1).keynum(0, 1, 1).flags(&[Rw, Access, Delete])])
        .reply(Shape::Flat),
    cmd("ZMSCORE", &[Readonly, Fast])
        .keys(&[at(1).flags(&[Ro, Access])])
        .reply(Shape::FloatList),
    cmd("ZPOPMAX", &[Write, Fast])
        .keys(&[at(1).flags(&[Rw, Access, Delete])])
        .reply(Shape::Scored),
    cmd("ZPOPMIN", &[Write, Fast])
        .keys(&[at(1).flags(&[Rw, Access, Delete])])
        .reply(Shape::Scored),
    cmd("ZRANDMEMBER", &[Readonly])
        .keys(&[at(1).flags(&[Ro, Access])])
        .reply(Shape::Flat),
    cmd("ZRANGE", &[Readonly]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("ZRANGEBYLEX", &[Readonly]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("ZRANGEBYSCORE", &[Readonly]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("ZRANGESTORE", &[Write, Denyoom])
        .keys(&[at(1).flags(&[Ow, Update]), at(2).flags(&[Ro, Access])]),
    cmd("ZRANK", &[Readonly, Fast]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("ZREM", &[Write, Fast]).keys(&[at(1).flags(&[Rw, Delete])]),
    cmd("ZREMRANGEBYLEX", &[Write]).keys(&[at(1).flags(&[Rw, Delete])]),
    cmd("ZREMRANGEBYRANK", &[Write]).keys(&[at(1).flags(&[Rw, Delete])]),
    cmd("ZREMRANGEBYSCORE", &[Write]).keys(&[at(1).flags(&[Rw, Delete])]),
    cmd("ZREVRANGE", &[Readonly]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("ZREVRANGEBYLEX", &[Readonly]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("ZREVRANGEBYSCORE", &[Readonly]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("ZREVRANK", &[Readonly, Fast]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("ZSCAN", &[Readonly])
        .keys(&[at(1).flags(&[Ro, Access])])
        .reply(Shape::ScanScored),
    cmd("ZSCORE", &[Readonly, Fast])
        .keys(&[at(1).flags(&[Ro, Access])])
        .reply(Shape::Float),
    cmd("ZUNION", &[Readonly]).keys(&[at(1).keynum(0, 1, 1).flags(&[Ro, Access])]),
    cmd("ZUNIONSTORE", &[Write, Denyoom]).keys(&[
        at(1).flags(&[Ow, Update]),
        at(2).keynum(0, 1, 1).flags(&[Ro, Access]),
    ]),
];
