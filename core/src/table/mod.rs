//! The command table: one entry per command, and per subcommand of a
//! container (`CLIENT LIST`, `CONFIG GET`, `XINFO STREAM`), saying what
//! everything else needs to know of it:
//!
//! - its key positions ([`KeySpec`], as the servers' `COMMAND INFO` gives
//!   them), which [`keys`] follows: what a cluster router hashes;
//! - its flags ([`Flag`]): the servers' (`write`, `readonly`, `blocking`,
//!   `pubsub`, ...) and Babushka's own: [`Flag::Dedicated`] (the core sends
//!   it on a connection of its own), [`Flag::Session`] and [`Flag::Unpaired`]
//!   (refused on the shared connection);
//! - for a blocking command, where its timeout is ([`Timeout`]), which
//!   [`blocking`] reads to extend the request's deadline;
//! - the shape its reply gets by default ([`Reply`], one [`Shape`] per
//!   protocol): what `execute_command` returns;
//! - a cluster client's request and response policies.
//!
//! The entries live in `commands/`, one file per command group, first
//! written by `tools/command_table.py` from the servers' `COMMAND INFO` and
//! `COMMAND DOCS`, then given their shapes and Babushka's flags by hand.
//! [`ABSENT`] lists the servers' commands left out on purpose, with why;
//! `tests/test_command_table.py` holds the table against both servers.
//!
//! Lookups are by name, any case: a binary search over the sorted entries
//! (then over the container's subcommands). [`blocking`] runs for every
//! command on the hot path, so it first checks the name's initial against
//! those of the blocking commands (worked out when compiling): most
//! commands stop there, the rest scan the dozen blocking ones.

mod blocking;
mod commands;
mod keys;
mod shape;
mod spec;

use std::cmp::Ordering;
use std::sync::LazyLock;

pub use blocking::Blocking;
pub use commands::{Absent, ABSENT};
pub use keys::keys_of;
pub use shape::{Reply, Shape};
pub use spec::{
    Begin, CommandSpec, Find, Flag, Flags, KeyFlag, KeyFlags, KeySpec, RequestPolicy,
    ResponsePolicy, Timeout,
};

use crate::command::Command;

/// The entry for a command given by name and, for a container, the
/// subcommand (any case). A container's unknown subcommand, or none, gives
/// the container's own entry; an unknown command gives `None`.
pub fn find(name: &[u8], subcommand: Option<&[u8]>) -> Option<&'static CommandSpec> {
    let spec = find_in(&INDEX.commands, name)?;
    match subcommand {
        Some(sub) if !spec.subcommands.is_empty() => {
            Some(find_subcommand(spec, sub).unwrap_or(spec))
        }
        _ => Some(spec),
    }
}

/// The entry for a packed command (its subcommand read when it names a
/// container).
pub fn lookup(cmd: &Command) -> Option<&'static CommandSpec> {
    let spec = find_in(&INDEX.commands, cmd.name())?;
    if spec.subcommands.is_empty() {
        return Some(spec);
    }
    Some(
        cmd.args()
            .nth(1)
            .and_then(|sub| find_subcommand(spec, sub))
            .unwrap_or(spec),
    )
}

/// How `cmd` blocks its connection, or `None` when it answers at once.
pub fn blocking(cmd: &Command) -> Option<Blocking> {
    let name = cmd.name();
    // On the hot path for every command: most stop at this one test.
    if BLOCKING_INITIALS & initial_bit(*name.first()?) == 0 {
        return None;
    }
    // A dozen names: a scan beats the binary search of the whole table.
    let spec = INDEX
        .blocking
        .iter()
        .find(|spec| spec.name.as_bytes().eq_ignore_ascii_case(name))?;
    blocking::blocking(spec, cmd)
}

/// Whether a command of this name (any case) may run on a dedicated
/// connection: [`blocking`] says `dedicated` for it with some arguments. A
/// uds wrapper asks, to watch such a request for cancellation from the
/// moment it is sent.
pub fn may_be_dedicated(name: &[u8]) -> bool {
    let Some(&initial) = name.first() else {
        return false;
    };
    BLOCKING_INITIALS & initial_bit(initial) != 0
        && INDEX.blocking.iter().any(|spec| {
            spec.has(Flag::Dedicated) && spec.name.as_bytes().eq_ignore_ascii_case(name)
        })
}

/// The keys of `cmd`, by its entry's key specs (none for a command the
/// table does not know).
pub fn keys(cmd: &Command) -> Vec<&[u8]> {
    let Some(spec) = lookup(cmd) else {
        return Vec::new();
    };
    let words: Vec<&[u8]> = cmd.args().collect();
    keys::keys_of(spec, &words)
}

/// Every entry, subcommands after their container, sorted by name.
pub fn entries() -> impl Iterator<Item = &'static CommandSpec> {
    INDEX
        .commands
        .iter()
        .flat_map(|spec| std::iter::once(*spec).chain(spec.subcommands))
}

/// The table's entries, sorted for lookups.
struct Index {
    commands: Vec<&'static CommandSpec>,
    /// The commands with a timeout (all top-level: a test checks it).
    blocking: Vec<&'static CommandSpec>,
}

static INDEX: LazyLock<Index> = LazyLock::new(|| {
    let mut commands: Vec<&'static CommandSpec> = commands::GROUPS
        .iter()
        .flat_map(|group| group.iter())
        .collect();
    commands.sort_unstable_by_key(|spec| spec.name);
    let blocking = commands
        .iter()
        .copied()
        .filter(|spec| spec.timeout.is_some())
        .collect();
    Index { commands, blocking }
});

/// Bit `n` set: a blocking command's name starts with letter `n` (`A` is
/// 0), in either case. Worked out when compiling, so checking it costs a
/// mask and a test.
const BLOCKING_INITIALS: u32 = blocking_initials(commands::GROUPS);

const fn blocking_initials(groups: &[&[CommandSpec]]) -> u32 {
    let mut bits = 0;
    let mut group = 0;
    while group < groups.len() {
        let mut at = 0;
        while at < groups[group].len() {
            let spec = &groups[group][at];
            if spec.timeout.is_some() {
                bits |= initial_bit(spec.name.as_bytes()[0]);
            }
            at += 1;
        }
        group += 1;
    }
    bits
}

const fn initial_bit(initial: u8) -> u32 {
    let letter = initial.to_ascii_uppercase();
    if letter.is_ascii_uppercase() {
        1 << (letter - b'A')
    } else {
        0
    }
}

fn find_in<'t>(sorted: &[&'t CommandSpec], name: &[u8]) -> Option<&'t CommandSpec> {
    sorted
        .binary_search_by(|spec| compare(spec.name.as_bytes(), name))
        .ok()
        .map(|at| sorted[at])
}

fn find_subcommand(container: &'static CommandSpec, sub: &[u8]) -> Option<&'static CommandSpec> {
    // Subcommands are named "CONTAINER SUB"; compare the part after the space.
    let skip = container.name.len() + 1;
    container
        .subcommands
        .binary_search_by(|spec| compare(&spec.name.as_bytes()[skip..], sub))
        .ok()
        .map(|at| &container.subcommands[at])
}

/// Orders an entry's name (upper case) against a name in any case.
fn compare(entry: &[u8], name: &[u8]) -> Ordering {
    entry
        .iter()
        .copied()
        .cmp(name.iter().map(u8::to_ascii_uppercase))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn may_be_dedicated_covers_every_command_blocking_sends_on_a_dedicated_connection() {
        for spec in entries() {
            // The wait's argument, wherever the entry reads it, as a
            // timeout that is a number; XREAD's needs BLOCK.
            let cmd = Command::from_args([spec.name, "BLOCK", "1", "STREAMS", "k", "1"]).unwrap();
            let dedicated = blocking(&cmd).is_some_and(|b| b.dedicated);
            assert!(
                !dedicated || may_be_dedicated(spec.name.as_bytes()),
                "{}",
                spec.name
            );
            assert_eq!(
                may_be_dedicated(spec.name.to_ascii_lowercase().as_bytes()),
                may_be_dedicated(spec.name.as_bytes())
            );
        }
        assert!(may_be_dedicated(b"blpop"));
        assert!(may_be_dedicated(b"XREAD"));
        assert!(!may_be_dedicated(b"GET"));
        assert!(!may_be_dedicated(b""));
    }

    #[test]
    fn finds_commands_and_subcommands_in_any_case() {
        assert_eq!(find(b"get", None).unwrap().name, "GET");
        assert_eq!(find(b"Get", Some(b"k")).unwrap().name, "GET");
        assert_eq!(find(b"client", Some(b"list")).unwrap().name, "CLIENT LIST");
        assert_eq!(find(b"CONFIG", Some(b"Get")).unwrap().name, "CONFIG GET");
        // An unknown subcommand, or none: the container.
        assert_eq!(find(b"CONFIG", Some(b"NOPE")).unwrap().name, "CONFIG");
        assert_eq!(find(b"CONFIG", None).unwrap().name, "CONFIG");
        assert!(find(b"NOSUCHCOMMAND", None).is_none());
        assert!(find(b"", None).is_none());
        let cmd = Command::from_args(["xinfo", "stream", "s"]).unwrap();
        assert_eq!(lookup(&cmd).unwrap().name, "XINFO STREAM");
        let cmd = Command::from_args(["xinfo"]).unwrap();
        assert_eq!(lookup(&cmd).unwrap().name, "XINFO");
    }

    #[test]
    fn names_are_upper_case_unique_and_subcommands_sorted_under_their_container() {
        let mut seen = HashSet::new();
        for spec in entries() {
            assert_eq!(spec.name, spec.name.to_ascii_uppercase());
            assert!(seen.insert(spec.name), "{} twice", spec.name);
            let prefix = format!("{} ", spec.name);
            for pair in spec.subcommands.windows(2) {
                assert!(pair[0].name < pair[1].name, "{} unsorted", pair[1].name);
            }
            for sub in spec.subcommands {
                assert!(
                    sub.name.starts_with(&prefix),
                    "{} in {}",
                    sub.name,
                    spec.name
                );
                assert!(sub.subcommands.is_empty());
            }
        }
        for absent in ABSENT {
            assert!(
                !seen.contains(absent.name),
                "{} is absent and there",
                absent.name
            );
            assert!(!absent.reason.is_empty());
        }
    }

    #[test]
    fn blocking_commands_say_where_their_timeout_is() {
        for spec in entries() {
            assert_eq!(
                spec.has(Flag::Blocking),
                spec.timeout.is_some(),
                "{}",
                spec.name
            );
            if spec.has(Flag::Dedicated) {
                assert!(spec.has(Flag::Blocking), "{}", spec.name);
            }
        }
        let dedicated: Vec<&str> = entries()
            .filter(|spec| spec.has(Flag::Blocking) && !spec.has(Flag::Dedicated))
            .map(|spec| spec.name)
            .collect();
        assert_eq!(dedicated, ["WAIT", "WAITAOF"]);
    }

    #[test]
    fn the_blocking_shortcut_finds_every_blocking_command() {
        for spec in entries().filter(|spec| spec.timeout.is_some()) {
            assert!(!spec.name.contains(' '), "{}: a subcommand", spec.name);
            let lower = spec.name.to_ascii_lowercase();
            assert_ne!(BLOCKING_INITIALS & initial_bit(lower.as_bytes()[0]), 0);
            assert!(INDEX.blocking.iter().any(|found| found.name == spec.name));
        }
        assert_eq!(BLOCKING_INITIALS & initial_bit(b'G'), 0);
        assert_eq!(initial_bit(b'*'), 0);
    }

    #[test]
    fn keys_of_packed_commands() {
        let cmd = Command::from_args(["mset", "a", "1", "b", "2"]).unwrap();
        assert_eq!(keys(&cmd), [b"a", b"b"]);
        let cmd = Command::from_args(["OBJECT", "ENCODING", "k"]).unwrap();
        assert_eq!(keys(&cmd), [b"k"]);
        let cmd = Command::from_args(["XREAD", "STREAMS", "s1", "s2", "0", "0"]).unwrap();
        assert_eq!(keys(&cmd), [b"s1", b"s2"]);
        let cmd = Command::from_args(["NOSUCHCOMMAND", "k"]).unwrap();
        assert!(keys(&cmd).is_empty());
    }

    #[test]
    fn legacy_ranges_follow_the_key_specs() {
        let range = |name: &str| find(name.as_bytes(), None).unwrap().legacy_range();
        assert_eq!(range("GET"), (1, 1, 1));
        assert_eq!(range("MSET"), (1, -1, 2));
        assert_eq!(range("BLPOP"), (1, -2, 1));
        assert_eq!(range("ZUNIONSTORE"), (1, 1, 1));
        assert_eq!(range("XREAD"), (0, 0, 0));
        assert_eq!(range("PING"), (0, 0, 0));
        assert!(find(b"ZUNIONSTORE", None).unwrap().movable_keys());
        assert!(!find(b"GET", None).unwrap().movable_keys());
        assert!(find(b"MIGRATE", None).unwrap().movable_keys());
    }
}
