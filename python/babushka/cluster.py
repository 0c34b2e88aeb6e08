"""Redis Cluster: :class:`RedisCluster` (sync; ``babushka.asyncio.RedisCluster``
is its asyncio twin), :class:`ClusterNode` and the ``target_nodes`` constants,
with redis-py's names.

The routing lives in the core (``core/src/cluster``): the slot map, each
command sent to its keys' slot or split by slot or sent to every primary as
the command table says, ``MOVED``/``ASK`` followed, ``TRYAGAIN``/``CLUSTERDOWN``
retried within the timeout, the map refreshed. This module adds what redis-py
users call on the client: the nodes, ``keyslot``, ``target_nodes=`` and the
``*_nonatomic`` helpers.
"""

from __future__ import annotations

import copy
import functools
import random
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, TypeVar

from babushka import _cluster_scan, _core, _options
from babushka._cluster_commands import ClusterCommands
from babushka._pool import PoolBase
from babushka.client import Redis
from babushka.commands.base import EncodableT, KeyT, ResponseT, scan_options
from babushka.exceptions import (
    CrossSlotTransactionError,
    DataError,
    RedisClusterException,
    SlotNotCoveredError,
)
from babushka.monitor import Monitor
from babushka.pipeline import Pipeline

PRIMARY = "primary"
REPLICA = "replica"
REDIS_CLUSTER_HASH_SLOTS = _cluster_scan.SLOTS

#: ``target_nodes=`` values, as redis-py spells them.
PRIMARIES = "primaries"
REPLICAS = "replicas"
ALL_NODES = "all"
RANDOM = "random"
DEFAULT_NODE = "default-node"
_TARGET_NAMES = (PRIMARIES, REPLICAS, ALL_NODES, RANDOM, DEFAULT_NODE)

#: Methods that take ``target_nodes=`` (those of redis-py's that the client has).
TARGETABLE_METHODS = (
    "acl_cat",
    "acl_deluser",
    "acl_dryrun",
    "acl_genpass",
    "acl_getuser",
    "acl_help",
    "acl_list",
    "acl_load",
    "acl_log",
    "acl_log_reset",
    "acl_save",
    "acl_setuser",
    "acl_users",
    "acl_whoami",
    "bgrewriteaof",
    "bgsave",
    "client_getname",
    "client_getredir",
    "client_id",
    "client_info",
    "client_kill",
    "client_kill_filter",
    "client_list",
    "client_pause",
    "client_setinfo",
    "client_setname",
    "client_trackinginfo",
    "client_unblock",
    "client_unpause",
    "command",
    "command_count",
    "config_get",
    "config_resetstat",
    "config_rewrite",
    "config_set",
    "dbsize",
    "echo",
    "flushall",
    "flushdb",
    "info",
    "keys",
    "lastsave",
    "lolwut",
    "memory_doctor",
    "memory_help",
    "memory_malloc_stats",
    "memory_purge",
    "memory_stats",
    "ping",
    "pubsub_channels",
    "pubsub_numpat",
    "pubsub_numsub",
    "randomkey",
    "readonly",
    "readwrite",
    "save",
    "script_exists",
    "script_flush",
    "script_load",
    "slowlog_get",
    "slowlog_len",
    "slowlog_reset",
    "time",
    "wait",
    "waitaof",
)

_F = TypeVar("_F", bound=Callable[..., Any])
_C = TypeVar("_C", bound="ClusterMixin")


def get_node_name(host: str, port: int | str) -> str:
    return f"{host}:{port}"


class ClusterNode:
    """A node of the cluster: ``host``, ``port``, ``name`` (``host:port``) and
    ``server_type`` (``"primary"`` or ``"replica"``, ``None`` before it is known)."""

    def __init__(self, host: str, port: int | str = 6379, server_type: str | None = None) -> None:
        if host == "localhost":
            host = "127.0.0.1"  # as redis-py: the cluster names its nodes by address
        self.host = host
        self.port = int(port)
        self.name = get_node_name(host, self.port)
        self.server_type = server_type

    def __repr__(self) -> str:
        return (
            f"[host={self.host},port={self.port},name={self.name},server_type={self.server_type}]"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClusterNode) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)


def cluster_settings(
    host: str | None,
    port: int,
    startup_nodes: Sequence[ClusterNode] | None,
    read_from_replicas: bool,
    require_full_coverage: bool,
    kwargs: dict[str, Any],
) -> tuple[str, int, dict[str, Any]]:
    """Checks a ``RedisCluster``'s own keywords; returns the first node's
    address and the core client's cluster settings."""
    if kwargs.get("db") not in (None, 0):
        raise RedisClusterException("Argument 'db' must be 0 or None in cluster mode")
    kwargs.pop("db", None)
    if kwargs.get("unix_socket_path") is not None:
        raise DataError(
            "unix_socket_path cannot name a cluster node: a cluster is reached over TCP"
        )
    nodes = list(startup_nodes or [])
    if not all(isinstance(node, ClusterNode) for node in nodes):
        raise DataError("startup_nodes must be a list of babushka.cluster.ClusterNode")
    if host is not None:
        nodes.insert(0, ClusterNode(host, port))
    if not nodes:
        raise RedisClusterException(
            "RedisCluster requires at least one node to discover the cluster. "
            "Please provide one of the followings:\n"
            "1. host and port, for example:\n RedisCluster(host='localhost', port=6379)\n"
            "2. list of startup nodes, for example:\n"
            " RedisCluster(startup_nodes=[ClusterNode('localhost', 6379),"
            " ClusterNode('localhost', 6378)])"
        )
    for name, flag in (
        ("read_from_replicas", read_from_replicas),
        ("require_full_coverage", require_full_coverage),
    ):
        if not isinstance(flag, bool):
            raise DataError(f"{name} must be a bool, got {flag!r}")
    first = nodes[0]
    settings = {
        "cluster": True,
        "seeds": [(node.host, node.port) for node in nodes[1:]],
        "read_from_replicas": read_from_replicas,
        "require_full_coverage": require_full_coverage,
    }
    return first.host, first.port, settings


def cluster_pool(
    pool_class: type[PoolBase],
    settings: tuple[str, int, dict[str, Any]],
    kwargs: dict[str, Any],
) -> PoolBase:
    """The pool (one core client, in cluster mode) a ``RedisCluster`` runs on."""
    for name in ("connection_pool", "single_connection_client"):
        if kwargs.get(name):
            raise RedisClusterException(f"{name} is not supported in cluster mode")
        kwargs.pop(name, None)
    host, port, cluster = settings
    return pool_class(host=host, port=port, _cluster=cluster, **kwargs)


class ClusterMixin(ClusterCommands):
    """What both ``RedisCluster`` flavours add to their client class."""

    #: The ``target_nodes=`` names, also as class attributes (redis-py's
    #: ``RedisCluster.PRIMARIES``...).
    PRIMARIES = PRIMARIES
    REPLICAS = REPLICAS
    ALL_NODES = ALL_NODES
    RANDOM = RANDOM
    DEFAULT_NODE = DEFAULT_NODE

    _core: _core.Client
    connection_kwargs: dict[str, Any]
    #: Set on a view of the client that sends to one node (``target_nodes``).
    _node_view: str | None = None

    @classmethod
    def _from_url(cls: type[_C], url: str, kwargs: dict[str, Any]) -> _C:
        """``from_url``: a cluster client whose first node is ``url``'s
        (``redis://host:port``); as in redis-py, what the URL says wins over
        the keywords."""
        return cls(**{**kwargs, **_options.parse_url(url)})

    # -- nodes ---------------------------------------------------------------

    def get_nodes(self) -> list[ClusterNode]:
        """Every node serving slots (primaries, then replicas), by the current slot map."""
        primaries, replicas = self._core.cluster_nodes()
        return [_node(name, PRIMARY) for name in primaries] + [
            _node(name, REPLICA) for name in replicas
        ]

    def get_primaries(self) -> list[ClusterNode]:
        return [node for node in self.get_nodes() if node.server_type == PRIMARY]

    def get_replicas(self) -> list[ClusterNode]:
        return [node for node in self.get_nodes() if node.server_type == REPLICA]

    def get_random_node(self) -> ClusterNode:
        return random.choice(self.get_nodes())

    def get_default_node(self) -> ClusterNode:
        """The node keyless commands go to: the one :meth:`set_default_node`
        chose while the slot map has it, else the map's first primary (the
        core's choice, so this names the node it really uses)."""
        name = self._core.default_node()
        if name is None:
            raise RedisClusterException("the cluster's slot map is not known yet")
        return self.get_node(node_name=name) or _node(name, PRIMARY)

    def _choose_default_node(self, node: ClusterNode | None, argument: str = "node") -> bool:
        """Makes ``node`` the default node if the slot map has it; whether it
        did. Keyless commands sent without ``target_nodes=`` go there from
        now on, on every transport (the core routes them)."""
        if node is None:
            return False
        if not isinstance(node, ClusterNode):
            raise DataError(f"{argument} must be a ClusterNode, got {node!r}")
        known = self.get_node(node_name=node.name)
        if known is None:
            return False
        self._core.set_default_node(known.name, known.server_type == REPLICA)
        return True

    def replace_default_node(self, target_node: ClusterNode | None = None) -> None:
        """As redis-py's: makes ``target_node`` the default node, or without
        it another node chosen at random (a primary when there is another,
        else a replica); nothing changes when there is no other node. A
        ``target_node`` the slot map does not have raises ``DataError``."""
        if target_node is not None:
            if not self._choose_default_node(target_node, "target_node"):
                raise DataError(f"target_node {target_node.name} is not in the cluster")
            return
        current = self.get_default_node()
        for kind in (self.get_primaries, self.get_replicas):
            others = [node for node in kind() if node != current]
            if others:
                self._choose_default_node(random.choice(others))
                return

    def get_node(
        self, host: str | None = None, port: int | None = None, node_name: str | None = None
    ) -> ClusterNode | None:
        """The node named ``host:port`` (or ``node_name``), ``None`` when the
        cluster has no such node."""
        if node_name is None:
            if host is None or port is None:
                raise DataError("get_node() needs host and port, or node_name")
            node_name = get_node_name("127.0.0.1" if host == "localhost" else host, port)
        return next((node for node in self.get_nodes() if node.name == node_name), None)

    def _slot_node(self, slot: int, replica: bool = False) -> ClusterNode | None:
        if not 0 <= slot < REDIS_CLUSTER_HASH_SLOTS:
            raise DataError(f"slot must be in 0..{REDIS_CLUSTER_HASH_SLOTS - 1}, got {slot}")
        names = self._core.slot_nodes(slot)
        if not names:
            raise SlotNotCoveredError(f'Slot "{slot}" is not covered by the cluster.')
        if replica:
            return _node(names[1], REPLICA) if len(names) > 1 else None
        return _node(names[0], PRIMARY)

    def get_node_from_key(self, key: EncodableT, replica: bool = False) -> ClusterNode | None:
        """The primary serving ``key``'s slot by the current slot map (with
        ``replica``, its first replica, ``None`` when it has none); raises
        ``SlotNotCoveredError`` when no node serves the slot."""
        if not isinstance(replica, bool):
            raise DataError(f"replica must be a bool, got {replica!r}")
        return self._slot_node(self.keyslot(key), replica)

    def keyslot(self, key: EncodableT) -> int:
        """The hash slot of ``key`` (encoded as the client encodes keys)."""
        if isinstance(key, str):
            encoded = key.encode(
                self.connection_kwargs["encoding"], self.connection_kwargs["encoding_errors"]
            )
        elif isinstance(key, (bytes, bytearray, memoryview)):
            encoded = bytes(key)
        elif isinstance(key, (int, float)) and not isinstance(key, bool):
            encoded = repr(key).encode()
        else:
            raise DataError(f"keyslot() needs a str, bytes or number key, got {type(key).__name__}")
        return _core.keyslot(encoded)

    # -- scan ----------------------------------------------------------------

    def _scan_walk(self, match: EncodableT | None, count: int | None, _type: str | None) -> Any:
        """The slot-coverage walk of ``scan_iter`` (``babushka._cluster_scan``)."""
        options = scan_options(match, count)
        if _type is not None:
            if not isinstance(_type, str):
                raise DataError(f"_type must be a str, got {type(_type).__name__}")
            options += ["TYPE", _type]
        encoding = self.connection_kwargs["encoding"]
        errors = self.connection_kwargs["encoding_errors"]

        def encode(key: Any) -> bytes:
            return key.encode(encoding, errors) if isinstance(key, str) else bytes(key)

        return _cluster_scan.walk(tuple(options), encode)

    def _ask(self, step: _cluster_scan.Ask) -> Any:
        """Sends one of the walk's commands: to its node, or routed as usual."""
        if step.node is None:
            return self._execute(step.shape, *step.words)  # type: ignore[attr-defined]
        return self._execute_request(  # type: ignore[attr-defined]
            None, 0, [(step.shape, *step.words)], step.node
        )

    def _check_transaction(
        self, commands: Iterable[tuple[Any, ...]], watched_slot: int | None = None
    ) -> None:
        """MULTI/EXEC runs on one node: all of a transaction's keys (and
        the keys it watches, in ``watched_slot``) in one slot, or redis-py's
        ``CrossSlotTransactionError`` before anything is sent."""
        slots = {
            _core.keyslot(key) for _shape, *words in commands for key in _core.command_keys(*words)
        }
        if watched_slot is not None:
            slots.add(watched_slot)
        if len(slots) > 1:
            raise CrossSlotTransactionError(
                "All keys involved in a cluster transaction must map to the same slot"
            )

    def _check_session(self, method: str, transaction: bool) -> None:
        if not transaction:
            raise RedisClusterException(
                f"method {method}() is not supported outside of transactional context"
            )

    def _session_slot(self, args: tuple[Any, ...], slot: int | None) -> int | None:
        """As redis-py's cluster transactions: a ``WATCH`` session runs on a
        connection to the node of one slot, that of its first command; a
        command of another slot, or without keys (``UNWATCH`` aside, once
        the slot is known), is refused before anything is sent."""
        slots = {_core.keyslot(key) for key in _core.command_keys(*args)}
        if not slots:
            name = args[0]
            if isinstance(name, (bytes, bytearray)):
                name = name.decode(errors="replace")
            if str(name).upper() != "UNWATCH":
                raise RedisClusterException(
                    f"Cannot identify slot number for command: {name}, "
                    "it cannot be triggered in a transaction"
                )
            if slot is None:
                raise RedisClusterException(
                    "At least a command with a key is needed to identify a node"
                )
            return slot
        if slot is not None:
            slots.add(slot)
        if len(slots) > 1:
            raise CrossSlotTransactionError("Cannot watch or send commands on different slots")
        return slots.pop()

    def _scan_targets(self, target_nodes: Any) -> list[ClusterNode]:
        return self._resolve_targets(PRIMARIES if target_nodes is None else target_nodes)

    # -- target_nodes --------------------------------------------------------

    def _resolve_targets(self, target_nodes: Any) -> list[ClusterNode]:
        if isinstance(target_nodes, ClusterNode):
            return [target_nodes]
        if isinstance(target_nodes, str):
            if target_nodes not in _TARGET_NAMES:
                raise DataError(
                    f"target_nodes must be a ClusterNode, a list of them or one of "
                    f"{', '.join(_TARGET_NAMES)}; got {target_nodes!r}"
                )
            choosers: dict[str, Callable[[], list[ClusterNode]]] = {
                PRIMARIES: self.get_primaries,
                REPLICAS: self.get_replicas,
                ALL_NODES: self.get_nodes,
                RANDOM: lambda: [self.get_random_node()],
                DEFAULT_NODE: lambda: [self.get_default_node()],
            }
            chosen = choosers[target_nodes]()
            if not chosen:
                raise RedisClusterException(f"the cluster has no {target_nodes} node")
            return chosen
        if isinstance(target_nodes, dict):
            target_nodes = list(target_nodes.values())
        if isinstance(target_nodes, (list, tuple)) and all(
            isinstance(node, ClusterNode) for node in target_nodes
        ):
            if not target_nodes:
                raise DataError("target_nodes is empty")
            return list(target_nodes)
        raise DataError(
            f"target_nodes must be a ClusterNode, a list of them or one of "
            f"{', '.join(_TARGET_NAMES)}; got {target_nodes!r}"
        )

    def _view_on(self, node: ClusterNode) -> Any:
        """A shallow copy of the client whose commands go to ``node``."""
        view = copy.copy(self)
        view._node_view = node.name
        execute_request = self._execute_request  # type: ignore[attr-defined]
        name = node.name

        def execute(shape: int, *args: Any) -> Any:
            return execute_request(None, 0, [(shape, *args)], name)

        view._execute = execute  # type: ignore[attr-defined]
        return view

    def __del__(self) -> None:
        # A view shares its client's core: only the client itself closes it.
        if self._node_view is None:
            super().__del__()  # type: ignore[misc]


def _counts_by_name(values: list[Any]) -> list[tuple[Any, int]]:
    counts: dict[Any, int] = {}
    for pairs in values:
        for name, count in pairs:
            counts[name] = counts.get(name, 0) + count
    return list(counts.items())


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(item for value in values for item in value))


#: How redis-py's cluster client combines several nodes' replies to the
#: commands whose server-side response policy says nothing (or not this):
#: counts per channel summed, names listed once, one unblocked client is 1.
_MERGES: dict[str, Callable[[list[Any]], Any]] = {
    "PUBSUB NUMSUB": _counts_by_name,
    "PUBSUB SHARDNUMSUB": _counts_by_name,
    "PUBSUB NUMPAT": sum,
    "PUBSUB CHANNELS": _unique,
    "PUBSUB SHARDCHANNELS": _unique,
    "KEYS": _unique,
    "CLIENT UNBLOCK": lambda values: int(sum(values) > 0),
}


def merge_node_replies(command: str | None, replies: dict[str, Any]) -> Any:
    """Several nodes' replies as one, by the command table's response policy
    (as redis-py's cluster result callbacks combine them): summed, all true,
    lists joined, else a dict of replies by node name."""
    if len(replies) == 1:
        return next(iter(replies.values()))
    merge = _MERGES.get(command or "")
    if merge is not None:
        return merge(list(replies.values()))
    spec = _core.command_spec(*command.split(" ", 1)) if command else None
    policy = spec.response_policy if spec is not None else None
    values = list(replies.values())
    if policy == "agg_sum":
        return sum(values)
    if policy in ("all_succeeded", "one_succeeded"):
        return all(values) if all(isinstance(v, bool) for v in values) else values[0]
    if policy == "agg_logical_and":
        return [all(flags) for flags in zip(*values)]
    if policy is None and all(isinstance(v, list) for v in values):
        return [item for value in values for item in value]
    return replies


def node_client_kwargs(client: Any, node: Any) -> dict[str, Any]:
    """The keywords of a one-node client to ``node`` with ``client``'s
    settings (credentials, TLS, timeouts, transport)."""
    if not isinstance(node, ClusterNode):
        raise DataError(f"target_node must be a ClusterNode, got {node!r}")
    return {**client.connection_pool.connection_kwargs, "host": node.host, "port": node.port}


class NodeMonitor(Monitor):
    """A monitor on a client of its own (one node's), closed with it."""

    def __init__(self, client: Redis[Any]) -> None:
        self._client = client
        super().__init__(client)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._client.close()


def check_shard_hint(shard_hint: Any) -> None:
    """A cluster pipeline routes each command by its keys: redis-py refuses
    ``shard_hint`` there, and so does this client (before anything is sent)."""
    if shard_hint:
        raise RedisClusterException("shard_hint is deprecated in cluster mode")


def one_or_by_node(replies: dict[str, Any]) -> Any:
    """One node's reply as it is; several nodes' as ``{node_name: reply}``
    (redis-py's cluster client does the same for commands it has no
    combining rule for)."""
    return next(iter(replies.values())) if len(replies) == 1 else replies


def scan_result(pages: dict[str, tuple[int, list[Any]]]) -> tuple[dict[str, int], list[Any]]:
    """Several nodes' ``SCAN`` pages as redis-py's cluster client returns
    them: the next cursor by node name, and the keys of all pages."""
    return (
        {name: cursor for name, (cursor, _) in pages.items()},
        [key for _, keys in pages.values() for key in keys],
    )


def _node(name: str, server_type: str) -> ClusterNode:
    host, _, port = name.rpartition(":")
    return ClusterNode(host, int(port), server_type)


class RedisCluster(ClusterMixin, Redis):
    """A client of a Redis Cluster, with redis-py's ``RedisCluster`` interface.

    Connects (reads the slot map) in the constructor, as redis-py does, and
    raises there when no startup node answers.
    """

    def __init__(
        self,
        host: str | None = None,
        port: int = 6379,
        startup_nodes: Sequence[ClusterNode] | None = None,
        require_full_coverage: bool = True,
        read_from_replicas: bool = False,
        **kwargs: Any,
    ) -> None:
        pool = cluster_pool(
            self._pool_class,
            cluster_settings(
                host, port, startup_nodes, read_from_replicas, require_full_coverage, kwargs
            ),
            kwargs,
        )
        super().__init__(connection_pool=pool)
        self.auto_close_connection_pool = True
        self.read_from_replicas = read_from_replicas
        self._core.refresh_topology()

    def set_default_node(self, node: ClusterNode | None) -> bool:
        """As redis-py's: makes ``node`` the node keyless commands go to
        (``True``), or returns ``False`` when ``node`` is ``None`` or not in
        the cluster's slot map. The choice holds while the map has the node;
        once a map read without it, the map's first primary serves again."""
        return self._choose_default_node(node)

    def execute_command(self, *args: Any, **options: Any) -> ResponseT:
        """As :meth:`Redis.execute_command`; ``target_nodes=`` sends it to
        those nodes (their replies combined as redis-py combines them)."""
        target_nodes = options.pop("target_nodes", None)
        if target_nodes is None:
            return super().execute_command(*args, **options)
        replies = {
            node.name: Redis.execute_command(self._view_on(node), *args, **options)
            for node in self._resolve_targets(target_nodes)
        }
        return merge_node_replies(_command_name(args), replies)

    def _on_nodes(self, target_nodes: Any, parse: Any, shape: int, *words: Any) -> Any:
        nodes = self._resolve_targets(DEFAULT_NODE if target_nodes is None else target_nodes)
        replies = {node.name: parse(self._view_on(node)._execute(shape, *words)) for node in nodes}
        return one_or_by_node(replies)

    def _each(self, replies: list[Any]) -> list[Any]:
        return replies

    def scan(  # type: ignore[override]
        self,
        cursor: int = 0,
        match: EncodableT | None = None,
        count: int | None = None,
        _type: str | None = None,
        target_nodes: Any = None,
    ) -> tuple[dict[str, int], list[Any]]:
        """One ``SCAN`` page of each target node (every primary by default),
        as redis-py's cluster client gives it: ``({node_name: next_cursor},
        [key, ...])``. A cursor is one node's: continue a node's walk with
        ``target_nodes=`` that node. :meth:`scan_iter` walks the whole
        cluster with one cursor that survives resharding."""
        pages = {
            node.name: Redis.scan(self._view_on(node), cursor, match, count, _type)
            for node in self._scan_targets(target_nodes)
        }
        return scan_result(pages)

    def scan_iter(  # type: ignore[override]
        self,
        match: EncodableT | None = None,
        count: int | None = None,
        _type: str | None = None,
        target_nodes: Any = None,
    ) -> Iterator[Any]:
        """Every key of the cluster (matching ``match``, of type ``_type``),
        each at least once even while slots move or a primary fails over
        (see ``babushka._cluster_scan``). With ``target_nodes``, as redis-py:
        every key of those nodes, each node's ``SCAN`` walked to its end
        (replicas' keys too; no guarantee while slots move)."""
        if target_nodes is not None:
            return self._scan_nodes(self._resolve_targets(target_nodes), match, count, _type)
        return _cluster_scan.run_sync(self._scan_walk(match, count, _type), self._ask)

    def _scan_nodes(
        self, nodes: list[ClusterNode], match: Any, count: Any, _type: Any
    ) -> Iterator[Any]:
        for node in nodes:
            view, cursor = self._view_on(node), None
            while cursor != 0:
                cursor, keys = Redis.scan(view, cursor or 0, match, count, _type)
                yield from keys

    def mget_nonatomic(self, keys: Iterable[KeyT] | KeyT, *args: KeyT) -> ResponseT:
        """``MGET`` split by slot (not atomic across slots); values in the
        order asked (no keys: ``[]``, as redis-py)."""
        if not args and isinstance(keys, (list, tuple)) and not keys:
            return []
        return self.mget(keys, *args)

    def mset_nonatomic(self, mapping: Mapping[KeyT, EncodableT]) -> list[Any]:
        """``MSET`` of each slot's keys, one per slot (not atomic across
        slots); the list of their replies."""
        return [self.mset(group) for group in _by_slot(self, mapping)]

    def monitor(self, target_node: ClusterNode | None = None) -> Monitor:
        """redis-py's cluster ``monitor``: a :class:`~babushka.monitor.Monitor`
        of ``target_node`` (the default node without it), on a connection
        of its own to that node."""
        if target_node is None:
            return super().monitor()
        return NodeMonitor(Redis(**node_client_kwargs(self, target_node)))

    def pipeline(self, transaction: bool | None = None, shard_hint: str | None = None) -> Any:
        """A pipeline: without ``transaction`` (the default in a cluster),
        commands go to their nodes and replies come back in order; with it,
        MULTI/EXEC on the one slot of all its keys (refused otherwise)."""
        check_shard_hint(shard_hint)
        return ClusterPipeline(self, bool(transaction), shard_hint)


def _command_name(args: tuple[Any, ...]) -> str | None:
    if not args:
        return None
    words = [w.decode() if isinstance(w, (bytes, bytearray)) else str(w) for w in args[:2]]
    first = words[0].upper()
    if " " in first:
        return first
    spec = _core.command_spec(first, words[1] if len(words) > 1 else None)
    return spec.name if spec is not None else first


def _by_slot(client: ClusterMixin, mapping: Mapping[KeyT, EncodableT]) -> list[dict[Any, Any]]:
    groups: dict[int, dict[Any, Any]] = {}
    for key, value in mapping.items():
        groups.setdefault(client.keyslot(key), {})[key] = value
    return list(groups.values())


class ClusterPipelineMixin:
    """What a cluster client's pipelines add to a pipeline: redis-py's
    ``mset_nonatomic``, one ``MSET`` queued per slot of the mapping's keys."""

    _client: Any

    def mset_nonatomic(self, mapping: Mapping[KeyT, EncodableT]) -> Any:
        for group in _by_slot(self._client, mapping):
            self.mset(group)  # type: ignore[attr-defined]
        return self


class ClusterPipeline(ClusterPipelineMixin, Pipeline[Any]):
    """A :class:`RedisCluster`'s pipeline."""


def _targetable(method: _F) -> _F:
    """Gives a command method ``target_nodes=``: without it, the method as
    it is; with it, the method run on a view of the client per node, the
    replies merged."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, target_nodes: Any = None, **kwargs: Any) -> Any:
        if target_nodes is None:
            return method(self, *args, **kwargs)
        sent: list[str] = []
        replies = {}
        for node in self._resolve_targets(target_nodes):
            view = self._view_on(node)
            execute = view._execute

            def recording(shape: int, *words: Any, _execute: Any = execute) -> Any:
                sent.append(_command_name(words) or "")
                return _execute(shape, *words)

            view._execute = recording
            replies[node.name] = method(view, *args, **kwargs)
        return merge_node_replies(sent[0] if sent else None, replies)

    return wrapper  # type: ignore[return-value]


for _name in TARGETABLE_METHODS:
    if hasattr(Redis, _name):
        setattr(RedisCluster, _name, _targetable(getattr(Redis, _name)))

__all__ = [
    "ALL_NODES",
    "DEFAULT_NODE",
    "PRIMARIES",
    "RANDOM",
    "REPLICAS",
    "ClusterNode",
    "RedisCluster",
    "get_node_name",
]
