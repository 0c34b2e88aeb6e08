//! Transactions commands.
//!
//! Written by `tools/command_table.py` from the servers' `COMMAND INFO`
//! (flags, key specs, policies); reply shapes, timeouts and Babushka's own
//! flags are set by hand here, and the script keeps them.

use crate::table::spec::prelude::*;

pub(super) static COMMANDS: &[CommandSpec] = &[
    cmd("DISCARD", &[Noscript, Fast, Session]),
    cmd("EXEC", &[Noscript, Session]),
    cmd("MULTI", &[Noscript, Fast, NoMulti, Session]),
    cmd("UNWATCH", &[Noscript, Fast, Session]).reply(Shape::Ok),
    cmd("WATCH", &[Noscript, Fast, NoMulti, Session])
        .keys(&[at(1).range(-1, 1, 0).flags(&[Ro])])
        .reply(Shape::Ok),
];
