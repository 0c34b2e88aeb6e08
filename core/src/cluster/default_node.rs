//! The node a cluster client's keyless commands go to when the caller chose
//! one (redis-py's `set_default_node`); otherwise the slot map's first
//! primary.

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

use super::topology::{split_name, NodeName, SlotMap};
use crate::error::{Error, ErrorKind, Result};

/// A node chosen as the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    pub node: NodeName,
    /// A replica when chosen. A primary chosen stands for its shard, so
    /// that after a failover the default follows to the shard's new primary
    /// (as redis-py's default node follows a `MOVED` to the promoted
    /// replica) instead of sending keyless writes to a replica.
    pub replica: bool,
}

/// The caller's choice, shared with whoever must pass it on: the uds codec
/// tells the socket listener's client of every change (see `changes`).
#[derive(Debug, Default)]
pub struct DefaultNode {
    chosen: RwLock<Option<Chosen>>,
    /// Counts the changes, so that a holder can tell cheaply whether it has
    /// passed the latest choice on.
    changes: AtomicU64,
}

impl DefaultNode {
    /// Chooses a node (`host:port`), or the slot map's first primary again
    /// with `None`. Refuses a name that is not `host:port`.
    pub fn set(&self, chosen: Option<Chosen>) -> Result<()> {
        if let Some(Chosen { node, .. }) = &chosen {
            if split_name(node).is_none() {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("a default node is named host:port, got {node:?}"),
                ));
            }
        }
        *self.chosen.write() = chosen;
        self.changes.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// The choice, if any (whether or not the map still has the node).
    pub fn chosen(&self) -> Option<Chosen> {
        self.chosen.read().clone()
    }

    /// How many times the choice changed.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    /// The default node on `map`: a replica chosen while the map has it, the
    /// current primary of a chosen primary's shard, else (nothing chosen, or
    /// a node that left the cluster) the map's first primary.
    pub fn on(&self, map: &SlotMap) -> Result<NodeName> {
        if let Some(chosen) = self.chosen.read().as_ref() {
            if let Some(shard) = map.shard_of(&chosen.node) {
                return Ok(if chosen.replica {
                    chosen.node.clone()
                } else {
                    shard.primary.clone()
                });
            }
        }
        map.primaries()
            .into_iter()
            .next()
            .ok_or_else(|| Error::new(ErrorKind::Cluster, "the cluster has no primary"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis::Value;

    /// Two shards: 7000 (replica 7003) and 7001 (replica 7004), or with
    /// `failed_over` 7003 promoted over 7000.
    fn map(failed_over: bool) -> SlotMap {
        let node = |port: i64| {
            Value::Array(vec![
                Value::BulkString(b"127.0.0.1".to_vec()),
                Value::Int(port),
            ])
        };
        let (primary, replica) = if failed_over {
            (7003, 7000)
        } else {
            (7000, 7003)
        };
        let reply = Value::Array(vec![
            Value::Array(vec![
                Value::Int(0),
                Value::Int(8191),
                node(primary),
                node(replica),
            ]),
            Value::Array(vec![
                Value::Int(8192),
                Value::Int(16383),
                node(7001),
                node(7004),
            ]),
        ]);
        SlotMap::from_cluster_slots(&reply, "127.0.0.1").unwrap()
    }

    fn chose(port: u16, replica: bool) -> Chosen {
        Chosen {
            node: NodeName::from(format!("127.0.0.1:{port}")),
            replica,
        }
    }

    #[test]
    fn the_first_primary_until_a_node_is_chosen() {
        let default = DefaultNode::default();
        assert_eq!(&*default.on(&map(false)).unwrap(), "127.0.0.1:7000");
        default.set(Some(chose(7004, true))).unwrap();
        assert_eq!(&*default.on(&map(false)).unwrap(), "127.0.0.1:7004");
        assert_eq!(default.changes(), 1);
        default.set(None).unwrap();
        assert_eq!(&*default.on(&map(false)).unwrap(), "127.0.0.1:7000");
        assert_eq!(default.changes(), 2);
    }

    #[test]
    fn a_chosen_primary_stands_for_its_shard() {
        let default = DefaultNode::default();
        default.set(Some(chose(7000, false))).unwrap();
        assert_eq!(&*default.on(&map(true)).unwrap(), "127.0.0.1:7003");
        // A replica chosen stays, whatever its role becomes.
        default.set(Some(chose(7003, true))).unwrap();
        assert_eq!(&*default.on(&map(true)).unwrap(), "127.0.0.1:7003");
        default.set(Some(chose(7000, true))).unwrap();
        assert_eq!(&*default.on(&map(true)).unwrap(), "127.0.0.1:7000");
    }

    #[test]
    fn a_node_the_map_lacks_is_not_used() {
        let default = DefaultNode::default();
        default.set(Some(chose(7999, false))).unwrap();
        assert_eq!(&*default.on(&map(false)).unwrap(), "127.0.0.1:7000");
        assert_eq!(default.chosen(), Some(chose(7999, false)));
    }

    #[test]
    fn a_name_that_is_not_host_port_is_refused() {
        let default = DefaultNode::default();
        let chosen = Chosen {
            node: NodeName::from("nowhere"),
            replica: false,
        };
        let err = default.set(Some(chosen)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(default.changes(), 0);
    }
}
