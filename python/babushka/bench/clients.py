"""The clients under test, each behind the same two-callable adapter.

An adapter opens one client object for one cell and exposes that object's own
bound ``get`` and ``set`` methods, the public API a user calls, so the harness
adds no frame of its own between the workload and the client.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Optional, Sequence

import babushka
import babushka.asyncio
from babushka.bench.loops import suffix

#: Sends one batch: for each key, SET key value then GET key, as one
#: pipeline (no MULTI); returns the replies.
AsyncBatch = Callable[[Sequence[bytes], bytes], Awaitable[list[Any]]]
SyncBatch = Callable[[Sequence[bytes], bytes], list[Any]]


@dataclass(frozen=True)
class AsyncHandle:
    get: Callable[[bytes], Awaitable[Any]]
    set: Callable[[bytes, bytes], Awaitable[Any]]
    close: Callable[[], Awaitable[Any]]
    #: The client's own pipeline API, for the pipeline row (None: it has none).
    batch: Optional[AsyncBatch] = None


@dataclass(frozen=True)
class SyncHandle:
    get: Callable[[bytes], Any]
    set: Callable[[bytes, bytes], Any]
    close: Callable[[], Any]
    batch: Optional[SyncBatch] = None


@dataclass(frozen=True)
class ClientSpec:
    """One client (and transport) in the comparison.

    ``family`` groups it (babushka, redis-py, glide, reference, ceiling) and
    ``kind`` says whether cells run asyncio tasks or threads.
    """

    name: str
    family: str
    kind: str
    transport: str
    open_async: Optional[Callable[[str, int], Awaitable[AsyncHandle]]] = None
    open_sync: Optional[Callable[[str, int], SyncHandle]] = None
    #: A real client (as opposed to the asyncio ceiling) whose replies are checked.
    real: bool = True
    #: The event loop an async client's cells run on (``bench/loops.py``).
    loop: str = "asyncio"


def _pipeline_batch_async(r: Any) -> AsyncBatch:
    """A batch through ``r``'s own pipeline API, which Babushka's and
    redis-py's asyncio clients share."""

    async def batch(keys: Sequence[bytes], value: bytes) -> list[Any]:
        pipe = r.pipeline(transaction=False)
        for key in keys:
            pipe.set(key, value)
            pipe.get(key)
        return await pipe.execute()  # type: ignore[no-any-return]

    return batch


def _pipeline_batch_sync(r: Any) -> SyncBatch:
    """:func:`_pipeline_batch_async` for the sync clients."""

    def batch(keys: Sequence[bytes], value: bytes) -> list[Any]:
        pipe = r.pipeline(transaction=False)
        for key in keys:
            pipe.set(key, value)
            pipe.get(key)
        return pipe.execute()  # type: ignore[no-any-return]

    return batch


# babushka


def _babushka_async(
    transport: str, cluster: bool = False
) -> Callable[[str, int], Awaitable[AsyncHandle]]:
    client_class = babushka.asyncio.RedisCluster if cluster else babushka.asyncio.Redis

    async def open_client(host: str, port: int) -> AsyncHandle:
        r = client_class(host=host, port=port, transport=transport)
        return AsyncHandle(r.get, r.set, r.aclose, _pipeline_batch_async(r))

    return open_client


def _babushka_sync(transport: str, cluster: bool = False) -> Callable[[str, int], SyncHandle]:
    client_class = babushka.RedisCluster if cluster else babushka.Redis

    def open_client(host: str, port: int) -> SyncHandle:
        r = client_class(host=host, port=port, transport=transport)
        return SyncHandle(r.get, r.set, r.close, _pipeline_batch_sync(r))

    return open_client


# redis-py (uses hiredis for parsing when it is installed)

#: redis-py runs one request per pooled connection, so it needs as many
#: connections as concurrent callers; its asyncio pool's default cap (100 in
#: redis-py 6+) would make the 1000-task cells fail with MaxConnectionsError.
_REDIS_PY_MAX_CONNECTIONS = 4096


async def _redis_py_async(host: str, port: int) -> AsyncHandle:
    import redis.asyncio

    r = redis.asyncio.Redis(host=host, port=port, max_connections=_REDIS_PY_MAX_CONNECTIONS)
    return AsyncHandle(r.get, r.set, r.aclose, _pipeline_batch_async(r))


async def _redis_py_cluster_async(host: str, port: int) -> AsyncHandle:
    import redis.asyncio

    # Its connections per node are capped as the standalone client's.
    r = redis.asyncio.RedisCluster(host=host, port=port, max_connections=_REDIS_PY_MAX_CONNECTIONS)
    await r.initialize()
    return AsyncHandle(r.get, r.set, r.aclose)


def _redis_py_cluster_sync(host: str, port: int) -> SyncHandle:
    import redis

    r = redis.RedisCluster(host=host, port=port, max_connections=_REDIS_PY_MAX_CONNECTIONS)
    return SyncHandle(r.get, r.set, r.close)


def _redis_py_sync(host: str, port: int) -> SyncHandle:
    import redis

    r = redis.Redis(host=host, port=port, max_connections=_REDIS_PY_MAX_CONNECTIONS)
    return SyncHandle(r.get, r.set, r.close, _pipeline_batch_sync(r))


# valkey-glide (optional: the `glide` extra)

#: Generous, so that 1000 concurrent requests or 1 MiB values never hit
#: GLIDE's default 250 ms request timeout and turn into errors.
_GLIDE_TIMEOUT_MS = 10_000


async def _glide_async(host: str, port: int) -> AsyncHandle:
    import glide

    config = glide.GlideClientConfiguration(
        [glide.NodeAddress(host, port)], request_timeout=_GLIDE_TIMEOUT_MS
    )
    client = await glide.GlideClient.create(config)

    async def batch(keys: Sequence[bytes], value: bytes) -> list[Any]:
        commands = glide.Batch(is_atomic=False)
        for key in keys:
            commands.set(key, value)
            commands.get(key)
        return list(await client.exec(commands, raise_on_error=True) or [])

    return AsyncHandle(client.get, client.set, client.close, batch)


def _glide_sync(host: str, port: int) -> SyncHandle:
    import glide_sync

    config = glide_sync.GlideClientConfiguration(
        [glide_sync.NodeAddress(host, port)], request_timeout=_GLIDE_TIMEOUT_MS
    )
    client = glide_sync.GlideClient.create(config)

    def batch(keys: Sequence[bytes], value: bytes) -> list[Any]:
        commands = glide_sync.Batch(is_atomic=False)
        for key in keys:
            commands.set(key, value)
            commands.get(key)
        return list(client.exec(commands, raise_on_error=True) or [])

    return SyncHandle(client.get, client.set, client.close, batch)


async def _glide_cluster_async(host: str, port: int) -> AsyncHandle:
    import glide

    config = glide.GlideClusterClientConfiguration(
        [glide.NodeAddress(host, port)], request_timeout=_GLIDE_TIMEOUT_MS
    )
    client = await glide.GlideClusterClient.create(config)
    return AsyncHandle(client.get, client.set, client.close)


def _glide_cluster_sync(host: str, port: int) -> SyncHandle:
    import glide_sync

    config = glide_sync.GlideClusterClientConfiguration(
        [glide_sync.NodeAddress(host, port)], request_timeout=_GLIDE_TIMEOUT_MS
    )
    client = glide_sync.GlideClusterClient.create(config)
    return SyncHandle(client.get, client.set, client.close)


# the yardsticks


async def _reference(host: str, port: int) -> AsyncHandle:
    from babushka.bench.reference import ReferenceClient

    client = await ReferenceClient.connect(host, port)
    return AsyncHandle(client.get, client.set, client.aclose)


async def _ceiling(host: str, port: int) -> AsyncHandle:
    """Futures the loop resolves on its next iteration, with no I/O at all: the
    cost of the harness plus one future per operation, which bounds every
    asyncio client."""
    loop = asyncio.get_running_loop()
    create_future = loop.create_future
    call_soon = loop.call_soon

    def get(key: bytes) -> asyncio.Future[Any]:
        future = create_future()
        call_soon(future.set_result, None)
        return future

    def set_(key: bytes, value: bytes) -> asyncio.Future[Any]:
        future = create_future()
        call_soon(future.set_result, True)
        return future

    async def close() -> None:
        return None

    return AsyncHandle(get, set_, close)


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def discover(
    loops: Sequence[str] = ("asyncio",), cluster: bool = False
) -> tuple[list[ClientSpec], list[str]]:
    """Every client this environment can run, its async ones once per loop of
    ``loops``, and notes on the ones it cannot; with ``cluster``, each
    client's cluster flavour (under the same name, for the cluster row)."""
    specs, notes = _discover(cluster)
    if "uvloop" in loops and not _importable("uvloop"):
        notes.append("uvloop is not installed: no @uvloop columns")
        loops = [name for name in loops if name != "uvloop"]
    every: list[ClientSpec] = []
    for loop in loops:
        every += [
            dataclasses.replace(spec, name=spec.name + suffix(loop), loop=loop)
            for spec in specs
            if spec.kind == "async"
        ]
    every += [spec for spec in specs if spec.kind == "sync"]
    return every, notes


def _discover(cluster: bool) -> tuple[list[ClientSpec], list[str]]:
    """Every client this environment has (its standalone flavour, or with
    ``cluster`` its cluster one), and notes on the ones it has not; the
    yardsticks only for a standalone server, as they speak to one server."""
    specs: list[ClientSpec] = []
    notes: list[str] = []
    for transport in babushka.TRANSPORTS:
        opener = _babushka_async(transport, cluster)
        name = f"babushka-async-{transport}"
        specs.append(ClientSpec(name, "babushka", "async", transport, open_async=opener))
    for transport in babushka.TRANSPORTS:
        opener_sync = _babushka_sync(transport, cluster)
        name = f"babushka-sync-{transport}"
        specs.append(ClientSpec(name, "babushka", "sync", transport, open_sync=opener_sync))
    if _importable("redis"):
        if not _importable("hiredis"):
            notes.append("hiredis is not installed: redis-py runs with its pure-Python parser")
        open_async = _redis_py_cluster_async if cluster else _redis_py_async
        open_sync = _redis_py_cluster_sync if cluster else _redis_py_sync
        specs.append(ClientSpec("redis-py-async", "redis-py", "async", "", open_async))
        specs.append(ClientSpec("redis-py-sync", "redis-py", "sync", "", open_sync=open_sync))
    else:
        notes.append("redis-py is not installed: no redis-py rows and no ratios to it")
    if _importable("glide"):
        open_async = _glide_cluster_async if cluster else _glide_async
        specs.append(ClientSpec("glide-async", "glide", "async", "", open_async))
    else:
        notes.append("valkey-glide is not installed (the `glide` extra): no glide-async rows")
    if _importable("glide_sync"):
        open_sync = _glide_cluster_sync if cluster else _glide_sync
        specs.append(ClientSpec("glide-sync", "glide", "sync", "", open_sync=open_sync))
    else:
        notes.append("valkey-glide-sync is not installed: no glide-sync rows")
    if cluster:
        return specs, notes
    if _importable("hiredis"):
        specs.append(ClientSpec("reference-async", "reference", "async", "", _reference))
    else:
        notes.append("hiredis is not installed: no reference client row")
    specs.append(ClientSpec("asyncio-ceiling", "ceiling", "async", "", _ceiling, real=False))
    return specs, notes
