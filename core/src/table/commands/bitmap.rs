//! Bitmap commands.
//!
//! Written by `tools/command_table.py` from the servers' `COMMAND INFO`
//! (flags, key specs, policies); reply shapes, timeouts and Babushka's own
//! flags are set by hand here, and the script keeps them.

use crate::table::spec::prelude::*;

pub(super) static COMMANDS: &[CommandSpec] = &[
    cmd("BITCOUNT", &[Readonly]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("BITFIELD", &[Write, Denyoom]).keys(&[at(1).flags(&[Rw, Access, Update, VariableFlags])]),
    cmd("BITFIELD_RO", &[Readonly, Fast]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("BITOP", &[Write, Denyoom]).keys(&[
        at(2).flags(&[Ow, Update]),
        at(3).range(-1, 1, 0).flags(&[Ro, Access]),
    ]),
    cmd("BITPOS", &[Readonly]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("GETBIT", &[Readonly, Fast]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("SETBIT", &[Write, Denyoom]).keys(&[at(1).flags(&[Rw, Access, Update])]),
];
