"""``from_url``: the value type follows ``decode_responses`` as in the constructor."""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

import babushka
import babushka.asyncio


def sync(flag: bool) -> None:
    assert_type(babushka.Redis.from_url("redis://localhost/0"), babushka.Redis[bytes])
    decoded = babushka.Redis.from_url("redis://localhost", decode_responses=True)
    assert_type(decoded, babushka.Redis[str])
    assert_type(decoded.get("k"), str | None)
    assert_type(babushka.Redis.from_url("redis://", decode_responses=flag), babushka.Redis[Any])
    assert_type(
        babushka.Redis.from_url("redis://", transport="uds", socket_timeout=1.5, db=2),
        babushka.Redis[bytes],
    )


async def asynchronous() -> None:
    r = babushka.asyncio.Redis.from_url("redis://localhost", decode_responses=True)
    assert_type(r, babushka.asyncio.Redis[str])
    assert_type(await r.get("k"), str | None)
