"""The asyncio flavour of Babushka: ``from babushka.asyncio import Redis``."""

from babushka.asyncio.client import Redis
from babushka.asyncio.pipeline import Pipeline
from babushka.exceptions import *  # noqa: F403

StrictRedis = Redis

__all__ = ["Pipeline", "Redis", "StrictRedis"]
