"""The asyncio flavour of Babushka: ``from babushka.asyncio import Redis``."""

from babushka.asyncio.client import Redis
from babushka.exceptions import *  # noqa: F403

StrictRedis = Redis

__all__ = ["Redis", "StrictRedis"]
