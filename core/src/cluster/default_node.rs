//! The node a cluster client's keyless commands go to when the caller chose
//! one (redis-py's `set_default_node`); otherwise the slot map's first
//! primary.

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

use super::topology::{split_name, NodeName, SlotMap};
use crate::error::{Error, ErrorKind, Result};

/// The caller's choice, shared with whoever must pass it on: the uds codec
/// tells the socket listener's client of every change (see `changes`).
#[derive(Debug, Default)]
pub struct DefaultNode {
    chosen: RwLock<Option<NodeName>>,
    /// Counts the changes, so that a holder can tell cheaply whether it has
    /// passed the latest choice on.
    changes: AtomicU64,
}

impl DefaultNode {
    /// Chooses `node` (`host:port`), or the slot map's first primary again
    /// with `None`. Refuses a name that is not `host:port`.
    pub fn set(&self, node: Option<&str>) -> Result<()> {
        if let Some(name) = node {
            if split_name(name).is_none() {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("a default node is named host:port, got {name:?}"),
                ));
            }
        }
        *self.chosen.write() = node.map(NodeName::from);
        self.changes.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// The node chosen, if any (whether or not the map still has it).
    pub fn chosen(&self) -> Option<NodeName> {
        self.chosen.read().clone()
    }

    /// How many times the choice changed.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    /// The default node on `map`: the one chosen while the map has it (as a
    /// primary or a replica; a node that left the cluster cannot serve),
    /// else the map's first primary.
    pub fn on(&self, map: &SlotMap) -> Result<NodeName> {
        if let Some(chosen) = self.chosen.read().as_ref() {
            if map.has_node(chosen) {
                return Ok(chosen.clone());
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

    fn map() -> SlotMap {
        let node = |port: i64| {
            Value::Array(vec![
                Value::BulkString(b"127.0.0.1".to_vec()),
                Value::Int(port),
            ])
        };
        let reply = Value::Array(vec![
            Value::Array(vec![
                Value::Int(0),
                Value::Int(8191),
                node(7000),
                node(7003),
            ]),
            Value::Array(vec![Value::Int(8192), Value::Int(16383), node(7001)]),
        ]);
        SlotMap::from_cluster_slots(&reply, "127.0.0.1").unwrap()
    }

    #[test]
    fn the_first_primary_until_a_node_is_chosen() {
        let default = DefaultNode::default();
        assert_eq!(&*default.on(&map()).unwrap(), "127.0.0.1:7000");
        default.set(Some("127.0.0.1:7003")).unwrap();
        assert_eq!(&*default.on(&map()).unwrap(), "127.0.0.1:7003");
        assert_eq!(default.changes(), 1);
        default.set(None).unwrap();
        assert_eq!(&*default.on(&map()).unwrap(), "127.0.0.1:7000");
        assert_eq!(default.changes(), 2);
    }

    #[test]
    fn a_node_the_map_lacks_is_not_used() {
        let default = DefaultNode::default();
        default.set(Some("127.0.0.1:7999")).unwrap();
        assert_eq!(&*default.on(&map()).unwrap(), "127.0.0.1:7000");
        assert_eq!(default.chosen().as_deref(), Some("127.0.0.1:7999"));
    }

    #[test]
    fn a_name_that_is_not_host_port_is_refused() {
        let default = DefaultNode::default();
        let err = default.set(Some("nowhere")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(default.changes(), 0);
    }
}
