"""The asyncio client: the same methods, typed as awaitables of the same values."""

from __future__ import annotations

from typing import Any, AsyncIterator, Awaitable

from typing_extensions import assert_type

import babushka.asyncio


async def default_bytes(r: babushka.asyncio.Redis) -> None:
    assert_type(r, babushka.asyncio.Redis[bytes])
    assert_type(r.get("k"), Awaitable[bytes | None])
    assert_type(await r.get("k"), bytes | None)
    assert_type(await r.incr("n"), int)
    assert_type(await r.hgetall("h"), dict[bytes, bytes])
    assert_type(await r.hsetnx("h", "f", "v"), bool)
    assert_type(await r.zrange("z", 0, -1), list[bytes])
    assert_type(await r.zrange("z", 0, -1, withscores=True), list[tuple[bytes, float]])
    assert_type(r.scan_iter(), AsyncIterator[bytes])
    async for key in r.scan_iter(match="user:*"):
        assert_type(key, bytes)
    assert_type(await r.info(), dict[str, Any])
    assert_type(await r.select(1), bool)
    assert_type(await r.hpersist("h", "f"), list[int])
    assert_type(await r.zinterstore("d", ["a", "b"]), int)
    async with r.monitor() as m:
        assert_type(await m.next_command(), dict[str, Any])


async def decoded() -> None:
    r = babushka.asyncio.Redis(decode_responses=True)
    assert_type(r, babushka.asyncio.Redis[str])
    assert_type(await r.get("k"), str | None)
    assert_type(await r.hgetall("h"), dict[str, str])
    assert_type(await r.lpop("l"), str | None)
    assert_type(await r.lpop("l", 3), list[str] | None)
    async with babushka.asyncio.Redis(decode_responses=True) as client:
        assert_type(client, babushka.asyncio.Redis[str])
    await r.aclose()
