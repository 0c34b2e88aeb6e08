//! Hyperloglog commands.
//!
//! Written by `tools/command_table.py` from the servers' `COMMAND INFO`
//! (flags, key specs, policies); reply shapes, timeouts and Babushka's own
//! flags are set by hand here, and the script keeps them.

use crate::table::spec::prelude::*;

pub(super) static COMMANDS: &[CommandSpec] = &[
    cmd("PFADD", &[Write, Denyoom, Fast]).keys(&[at(1).flags(&[Rw, Insert])]),
    cmd("PFCOUNT", &[Readonly]).keys(&[at(1).range(-1, 1, 0).flags(&[Rw, Access])]),
    cmd("PFMERGE", &[Write, Denyoom])
        .keys(&[
            at(1).flags(&[Rw, Access, Insert]),
            at(2).range(-1, 1, 0).flags(&[Ro, Access]),
        ])
        .reply(Shape::Ok),
];
