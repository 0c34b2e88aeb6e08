//! Where one command goes in a cluster, read from the command table: its
//! keys' slot, a split by slot (`MGET`, `DEL` across slots), every primary
//! or every node (`DBSIZE`, `CONFIG SET`), or any one node.

use redis::Value;

use super::slot::slot_of;
use crate::command::{Command, CommandBuilder};
use crate::error::{Error, ErrorKind, Result};
use crate::table::{self, Begin, CommandSpec, Find, Flag, KeyFlag, RequestPolicy, ResponsePolicy};

/// Commands whose keys may rightly be none (a script or function given no
/// keys runs on any node), as redis-py exempts them; any other command with
/// key positions needs a key to be routed.
const KEYS_OPTIONAL: &[&str] = &[
    "EVAL",
    "EVALSHA",
    "EVAL_RO",
    "EVALSHA_RO",
    "FCALL",
    "FCALL_RO",
];

/// Where a command goes.
#[derive(Debug)]
pub(crate) enum Plan {
    /// Its keys are all in this slot (or, in several slots, the first key's:
    /// that server then answers `CROSSSLOT`, as it should).
    Slot { slot: u16, read: bool },
    /// No key says: the cluster's default node.
    Default,
    /// To every primary (`all_nodes`: and every replica), replies combined.
    Fanout { all_nodes: bool, combine: Combine },
    /// Split into one command per slot, replies combined.
    Split { parts: Vec<Part>, combine: Combine },
}

/// One slot's share of a split command.
#[derive(Debug)]
pub(crate) struct Part {
    pub slot: u16,
    pub cmd: Command,
    /// Where its keys were in the original command (0 is the first key),
    /// so an `MGET`'s values go back in the order asked.
    pub positions: Vec<usize>,
}

/// How the replies of several nodes (or slots) become one.
#[derive(Debug, Clone)]
pub(crate) enum Combine {
    /// Integers added (`DEL`, `EXISTS`, `DBSIZE`).
    Sum,
    Min,
    Max,
    /// Integers (or arrays of them, element by element) as booleans.
    And,
    Or,
    /// Arrays joined (`KEYS`); anything else: the first reply.
    Concat,
    /// Every node must succeed; the first reply stands for all.
    AllSucceeded,
    /// One success is enough.
    OneSucceeded,
    /// Each part's array of values put back at its keys' positions (`MGET`).
    InOrder {
        total: usize,
    },
}

impl Combine {
    fn for_policy(policy: ResponsePolicy) -> Self {
        match policy {
            ResponsePolicy::AggSum => Self::Sum,
            ResponsePolicy::AggMin => Self::Min,
            ResponsePolicy::AggMax => Self::Max,
            ResponsePolicy::AggLogicalAnd => Self::And,
            ResponsePolicy::AggLogicalOr => Self::Or,
            ResponsePolicy::AllSucceeded => Self::AllSucceeded,
            ResponsePolicy::OneSucceeded => Self::OneSucceeded,
            ResponsePolicy::Default | ResponsePolicy::Special => Self::Concat,
        }
    }
}

/// Decides where `cmd` goes.
pub(crate) fn plan(cmd: &Command) -> Result<Plan> {
    let Some(spec) = table::lookup(cmd) else {
        // Unknown to the table (a module's command): its first argument is
        // the best guess at a key, as redis-py's fallback (`COMMAND GETKEYS`
        // aside) would not know better; with none, the default node.
        return Ok(cmd.args().nth(1).map_or(Plan::Default, |key| Plan::Slot {
            slot: slot_of(key),
            read: false,
        }));
    };
    let words: Vec<&[u8]> = cmd.args().collect();
    let keys = table::keys_of(spec, &words);
    let read = spec.has(Flag::Readonly);
    if keys.is_empty() {
        if needs_key(spec) {
            return Err(missing_key(&words));
        }
        return Ok(keyless(spec));
    }
    let first = slot_of(keys[0]);
    if keys.iter().all(|key| slot_of(key) == first) {
        return Ok(Plan::Slot { slot: first, read });
    }
    if spec.request_policy == RequestPolicy::MultiShard {
        if let Some(plan) = split(spec, &words)? {
            return Ok(plan);
        }
    }
    Ok(Plan::Slot { slot: first, read })
}

/// A keyless command, by its request policy. A reply only the client can
/// make sense of (`special`: `INFO`, `RANDOMKEY`, `SCAN`) comes from one
/// node, as redis-py sends those to its default node.
fn keyless(spec: &CommandSpec) -> Plan {
    let special = spec.response_policy == ResponsePolicy::Special;
    match spec.request_policy {
        RequestPolicy::AllShards if !special => Plan::Fanout {
            all_nodes: false,
            combine: Combine::for_policy(spec.response_policy),
        },
        RequestPolicy::AllNodes if !special => Plan::Fanout {
            all_nodes: true,
            combine: Combine::for_policy(spec.response_policy),
        },
        _ => Plan::Default,
    }
}

/// Splits a multi-key command whose arguments are keys (each maybe followed
/// by its values: `MSET k v`) into one command per slot. `None` when its
/// arguments do not come in whole groups (the server will say what is wrong).
fn split(spec: &CommandSpec, words: &[&[u8]]) -> Result<Option<Plan>> {
    let [key_spec] = spec.keys else {
        return Ok(None);
    };
    let (Begin::Index(1), Find::Range { last: -1, step, .. }) = (key_spec.begin, key_spec.find)
    else {
        return Ok(None);
    };
    let step = usize::from(step.max(1));
    let groups = &words[1..];
    if groups.is_empty() || groups.len() % step != 0 {
        return Ok(None);
    }
    let combine = match spec.response_policy {
        ResponsePolicy::AggSum => Combine::Sum,
        ResponsePolicy::Default => Combine::InOrder {
            total: groups.len() / step,
        },
        // All or nothing (`MSET`): split, it could half succeed.
        _ => return Err(cross_slot(spec.name, groups.chunks(step).map(|g| g[0]))),
    };
    let mut parts: Vec<(u16, CommandBuilder, Vec<usize>)> = Vec::new();
    for (at, group) in groups.chunks(step).enumerate() {
        let slot = slot_of(group[0]);
        let index = parts
            .iter()
            .position(|(known, _, _)| *known == slot)
            .unwrap_or_else(|| {
                let mut builder = CommandBuilder::new();
                builder.arg(words[0]);
                parts.push((slot, builder, Vec::new()));
                parts.len() - 1
            });
        let (_, builder, positions) = &mut parts[index];
        for word in group {
            builder.arg(word);
        }
        positions.push(at);
    }
    let parts = parts
        .into_iter()
        .map(|(slot, builder, positions)| {
            Ok(Part {
                slot,
                cmd: builder.finish()?,
                positions,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(Plan::Split { parts, combine }))
}

/// Whether the command has key positions that must hold a key: a command
/// sent without its key has no slot, and sending it to some node would
/// only get that node's arity error (redis-py refuses it before sending).
pub(crate) fn needs_key(spec: &CommandSpec) -> bool {
    !KEYS_OPTIONAL.contains(&spec.name)
        && spec
            .keys
            .iter()
            .any(|key| !key.flags.has(KeyFlag::NotKey) && key.begin != Begin::Unknown)
}

/// The error for a command that needs a key and has none, as redis-py's.
#[cold]
pub(crate) fn missing_key(words: &[&[u8]]) -> Error {
    let shown: Vec<String> = words
        .iter()
        .map(|word| String::from_utf8_lossy(word).into_owned())
        .collect();
    Error::new(
        ErrorKind::Cluster,
        format!(
            "No way to dispatch this command to Redis Cluster. Missing key.\n\
             You can execute the command by specifying target nodes.\nCommand: {}",
            shown.join(" ")
        ),
    )
}

/// The error for an atomic command whose keys are in different slots,
/// naming each key and its slot.
#[cold]
pub(crate) fn cross_slot<'a>(name: &str, keys: impl Iterator<Item = &'a [u8]>) -> Error {
    let listed: Vec<String> = keys
        .map(|key| format!("{} (slot {})", String::from_utf8_lossy(key), slot_of(key)))
        .collect();
    Error::new(
        ErrorKind::Cluster,
        format!(
            "{name} - all keys must map to the same key slot; these do not: {}",
            listed.join(", ")
        ),
    )
}

/// Combines the outcomes of the parts of one request, in part order.
pub(crate) fn combine(
    how: &Combine,
    outcomes: Vec<Result<Value>>,
    parts: &[Vec<usize>],
) -> Result<Value> {
    if let Combine::OneSucceeded = how {
        let mut first_err = None;
        for outcome in outcomes {
            match outcome {
                Ok(value) => return Ok(value),
                Err(err) => {
                    first_err.get_or_insert(err);
                }
            }
        }
        return Err(first_err.unwrap_or_else(no_nodes));
    }
    let values = outcomes.into_iter().collect::<Result<Vec<Value>>>()?;
    match how {
        Combine::Sum => fold_ints(&values, 0, |a, b| a + b).map(Value::Int),
        Combine::Min => fold_ints(&values, i64::MAX, i64::min).map(Value::Int),
        Combine::Max => fold_ints(&values, i64::MIN, i64::max).map(Value::Int),
        Combine::And => Ok(logical(values, true)),
        Combine::Or => Ok(logical(values, false)),
        Combine::AllSucceeded | Combine::OneSucceeded => {
            values.into_iter().next().ok_or_else(no_nodes)
        }
        Combine::Concat => {
            if values.iter().all(|v| matches!(v, Value::Array(_))) {
                let mut all = Vec::new();
                for value in values {
                    if let Value::Array(items) = value {
                        all.extend(items);
                    }
                }
                Ok(Value::Array(all))
            } else {
                values.into_iter().next().ok_or_else(no_nodes)
            }
        }
        Combine::InOrder { total } => {
            let mut merged = vec![Value::Nil; *total];
            for (value, positions) in values.into_iter().zip(parts) {
                let Value::Array(items) = value else {
                    return Err(Error::new(
                        ErrorKind::Protocol,
                        format!("a split command answered {value:?}, not an array"),
                    ));
                };
                for (item, &at) in items.into_iter().zip(positions) {
                    merged[at] = item;
                }
            }
            Ok(Value::Array(merged))
        }
    }
}

fn fold_ints(values: &[Value], start: i64, f: impl Fn(i64, i64) -> i64) -> Result<i64> {
    values.iter().try_fold(start, |acc, value| match value {
        Value::Int(n) => Ok(f(acc, *n)),
        other => Err(Error::new(
            ErrorKind::Protocol,
            format!("expected an integer from every node, got {other:?}"),
        )),
    })
}

/// Integers as booleans, or arrays of them element by element
/// (`SCRIPT EXISTS`: a script exists only if every node has it).
fn logical(values: Vec<Value>, and: bool) -> Value {
    let truth = |v: &Value| matches!(v, Value::Int(n) if *n != 0);
    let join = |a: bool, b: bool| if and { a && b } else { a || b };
    let mut values = values.into_iter();
    let Some(first) = values.next() else {
        return Value::Nil;
    };
    values.fold(first, |acc, value| match (acc, value) {
        (Value::Array(a), Value::Array(b)) => Value::Array(
            a.iter()
                .zip(&b)
                .map(|(x, y)| Value::Int(i64::from(join(truth(x), truth(y)))))
                .collect(),
        ),
        (a, b) => Value::Int(i64::from(join(truth(&a), truth(&b)))),
    })
}

#[cold]
fn no_nodes() -> Error {
    Error::new(ErrorKind::Cluster, "the cluster has no node to send it to")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(words: &[&str]) -> Command {
        Command::from_args(words.iter().map(|w| w.as_bytes())).unwrap()
    }

    #[test]
    fn one_slot_commands_go_to_their_slot() {
        let Plan::Slot { slot, read } = plan(&command(&["GET", "foo"])).unwrap() else {
            panic!("not a slot")
        };
        assert_eq!((slot, read), (12182, true));
        let Plan::Slot { read, .. } = plan(&command(&["SET", "foo", "1"])).unwrap() else {
            panic!("not a slot")
        };
        assert!(!read);
        // Same hash tag: one slot, no split.
        assert!(matches!(
            plan(&command(&["MSET", "{a}1", "x", "{a}2", "y"])).unwrap(),
            Plan::Slot { .. }
        ));
    }

    #[test]
    fn multi_key_commands_split_by_slot() {
        let Plan::Split { parts, combine } = plan(&command(&["MGET", "a", "b", "{a}c"])).unwrap()
        else {
            panic!("not split")
        };
        assert!(matches!(combine, Combine::InOrder { total: 3 }));
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].positions, [0, 2]);
        assert_eq!(parts[1].positions, [1]);
        let words: Vec<&[u8]> = parts[0].cmd.args().collect();
        assert_eq!(words, [&b"MGET"[..], b"a", b"{a}c"]);
        assert!(matches!(
            plan(&command(&["DEL", "a", "b"])).unwrap(),
            Plan::Split {
                combine: Combine::Sum,
                ..
            }
        ));
    }

    #[test]
    fn mset_across_slots_is_refused_naming_the_keys() {
        let err = plan(&command(&["MSET", "a", "1", "b", "2"])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Cluster);
        assert!(
            err.message().contains("a (slot 15495)"),
            "{}",
            err.message()
        );
        assert!(err.message().contains("b (slot 3300)"), "{}", err.message());
    }

    #[test]
    fn a_keyed_command_without_its_key_is_refused() {
        for words in [&["GET"][..], &["XREAD", "COUNT", "1"], &["LMOVE"]] {
            let err = plan(&command(words)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Cluster);
            assert!(err.message().contains("Missing key"), "{}", err.message());
        }
        // A script or function given no keys runs on any node.
        for words in [&["EVAL", "return 1", "0"][..], &["FCALL", "f", "0"]] {
            assert!(matches!(plan(&command(words)).unwrap(), Plan::Default));
        }
        // A shard channel is not a key, and a keyless command has none.
        assert!(plan(&command(&["PING"])).is_ok());
    }

    #[test]
    fn keyless_commands_by_policy() {
        assert!(matches!(
            plan(&command(&["DBSIZE"])).unwrap(),
            Plan::Fanout {
                all_nodes: false,
                combine: Combine::Sum
            }
        ));
        assert!(matches!(
            plan(&command(&["KEYS", "*"])).unwrap(),
            Plan::Fanout {
                combine: Combine::Concat,
                ..
            }
        ));
        assert!(matches!(plan(&command(&["INFO"])).unwrap(), Plan::Default));
        assert!(matches!(
            plan(&command(&["CONFIG", "SET", "x", "y"])).unwrap(),
            Plan::Fanout {
                all_nodes: true,
                ..
            }
        ));
    }

    #[test]
    fn combining_replies() {
        let ok = |v| Ok(v);
        assert_eq!(
            combine(
                &Combine::Sum,
                vec![ok(Value::Int(2)), ok(Value::Int(3))],
                &[]
            )
            .unwrap(),
            Value::Int(5)
        );
        let merged = combine(
            &Combine::InOrder { total: 3 },
            vec![
                ok(Value::Array(vec![Value::Int(0), Value::Int(2)])),
                ok(Value::Array(vec![Value::Int(1)])),
            ],
            &[vec![0, 2], vec![1]],
        )
        .unwrap();
        assert_eq!(
            merged,
            Value::Array(vec![Value::Int(0), Value::Int(1), Value::Int(2)])
        );
        let and = combine(
            &Combine::And,
            vec![
                ok(Value::Array(vec![Value::Int(1), Value::Int(1)])),
                ok(Value::Array(vec![Value::Int(1), Value::Int(0)])),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(and, Value::Array(vec![Value::Int(1), Value::Int(0)]));
        let failed = Err(Error::new(ErrorKind::Connection, "down"));
        assert!(combine(&Combine::Sum, vec![ok(Value::Int(1)), failed.clone()], &[]).is_err());
        assert_eq!(
            combine(&Combine::OneSucceeded, vec![failed, ok(Value::Int(1))], &[]).unwrap(),
            Value::Int(1)
        );
    }
}
