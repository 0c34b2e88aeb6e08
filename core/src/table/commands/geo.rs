//! Geo commands.
//!
//! Written by `tools/command_table.py` from the servers' `COMMAND INFO`
//! (flags, key specs, policies); reply shapes, timeouts and Babushka's own
//! flags are set by hand here, and the script keeps them.

use crate::table::spec::prelude::*;

pub(super) static COMMANDS: &[CommandSpec] = &[
    cmd("GEOADD", &[Write, Denyoom]).keys(&[at(1).flags(&[Rw, Update])]),
    cmd("GEODIST", &[Readonly])
        .keys(&[at(1).flags(&[Ro, Access])])
        .reply(Shape::Float),
    cmd("GEOHASH", &[Readonly])
        .keys(&[at(1).flags(&[Ro, Access])])
        .reply(Shape::StrList),
    cmd("GEOPOS", &[Readonly])
        .keys(&[at(1).flags(&[Ro, Access])])
        .reply(Shape::Coords),
    cmd("GEORADIUS", &[Write, Denyoom])
        .keys(&[
            at(1).flags(&[Ro, Access]),
            keyword("STORE", 6).flags(&[Ow, Update, VariableFlags]),
            keyword("STOREDIST", 6).flags(&[Ow, Update, VariableFlags]),
        ])
        .reply(Shape::GeoResults),
    cmd("GEORADIUSBYMEMBER", &[Write, Denyoom])
        .keys(&[
            at(1).flags(&[Ro, Access]),
            keyword("STORE", 5).flags(&[Ow, Update, VariableFlags]),
            keyword("STOREDIST", 5).flags(&[Ow, Update, VariableFlags]),
        ])
        .reply(Shape::GeoResults),
    cmd("GEORADIUSBYMEMBER_RO", &[Readonly]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("GEORADIUS_RO", &[Readonly]).keys(&[at(1).flags(&[Ro, Access])]),
    cmd("GEOSEARCH", &[Readonly])
        .keys(&[at(1).flags(&[Ro, Access])])
        .reply(Shape::GeoResults),
    cmd("GEOSEARCHSTORE", &[Write, Denyoom])
        .keys(&[at(1).flags(&[Ow, Update]), at(2).flags(&[Ro, Access])]),
];
