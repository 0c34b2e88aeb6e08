"""Babushka: a Redis / Valkey client with redis-py's API and a Rust core.

``babushka.Redis`` is the synchronous client, ``babushka.asyncio.Redis`` the
asyncio one. Every command runs on a Tokio runtime shared by the process; its
worker count is set by :func:`configure` (before the first client) or the
``BABUSHKA_WORKER_THREADS`` environment variable, and defaults to the number
of CPUs the process may use.
"""

from __future__ import annotations

import atexit
from typing import Any

from babushka import _core, _logging
from babushka._options import TRANSPORTS
from babushka.client import Redis
from babushka.cluster import ClusterNode, RedisCluster
from babushka.connection import BlockingConnectionPool, ConnectionPool
from babushka.credentials import CredentialProvider, UsernamePasswordCredentialProvider
from babushka.exceptions import (
    AskError,
    AuthenticationError,
    AuthenticationWrongNumberOfArgsError,
    AuthorizationError,
    BusyLoadingError,
    ClientClosedError,
    ClusterCrossSlotError,
    ClusterDownError,
    ClusterError,
    ConnectionError,
    CrossSlotTransactionError,
    DataError,
    ExecAbortError,
    InvalidResponse,
    LockError,
    LockNotOwnedError,
    MasterDownError,
    MovedError,
    NoPermissionError,
    NoScriptError,
    OutOfMemoryError,
    PubSubError,
    ReadOnlyError,
    RedisClusterException,
    RedisError,
    ResponseError,
    SlotNotCoveredError,
    TimeoutError,
    TryAgainError,
    WatchError,
)
from babushka.pubsub import Subscription

__version__: str = _core.__version__
StrictRedis = Redis


def from_url(url: str, **kwargs: Any) -> Redis:
    """A client for ``url``: :meth:`Redis.from_url` (redis-py's ``redis.from_url``)."""
    return Redis.from_url(url, **kwargs)


def configure(*, worker_threads: int) -> None:
    """Sets the number of worker threads of the core's runtime.

    Must run before the first client is created; afterwards it raises
    :class:`DataError`, since a running runtime cannot change its size.
    """
    if isinstance(worker_threads, bool) or not isinstance(worker_threads, int):
        raise DataError(f"worker_threads must be an int, got {type(worker_threads).__name__}")
    _core.configure(worker_threads)


def worker_threads() -> int:
    """The runtime's worker count (or the one it will start with)."""
    return _core.worker_threads()


# Stop the runtime's threads before the interpreter tears itself down, so no
# worker calls into a half-finalized Python.
atexit.register(_core.shutdown)
# The core's events to the babushka.* loggers (nothing printed by default).
_logging.install()

__all__ = [
    "TRANSPORTS",
    "AskError",
    "AuthenticationError",
    "AuthenticationWrongNumberOfArgsError",
    "AuthorizationError",
    "BlockingConnectionPool",
    "BusyLoadingError",
    "ClientClosedError",
    "ClusterCrossSlotError",
    "ClusterDownError",
    "ClusterError",
    "ClusterNode",
    "ConnectionError",
    "ConnectionPool",
    "CredentialProvider",
    "CrossSlotTransactionError",
    "DataError",
    "ExecAbortError",
    "InvalidResponse",
    "LockError",
    "LockNotOwnedError",
    "MasterDownError",
    "MovedError",
    "NoPermissionError",
    "NoScriptError",
    "OutOfMemoryError",
    "PubSubError",
    "ReadOnlyError",
    "Redis",
    "RedisCluster",
    "RedisClusterException",
    "RedisError",
    "ResponseError",
    "SlotNotCoveredError",
    "StrictRedis",
    "Subscription",
    "TimeoutError",
    "TryAgainError",
    "UsernamePasswordCredentialProvider",
    "WatchError",
    "configure",
    "from_url",
    "worker_threads",
]
