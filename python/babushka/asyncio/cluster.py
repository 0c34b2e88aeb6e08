"""The asyncio ``RedisCluster``: :class:`babushka.cluster.RedisCluster`'s twin.

As redis-py's asyncio cluster client, it reads the slot map on its first
command (or ``await initialize()``); commands sent before it wait for it
in the core.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence, TypeVar

from babushka import _cluster_scan, _options
from babushka.asyncio.client import Redis
from babushka.asyncio.monitor import Monitor
from babushka.asyncio.pipeline import Pipeline
from babushka.cluster import (
    DEFAULT_NODE,
    TARGETABLE_METHODS,
    ClusterMixin,
    ClusterNode,
    ClusterPipelineMixin,
    _by_slot,
    _command_name,
    check_shard_hint,
    cluster_pool,
    cluster_settings,
    merge_node_replies,
    node_client_kwargs,
    one_or_by_node,
    scan_result,
)
from babushka.commands.base import EncodableT, KeyT
from babushka.exceptions import DataError

_F = TypeVar("_F", bound=Callable[..., Any])


class RedisCluster(ClusterMixin, Redis):
    """An asyncio client of a Redis Cluster, with redis-py's interface."""

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

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisCluster:  # type: ignore[override]
        """A cluster client whose first node is ``url``'s; what the URL says
        wins over the keywords (as in redis-py)."""
        return cls(**{**kwargs, **_options.parse_url(url)})

    async def initialize(self) -> RedisCluster:
        """Reads the slot map now (raises when no startup node answers)."""
        await asyncio.get_running_loop().run_in_executor(None, self._core.refresh_topology)
        return self

    def _slot_map_read(self) -> Awaitable[Any] | None:
        return None if self.get_nodes() else self.initialize()

    async def __aenter__(self) -> RedisCluster:
        return await self.initialize()

    def set_default_node(self, node: ClusterNode | None) -> None:
        """As redis-py's asyncio client: makes ``node`` the node keyless
        commands go to, or raises ``DataError`` when ``node`` is ``None`` or
        not in the cluster's slot map (see the sync client's)."""
        if not self._choose_default_node(node):
            raise DataError("The requested node does not exist in the cluster.")

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        target_nodes = options.pop("target_nodes", None)
        if target_nodes is None:
            return await super().execute_command(*args, **options)
        if not self.get_nodes():
            await self.initialize()
        nodes = self._resolve_targets(target_nodes)
        replies = await asyncio.gather(
            *(Redis.execute_command(self._view_on(node), *args, **options) for node in nodes)
        )
        named = dict(zip((node.name for node in nodes), replies))
        return merge_node_replies(_command_name(args), named)

    async def _on_nodes(self, target_nodes: Any, parse: Any, shape: int, *words: Any) -> Any:
        if not self.get_nodes():
            await self.initialize()
        nodes = self._resolve_targets(DEFAULT_NODE if target_nodes is None else target_nodes)
        replies = await asyncio.gather(
            *(self._view_on(node)._execute(shape, *words) for node in nodes)
        )
        return one_or_by_node({node.name: parse(r) for node, r in zip(nodes, replies)})

    async def _each(self, replies: list[Any]) -> list[Any]:
        return list(await asyncio.gather(*replies))

    async def scan(  # type: ignore[override]
        self,
        cursor: int = 0,
        match: EncodableT | None = None,
        count: int | None = None,
        _type: str | None = None,
        target_nodes: Any = None,
    ) -> tuple[dict[str, int], list[Any]]:
        """As the sync client's: ``({node_name: next_cursor}, [key, ...])``
        from one page of each target node (every primary by default)."""
        if not self.get_nodes():
            await self.initialize()
        nodes = self._scan_targets(target_nodes)
        pages = await asyncio.gather(
            *(Redis.scan(self._view_on(node), cursor, match, count, _type) for node in nodes)
        )
        return scan_result(dict(zip((node.name for node in nodes), pages)))

    def scan_iter(  # type: ignore[override]
        self,
        match: EncodableT | None = None,
        count: int | None = None,
        _type: str | None = None,
        target_nodes: Any = None,
    ) -> AsyncIterator[Any]:
        """Every key of the cluster, each at least once even while slots
        move or a primary fails over (see ``babushka._cluster_scan``); with
        ``target_nodes``, every key of those nodes (as the sync client's)."""
        if target_nodes is not None:
            return self._scan_nodes(target_nodes, match, count, _type)
        return _cluster_scan.run_async(self._scan_walk(match, count, _type), self._ask)

    async def _scan_nodes(
        self, target_nodes: Any, match: Any, count: Any, _type: Any
    ) -> AsyncIterator[Any]:
        if not self.get_nodes():
            await self.initialize()
        for node in self._resolve_targets(target_nodes):
            view, cursor = self._view_on(node), None
            while cursor != 0:
                cursor, keys = await Redis.scan(view, cursor or 0, match, count, _type)
                for key in keys:
                    yield key

    async def mget_nonatomic(self, keys: Iterable[KeyT] | KeyT, *args: KeyT) -> Any:
        """``MGET`` split by slot (not atomic across slots); values in the
        order asked (no keys: ``[]``, as redis-py)."""
        if not args and isinstance(keys, (list, tuple)) and not keys:
            return []
        return await self.mget(keys, *args)

    async def mset_nonatomic(self, mapping: Mapping[KeyT, EncodableT]) -> list[Any]:
        """``MSET`` of each slot's keys, one per slot (not atomic across slots)."""
        return list(await asyncio.gather(*(self.mset(group) for group in _by_slot(self, mapping))))

    def monitor(self, target_node: ClusterNode | None = None) -> Monitor:
        """As the sync client's: a monitor of ``target_node`` (the default
        node without it)."""
        if target_node is None:
            return super().monitor()
        return NodeMonitor(Redis(**node_client_kwargs(self, target_node)))

    def pipeline(self, transaction: bool | None = None, shard_hint: str | None = None) -> Any:
        """As the sync client's: non-transactional by default."""
        check_shard_hint(shard_hint)
        return ClusterPipeline(self, bool(transaction), shard_hint)


class ClusterPipeline(ClusterPipelineMixin, Pipeline[Any]):
    """An asyncio :class:`RedisCluster`'s pipeline."""


class NodeMonitor(Monitor):
    """A monitor on a client of its own (one node's), closed with it."""

    def __init__(self, client: Redis[Any]) -> None:
        self._client = client
        super().__init__(client)

    async def aclose(self) -> None:
        try:
            await super().aclose()
        finally:
            await self._client.aclose()


def _targetable(method: _F) -> _F:
    """``target_nodes=`` for an async command method (see the sync twin)."""

    @functools.wraps(method)
    async def wrapper(self: Any, *args: Any, target_nodes: Any = None, **kwargs: Any) -> Any:
        if target_nodes is None:
            return await method(self, *args, **kwargs)
        if not self.get_nodes():
            await self.initialize()
        sent: list[str] = []
        calls = []
        nodes = self._resolve_targets(target_nodes)
        for node in nodes:
            view = self._view_on(node)
            execute = view._execute

            def recording(shape: int, *words: Any, _execute: Any = execute) -> Any:
                sent.append(_command_name(words) or "")
                return _execute(shape, *words)

            view._execute = recording
            calls.append(method(view, *args, **kwargs))
        replies = await asyncio.gather(*calls)
        named = dict(zip((node.name for node in nodes), replies))
        return merge_node_replies(sent[0] if sent else None, named)

    return wrapper  # type: ignore[return-value]


for _name in TARGETABLE_METHODS:
    if hasattr(Redis, _name):
        setattr(RedisCluster, _name, _targetable(getattr(Redis, _name)))

__all__ = ["RedisCluster"]
