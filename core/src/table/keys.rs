//! A command's keys, found by its entry's key specs the way the servers
//! find them (`COMMAND GETKEYS`): what a cluster router hashes to a slot.

use super::spec::{Begin, CommandSpec, Find, KeyFlag, KeySpec};

/// The keys of a command given as its words (name first), in the order of
/// the entry's specs. Specs the table cannot follow (`Unknown`: `SORT`'s
/// `STORE`) and names that are not keys (a shard channel) give nothing; a
/// spec that does not fit the words (too few of them, a count that is not a
/// number) gives what it found before that, as the server then refuses the
/// command anyway.
pub fn keys_of<'a>(spec: &CommandSpec, words: &[&'a [u8]]) -> Vec<&'a [u8]> {
    let mut keys = Vec::new();
    for key_spec in spec.keys {
        if key_spec.flags.has(KeyFlag::NotKey) {
            continue;
        }
        if let Some(positions) = positions(key_spec, words) {
            keys.extend(positions.map(|at| words[at]));
        }
    }
    keys
}

/// The positions of one spec's keys in `words`.
fn positions(spec: &KeySpec, words: &[&[u8]]) -> Option<impl Iterator<Item = usize>> {
    let count = words.len();
    let begin = match spec.begin {
        Begin::Index(at) => usize::from(at),
        Begin::Keyword { keyword, from } => after_keyword(words, keyword, from)?,
        Begin::Unknown => return None,
    };
    if begin >= count {
        return None;
    }
    let (first, last, step) = match spec.find {
        Find::Range { last, step, limit } => {
            let last = if last >= 0 {
                begin + last as usize
            } else if limit <= 1 {
                count.checked_sub(usize::from(last.unsigned_abs()))?
            } else {
                // Only `last == -1` goes with a limit: the first 1/limit of
                // the words left (`XREAD ... STREAMS k1 k2 id1 id2`).
                (begin + (count - begin) / usize::from(limit)).checked_sub(1)?
            };
            (begin, last, usize::from(step))
        }
        Find::KeyNum {
            count: at,
            first,
            step,
        } => {
            let number = words.get(begin + usize::from(at))?;
            let keys: usize = std::str::from_utf8(number).ok()?.parse().ok()?;
            let first = begin + usize::from(first);
            if keys == 0 {
                return Some(empty(first));
            }
            (
                first,
                first + (keys - 1) * usize::from(step),
                usize::from(step),
            )
        }
        Find::Unknown => return None,
    };
    if step == 0 || last < first {
        return Some(empty(first));
    }
    // Words missing at the end: the keys that are there.
    let last = last.min(count - 1);
    Some((first..=last).step_by(step))
}

/// An empty run of positions, of the same type as a full one.
fn empty(at: usize) -> std::iter::StepBy<std::ops::RangeInclusive<usize>> {
    #[allow(clippy::reversed_empty_ranges)]
    (at + 1..=at).step_by(1)
}

/// Where the keys start after `keyword`: searched for forwards from
/// `from`, or backwards from `count + from` when `from` is negative.
fn after_keyword(words: &[&[u8]], keyword: &str, from: i16) -> Option<usize> {
    let count = words.len();
    let is_keyword = |at: &usize| words[*at].eq_ignore_ascii_case(keyword.as_bytes());
    let found = if from >= 0 {
        (usize::from(from.unsigned_abs())..count).find(is_keyword)
    } else {
        let start = count.checked_sub(usize::from(from.unsigned_abs()))?;
        (1..=start).rev().find(is_keyword)
    };
    found.map(|at| at + 1)
}

#[cfg(test)]
mod tests {
    use super::super::spec::prelude::*;
    use super::*;

    fn keys<'a>(spec: &CommandSpec, words: &[&'a str]) -> Vec<&'a str> {
        let words: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
        keys_of(spec, &words)
            .into_iter()
            .map(|key| std::str::from_utf8(key).unwrap())
            .collect()
    }

    const GET: CommandSpec = cmd("GET", &[Readonly]).keys(&[at(1)]);
    const DEL: CommandSpec = cmd("DEL", &[Write]).keys(&[at(1).range(-1, 1, 0)]);
    const BLPOP: CommandSpec = cmd("BLPOP", &[Write]).keys(&[at(1).range(-2, 1, 0)]);
    const MSET: CommandSpec = cmd("MSET", &[Write]).keys(&[at(1).range(-1, 2, 0)]);
    const SMOVE: CommandSpec = cmd("SMOVE", &[Write]).keys(&[at(1), at(2)]);
    const ZUNIONSTORE: CommandSpec =
        cmd("ZUNIONSTORE", &[Write]).keys(&[at(1), at(2).keynum(0, 1, 1)]);
    const EVAL: CommandSpec = cmd("EVAL", &[]).keys(&[at(2).keynum(0, 1, 1)]);
    const BLMPOP: CommandSpec = cmd("BLMPOP", &[Write]).keys(&[at(2).keynum(0, 1, 1)]);
    const XREAD: CommandSpec =
        cmd("XREAD", &[Readonly]).keys(&[keyword("STREAMS", 1).range(-1, 1, 2)]);
    const MIGRATE: CommandSpec = cmd("MIGRATE", &[Write]).keys(&[
        at(3),
        keyword("KEYS", -2).range(-1, 1, 0).flags(&[Incomplete]),
    ]);
    const GEORADIUS: CommandSpec = cmd("GEORADIUS", &[Write]).keys(&[at(1), keyword("STORE", 6)]);
    const SORT: CommandSpec = cmd("SORT", &[Write]).keys(&[at(1), unknown(), unknown()]);
    const SPUBLISH: CommandSpec = cmd("SPUBLISH", &[Pubsub]).keys(&[at(1).flags(&[NotKey])]);

    #[test]
    fn one_key_at_an_index() {
        assert_eq!(keys(&GET, &["GET", "k"]), ["k"]);
        assert_eq!(keys(&GET, &["GET"]), Vec::<&str>::new());
    }

    #[test]
    fn ranges_to_the_end_and_with_a_step() {
        assert_eq!(keys(&DEL, &["DEL", "a", "b", "c"]), ["a", "b", "c"]);
        assert_eq!(keys(&BLPOP, &["BLPOP", "a", "b", "0"]), ["a", "b"]);
        assert_eq!(keys(&MSET, &["MSET", "a", "1", "b", "2"]), ["a", "b"]);
        assert_eq!(keys(&SMOVE, &["SMOVE", "s", "d", "m"]), ["s", "d"]);
    }

    #[test]
    fn a_count_of_keys() {
        assert_eq!(
            keys(
                &ZUNIONSTORE,
                &["ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"]
            ),
            ["d", "a", "b"]
        );
        assert_eq!(
            keys(&EVAL, &["EVAL", "return 1", "0", "x"]),
            Vec::<&str>::new()
        );
        assert_eq!(keys(&EVAL, &["EVAL", "s", "1", "k", "arg"]), ["k"]);
        // Not a number, or more keys than words: what is there.
        assert_eq!(keys(&EVAL, &["EVAL", "s", "many", "k"]), Vec::<&str>::new());
        assert_eq!(keys(&EVAL, &["EVAL", "s", "3", "k"]), ["k"]);
        assert_eq!(
            keys(&BLMPOP, &["BLMPOP", "0", "2", "a", "b", "LEFT"]),
            ["a", "b"]
        );
    }

    #[test]
    fn keys_after_a_keyword() {
        assert_eq!(
            keys(
                &XREAD,
                &["XREAD", "COUNT", "2", "streams", "a", "b", "0", "0"]
            ),
            ["a", "b"]
        );
        assert_eq!(keys(&XREAD, &["XREAD", "COUNT", "2"]), Vec::<&str>::new());
        // MIGRATE's KEYS is searched for backwards from the end. (The
        // server's own parsing also leaves out the empty key before it.)
        assert_eq!(keys(&MIGRATE, &["MIGRATE", "h", "1", "k", "0", "5"]), ["k"]);
        assert_eq!(
            keys(
                &MIGRATE,
                &["MIGRATE", "h", "1", "", "0", "5", "KEYS", "a", "b"]
            ),
            ["", "a", "b"]
        );
        assert_eq!(
            keys(
                &GEORADIUS,
                &["GEORADIUS", "g", "0", "0", "1", "km", "STORE", "d"]
            ),
            ["g", "d"]
        );
    }

    #[test]
    fn unknown_specs_and_names_that_are_not_keys_give_nothing() {
        assert_eq!(keys(&SORT, &["SORT", "l", "STORE", "d"]), ["l"]);
        assert_eq!(
            keys(&SPUBLISH, &["SPUBLISH", "ch", "m"]),
            Vec::<&str>::new()
        );
    }
}
