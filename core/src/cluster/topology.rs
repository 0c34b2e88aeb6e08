//! The slot map: which primary (and which replicas) serve each of the
//! 16384 slots, read from `CLUSTER SLOTS`.
//!
//! `CLUSTER SLOTS` rather than `CLUSTER SHARDS`: both servers of the test
//! matrix answer it (Redis 7.0, Valkey 9.1), it needs one reply per range
//! and no nested maps, and it lists only the nodes that serve slots.

use std::collections::BTreeSet;
use std::sync::Arc;

use redis::Value;

use super::slot::SLOTS;
use crate::error::{Error, ErrorKind, Result};

/// A node's address as the cluster names it: `host:port`.
pub type NodeName = Arc<str>;

/// A primary and its replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    pub primary: NodeName,
    pub replicas: Vec<NodeName>,
}

/// Every slot's shard. Slots nobody serves are `None`.
#[derive(Debug, Clone)]
pub struct SlotMap {
    slots: Vec<Option<Arc<Shard>>>,
}

impl SlotMap {
    /// Reads a `CLUSTER SLOTS` reply. `asked` is the node that answered: a
    /// node listed with an empty or unknown host (`""`, `"?"`) is on its host.
    pub fn from_cluster_slots(reply: &Value, asked_host: &str) -> Result<Self> {
        let Value::Array(ranges) = reply else {
            return Err(bad(&format!("CLUSTER SLOTS answered {reply:?}")));
        };
        let mut slots: Vec<Option<Arc<Shard>>> = vec![None; usize::from(SLOTS)];
        for range in ranges {
            let Value::Array(fields) = range else {
                return Err(bad("a CLUSTER SLOTS range is not an array"));
            };
            let (Some(start), Some(end)) = (
                fields.first().and_then(integer),
                fields.get(1).and_then(integer),
            ) else {
                return Err(bad("a CLUSTER SLOTS range has no bounds"));
            };
            if start > end || end >= i64::from(SLOTS) || start < 0 {
                return Err(bad(&format!("CLUSTER SLOTS range {start}-{end}")));
            }
            let mut nodes = fields[2..].iter().map(|node| node_name(node, asked_host));
            let primary = nodes
                .next()
                .ok_or_else(|| bad("a CLUSTER SLOTS range has no primary"))??;
            let replicas = nodes.collect::<Result<Vec<_>>>()?;
            let shard = Arc::new(Shard { primary, replicas });
            for slot in start..=end {
                slots[slot as usize] = Some(Arc::clone(&shard));
            }
        }
        Ok(Self { slots })
    }

    pub fn shard(&self, slot: u16) -> Option<&Arc<Shard>> {
        self.slots.get(usize::from(slot))?.as_ref()
    }

    /// Whether both maps give every slot the same primary and replicas.
    pub fn same_layout(&self, other: &Self) -> bool {
        self.slots == other.slots
    }

    /// Whether every slot has a primary (`require_full_coverage`).
    pub fn is_complete(&self) -> bool {
        self.slots.iter().all(Option::is_some)
    }

    /// After a `MOVED`: `slot` is served by `primary` now. A primary that
    /// already serves other slots keeps its replicas; otherwise the next
    /// refresh fills them in.
    pub fn move_slot(&mut self, slot: u16, primary: &NodeName) {
        let known = self
            .shards()
            .into_iter()
            .find(|shard| &shard.primary == primary);
        let shard = known.unwrap_or_else(|| {
            Arc::new(Shard {
                primary: Arc::clone(primary),
                replicas: Vec::new(),
            })
        });
        if let Some(entry) = self.slots.get_mut(usize::from(slot)) {
            *entry = Some(shard);
        }
    }

    /// Every distinct shard, in the order of their first slot.
    pub fn shards(&self) -> Vec<Arc<Shard>> {
        let mut seen: Vec<Arc<Shard>> = Vec::new();
        for shard in self.slots.iter().flatten() {
            if !seen.iter().any(|known| Arc::ptr_eq(known, shard)) {
                seen.push(Arc::clone(shard));
            }
        }
        seen
    }

    pub fn primaries(&self) -> Vec<NodeName> {
        self.primary_slots()
            .into_iter()
            .map(|(primary, _)| primary)
            .collect()
    }

    /// Every primary with the first slot it serves, in slot order: a slot
    /// names the primary's shard, so a request sent to "the primary of this
    /// slot" finds the shard's new primary after a failover.
    pub fn primary_slots(&self) -> Vec<(NodeName, u16)> {
        let mut found: Vec<(NodeName, u16)> = Vec::new();
        let mut last: Option<&Arc<Shard>> = None;
        for (slot, shard) in (0..SLOTS).zip(&self.slots) {
            let Some(shard) = shard else { continue };
            if last.is_some_and(|last| Arc::ptr_eq(last, shard)) {
                continue;
            }
            last = Some(shard);
            if !found.iter().any(|(known, _)| known == &shard.primary) {
                found.push((Arc::clone(&shard.primary), slot));
            }
        }
        found
    }

    /// The shard `node` belongs to here, as its primary or a replica.
    pub fn shard_of(&self, node: &str) -> Option<&Arc<Shard>> {
        self.slots.iter().flatten().find(|shard| {
            &*shard.primary == node || shard.replicas.iter().any(|replica| &**replica == node)
        })
    }

    pub fn replicas(&self) -> Vec<NodeName> {
        let mut names: BTreeSet<NodeName> = BTreeSet::new();
        for shard in self.shards() {
            names.extend(shard.replicas.iter().cloned());
        }
        let primaries = self.primaries();
        names
            .into_iter()
            .filter(|name| !primaries.contains(name))
            .collect()
    }
}

fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Int(n) => Some(*n),
        _ => None,
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

/// `[host, port, id, ...]` as `host:port`.
fn node_name(node: &Value, asked_host: &str) -> Result<NodeName> {
    let Value::Array(fields) = node else {
        return Err(bad("a CLUSTER SLOTS node is not an array"));
    };
    let host = fields.first().and_then(text).unwrap_or_default();
    let port = fields
        .get(1)
        .and_then(integer)
        .ok_or_else(|| bad("a CLUSTER SLOTS node has no port"))?;
    let host = if host.is_empty() || host == "?" {
        asked_host.to_owned()
    } else {
        host
    };
    Ok(Arc::from(format!("{host}:{port}")))
}

/// Splits `host:port` (the host may be an IPv6 address with colons).
pub fn split_name(name: &str) -> Option<(&str, u16)> {
    let (host, port) = name.rsplit_once(':')?;
    Some((host, port.parse().ok()?))
}

#[cold]
fn bad(what: &str) -> Error {
    Error::new(ErrorKind::Protocol, what.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(host: &str, port: i64) -> Value {
        Value::Array(vec![
            Value::BulkString(host.as_bytes().to_vec()),
            Value::Int(port),
            Value::BulkString(b"id".to_vec()),
        ])
    }

    fn range(start: i64, end: i64, nodes: Vec<Value>) -> Value {
        let mut fields = vec![Value::Int(start), Value::Int(end)];
        fields.extend(nodes);
        Value::Array(fields)
    }

    #[test]
    fn reads_ranges_primaries_and_replicas() {
        let reply = Value::Array(vec![
            range(
                0,
                8191,
                vec![node("10.0.0.1", 7000), node("10.0.0.2", 7001)],
            ),
            range(8192, 16383, vec![node("", 7002)]),
        ]);
        let map = SlotMap::from_cluster_slots(&reply, "127.0.0.1").unwrap();
        assert!(map.is_complete());
        assert_eq!(&*map.shard(0).unwrap().primary, "10.0.0.1:7000");
        assert_eq!(&*map.shard(8191).unwrap().replicas[0], "10.0.0.2:7001");
        // An empty host is the host that answered.
        assert_eq!(&*map.shard(16383).unwrap().primary, "127.0.0.1:7002");
        assert_eq!(map.primaries().len(), 2);
        assert_eq!(map.replicas().len(), 1);
    }

    #[test]
    fn each_primary_with_its_first_slot() {
        // A primary serving two ranges is named once, by its first slot.
        let reply = Value::Array(vec![
            range(100, 200, vec![node("h", 2)]),
            range(0, 99, vec![node("h", 1)]),
            range(201, 300, vec![node("h", 1)]),
        ]);
        let map = SlotMap::from_cluster_slots(&reply, "h").unwrap();
        let found: Vec<(String, u16)> = map
            .primary_slots()
            .into_iter()
            .map(|(name, slot)| (name.to_string(), slot))
            .collect();
        assert_eq!(found, [("h:1".to_owned(), 0), ("h:2".to_owned(), 100)]);
        assert_eq!(map.primaries().len(), 2);
    }

    #[test]
    fn uncovered_slots_and_moves() {
        let reply = Value::Array(vec![range(0, 100, vec![node("h", 1)])]);
        let mut map = SlotMap::from_cluster_slots(&reply, "h").unwrap();
        assert!(!map.is_complete());
        assert!(map.shard(101).is_none());
        map.move_slot(101, &Arc::from("h:1"));
        assert!(Arc::ptr_eq(map.shard(101).unwrap(), map.shard(0).unwrap()));
        map.move_slot(0, &Arc::from("h:2"));
        assert_eq!(&*map.shard(0).unwrap().primary, "h:2");
        assert_eq!(&*map.shard(1).unwrap().primary, "h:1");
    }

    #[test]
    fn refuses_what_is_not_a_slot_map() {
        assert!(SlotMap::from_cluster_slots(&Value::Int(1), "h").is_err());
        let reply = Value::Array(vec![range(0, 20000, vec![node("h", 1)])]);
        assert!(SlotMap::from_cluster_slots(&reply, "h").is_err());
        let reply = Value::Array(vec![range(0, 1, vec![])]);
        assert!(SlotMap::from_cluster_slots(&reply, "h").is_err());
    }

    #[test]
    fn names_split_at_the_last_colon() {
        assert_eq!(split_name("::1:7000"), Some(("::1", 7000)));
        assert_eq!(split_name("h"), None);
    }
}
