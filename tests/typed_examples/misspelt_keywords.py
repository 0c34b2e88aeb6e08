"""Mistakes a type checker must catch. ``tests/test_typing.py`` expects an
error of the named code on each line marked ``# error: code``, and no other."""

from __future__ import annotations

import babushka
import babushka.asyncio

babushka.Redis(decode_respones=True)  # error: call-overload
babushka.asyncio.Redis(decode_respones=True)  # error: call-overload
babushka.Redis.from_url("redis://", decode_respones=True)  # error: call-overload
babushka.Redis(port="6379")  # error: call-overload
babushka.Redis(transport=3)  # error: call-overload
babushka.Redis(transprot="uds")  # error: call-overload
babushka.Redis.from_url("redis://", max_connections="4")  # error: call-overload


def wrong_value_type(r: babushka.Redis[str]) -> bytes | None:
    return r.get("k")  # error: return-value


def no_such_command(r: babushka.Redis) -> None:
    r.gett("k")  # error: attr-defined


async def not_awaited(r: babushka.asyncio.Redis) -> bytes | None:
    return r.get("k")  # error: return-value
