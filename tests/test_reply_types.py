"""Every RESP reply type becomes its Python value, under RESP2 and RESP3, on
every transport (on uds it crosses the frames' Value message)."""

from __future__ import annotations

from typing import Any

import pytest

import babushka
from support.scenario import Check, same
from support.servers import RedisServer


def _lolwut(reply: Any) -> bool:
    # RESP3 sends it as a verbatim string: the "txt:" format prefix is not part of the value.
    return isinstance(reply, bytes) and b" ver. " in reply and not reply.startswith(b"txt:")


#: Every RESP type the Value message carries, with the reply under RESP2 and RESP3.
REPLY_TYPES: list[tuple[tuple[Any, ...], Any, Any]] = [
    (("SET", "s", b"\x00\xff\r\n"), True, True),
    (("GET", "s"), b"\x00\xff\r\n", b"\x00\xff\r\n"),
    (("GET", "missing"), None, None),
    (("INCR", "n"), 1, 1),
    (("TYPE", "s"), b"string", b"string"),  # a simple string
    (("HSET", "h", "a", "1", "b", "2"), 2, 2),
    (("HGETALL", "h"), {b"a": b"1", b"b": b"2"}, {b"a": b"1", b"b": b"2"}),
    (("SADD", "set", "x", "y"), 2, 2),
    (("SMEMBERS", "set"), {b"x", b"y"}, {b"x", b"y"}),
    (("ZADD", "z", "1.5", "m"), 1, 1),
    (("ZSCORE", "z", "m"), 1.5, 1.5),
    (("ZRANGE", "z", "0", "-1", "WITHSCORES"), [b"m", b"1.5"], [[b"m", 1.5]]),
    (("EVAL", "redis.setresp(3); return {double=3.25}", "0"), b"3.25", 3.25),
    (("EVAL", "redis.setresp(3); return true", "0"), 1, True),
    (
        ("EVAL", "redis.setresp(3); return {big_number='123456789012345678901234567890'}", "0"),
        b"123456789012345678901234567890",
        123456789012345678901234567890,
    ),
    (
        ("EVAL", "return {1, {2, {'deep'}}, false}", "0"),
        [1, [2, [b"deep"]], None],
        [1, [2, [b"deep"]], None],
    ),
    (("EVAL", "return {map={a=1}}", "0"), [b"a", 1], {b"a": 1}),
    (
        ("LOLWUT", "VERSION", "5", "1", "1", "1"),
        Check("LOLWUT's text", _lolwut),
        Check("LOLWUT's text", _lolwut),
    ),
]


@pytest.mark.parametrize("protocol", [2, 3])
def test_every_reply_type_arrives_as_its_python_value(
    redis_server: RedisServer, transport: str, protocol: int
) -> None:
    """Each RESP type becomes the expected Python value (and type) on every
    transport; on uds it crosses the Value message of the frames."""
    client = babushka.Redis(
        host=redis_server.host, port=redis_server.port, protocol=protocol, transport=transport
    )
    try:
        client.flushdb()
        problems = []
        for command, resp2, resp3 in REPLY_TYPES:
            expected = resp2 if protocol == 2 else resp3
            got = client.execute_command(*command)
            if not same(got, expected):
                problems.append(f"{command[:2]}: {got!r}, expected {expected!r}")
        assert not problems, "\n".join(problems)
    finally:
        client.close()
