//! What one entry of the command table says, and the `const` builders the
//! entries in `commands/` are written with.
//!
//! Key positions follow the servers' own key specifications (`COMMAND INFO`,
//! "key specs"): where the search for keys begins (an index, or after a
//! keyword) and how the keys are found from there (a range, or a count
//! given in the command). `tests/test_command_table.py` checks each entry
//! against both servers.

/// One command, or one subcommand of a container (`CLIENT LIST`).
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct CommandSpec {
    /// Upper case; a subcommand's is `"CONTAINER SUB"`.
    pub name: &'static str,
    pub flags: Flags,
    /// Where its keys are: usually one spec, more for commands whose keys
    /// play different parts (`ZUNIONSTORE`'s destination and sources).
    pub keys: &'static [KeySpec],
    /// The Python object `execute_command` makes of its reply.
    pub reply: super::Reply,
    /// For a blocking command: where its timeout is.
    pub timeout: Option<Timeout>,
    /// Where a cluster client sends it when its keys do not say (`COMMAND
    /// INFO`'s `request_policy` tip), and how it combines the replies.
    pub request_policy: RequestPolicy,
    pub response_policy: ResponsePolicy,
    /// A container's subcommands, sorted by name.
    pub subcommands: &'static [CommandSpec],
}

/// Starts an entry: a command with these flags, no keys, a raw reply.
pub const fn cmd(name: &'static str, flags: &[Flag]) -> CommandSpec {
    CommandSpec {
        name,
        flags: Flags::of(flags),
        keys: &[],
        reply: super::Reply::RAW,
        timeout: None,
        request_policy: RequestPolicy::Default,
        response_policy: ResponsePolicy::Default,
        subcommands: &[],
    }
}

impl CommandSpec {
    pub const fn keys(mut self, keys: &'static [KeySpec]) -> Self {
        self.keys = keys;
        self
    }

    /// The reply's shape on both protocols.
    pub const fn reply(mut self, shape: super::Shape) -> Self {
        self.reply = super::Reply::both(shape);
        self
    }

    /// The reply's shape on RESP3, when it differs from RESP2's.
    pub const fn reply3(mut self, shape: super::Shape) -> Self {
        self.reply.resp3 = shape;
        self
    }

    pub const fn timeout(mut self, timeout: Timeout) -> Self {
        self.timeout = Some(timeout);
        self
    }

    pub const fn policy(mut self, request: RequestPolicy, response: ResponsePolicy) -> Self {
        self.request_policy = request;
        self.response_policy = response;
        self
    }

    pub const fn subcommands(mut self, subcommands: &'static [CommandSpec]) -> Self {
        self.subcommands = subcommands;
        self
    }

    pub const fn has(&self, flag: Flag) -> bool {
        self.flags.has(flag)
    }

    /// `COMMAND INFO`'s legacy `(first key, last key, step)`, derived from
    /// the key specs as the servers derive it: the index-and-range specs
    /// that follow one another with a step of 1. A negative last key counts
    /// from the end (-1 is the last argument); `(0, 0, 0)` for none.
    pub fn legacy_range(&self) -> (i32, i32, i32) {
        self.legacy().0
    }

    /// Whether its keys move about (`COMMAND INFO`'s `movablekeys`): a key
    /// spec that is not a plain range from a fixed index, or is incomplete.
    pub fn movable_keys(&self) -> bool {
        self.legacy().1
    }

    fn legacy(&self) -> ((i32, i32, i32), bool) {
        if let [single] = self.keys {
            if let (Begin::Index(at), Find::Range { last, step, .. }) = (single.begin, single.find)
            {
                let at = i32::from(at);
                let last = i32::from(last);
                let absolute_last = if last >= 0 { at + last } else { last };
                let incomplete = single.flags.has(KeyFlag::Incomplete);
                return ((at, absolute_last, i32::from(step)), incomplete);
            }
        }
        let mut movable = false;
        let mut first: Option<i32> = None;
        // Compared as unsigned, as the servers do: a negative last key
        // (counted from the end) is past any positive one.
        let mut last: i32 = 0;
        let mut previous_last: i32 = 0;
        for spec in self.keys {
            let (
                Begin::Index(at),
                Find::Range {
                    last: relative,
                    step,
                    ..
                },
            ) = (spec.begin, spec.find)
            else {
                movable = true;
                continue;
            };
            let at = i32::from(at);
            if step != 1 || (previous_last != 0 && previous_last != at - 1) {
                movable = true;
                continue;
            }
            movable |= spec.flags.has(KeyFlag::Incomplete);
            first = Some(first.map_or(at, |first| first.min(at)));
            let relative = i32::from(relative);
            let absolute = if relative >= 0 {
                at + relative
            } else {
                relative
            };
            if (absolute as u32) > (last as u32) {
                last = absolute;
            }
            previous_last = last;
        }
        match first {
            Some(first) => ((first, last, 1), movable),
            None => ((0, 0, 0), !self.keys.is_empty()),
        }
    }
}

/// What the table says of a command, beyond its keys. The first group
/// copies the servers' `COMMAND INFO` flags; the second is Babushka's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Flag {
    /// It may change the data set.
    Write,
    /// It only reads (a replica may serve it).
    Readonly,
    /// The server refuses it when over `maxmemory`.
    Denyoom,
    /// An administrative command.
    Admin,
    /// A publish/subscribe command (also `PUBLISH`, `PUBSUB NUMSUB`).
    Pubsub,
    /// Not allowed inside a script.
    Noscript,
    /// It may block until a timeout (the entry's `timeout` says where that is).
    Blocking,
    /// O(1) or O(log N), no delays.
    Fast,
    /// Allowed before authenticating (`AUTH`, `HELLO`).
    NoAuth,
    /// Not allowed inside `MULTI`.
    NoMulti,
    /// It may have no keys even though it can take some (`EVAL s 0`).
    NoMandatoryKeys,
    /// Babushka's: it runs on a dedicated connection, since it holds the
    /// one it is sent on (`BLPOP`). `WAIT` blocks too but must stay on
    /// the connection whose writes it waits for.
    Dedicated,
    /// Babushka's: it changes how the server treats the requests after it
    /// on the same connection (`MULTI`, `WATCH`), so it is refused on the
    /// shared one; pipelines send it on a connection they hold.
    Session,
    /// Babushka's: its replies do not come one per request (`SUBSCRIBE`,
    /// `MONITOR`, `CLIENT REPLY`), so a pipelined connection could not pair
    /// them up; refused on the shared connection.
    Unpaired,
    /// Babushka's: it ends or resets the connection it is sent on (`QUIT`,
    /// `RESET`, `HELLO`), which would break the shared connection for
    /// every other request on it; sent on a connection of its own, closed
    /// afterwards.
    Alone,
    /// Babushka's: it changes nothing on the server though the servers do
    /// not flag it `readonly` (`PING`, `ECHO`), so one whose connection
    /// broke under it is sent again like a read (a `PING` right after
    /// `CLIENT KILL` would fail otherwise).
    Idempotent,
}

impl Flag {
    pub const ALL: [Flag; 16] = [
        Self::Write,
        Self::Readonly,
        Self::Denyoom,
        Self::Admin,
        Self::Pubsub,
        Self::Noscript,
        Self::Blocking,
        Self::Fast,
        Self::NoAuth,
        Self::NoMulti,
        Self::NoMandatoryKeys,
        Self::Dedicated,
        Self::Session,
        Self::Unpaired,
        Self::Alone,
        Self::Idempotent,
    ];

    /// As `COMMAND INFO` spells it (Babushka's own: `dedicated`, `session`,
    /// `unpaired`, `alone`, `idempotent`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Write => "write",
            Self::Readonly => "readonly",
            Self::Denyoom => "denyoom",
            Self::Admin => "admin",
            Self::Pubsub => "pubsub",
            Self::Noscript => "noscript",
            Self::Blocking => "blocking",
            Self::Fast => "fast",
            Self::NoAuth => "no_auth",
            Self::NoMulti => "no_multi",
            Self::NoMandatoryKeys => "no_mandatory_keys",
            Self::Dedicated => "dedicated",
            Self::Session => "session",
            Self::Unpaired => "unpaired",
            Self::Alone => "alone",
            Self::Idempotent => "idempotent",
        }
    }
}

/// A set of [`Flag`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags(u32);

impl Flags {
    pub const fn of(flags: &[Flag]) -> Self {
        let mut bits = 0;
        let mut at = 0;
        while at < flags.len() {
            bits |= 1 << flags[at] as u32;
            at += 1;
        }
        Self(bits)
    }

    pub const fn has(self, flag: Flag) -> bool {
        self.0 & (1 << flag as u32) != 0
    }

    pub fn iter(self) -> impl Iterator<Item = Flag> {
        Flag::ALL.into_iter().filter(move |flag| self.has(*flag))
    }
}

/// Where a blocking command's timeout is, and its unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// The last argument, in seconds (a float: `BLPOP k 0.5`).
    LastSeconds,
    /// The first argument after the name, in seconds (`BLMPOP 2 1 k LEFT`).
    FirstSeconds,
    /// The argument at this position (the name is 0), in milliseconds.
    AtMillis(u8),
    /// The argument at this position (the name is 0), in seconds
    /// (`BLMOVEM src dst LEFT RIGHT 0.5 COUNT 2 OBO`).
    AtSeconds(u8),
    /// The argument after a `BLOCK` keyword, in milliseconds; the command
    /// blocks only when there is one (`XREAD BLOCK 100 STREAMS s $`).
    BlockOption,
}

/// Where some of a command's keys are: `COMMAND INFO`'s key specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct KeySpec {
    pub begin: Begin,
    pub find: Find,
    pub flags: KeyFlags,
}

/// Where the search for keys begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    /// At this argument (the name is 0).
    Index(u16),
    /// After this keyword, looked for from argument `from` on (a negative
    /// `from` searches backwards from that far from the end).
    Keyword { keyword: &'static str, from: i16 },
    /// Somewhere only the command's own parsing knows (`SORT ... STORE d`).
    Unknown,
}

/// How the keys are found from where the search began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Find {
    /// Keys from the beginning up to `last` (relative to it; negative:
    /// counted from the end of the command, -1 the last argument), every
    /// `step` arguments. With `limit` > 1 and `last` -1, only the first
    /// 1/`limit` of the remaining arguments (`XREAD ... STREAMS k1 k2 id1 id2`).
    Range {
        last: i16,
        step: u16,
        limit: u16,
    },
    /// The argument at `count` (relative to the beginning) holds how many
    /// keys there are; they start at `first` (relative), every `step`.
    KeyNum {
        count: u16,
        first: u16,
        step: u16,
    },
    Unknown,
}

/// Keys from argument `at`: by default one key (`GET k`).
pub const fn at(at: u16) -> KeySpec {
    KeySpec {
        begin: Begin::Index(at),
        find: Find::Range {
            last: 0,
            step: 1,
            limit: 0,
        },
        flags: KeyFlags(0),
    }
}

/// Keys after `keyword`, searched for from argument `from` on.
pub const fn keyword(keyword: &'static str, from: i16) -> KeySpec {
    KeySpec {
        begin: Begin::Keyword { keyword, from },
        find: Find::Range {
            last: 0,
            step: 1,
            limit: 0,
        },
        flags: KeyFlags(0),
    }
}

/// Keys that only the command's own parsing can find.
pub const fn unknown() -> KeySpec {
    KeySpec {
        begin: Begin::Unknown,
        find: Find::Unknown,
        flags: KeyFlags(0),
    }
}

impl KeySpec {
    pub const fn range(mut self, last: i16, step: u16, limit: u16) -> Self {
        self.find = Find::Range { last, step, limit };
        self
    }

    pub const fn keynum(mut self, count: u16, first: u16, step: u16) -> Self {
        self.find = Find::KeyNum { count, first, step };
        self
    }

    pub const fn find_unknown(mut self) -> Self {
        self.find = Find::Unknown;
        self
    }

    pub const fn flags(mut self, flags: &[KeyFlag]) -> Self {
        self.flags = KeyFlags::of(flags);
        self
    }
}

/// How a command uses the keys of one spec (`COMMAND INFO`'s key-spec flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum KeyFlag {
    /// Read only.
    Ro,
    /// Read and written.
    Rw,
    /// Overwritten.
    Ow,
    /// Removed.
    Rm,
    Access,
    Update,
    Insert,
    Delete,
    /// A name that is hashed like a key but is not one (a shard channel).
    NotKey,
    /// The spec may miss some keys.
    Incomplete,
    /// Its flags depend on the arguments.
    VariableFlags,
}

impl KeyFlag {
    pub const ALL: [KeyFlag; 11] = [
        Self::Ro,
        Self::Rw,
        Self::Ow,
        Self::Rm,
        Self::Access,
        Self::Update,
        Self::Insert,
        Self::Delete,
        Self::NotKey,
        Self::Incomplete,
        Self::VariableFlags,
    ];

    /// As `COMMAND INFO` spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ro => "RO",
            Self::Rw => "RW",
            Self::Ow => "OW",
            Self::Rm => "RM",
            Self::Access => "access",
            Self::Update => "update",
            Self::Insert => "insert",
            Self::Delete => "delete",
            Self::NotKey => "not_key",
            Self::Incomplete => "incomplete",
            Self::VariableFlags => "variable_flags",
        }
    }
}

/// A set of [`KeyFlag`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyFlags(u16);

impl KeyFlags {
    pub const fn of(flags: &[KeyFlag]) -> Self {
        let mut bits = 0;
        let mut at = 0;
        while at < flags.len() {
            bits |= 1 << flags[at] as u16;
            at += 1;
        }
        Self(bits)
    }

    pub const fn has(self, flag: KeyFlag) -> bool {
        self.0 & (1 << flag as u16) != 0
    }

    pub fn iter(self) -> impl Iterator<Item = KeyFlag> {
        KeyFlag::ALL.into_iter().filter(move |flag| self.has(*flag))
    }
}

/// Where a cluster client sends a command that its keys do not route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestPolicy {
    /// By its keys, or to any node when it has none.
    Default,
    /// To every node, primaries and replicas (`CONFIG SET`).
    AllNodes,
    /// To every primary (`FLUSHALL`, `KEYS`).
    AllShards,
    /// Split by the slots of its keys (`MGET`, `DEL`).
    MultiShard,
    /// Only the client knows (`SCAN`).
    Special,
}

/// How a cluster client combines the replies of several nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponsePolicy {
    Default,
    OneSucceeded,
    AllSucceeded,
    AggLogicalAnd,
    AggLogicalOr,
    AggMin,
    AggMax,
    AggSum,
    Special,
}

impl RequestPolicy {
    /// As the `request_policy:` tip spells it; `None` for the default.
    pub const fn name(self) -> Option<&'static str> {
        match self {
            Self::Default => None,
            Self::AllNodes => Some("all_nodes"),
            Self::AllShards => Some("all_shards"),
            Self::MultiShard => Some("multi_shard"),
            Self::Special => Some("special"),
        }
    }
}

impl ResponsePolicy {
    /// As the `response_policy:` tip spells it; `None` for the default.
    pub const fn name(self) -> Option<&'static str> {
        match self {
            Self::Default => None,
            Self::OneSucceeded => Some("one_succeeded"),
            Self::AllSucceeded => Some("all_succeeded"),
            Self::AggLogicalAnd => Some("agg_logical_and"),
            Self::AggLogicalOr => Some("agg_logical_or"),
            Self::AggMin => Some("agg_min"),
            Self::AggMax => Some("agg_max"),
            Self::AggSum => Some("agg_sum"),
            Self::Special => Some("special"),
        }
    }
}

/// What the files in `commands/` import.
pub(super) mod prelude {
    pub use super::super::Shape;
    pub use super::Flag::*;
    pub use super::KeyFlag::*;
    pub use super::{
        at, cmd, keyword, unknown, CommandSpec, RequestPolicy, ResponsePolicy, Timeout,
    };
}
