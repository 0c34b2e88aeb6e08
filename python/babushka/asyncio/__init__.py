"""The asyncio flavour of Babushka: ``from babushka.asyncio import Redis``."""

from babushka.asyncio.client import Redis
from babushka.asyncio.cluster import RedisCluster
from babushka.asyncio.pipeline import Pipeline
from babushka.cluster import ClusterNode
from babushka.exceptions import *  # noqa: F403

StrictRedis = Redis

__all__ = ["ClusterNode", "Pipeline", "Redis", "RedisCluster", "StrictRedis"]
