"""The asyncio flavour of Babushka: ``from babushka.asyncio import Redis``."""

from typing import Any

from babushka.asyncio.client import Redis
from babushka.asyncio.cluster import RedisCluster
from babushka.asyncio.connection import BlockingConnectionPool, ConnectionPool
from babushka.asyncio.pipeline import Pipeline
from babushka.cluster import ClusterNode
from babushka.exceptions import *  # noqa: F403

StrictRedis = Redis


def from_url(url: str, **kwargs: Any) -> Redis:
    """An asyncio client for ``url``: :meth:`Redis.from_url` (redis-py's
    ``redis.asyncio.from_url``)."""
    return Redis.from_url(url, **kwargs)


__all__ = [
    "BlockingConnectionPool",
    "ClusterNode",
    "ConnectionPool",
    "Pipeline",
    "Redis",
    "RedisCluster",
    "StrictRedis",
    "from_url",
]
