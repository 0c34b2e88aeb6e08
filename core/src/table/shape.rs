//! The reply shapes: which Python object a reply becomes.
//!
//! The core only names them; the binding (`bindings/python/src/reply.rs`)
//! builds the objects. Their numbers are the `_core` interface: the binding
//! exports each as `SHAPE_<NAME>`, and command methods pass them with every
//! command, so they are stable (a new shape takes the next number).

/// How to shape a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Shape {
    /// The reply as it is: bulk strings as bytes (or str), arrays as lists.
    Raw = 0,
    /// `OK` becomes `True`; anything else stays as it is (`SET ... GET`, nil).
    Ok = 1,
    /// An integer becomes a bool (`EXPIRE`, `SISMEMBER`, `HSETNX`).
    Bool = 2,
    /// A number sent as a string becomes a float; nil stays `None`.
    Float = 3,
    /// A flat `[k, v, k, v]` array (or a RESP3 map) becomes a dict.
    Pairs = 4,
    /// A flat `[member, score, ...]` array becomes a list of `(member, float)` tuples.
    Scored = 5,
    /// An array becomes a set.
    Set = 6,
    /// An array of integers becomes a list of bools.
    BoolList = 7,
    /// An array of numbers-as-strings becomes a list of floats (nil stays `None`).
    FloatList = 8,
    /// `[cursor, [items]]` becomes `(int, list)`.
    Scan = 9,
    /// `[cursor, [k, v, ...]]` becomes `(int, dict)`.
    ScanPairs = 10,
    /// `[cursor, [member, score, ...]]` becomes `(int, [(member, float)])`.
    ScanScored = 11,
    /// Any integer reply; a string holding an integer becomes an int.
    Int = 12,
    /// An array becomes a tuple; nil stays `None` (`BLPOP`'s `(key, value)`).
    Tuple = 13,
    /// `[key, member, score]` becomes `(key, member, float)`; nil stays
    /// `None` (`BZPOPMIN`).
    KeyMemberScore = 14,
    /// A string reply as bytes even with `decode_responses` (`DUMP`,
    /// `FUNCTION DUMP`: a binary payload that would not decode, and is only
    /// good as bytes).
    Bytes = 15,
    // From here on the reply is parsed by a Python function named after the
    // shape in `babushka._replies` (see `Shape::parsed_in_python`).
    /// A string reply as `str` even without `decode_responses` (`ACL WHOAMI`,
    /// `CLIENT GETNAME`), as redis-py decodes it.
    Str = 16,
    /// Each string of an array as `str` (`ACL CAT`, `ACL USERS`); other items
    /// as they are.
    StrList = 17,
    /// `CONFIG GET`'s pairs as a dict of `str` to `str`.
    ConfigGet = 18,
    /// `INFO`'s text parsed to a dict (numbers as numbers, `a=1,b=2` values
    /// as nested dicts).
    Info = 19,
    /// `CLIENT LIST`'s lines as a list of dicts of `str`.
    ClientList = 20,
    /// `CLIENT INFO`'s line as a dict, its numeric fields as ints.
    ClientInfo = 21,
    /// `CLIENT KILL`: `OK` becomes `True`, a count stays an int.
    ClientKill = 22,
    /// `CLIENT TRACKINGINFO` as a flat list, its labels as `str` (a RESP3
    /// map is flattened).
    TrackingInfo = 23,
    /// `ACL GETUSER`'s reply as a dict (flags, passwords, commands and
    /// categories split, `enabled`).
    AclGetuser = 24,
    /// `ACL LOG`'s entries as dicts of `str`, `client-info` parsed; `OK`
    /// (`ACL LOG RESET`) becomes `True`.
    AclLog = 25,
    /// `SLOWLOG GET`'s entries as dicts (`id`, `start_time`, `duration`,
    /// `command`, ...), their strings bytes whatever `decode_responses` says.
    SlowlogGet = 26,
    /// `MEMORY STATS` as a dict with `str` keys and string values.
    MemoryStats = 27,
    /// `DEBUG OBJECT`'s `key:value` text as a dict.
    DebugObject = 28,
    /// `COMMAND`'s entries as a dict of command name to its details.
    CommandInfo = 29,
    /// A Unix time as a local `datetime` (`LASTSAVE`).
    Datetime = 30,
    /// `TIME`'s `[seconds, microseconds]` as a tuple of ints.
    Time = 31,
    /// An array of flat pairs (or maps) as a list of dicts (`MODULE LIST`).
    PairsList = 32,
    /// Any reply becomes `True` (`BGSAVE`, `BGREWRITEAOF`: their status text
    /// says which was started).
    True = 33,
    /// `PONG` becomes `True`, anything else `False` (`PING`).
    Pong = 34,
}

impl Shape {
    /// Every shape, in number order.
    pub const ALL: [Shape; 35] = [
        Self::Raw,
        Self::Ok,
        Self::Bool,
        Self::Float,
        Self::Pairs,
        Self::Scored,
        Self::Set,
        Self::BoolList,
        Self::FloatList,
        Self::Scan,
        Self::ScanPairs,
        Self::ScanScored,
        Self::Int,
        Self::Tuple,
        Self::KeyMemberScore,
        Self::Bytes,
        Self::Str,
        Self::StrList,
        Self::ConfigGet,
        Self::Info,
        Self::ClientList,
        Self::ClientInfo,
        Self::ClientKill,
        Self::TrackingInfo,
        Self::AclGetuser,
        Self::AclLog,
        Self::SlowlogGet,
        Self::MemoryStats,
        Self::DebugObject,
        Self::CommandInfo,
        Self::Datetime,
        Self::Time,
        Self::PairsList,
        Self::True,
        Self::Pong,
    ];

    /// Whether the binding hands the reply, built as it is, to the Python
    /// function `babushka._replies.parse_<name in lower case>`. These are the
    /// administration commands' text and nested replies, which redis-py
    /// parses in Python too: rare, and much shorter to write and check
    /// against redis-py there than in Rust.
    pub const fn parsed_in_python(self) -> bool {
        self as u8 >= Self::Str as u8
    }

    /// Whether the parser gets the reply's strings as bytes even with
    /// `decode_responses`: redis-py's `slowlog_get` never decodes its
    /// entries (a command's words may be any bytes).
    pub const fn keeps_bytes(self) -> bool {
        matches!(self, Self::SlowlogGet)
    }

    /// The shape with this number, if there is one.
    pub fn from_u8(value: u8) -> Option<Self> {
        Self::ALL.get(usize::from(value)).copied()
    }

    /// Its name in Python (`babushka._shapes.KEY_MEMBER_SCORE`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Raw => "RAW",
            Self::Ok => "OK",
            Self::Bool => "BOOL",
            Self::Float => "FLOAT",
            Self::Pairs => "PAIRS",
            Self::Scored => "SCORED",
            Self::Set => "SET",
            Self::BoolList => "BOOL_LIST",
            Self::FloatList => "FLOAT_LIST",
            Self::Scan => "SCAN",
            Self::ScanPairs => "SCAN_PAIRS",
            Self::ScanScored => "SCAN_SCORED",
            Self::Int => "INT",
            Self::Tuple => "TUPLE",
            Self::KeyMemberScore => "KEY_MEMBER_SCORE",
            Self::Bytes => "BYTES",
            Self::Str => "STR",
            Self::StrList => "STR_LIST",
            Self::ConfigGet => "CONFIG_GET",
            Self::Info => "INFO",
            Self::ClientList => "CLIENT_LIST",
            Self::ClientInfo => "CLIENT_INFO",
            Self::ClientKill => "CLIENT_KILL",
            Self::TrackingInfo => "TRACKING_INFO",
            Self::AclGetuser => "ACL_GETUSER",
            Self::AclLog => "ACL_LOG",
            Self::SlowlogGet => "SLOWLOG_GET",
            Self::MemoryStats => "MEMORY_STATS",
            Self::DebugObject => "DEBUG_OBJECT",
            Self::CommandInfo => "COMMAND_INFO",
            Self::Datetime => "DATETIME",
            Self::Time => "TIME",
            Self::PairsList => "PAIRS_LIST",
            Self::True => "TRUE",
            Self::Pong => "PONG",
        }
    }
}

/// The shape a command's reply gets by default (what `execute_command`
/// uses), for each protocol. A shape turns a RESP3 reply into the same
/// Python object as the RESP2 one (a map and a flat array both become a
/// dict), so the two are the same unless a command says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    pub resp2: Shape,
    pub resp3: Shape,
}

impl Reply {
    pub const RAW: Reply = Reply::both(Shape::Raw);

    pub const fn both(shape: Shape) -> Self {
        Self {
            resp2: shape,
            resp3: shape,
        }
    }

    /// The shape for a connection speaking RESP `protocol` (2 or 3).
    pub const fn for_protocol(self, protocol: u8) -> Shape {
        if protocol >= 3 {
            self.resp3
        } else {
            self.resp2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_positions_and_names_are_unique() {
        let mut names = std::collections::HashSet::new();
        for (at, shape) in Shape::ALL.into_iter().enumerate() {
            assert_eq!(shape as usize, at);
            assert_eq!(Shape::from_u8(shape as u8), Some(shape));
            assert!(names.insert(shape.name()));
        }
        assert_eq!(Shape::from_u8(Shape::ALL.len() as u8), None);
    }
}
