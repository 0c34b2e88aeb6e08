"""Fixtures: real servers, and clients on every transport.

Every behaviour test that takes ``r`` (sync) or ``ar`` (async) runs once per
transport. ``BABUSHKA_TEST_TRANSPORTS=managed,ffi`` narrows the set.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

import babushka
import babushka.asyncio
from support.servers import RedisServer

ALL_TRANSPORTS = ["managed", "ffi", "uds"]
TRANSPORTS = [
    t for t in os.environ.get("BABUSHKA_TEST_TRANSPORTS", ",".join(ALL_TRANSPORTS)).split(",") if t
]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer.start()
    yield server
    server.stop()


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def r(redis_server: RedisServer, transport: str) -> Iterator[babushka.Redis]:
    client = babushka.Redis(host=redis_server.host, port=redis_server.port, transport=transport)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def rd(redis_server: RedisServer, transport: str) -> Iterator[babushka.Redis]:
    """A sync client with ``decode_responses=True``."""
    client = babushka.Redis(
        host=redis_server.host, port=redis_server.port, transport=transport, decode_responses=True
    )
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
async def ar(redis_server: RedisServer, transport: str) -> AsyncIterator[babushka.asyncio.Redis]:
    client = babushka.asyncio.Redis(
        host=redis_server.host, port=redis_server.port, transport=transport
    )
    await client.flushdb()
    yield client
    await client.aclose()
