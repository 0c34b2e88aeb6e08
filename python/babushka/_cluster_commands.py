"""``CLUSTER ...`` commands of :class:`babushka.RedisCluster` (sync and asyncio),
with redis-py's names, arguments, routing and reply values.

Each method is written once for both flavours: it names the command's nodes
(``target_node(s)=``; else the node serving its slot, or the default node) and
hands the words and a reply parser to ``self._on_nodes``, which each client
class implements (a reply, or an awaitable of it). Replies from several nodes
come back as ``{node_name: reply}``, as redis-py gives them.

The CLUSTER commands are keyless, so without these the core would route them
by the command table's request policy alone; redis-py sends the slot ones
(``COUNTKEYSINSLOT``, ``GETKEYSINSLOT``, ``SETSLOT ... STABLE``, ``DELSLOTS``)
to the node serving the slot, and the rest to the default node or the nodes
asked for, which is what users rely on (``cluster_myid(node)`` is that node's id).
"""

from __future__ import annotations

from typing import Any, Callable, NoReturn

from babushka import _shapes as S
from babushka.commands.base import EncodableT, require_int
from babushka.exceptions import DataError, RedisClusterException, RedisError

Parse = Callable[[Any], Any]


def _text(value: Any) -> Any:
    return value.decode(errors="replace") if isinstance(value, (bytes, bytearray)) else value


def _same(value: Any) -> Any:
    return value


def parse_cluster_info(reply: Any) -> dict[str, str]:
    """``CLUSTER INFO``'s ``name:value`` lines as a dict of ``str``."""
    return dict(line.split(":", 1) for line in _text(reply).splitlines() if line)


def _node_line(line: str) -> tuple[str, dict[str, Any]]:
    words = line.split(" ")
    node_id, address, flags, master_id, ping, pong, epoch, link = words[:8]
    host_port, _, extra = address.partition("@")
    slots: list[list[str]] = []
    migrations: list[dict[str, str]] = []
    for word in words[8:]:
        if "->-" in word:
            slot, node = word[1:-1].split("->-", 1)
            migrations.append({"slot": slot, "node_id": node, "state": "migrating"})
        elif "-<-" in word:
            slot, node = word[1:-1].split("-<-", 1)
            migrations.append({"slot": slot, "node_id": node, "state": "importing"})
        else:
            slots.append(word.split("-"))
    details = {
        "node_id": node_id,
        "hostname": extra.split(",")[1] if "," in extra else "",
        "flags": flags,
        "master_id": master_id,
        "last_ping_sent": ping,
        "last_pong_rcvd": pong,
        "epoch": epoch,
        "slots": slots,
        "migrations": migrations,
        "connected": link == "connected",
    }
    return host_port, details


def parse_cluster_nodes(reply: Any) -> dict[str, dict[str, Any]]:
    """``CLUSTER NODES`` (one text) or ``CLUSTER REPLICAS`` (a line per node)
    as ``{"host:port": {"node_id": ..., "flags": ..., "slots": [[start, end]], ...}}``."""
    lines = _text(reply).splitlines() if isinstance(reply, (bytes, bytearray, str)) else reply
    return dict(_node_line(_text(line)) for line in lines if line)


def parse_cluster_slots(reply: Any) -> dict[tuple[int, int], dict[str, Any]]:
    """``CLUSTER SLOTS`` as ``{(start, end): {"primary": (host, port),
    "replicas": [(host, port), ...]}}`` (the node ids left out, as redis-py does)."""
    slots = {}
    for start, end, primary, *replicas in reply:
        slots[start, end] = {
            "primary": (_text(primary[0]), primary[1]),
            "replicas": [(_text(replica[0]), replica[1]) for replica in replicas],
        }
    return slots


def parse_cluster_shards(reply: Any) -> list[dict[str, Any]]:
    """``CLUSTER SHARDS`` as redis-py gives it: a list of ``{"slots": ...,
    "nodes": [{field: value}, ...]}``; the field names and values stay as the
    connection decodes them. RESP2's flat pairs become dicts and its slot
    bounds ``(start, end)`` tuples; RESP3's maps come as they are."""
    shards = []
    for shard in reply:
        if isinstance(shard, dict):
            fields = {_text(name): value for name, value in shard.items()}
            slots = [tuple(s) if isinstance(s, list) else s for s in fields.get("slots", [])]
            nodes = [dict(node) for node in fields.get("nodes", [])]
        else:
            fields = dict(zip(map(_text, shard[::2]), shard[1::2]))
            bounds = fields.get("slots", [])
            slots = list(zip(bounds[::2], bounds[1::2]))
            nodes = [dict(zip(node[::2], node[1::2])) for node in fields.get("nodes", [])]
        shards.append({"slots": slots, "nodes": nodes})
    return shards


def _str_list(reply: Any) -> list[Any]:
    return [_text(item) for item in reply]


def _check_target(target: Any, name: str) -> None:
    if target is None:
        raise DataError(f"{name} is required: the node(s) to send the command to")


class ClusterCommands:
    """The ``CLUSTER`` commands; mixed into both ``RedisCluster`` classes."""

    def _on_nodes(self, target_nodes: Any, parse: Parse, shape: int, *words: Any) -> Any:
        """Sends ``words`` to ``target_nodes`` (``None``: the default node),
        ``parse`` applied to each node's reply; one node's reply as it is,
        several nodes' as ``{node_name: reply}``."""
        raise NotImplementedError

    def _slot_node(self, slot: int) -> Any:
        """The node serving ``slot`` (raises ``SlotNotCoveredError``)."""
        raise NotImplementedError

    def _each(self, replies: list[Any]) -> Any:
        """Several commands' replies as one list (awaited together on asyncio)."""
        raise NotImplementedError

    # -- one node's view of the cluster ----------------------------------

    def cluster_info(self, target_nodes: Any = None) -> Any:
        """The node's cluster state as a dict of ``str`` (the default node's
        unless ``target_nodes``). https://redis.io/docs/latest/commands/cluster-info/"""
        return self._on_nodes(target_nodes, parse_cluster_info, S.RAW, "CLUSTER", "INFO")

    def cluster_myid(self, target_node: Any) -> Any:
        """The node id of ``target_node``. https://redis.io/docs/latest/commands/cluster-myid/"""
        _check_target(target_node, "target_node")
        return self._on_nodes(target_node, _same, S.RAW, "CLUSTER", "MYID")

    def cluster_myshardid(self, target_nodes: Any = None) -> Any:
        """The shard id of the node, a ``str`` (Redis 7.2+).
        https://redis.io/docs/latest/commands/cluster-myshardid/"""
        return self._on_nodes(target_nodes, _text, S.RAW, "CLUSTER", "MYSHARDID")

    def cluster_nodes(self) -> Any:
        """The cluster's nodes as the default node sees them: ``{"host:port":
        {"node_id", "flags", "master_id", "slots", "migrations", ...}}``.
        https://redis.io/docs/latest/commands/cluster-nodes/"""
        return self._on_nodes(None, parse_cluster_nodes, S.RAW, "CLUSTER", "NODES")

    def cluster_replicas(self, node_id: str, target_nodes: Any = None) -> Any:
        """The replicas of the primary ``node_id``, as :meth:`cluster_nodes`
        gives nodes. https://redis.io/docs/latest/commands/cluster-replicas/"""
        return self._on_nodes(
            target_nodes, parse_cluster_nodes, S.RAW, "CLUSTER", "REPLICAS", node_id
        )

    def cluster_slots(self, target_nodes: Any = None) -> Any:
        """``{(start, end): {"primary": (host, port), "replicas": [...]}}``.
        https://redis.io/docs/latest/commands/cluster-slots/"""
        return self._on_nodes(target_nodes, parse_cluster_slots, S.RAW, "CLUSTER", "SLOTS")

    def cluster_shards(self, target_nodes: Any = None) -> Any:
        """The shards: ``[{"slots": ..., "nodes": [{...}, ...]}, ...]``.
        https://redis.io/docs/latest/commands/cluster-shards/"""
        return self._on_nodes(target_nodes, parse_cluster_shards, S.RAW, "CLUSTER", "SHARDS")

    def cluster_links(self, target_node: Any) -> Any:
        """``target_node``'s links to its peers, as the server sends them.
        https://redis.io/docs/latest/commands/cluster-links/"""
        _check_target(target_node, "target_node")
        return self._on_nodes(target_node, _same, S.RAW, "CLUSTER", "LINKS")

    def cluster_keyslot(self, key: str) -> Any:
        """The server's hash slot of ``key`` (:meth:`keyslot` computes it
        without asking). https://redis.io/docs/latest/commands/cluster-keyslot/"""
        return self._on_nodes(None, _same, S.INT, "CLUSTER", "KEYSLOT", key)

    def cluster_count_failure_report(self, node_id: str) -> Any:
        """How many failure reports the default node holds about ``node_id``.
        https://redis.io/docs/latest/commands/cluster-count-failure-reports/"""
        return self._on_nodes(None, _same, S.INT, "CLUSTER", "COUNT-FAILURE-REPORTS", node_id)

    # -- slots: sent to the node serving the slot ------------------------

    def cluster_countkeysinslot(self, slot_id: int) -> Any:
        """The number of keys in ``slot_id``, asked of the node serving it.
        https://redis.io/docs/latest/commands/cluster-countkeysinslot/"""
        node = self._slot_node(require_int(slot_id, "slot_id"))
        return self._on_nodes(node, _same, S.INT, "CLUSTER", "COUNTKEYSINSLOT", slot_id)

    def cluster_get_keys_in_slot(self, slot: int, num_keys: int) -> Any:
        """Up to ``num_keys`` keys of ``slot`` (as ``str``, as redis-py gives
        them), from the node serving it.
        https://redis.io/docs/latest/commands/cluster-getkeysinslot/"""
        node = self._slot_node(require_int(slot, "slot"))
        require_int(num_keys, "num_keys")
        return self._on_nodes(node, _str_list, S.RAW, "CLUSTER", "GETKEYSINSLOT", slot, num_keys)

    def cluster_setslot_stable(self, slot_id: int) -> Any:
        """Clears ``slot_id``'s migrating/importing state on the node serving it.
        https://redis.io/docs/latest/commands/cluster-setslot/"""
        node = self._slot_node(require_int(slot_id, "slot_id"))
        return self._on_nodes(node, _same, S.OK, "CLUSTER", "SETSLOT", slot_id, "STABLE")

    def cluster_delslots(self, *slots: EncodableT) -> Any:
        """Unassigns each slot on the node serving it; a list of results, one
        per slot. https://redis.io/docs/latest/commands/cluster-delslots/"""
        nodes = [self._slot_node(require_int(slot, "slots")) for slot in slots]
        return self._each(
            [
                self._on_nodes(node, _same, S.OK, "CLUSTER", "DELSLOTS", slot)
                for node, slot in zip(nodes, slots)
            ]
        )

    def cluster_delslotsrange(self, *slots: EncodableT) -> Any:
        """Unassigns the slot ranges ``start, end, ...`` on the default node.
        https://redis.io/docs/latest/commands/cluster-delslotsrange/"""
        return self._on_nodes(None, _same, S.OK, "CLUSTER", "DELSLOTSRANGE", *slots)

    # -- administration: sent where the caller says ----------------------

    def cluster_addslots(self, target_node: Any, *slots: EncodableT) -> Any:
        """Assigns ``slots`` to ``target_node``.
        https://redis.io/docs/latest/commands/cluster-addslots/"""
        _check_target(target_node, "target_node")
        return self._on_nodes(target_node, _same, S.OK, "CLUSTER", "ADDSLOTS", *slots)

    def cluster_addslotsrange(self, target_node: Any, *slots: EncodableT) -> Any:
        """Assigns the slot ranges ``start, end, ...`` to ``target_node``.
        https://redis.io/docs/latest/commands/cluster-addslotsrange/"""
        _check_target(target_node, "target_node")
        return self._on_nodes(target_node, _same, S.OK, "CLUSTER", "ADDSLOTSRANGE", *slots)

    def cluster_failover(self, target_node: Any, option: str | None = None) -> Any:
        """Makes the replica ``target_node`` take over from its primary
        (``option``: ``"FORCE"`` or ``"TAKEOVER"``).
        https://redis.io/docs/latest/commands/cluster-failover/"""
        _check_target(target_node, "target_node")
        words: list[Any] = []
        if option:
            if not isinstance(option, str) or option.upper() not in ("FORCE", "TAKEOVER"):
                raise RedisError(f"Invalid option for CLUSTER FAILOVER command: {option}")
            words.append(option)
        return self._on_nodes(target_node, _same, S.OK, "CLUSTER", "FAILOVER", *words)

    def cluster_meet(self, host: str, port: int, target_nodes: Any = None) -> Any:
        """Makes the node handshake with ``host:port``.
        https://redis.io/docs/latest/commands/cluster-meet/"""
        return self._on_nodes(target_nodes, _same, S.OK, "CLUSTER", "MEET", host, port)

    def cluster_replicate(self, target_nodes: Any, node_id: str) -> Any:
        """Makes ``target_nodes`` replicas of the primary ``node_id``.
        https://redis.io/docs/latest/commands/cluster-replicate/"""
        _check_target(target_nodes, "target_nodes")
        return self._on_nodes(target_nodes, _same, S.OK, "CLUSTER", "REPLICATE", node_id)

    def cluster_reset(self, soft: bool = True, target_nodes: Any = None) -> Any:
        """Resets the node: ``SOFT``, or ``HARD`` with ``soft=False``.
        https://redis.io/docs/latest/commands/cluster-reset/"""
        mode = "SOFT" if soft else "HARD"
        return self._on_nodes(target_nodes, _same, S.OK, "CLUSTER", "RESET", mode)

    def cluster_save_config(self, target_nodes: Any = None) -> Any:
        """Makes the node write its cluster configuration to disk.
        https://redis.io/docs/latest/commands/cluster-saveconfig/"""
        return self._on_nodes(target_nodes, _same, S.OK, "CLUSTER", "SAVECONFIG")

    def cluster_set_config_epoch(self, epoch: int, target_nodes: Any = None) -> Any:
        """Sets a new node's configuration epoch.
        https://redis.io/docs/latest/commands/cluster-set-config-epoch/"""
        require_int(epoch, "epoch")
        return self._on_nodes(target_nodes, _same, S.OK, "CLUSTER", "SET-CONFIG-EPOCH", epoch)

    def cluster_setslot(self, target_node: Any, node_id: str, slot_id: int, state: str) -> Any:
        """Sets ``slot_id`` ``IMPORTING``/``MIGRATING`` from or to ``node_id``,
        or hands it to ``node_id`` (``NODE``), on ``target_node``; ``STABLE``
        is :meth:`cluster_setslot_stable`.
        https://redis.io/docs/latest/commands/cluster-setslot/"""
        _check_target(target_node, "target_node")
        upper = state.upper() if isinstance(state, str) else state
        if upper == "STABLE":
            raise RedisError('For "stable" state please use cluster_setslot_stable')
        if upper not in ("IMPORTING", "NODE", "MIGRATING"):
            raise RedisError(f"Invalid slot state: {state}")
        return self._on_nodes(
            target_node, _same, S.OK, "CLUSTER", "SETSLOT", slot_id, state, node_id
        )

    # -- refused, as redis-py refuses them --------------------------------

    def cluster_flushslots(self, target_nodes: Any = None) -> NoReturn:
        raise NotImplementedError(
            "CLUSTER FLUSHSLOTS is intentionally not implemented in the client."
        )

    def cluster_bumpepoch(self, target_nodes: Any = None) -> NoReturn:
        raise NotImplementedError(
            "CLUSTER BUMPEPOCH is intentionally not implemented in the client."
        )

    def slaveof(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise RedisClusterException("SLAVEOF is not supported in cluster mode")

    def replicaof(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise RedisClusterException("REPLICAOF is not supported in cluster mode")

    def swapdb(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise RedisClusterException("SWAPDB is not supported in cluster mode")
